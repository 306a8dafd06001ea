// `runbook unlock FILE --env NAME [--force] [--state URL]`: clears the lock on a
// runbook in an env when the run holding it is gone (its process died). A live
// holder is refused (exit 4, naming it); a holder on another machine cannot be
// checked from here, so clearing it needs --force. With no lock to clear, an env
// the runbook does not have is a usage error (exit 2): `--env prdo` must not look
// like success. A gone holder whose step's command still runs (its process group
// outlived a kill -9) is refused too: a new run must not start next to it;
// `resume` can wait for it or end it.

import { unlockStillRunningText } from "../../runtime/journal-errors.js";
import type { Journal } from "../../runtime/journal/index.js";
import { Exit, UsageError, type CliIO } from "../io.js";
import { readSource } from "../source.js";
import { runbookNameFromFile } from "./history.js";
import { withJournalReported } from "../journal-access.js";

export interface UnlockOptions {
  env: string;
  state?: string;
  force?: boolean;
}

/**
 * Why `env` is not an env of the runbook in `file`, or undefined when it is or when
 * the file does not compile (a broken runbook can still be unlocked).
 */
async function unknownEnv(file: string, env: string, io: CliIO): Promise<string | undefined> {
  const source = readSource(file, io);
  if (!source.ok) return undefined;
  const { compile } = await import("../../language/compile.js");
  const { selectEnv } = await import("../../language/scope.js");
  const { runbook } = compile(source.path, source.text);
  if (!runbook) return undefined;
  const selected = selectEnv(runbook, env);
  return "error" in selected ? selected.error : undefined;
}

export async function unlockCommand(file: string, opts: UnlockOptions, io: CliIO): Promise<number> {
  return withJournalReported(io, opts.state, async (journal) => {
    if (opts.env === undefined || opts.env.trim() === "") throw new UsageError("unlock needs --env NAME: locks are per runbook and env");
    const runbook = runbookNameFromFile(file, io.cwd);
    if (!opts.force) {
      const running = await stillRunning(journal, runbook, opts.env, io);
      if (running !== undefined) {
        io.stderr.write(`runbook: not clearing the lock on ${runbook} in env ${opts.env}: ${running}\n`);
        return Exit.locked;
      }
    }
    const result = await journal.unlock(runbook, opts.env, { force: opts.force ?? false });
    if (!result.holder) {
      // Nothing to clear; but an env the runbook does not have is a typo to point out (exit 2), not a success.
      const unknown = await unknownEnv(file, opts.env, io);
      if (unknown) throw new UsageError(`${unknown}; there is no lock on ${runbook} in env ${opts.env} either`);
      io.stdout.write(`No lock on ${runbook} in env ${opts.env}: nothing to clear.\n`);
      return Exit.ok;
    }
    if (!result.cleared) {
      io.stderr.write(`runbook: not clearing the lock on ${runbook} in env ${opts.env}: ${result.reason}\n`);
      return Exit.locked;
    }
    io.stdout.write(`Cleared the lock on ${runbook} in env ${opts.env}: ${result.reason}.\n`);
    return Exit.ok;
  });
}

/** Why a gone holder's run must keep its lock: a command of it that still runs (or cannot be checked). */
async function stillRunning(journal: Journal, runbook: string, env: string, io: CliIO): Promise<string | undefined> {
  const holder = await journal.getLock(runbook, env);
  if (!holder?.stale) return undefined;
  const records = await journal.getCommands(holder.runId);
  if (records.length === 0) return undefined;
  const run = await journal.getRun(holder.runId);
  if (!run) return undefined;
  const { currentIdentity } = await import("../../runtime/journal/index.js");
  const { checkCommands } = await import("../../runtime/running-commands.js");
  const { Connections } = await import("../../runtime/connections.js");
  const { SecretStore } = await import("../../runtime/secrets.js");
  const connections = new Connections(run.plan, { secrets: new SecretStore(run.plan.secrets, { env: io.env, cwd: io.cwd }), env: io.env, cwd: io.cwd });
  try {
    const checks = await checkCommands(records, currentIdentity(), run.plan, (name) => connections.hosts(name));
    const live = checks.filter((c) => c.state !== "gone");
    return live.length === 0 ? undefined : unlockStillRunningText(live, holder.runId);
  } finally {
    await connections.closeAll().catch(() => undefined);
  }
}
