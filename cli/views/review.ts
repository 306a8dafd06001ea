// The markdown of `runbook review`: one pull-request comment. A hidden marker
// (REVIEW_MARKER) lets CI find and update its own comment; then the summary (a
// row per runbook: what changed, steps added/removed/changed per env, risks,
// check), every risk of every runbook, then a section per runbook (its changes,
// what runs per env folded in <details>, the head side's check diagnostics). It
// stays under GitHub's comment limit by leaving out whole runbook sections, with
// a note, once the next would not fit.

import type { Diagnostic } from "../../language/diagnostics.js";
import { maskUrlPasswords } from "../../language/url-password.js";
import type { RunbookChanges } from "../runbook-diff.js";
import { renderDiffMarkdownBody, mdRiskList } from "./diff.js";
import { mdCode } from "./plan.js";

/** The first line of every review comment: CI finds its own comment by it. */
export const REVIEW_MARKER = "<!-- runbook-review -->";

/** GitHub refuses comments over 65536 characters; the default leaves room for a note. */
export const DEFAULT_MAX_CHARS = 60_000;

export interface ReviewedRunbook {
  /** Relative to the repository root. */
  path: string;
  /** Absent when a side has errors (nothing is diffed then). */
  changes?: RunbookChanges;
  /** The head side's diagnostics (files relative to the repository root). */
  diagnostics: Diagnostic[];
  headErrors: boolean;
  baseErrors: boolean;
}

export interface Review {
  base: string;
  head: string;
  baseCommit: string;
  headCommit: string;
  runbooks: ReviewedRunbook[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const count = (ds: Diagnostic[], severity: Diagnostic["severity"]) => ds.filter((d) => d.severity === severity).length;

function checkCell(r: ReviewedRunbook): string {
  const e = count(r.diagnostics, "error");
  const w = r.diagnostics.length - e;
  if (e + w === 0) return "ok";
  return [e ? `❌ ${plural(e, "error")}` : "", w ? `⚠️ ${plural(w, "warning")}` : ""].filter(Boolean).join(", ");
}

function changeCell(r: ReviewedRunbook): string {
  const c = r.changes;
  if (!c) return r.headErrors ? "has errors" : "base has errors: not diffed";
  if (c.status === "new") return `new (${c.version?.new ?? ""})`;
  if (c.status === "deleted") return "deleted";
  return c.version ? `${c.version.old} → ${c.version.new}` : c.versionNotBumped ? "⚠️ version not bumped" : "no change";
}

function countsCell(c: RunbookChanges | undefined): string {
  if (!c || c.counts.length === 0) return "—";
  return c.counts.map((n) => `${n.env} +${n.added} −${n.removed} ~${n.changed}`).join("<br>");
}

function diagnosticLine(d: Diagnostic): string {
  const icon = d.severity === "error" ? "❌" : "⚠️";
  return `- ${icon} ${d.severity} ${mdCode(d.code)} ${mdCode(`${d.span.file}:${d.span.line}:${d.span.column}`)}: ${d.message.replace(/[<>]/g, (ch) => `\\${ch}`)}`;
}

function runbookSection(r: ReviewedRunbook): string[] {
  const c = r.changes;
  const out = [`### ${mdCode(r.path)}${c ? `: ${c.name}` : ""}`, ""];
  if (r.baseErrors && !r.headErrors) out.push("> The base side has errors, so it is not diffed; the head side's check is below.", "");
  if (c) out.push(...renderDiffMarkdownBody(c, 3, false));
  out.push("#### Check (head)", "");
  if (r.diagnostics.length === 0) out.push(r.changes?.status === "deleted" ? "Deleted: nothing to check." : "No errors or warnings.");
  else out.push(...r.diagnostics.map(diagnosticLine));
  out.push("");
  return out;
}

export function renderReviewMarkdown(review: Review, maxChars = DEFAULT_MAX_CHARS): string {
  const rs = review.runbooks;
  const risks = rs.flatMap((r) => (r.changes?.risks ?? []).map((risk) => ({ path: r.path, risk })));
  const errors = rs.reduce((n, r) => n + count(r.diagnostics, "error"), 0);
  const warnings = rs.reduce((n, r) => n + count(r.diagnostics, "warning"), 0);
  const head: string[] = [REVIEW_MARKER, "## Runbook review", ""];
  head.push(
    `${mdCode(review.base)} (merge base ${mdCode(review.baseCommit.slice(0, 12))}) → ${mdCode(review.head)} (${mdCode(review.headCommit.slice(0, 12))}): ` +
      `${plural(rs.length, "runbook")} changed, ${plural(risks.length, "risk")}, ${plural(errors, "error")}, ${plural(warnings, "warning")}.`,
    "",
  );
  if (rs.length === 0) return maskUrlPasswords(`${[...head, "No runbook changed."].join("\n")}\n`);
  head.push("| runbook | change | steps per env (added −removed ~changed) | risks | check |", "|---|---|---|---:|---|");
  for (const r of rs) head.push(`| ${mdCode(r.path)} | ${changeCell(r)} | ${countsCell(r.changes)} | ${r.changes?.risks.length ?? "—"} | ${checkCell(r)} |`);
  head.push("", "### Risk", "");
  if (risks.length === 0) head.push("No risk found.");
  else for (const { path, risk } of risks) head.push(mdRiskList([risk])[0]!.replace(/^- /, `- ${mdCode(path)}: `));
  head.push("");

  const out = [...head];
  let size = out.join("\n").length;
  const left: string[] = [];
  for (const r of rs) {
    const section = runbookSection(r);
    const n = section.join("\n").length + 1;
    if (left.length > 0 || size + n > maxChars - 400) {
      left.push(r.path);
      continue;
    }
    out.push(...section);
    size += n;
  }
  if (left.length) {
    out.push(
      `> ✂️ Cut to stay under GitHub's comment size limit: ${plural(left.length, "runbook section")} not shown (${left.map((p) => mdCode(p)).join(", ")}). ` +
        `Their risks and counts are above; \`runbook review ${review.base} ${review.head}\` or \`runbook diff\` shows all of it.`,
      "",
    );
  }
  return maskUrlPasswords(`${out.join("\n").trimEnd()}\n`);
}
