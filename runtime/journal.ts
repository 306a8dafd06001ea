// The journal: every run, its steps, their output tails, the confirmations,
// rollbacks and notes, and the per-(runbook, env) locks, kept in a database so
// that `history`, `show`, `resume` and `unlock` can read them later. It only
// subscribes to RunEvents (record()); the executor never writes to it otherwise,
// except beginRun/reopenRun, which take the lock in the same transaction as the
// run row.
//
// This module holds the API, the shared event → row translation (JournalRecorder,
// with the bounded in-memory output tails) and the row → record mapping. The
// stores live in runtime/drivers/journal-sqlite.ts (a local file, the default) and
// runtime/drivers/journal-mysql.ts (a team-shared database); they are loaded
// lazily, so importing this module loads no database library.
//
// A SQLite journal holds commands, output and answers: its files are 0600 and the
// folders runbook makes for it 0700 (the default folder ~/.local/state/runbook is
// tightened to 0700 when found looser, a journal file to 0600, each with a warning).

import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CommandRef, FailureChoice, RunEvent } from "./events.js";
import { lockLostDetail, type CommandWhere } from "./journal-errors.js";
import type { Plan } from "./plan.js";
import { maskUrlPasswords } from "../language/url-password.js";
import { dryRunJournalText } from "./views/step-lines.js";

export type RunStatus = import("./events.js").RunStatus;

/** Who holds a lock on a (runbook, env). */
export interface LockHolder {
  runbook: string;
  env: string;
  runId: string;
  user: string;
  machine: string;
  pid: number;
  /** ISO 8601. */
  since: string;
}

export interface RunRecord {
  id: string;
  runbook: string;
  version: string;
  file: string;
  sourceHash: string;
  env: string;
  params: Record<string, string>;
  user: string;
  machine: string;
  pid: number;
  startedAt: string;
  finishedAt?: string;
  /** "interrupted" also when the row says running but its process is gone (same machine). */
  status: RunStatus;
  dryRun: boolean;
  exitCode?: number;
  /** Why the run failed or was aborted, as the run-finished event said (already redacted). */
  error?: string;
  resumedFrom?: string;
  plan: Plan;
}

export interface StepRecord {
  runId: string;
  stepId: string;
  host: string | null;
  /** A StepStatus; a step left "running" by a run that is not running any more reads "interrupted". */
  status: string;
  attempt: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
  /** The last lines of the step's output (stdout and stderr interleaved), bounded. */
  outputTail: string;
  /** Earlier output was dropped to keep the tail bounded. */
  outputTruncated?: boolean;
  /** For host groups: how each member ended (from host-finished events). Absent when none. */
  hosts?: HostRecord[];
}

export interface HostRecord {
  host: string;
  status: "ok" | "failed";
  exitCode: number | null;
  error: string | null;
  durationMs: number;
  finishedAt: string;
}

export interface ConfirmationRecord {
  stepId: string | null;
  /** What was asked: a `confirm` question, a `manual` instruction, or a step failure. */
  kind: "confirm" | "manual" | "failure-choice";
  question: string;
  /** yes/no/unanswered, done/abort/unanswered, or retry/skip/rollback/abort. */
  answer: string;
  by: string;
  time: string;
}

export interface RollbackRecord {
  /** null for the start of a rollback (then `steps` lists what it will undo, in order). */
  stepId: string | null;
  kind: "started" | "step";
  status: "started" | "ok" | "failed";
  steps?: string[];
  error: string | null;
  time: string;
}

export interface NoteRecord {
  stepId: string;
  text: string;
  time: string;
}

/**
 * The approval gate's rows (runtime/approvals.ts): "request" when the run stopped
 * waiting (statement: the ApprovalRequest as JSON), "signature" from `runbook
 * approve` (statement and signature as signed), "verified"/"refused" when a run
 * checked a signature (reason: why refused).
 */
export interface ApprovalRecord {
  runId: string;
  kind: "request" | "signature" | "verified" | "refused";
  stepId: string;
  group: string;
  approver: string | null;
  /** When the row was written: a verdict's when it was checked, a signature's when it was signed. */
  time: string;
  statement: string | null;
  signature: string | null;
  reason: string | null;
}

