// The manifest of a lossless `format csv` backup (docs/data-formats.md): what
// was exported (engine, database, run id, time) and, per table, its file, its
// columns with their declared types and encodings, its row count and the
// sha256 of its file. `import` checks every file against it before it touches
// the database. This module holds the manifest's shape, reading it back
// (refusing what is not one), and the wording of a damaged backup.

import { readFile } from "node:fs/promises";
import { DriverError } from "./drivers/driver.js";
import { dialectOf, type Engine } from "../language/sql/index.js";

export const MANIFEST_FORMAT = "runbook-csv";
export const MANIFEST_VERSION = 1;
/** The manifest of a folder backup, inside it. */
export const MANIFEST_NAME = "manifest.json";
/** The manifest of a one-table CSV file, beside it: `person.csv.manifest.json`. */
export const SIDECAR_SUFFIX = ".manifest.json";

/**
 * How a column's values are written:
 * - text: as they are;
 * - base64: a blob's bytes in base64 (MySQL, where a blob column holds bytes only);
 * - tagged: a blob column of SQLite, which holds text as well as bytes (web2py keeps
 *   its blobs there as base64 text): bytes as `b:` and their base64, text as `t:`
 *   and the text, so each comes back as what it was.
 */
export type ColumnEncoding = "text" | "base64" | "tagged";

export interface ManifestColumn {
  name: string;
  /** The declared type, as the engine gives it. */
  type: string;
  encoding: ColumnEncoding;
}

export interface ManifestTable {
  name: string;
  /** The file's name, in the manifest's folder. */
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
  columns: ManifestColumn[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  engine: Engine;
  database: string;
  runId?: string;
  /** ISO 8601, when the export's snapshot was read. */
  time: string;
  /** Parents first (foreign-key order), as import loads them. */
  tables: ManifestTable[];
}

const BLOB_TYPE = /^\s*(?:tinyblob|blob|mediumblob|longblob|binary|varbinary|bytea)\b/i;

/** Blobs are written in base64 (tagged on SQLite), the manifest says so; everything else as text. */
export function encodingFor(type: string, engine: Manifest["engine"]): ColumnEncoding {
  if (!BLOB_TYPE.test(type)) return "text";
  return dialectOf(engine).blobEncoding;
}

/** A blob column's value as its encoding writes it. */
export function encodeBlob(v: Buffer | string, encoding: Exclude<ColumnEncoding, "text">): string {
  if (encoding === "base64") return (Buffer.isBuffer(v) ? v : Buffer.from(v, "utf8")).toString("base64");
  return Buffer.isBuffer(v) ? `b:${v.toString("base64")}` : `t:${v}`;
}

/** The value a blob field stands for; undefined when it is not of its encoding. */
export function decodeBlob(field: string, encoding: Exclude<ColumnEncoding, "text">): Buffer | string | undefined {
  if (encoding === "base64") return Buffer.from(field, "base64");
  if (field.startsWith("b:")) return Buffer.from(field.slice(2), "base64");
  if (field.startsWith("t:")) return field.slice(2);
  return undefined;
}

/** A table name as a file name of its own: letters, digits, `_ . -` kept, the rest `_`, made unique. */
export function tableFileName(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_") || "table";
  let file = `${base}.csv`;
  for (let i = 2; taken.has(file.toLowerCase()); i++) file = `${base}-${i}.csv`;
  taken.add(file.toLowerCase());
  return file;
}

/** The words of a damaged or unreadable backup: one home for them. */
export const backupWords = {
  damaged: (path: string, problems: string[]) => `${path}: the backup is damaged, nothing was imported: ${problems.join("; ")}`,
  notManifest: (path: string, why: string) => `${path} is not a runbook csv manifest: ${why}`,
  sidecarTables: (n: number) => `it describes ${n} tables, and a manifest beside one file describes that file's table only`,
  missingFile: (file: string) => `${file} is missing`,
  hashDiffers: (file: string) => `${file} is not the file that was exported (its sha256 differs from the manifest's)`,
  rowsDiffer: (file: string, rows: number, expected: number) => `${file} holds ${rows} row${rows === 1 ? "" : "s"} where the manifest says ${expected}`,
  headerDiffers: (file: string, expected: string) => `${file} does not start with the header ${expected}`,
  badBlob: (file: string, line: number, column: string) => `${file}, line ${line}: the value of ${column} is not in its encoding`,
  cutShort: (file: string) => `${file} ends inside a record (it is cut short)`,
  badRecord: (file: string, line: number, fields: number, expected: number) => `${file}, line ${line}: ${fields} fields where the header has ${expected}`,
  unreadable: (file: string, why: string) => `${file} cannot be read: ${why}`,
  noManifestCutShort: (path: string) =>
    `${path} does not end with a line end: it is cut short, or not from a complete export (a one-table CSV without its manifest is imported only when it ends with a whole record)`,
};

function fail(path: string, why: string): never {
  throw new DriverError(backupWords.notManifest(path, why), "format");
}

/** Reads and checks the shape of a manifest (not yet its files: checkBackup in data.ts). */
export async function readManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new DriverError(`cannot read ${path}: ${(e as Error).message}`, "not-found");
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    fail(path, `not valid JSON (${(e as Error).message})`);
  }
  const o = m as Partial<Manifest> | null;
  if (typeof o !== "object" || o === null) fail(path, "not a JSON object");
  if (o.format !== MANIFEST_FORMAT) fail(path, `its format is ${JSON.stringify(o.format)}, not ${JSON.stringify(MANIFEST_FORMAT)}`);
  if (o.version !== MANIFEST_VERSION) fail(path, `version ${JSON.stringify(o.version)} (this runbook reads version ${MANIFEST_VERSION})`);
  if (!Array.isArray(o.tables)) fail(path, "it lists no tables");
  for (const [i, t] of o.tables.entries()) {
    const ok =
      typeof t?.name === "string" &&
      typeof t.file === "string" &&
      /^[^/\\]+$/.test(t.file) &&
      t.file !== "." &&
      t.file !== ".." &&
      Number.isSafeInteger(t.rows) &&
      t.rows >= 0 &&
      typeof t.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(t.sha256) &&
      Array.isArray(t.columns) &&
      t.columns.every((c) => typeof c?.name === "string" && typeof c.type === "string" && (c.encoding === "text" || c.encoding === "base64" || c.encoding === "tagged"));
    if (!ok) fail(path, `table ${i + 1} is not described as a table (name, file in the same folder, rows, sha256, columns)`);
  }
  return o as Manifest;
}
