// When the journal cannot keep its promise, and what to say about it: the typed
// JournalError that Journal.verify() throws (a write that failed, the SQLite file
// deleted or replaced, the run's lock gone), the wording of those failures and of
// a run stopped by one, and the wording about commands of an earlier attempt that
// may still be running (runtime/running-commands.ts). Callers decide by `code`,
// never by the text; every sentence lives here.

import { assertNever } from "../language/assert.js";

export type JournalErrorCode =
  /** A write (or the flush of queued writes) failed: the journal misses something. */
  | "write-failed"
  /** The journal file is not at its path any more. */
  | "file-gone"
  /** Another file is at the journal's path (deleted and made again, or moved over). */
  | "file-replaced"
  /** The run's lock row is gone or names another run. */
  | "lock-lost"
  /** The journal's database cannot be reached to check. */
  | "unreachable";

export class JournalError extends Error {
  constructor(
    readonly code: JournalErrorCode,
    /** Where the journal is, fit for messages. */
    readonly location: string,
    /** The underlying cause, in a few words (a driver's message). */
    readonly detail?: string,
  ) {
    super(journalErrorText(code, location, detail));
    this.name = "JournalError";
  }

  /** Whether `runbook resume` can still find the run in this journal. */
  get resumable(): boolean {
    switch (this.code) {
      case "write-failed":
      case "lock-lost":
      case "unreachable":
        return true;
      case "file-gone":
      case "file-replaced":
        return false;
      default:
        return assertNever(this.code);
    }
  }
}

function journalErrorText(code: JournalErrorCode, location: string, detail: string | undefined): string {
  const why = detail ? `: ${detail}` : "";
  switch (code) {
    case "write-failed":
      return `could not write to the journal ${location}${why}`;
    case "file-gone":
      return `the journal file ${location} is gone (deleted or moved while the run was going)`;
    case "file-replaced":
      return `the journal file ${location} was replaced by another file while the run was going`;
    case "lock-lost":
      return `the run's lock in the journal ${location} is gone${why}`;
    case "unreachable":
      return `cannot reach the journal ${location}${why}`;
    default:
      return assertNever(code);
  }
}

/**
 * A run refused because another runbook process still writes to a journal that was
 * at this path and was deleted or replaced: its lock is out of sight, so it may be
 * running this very runbook and env. `runbook run` exits 4, as for a lock.
 */
export class JournalInUseError extends Error {
  constructor(
    readonly location: string,
    readonly pids: number[],
  ) {
    super(
      `another runbook process (pid ${pids.join(", ")}) still writes to a journal that was at ${location} and was deleted or replaced; ` +
        `its lock is gone with that file, so no run starts here until it ends (it stops before its next step)`,
    );
    this.name = "JournalInUseError";
  }
}

/** A journal that cannot be opened (or is too new for this runbook); its message names it. */
export class JournalOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JournalOpenError";
  }
}

/** The journal at `location` cannot be opened, for `why` (a store's or driver's words). */
export function cannotOpenJournal(location: string, why: string): JournalOpenError {
  return new JournalOpenError(`cannot open the journal ${location}: ${why}`);
}

/** Why the run's lock is not its own any more: cleared, or held by `holder`. */
export function lockLostDetail(holder: { runId: string; user: string; machine: string; pid: number } | undefined): string {
  if (!holder) return "it was cleared (by `runbook unlock --force`?) while the run was going";
  return `run ${holder.runId} by ${holder.user}@${holder.machine} (pid ${holder.pid}) holds it now`;
}

/** Why a run stopped because its journal failed, naming the step it did not start. */
export function journalStopText(error: JournalError, before: { stepId: string; started: boolean } | undefined): string {
  const where = before
    ? before.started
      ? `step ${before.stepId} was not started`
      : `stopped before step ${before.stepId}`
    : "the steps ended, but the run is not reported as succeeded";
  const after = error.resumable
    ? "; nothing more runs unrecorded: fix the journal, then resume the run"
    : "; nothing more runs unrecorded, and this run cannot be resumed from that journal: check what its steps did before running it again";
  return `${error.message}; ${where}${after}`;
}

/** A run whose every step ended but whose journal did not record it all: never a success. */
export function journalIncompleteText(detail: string): string {
  return `the run's steps ended, but the journal could not record everything (${detail}): the run is not reported as succeeded`;
}

// ---------------------------------------------------------------------------
// Commands of an earlier attempt (resume, or a run taking over a stale lock)

/** What the journal knows about a command that was running. */
export interface CommandWhere {
  stepId: string;
  /** The plan's host name, or null for this machine. */
  host: string | null;
  /** The group member (its target), when the host is a group. */
  target: string | null;
  machine: string;
  pid: number | null;
  pgid: number | null;
  execId: string | null;
  /** On a host through sudo: the user it ran as (found by pgid then). */
  asUser: string | null;
  startedAt: string;
}