/**
 * A step's command that started and was not seen to end (its runbook process died,
 * or lost the host): it may still be running. `resume` looks for it before going on.
 */
export interface CommandRecord extends CommandWhere {
  runId: string;
  startToken: string | null;
}

/** Who writes: the user, the machine, the process. Overridable for tests. */
export interface JournalIdentity {
  user: string;
  machine: string;
  pid: number;
}

export interface OpenJournalOptions {
  identity?: Partial<JournalIdentity>;
  /** Told (one line, no "warning:" prefix) when a journal file or the default folder was open to others and was tightened. */
  onWarning?: (message: string) => void;
  /** Where $HOME is, to know the default folder (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface BeginRunInfo {
  runId: string;
  plan: Plan;
  dryRun: boolean;
  params: Record<string, string>;
  file: string;
  resumedFrom?: string;
}

export interface Journal {
  /** "sqlite" or "mysql". */
  readonly kind: "sqlite" | "mysql";
  /** Where it is, fit for messages (a MySQL password is shown as ***). */
  readonly location: string;
  /**
   * Run row + lock in ONE transaction; dry runs take no lock. Throws LockedError when
   * held — except that a run resuming another (`resumedFrom`) takes over that run's
   * lock when its holder is stale.
   */
  beginRun(info: BeginRunInfo): Promise<void>;
  /**
   * For resume: the run goes back to "running" under this process, the lock is
   * retaken (LockedError when another run holds it, or when this run's own holder
   * is still alive), and steps it left "running" become "interrupted".
   */
  reopenRun(runId: string): Promise<RunRecord>;
  /**
   * Subscribe this to the EventBus. Never throws: a failed write is kept and
   * reported by the next flush() (and close()).
   */
  record(event: RunEvent): void;
  /** Waits for queued writes, persists the output tails of steps still running, rethrows a failed write. */
  flush(): Promise<void>;
  /**
   * Before a step starts: waits for queued writes, then throws a JournalError
   * (journal-errors.ts) when any write of this journal has failed (sticky: the
   * journal misses something for good), when the SQLite file was deleted or
   * replaced, or when the lock of the run begun or reopened here is gone.
   */
  verify(): Promise<void>;
  /** Commands of a run that started and were not seen to end, oldest first. */
  getCommands(runId: string): Promise<CommandRecord[]>;
  /** The values a run captured (`into NAME`), by name: what a resume starts with. Secret ones are never journaled. */
  getValues(runId: string): Promise<Record<string, string>>;
  /** Forgets a command found to be gone (so the next resume does not look again). */
  forgetCommand(runId: string, stepId: string, ref: Pick<CommandRef, "host" | "target">): Promise<void>;
  /** Also accepts a unique prefix of the id; throws AmbiguousRunIdError when several runs match. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  getSteps(runId: string): Promise<StepRecord[]>;
  getConfirmations(runId: string): Promise<ConfirmationRecord[]>;
  getRollbacks(runId: string): Promise<RollbackRecord[]>;
  getNotes(runId: string): Promise<NoteRecord[]>;
  /** Oldest first. */
  getApprovals(runId: string): Promise<ApprovalRecord[]>;
  /** Written at once, by `runbook approve` (another process than the run's). */
  addApproval(record: ApprovalRecord): Promise<void>;
  /** Newest first. */
  listRuns(filter?: { runbook?: string; env?: string; limit?: number }): Promise<RunRecord[]>;
  getLock(runbook: string, env: string): Promise<(LockHolder & { stale: boolean }) | undefined>;
  /**
   * Clears a stale lock. Refuses a live holder (same machine, pid alive) unless
   * force; a holder on another machine cannot be checked and needs force too.
   */
  unlock(
    runbook: string,
    env: string,
    options?: { force?: boolean },
  ): Promise<{ cleared: boolean; holder?: LockHolder; reason?: string }>;
  close(): Promise<void>;
}

/** Thrown by beginRun/reopenRun when another run holds the (runbook, env) lock. */
export class LockedError extends Error {
  readonly holder: LockHolder;
  /** Same machine and the holder's process is gone: `runbook unlock` may clear it. */
  readonly stale: boolean;
  constructor(holder: LockHolder, stale: boolean, file?: string) {
    super(describeLockHolder(holder, stale, file));
    this.name = "LockedError";
    this.holder = holder;
    this.stale = stale;
  }
}

