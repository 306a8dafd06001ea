// Where the journal is: --state, $RUNBOOK_STATE or the default file, and the
// modes of a SQLite journal's files (0600) and of runbook's own folder (0700).

import { chmodSync, closeSync, openSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { maskUrlPasswords } from "../../language/url-password.js";
import { makeDirsSync } from "../make-dirs.js";


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

export function stripSqlitePrefix(location: string): string {
  return location.replace(/^sqlite:(\/\/)?/i, "");
}

export function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === "~" || p.startsWith("~/")) return path.join(env.HOME && env.HOME !== "" ? env.HOME : os.homedir(), p.slice(1));
  return p;
}

/** Creates the folders of a journal file that are missing, 0700. */
export function ensureParentDir(file: string): void {
  makeDirsSync(path.dirname(path.resolve(file)), 0o700);
}

/** The files SQLite keeps a journal in (the WAL and its index take the database file's mode when made). */
const SQLITE_SUFFIXES = ["", "-wal", "-shm", "-journal"];

/**
 * A SQLite journal's files are 0600: the database file is made so before SQLite
 * opens it, and a file (or, when `ownDir`, the folder) found open to group or
 * others is tightened, with a warning. A folder the user named is left as it is.
 */
export function secureJournalFiles(file: string, ownDir: boolean, warn: (message: string) => void): void {
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
