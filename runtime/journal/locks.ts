// Lock decisions shared by both stores: whether a lock is still this run's and
// whether `unlock` may clear a holder (the wording is the same for both).

import { lockLostDetail } from "../journal-errors.js";
import { pidAlive } from "./identity.js";
import { holderFromRow, type LockRow } from "./rows.js";
import type { JournalIdentity, LockHolder } from "./types.js";

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
