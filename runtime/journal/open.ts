// Opens the journal at a location: a path is the SQLite store, mysql:// the
// MySQL store. The only module that loads a store, lazily, so importing the
// journal loads no database library.

import path from "node:path";
import { currentIdentity } from "./identity.js";
import { defaultStateDir, ensureParentDir, expandHome, isMysqlLocation, secureJournalFiles, stripSqlitePrefix } from "./location.js";
import type { Journal, OpenJournalOptions } from "./types.js";

/** A path → SQLite (a `sqlite:` prefix is accepted); mysql://user[:pass]@host[:port]/db → MySQL. */
export async function openJournal(location: string, options: OpenJournalOptions = {}): Promise<Journal> {
  const identity = currentIdentity(options.identity);
  if (isMysqlLocation(location)) {
    const { openMysqlJournal } = await import("./stores/mysql.js");
    return openMysqlJournal(location, identity);
  }
  const env = options.env ?? process.env;
  const file = path.resolve(expandHome(stripSqlitePrefix(location), env));
  ensureParentDir(file);
  secureJournalFiles(file, path.dirname(file) === defaultStateDir(env), options.onWarning ?? (() => {}));
  const { openSqliteJournal } = await import("./stores/sqlite.js");
  return openSqliteJournal(file, identity);
}
