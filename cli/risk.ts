// The risks of a change to a runbook, ranked, from its plans per env on each side
// (so what is compared is what would run, values filled in): a protection removed,
// a confirmation removed, a destructive command, SQL statement or sync added to a
// step with no undo (whatever the env's protection: removing `protected` in the
// same change must not hide it), a host or database of a protected env pointing
// elsewhere, an undo removed. docs/review.md lists them.

import { destructiveSql } from "../language/check.js";
import { assertNever } from "../language/assert.js";
import type { Action, Plan, PlannedDatabase, PlannedStep } from "../runtime/plan.js";
import { showText } from "../runtime/plan.js";
import { riskWords } from "./messages.js";

export type RiskKind = "protection-removed" | "confirm-removed" | "destructive-without-undo" | "target-changed" | "undo-removed";

export interface Risk {
  kind: RiskKind;
  /** The envs it applies to. */
  envs: string[];
  /** The step it is about; absent for an env's own protection and confirmations. */
  stepId?: string;
  /** What, in words: `env prod: no longer protected`, `step purge: $ rm -rf … (no undo)`. */
  what: string;
  /** Where, on the new side: the step, or the env block (for annotations). */
  at?: { file: string; line: number; column: number };
}

/** Lower ranks first: the order reviewers read them in. */
export const RISK_RANK: { [K in RiskKind]: number } = {
  "protection-removed": 1,
  "confirm-removed": 2,
  "destructive-without-undo": 3,
  "target-changed": 4,
  "undo-removed": 5,
};

export function riskTitle(kind: RiskKind): string {
  return riskWords[kind].title;
}

/** Shell commands that destroy what an undo could not bring back by itself. */
const DESTRUCTIVE_SHELL: { what: string; re: RegExp }[] = [
  { what: "rm -r/-f", re: /(^|[\s;&|(`])rm\s+(-[A-Za-z]*[rRf][A-Za-z]*|--recursive|--force)\b/ },
  { what: "mkfs", re: /(^|[\s;&|(`])mkfs(\.\w+)?\s/ },
  { what: "dd of=", re: /(^|[\s;&|(`])dd\s[^\n]*\bof=/ },
  { what: "shred", re: /(^|[\s;&|(`])shred\s/ },
  { what: "crontab -r", re: /(^|[\s;&|(`])crontab\s+-r\b/ },
  { what: "git reset --hard / git clean -f", re: /\bgit\s+(reset\s+--hard|clean\s+-[A-Za-z]*f)/ },
  { what: "DROP / TRUNCATE", re: /\b(DROP\s+(TABLE|DATABASE|SCHEMA)|TRUNCATE\s+(TABLE\s+)?\w)/i },
];

const oneLine = (s: string) => {
  const l = s.trim().replace(/\s*\n\s*/g, " ");
  return l.length > 120 ? `${l.slice(0, 117)}…` : l;
};

/** The destructive parts of an action, each in words (secrets as ***). */
function destructiveOf(a: Action): string[] {
  switch (a.kind) {
    case "run": {
      const cmd = showText(a.command);
      return DESTRUCTIVE_SHELL.some((d) => d.re.test(cmd)) ? [`$ ${oneLine(cmd)}`] : [];
    }
    case "sql": {
      const sql = showText(a.sql);
      return destructiveSql(sql).map((d) => `sql ${a.db}: ${d.what.replace(/`/g, "")} (${oneLine(sql)})`);
    }
    case "sync":
      return [`sync ${a.db} from ${a.fromEnv}.${a.fromDb}${a.tables ? ` tables [${a.tables.join(", ")}]` : ""}`];
    case "require":
    case "confirm":
    case "manual":
    case "edit":
    case "upload":
    case "download":
    case "export":
    case "import":
    case "wait":
    case "note":
      return [];
    default:
      return assertNever(a);
  }
}

/** A database as a reviewer compares it: engine and where (a URL's password never shows: it is masked on output). */
function databaseText(d: PlannedDatabase): string {
  return d.engine === "sqlite" ? `sqlite ${d.path}${d.host ? ` on ${d.host}` : ""}` : `mysql ${d.url}${d.via ? ` via ${d.via}` : ""}`;
}

const runs = (s: PlannedStep | undefined): s is PlannedStep => s !== undefined && s.skip === undefined;
const confirmsOf = (s: PlannedStep) => s.actions.flatMap((a) => (a.kind === "confirm" ? [a.question] : []));

/** The risks from the old plans to the new ones (both keyed by env), ranked. */
export function findRisks(oldPlans: Map<string, Plan>, newPlans: Map<string, Plan>): Risk[] {
  const found = new Map<string, Risk>();
  const add = (kind: RiskKind, env: string, what: string, step?: PlannedStep) => {
    const key = `${kind}\0${step?.id ?? ""}\0${what}`;
    const r = found.get(key);
    if (r) r.envs.push(env);
    else {
      const at = step ? { at: { file: step.span.file, line: step.span.line, column: step.span.column } } : {};
      found.set(key, { kind, envs: [env], what, ...(step ? { stepId: step.id } : {}), ...at });
    }
  };
  for (const [env, plan] of newPlans) {
    const old = oldPlans.get(env);
    if (old?.protected && !plan.protected) add("protection-removed", env, `env ${env}: no longer protected`);
    for (const q of old?.envConfirms ?? []) {
      if (!plan.envConfirms.includes(q)) add("confirm-removed", env, `env ${env}: confirm ${JSON.stringify(q)} removed`);
    }
    if (old && (old.protected || plan.protected)) {
      // Where a protected env's steps run: a host or database that points elsewhere now.
      const hosts = (p: Plan, n: string) => p.hosts[n]?.targets.join(", ");
      for (const n of new Set([...Object.keys(old.hosts), ...Object.keys(plan.hosts)])) {
        const [a, b] = [hosts(old, n), hosts(plan, n)];
        if (a !== undefined && b !== undefined && a !== b) add("target-changed", env, `env ${env}: host ${n} ${a} → ${b}`);
      }
      for (const n of new Set([...Object.keys(old.databases), ...Object.keys(plan.databases)])) {
        const [a, b] = [old.databases[n], plan.databases[n]];
        if (a && b && databaseText(a) !== databaseText(b)) add("target-changed", env, `env ${env}: database ${n} ${databaseText(a)} → ${databaseText(b)}`);
      }
    }
    const oldSteps = new Map((old?.steps ?? []).map((s) => [s.id, s]));
    for (const step of plan.steps) {
      if (!runs(step)) continue;
      const before = oldSteps.get(step.id);
      const had = runs(before);
      if (had) {
        const now = confirmsOf(step);
        for (const q of confirmsOf(before)) if (!now.includes(q)) add("confirm-removed", env, `step ${step.id}: confirm ${JSON.stringify(q)} removed`, step);
        if (before.undo.length > 0 && step.undo.length === 0 && step.mutating) add("undo-removed", env, `step ${step.id}: its undo was removed`, step);
      }
      if (step.undo.length > 0) continue;
      const known = new Set(had ? before.actions.flatMap(destructiveOf) : []);
      for (const d of step.actions.flatMap(destructiveOf)) {
        if (!known.has(d)) add("destructive-without-undo", env, `step ${step.id}: ${d} (no undo)`, step);
      }
    }
  }
  return [...found.values()].sort((a, b) => RISK_RANK[a.kind] - RISK_RANK[b.kind]);
}
