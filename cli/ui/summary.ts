// The plain summary `finish` prints on the normal screen after the UI closes:
// every step with its status and duration, the run id, and how to resume a run
// that did not finish. It fits the terminal's width: a reason too long for its row
// is wrapped at spaces on the lines under it, never cut, never left to the terminal. Plain text (ANSI colour only when the caller says so);
// control characters in titles, reasons and errors shown escaped.

import type { RunStatus, StepStatus } from "../../runtime/events.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";
import { approvalWaitingLines } from "../../runtime/views/plain-log.js";
import { VERDICT_WORD, verdictLines } from "../../runtime/verdict.js";
import { PREFLIGHT_ID, type UiStore } from "./store/index.js";
import { displayWidth, formatDuration, GLYPH, pad, resumeCommand, STATUS_WORD, stepTime, truncate, waitText, wrapText } from "./format.js";

const ANSI: Partial<Record<StepStatus, number>> = { ok: 32, failed: 31, skipped: 33, interrupted: 35, "rolled-back": 34, pending: 90 };

export function formatSummary(store: UiStore, result: { status: RunStatus; exitCode: number }, color: boolean, columns = 80): string {
  const paint = (code: number | undefined, s: string) => (color && code ? `\u001B[${code}m${s}\u001B[39m` : s);
  const bold = (s: string) => (color ? `\u001B[1m${s}\u001B[22m` : s);
  const p = store.plan;
  const out: string[] = [];
  out.push(
    bold(escapeControls(`${p.runbook.name} ${p.runbook.version}`)) +
      ` · env ${p.env}${p.protected ? " (protected)" : ""} · run ${store.runId}${store.dryRun ? " · DRY RUN" : ""}`,
  );
  const views = store.order.map((id) => store.steps.get(id)!);
  // Columns that line up (display widths, the " (on HOST)" counted whole) and fit
  // the terminal: ids and titles are cut with … rather than wrapping the row.
  const shownTitle = (v: (typeof views)[number]) => escapeControls(v.title + (v.host ? ` (on ${v.host})` : ""));
  const idWidth = Math.min(columns < 100 ? 20 : 32, Math.max(0, ...views.map((v) => displayWidth(escapeControls(v.id === PREFLIGHT_ID ? "preflight" : v.id)))));
  const fixed = 4 + 2 + idWidth + 2 + 2 + 11 + 8; // indent, glyph, id, gaps, status, a time
  const titleWidth = Math.max(12, Math.min(44, columns - fixed, Math.max(0, ...views.map((v) => displayWidth(shownTitle(v))))));
  let section: string | null = null;
  for (const v of views) {
    const group = v.phase === "finally" ? "finally" : (v.section ?? "");
    if (group !== section && v.id !== PREFLIGHT_ID) {
      if (group !== "" || section !== null) out.push(`  ${group === "" ? "(no section)" : escapeControls(group)}`);
      section = group;
    }
    const status: StepStatus = v.rollback === "ok" ? "rolled-back" : v.status;
    const glyph = status === "running" ? "…" : GLYPH[status];
    const title = shownTitle(v);
    const times = [stepTime(v), waitText(v.waitedMs)].filter(Boolean).join("  ");
    const why = [
      v.earlier ? "(earlier run)" : "",
      escapeControls(v.reason ?? ""),
      v.exitCode !== undefined && v.exitCode !== null && v.status === "failed" ? `exit ${v.exitCode}` : "",
      v.rollback === "failed" ? `rollback failed${v.rollbackError ? `: ${escapeControls(v.rollbackError)}` : ""}` : "",
    ]
      .filter(Boolean)
      .join("  ");
    const id = v.id === PREFLIGHT_ID ? "preflight" : v.id;
    const row = `    ${paint(ANSI[status], glyph)} ${pad(truncate(escapeControls(id), idWidth), idWidth)}  ${pad(truncate(title, titleWidth), titleWidth)}  `;
    const rowWidth = 4 + 2 + idWidth + 2 + titleWidth + 2 + 11;
    const word = paint(ANSI[status], STATUS_WORD[status].padEnd(11));
    const all = [times, why].filter(Boolean).join("  ");
    if (all === "" || rowWidth + 1 + displayWidth(all) <= columns) out.push(`${row}${word}${all ? ` ${all}` : ""}`.trimEnd());
    else {
      // The times stay on the row when they fit; the rest, wrapped, under it.
      const onRow = times !== "" && rowWidth + 1 + displayWidth(times) <= columns;
      out.push(`${row}${word}${onRow ? ` ${times}` : ""}`.trimEnd());
      out.push(...wrapped(onRow ? why : all, DETAIL_INDENT, columns));
    }
  }
  if (store.verdict) for (const l of verdictLines(store.verdict)) out.push(...wrapped(l.trimStart(), " ".repeat(l.length - l.trimStart().length), columns));
  const elapsed = formatDuration(store.finished?.durationMs ?? Date.now() - store.startedAt);
  const word = { succeeded: "succeeded", failed: "failed", aborted: "was aborted", interrupted: "was interrupted", running: "stopped", waiting: "is waiting for approval" }[result.status];
  const runColor = result.status === "succeeded" ? 32 : 31;
  const outcome = store.verdict ? `: ${VERDICT_WORD[store.verdict.verdict]}` : ` ${word}`;
  out.push(paint(runColor, `${store.dryRun ? "Dry run" : "Run"} ${store.runId}${outcome} in ${elapsed} (exit ${result.exitCode}).`));
  if (store.finished?.error) out.push(...wrapped(escapeControls(store.finished.error), "  ", columns));
  // Not wrapped: the digests and the commands are copied from here whole.
  if (store.waitingApproval) out.push(...approvalWaitingLines(store.waitingApproval).map((l) => `  ${escapeControls(l)}`));
  // Only a run that started a step has anything to resume.
  if (result.status !== "succeeded" && !store.dryRun && store.anyStarted) out.push(`Resume with: ${resumeCommand(store.runId, store.state)}`);
  return out.join("\n") + "\n";
}

/** Where a step's reason goes when it is too long for the step's row: under its id. */
const DETAIL_INDENT = "      ";

/** `text` wrapped to the terminal after `indent`; the lines after the first two columns further in. */
function wrapped(text: string, indent: string, columns: number): string[] {
  return wrapText(text, Math.max(20, columns - indent.length - 2)).map((l, i) => `${indent}${i === 0 ? "" : "  "}${l}`);
}