/** getRun was given a prefix that several run ids start with. */
export class AmbiguousRunIdError extends Error {
  readonly matches: string[];
  constructor(prefix: string, matches: string[]) {
    super(`run id "${prefix}" is ambiguous: it matches ${matches.join(", ")}`);
    this.name = "AmbiguousRunIdError";
    this.matches = matches;
  }
}

/** One line naming who holds a lock, since when, from where, and what to do about a stale one. */
export function describeLockHolder(holder: LockHolder, stale: boolean, file?: string): string {
  const who = `run ${holder.runId} by ${holder.user}@${holder.machine} (pid ${holder.pid}) since ${holder.since}`;
  const base = `${holder.runbook} is locked in env ${holder.env} by ${who}`;
  if (!stale) return base;
  return `${base}; that process is gone: \`runbook unlock ${file ?? "FILE"} --env ${holder.env}\` clears the lock`;
}

// ---------------------------------------------------------------------------
// Where the journal is

/** $RUNBOOK_STATE, else ~/.local/state/runbook/journal.db (its directories are created). */
export function defaultStateLocation(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.RUNBOOK_STATE;
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const location = expandHome(fromEnv.trim(), env);
    if (!isMysqlLocation(location)) ensureParentDir(stripSqlitePrefix(location));
    return location;
  }
  const file = path.join(defaultStateDir(env), "journal.db");
  ensureParentDir(file);
  return file;
}

/** The folder of the default journal, runbook's own: ~/.local/state/runbook. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const home = env.HOME && env.HOME !== "" ? env.HOME : os.homedir();
  return path.join(home, ".local", "state", "runbook");
}

export function isMysqlLocation(location: string): boolean {
  return /^(mysql|mariadb):\/\//i.test(location);
}

/** The location with any password replaced by ***, for messages (whatever its scheme). */
export function describeLocation(location: string): string {
  return maskUrlPasswords(location);
}

/** A --state value (or $RUNBOOK_STATE) that cannot be a journal location: a usage error. */
export class JournalLocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JournalLocationError";
  }
}

/**
 * The journal a command uses: `--state` when given, else $RUNBOOK_STATE, else the
 * default file. Paths are made absolute against `cwd` (and `~` expanded); their
 * directories are created. MySQL URLs are returned as they are.
 */
export function resolveStateLocation(state: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const given = [state, env.RUNBOOK_STATE].map((s) => s?.trim()).find((s) => s !== undefined && s !== "");
  const location = given ?? defaultStateLocation(env);
  if (isMysqlLocation(location)) return location;
  const file = path.resolve(cwd, expandHome(stripSqlitePrefix(location), env));
  ensureParentDir(file);
  return file;
}

/** A path → SQLite (a `sqlite:` prefix is accepted); mysql://user[:pass]@host[:port]/db → MySQL. */
export async function openJournal(location: string, options: OpenJournalOptions = {}): Promise<Journal> {
  const identity = currentIdentity(options.identity);
  if (isMysqlLocation(location)) {
    const { openMysqlJournal } = await import("./drivers/journal-mysql.js");
    return openMysqlJournal(location, identity);
  }
  const env = options.env ?? process.env;
  const file = path.resolve(expandHome(stripSqlitePrefix(location), env));
  ensureParentDir(file);
  secureJournalFiles(file, path.dirname(file) === defaultStateDir(env), options.onWarning ?? (() => {}));
  const { openSqliteJournal } = await import("./drivers/journal-sqlite.js");
  return openSqliteJournal(file, identity);
}

function stripSqlitePrefix(location: string): string {
  return location.replace(/^sqlite:(\/\/)?/i, "");
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === "~" || p.startsWith("~/")) return path.join(env.HOME && env.HOME !== "" ? env.HOME : os.homedir(), p.slice(1));
  return p;
}

/** Creates the folders of a journal file that are missing, 0700. */
function ensureParentDir(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
}

/** The files SQLite keeps a journal in (the WAL and its index take the database file's mode when made). */
const SQLITE_SUFFIXES = ["", "-wal", "-shm", "-journal"];

/**
 * A SQLite journal's files are 0600: the database file is made so before SQLite
 * opens it, and a file (or, when `ownDir`, the folder) found open to group or
 * others is tightened, with a warning. A folder the user named is left as it is.
 */
