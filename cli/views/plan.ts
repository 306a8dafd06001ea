// Views of a Plan, one per output format of `runbook plan`: text for a terminal,
// markdown for a pull request (one section per env, a table of which steps run
// where and the values that differ), JSON for tools. A Plan is pure data; these
// only read it. A URL's password never shows (maskUrlPasswords). Control characters in
// its text (values, titles, commands) are shown escaped (escape-controls.ts); JSON keeps
// the raw text, JSON-escaped.

import { maskUrlPasswords } from "../../language/url-password.js";
import { crashText, describeAction, describeCond, describeOptions } from "../../runtime/describe.js";
import type { Plan, PlannedDatabase, PlannedHost, PlannedStep } from "../../runtime/plan.js";
import { escapeControlsIn, toTerminalJson } from "../../runtime/views/escape-controls.js";

function database(db: PlannedDatabase): string {
  if (db.engine === "sqlite") return `sqlite ${db.path}${db.host ? ` on ${db.host}` : ""}`;
  const extras = [db.passwordSecret && `password: secret ${db.passwordSecret}`, db.via && `via ${db.via}`].filter(Boolean);
  return `mysql ${db.url}${extras.length ? ` (${extras.join(", ")})` : ""}`;
}

/** A planned step in words, one line each: `PREFIX id on host: title`, then each action, undo and option under `inner`. */
export function planStepLines(step: PlannedStep, prefix: string, inner: string): string[] {
  const lines: string[] = [];
  const where = step.host ? ` on ${step.host}` : "";
  lines.push(`${prefix}${step.id}${where}: ${step.title}`);
  if (step.skip) {
    lines.push(`${inner}skipped: ${step.skip}`);
    return lines;
  }
  for (const g of step.guards) if (g.static === "probe") lines.push(`${inner}${g.kind} ${describeCond(g.cond)}   (checked when the step runs)`);
  for (const a of step.actions) for (const l of describeAction(a).split("\n")) lines.push(`${inner}${l}`);
  for (const a of step.undo) for (const l of describeAction(a).split("\n")) lines.push(`${inner}undo: ${l}`);
  const opts = describeOptions(step);
  if (opts) lines.push(`${inner}(${opts})`);
  return lines;
}

export function renderPlanText(raw: Plan): string {
  const plan = escapeControlsIn(raw);
  const out: string[] = [];
  out.push(`Plan for ${plan.runbook.name} ${plan.runbook.version}, env ${plan.env}${plan.protected ? " (protected)" : ""}`);
  if (plan.runbook.description) out.push(plan.runbook.description);
  out.push("");
  // Quoted values are JSON strings of the raw text (their controls JSON-escaped).
  const values = Object.entries(raw.values);
  if (values.length) {
    out.push("Values:");
    const w = Math.max(...values.map(([k]) => k.length));
    for (const [k, v] of values) out.push(`  ${k.padEnd(w)} = ${toTerminalJson(v)}${plan.overridden.includes(k) ? "   (overridden)" : ""}`);
  }
  const hosts = Object.values(plan.hosts);
  if (hosts.length) {
    out.push("Hosts:");
    for (const h of hosts) out.push(`  ${h.name} = ${hostText(h)}`);
  }
  const dbs = Object.values(plan.databases);
  const foreign = Object.entries(plan.foreignDatabases);
  if (dbs.length || foreign.length) {
    out.push("Databases:");
    for (const d of dbs) out.push(`  ${d.name} = ${database(d)}`);
    // Another env's database a `sync … from ENV.DB` reads: where it resolves, with this run's --set values.
    for (const [key, d] of foreign) out.push(`  ${key} = ${database(d)}   (env ${d.env}, read by sync)`);
  }
  if (plan.secrets.length) {
    out.push("Secrets (read when the run needs them):");
    for (const s of raw.secrets) out.push(`  ${escapeControlsIn(s.name)} from ${s.source} ${toTerminalJson(s.ref)}`);
  }
  if (plan.envConfirms.length) {
    out.push("Before the first step:");
    for (const c of raw.envConfirms) out.push(`  confirm ${toTerminalJson(c)}`);
  }
  let section: string | undefined | null = null;
  let n = 0;
  for (const step of plan.steps) {
    const label = step.phase === "finally" ? "Finally (runs in every case)" : (step.section ?? "Steps");
    if (label !== section) {
      out.push("", label);
      section = label;
    }
    n++;
    out.push(...planStepLines(step, `${String(n).padStart(4)}. `, "        "));
  }
  const skipped = plan.steps.filter((s) => s.skip).length;
  out.push("", `${plan.steps.length} steps: ${plan.steps.length - skipped} to run, ${skipped} skipped in env ${plan.env}.`);
  const crash = plan.steps.filter((s) => !s.skip).flatMap((s) => s.actions.map((a) => [s, a] as const)).flatMap(([s, a]) => {
    const text = crashText(a);
    return text === undefined ? [] : [`  ${s.id}: ${a.kind}: ${text}`];
  });
  if (crash.length) out.push("", "At most once if runbook dies in their middle (a resume asks before running them again):", ...crash);
  return maskUrlPasswords(`${out.join("\n")}\n`);
}

const mdEscape = (s: string) => s.replace(/\|/g, "\\|");

