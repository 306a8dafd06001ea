// `runbook show RUN_ID [--json] [--state URL]`: one run from the journal — who ran
// what, where and when, every step of its plan with status, host, attempt, times,
// exit status, reason and output tail, the confirmations, the rollback, the notes,
// how to resume it when it did not finish, the git commit it came from, and whether
// the runbook's files on disk are still the ones that ran. RUN_ID may be a unique prefix.
// Control characters in what the journal holds are shown escaped (escape-controls.ts);
// `--json` keeps the raw text, JSON-escaped.

import { existsSync } from "node:fs";
import { maskUrlPasswords } from "../../language/url-password.js";
import { Exit, useColor, type CliIO } from "../io.js";
import { approvalBundle } from "./approve.js";
import type { ApprovalRecord, ConfirmationRecord, NoteRecord, RollbackRecord, RunRecord, StepRecord } from "../../runtime/journal/index.js";
import type { PlannedStep } from "../../runtime/plan.js";
import { escapeControlsIn, toTerminalJson } from "../../runtime/views/escape-controls.js";
import { colorStatus, commitText, formatDuration, formatTime, stateFlag, statusText } from "./history.js";
import { withJournalReported } from "../journal-access.js";

export interface ShowOptions {
  json?: boolean;
  state?: string;
  /** Print what `runbook approve --request` needs (a run waiting for approval), as JSON. */
  approvalRequest?: boolean;
}

export async function showCommand(runId: string, opts: ShowOptions, io: CliIO): Promise<number> {
  return withJournalReported(io, opts.state, async (journal) => {
    const run = await journal.getRun(runId);
    if (!run) {
      io.stderr.write(`runbook: no run ${JSON.stringify(runId)} in the journal ${journal.location}; \`runbook history\` lists the runs\n`);
      return Exit.usage;
    }
    if (opts.approvalRequest) {
      const bundle = await approvalBundle(journal, run.id);
      if (typeof bundle === "string") {
        io.stderr.write(`runbook: ${bundle}\n`);
        return Exit.usage;
      }
      io.stdout.write(`${JSON.stringify(bundle, null, 2)}\n`);
      return Exit.ok;
    }
    const [steps, confirmations, rollbacks, notes, approvalRows] = await Promise.all([
      journal.getSteps(run.id),
      journal.getConfirmations(run.id),
      journal.getRollbacks(run.id),
      journal.getNotes(run.id),
      journal.getApprovals(run.id),
    ]);
    // Who approved what, when: the request, the signatures given, each verdict (the signatures' text stays in the journal).
    const approvals = approvalRows.map(({ statement: _s, signature: _g, ...rest }) => rest);
    const resume = resumeHint(run, steps, opts.state);
    const onDisk = await sourceOnDisk(run);
    if (opts.json) {
      io.stdout.write(
        maskUrlPasswords(`${toTerminalJson({ run, steps, confirmations, rollbacks, notes, approvals, resume: resume?.command ?? null, sourceOnDisk: onDisk }, 2)}\n`),
      );
      return Exit.ok;
    }
    // Params are kept as given (resume needs them); a URL's password in one is not shown.
    const shown = escapeControlsIn({ run, steps, confirmations, rollbacks, notes, approvals });
    io.stdout.write(maskUrlPasswords(renderRun(shown.run, shown.steps, shown.confirmations, shown.rollbacks, shown.notes, resume, useColor(io), onDisk, shown.approvals)));
    return Exit.ok;
  });
}

/** Are the runbook's files (with its includes) on disk still the ones that ran? Compared by the source hash. */
type OnDisk = "same" | "changed" | "missing";

async function sourceOnDisk(run: RunRecord): Promise<OnDisk> {
  if (!existsSync(run.file)) return "missing";
  // Loaded here only: the compiler is not needed for the rest of `show`.
  const [{ compile }, { sourceHash }] = await Promise.all([import("../../language/compile.js"), import("../../runtime/planner.js")]);
  const { runbook } = compile(run.file);
  return runbook && sourceHash(runbook) === run.sourceHash ? "same" : "changed";
}

const ON_DISK: { [K in OnDisk]: string } = {
  same: "the same files as the run",
  changed: "changed since the run (the runbook or a file it includes)",
  missing: "the runbook is not there any more",
};

const APPROVAL_ROW: { [K in ApprovalRecord["kind"]]: (a: Omit<ApprovalRecord, "statement" | "signature">) => string } = {
  request: (a) => `waiting for approval from "${a.group}"`,
  signature: (a) => `signed by ${a.approver} (not checked until the run goes on)`,
  verified: (a) => `approved by ${a.approver}: signature verified`,
  refused: (a) => `approval by ${a.approver} refused: ${a.reason ?? ""}`,
};

