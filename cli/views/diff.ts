// Views of a runbook's changes (cli/runbook-diff.ts): text for a terminal and
// markdown for a pull request. The risks come first, then the declarations, then
// each step as a whole marked block (`+`, `-`, ` `) of its source and of what runs
// in each env. A URL's password never shows (maskUrlPasswords).

import { maskUrlPasswords } from "../../language/url-password.js";
import type { ChangeKind, RunbookChanges, StepChange } from "../runbook-diff.js";
import { riskTitle, type Risk } from "../risk.js";
import { mdCode as code, mdFence } from "./plan.js";

const SIGN: { [K in ChangeKind]: string } = { added: "+", removed: "-", changed: "~", moved: ">" };
const KINDS: ChangeKind[] = ["added", "removed", "changed", "moved"];

const envList = (envs: string[]) => `${envs.length === 1 ? "env" : "envs"} ${envs.join(", ")}`;

export function riskLine(r: Risk): string {
  return `${riskTitle(r.kind)}: ${r.what}${r.stepId === undefined ? "" : ` — in ${envList(r.envs)}`}`;
}

function headline(c: RunbookChanges): string | undefined {
  if (c.status === "new") return `new runbook ${c.name} ${c.version?.new ?? ""}`.trimEnd();
  if (c.status === "deleted") return `runbook ${c.name} ${c.version?.old ?? ""} deleted`.trimEnd();
  return c.version ? `version ${c.version.old} → ${c.version.new}` : undefined;
}

export function isEmpty(c: RunbookChanges): boolean {
  return !c.version && c.lines.length === 0 && c.steps.length === 0;
}

export function renderDiffText(c: RunbookChanges, oldLabel: string, newLabel: string): string {
  const out = [`runbook diff ${oldLabel} → ${newLabel}`];
  const head = headline(c);
  if (head) out.push(head);
  if (c.versionNotBumped) out.push("warning: the runbook changed but its version did not");
  if (c.risks.length) {
    out.push("", `Risk (${c.risks.length}):`);
    for (const r of c.risks) out.push(`  ! ${riskLine(r)}`);
  }
  if (c.lines.length || c.steps.length) out.push("", "Changes:");
  for (const l of c.lines) {
    out.push(`${SIGN[l.kind]} ${l.kind} ${l.what}${l.detail && !l.detail.includes("\n") ? `: ${l.detail}` : ""}`);
    if (l.detail?.includes("\n")) for (const d of l.detail.split("\n")) out.push(`    ${d}`);
  }
  for (const s of c.steps) {
    out.push(`${SIGN[s.kind]} ${s.kind} step ${s.id}${s.detail ? `: ${s.detail}` : ""}`);
    for (const l of s.source) out.push(`    ${l}`);
    for (const g of s.resolved) {
      out.push(`  as it would run in ${envList(g.envs)}:`);
      for (const l of g.lines) out.push(`    ${l}`);
    }
  }
  if (!isEmpty(c) && c.counts.length) {
    out.push("", "Steps per env (added, removed, changed):");
    for (const n of c.counts) out.push(`  ${n.env}: +${n.added} -${n.removed} ~${n.changed}`);
  }
  for (const e of c.planErrors) out.push(`note: env ${e.env} cannot be planned on the ${e.side} side: ${e.error}`);
  if (isEmpty(c)) out.push("no changes");
  return maskUrlPasswords(`${out.join("\n")}\n`);
}



export function mdRiskList(risks: Risk[]): string[] {
  return risks.map((r) => `- ⚠️ **${riskTitle(r.kind)}**: ${code(r.what)}${r.stepId === undefined ? "" : ` — in ${envList(r.envs)}`}`);
}

function mdStep(s: StepChange): string[] {
  const out = [`- ${code(`step ${s.id}`)} ${s.title.replace(/[<>|*_]/g, (ch) => `\\${ch}`)}${s.detail ? `: ${s.detail}` : ""}`];
  if (s.source.length) out.push("", ...mdFence("diff", s.source).map((l) => `  ${l}`));
  for (const g of s.resolved) {
    out.push("", `  <details><summary>as it would run in ${envList(g.envs)}</summary>`, "");
    out.push(...mdFence("diff", g.lines).map((l) => `  ${l}`));
    out.push("", "  </details>");
  }
  out.push("");
  return out;
}

/** The body of a runbook's changes in markdown, headings one below `level` (## by default); the risks too unless `withRisks` is false. */
export function renderDiffMarkdownBody(c: RunbookChanges, level = 2, withRisks = true): string[] {
  const h = (n: number) => "#".repeat(level + n);
  const out: string[] = [];
  const head = headline(c);
  if (head) out.push(`**${head}**`, "");
  if (c.versionNotBumped) out.push("> ⚠️ The runbook changed but its version did not.", "");
  if (withRisks && c.risks.length) out.push(`${h(1)} Risk`, "", ...mdRiskList(c.risks), "");
  if (!isEmpty(c) && c.counts.length) {
    out.push(`${h(1)} Steps per env`, "", "| env | added | removed | changed |", "|---|---:|---:|---:|");
    for (const n of c.counts) out.push(`| ${n.env} | ${n.added} | ${n.removed} | ${n.changed} |`);
    out.push("");
  }
  for (const kind of KINDS) {
    const ls = c.lines.filter((l) => l.kind === kind);
    const ss = c.steps.filter((s) => s.kind === kind);
    if (!ls.length && !ss.length) continue;
    out.push(`${h(1)} ${kind[0]!.toUpperCase()}${kind.slice(1)}`, "");
    for (const l of ls) out.push(`- ${code(l.what)}${l.detail ? `: ${code(l.detail)}` : ""}`);
    if (ls.length) out.push("");
    for (const s of ss) out.push(...mdStep(s));
  }
  for (const e of c.planErrors) out.push(`> env ${e.env} cannot be planned on the ${e.side} side: ${e.error}`, "");
  if (isEmpty(c)) out.push("No changes.", "");
  return out;
}

export function renderDiffMarkdown(c: RunbookChanges, oldLabel: string, newLabel: string): string {
  const out = [`## Runbook changes: ${code(oldLabel)} → ${code(newLabel)}`, "", ...renderDiffMarkdownBody(c)];
  return maskUrlPasswords(`${out.join("\n").trimEnd()}\n`);
}
