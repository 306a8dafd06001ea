// `runbook unlock FILE --env NAME [--force] [--state URL]`: clears the lock on a
// runbook in an env when the run holding it is gone (its process died). A live
// holder is refused (exit 4, naming it); a holder on another machine cannot be
// checked from here, so clearing it needs --force.

import { Exit, UsageError, type CliIO } from "../io.js";
import { runbookNameFromFile, withJournal } from "./history.js";

export interface UnlockOptions {
  env: string;
  state?: string;
  force?: boolean;
}

export async function unlockCommand(file: string, opts: UnlockOptions, io: CliIO): Promise<number> {
  return withJournal(opts.state, io, async (journal) => {
    if (opts.env === undefined || opts.env.trim() === "") throw new UsageError("unlock needs --env NAME: locks are per runbook and env");
    const runbook = runbookNameFromFile(file, io.cwd);
    const result = await journal.unlock(runbook, opts.env, { force: opts.force ?? false });
    if (!result.holder) {
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