type ApprovalRow = Omit<ApprovalRecord, "statement" | "signature">;

/** In time order; a verdict repeated by later resumes (same step, approver, status, reason) once, at its latest time. */
function approvalLines(rows: ApprovalRow[]): { row: ApprovalRow; times: number }[] {
  const byKey = new Map<string, { row: ApprovalRow; times: number }>();
  for (const [i, row] of rows.entries()) {
    const verdict = row.kind === "verified" || row.kind === "refused";
    const key = verdict ? JSON.stringify([row.kind, row.stepId, row.group, row.approver, row.reason]) : `row ${i}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { row, times: 1 });
    else byKey.set(key, { row: row.time >= seen.row.time ? row : seen.row, times: seen.times + 1 });
  }
  return [...byKey.values()].sort((a, b) => Date.parse(a.row.time) - Date.parse(b.row.time));
}

interface ResumeHint {
  command: string;
  fromStep?: string;
}

/** A real run that stopped (failed, aborted, interrupted) can be resumed. */
function resumeHint(run: RunRecord, steps: StepRecord[], state: string | undefined): ResumeHint | undefined {
  if (run.dryRun || run.status === "succeeded" || run.status === "running") return undefined;
  const byId = new Map(steps.map((s) => [s.stepId, s]));
  const next = run.plan.steps.find((p) => {
    const s = byId.get(p.id);
    return p.skip === undefined && (s === undefined || !["ok", "skipped"].includes(s.status));
  });
  return { command: `runbook resume ${run.id}${stateFlag(state)}`, fromStep: next?.id };
}

/**
 * A step's notes. The step's record is its last execution (a `finally` step runs
 * again when its run is resumed, a step again when retried): its notes are shown as
 * notes; an earlier execution's note with its time, and only when it says something
 * the last one did not (the same note again is not shown twice).
 */
function noteLines(notes: NoteRecord[], startedAt: string | undefined): string[] {
  const from = startedAt === undefined ? NaN : Date.parse(startedAt);
  const isLast = (n: NoteRecord) => Number.isNaN(from) || !(Date.parse(n.time) < from);
  const last = notes.filter(isLast);
  const said = new Set(last.map((n) => n.text));
  const earlier: NoteRecord[] = [];
  for (const n of notes) {
    if (isLast(n) || said.has(n.text)) continue;
    said.add(n.text);
    earlier.push(n);
  }
  return [...earlier.map((n) => `note (earlier run of this step, ${formatTime(n.time)}): ${n.text}`), ...last.map((n) => `note: ${n.text}`)];
}

function renderRun(
  run: RunRecord,
  steps: StepRecord[],
  confirmations: ConfirmationRecord[],
  rollbacks: RollbackRecord[],
  notes: NoteRecord[],
  resume: ResumeHint | undefined,
  color: boolean,
  onDisk?: OnDisk,
  approvals: Omit<ApprovalRecord, "statement" | "signature">[] = [],
): string {
  const bold = (s: string) => (color ? `\u001b[1m${s}\u001b[0m` : s);
  const dim = (s: string) => (color ? `\u001b[2m${s}\u001b[0m` : s);
  const out: string[] = [];
  out.push(bold(`Run ${run.id}: ${run.runbook} ${run.version}, env ${run.env}`));

  const field = (name: string, value: string) => out.push(`  ${name.padEnd(10)} ${value}`);
  let status = statusText(run);
  if (run.exitCode !== undefined) status += ` (exit ${run.exitCode})`;
  field("status", color ? colorStatus(run.status, status) : status);
  if (run.error) field("error", run.error);
  if (run.status === "running") field("", `in progress: pid ${run.pid} on ${run.machine}`);
  if (run.status === "interrupted" && run.finishedAt === undefined) field("", "its process ended before the run finished");
  field("by", `${run.user}@${run.machine} (pid ${run.pid})`);
  field("started", formatTime(run.startedAt));
  if (run.finishedAt !== undefined) {
    field("finished", `${formatTime(run.finishedAt)} (${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))})`);
  }
  field("file", run.file);
  field("source", run.sourceHash);
  if (onDisk) field("on disk", ON_DISK[onDisk]);
  field("commit", commitText(run.plan.runbook.git));
  const params = Object.entries(run.params);
  field("params", params.length === 0 ? "(none)" : params.map(([k, v]) => `${k}=${v}`).join(", "));
  if (run.plan.protected) field("protected", "yes");
  if (run.resumedFrom) field("resumes", `run ${run.resumedFrom}`);

  // Steps in plan order, then any the plan does not list (should not happen).
  out.push("", bold("Steps"));
  const records = new Map(steps.map((s) => [s.stepId, s]));
  const notesByStep = new Map<string, NoteRecord[]>();
  for (const n of notes) notesByStep.set(n.stepId, [...(notesByStep.get(n.stepId) ?? []), n]);
  const planned = new Map(run.plan.steps.map((p) => [p.id, p]));
  const order: { id: string; planned?: PlannedStep }[] = run.plan.steps.map((p) => ({ id: p.id, planned: p }));
  for (const s of steps) if (!planned.has(s.stepId)) order.push({ id: s.stepId });
  const statusWidth = Math.max("interrupted".length, ...steps.map((s) => s.status.length));
  let section: string | undefined;
  let inFinally = false;
  for (const { id, planned: p } of order) {
    if (p?.phase === "finally" && !inFinally) {
      out.push(`  ${dim("finally")}`);
      inFinally = true;
    } else if (p?.phase === "main" && p.section !== section) {
      if (p.section !== undefined) out.push(`  ${dim(`section ${JSON.stringify(p.section)}`)}`);
      section = p.section;
    }
    const s = records.get(id);
    const stepStatus = s?.status ?? (p?.skip !== undefined ? "skipped" : "not run");
    const title = p ? `${id}  ${dim(JSON.stringify(p.title))}` : id;
    const statusCell = stepStatus.padEnd(statusWidth);
    out.push(`  ${color ? colorStatus(stepStatus, statusCell) : statusCell}  ${title}`);

    const details: string[] = [];
    const host = s?.host ?? p?.host;
    if (host) details.push(`on ${host}`);
    if (s && s.attempt > 1) details.push(`attempt ${s.attempt}`);
    if (s?.startedAt) details.push(`started ${formatTime(s.startedAt)}`);
    if (s?.finishedAt) {
      details.push(
        s.startedAt
          ? `finished ${formatTime(s.finishedAt)} (${formatDuration(Date.parse(s.finishedAt) - Date.parse(s.startedAt))})`
          : `at ${formatTime(s.finishedAt)}`,
      );
    }
    if (s?.exitCode !== null && s?.exitCode !== undefined) details.push(`exit ${s.exitCode}`);
    if (s?.signal) details.push(`signal ${s.signal}`);
    if (details.length > 0) out.push(`      ${details.join(", ")}`);
    const reason = s?.reason ?? (s === undefined ? p?.skip : undefined);
    if (reason) out.push(`      ${s?.status === "skipped" || s === undefined ? "why" : "reason"}: ${reason}`);
    if (s?.status === "interrupted") out.push("      it was running when its process ended: it may have done part of its work");
    for (const h of s?.hosts ?? []) {
      const hostDetail = [h.status, h.exitCode !== null ? `exit ${h.exitCode}` : "", formatDuration(h.durationMs), h.error ?? ""]
        .filter(Boolean)
        .join(", ");
      out.push(`      ${h.host}: ${hostDetail}`);
    }
    for (const line of noteLines(notesByStep.get(id) ?? [], s?.startedAt)) out.push(`      ${line}`);
    if (s && s.outputTail !== "") {
      out.push(`      output${s.outputTruncated ? " (last lines only)" : ""}:`);
      for (const line of s.outputTail.replace(/\n$/, "").split("\n")) out.push(`        ${line}`);
    }
  }

  if (confirmations.length > 0) {
    out.push("", bold("Confirmations"));
    for (const c of confirmations) {
      const where = c.stepId ? ` [${c.stepId}]` : " [env]";
      const what = c.kind === "manual" ? "manual" : c.kind === "failure-choice" ? "on failure" : "confirm";
      out.push(`  ${formatTime(c.time)}${where} ${what}: ${JSON.stringify(c.question)} -> ${c.answer} (by ${c.by})`);
    }
  }

  if (approvals.length > 0) {
    out.push("", bold("Approvals"));
    for (const { row: a, times } of approvalLines(approvals))
      out.push(`  ${formatTime(a.time)} [${a.stepId}] ${APPROVAL_ROW[a.kind](a)}${times > 1 ? ` (${times} times)` : ""}`);
  }

  if (rollbacks.length > 0) {
    out.push("", bold("Rollback"));
    for (const r of rollbacks) {
      if (r.kind === "started") out.push(`  ${formatTime(r.time)} started: undo ${(r.steps ?? []).join(", ") || "nothing"}`);
      else out.push(`  ${formatTime(r.time)} ${r.stepId}: ${r.status}${r.error ? ` (${r.error})` : ""}`);
    }
  }

  if (resume) {
    out.push(
      "",
      `This run did not finish. \`${resume.command}\` continues it${resume.fromStep ? ` from step ${resume.fromStep}` : ""}.`,
    );
  } else if (run.dryRun && run.status !== "succeeded" && run.status !== "running") {
    out.push("", "This was a dry run: nothing to resume.");
  }
  return out.join("\n") + "\n";
}