/** Inline code that holds any text: a fence longer than any run of backticks in it (CommonMark). */
export function mdCode(s: string): string {
  if (s === "") return "—"; // an empty code span would show its backticks
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = s.startsWith("`") || s.endsWith("`") ? " " : "";
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A fenced block that holds any text (a fence longer than any run of backticks in it). */
export function mdFence(lang: string, lines: string[]): string[] {
  const longest = Math.max(2, ...lines.map((l) => Math.max(0, ...[...l.matchAll(/`+/g)].map((m) => m[0].length))));
  const fence = "`".repeat(longest + 1);
  return [`${fence}${lang}`, ...lines, fence];
}

/**
 * A list item (at `indent`) for an action: inline code, or, when it takes several
 * lines, a fenced block inside the item (on the item's line when there is no label).
 */
function mdActionItem(indent: string, label: string, text: string): string {
  if (!text.includes("\n")) return `${indent}- ${label}${mdCode(text)}`;
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const inner = `${indent}  `; // the item's content column
  const block = `${fence}\n${text.split("\n").map((l) => `${inner}${l}`).join("\n")}\n${inner}${fence}`;
  return label === "" ? `${indent}- ${block}` : `${indent}- ${label.trimEnd()}\n${inner}${block}`;
}

/** Markdown for one or more envs: a table of steps × envs, the values that differ, then one section per env. */
export function renderPlanMarkdown(raw: Plan[]): string {
  const plans = escapeControlsIn(raw);
  const first = plans[0]!;
  const out: string[] = [];
  out.push(`# ${first.runbook.name} ${first.runbook.version}`, "");
  if (first.runbook.description) out.push(first.runbook.description, "");
  if (plans.length > 1) {
    out.push("## Steps by environment", "");
    out.push(`| step | ${plans.map((p) => p.env + (p.protected ? " 🔒" : "")).join(" | ")} |`);
    out.push(`|---|${plans.map(() => ":---:").join("|")}|`);
    for (let i = 0; i < first.steps.length; i++) {
      const s = first.steps[i]!;
      const cells = plans.map((p) => {
        const ps = p.steps[i]!;
        if (ps.skip) return "skipped";
        return ps.guards.some((g) => g.static === "probe") ? "if guard holds" : "runs";
      });
      out.push(`| \`${s.id}\` ${mdEscape(s.title)} | ${cells.join(" | ")} |`);
    }
    const names = [...new Set(plans.flatMap((p) => Object.keys(p.values)))];
    const differing = names.filter((n) => new Set(plans.map((p) => p.values[n])).size > 1);
    const hostNames = [...new Set(plans.flatMap((p) => Object.keys(p.hosts)))].filter(
      (n) => new Set(plans.map((p) => (p.hosts[n] ? hostText(p.hosts[n]!, ", ") : ""))).size > 1,
    );
    const dbNames = [...new Set(plans.flatMap((p) => Object.keys(p.databases)))].filter(
      (n) => new Set(plans.map((p) => (p.databases[n] ? database(p.databases[n]!) : ""))).size > 1,
    );
    if (differing.length + hostNames.length + dbNames.length > 0) {
      out.push("", "## Values that differ", "");
      out.push(`| name | ${plans.map((p) => p.env).join(" | ")} |`);
      out.push(`|---|${plans.map(() => "---").join("|")}|`);
      for (const n of differing) out.push(`| \`${n}\` | ${plans.map((p) => mdCode(mdEscape(p.values[n] ?? ""))).join(" | ")} |`);
      for (const n of hostNames) out.push(`| host \`${n}\` | ${plans.map((p) => mdCode(mdEscape(p.hosts[n] ? hostText(p.hosts[n]!, ", ") : ""))).join(" | ")} |`);
      for (const n of dbNames) out.push(`| database \`${n}\` | ${plans.map((p) => mdCode(mdEscape(p.databases[n] ? database(p.databases[n]!) : ""))).join(" | ")} |`);
    }
    out.push("");
  }
  for (const plan of plans) {
    out.push(`## Env \`${plan.env}\`${plan.protected ? " (protected)" : ""}`, "");
    for (const c of plan.envConfirms) out.push(`- **Confirm before the first step:** ${c}`);
    if (plan.envConfirms.length) out.push("");
    let section: string | undefined | null = null;
    for (const step of plan.steps) {
      const label = step.phase === "finally" ? "Finally" : (step.section ?? "Steps");
      if (label !== section) {
        // A heading stands apart from the list before it.
        if (out[out.length - 1] !== "") out.push("");
        out.push(`### ${label}`, "");
        section = label;
      }
      const where = step.host ? ` on \`${step.host}\`` : "";
      if (step.skip) {
        out.push(`- ~~${step.title}~~ (\`${step.id}\`)${where}: skipped, ${step.skip}`);
        continue;
      }
      out.push(`- **${step.title}** (\`${step.id}\`)${where}`);
      for (const g of step.guards) if (g.static === "probe") out.push(`  - ${g.kind} ${mdCode(describeCond(g.cond))} (checked when the step runs)`);
      for (const a of step.actions) out.push(mdActionItem("  ", "", describeAction(a)));
      for (const a of step.undo) out.push(mdActionItem("  ", "undo: ", describeAction(a)));
      const opts = describeOptions(step);
      if (opts) out.push(`  - ${opts}`);
    }
    out.push("");
  }
  return maskUrlPasswords(out.join("\n"));
}

export function renderPlanJson(plans: Plan[], all: boolean): string {
  return maskUrlPasswords(`${toTerminalJson(all ? plans : plans[0], 2)}\n`);
}

/** A host as a plan shows it: its target, a group's list (in brackets, or joined by `join`), or `local (this machine)`. */
function hostText(h: PlannedHost, join?: string): string {
  if (h.local) return "local (this machine)";
  // A member's own values (`${host.role}`) follow it: `app@w1 { role = "primary" }`.
  const member = (t: string, i: number) => {
    const own = Object.entries(h.values?.[i] ?? {});
    return own.length ? `${t} { ${own.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ")} }` : t;
  };
  if (join !== undefined) return h.targets.map(member).join(join);
  return h.group ? `[${h.targets.map(member).join(", ")}]` : h.targets[0]!;
}
