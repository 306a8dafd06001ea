// Where a command finds the journal (--state, $RUNBOOK_STATE, the default file),
// and the one way every command opens it, says why it could not, and closes it.

import { maskUrlPasswords } from "../language/url-password.js";
import { AmbiguousRunIdError, describeLocation, JournalLocationError, openJournal, resolveStateLocation, type Journal } from "../runtime/journal/index.js";
import { JournalInUseError, JournalOpenError } from "../runtime/journal-errors.js";
import { Exit, UsageError, type CliIO } from "./io.js";

/**
 * The journal a command names: `--state`, else $RUNBOOK_STATE, else the default
 * file; paths made absolute against the working directory. A URL of a kind the
 * journal cannot use (`postgres://…`, a typo such as `mysq://…`) is a UsageError,
 * not a local file of that name.
 */
export function stateLocation(state: string | undefined, io: Pick<CliIO, "env" | "cwd">): string {
  const given = [state, io.env.RUNBOOK_STATE].map((s) => s?.trim()).find((s) => s !== undefined && s !== "");
  const scheme = given !== undefined ? /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(given)?.[1] : undefined;
  if (scheme !== undefined && !/^(mysql|mariadb|sqlite)$/i.test(scheme)) {
    const from = state?.trim() ? "--state" : "$RUNBOOK_STATE";
    throw new UsageError(`${from} ${describeLocation(given!)}: a journal is a SQLite file (a path) or mysql://user@host/database, not ${scheme}://`);
  }
  return resolveStateLocation(state, io.env, io.cwd);
}

/**
 * A journal another process holds (exit 4) or a --state that is no journal
 * location (a usage error, as for every command): said on stderr, its exit code;
 * undefined for anything else.
 */
export function journalRefusal(io: CliIO, e: unknown): number | undefined {
  if (e instanceof JournalInUseError) {
    io.stderr.write(`runbook: ${e.message}\n`);
    return Exit.locked;
  }
  if (e instanceof JournalLocationError) {
    io.stderr.write(`runbook: ${maskUrlPasswords(e.message)}\n`);
    return Exit.usage;
  }
  return undefined;
}

/**
 * Opens the journal (--state, else $RUNBOOK_STATE or the default), lets `use`
 * have it, and closes it. A journal that cannot be opened is one line on stderr:
 * a location that is none exits 2, one another process holds 4, the rest 1.
 */
export async function withJournal(io: CliIO, state: string | undefined, use: (journal: Journal) => Promise<number>): Promise<number> {
  let location: string;
  try {
    location = stateLocation(state, io);
  } catch (e) {
    io.stderr.write(`runbook: ${maskUrlPasswords((e as Error).message)}\n`);
    return e instanceof UsageError ? Exit.usage : Exit.failed;
  }
  let journal: Journal;
  try {
    journal = await openJournal(location, { env: io.env, onWarning: (m) => io.stderr.write(`runbook: warning: ${m}\n`) });
  } catch (e) {
    const refused = journalRefusal(io, e);
    if (refused !== undefined) return refused;
    const message = maskUrlPasswords((e as Error).message);
    // A store's own refusal names the journal already (its password masked).
    io.stderr.write(`runbook: ${e instanceof JournalOpenError ? message : `cannot open the journal at ${describeLocation(location)}: ${message}`}\n`);
    return Exit.failed;
  }
  try {
    return await use(journal);
  } finally {
    await journal.close().catch(() => {});
  }
}

/**
 * withJournal for the commands that read or change it (history, show, approve,
 * unlock): an error of `fn`'s is one line on stderr, a usage error exiting 2, the
 * rest 1.
 */
export function withJournalReported(io: CliIO, state: string | undefined, fn: (journal: Journal) => Promise<number>): Promise<number> {
  return withJournal(io, state, async (journal) => {
    try {
      return await fn(journal);
    } catch (err) {
      const usage = err instanceof UsageError || err instanceof JournalLocationError || err instanceof AmbiguousRunIdError;
      io.stderr.write(`runbook: ${maskUrlPasswords(err instanceof Error ? err.message : String(err))}\n`);
      return usage ? Exit.usage : Exit.failed;
    }
  });
}
