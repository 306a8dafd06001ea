// `runbook unlock FILE --env NAME [--force] [--state URL]`: clears the lock on a
// runbook in an env when the run holding it is gone (its process died). A live
// holder is refused (exit 4, naming it); a holder on another machine cannot be
// checked from here, so clearing it needs --force. With no lock to clear, an env
// the runbook does not have is a usage error (exit 2): `--env prdo` must not look
// like success.

import { Exit, UsageError, type CliIO } from "../io.js";
import { readSource } from "../source.js";
import { runbookNameFromFile, withJournal } from "./history.js";

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
  return withJournal(opts.state, io, async (journal) => {
    if (opts.env === undefined || opts.env.trim() === "") throw new UsageError("unlock needs --env NAME: locks are per runbook and env");
    const runbook = runbookNameFromFile(file, io.cwd);
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
