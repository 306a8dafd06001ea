// The semantic changes between two versions of a runbook (either may be absent: a
// runbook new or deleted in a pull request), for `runbook diff` and `runbook review`:
// the version, declarations and env overrides added, removed or changed; steps
// added or removed (each as a whole block of its source), moved, or changed (a
// unified diff of the source, and of what runs in each env, values filled in and
// secrets as ***); counts per env; and the risks (cli/risk.ts). Pure data; the
// views in cli/views/diff.ts and cli/views/review.ts render it.

import { diffLines } from "diff";
import { allSteps, type Decl, type Runbook, type Step } from "../language/ast.js";
import { runnableEnvs } from "../language/scope.js";
import type { Span } from "../language/span.js";
import type { Plan, PlannedStep } from "../runtime/plan.js";
import { buildPlan } from "../runtime/planner.js";
import { findRisks, type Risk } from "./risk.js";
import { planStepLines } from "./views/plan.js";

export type ChangeKind = "added" | "removed" | "changed" | "moved";

export interface DeclChange {
  kind: ChangeKind;
  what: string;
  detail?: string;
}

export interface StepChange {
  kind: ChangeKind;
  id: string;
  title: string;
  /** A whole block: every line of the step's source, marked `+`, `-` or ` ` (unchanged). */
  source: string[];
  /** What runs, per env (envs with the same diff grouped), marked like `source`. */
  resolved: { envs: string[]; lines: string[] }[];
  /** For a move: `position 2 → 4`. */
  detail?: string;
}

export interface EnvCounts {
  env: string;
  added: number;
  removed: number;
  changed: number;
}

export interface RunbookChanges {
  name: string;
  status: "changed" | "new" | "deleted";
  version?: { old: string; new: string };
  /** The runbook changed (its steps or declarations) but its version did not. */
  versionNotBumped: boolean;
  lines: DeclChange[];
  steps: StepChange[];
  counts: EnvCounts[];
  risks: Risk[];
  /** Envs whose plan could not be built on a side (the reason, already in words). */
  planErrors: { env: string; side: "old" | "new"; error: string }[];
}

/** Plans of a runbook in every env it can run in (an env that cannot be planned is left out, with its reason). */
export function plansOf(rb: Runbook | undefined, side: "old" | "new", errors: RunbookChanges["planErrors"]): Map<string, Plan> {
  const plans = new Map<string, Plan>();
  if (!rb) return plans;
  for (const env of runnableEnvs(rb)) {
    const built = buildPlan(rb, { env });
    if ("error" in built) errors.push({ env, side, error: built.error });
    else plans.set(env, built.plan);
  }
  return plans;
}

function textOf(rb: Runbook, span: Span): string {
  const text = rb.sources.find((s) => s.file === span.file)?.text ?? "";
  return text.slice(span.offset, span.offset + span.length);
}

/** A node's source as a block of lines, with its own first-line indentation and the common indentation removed. */
export function sourceBlock(rb: Runbook, span: Span): string[] {
  const text = rb.sources.find((s) => s.file === span.file)?.text ?? "";
  const lineStart = text.lastIndexOf("\n", span.offset - 1) + 1;
  const lead = text.slice(lineStart, span.offset);
  const block = (/^[ \t]*$/.test(lead) ? lead : "") + text.slice(span.offset, span.offset + span.length);
  const lines = block.split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length)).trimEnd());
}

/** Every line marked: `+`/`-` for added/removed, a space for the same. */
export function markedDiff(oldLines: string[], newLines: string[]): string[] {
  const out: string[] = [];
  const join = (ls: string[]) => (ls.length ? `${ls.join("\n")}\n` : "");
  for (const part of diffLines(join(oldLines), join(newLines))) {
    const sign = part.added ? "+" : part.removed ? "-" : " ";
    for (const l of part.value.replace(/\n$/, "").split("\n")) out.push(`${sign}${l}`);
  }
  return out;
}