function secureJournalFiles(file: string, ownDir: boolean, warn: (message: string) => void): void {
  const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");
  const tighten = (p: string, mode: number, what: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return; // not there
    }
    if ((st.mode & 0o077) === 0) return;
    try {
      chmodSync(p, mode);
      warn(`${what} ${p} was open to other users (mode ${octal(st.mode)}): it is ${octal(mode)} now`);
    } catch (e) {
      warn(`${what} ${p} is open to other users (mode ${octal(st.mode)}) and could not be made ${octal(mode)}: ${(e as Error).message}`);
    }
  };
  if (ownDir) tighten(path.dirname(file), 0o700, "the journal's folder");
  try {
    closeSync(openSync(file, "wx", 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") return; // SQLite will say why it cannot open it
  }
  for (const suffix of SQLITE_SUFFIXES) tighten(file + suffix, 0o600, "the journal file");
}

// ---------------------------------------------------------------------------
// Identity and liveness

export function currentIdentity(override: Partial<JournalIdentity> = {}): JournalIdentity {
  let user = override.user;
  if (user === undefined) {
    try {
      user = os.userInfo().username;
    } catch {
      user = process.env.USER ?? process.env.LOGNAME ?? "unknown";
    }
  }
  return { user, machine: override.machine ?? os.hostname(), pid: override.pid ?? process.pid };
}

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A holder is stale when it is on this machine and its process is gone. */
export function isStale(holder: { machine: string; pid: number }, self: JournalIdentity): boolean {
  return holder.machine === self.machine && !pidAlive(holder.pid);
}

/** A time-ordered, 12-hex-digit run id (unique prefixes stay short). */
export function newRunId(): string {
  const t = Math.floor(Date.now() / 1000).toString(16).slice(-6).padStart(6, "0");
  return t + randomBytes(3).toString("hex");
}

// ---------------------------------------------------------------------------
// Schema, shared by both stores (column names avoid SQL keywords such as SIGNAL).

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

// ---------------------------------------------------------------------------
// Events → writes. Both stores apply these in order; SQLite at once, MySQL queued.

export type WriteOp =
  | { op: "step-start"; runId: string; stepId: string; host: string | null; attempt: number; at: string }
  | {
      op: "step-finish";
      runId: string;
      stepId: string;
      host: string | null;
      status: string;
      attempt: number;
      at: string;
      exitCode: number | null;
      signal: string | null;
      reason: string | null;
      tail: string;
      truncated: boolean;
    }
  | { op: "step-tail"; runId: string; stepId: string; tail: string; truncated: boolean }
  | {
      op: "step-host";
      runId: string;
      stepId: string;
      host: string;
      status: string;
      exitCode: number | null;
      error: string | null;
      durationMs: number;
      at: string;
    }
  | {
      op: "confirmation";
      runId: string;
      stepId: string | null;
      kind: ConfirmationRecord["kind"];
      question: string;
      answer: string;
      by: string;
      at: string;
    }
  | {
      op: "rollback";
      runId: string;
      stepId: string | null;
      kind: RollbackRecord["kind"];
      status: RollbackRecord["status"];
      steps: string[] | null;
      error: string | null;
      at: string;
    }
  | { op: "note"; runId: string; stepId: string; text: string; at: string }
  | { op: "approval"; record: ApprovalRecord }
  | { op: "value"; runId: string; stepId: string; name: string; value: string; at: string }
  | { op: "command-start"; runId: string; stepId: string; command: CommandRef; at: string }
  | { op: "command-end"; runId: string; stepId: string; command: Pick<CommandRef, "host" | "target"> }
  | { op: "run-finish"; runId: string; status: RunStatus; exitCode: number; error: string | null; at: string };

/**
 * A bounded output tail: appends are O(1) amortised; the text is cut to the last
 * TAIL_MAX_CHARS characters and TAIL_MAX_LINES lines (starting at a line boundary).
 */
export class OutputTail {
  /** The chunks still needed, from `head` on (earlier ones are dropped in place). */
  private chunks: string[] = [];
  private head = 0;
  /** Characters in chunks[head..]. */
  private size = 0;
  truncated = false;
  /** Changed since the last persisted snapshot. */
  dirty = false;

  constructor(
    private readonly maxChars = TAIL_MAX_CHARS,
    private readonly maxLines = TAIL_MAX_LINES,
  ) {}

  /**
   * Constant work per chunk: whole chunks that lie before the last maxChars + 1
   * characters can never be part of the tail (the one character before the cut tells
   * whether the cut fell inside a line), so they are dropped as they go by; the exact
   * cut by size and lines is made when the text is asked for.
   */
  push(text: string): void {
    if (text.length === 0) return;
    this.dirty = true;
    if (text.length > this.maxChars + 1) {
      text = text.slice(text.length - this.maxChars - 1);
      this.truncated = true;
      this.chunks = [];
      this.head = 0;
      this.size = 0;
    }
    this.chunks.push(text);
    this.size += text.length;
    while (this.size - this.chunks[this.head]!.length > this.maxChars) {
      this.size -= this.chunks[this.head]!.length;
      this.chunks[this.head++] = "";
      this.truncated = true;
    }
    if (this.head > 1024 || this.chunks.length - this.head > 1024) this.compact();
  }

  text(): string {
    this.compact();
    return this.chunks[0] ?? "";
  }

  private compact(): void {
    let s = this.chunks.length - this.head === 1 ? this.chunks[this.head]! : this.chunks.slice(this.head).join("");
    let cut = false;
    /** The size cut fell inside a line (not just after a newline). */
    let partial = false;
    if (s.length > this.maxChars) {
      partial = s.charCodeAt(s.length - this.maxChars - 1) !== 10;
      s = s.slice(s.length - this.maxChars);
      cut = true;
    }
    // At most maxLines lines: keep what follows the (maxLines)th newline from the end,
    // not counting a final newline.
    let seen = 0;
    const end = s.endsWith("\n") ? s.length - 1 : s.length;
    for (let i = end > 0 ? s.lastIndexOf("\n", end - 1) : -1; i >= 0; i = i > 0 ? s.lastIndexOf("\n", i - 1) : -1) {
      if (++seen === this.maxLines) {
        s = s.slice(i + 1);
        cut = true;
        break;
      }
    }
    if (partial && seen < this.maxLines) {
      // Cut by size inside a line: drop what is left of it.
      const nl = s.indexOf("\n");
      if (nl >= 0 && nl < s.length - 1) s = s.slice(nl + 1);
    }
    if (cut) this.truncated = true;
    this.chunks = s === "" ? [] : [s];
    this.head = 0;
    this.size = s.length;
  }
}

/** The step-level host label used for output tails when an event names no host. */
const NO_HOST = "";

interface OpenStep {
  host: string | null;
  /** One tail per host that produced output (several for a host group). */
  tails: Map<string, OutputTail>;
  /** Last attempt that started; a new one adds a marker line to the tail. */
  attempt: number;
}

/**
 * Turns RunEvents into WriteOps, keeping each running step's output tail in memory
 * until the step finishes (or a flush persists it).
 */
export class JournalRecorder {
  private readonly open = new Map<string, OpenStep>();
  /** Dry runs being recorded: what they would do is kept in their steps' output. */
  private readonly dryRuns = new Set<string>();

  private key(runId: string, stepId: string): string {
    return `${runId}\u0000${stepId}`;
  }

  private openStep(runId: string, stepId: string, host: string | null): OpenStep {
    const k = this.key(runId, stepId);
    let s = this.open.get(k);
    if (!s) {
      s = { host, tails: new Map(), attempt: 0 };
      this.open.set(k, s);
    }
    return s;
  }

  /** The combined tail of a step: one host's text, or each host's under a header line. */
  private combined(s: OpenStep): { tail: string; truncated: boolean } {
    const tails = [...s.tails.entries()].filter(([, t]) => t.text() !== "" || t.truncated);
    const truncated = tails.some(([, t]) => t.truncated);
    if (tails.length === 0) return { tail: "", truncated: false };
    if (tails.length === 1) return { tail: tails[0][1].text(), truncated };
    const joined = new OutputTail();
    for (const [host, t] of tails) {
      joined.push(`[${host === NO_HOST ? "local" : host}]\n`);
      const text = t.text();
      joined.push(text.endsWith("\n") || text === "" ? text : `${text}\n`);
    }
    const tail = joined.text();
    return { tail, truncated: truncated || joined.truncated };
  }

  events(event: RunEvent): WriteOp[] {
    switch (event.type) {
      case "step-started": {
        const s = this.openStep(event.runId, event.stepId, event.host ?? null);
        if (event.host !== undefined) s.host = event.host;
        // A retry: mark where the new attempt's output begins.
        if (s.attempt > 0 && event.attempt > s.attempt) {
          for (const t of s.tails.values()) t.push(`--- attempt ${event.attempt} ---\n`);
        }
        s.attempt = event.attempt;
        return [
          { op: "step-start", runId: event.runId, stepId: event.stepId, host: s.host, attempt: event.attempt, at: event.time },
        ];
      }
      case "output": {
        const s = this.openStep(event.runId, event.stepId, event.host ?? null);
        const hostKey = event.host ?? NO_HOST;
        let t = s.tails.get(hostKey);
        if (!t) {
          t = new OutputTail();
          s.tails.set(hostKey, t);
        }
        t.push(event.text);
        return [];
      }
      case "step-finished": {
        const k = this.key(event.runId, event.stepId);
        const s = this.open.get(k);
        this.open.delete(k);
        const { tail, truncated } = s ? this.combined(s) : { tail: "", truncated: false };
        return [
          {
            op: "step-finish",
            runId: event.runId,
            stepId: event.stepId,
            host: event.host ?? s?.host ?? null,
            status: event.status,
            attempt: event.attempt,
            at: event.time,
            exitCode: event.exitCode ?? null,
            signal: event.signal ?? null,
            reason: event.reason ?? null,
            tail,
            truncated,
          },
        ];
      }
      case "host-finished":
        return [
          {
            op: "step-host",
            runId: event.runId,
            stepId: event.stepId,
            host: event.host,
            status: event.status,
            exitCode: event.exitCode ?? null,
            error: event.error ?? null,
            durationMs: Math.round(event.durationMs),
            at: event.time,
          },
        ];
      case "confirm":
        return [
          {
            op: "confirmation",
            runId: event.runId,
            stepId: event.stepId ?? null,
            kind: "confirm",
            question: event.question,
            answer: event.dryRun ? `${event.answer} (dry run)` : event.answer,
            by: event.by,
            at: event.time,
          },
        ];
      case "manual":
        return [
          {
            op: "confirmation",
            runId: event.runId,
            stepId: event.stepId,
            kind: "manual",
            question: event.text,
            answer: event.answer,
            by: event.by,
            at: event.time,
          },
        ];
      case "failure-choice":
        return [
          {
            op: "confirmation",
            runId: event.runId,
            stepId: event.stepId,
            kind: "failure-choice",
            question: `Step ${event.stepId} failed: retry, skip, roll back or abort?`,
            answer: event.choice satisfies FailureChoice,
            by: event.by,
            at: event.time,
          },
        ];
      case "rollback-started":
        return [
          {
            op: "rollback",
            runId: event.runId,
            stepId: null,
            kind: "started",
            status: "started",
            steps: event.steps,
            error: null,
            at: event.time,
          },
        ];
      case "rollback-step":
        return [
          {
            op: "rollback",
            runId: event.runId,
            stepId: event.stepId,
            kind: "step",
            status: event.status,
            steps: null,
            error: event.error ?? null,
            at: event.time,
          },
        ];
      case "note":
        return [{ op: "note", runId: event.runId, stepId: event.stepId, text: event.text, at: event.time }];
      case "approval-waiting": {
        const { type: _t, runId, time, approvedBy: _a, ...request } = event;
        const record: ApprovalRecord = { runId, kind: "request", stepId: event.stepId, group: event.group, approver: null, time, statement: JSON.stringify(request), signature: null, reason: null };
        return [{ op: "approval", record }];
      }
      case "approval":
        return [
          {
            op: "approval",
            record: { runId: event.runId, kind: event.status, stepId: event.stepId, group: event.group, approver: event.approver, time: event.time, statement: null, signature: null, reason: event.reason ?? null },
          },
        ];
      case "captured":
        // A secret's value is not in the event, and never in the journal.
        if (event.secret || event.value === undefined || this.dryRuns.has(event.runId)) return [];
        return [{ op: "value", runId: event.runId, stepId: event.stepId, name: event.name, value: event.value, at: event.time }];
      case "command-started":
        return [{ op: "command-start", runId: event.runId, stepId: event.stepId, command: event.command, at: event.time }];
      case "command-ended":
        return [{ op: "command-end", runId: event.runId, stepId: event.stepId, command: event.command }];
      case "run-finished": {
        this.dryRuns.delete(event.runId);
        const ops: WriteOp[] = this.drain(event.runId);
        ops.push({
          op: "run-finish",
          runId: event.runId,
          status: event.status,
          exitCode: event.exitCode,
          error: event.error ?? null,
          at: event.time,
        });
        return ops;
      }
      case "run-started":
        // beginRun wrote the row; a dry run's would-do lines go in its steps' output.
        if (event.dryRun) this.dryRuns.add(event.runId);
        return [];
      case "action":
      case "guard":
      case "diff": {
        // A real run's output says what it did; a dry run's would be empty without these.
        if (!this.dryRuns.has(event.runId)) return [];
        const text = dryRunJournalText(event);
        if (text === undefined) return [];
        const s = this.openStep(event.runId, event.stepId, null);
        let t = s.tails.get(NO_HOST);
        if (!t) {
          t = new OutputTail();
          s.tails.set(NO_HOST, t);
        }
        t.push(text);
        return [];
      }
      default:
        return [];
    }
  }

  /** Tails of a run's steps that never finished: persisted and forgotten (run-finished). */
  private drain(runId: string): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const [k, s] of this.open) {
      if (!k.startsWith(`${runId}\u0000`)) continue;
      const stepId = k.slice(runId.length + 1);
      const { tail, truncated } = this.combined(s);
      if (tail !== "") ops.push({ op: "step-tail", runId, stepId, tail, truncated });
      this.open.delete(k);
    }
    return ops;
  }

  /** Snapshots of tails that changed since the last snapshot (flush()). */
  dirtyTails(): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const [k, s] of this.open) {
      if (![...s.tails.values()].some((t) => t.dirty)) continue;
      const sep = k.indexOf("\u0000");
      const { tail, truncated } = this.combined(s);
      for (const t of s.tails.values()) t.dirty = false;
      ops.push({ op: "step-tail", runId: k.slice(0, sep), stepId: k.slice(sep + 1), tail, truncated });
    }
    return ops;
  }
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

