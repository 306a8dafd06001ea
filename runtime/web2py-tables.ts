// The field types web2py declared for an SQLite database's tables, read from the
// `.table` files pydal keeps beside the database file. On SQLite pydal creates a
// `decimal(p,s)` field as DOUBLE; the scale (what web2py's export writes: `12.30`)
// is only in `<uri hash>_<table>.table`, the pickle of {field: {'type':
// 'decimal(10,2)', 'sql': 'DOUBLE', 'raw_rname': …}} its migrator writes. pydal's
// uri hash is the md5 of the connection string as the app wrote it, which the
// database file does not tell: the file is found by its name, 32 hex digits,
// `_`, the table's name, `.table`.

import type { DatabaseDriver, FilesBeside } from "./drivers/driver.js";
import { readPickle, type PyDict } from "./py-pickle.js";

export const TABLE_FILE_SUFFIX = ".table";
const TABLE_FILE = /^[0-9a-f]{32}_(.+)\.table$/;

/** What is known of a table's web2py types. */
export type Web2pyTypes =
  /** No `.table` file beside the database: not a web2py database, nothing to know. */
  | { kind: "none" }
  /** The table's file: column name → web2py's type ("decimal(10,2)", "boolean", …). */
  | { kind: "found"; file: string; types: Map<string, string> }
  /** A web2py folder, but this table's types cannot be known (why: web2pyTableWords). */
  | { kind: "unknown"; why: string };

export const web2pyTableWords = {
  none: (table: string, folder: string) => `${folder} holds web2py .table files but none for table ${table}`,
  several: (table: string, files: string[]) => `several web2py .table files for table ${table} (${files.join(", ")}), and nothing tells which one is its`,
  unreadable: (file: string, why: string) => `${file} cannot be read: ${why}`,
  notFields: (file: string) => `${file} is not web2py's dict of fields`,
  listFailed: (folder: string, why: string) => `the files in ${folder} cannot be listed: ${why}`,
  /** The warning an export gives when a decimal's scale cannot be known. */
  scaleUnknown: (label: string, table: string, why: string) =>
    `${label}: the declared scale of table ${table}'s decimal fields could not be known (${why}); its floating-point columns are written as stored, not with web2py's decimal places`,
};

/** The `.table` files of a folder that are the named table's. */
export function tableFilesOf(names: readonly string[], table: string): string[] {
  return names.filter((n) => TABLE_FILE.exec(n)?.[1] === table).sort();
}

/** The field types in a `.table` file's bytes, by column name; undefined when it is not pydal's dict of fields. */
export function fieldTypes(bytes: Buffer): Map<string, string> | undefined {
  const fields = readPickle(bytes);
  if (!(fields instanceof Map)) return undefined;
  const types = new Map<string, string>();
  for (const [name, field] of fields) {
    if (!(field instanceof Map)) return undefined;
    const type = (field as PyDict).get("type");
    if (typeof type !== "string") return undefined;
    // raw_rname: the column's name in the database (older pydal wrote none: the field's name is the column's).
    const column = (field as PyDict).get("raw_rname");
    types.set(typeof column === "string" ? column : name, type);
  }
  return types;
}

/** The web2py types of `table` in `db` (SQLite only: other drivers have no files beside them). */
export async function web2pyTypes(db: DatabaseDriver, table: string): Promise<Web2pyTypes> {
  if (!db.filesBeside) return { kind: "none" };
  let beside: FilesBeside;
  try {
    beside = await db.filesBeside(TABLE_FILE_SUFFIX);
  } catch (e) {
    return { kind: "unknown", why: web2pyTableWords.listFailed("the database's folder", errorText(e)) };
  }
  if (!beside.names.some((n) => TABLE_FILE.test(n))) return { kind: "none" };
  const files = tableFilesOf(beside.names, table);
  if (files.length === 0) return { kind: "unknown", why: web2pyTableWords.none(table, beside.folder) };
  if (files.length > 1) return { kind: "unknown", why: web2pyTableWords.several(table, files) };
  const file = files[0]!;
  let types: Map<string, string> | undefined;
  try {
    types = fieldTypes(await beside.read(file));
  } catch (e) {
    return { kind: "unknown", why: web2pyTableWords.unreadable(file, errorText(e)) };
  }
  if (types === undefined) return { kind: "unknown", why: web2pyTableWords.notFields(file) };
  return { kind: "found", file, types };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
