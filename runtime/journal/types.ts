// The journal's API: the records `history`, `show`, `resume` and `unlock` read,
// the Journal interface both stores implement, and the errors it throws.

import type { CommandRef, RunEvent } from "../events.js";
import type { CommandWhere } from "../journal-errors.js";
import type { Plan } from "../plan.js";
import type { Engine } from "../../language/sql/index.js";

export type RunStatus = import("../events.js").RunStatus;

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
  readonly kind: Engine;
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
