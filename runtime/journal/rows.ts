// The journal's rows, shared by both stores: row types, column orders, and the
// row → record mapping.

import type { CommandRef } from "../events.js";
import type { Plan } from "../plan.js";
import { maskUrlPasswords } from "../../language/url-password.js";
import { pidAlive } from "./identity.js";
import type { WriteOp } from "./recorder.js";
import type {
  ApprovalRecord,
  BeginRunInfo,
  CommandRecord,
  ConfirmationRecord,
  HostRecord,
  JournalIdentity,
  LockHolder,
  NoteRecord,
  RollbackRecord,
  RunRecord,
  RunStatus,
  StepRecord,
} from "./types.js";


/** Output kept per step: the last 64 KiB and at most the last 500 lines. */
export const TAIL_MAX_CHARS = 64 * 1024;
export const TAIL_MAX_LINES = 500;

/** Rows as the stores read them (column names as in the schema). */
export interface RunRow {
  id: string;
  runbook: string;
  version: string;
  file_path: string;
  source_hash: string;
  env: string;
  params: string;
  user_name: string;
  machine: string;
  pid: number;
  started_at: string;
  finished_at: string | null;
  status: string;
  dry_run: number;
  exit_code: number | null;
  error: string | null;
  resumed_from: string | null;
  plan: string;
}

export interface StepRow {
  run_id: string;
  step_id: string;
  host: string | null;
  status: string;
  attempt: number;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  signal_name: string | null;
  reason: string | null;
  output_tail: string;
  output_truncated: number;
}

export interface StepHostRow {
  run_id: string;
  step_id: string;
  host: string;
  status: string;
  exit_code: number | null;
  error: string | null;
  duration_ms: number;
  finished_at: string;
}

export interface LockRow {
  runbook: string;
  env: string;
  run_id: string;
  user_name: string;
  machine: string;
  pid: number;
  since: string;
}

/** Is the process that wrote this run row gone? (Only knowable on the same machine.) */
function runIsDead(row: { status: string; machine: string; pid: number }, self: JournalIdentity): boolean {
  if (row.status !== "running") return false;
  if (row.machine === self.machine && row.pid === self.pid) return false;
  return row.machine === self.machine && !pidAlive(row.pid);
}

export function runFromRow(row: RunRow, self: JournalIdentity): RunRecord {
  const status = (runIsDead(row, self) ? "interrupted" : row.status) as RunStatus;
  const run: RunRecord = {
    id: row.id,
    runbook: row.runbook,
    version: row.version,
    file: row.file_path,
    sourceHash: row.source_hash,
    env: row.env,
    params: JSON.parse(row.params) as Record<string, string>,
    user: row.user_name,
    machine: row.machine,
    pid: Number(row.pid),
    startedAt: row.started_at,
    status,
    dryRun: Boolean(Number(row.dry_run)),
    plan: JSON.parse(row.plan) as Plan,
  };
  if (row.finished_at !== null) run.finishedAt = row.finished_at;
  if (row.exit_code !== null) run.exitCode = Number(row.exit_code);
  if (row.error !== null) run.error = row.error;
  if (row.resumed_from !== null) run.resumedFrom = row.resumed_from;
  return run;
}

/** A step left "running" by a run that is not running (or whose process is gone) reads "interrupted". */
export function stepsFromRows(
  run: { status: string; machine: string; pid: number } | undefined,
  rows: StepRow[],
  hostRows: StepHostRow[],
  self: JournalIdentity,
): StepRecord[] {
  const runLive = run !== undefined && run.status === "running" && !runIsDead(run, self);
  const hostsByStep = new Map<string, HostRecord[]>();
  for (const h of hostRows) {
    const list = hostsByStep.get(h.step_id) ?? [];
    list.push({
      host: h.host,
      status: h.status === "ok" ? "ok" : "failed",
      exitCode: h.exit_code === null ? null : Number(h.exit_code),
      error: h.error,
      durationMs: Number(h.duration_ms),
      finishedAt: h.finished_at,
    });
    hostsByStep.set(h.step_id, list);
  }
  return rows.map((r) => {
    const step: StepRecord = {
      runId: r.run_id,
      stepId: r.step_id,
      host: r.host,
      status: r.status === "running" && !runLive ? "interrupted" : r.status,
      attempt: Number(r.attempt),
      exitCode: r.exit_code === null ? null : Number(r.exit_code),
      signal: r.signal_name,
      reason: r.reason,
      outputTail: r.output_tail ?? "",
    };
    if (r.started_at !== null) step.startedAt = r.started_at;
    if (r.finished_at !== null) step.finishedAt = r.finished_at;
    if (Number(r.output_truncated)) step.outputTruncated = true;
    const hosts = hostsByStep.get(r.step_id);
    if (hosts) step.hosts = hosts;
    return step;
  });
}

