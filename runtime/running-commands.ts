// Commands of an earlier attempt of a run that the journal saw start but never
// saw end (the runbook process was killed, or lost the host): are they still
// running? Locally a command is its process group, checked by pgid and the start
// time of its leader (drivers/process-identity.ts), and only on the machine that
// ran it; on a host it is found by its RUNBOOK_EXEC_ID (HostDriver.commandState).
// `resume` uses this to wait for such a command, end it, or go on without
// starting its step again: a step never runs next to its earlier attempt.

import { processGroupAlive, recordedGroupAlive } from "./drivers/process-identity.js";
import type { HostDriver, StartedCommand } from "./drivers/driver.js";
import type { CommandState } from "./journal-errors.js";
import type { CommandRecord, JournalIdentity } from "./journal/index.js";
import type { Plan } from "./plan.js";

export interface CommandCheck {
  record: CommandRecord;
  state: CommandState;
  /** Why the state is unknown. */
  why?: string;
}

/** The drivers of a plan's host (ConnectionProvider.hosts). */
export type HostsOf = (name: string) => Promise<HostDriver[]>;

const GRACE_MS = 2000;

/** The driver that ran a recorded command on a host (the group member named by its target). */
async function driverOf(record: CommandRecord, plan: Plan, hosts: HostsOf): Promise<HostDriver | undefined> {
  if (record.host === null) return undefined;
  const drivers = await hosts(record.host);
  const planned = plan.hosts[record.host];
  if (planned?.group && record.target !== null) return drivers[planned.targets.indexOf(record.target)];
  return drivers[0];
}

export async function checkCommand(record: CommandRecord, self: JournalIdentity, plan: Plan, hosts: HostsOf): Promise<CommandCheck> {
  if (record.host === null) {
    if (record.machine !== self.machine) return { record, state: "unknown", why: `it ran on ${record.machine}, which cannot be checked from ${self.machine}` };
    if (record.pgid === null) return { record, state: "unknown", why: "the journal has no process group for it" };
    return { record, state: recordedGroupAlive(record.pgid, record.startToken) ? "running" : "gone" };
  }
  if (record.execId === null && record.pgid === null) return { record, state: "unknown", why: "the journal has nothing to find it by" };
  if (!plan.hosts[record.host]) return { record, state: "unknown", why: `the runbook has no host ${record.host} any more` };
  try {
    const driver = await driverOf(record, plan, hosts);
    if (!driver?.commandState) return { record, state: "unknown", why: `${record.target ?? record.host} cannot be asked` };
    return { record, state: await driver.commandState(startedOf(record)) };
  } catch (e) {
    return { record, state: "unknown", why: e instanceof Error ? e.message : String(e) };
  }
}

export function checkCommands(records: CommandRecord[], self: JournalIdentity, plan: Plan, hosts: HostsOf): Promise<CommandCheck[]> {
  return Promise.all(records.map((r) => checkCommand(r, self, plan, hosts)));
}

/** Ends a command still running: TERM to its process group, KILL after a grace period; throws when it cannot. */
export async function endCommand(check: CommandCheck, plan: Plan, hosts: HostsOf): Promise<void> {
  const r = check.record;
  if (r.host === null) {
    const pgid = r.pgid;
    if (pgid === null) throw new Error("the journal has no process group for it");
    for (const [sig, waitMs] of [["SIGTERM", GRACE_MS], ["SIGKILL", GRACE_MS * 2]] as const) {
      try {
        process.kill(-pgid, sig);
      } catch {
        /* gone meanwhile */
      }
      for (const until = Date.now() + waitMs; Date.now() < until; ) {
        if (!processGroupAlive(pgid)) return;
        await sleep(50);
      }
    }
    if (processGroupAlive(pgid)) throw new Error(`process group ${pgid} still runs after SIGKILL`);
    return;
  }
  const driver = await driverOf(r, plan, hosts);
  if (!driver?.endCommand) throw new Error(`${r.target ?? r.host} cannot end it`);
  await driver.endCommand(startedOf(r));
}

/** What the driver reported when the command started, back from its journal record. */
function startedOf(r: CommandRecord): StartedCommand {
  return {
    ...(r.execId !== null ? { execId: r.execId } : {}),
    ...(r.pid !== null ? { pid: r.pid } : {}),
    ...(r.pgid !== null ? { pgid: r.pgid } : {}),
    ...(r.asUser !== null ? { asUser: r.asUser } : {}),
  };
}

/** Waits until none of these commands runs (checked every second); false when `signal` ended the wait first. */
export async function waitForCommands(
  checks: CommandCheck[],
  self: JournalIdentity,
  plan: Plan,
  hosts: HostsOf,
  signal: AbortSignal,
  everyMs = 1000,
): Promise<boolean> {
  let waiting = checks.filter((c) => c.state === "running");
  while (waiting.length > 0) {
    if (signal.aborted) return false;
    await sleep(everyMs);
    if (signal.aborted) return false;
    const now = await checkCommands(
      waiting.map((c) => c.record),
      self,
      plan,
      hosts,
    );
    waiting = now.filter((c) => c.state === "running");
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