/** What a planned step does in words (as `runbook plan` shows it), one line each. */
function resolvedLines(step: PlannedStep | undefined): string[] {
  return step ? planStepLines(step, "", "  ") : [];
}

function declKey(d: Decl): string {
  return `${d.kind} ${d.name.name}`;
}

const EMPTY = { decls: [] as Decl[], envs: [] as Runbook["envs"] };

/** The semantic changes from `oldRb` to `newRb`; either may be absent (a new or a deleted runbook). */
export function diffRunbooks(oldRb: Runbook | undefined, newRb: Runbook | undefined): RunbookChanges {
  const some = (newRb ?? oldRb)!;
  const name = textOf(some, some.header.name.span).replace(/^"|"$/g, "");
  const planErrors: RunbookChanges["planErrors"] = [];
  const changes: RunbookChanges = {
    name,
    status: !oldRb ? "new" : !newRb ? "deleted" : "changed",
    versionNotBumped: false,
    lines: [],
    steps: [],
    counts: [],
    risks: [],
    planErrors,
  };
  const unquote = (s: string) => s.replace(/^"+|"+$/g, "");
  const ov = oldRb ? unquote(textOf(oldRb, oldRb.header.version.span)) : "(none)";
  const nv = newRb ? unquote(textOf(newRb, newRb.header.version.span)) : "(none)";
  if (ov !== nv) changes.version = { old: ov, new: nv };

  const declMap = (rb: Runbook | undefined, env?: string) => {
    if (!rb) return new Map<string, string>();
    const decls = env === undefined ? rb.decls : (rb.envs.find((e) => e.name.name === env)?.overrides ?? []);
    return new Map(decls.map((d) => [declKey(d), textOf(rb, d.span).replace(/\s+/g, " ")]));
  };
  const compareMaps = (a: Map<string, string>, b: Map<string, string>, where: string) => {
    for (const [k, v] of a) {
      if (!b.has(k)) changes.lines.push({ kind: "removed", what: `${k}${where}`, detail: v });
      else if (b.get(k) !== v) changes.lines.push({ kind: "changed", what: `${k}${where}`, detail: `${v}  →  ${b.get(k)}` });
    }
    for (const [k, v] of b) if (!a.has(k)) changes.lines.push({ kind: "added", what: `${k}${where}`, detail: v });
  };
  compareMaps(declMap(oldRb), declMap(newRb), "");

  const oldEnvs = new Map((oldRb ?? EMPTY).envs.map((e) => [e.name.name, e]));
  const newEnvs = new Map((newRb ?? EMPTY).envs.map((e) => [e.name.name, e]));
  for (const [name] of oldEnvs) if (!newEnvs.has(name)) changes.lines.push({ kind: "removed", what: `env ${name}` });
  for (const [name, e] of newEnvs) {
    const o = oldEnvs.get(name);
    if (!o) {
      changes.lines.push({ kind: "added", what: `env ${name}`, detail: e.protected ? "protected" : undefined });
      continue;
    }
    if (Boolean(o.protected) !== Boolean(e.protected)) changes.lines.push({ kind: "changed", what: `env ${name}`, detail: e.protected ? "now protected" : "no longer protected" });
    const oc = o.confirms.map((c) => textOf(oldRb!, c.span)).join("\n");
    const nc = e.confirms.map((c) => textOf(newRb!, c.span)).join("\n");
    if (oc !== nc) changes.lines.push({ kind: "changed", what: `env ${name} confirmations`, detail: `${oc || "(none)"}  →  ${nc || "(none)"}` });
    compareMaps(declMap(oldRb, name), declMap(newRb, name), ` in env ${name}`);
  }

  const oldPlans = plansOf(oldRb, "old", planErrors);
  const newPlans = plansOf(newRb, "new", planErrors);
  const envs = [...new Set([...newPlans.keys(), ...oldPlans.keys()])];
  const planned = (plans: Map<string, Plan>, env: string, id: string) => plans.get(env)?.steps.find((s) => s.id === id);
  /** Per env, the resolved lines of a step on each side, grouped where the diffs are the same. */
  const resolvedOf = (id: string): StepChange["resolved"] => {
    const groups: StepChange["resolved"] = [];
    for (const env of envs) {
      const before = resolvedLines(planned(oldPlans, env, id));
      const after = resolvedLines(planned(newPlans, env, id));
      if (before.join("\n") === after.join("\n")) continue;
      const lines = markedDiff(before, after);
      const same = groups.find((g) => g.lines.join("\n") === lines.join("\n"));
      if (same) same.envs.push(env);
      else groups.push({ envs: [env], lines });
    }
    return groups;
  };

  const oldSteps = oldRb ? allSteps(oldRb) : [];
  const newSteps = newRb ? allSteps(newRb) : [];
  const oldById = new Map<string, Step>(oldSteps.map((s) => [s.id, s]));
  const newById = new Map<string, Step>(newSteps.map((s) => [s.id, s]));
  const oldOrder = oldSteps.map((s) => s.id).filter((id) => newById.has(id));
  const newOrder = newSteps.map((s) => s.id).filter((id) => oldById.has(id));
  const titleOf = (rb: Runbook, s: Step) => textOf(rb, s.title.span).replace(/^"+|"+$/g, "");
  for (const s of oldSteps) {
    if (newById.has(s.id)) continue;
    const source = sourceBlock(oldRb!, s.span).map((l) => `-${l}`);
    changes.steps.push({ kind: "removed", id: s.id, title: titleOf(oldRb!, s), source, resolved: resolvedOf(s.id) });
  }
  for (const s of newSteps) {
    const o = oldById.get(s.id);
    if (!o) {
      const source = sourceBlock(newRb!, s.span).map((l) => `+${l}`);
      changes.steps.push({ kind: "added", id: s.id, title: titleOf(newRb!, s), source, resolved: resolvedOf(s.id) });
      continue;
    }
    const before = sourceBlock(oldRb!, o.span);
    const after = sourceBlock(newRb!, s.span);
    const resolved = resolvedOf(s.id);
    // A step whose source is the same can still change: a value it uses changed (in an include, say).
    if (before.join("\n") !== after.join("\n") || resolved.length > 0) {
      const source = before.join("\n") === after.join("\n") ? [] : markedDiff(before, after);
      changes.steps.push({ kind: "changed", id: s.id, title: titleOf(newRb!, s), source, resolved });
    }
    if (oldOrder.indexOf(s.id) !== newOrder.indexOf(s.id)) {
      changes.steps.push({
        kind: "moved",
        id: s.id,
        title: titleOf(newRb!, s),
        source: [],
        resolved: [],
        detail: `position ${oldOrder.indexOf(s.id) + 1} → ${newOrder.indexOf(s.id) + 1}`,
      });
    }
  }

  for (const env of envs) {
    const runs = (plans: Map<string, Plan>, id: string) => {
      const st = planned(plans, env, id);
      return st !== undefined && st.skip === undefined;
    };
    const ids = new Set([...(oldPlans.get(env)?.steps ?? []), ...(newPlans.get(env)?.steps ?? [])].map((s) => s.id));
    const c: EnvCounts = { env, added: 0, removed: 0, changed: 0 };
    for (const id of ids) {
      const before = runs(oldPlans, id);
      const after = runs(newPlans, id);
      if (after && !before) c.added++;
      else if (before && !after) c.removed++;
      else if (before && after && resolvedLines(planned(oldPlans, env, id)).join("\n") !== resolvedLines(planned(newPlans, env, id)).join("\n")) c.changed++;
    }
    changes.counts.push(c);
  }

  changes.risks = findRisks(oldPlans, newPlans);
  for (const r of changes.risks) {
    const block = r.stepId === undefined ? newEnvs.get(r.envs[0]!) : undefined;
    if (block && !r.at) r.at = { file: block.span.file, line: block.span.line, column: block.span.column };
  }
  changes.versionNotBumped = !changes.version && (changes.lines.length > 0 || changes.steps.length > 0);
  return changes;
}