export function holderFromRow(row: LockRow): LockHolder {
  return {
    runbook: row.runbook,
    env: row.env,
    runId: row.run_id,
    user: row.user_name,
    machine: row.machine,
    pid: Number(row.pid),
    since: row.since,
  };
}

/** The values of a new run row, in schema column order. */
export function newRunRow(info: BeginRunInfo, self: JournalIdentity, startedAt: string): RunRow {
  const plan = info.plan;
  return {
    id: info.runId,
    runbook: plan.runbook.name,
    version: plan.runbook.version,
    file_path: info.file,
    source_hash: plan.runbook.sourceHash,
    env: plan.env,
    params: JSON.stringify(info.params ?? {}),
    user_name: self.user,
    machine: self.machine,
    pid: self.pid,
    started_at: startedAt,
    finished_at: null,
    status: "running",
    dry_run: info.dryRun ? 1 : 0,
    exit_code: null,
    error: null,
    resumed_from: info.resumedFrom ?? null,
    // A URL's password (in a command, or a database URL from a param) is not kept; `resume` rebuilds the plan.
    plan: maskUrlPasswords(JSON.stringify(plan)),
  };
}

export const RUN_COLUMNS: (keyof RunRow)[] = [
  "id",
  "runbook",
  "version",
  "file_path",
  "source_hash",
  "env",
  "params",
  "user_name",
  "machine",
  "pid",
  "started_at",
  "finished_at",
  "status",
  "dry_run",
  "exit_code",
  "error",
  "resumed_from",
  "plan",
];

/** LIKE pattern for "starts with prefix", with \ as the escape character. */
export function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + "%";
}

/** The key of a command's row: one per (run, step, where it runs). */
export function commandKey(ref: Pick<CommandRef, "host" | "target">): string {
  return ref.target ?? ref.host ?? "";
}

/** The row of a command-start op, in the column order of the step_commands table. */
export function commandRow(op: Extract<WriteOp, { op: "command-start" }>, machine: string): (string | number | null)[] {
  const c = op.command;
  return [op.runId, op.stepId, commandKey(c), c.host, c.target, machine, c.pid ?? null, c.pgid ?? null, c.startToken ?? null, c.execId ?? null, c.asUser ?? null, op.at];
}

export const COMMAND_COLUMNS = [
  "run_id",
  "step_id",
  "target_key",
  "host",
  "target",
  "machine",
  "pid",
  "pgid",
  "start_token",
  "exec_id",
  "as_user",
  "started_at",
] as const;

export function commandFromRow(r: Record<string, unknown>): CommandRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    runId: r.run_id as string,
    stepId: r.step_id as string,
    host: (r.host as string | null) ?? null,
    target: (r.target as string | null) ?? null,
    machine: r.machine as string,
    pid: num(r.pid),
    pgid: num(r.pgid),
    startToken: (r.start_token as string | null) ?? null,
    execId: (r.exec_id as string | null) ?? null,
    asUser: (r.as_user as string | null) ?? null,
    startedAt: r.started_at as string,
  };
}

export function confirmationFromRow(r: Record<string, unknown>): ConfirmationRecord {
  return {
    stepId: (r.step_id as string | null) ?? null,
    kind: r.kind as ConfirmationRecord["kind"],
    question: r.question as string,
    answer: r.answer as string,
    by: r.by_user as string,
    time: r.at as string,
  };
}

export function rollbackFromRow(r: Record<string, unknown>): RollbackRecord {
  const rec: RollbackRecord = {
    stepId: (r.step_id as string | null) ?? null,
    kind: r.kind as RollbackRecord["kind"],
    status: r.status as RollbackRecord["status"],
    error: (r.error as string | null) ?? null,
    time: r.at as string,
  };
  if (typeof r.steps === "string") rec.steps = JSON.parse(r.steps) as string[];
  return rec;
}

export const APPROVAL_COLUMNS = ["run_id", "kind", "step_id", "group_name", "approver", "at", "statement", "signature", "reason"] as const;

export function approvalRow(r: ApprovalRecord): (string | null)[] {
  return [r.runId, r.kind, r.stepId, r.group, r.approver, r.time, r.statement, r.signature, r.reason];
}

export function approvalFromRow(r: Record<string, unknown>): ApprovalRecord {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    runId: String(r.run_id),
    kind: r.kind as ApprovalRecord["kind"],
    stepId: String(r.step_id),
    group: String(r.group_name),
    approver: text(r.approver),
    time: String(r.at),
    statement: text(r.statement),
    signature: text(r.signature),
    reason: text(r.reason),
  };
}

export function noteFromRow(r: Record<string, unknown>): NoteRecord {
  return { stepId: r.step_id as string, text: r.body as string, time: r.at as string };
}
