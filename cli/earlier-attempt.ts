// Before `resume` runs anything: commands of the run's earlier attempt that the
// journal saw start and never saw end (runbook was killed with kill -9, or lost
// the host) may still be running. Each is looked for and what was found is said;
// for those still running (or that cannot be checked) the operator chooses:
// follow them (the executor shows their output from their status files until they
// end: runtime/supervisor.ts), wait for them to end, end them, or go on without
// starting their steps again (--still-running follow|wait|end|go-on, else asked at a terminal; with neither, the
// resume stops, exit 3). A step never starts next to its earlier attempt.

import { Connections } from "../runtime/connections.js";
import {
  STILL_RUNNING_CHOICES,
  cannotEndText,
  commandStateText,
  stillRunningChoiceText,
  stillRunningQuestion,
  stillRunningSkipReason,
  stillRunningUnanswerable,
  unknownCannotWaitText,
  waitInterruptedText,
  type StillRunningChoice,
} from "../runtime/journal-errors.js";
import { assertNever } from "../language/assert.js";
import { askLine } from "../runtime/interaction/prompt.js";
import { currentIdentity, type Journal } from "../runtime/journal/index.js";
import type { Plan } from "../runtime/plan.js";
import { checkCommands, endCommand, waitForCommands, type CommandCheck } from "../runtime/running-commands.js";
import { SecretStore } from "../runtime/secrets.js";
import { Exit, type CliIO } from "./io.js";

export interface EarlierAttemptOptions {
  io: CliIO;
  journal: Journal;
  plan: Plan;
  runId: string;
  /** --still-running */
  choice?: StillRunningChoice;
  acceptNewHostKeys: boolean;
}

/** Steps to journal as skipped (their earlier attempt still runs), or an exit code to stop with. */
export type EarlierAttemptResult = { stillRunning: Map<string, string> } | { exit: number; error: string };

export async function settleEarlierAttempt(o: EarlierAttemptOptions): Promise<EarlierAttemptResult> {
  const { io, journal, plan, runId } = o;
  const records = await journal.getCommands(runId);
  if (records.length === 0) return { stillRunning: new Map() };
  const secrets = new SecretStore(plan.secrets, { env: io.env, cwd: io.cwd });
  const connections = new Connections(plan, { secrets, env: io.env, cwd: io.cwd, acceptNewHostKeys: o.acceptNewHostKeys });
  const hosts = (name: string) => connections.hosts(name);
  const self = currentIdentity();
  try {
    const checks = await checkCommands(records, self, plan, hosts);
    for (const c of checks) {
      io.stderr.write(`runbook: ${commandStateText(c.record, c.state, c.why)}\n`);
      if (c.state === "gone") await journal.forgetCommand(runId, c.record.stepId, c.record);
    }
    const live = checks.filter((c) => c.state !== "gone");
    if (live.length === 0) return { stillRunning: new Map() };

    const choice = o.choice ?? (await ask(io, live.length));
    if (choice === undefined) return { exit: Exit.aborted, error: stillRunningUnanswerable() };
    io.stderr.write(`runbook: ${stillRunningChoiceText(choice)}\n`);
    const unknown = live.filter((c) => c.state === "unknown");
    switch (choice) {
      case "follow":
      case "wait": {
        if (unknown.length > 0) return { exit: Exit.failed, error: unknownCannotWaitText(choice) };
        const controller = new AbortController();
        const onSignal = () => controller.abort();
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        // Followed by the executor, from the command's status file (supervisor.ts); one run
        // `as USER` has none (its files would not be ours): waited for here.
        const waitHere = choice === "wait" ? live : live.filter((c) => c.record.asUser !== null);
        try {
          const ended = await waitForCommands(waitHere, self, plan, hosts, controller.signal);
          if (!ended) return { exit: Exit.aborted, error: waitInterruptedText() };
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
        // A followed one stays in the journal until it is seen gone (unlock still refuses while it runs).
        await forget(journal, runId, waitHere);
        return { stillRunning: new Map() };
      }
      case "end": {
        if (unknown.length > 0) return { exit: Exit.failed, error: unknownCannotWaitText(choice) };
        for (const c of live) {
          try {
            await endCommand(c, plan, hosts);
          } catch (e) {
            return { exit: Exit.failed, error: cannotEndText(c.record, e instanceof Error ? e.message : String(e)) };
          }
          io.stderr.write(`runbook: ${commandStateText(c.record, "gone")}\n`);
        }
        await forget(journal, runId, live);
        return { stillRunning: new Map() };
      }
      case "go-on":
        return { stillRunning: new Map(live.map((c) => [c.record.stepId, stillRunningSkipReason(c.record)])) };
      default:
        return assertNever(choice);
    }
  } finally {
    await connections.closeAll().catch(() => undefined);
  }
}

async function forget(journal: Journal, runId: string, checks: CommandCheck[]): Promise<void> {
  for (const c of checks) await journal.forgetCommand(runId, c.record.stepId, c.record);
}

/** At a terminal: wait, end or go on; undefined when nobody can answer. */
async function ask(io: CliIO, count: number): Promise<StillRunningChoice | undefined> {
  if (!io.stdin.isTTY) return undefined;
  for (;;) {
    const a = await askLine({ input: io.stdin, output: io.stderr }, `${stillRunningQuestion(count)} `);
    if (a === undefined) return undefined;
    const hit = STILL_RUNNING_CHOICES.find((c) => c === a.toLowerCase() || c[0] === a.toLowerCase());
    if (hit) return hit;
  }
}