/** The run this journal began or reopened (verify() checks its lock). */
export interface CurrentRun {
  runId: string;
  runbook: string;
  env: string;
  dryRun: boolean;
  /** Its run-finished is written: the lock is released, nothing to check. */
  finished?: boolean;
}

/** Whether a lock row still belongs to the current run of this process; else why not (for JournalError). */
export function lockStillOurs(row: LockRow | undefined, current: CurrentRun, self: JournalIdentity): string | undefined {
  if (!row) return lockLostDetail(undefined);
  const holder = holderFromRow(row);
  if (row.run_id !== current.runId || holder.machine !== self.machine || holder.pid !== self.pid) return lockLostDetail(holder);
  return undefined;
}

/** ISO 8601 now. */
export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Whether `unlock` may clear this holder, and why (or why not), in words fit to
 * print. Shared by both stores so the wording is the same.
 */
export function unlockDecision(
  holder: LockHolder,
  self: JournalIdentity,
  force: boolean,
): { allowed: boolean; reason: string; holderGone: boolean } {
  const who = `run ${holder.runId} by ${holder.user}@${holder.machine} (pid ${holder.pid}) since ${holder.since}`;
  if (holder.machine !== self.machine) {
    if (force) return { allowed: true, reason: `forced: the holder, ${who}, is on another machine`, holderGone: true };
    return {
      allowed: false,
      holderGone: false,
      reason: `the lock is held by ${who}, on another machine (${holder.machine}), where this machine cannot check whether it is still running; if that run is gone, clear the lock with --force`,
    };
  }
  if (pidAlive(holder.pid)) {
    if (force) return { allowed: true, reason: `forced: the holder, ${who}, is still running`, holderGone: false };
    return { allowed: false, holderGone: false, reason: `the lock is held by ${who}, and that process is still running` };
  }
  return { allowed: true, reason: `the holder, ${who}, is gone`, holderGone: true };
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