export type CommandState = "running" | "gone" | "unknown";

/** Where a command ran and what identifies it there, in a few words. */
function commandWhere(c: CommandWhere): string {
  const group = c.pgid !== null ? `process group ${c.pgid}` : `pid ${c.pid}`;
  if (c.host === null) return group;
  const host = c.target ?? c.host;
  return c.execId !== null ? `on ${host}, exec id ${c.execId}` : `on ${host}, ${group} as ${c.asUser}`;
}

function commandName(c: CommandWhere): string {
  return `the command of step ${c.stepId} (${commandWhere(c)}, started ${c.startedAt})`;
}

export function commandStateText(c: CommandWhere, state: CommandState, why?: string): string {
  switch (state) {
    case "running":
      return `${commandName(c)} is still running${c.host === null ? ` on ${c.machine}` : ""}`;
    case "gone":
      return `${commandName(c)} is not running any more`;
    case "unknown":
      return `${commandName(c)} may still be running: ${why ?? "it cannot be checked from here"}`;
    default:
      return assertNever(state);
  }
}

export type StillRunningChoice = "follow" | "wait" | "end" | "go-on";
export const STILL_RUNNING_CHOICES: readonly StillRunningChoice[] = ["follow", "wait", "end", "go-on"];

export function stillRunningQuestion(count: number): string {
  return `${count === 1 ? "That command is" : "Those commands are"} from the run's earlier attempt. Follow ${count === 1 ? "its" : "their"} output until ${count === 1 ? "it ends" : "they end"}, wait for ${count === 1 ? "it" : "them"} to end, end ${count === 1 ? "it" : "them"} now, or go on without running ${count === 1 ? "its step" : "their steps"} again? [follow/wait/end/go-on]`;
}

export function stillRunningUnanswerable(): string {
  return "a command of the run's earlier attempt may still be running, and nobody can choose here (no terminal) what to do: pass --still-running follow, wait, end or go-on";
}

export function stillRunningChoiceText(choice: StillRunningChoice): string {
  switch (choice) {
    case "follow":
      return "following it: its output is shown from its output file until it ends, and its outcome recorded (it is not started again)";
    case "wait":
      return "waiting for it to end (Ctrl-C to stop waiting)";
    case "end":
      return "ending it (TERM to its process group, then KILL)";
    case "go-on":
      return "going on: its step is not started again while it runs";
    default:
      return assertNever(choice);
  }
}

export function stillRunningSkipReason(c: CommandWhere): string {
  return `not started again: its earlier attempt (${commandWhere(c)}) was still running, and the operator chose to go on`;
}

/** wait and end need every command checked: some could not be. */
export function unknownCannotWaitText(choice: "follow" | "wait" | "end"): string {
  return `cannot ${choice === "end" ? "end" : choice === "follow" ? "follow" : "wait for"} a command whose state cannot be checked from here; make sure it has ended, or pass --still-running go-on to go on without starting its step again`;
}

/** `unlock` refusing a gone holder whose command still runs (or cannot be checked). */
export function unlockStillRunningText(live: { record: CommandWhere; state: CommandState; why?: string }[], runId: string): string {
  const said = live.map((c) => commandStateText(c.record, c.state, c.why)).join("; ");
  return `its run is gone, but ${said}; \`runbook resume ${runId}\` can wait for it or end it (or clear the lock anyway with --force)`;
}

export function waitInterruptedText(): string {
  return "interrupted while waiting for the earlier attempt's command to end; nothing was run";
}

export function cannotEndText(c: CommandWhere, why: string): string {
  return `could not end ${commandName(c)}: ${why}`;
}

// ---------------------------------------------------------------------------
// A supervised command's earlier attempt, as found on resume (supervisor.ts).

export function supervisedEndedText(exitCode: number): string {
  return `its command ran to its end before the run stopped (exit status ${exitCode}): not run again; its output and status come from its status file`;
}

export function supervisedFollowText(): string {
  return "its command from the run's earlier attempt is still running: following its output until it ends (not started again)";
}

export function supervisedFollowedText(exitCode: number | null): string {
  return `the command from the earlier attempt ended${exitCode !== null ? ` with status ${exitCode}` : ""}`;
}

export function supervisedVanishedText(): string {
  return "its command from the earlier attempt was ended before it finished (no exit status was recorded): running it again";
}

export function supervisedUnreadableText(where: string, exitCode: number | null): string {
  return `cannot read the status file of the command's earlier attempt on ${where} (the check ended with ${exitCode ?? "no status"}): not running it again blindly`;
}

export function editAppliedText(path: string): string {
  return `${path} already holds what this edit wrote before the run stopped: not edited again (a rollback of this run cannot undo it)`;
}
