// The data commands: `export`, `import` and `sync`, plus the dry-run summary
// of `sql` statements. Talks only to DatabaseDriver (no database library here),
// so every pair of engines works the same way: local SQLite, SQLite on a host,
// MySQL directly or through a tunnel.
//
// File formats (docs/data-formats.md has the full description):
// - web2py: the single file of web2py's `db.export_to_csv_file`, byte for byte
//   where it matters: per table `TABLE name` CRLF, a CSV header of `name.field`
//   columns, the rows (CSV as Python's csv module writes it: quotes only where
//   needed, `"` doubled, CRLF), then CRLF CRLF; after the last table `END` with
//   no line end. NULL is `<NULL>`, blobs as web2py's base64 text, floats as
//   Python's repr.
//   web2py's `db.import_from_csv_file` reads it back, and so does importFile.
// - csv, one table: a plain RFC 4180 file: a header row, then one row per
//   record, CRLF line ends. The header names are `table.column`, so the file
//   says which table it holds and `import` needs no more than the path. NULL is
//   an empty unquoted field; an empty string is written `""`.
// - csv, several tables: a multi-table file cannot be one plain CSV, so it is
//   exactly the web2py layout (TABLE/END sections, `<NULL>`), the one existing
//   convention for it.
// importFile tells the layouts apart by the first line: `TABLE …` (or `END`)
// starts the web2py layout; anything else is a one-table CSV.

import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { createHash, randomBytes } from "node:crypto";
import type { ColumnInfo, DatabaseDriver, RawColumn, RawRows, RowSink, SqlValue } from "./drivers/driver.js";
import { DriverError, RawRowsLost } from "./drivers/driver.js";
import { dialectOf, type Engine } from "../language/sql/index.js";
import { commitsImplicitly, lexSql, splitStatements } from "../language/sql/lexer.js";
import { quoteIdent, sqlLiteral, sqlQuote } from "../language/sql/quote.js";
import { assertNever } from "../language/assert.js";
import {
  backupWords,
  decodeBlob,
  encodeBlob,
  encodingFor,
  readManifest,
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  SIDECAR_SUFFIX,
  tableFileName,
  type Manifest,
  type ManifestColumn,
  type ManifestTable,
} from "./data-manifest.js";
import { ProgressMeter, type ProgressListener } from "./data-progress.js";
import { web2pyTableWords, web2pyTypes } from "./web2py-tables.js";
import { csvBytesPlan, csvBytesSwitch, CsvBytesWriter, NotPlainBytes, sameColumns, SHORTEST_PROBE, writesShortest } from "./data-csv-bytes.js";
import { DigestBytes, digestBytesPlan, verifyBytesSwitch } from "./data-verify-bytes.js";
import { CsvToLoad, importBytesSwitch } from "./data-import-bytes.js";
import { charsetRefused, rowRefused, decimalScale, pyFixed, TableDigest, verifyColumns, verifyFailed, type RowDifference } from "./data-verify.js";
import { makeDirs } from "./make-dirs.js";

export { decimalScale, pyFixed };

export type DataFormat = "csv" | "web2py";

export interface TableCount {
  name: string;
  rows: number;
}

export interface DataResult {
  tables: TableCount[];
}

export interface SyncResult extends DataResult {
  /** Tables present on one side only, left alone when no tables were named. */
  skipped: string[];
}

/** Rows read from a table per query while exporting or syncing. */
const PAGE_ROWS = 2000;
/** Rows per INSERT statement, and an upper bound on one statement's size. */
const INSERT_ROWS = 500;
const INSERT_BYTES = 64 * 1024;
const WEB2PY_NULL = "<NULL>";

// ---------------------------------------------------------------------------
// Export

export interface ExportOptions {
  /** The run's id, recorded in a csv backup's manifest. */
  runId?: string;
  onProgress?: ProgressListener;
  /** Told what the operator should know but does not stop the export (a decimal scale that could not be known). */
  onWarning?: (message: string) => void;
}

/** An export writes every row its snapshot counts, or nothing. */
function checkExported(db: DatabaseDriver, table: string, rows: number, total: number): void {
  if (rows !== total) {
    throw new DriverError(`${db.label}: table ${table} has ${total} rows but ${rows} were read; nothing was written`, "verify");
  }
}

/** Rows in a table (for progress: the snapshot's count). */
async function countRows(db: DatabaseDriver, table: string): Promise<number> {
  const [row] = await db.query(`SELECT count(*) AS n FROM ${quoteIdent(table, db.engine)}`);
  return Number(row?.n ?? 0);
}

/**
 * Writes the tables (all of them when `tables` is undefined) to `path`, read in
 * one transaction so the backup is one consistent snapshot, parents first. It
 * appears whole or not at all: written beside `path` and renamed.
 * - web2py: the one file of web2py's export_to_csv_file.
 * - csv: one table, a plain CSV file at `path` and its manifest beside it
 *   (`path.manifest.json`); several, a folder at `path` with one CSV file per
 *   table and `manifest.json` (data-manifest.ts). Lossless either way.
 */
export async function exportTables(
  db: DatabaseDriver,
  tables: string[] | undefined,
  path: string,
  format: DataFormat,
  options: ExportOptions = {},
): Promise<DataResult> {
  return db.transaction(async () => {
    const names = await parentsFirst(db, await resolveTables(db, tables));
    for (const name of names) {
      if (/[\r\n]/.test(name)) throw new DriverError(`${db.label}: cannot export table ${JSON.stringify(name)}: its name has a line break`);
    }
    const meter = new ProgressMeter("export", options.onProgress, names.length);
    switch (format) {
      case "web2py":
        return exportWeb2py(db, names, path, meter, options);
      case "csv":
        // One table named: a file; all of them (whatever their number) or several: a folder.
        return exportCsv(db, names, tables !== undefined && tables.length === 1, path, options, meter);
      default:
        return assertNever(format, "format");
    }
  });
}

async function exportWeb2py(db: DatabaseDriver, names: string[], path: string, meter: ProgressMeter, options: ExportOptions): Promise<DataResult> {
  const out = await AtomicFile.create(path);
  try {
    const counts: TableCount[] = [];
    for (const name of names) {
      const columns = await web2pyColumns(db, name, await db.columns(name), options.onWarning);
      const asText = columns.map((c) => (c.boolean ? web2pyBooleanText : (v: SqlValue) => cellText(v, c)));
      const total = await countRows(db, name);
      meter.startTable(name, total);
      await out.write(`TABLE ${name}\r\n`);
      await out.write(csvRow(headerNames(name, columns)));
      let rows = 0;
      for await (const page of readRows(db, name, columns)) {
        let text = "";
        for (const row of page) {
          text += csvRow(
            columns.map((c, i) => {
              const v = row[i];
              return v === null || v === undefined ? WEB2PY_NULL : asText[i]!(v);
            }),
          );
        }
        await out.write(text);
        rows += page.length;
        meter.add(page.length);
      }
      checkExported(db, name, rows, total);
      meter.endTable();
      await out.write("\r\n\r\n");
      counts.push({ name, rows });
    }
    await out.write("END");
    await out.commit();
    return { tables: counts };
  } catch (e) {
    await out.abort();
    throw e;
  }
}

/** A column as web2py's export writes it. */
interface Web2pyColumn extends ColumnInfo {
  /** A web2py `boolean` field (its `.table` file says so): written True / False. */
  boolean: boolean;
}

/**
 * The columns with the types web2py declared where its `.table` files say more
 * than the database: on SQLite a `decimal(p,s)` field is a DOUBLE column, and
 * web2py writes its values with `s` digits (cellText); a `boolean` field is
 * CHAR(1) 'T' / 'F', written True / False. A table whose types cannot be known
 * is written as stored, with a warning when it has a floating-point column
 * (where such a decimal would be).
 */
async function web2pyColumns(db: DatabaseDriver, table: string, columns: ColumnInfo[], onWarning?: (message: string) => void): Promise<Web2pyColumn[]> {
  const known = await web2pyTypes(db, table);
  switch (known.kind) {
    case "none":
      return columns.map((c) => ({ ...c, boolean: false }));
    case "found":
      return columns.map((c) => {
        const type = known.types.get(c.name);
        if (type === "boolean") return { ...c, boolean: true };
        return type !== undefined && decimalScale(type) !== undefined ? { ...c, type, boolean: false } : { ...c, boolean: false };
      });
    case "unknown":
      if (columns.some((c) => REAL_TYPE.test(c.type))) onWarning?.(web2pyTableWords.scaleUnknown(db.label, table, known.why));
      return columns.map((c) => ({ ...c, boolean: false }));
    default:
      return assertNever(known, "web2py types");
  }
}

async function exportCsv(db: DatabaseDriver, names: string[], oneFile: boolean, path: string, options: ExportOptions, meter: ProgressMeter): Promise<DataResult> {
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    engine: db.engine,
    database: db.label,
    ...(options.runId !== undefined ? { runId: options.runId } : {}),
    time: new Date().toISOString(),
    tables: [],
  };
  const json = () => JSON.stringify(manifest, null, 2) + "\n";
  if (oneFile) {
    // One table: the plain file, then its manifest beside it (a new file with an old
    // manifest is refused by import, never taken for what it is not).
    const out = await AtomicFile.create(path);
    try {
      manifest.tables.push(await writeCsvTable(db, names[0]!, out, basename(path), meter));
    } catch (e) {
      await out.abort();
      throw e;
    }
    const side = await AtomicFile.create(path + SIDECAR_SUFFIX);
    await side.write(json());
    await side.commit();
  } else {
    const folder = await AtomicFolder.create(path);
    try {
      const taken = new Set<string>([MANIFEST_NAME]);
      for (const name of names) {
        const file = tableFileName(name, taken);
        const out = await AtomicFile.create(join(folder.temp, file));
        try {
          manifest.tables.push(await writeCsvTable(db, name, out, file, meter));
        } catch (e) {
          await out.abort();
          throw e;
        }
      }
      const m = await AtomicFile.create(join(folder.temp, MANIFEST_NAME));
      await m.write(json());
      await m.commit();
      await folder.commit();
    } catch (e) {
      await folder.abort();
      throw e;
    }
  }
  return { tables: manifest.tables.map((t) => ({ name: t.name, rows: t.rows })) };
}

/** One table as a lossless RFC 4180 file: NULL an empty unquoted field, '' written `""`, blobs in base64, numbers exact. */
async function writeCsvTable(db: DatabaseDriver, name: string, out: AtomicFile, file: string, meter: ProgressMeter): Promise<ManifestTable> {
  const info = await db.columns(name);
  const total = await countRows(db, name);
  meter.startTable(name, total);
  const columns: ManifestColumn[] = info.map((c) => ({ name: c.name, type: c.type, encoding: encodingFor(c.type, db.engine) }));
  const header = csvRow(headerNames(name, columns), true);
  await out.write(header);
  let rows = await writeCsvBytes(db, { name, total, header }, info, columns, out, meter);
  if (rows === undefined) {
    rows = 0;
    const fields = columns.map((c) => losslessField(c, db.label, name));
    const n = fields.length;
    for await (const page of readRows(db, name, info)) {
      let text = "";
      for (const row of page) {
        for (let i = 0; i < n; i++) {
          const v = row[i];
          if (i > 0) text += ",";
          if (v !== null && v !== undefined) text += fields[i]!(v);
        }
        text += "\r\n";
      }
      out.append(text);
      await out.drain();
      rows += page.length;
      meter.add(page.length);
    }
  }
  checkExported(db, name, rows, total);
  meter.endTable();
  await out.commit();
  return { name, file, rows, bytes: out.bytes, sha256: out.sha256(), columns };
}

/**
 * The speed path of writeCsvTable (data-csv-bytes.ts): the rows as the driver's
 * raw bytes, written as csv bytes. The rows written, or undefined when the table
 * must go the plain way: decided before a row is written (the driver has no raw
 * rows, a column of a kind not known there), or found half-way, when the file is
 * emptied back to its header and the meter restarted.
 */
async function writeCsvBytes(
  db: DatabaseDriver,
  table: { name: string; total: number; header: string },
  info: ColumnInfo[],
  columns: ManifestColumn[],
  out: AtomicFile,
  meter: ProgressMeter,
): Promise<number | undefined> {
  if (!csvBytesSwitch.on) return undefined;
  const real = (c: ManifestColumn) => REAL_TYPE.test(c.type);
  const planned = await rawRowsPlanned(db, selectRows(db, table.name, info), async (kinds) =>
    csvBytesPlan(kinds, columns, numberText, real, kinds.some((c) => c.kind === "float") && (await serverWritesShortest(db))),
  );
  if (planned === undefined) return undefined;
  const { raw, plan } = planned;
  const writer = new CsvBytesWriter(plan, db.label);
  let rows = 0;
  try {
    for await (const batch of raw.batches()) {
      writer.add(batch);
      if (writer.size >= 1 << 16) await out.writeBytes(writer.take());
      rows += batch.rows;
      meter.add(batch.rows);
    }
    if (writer.size > 0) await out.writeBytes(writer.take());
  } catch (e) {
    if (!(e instanceof NotPlainBytes || e instanceof RawRowsLost)) throw e;
    await out.restart();
    meter.startTable(table.name, table.total);
    await out.write(table.header);
    return undefined;
  }
  return rows;
}

/**
 * A speed path's rows as the protocol's bytes, with the plan `planFor` makes from
 * their columns' kinds; undefined when the driver has no raw rows or `planFor`
 * makes none (the table goes the plain way). The kinds are asked of an empty
 * result first, so a table that goes the plain way is not read twice.
 */
async function rawRowsPlanned<P>(db: DatabaseDriver, sql: string, planFor: (kinds: readonly RawColumn[]) => Promise<P | undefined>): Promise<{ raw: RawRows; plan: P } | undefined> {
  if (db.rawTextRows === undefined) return undefined;
  const probe = await db.rawTextRows(`${sql} LIMIT 0`, STREAM_ROWS);
  if (probe === undefined) return undefined;
  await probe.discard();
  const plan = await planFor(probe.columns);
  if (plan === undefined) return undefined;
  const raw = await db.rawTextRows(sql, STREAM_ROWS);
  if (raw === undefined) return undefined;
  if (!sameColumns(raw.columns, probe.columns)) {
    await raw.discard();
    return undefined;
  }
  return { raw, plan };
}

/** Per driver: serverWritesShortest's answer, asked once. */
const shortestByDriver = new WeakMap<DatabaseDriver, Promise<boolean>>();

/**
 * Whether the server writes a double's shortest digits (as Python's repr and
 * JavaScript do; MariaDB and MySQL 8 do), told by the texts it sends for doubles
 * whose shortest form has 16 or 17 digits (SHORTEST_PROBE): the csv export's speed
 * path then writes such a float as the server sent it (data-csv-bytes.ts floatText).
 */
function serverWritesShortest(db: DatabaseDriver): Promise<boolean> {
  let answer = shortestByDriver.get(db);
  if (answer === undefined) {
    answer = (async () => {
      const raw = await db.rawTextRows?.(SHORTEST_PROBE, 1);
      if (raw === undefined) return false;
      let yes = false;
      for await (const batch of raw.batches()) yes = batch.rows === 1 && writesShortest(batch.bytes, raw.columns.length, pyFloatRepr);
      return yes;
    })();
    shortestByDriver.set(db, answer);
  }
  return answer;
}

/**
 * The speed path of a verify's read back (data-verify-bytes.ts): the table's raw
 * bytes hashed into `digest`. false when the table must be read the plain way
 * (into a new digest: this one may hold part of it), decided before a row is read
 * (no raw rows, a column of a kind not known there) or found half-way.
 */
async function digestBytes(db: DatabaseDriver, table: string, columns: ColumnInfo[], digest: TableDigest, meter?: ProgressMeter): Promise<boolean> {
  if (!verifyBytesSwitch.on) return false;
  const planned = await rawRowsPlanned(db, selectRows(db, table, columns), async (kinds) => digestBytesPlan(kinds, digest));
  if (planned === undefined) return false;
  const { raw, plan: ways } = planned;
  const hasher = new DigestBytes(ways, digest, db.label);
  try {
    for await (const batch of raw.batches()) {
      hasher.add(batch);
      meter?.add(batch.rows);
    }
  } catch (e) {
    if (e instanceof NotPlainBytes || e instanceof RawRowsLost) return false;
    throw e;
  }
  return true;
}

/**
 * Per column of the lossless csv: a (non-NULL) value as its CSV field, quoted
 * where needed and '' written `""` (NULL, the empty unquoted field, is the
 * caller's). Made once per column, so each value costs no type test.
 */
function losslessField(c: ManifestColumn, label: string, table: string): (v: SqlValue) => string {
  const encoding = c.encoding;
  const type = { type: c.type };
  if (encoding !== "text") return (v) => csvField(encodeBlob(Buffer.isBuffer(v) ? v : cellText(v, type, true), encoding));
  const number = numberText(c);
  return (v) => {
    if (typeof v === "string") return csvField(v);
    if (typeof v === "number") return number(v);
    if (Buffer.isBuffer(v)) {
      throw new DriverError(`${label}: cannot export ${table}.${c.name} losslessly: it holds bytes in a ${c.type || "typeless"} column (only blob columns are written in base64)`, "format");
    }
    return csvField(cellText(v, type, true));
  };
}

/** A number's field in the lossless csv: an integer as it is, but in a float column; a float as Python's repr. */
function numberText(c: ManifestColumn): (v: number) => string {
  const real = REAL_TYPE.test(c.type);
  return (v) => (Number.isInteger(v) && !real ? String(v) : pyFloatRepr(v));
}

/** A field of the lossless csv: quoted when it holds `"` `,` CR or LF (`"` doubled), '' as `""`. */
function csvField(f: string): string {
  if (f === "") return '""';
  if (!NEEDS_QUOTES.test(f)) return f;
  return f.indexOf('"') === -1 ? `"${f}"` : `"${f.replaceAll('"', '""')}"`;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** Rows per batch while a table is streamed. */
const STREAM_ROWS = 1000;

/**
 * The rows of a table as arrays in the order of `columns`, streamed (one query;
 * memory stays one batch): in primary-key order when `columns` hold the key, a
 * SQLite table without one in rowid order, a MySQL table without one as it comes.
 */
async function* readRows(db: DatabaseDriver, table: string, columns: ColumnInfo[]): AsyncGenerator<SqlValue[][]> {
  yield* db.stream(selectRows(db, table, columns), STREAM_ROWS);
}

/** The statement readRows reads a table with. */
function selectRows(db: DatabaseDriver, table: string, columns: ColumnInfo[]): string {
  const q = (n: string) => quoteIdent(n, db.engine);
  const keys = columns.filter((c) => c.primaryKey).map((c) => q(c.name));
  const shadowed = columns.some((c) => ["rowid", "oid", "_rowid_"].includes(c.name.toLowerCase()));
  const rowOrder = dialectOf(db.engine).rowOrderColumn;
  if (keys.length === 0 && rowOrder !== undefined && !shadowed) keys.push(rowOrder);
  const order = keys.length > 0 ? ` ORDER BY ${keys.join(", ")}` : "";
  return `SELECT ${columns.map((c) => q(c.name)).join(", ")} FROM ${q(table)}${order}`;
}

/** Named tables as the database spells them (exact name first, then ignoring case); all when none named. */
async function resolveTables(db: DatabaseDriver, wanted: string[] | undefined): Promise<string[]> {
  const all = await db.tables();
  if (wanted === undefined) return all;
  const missing: string[] = [];
  const names = wanted.map((w) => {
    const found = findName(all, w);
    if (found === undefined) missing.push(w);
    return found ?? w;
  });
  if (missing.length > 0) throw new DriverError(`${db.label} has no table ${listNames(missing)}`, "no-table");
  return [...new Set(names)];
}

/**
 * The tables, parents first: a table comes after every table its foreign keys
 * reference (among those exported), so web2py's `import_from_csv_file(…,
 * restore=True)`, which inserts table by table with its foreign keys on, can
 * read the file. Otherwise the given order stays (the database's order, or the
 * order named). A table referencing itself is its own business; in a cycle the
 * first in the given order comes first.
 */
export async function parentsFirst(db: DatabaseDriver, names: readonly string[]): Promise<string[]> {
  const parents = new Map<string, Set<string>>();
  for (const name of names) {
    const rows = await db.query(dialectOf(db.engine).parentTablesSql, [name]);
    const set = new Set<string>();
    for (const r of rows) {
      const p = findName(names, String(r.parent));
      if (p !== undefined && p !== name) set.add(p);
    }
    parents.set(name, set);
  }
  const out: string[] = [];
  const placed = new Set<string>();
  while (out.length < names.length) {
    const ready = names.find((n) => !placed.has(n) && [...parents.get(n)!].every((p) => placed.has(p)));
    // A cycle: the first one left breaks it.
    const next = ready ?? names.find((n) => !placed.has(n))!;
    out.push(next);
    placed.add(next);
  }
  return out;
}

function findName(names: readonly string[], wanted: string): string | undefined {
  if (names.includes(wanted)) return wanted;
  const lower = wanted.toLowerCase();
  const matches = names.filter((n) => n.toLowerCase() === lower);
  return matches.length === 1 ? matches[0] : undefined;
}

function listNames(names: string[]): string {
  return names.length === 1 ? `named ${names[0]}` : `named ${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/**
 * An export's file goes to the disk in the background every this many bytes, so
 * that commit's sync (the file must be on disk before it is renamed into place)
 * waits for the last few MB only, not for the whole file at once.
 */
const WRITEBACK_BYTES = 16 << 20;

/** p, marked as handled (its failure is thrown where it is awaited later, not as an unhandled rejection meanwhile). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** A file written beside its final path and renamed into place on commit; its sha256 and size counted as written. */
class AtomicFile {
  private buffer = "";
  private hash = createHash("sha256");
  bytes = 0;
  /** The write under way: one at a time, while the caller makes the next bytes. */
  private writing: Promise<unknown> | undefined;
  /** What was written so far going to the disk, in the background (see WRITEBACK_BYTES). */
  private syncing: Promise<unknown> | undefined;
  private unsynced = 0;
  private constructor(
    private readonly handle: FileHandle,
    private readonly temp: string,
    private readonly path: string,
  ) {}

  static async create(path: string): Promise<AtomicFile> {
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
    try {
      await makeDirs(dirname(path));
      return new AtomicFile(await open(temp, "wx", 0o600), temp, path);
    } catch (e) {
      throw cannotWrite(path, e);
    }
  }

  async write(text: string): Promise<void> {
    this.buffer += text;
    await this.drain();
  }

  /** Text to write; drain() sends it on in chunks of about 64 KB. */
  append(text: string): void {
    this.buffer += text;
  }

  async drain(): Promise<void> {
    if (this.buffer.length >= 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const data = Buffer.from(this.buffer, "utf8");
    this.buffer = "";
    await this.writeBytes(data);
  }

  /**
   * Bytes to write after the text given so far. `data` becomes the file's (it is
   * written while the caller goes on: never change it afterwards). A failed write
   * is thrown by the next call, or by commit.
   */
  async writeBytes(data: Buffer): Promise<void> {
    if (this.buffer.length > 0) await this.flush();
    this.hash.update(data);
    const at = this.bytes;
    this.bytes += data.length;
    await this.writing;
    this.writing = handled(this.handle.write(data, 0, data.length, at));
    this.unsynced += data.length;
    if (this.unsynced >= WRITEBACK_BYTES && this.syncing === undefined) {
      this.unsynced = 0;
      const syncing = handled(this.handle.datasync()).finally(() => {
        if (this.syncing === syncing) this.syncing = undefined;
      });
      this.syncing = handled(syncing);
    }
  }

  /** Waits for the writes and the background sync under way (thrown when they failed). */
  private async settle(): Promise<void> {
    await this.writing;
    await this.syncing;
  }

  /** Starts the file again, empty. */
  async restart(): Promise<void> {
    await this.settle();
    this.buffer = "";
    this.hash = createHash("sha256");
    this.bytes = 0;
    await this.handle.truncate(0);
  }

  /** After commit: the sha256 of what was written, in hex. */
  sha256(): string {
    return this.hash.copy().digest("hex");
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.settle();
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temp, this.path);
  }

  async abort(): Promise<void> {
    await this.settle().catch(() => undefined);
    await this.handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}

/** A file or folder that cannot be made where the export writes: the path's fault, not the database's. */
function cannotWrite(path: string, e: unknown): DriverError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === "ENOENT" ? "a folder of its path cannot be made there" :
    err.code === "ENOTDIR" ? `${err.path ?? "a part of its path"} is not a folder` :
    err.code === "EACCES" || err.code === "EPERM" ? "permission denied" :
    err.code === "EROFS" ? "the file system is read-only" :
    err.message;
  return new DriverError(`cannot write ${path}: ${why}`, "write");
}

/** A folder written beside its final path and renamed into place on commit (a folder there before is replaced whole). */
class AtomicFolder {
  private constructor(
    readonly temp: string,
    private readonly path: string,
  ) {}

  static async create(path: string): Promise<AtomicFolder> {
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
    try {
      await makeDirs(dirname(path));
      await mkdir(temp, { mode: 0o700 });
    } catch (e) {
      throw cannotWrite(path, e);
    }
    return new AtomicFolder(temp, path);
  }

  async commit(): Promise<void> {
    const old = `${this.temp}.old`;
    let moved = false;
    try {
      await rename(this.path, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    await rename(this.temp, this.path);
    if (moved) await rm(old, { recursive: true, force: true });
  }

  async abort(): Promise<void> {
    await rm(this.temp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Values as text, the way web2py's exporter (Python's csv module) writes them

/** Marks a NULL in a one-table CSV: written as an empty field without quotes. */
const NULL_FIELD: unique symbol = Symbol("null");
type Cell = string | typeof NULL_FIELD;

const REAL_TYPE = /^\s*(real|float|double)\b/i;
/** A year's digits, sent as a number into a column of the dialect's yearType. */
const YEAR_TEXT = /^\s*[-+]?\d{1,4}\s*$/;
/** Types where web2py stores no empty string: '' in a file means NULL there. */
const NON_TEXT_TYPE =
  /^\s*(tinyint|smallint|mediumint|int|integer|bigint|real|float|double|decimal|dec|numeric|bit|bool|boolean|date|datetime|timestamp|time|year)\b/i;

/** One value as the text web2py's exporter writes for it. */
export function cellText(value: SqlValue, column?: Pick<ColumnInfo, "type">, exact = false): string {
  if (typeof value === "string") return value;
  // web2py writes a decimal with its scale; `exact` (the lossless csv) writes the number as it is.
  const scale = column === undefined || exact ? undefined : decimalScale(column.type);
  if (typeof value === "number") {
    if (scale !== undefined && Number.isFinite(value)) return pyFixed(value, scale);
    const real = column !== undefined && REAL_TYPE.test(column.type);
    return Number.isInteger(value) && !real ? String(value) : pyFloatRepr(value);
  }
  if (typeof value === "bigint") return scale ? `${value.toString()}.${"0".repeat(scale)}` : value.toString();
  if (typeof value === "boolean") return value ? "True" : "False";
  if (Buffer.isBuffer(value)) {
    // web2py keeps a blob as its base64 text (MySQL hands it back as bytes):
    // that text is what its exporter writes. Other bytes are encoded.
    return isBase64Text(value) ? value.toString("latin1") : value.toString("base64");
  }
  if (value instanceof Date) {
    // Python: value.isoformat()[:19].replace('T', ' ')
    return value.toISOString().slice(0, 19).replace("T", " ");
  }
  if (value === null) return "";
  return String(value);
}

/** Bytes that are canonical base64 text (A–Z a–z 0–9 + /, `=` padding). */
function isBase64Text(b: Buffer): boolean {
  if (b.length === 0 || b.length % 4 !== 0) return false;
  let i = 0;
  for (; i < b.length; i++) {
    const c = b[i]!;
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) break;
  }
  const pad = b.length - i;
  if (pad > 2) return false;
  for (; i < b.length; i++) if (b[i] !== 61) return false;
  return Buffer.from(b.toString("latin1"), "base64").toString("base64") === b.toString("latin1");
}

/** Python's repr() of a float: the shortest digits that read back the same. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  // Where both write plain digits (1e-4 <= |n| < 1e16) JavaScript's shortest form is Python's, but for the ".0".
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) {
    const s = String(n);
    return s.includes(".") ? s : `${s}.0`;
  }
  const [mantissa, expText] = n.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = String(Math.abs(exp)).padStart(2, "0");
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits}${"0".repeat(intLen - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

// ---------------------------------------------------------------------------
// CSV (RFC 4180, written as Python's csv.writer with the default dialect)

/**
 * One CSV record with its CRLF, as Python's csv.writer writes it: a field is
 * quoted only when it holds `,` `"` CR or LF, `"` doubled; a record made of one
 * empty field is written `""` (else it would be a blank line).
 * With `nulls` (the one-table CSV), NULL_FIELD is an empty unquoted field and
 * every empty string is written `""`, so the two read back apart.
 */
export function csvRow(fields: readonly Cell[], nulls = false): string {
  if (fields.length === 1 && fields[0] === "") return '""\r\n';
  let line = "";
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line += ",";
    const f = fields[i]!;
    if (f === NULL_FIELD) continue;
    if (f === "") line += nulls ? '""' : "";
    else line += /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
  }
  return line + "\r\n";
}

export interface CsvRecord {
  fields: string[];
  /** Per field: it was written in quotes (an unquoted empty field is a NULL in a one-table CSV). */
  quoted: boolean[];
  /** 1-based line where the record starts. */
  line: number;
}

const enum S {
  RecordStart,
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  AfterCr,
}

/**
 * A streaming RFC 4180 reader, lenient where Python's csv reader is: CRLF, LF
 * or CR end a record; text after a closing quote is kept. An empty line is a
 * record of one empty unquoted field. Feed it chunks; it returns whole records.
 */
export class CsvReader {
  private state = S.RecordStart;
  private field = "";
  private fieldQuoted = false;
  private fields: string[] = [];
  private quoted: boolean[] = [];
  private line = 1;
  private recordLine = 1;

  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === "\n") this.line++;
      switch (this.state) {
        case S.AfterCr:
          this.state = S.RecordStart;
          if (c === "\n") break;
        // falls through: a lone CR ended the record; c starts the next one
        case S.RecordStart:
          this.recordLine = c === "\n" ? this.line - 1 : this.line;
        // falls through
        case S.FieldStart:
          if (c === '"') {
            this.fieldQuoted = true;
            this.state = S.Quoted;
          } else if (c === ",") {
            this.endField();
            this.state = S.FieldStart;
          } else if (c === "\r" || c === "\n") {
            out.push(this.endRecord());
            this.state = c === "\r" ? S.AfterCr : S.RecordStart;
          } else {
            i = this.unquoted(chunk, i);
            this.state = S.Unquoted;
          }
          break;
        case S.Unquoted:
          if (c === ",") {
            this.endField();
            this.state = S.FieldStart;
          } else if (c === "\r" || c === "\n") {
            out.push(this.endRecord());
            this.state = c === "\r" ? S.AfterCr : S.RecordStart;
          } else {
            i = this.unquoted(chunk, i);
          }
          break;
        case S.Quoted: {
          // Copy up to the next quote in one go.
          const next = chunk.indexOf('"', i);
          const end = next === -1 ? chunk.length : next;
          const text = chunk.slice(i, end);
          this.field += text;
          for (let j = text.indexOf("\n"); j !== -1; j = text.indexOf("\n", j + 1)) this.line++;
          if (c === "\n") this.line--; // counted above already
          i = end - 1;
          if (next !== -1) {
            i = next;
            this.state = S.QuoteInQuoted;
          }
          break;
        }
        case S.QuoteInQuoted:
          if (c === '"') {
            this.field += '"';
            this.state = S.Quoted;
          } else if (c === ",") {
            this.endField();
            this.state = S.FieldStart;
          } else if (c === "\r" || c === "\n") {
            out.push(this.endRecord());
            this.state = c === "\r" ? S.AfterCr : S.RecordStart;
          } else {
            this.field += c;
            this.state = S.Unquoted;
          }
          break;
      }
    }
    return out;
  }

  /** Copies an unquoted field's text from `i` up to the next `,` CR or LF in one go; the index of its last character. */
  private unquoted(chunk: string, i: number): number {
    let j = i;
    for (; j < chunk.length; j++) {
      const k = chunk.charCodeAt(j);
      if (k === 44 || k === 13 || k === 10) break;
    }
    this.field += chunk.slice(i, j);
    return j - 1;
  }

  /** The last record when the input does not end with a line end. */
  end(): CsvRecord[] {
    if (this.state === S.Quoted) throw new Error(`line ${this.recordLine}: a quoted field is never closed`);
    if (this.state === S.RecordStart || this.state === S.AfterCr) return [];
    return [this.endRecord()];
  }

  private endField(): void {
    this.fields.push(this.field);
    this.quoted.push(this.fieldQuoted);
    this.field = "";
    this.fieldQuoted = false;
  }

  private endRecord(): CsvRecord {
    this.endField();
    const record = { fields: this.fields, quoted: this.quoted, line: this.recordLine };
    this.fields = [];
    this.quoted = [];
    return record;
  }
}

function isBlank(r: CsvRecord): boolean {
  return r.fields.length === 1 && r.fields[0] === "" && !r.quoted[0];
}

// ---------------------------------------------------------------------------
// Import

interface Section {
  /** The name in the file. */
  name: string;
  header: string[];
  line: number;
}

/**
 * Restores what exportTables wrote (either format) into `db`, in one
 * transaction: each table in the file (or each of `options.tables`) has its rows
 * deleted, then the file's rows inserted. Foreign-key checks are off meanwhile
 * (MySQL FOREIGN_KEY_CHECKS=0, SQLite foreign_keys=OFF), so tables load in any order.
 */
export interface ImportOptions {
  /** Only these tables of the file. */
  tables?: string[];
  onProgress?: ProgressListener;
}

export async function importFile(db: DatabaseDriver, path: string, options: ImportOptions = {}): Promise<DataResult> {
  const source = await importSource(path);
  if (source.kind === "text") return importText(db, path, options);
  const tables = await checkBackup(source.manifest, path, options);
  return importBackup(db, source.manifest, tables, path, options);
}

/**
 * What an import of `path` checks before it touches a database (a dry run's
 * check): the path is there; a csv backup's manifest and files are whole and
 * what was exported. Throws what the import would refuse the file with; a
 * backup's tables and rows (undefined for a file without a manifest).
 */
export async function checkImport(path: string, options: Pick<ImportOptions, "tables"> = {}): Promise<TableCount[] | undefined> {
  const source = await importSource(path);
  if (source.kind === "text") return undefined;
  return (await checkBackup(source.manifest, path, options)).map((t) => ({ name: t.name, rows: t.rows }));
}

/** A csv backup (its manifest: in the folder, or beside a one-table file), else a web2py file or a one-table CSV. */
async function importSource(path: string): Promise<{ kind: "backup"; manifest: string } | { kind: "text" }> {
  let directory: boolean;
  try {
    directory = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DriverError(code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(e as Error).message}`, "not-found");
  }
  if (directory) {
    const manifest = join(path, MANIFEST_NAME);
    if (!(await exists(manifest))) throw new DriverError(`${path} is a directory without a ${MANIFEST_NAME}, not a backup`, "format");
    return { kind: "backup", manifest };
  }
  if (basename(path) === MANIFEST_NAME || path.endsWith(SIDECAR_SUFFIX)) return { kind: "backup", manifest: path };
  if (await exists(path + SIDECAR_SUFFIX)) return { kind: "backup", manifest: path + SIDECAR_SUFFIX };
  return { kind: "text" };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A web2py file, or a one-table CSV without a manifest. */
async function importText(db: DatabaseDriver, path: string, options: ImportOptions): Promise<DataResult> {
  const meter = new ProgressMeter("import", options.onProgress);
  const wanted = options.tables?.map((t) => t.toLowerCase());
  const where = (line: number) => `${path}, line ${line}`;

  return withLoadSettings(db, async () => {
    const dbTables = await db.tables();
    const counts: TableCount[] = [];
    /** The tables written, verified once all are. */
    const written: TableLoader[] = [];
    const seen = new Set<string>();
    let layout: "multi" | "single" | undefined;
    let state = "top" as "top" | "header" | "rows" | "done";
    let section: Section | undefined;
    let loader: TableLoader | undefined;

    const startTable = async (s: Section): Promise<void> => {
      if (seen.has(s.name.toLowerCase())) throw new DriverError(`${where(s.line)}: table ${s.name} appears twice`, "format");
      seen.add(s.name.toLowerCase());
      if (wanted && !wanted.includes(s.name.toLowerCase())) {
        loader = undefined; // not asked for: read past it
        return;
      }
      const table = findName(dbTables, s.name);
      if (table === undefined) throw new DriverError(`${where(s.line)}: ${db.label} has no table named ${s.name}`, "no-table");
      const columns = await db.columns(table);
      const prefix = `${s.name.toLowerCase()}.`;
      const fileColumns = s.header.map((h) => {
        // "table.field"; like web2py, a header naming another table still means the field
        const field = h.toLowerCase().startsWith(prefix) ? h.slice(prefix.length) : h.slice(h.indexOf(".") + 1);
        const col = findColumn(columns, field);
        if (!col) throw new DriverError(`${where(s.line)}: table ${table} of ${db.label} has no column named ${field}`, "no-column");
        return col;
      });
      loader = new TableLoader(db, table, fileColumns, columns, `the file ${path}`);
      await loader.clear();
      meter.startTable(table);
    };

    const endTable = async (): Promise<void> => {
      if (section && loader) {
        await loader.endWrites();
        written.push(loader);
        meter.endTable();
      }
      section = undefined;
      loader = undefined;
    };

    const onRecord = async (r: CsvRecord): Promise<void> => {
      if (layout === undefined) {
        if (isBlank(r)) return; // blank lines before the first record
        const first = r.fields.join(",");
        layout = !r.quoted[0] && (first.startsWith("TABLE ") || first.trim() === "END") ? "multi" : "single";
        if (layout === "single") {
          const name = singleTableName(r.fields, dbTables);
          if (name === undefined) {
            throw new DriverError(
              `${where(r.line)}: the header does not name a table of ${db.label} (expected table.column names)`,
              "format",
            );
          }
          section = { name, header: r.fields, line: r.line };
          await startTable(section);
          state = "rows";
          return;
        }
      }
      if (layout === "single") {
        if (isBlank(r) && section!.header.length > 1) return; // a blank line between records
        if (r.fields.length !== section!.header.length) {
          throw new DriverError(`${where(r.line)}: ${r.fields.length} fields where the header has ${section!.header.length}`, "format");
        }
        await loader?.add(r.fields.map((f, i) => (f === "" && !r.quoted[i] ? null : f)));
        if (loader) meter.add(1);
        return;
      }
      switch (state) {
        case "done":
          return;
        case "top": {
          if (isBlank(r)) return;
          const text = r.fields.join(",").trim();
          if (text === "END") {
            state = "done";
            return;
          }
          if (!text.startsWith("TABLE ") || r.quoted[0]) {
            throw new DriverError(`${where(r.line)}: expected a TABLE line or END`, "format");
          }
          section = { name: text.slice(6).trim(), header: [], line: r.line };
          state = "header";
          return;
        }
        case "header":
          if (isBlank(r)) {
            // a table web2py exported without rows has no header either
            await startTable(section!);
            await endTable();
            state = "top";
            return;
          }
          section!.header = r.fields;
          await startTable(section!);
          state = "rows";
          return;
        case "rows":
          if (isBlank(r)) {
            await endTable();
            state = "top";
            return;
          }
          if (r.fields.length !== section!.header.length) {
            throw new DriverError(`${where(r.line)}: ${r.fields.length} fields where the header has ${section!.header.length}`, "format");
          }
          await loader?.add(r.fields.map((f) => (f === WEB2PY_NULL ? null : f)));
          if (loader) meter.add(1);
          return;
      }
    };

    const reader = new CsvReader();
    let tail: CsvRecord[] = [];
    const decoder = new StringDecoder("utf8");
    try {
      let first = true;
      for await (const bytes of fileChunks(path)) {
        let chunk = decoder.write(bytes);
        if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // a BOM from an editor
        first = false;
        for (const r of reader.push(chunk)) await onRecord(r);
      }
      for (const r of reader.push(decoder.end())) await onRecord(r);
      tail = reader.end();
      // Without a manifest, a cut-short one-table CSV shows only in its end: a record without its line end.
      if (tail.length > 0 && layout === "single") throw new DriverError(backupWords.noManifestCutShort(path), "format");
      for (const r of tail) await onRecord(r);
    } catch (e) {
      if (e instanceof DriverError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new DriverError(`${path} does not exist`, "not-found");
      throw new DriverError(`${path}: ${e instanceof Error ? e.message : String(e)}`, "format");
    }

    if (layout === undefined) throw new DriverError(`${path} is empty`, "format");
    if (layout === "single" && tail.length > 0) throw new DriverError(backupWords.noManifestCutShort(path), "format");
    if (layout === "single") await endTable();
    else if (state !== "done") throw new DriverError(`${path} ends before its END line: the file is cut short`, "format");

    if (options.tables) {
      const missing = options.tables.filter((t) => !seen.has(t.toLowerCase()));
      if (missing.length > 0) throw new DriverError(`${path} has no table ${listNames(missing)}`, "no-table");
    }
    meter.startVerifying();
    for (const l of written) counts.push({ name: l.table, rows: await l.verify(undefined, meter) });
    return { tables: counts };
  });
}

/**
 * A csv backup: every file is checked against the manifest (sha256, row count,
 * header, whole records) before the database is touched; then each table (or
 * each of `options.tables`) is replaced in one transaction, as for any import.
 */
/**
 * A csv backup's manifest and files, checked before the database is touched: the
 * tables to import (each with the file that holds it). Throws, naming what is wrong.
 */
async function checkBackup(manifestPath: string, shown: string, options: Pick<ImportOptions, "tables">): Promise<ManifestTable[]> {
  const manifest = await readManifest(manifestPath);
  const dir = dirname(manifestPath);
  // A manifest beside one file (FILE.manifest.json) describes that file, whatever
  // name it recorded: the two may have been renamed together, and another file of
  // the recorded name is not the one the runbook names.
  const sidecar = manifestPath.endsWith(SIDECAR_SUFFIX);
  if (sidecar && manifest.tables.length !== 1) throw new DriverError(backupWords.notManifest(manifestPath, backupWords.sidecarTables(manifest.tables.length)), "format");
  let tables = sidecar ? manifest.tables.map((t) => ({ ...t, file: basename(manifestPath.slice(0, -SIDECAR_SUFFIX.length)) })) : manifest.tables;
  if (options.tables) {
    const missing = options.tables.filter((w) => !tables.some((t) => t.name.toLowerCase() === w.toLowerCase()));
    if (missing.length > 0) throw new DriverError(`${shown} has no table ${listNames(missing)}`, "no-table");
    tables = tables.filter((t) => options.tables!.some((w) => w.toLowerCase() === t.name.toLowerCase()));
  }
  // Every file is checked before the database is touched, in one pass over its bytes
  // (size, sha256, header, whole records, their count: no CSV parsing); a file that
  // is not what was exported is then read as CSV to say what is wrong with it. An
  // intact file is parsed once, while it loads (and checked again there).
  const problems: string[] = [];
  for (const t of tables) {
    const file = join(dir, t.file);
    const scan = await scanFile(file);
    if (scan === undefined || scan.bytes !== t.bytes || scan.sha256 !== t.sha256) {
      problems.push(...(await checkBackupFile(file, t)));
      continue;
    }
    const header = Buffer.from(csvRow(headerNames(t.name, t.columns), true), "utf8");
    if (!scan.head.subarray(0, header.length).equals(header)) problems.push(backupWords.headerDiffers(t.file, header.toString("utf8").trimEnd()));
    if (scan.endsInRecord) problems.push(backupWords.cutShort(t.file));
    if (scan.lines - 1 !== t.rows) problems.push(backupWords.rowsDiffer(t.file, Math.max(0, scan.lines - 1) + (scan.endsInRecord ? 1 : 0), t.rows));
  }
  if (problems.length > 0) throw new DriverError(backupWords.damaged(shown, problems), "damaged");
  return tables;
}

async function importBackup(db: DatabaseDriver, manifestPath: string, tables: ManifestTable[], shown: string, options: ImportOptions): Promise<DataResult> {
  const dir = dirname(manifestPath);
  const damaged = (problem: string) => new DriverError(backupWords.damaged(shown, [problem]), "damaged");

  const meter = new ProgressMeter("import", options.onProgress, tables.length);
  return withLoadSettings(db, async () => {
    const dbTables = await db.tables();
    const counts: TableCount[] = [];
    /** The tables written, verified once all are. */
    const written: { loader: TableLoader; rows: SourceRows }[] = [];
    for (const t of tables) {
      const table = findName(dbTables, t.name);
      if (table === undefined) throw new DriverError(`${shown}: ${db.label} has no table named ${t.name}`, "no-table");
      const columns = await db.columns(table);
      const fileColumns = t.columns.map((c) => {
        const col = findColumn(columns, c.name);
        if (!col) throw new DriverError(`${shown}: table ${table} of ${db.label} has no column named ${c.name}`, "no-column");
        return col;
      });
      const loader = new TableLoader(db, table, fileColumns, columns, `the file ${t.file}`, false);
      await loader.clear();
      meter.startTable(table, t.rows);
      const decode = (r: CsvRecord): SqlValue[] =>
        r.fields.map((f, i) => {
          if (f === "" && !r.quoted[i]) return null;
          const c = t.columns[i]!;
          if (c.encoding === "text") return f;
          const v = decodeBlob(f, c.encoding);
          if (v === undefined) throw new DriverError(backupWords.badBlob(t.file, r.line, c.name), "format");
          return v;
        });
      const header = headerNames(t.name, t.columns);
      const file = join(dir, t.file);
      let records = t.columns.every((c) => c.encoding === "text") ? await loader.addFileBytes(file, Buffer.from(csvRow(header, true), "utf8"), (n) => meter.add(n)) : undefined;
      if (records === undefined) {
        meter.startTable(table, t.rows);
        let read = 0;
        const tail = await readCsvFile(file, (r, n) => {
          const problem = recordProblem(t.file, r, n, header);
          if (problem !== undefined) throw damaged(problem);
          if (n === 0) return;
          read++;
          meter.add(1);
          return loader.add(decode(r));
        });
        if (tail.length > 0) throw damaged(backupWords.cutShort(t.file));
        records = read;
      }
      if (records !== t.rows) throw damaged(backupWords.rowsDiffer(t.file, records, t.rows));
      // A difference is looked for row by row in the file (written in key order), read again (a failure's cost only).
      const fileRows = async function* (): AsyncGenerator<SqlValue[][]> {
        let header = true;
        for await (const records of csvBatches(join(dir, t.file))) {
          const rows = (header ? records.slice(1) : records).map(decode);
          header = false;
          if (rows.length > 0) yield rows;
        }
      };
      await loader.endWrites();
      written.push({ loader, rows: fileRows });
      meter.endTable();
    }
    meter.startVerifying();
    for (const w of written) counts.push({ name: w.loader.table, rows: await w.loader.verify(w.rows, meter) });
    return { tables: counts };
  });
}

/** Bytes read from a file at a time. */
const READ_BYTES = 1 << 16;

/**
 * A file's bytes, a chunk at a time, read into one buffer used again for every
 * chunk: a chunk is valid until the next one is asked for (decode or hash it, do
 * not keep it). A new buffer per chunk (as a read stream makes) is freed only when
 * V8 collects it, and a gigabyte of them leaves the C heap fragmented and the
 * process's memory tens of MB larger than it ever needed.
 */
async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Streams a UTF-8 CSV file's records (n counts them from 0), with the raw bytes to `onBytes`; the records left without a line end. */
async function readCsvFile(
  path: string,
  onRecord: (r: CsvRecord, n: number) => Promise<void> | void | undefined,
  onBytes?: (chunk: Buffer) => void,
): Promise<CsvRecord[]> {
  const reader = new CsvReader();
  const decoder = new StringDecoder("utf8");
  let n = 0;
  for await (const chunk of fileChunks(path)) {
    onBytes?.(chunk);
    for (const r of reader.push(decoder.write(chunk))) {
      const wait = onRecord(r, n++);
      if (wait) await wait;
    }
  }
  const rest = reader.push(decoder.end());
  for (const r of rest) await onRecord(r, n++);
  return reader.end();
}

/** A UTF-8 CSV file's records, a chunk's worth at a time (the header first among them). */
async function* csvBatches(path: string): AsyncGenerator<CsvRecord[]> {
  const reader = new CsvReader();
  const decoder = new StringDecoder("utf8");
  for await (const chunk of fileChunks(path)) {
    const records = reader.push(decoder.write(chunk));
    if (records.length > 0) yield records;
  }
  const rest = [...reader.push(decoder.end()), ...reader.end()];
  if (rest.length > 0) yield rest;
}

/** One pass over a file's bytes: size, sha256, its first bytes, and its lines as CSV counts them. */
interface FileScan {
  bytes: number;
  sha256: string;
  /** The first bytes (at least the first 64 KB, or the whole file). */
  head: Buffer;
  /** Line ends outside quotes: the records of a file whose records all end in one. */
  lines: number;
  /** The file ends inside a record (no line end after its last bytes, or inside quotes). */
  endsInRecord: boolean;
}

/** undefined when the file cannot be read. */
async function scanFile(path: string): Promise<FileScan | undefined> {
  const hash = createHash("sha256");
  let bytes = 0;
  let head: Buffer | undefined;
  let lines = 0;
  let quoted = false;
  let last = -1;
  try {
    for await (const chunk of fileChunks(path)) {
      hash.update(chunk);
      head ??= Buffer.from(chunk);
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!;
        if (b === 0x22) quoted = !quoted;
        else if (b === 0x0a && !quoted) lines++;
      }
      last = chunk[chunk.length - 1]!;
    }
  } catch {
    return undefined;
  }
  return { bytes, sha256: hash.digest("hex"), head: head ?? Buffer.alloc(0), lines, endsInRecord: quoted || (bytes > 0 && last !== 0x0a) };
}

/** A table's header in the csv files: its columns as `table.column`. */
function headerNames(table: string, columns: readonly { name: string }[]): string[] {
  return columns.map((c) => `${table}.${c.name}`);
}

/** What is wrong with record `n` (0: the header) of a backup file, against its header; undefined when it fits. */
function recordProblem(file: string, r: CsvRecord, n: number, header: readonly string[]): string | undefined {
  if (n === 0) return r.fields.length !== header.length || r.fields.some((f, i) => f !== header[i]) ? backupWords.headerDiffers(file, header.join(",")) : undefined;
  return r.fields.length !== header.length ? backupWords.badRecord(file, r.line, r.fields.length, header.length) : undefined;
}

/** What is wrong with one file of a backup, against its manifest entry (nothing: []). */
async function checkBackupFile(path: string, t: ManifestTable): Promise<string[]> {
  const problems: string[] = [];
  const hash = createHash("sha256");
  const header = headerNames(t.name, t.columns);
  let records = 0;
  let badRecord: string | undefined;
  let tail: CsvRecord[];
  try {
    tail = await readCsvFile(
      path,
      (r, n) => {
        records++;
        badRecord ??= recordProblem(t.file, r, n, header);
      },
      (chunk) => hash.update(chunk),
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return [code === "ENOENT" ? backupWords.missingFile(t.file) : backupWords.unreadable(t.file, e instanceof Error ? e.message : String(e))];
  }
  if (hash.digest("hex") !== t.sha256) problems.push(backupWords.hashDiffers(t.file));
  if (tail.length > 0) problems.push(backupWords.cutShort(t.file));
  const rows = Math.max(0, records - 1) + tail.length;
  if (rows !== t.rows) problems.push(backupWords.rowsDiffer(t.file, rows, t.rows));
  if (badRecord !== undefined) problems.push(badRecord);
  return problems;
}

/** The table a one-table CSV holds: the one whose name prefixes every header field. */
function singleTableName(header: string[], tables: string[]): string | undefined {
  const fits = (t: string) => header.every((h) => h.length > t.length + 1 && h.slice(0, t.length + 1).toLowerCase() === `${t.toLowerCase()}.`);
  const candidates = tables.filter(fits).sort((a, b) => b.length - a.length);
  if (candidates.length > 0) return candidates[0];
  // Not a table of this database: name it anyway, so the error says which.
  const prefix = header[0]?.includes(".") ? header[0].slice(0, header[0].indexOf(".")) : undefined;
  return prefix !== undefined && fits(prefix) ? prefix : undefined;
}

function findColumn(columns: ColumnInfo[], name: string): ColumnInfo | undefined {
  return columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

const CHAR1_TYPE = /^\s*char\s*\(\s*1\s*\)/i;
/** A character beyond the BMP (4 bytes in UTF-8). */
const WIDE_CHAR = /[\u{10000}-\u{10FFFF}]/u;

/**
 * web2py keeps a `boolean` field as CHAR(1) 'T' / 'F', and its exporter writes
 * True / False: into a CHAR(1) column those (and a driver's booleans) become
 * 'T' / 'F', so `db.t.flag == True` matches the row again.
 */
export function web2pyBoolean(v: SqlValue, type: string): SqlValue {
  return CHAR1_TYPE.test(type) ? asCharBoolean(v) : v;
}

/** True/False (web2py's export of a boolean) as the T/F a CHAR(1) boolean column holds. */
function asCharBoolean(v: SqlValue): SqlValue {
  if (v === "True" || v === true) return "T";
  if (v === "False" || v === false) return "F";
  return v;
}

/** A web2py `boolean` field's stored value as its exporter writes it (pydal: `value == 'T' or str(value)[:1].lower() == 't'`). */
export function web2pyBooleanText(v: SqlValue): string {
  return (typeof v === "string" || typeof v === "number" || typeof v === "bigint") && String(v).slice(0, 1).toLowerCase() === "t" ? "True" : "False";
}

/** Where a verification that failed can look for the first row that differs: the source's rows (values in the loaded columns' order), in key order. */
export type SourceRows = () => AsyncIterable<SqlValue[][]>;

/**
 * Deletes a table's rows, then inserts rows in batched multi-row INSERTs; then,
 * still in the transaction, reads the table back and checks it holds the rows
 * sent: their number and checksum (data-verify.ts). A difference is an error
 * (which rolls the transaction back) saying where.
 */
class TableLoader {
  /** Literal mode: the rows' tuples. */
  private batch: string[] = [];
  /** Bound mode: the rows' values, in order. */
  private params: SqlValue[] = [];
  private batchRows = 0;
  private batchBytes = 0;
  /** The batch's rows as sent, to say which value a database refused. */
  private batchValues: SqlValue[][] = [];
  /** Rows sent in batches before this one. */
  private rowsFlushed = 0;
  private readonly prefix: string;
  private sent: TableDigest;
  /** Rows per INSERT with bound values; 0 where the database cannot bind in a transaction (literals then). */
  private readonly boundRows: number;
  /** `(?, ?, …)` for one row. */
  private readonly placeholders: string;
  /** The engine's bulk load, when it has one (then rows go there, not into INSERTs). */
  private sink: RowSink | undefined;
  /** Per column: CHARACTER SET utf8 (checked for 4-byte characters while loading). */
  private narrow: boolean[] | undefined;
  /** Per column, web2py's rules where they apply (undefined off web2py): '' is NULL in a numeric or date column, True/False are T/F in a CHAR(1). */
  private readonly web2pyRules: { nonText: boolean; char1: boolean }[] | undefined;
  /** Per column: of the dialect's yearType, whose text is sent as a number; undefined when none is. */
  private readonly year: boolean[] | undefined;

  constructor(
    private readonly db: DatabaseDriver,
    readonly table: string,
    private readonly columns: ColumnInfo[],
    /** Every column of the table: the read back pages on its key when the loaded columns hold all of it. */
    private readonly tableColumns: ColumnInfo[],
    /** What was read from: "the file x.csv", "prod.appdb". */
    private readonly source: string,
    /** web2py's conventions ('' is NULL in a numeric or date column, True/False into CHAR(1) is T/F); off for a lossless backup. */
    private readonly web2py = true,
  ) {
    const q = (n: string) => quoteIdent(n, db.engine);
    this.prefix = `INSERT INTO ${q(table)} (${columns.map((c) => q(c.name)).join(", ")}) VALUES\n`;
    this.sent = new TableDigest(verifyColumns(columns, db.engine));
    this.boundRows = columns.length === 0 ? 0 : Math.min(INSERT_ROWS, Math.floor(db.maxParams / columns.length));
    this.placeholders = `(${columns.map(() => "?").join(", ")})`;
    this.web2pyRules = web2py ? columns.map((c) => ({ nonText: NON_TEXT_TYPE.test(c.type), char1: CHAR1_TYPE.test(c.type) })) : undefined;
    const yearType = dialectOf(db.engine).yearType;
    const year = columns.map((c) => yearType?.test(c.type) === true);
    this.year = year.includes(true) ? year : undefined;
  }

  /** Deletes the table's rows, then opens the engine's bulk load where it has one. */
  async clear(): Promise<void> {
    await this.db.execute(`DELETE FROM ${quoteIdent(this.table, this.db.engine)}`);
    if (!this.db.loadRows) return;
    // A load reports a refused character only at its end: each row is looked at as it goes.
    // (Asked first: once the load has begun, the connection is its own until it ends.)
    const narrow = await this.narrowColumns();
    this.sink = await this.db.loadRows(this.table, this.columns);
    if (this.sink) this.narrow = narrow;
  }

  /** Per loaded column: it is CHARACTER SET utf8 (3 bytes), which holds no character beyond the BMP. */
  private async narrowColumns(): Promise<boolean[] | undefined> {
    if (this.db.engine !== "mysql") return undefined;
    const rows = await this.db.query(
      "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CHARACTER_SET_NAME IN ('utf8', 'utf8mb3')",
      [this.table],
    );
    const names = new Set(rows.map((r) => String(r.name)));
    return names.size === 0 ? undefined : this.columns.map((c) => names.has(c.name));
  }

  /** The refusal of a row holding a character one of its `narrow` columns cannot hold; undefined when it fits. */
  private tooWide(row: readonly SqlValue[], narrow: readonly boolean[]): DriverError | undefined {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (!narrow[i] || typeof v !== "string") continue;
      const m = WIDE_CHAR.exec(v);
      if (!m) continue;
      return new DriverError(charsetRefused({ db: this.db.label, table: this.table, column: this.columns[i]!.name, char: m[0], row: rowKey(this.columns, row) }), "charset");
    }
    return undefined;
  }

  /**
   * The rows of a csv backup's file (text-encoded columns, the export's header),
   * sent to the engine's bulk load straight from the file's bytes
   * (data-import-bytes.ts); the rows read. undefined when the file is for the plain
   * way: decided before a row is sent (no load that takes records, a column whose
   * rows must be looked at), or found half-way, when the load is started again.
   */
  async addFileBytes(path: string, header: Buffer, onRows: (rows: number) => void): Promise<number | undefined> {
    const sink = this.sink;
    if (!importBytesSwitch.on || sink?.addRecords === undefined || this.narrow || this.web2py || this.columns.length === 0 || this.batchRows > 0) return undefined;
    const reader = new CsvToLoad(this.sent, (text, i) => this.stored(text, i), header, this.year);
    const send = async ({ records, rows }: { records: Buffer; rows: number }) => {
      onRows(rows);
      const wait = sink.addRecords!(records);
      if (wait) await wait;
    };
    try {
      for await (const chunk of fileChunks(path)) await send(reader.push(chunk));
      await send(reader.end());
    } catch (e) {
      if (!(e instanceof NotPlainBytes)) throw e;
      // What was sent is loaded, then deleted with the rest: the table starts again, empty.
      this.sink = undefined;
      await sink.end().catch(() => undefined);
      this.sent = new TableDigest(this.sent.columns);
      await this.clear();
      return undefined;
    }
    return reader.rows;
  }

  /** The value as it is sent: web2py stores no '' in numeric or date columns (there it means NULL), and T/F for booleans. */
  private stored(v: SqlValue, i: number): SqlValue {
    if (typeof v === "number" && (Number.isNaN(v) || Object.is(v, -0))) return Number.isNaN(v) ? null : 0; // as the literals had it
    if (this.year?.[i] && typeof v === "string" && YEAR_TEXT.test(v)) return Number(v);
    const rule = this.web2pyRules?.[i];
    if (rule === undefined) return v;
    if (v === "" && rule.nonText) return null;
    return rule.char1 ? asCharBoolean(v) : v;
  }

  /** Takes a row; a promise only when it must wait (a batch sent, the server catching up), so a caller awaits only then. */
  add(values: readonly SqlValue[]): Promise<void> | undefined {
    // A copy only where a value is stored otherwise than it came (rarely: a row a million times).
    let row = values as SqlValue[];
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const s = this.stored(v, i);
      if (s === v) continue;
      if (row === values) row = values.slice();
      row[i] = s;
    }
    this.sent.add(row);
    if (this.sink) {
      if (this.narrow) {
        const refused = this.tooWide(row, this.narrow);
        if (refused) return Promise.reject(refused);
      }
      return this.sink.add(row);
    }
    this.batchRows++;
    this.batchValues.push(row);
    if (this.boundRows > 0) {
      // Bound parameters: values travel apart from the statement, never as SQL text.
      for (const v of row) {
        this.params.push(v);
        this.batchBytes += typeof v === "string" ? v.length : Buffer.isBuffer(v) ? v.length : 8;
      }
      return this.batchRows >= this.boundRows || this.batchBytes >= INSERT_BYTES ? this.flush() : undefined;
    }
    const tuple = "(" + row.map((v) => sqlLiteral(v, this.db.engine)).join(", ") + ")";
    this.batch.push(tuple);
    this.batchBytes += tuple.length;
    return this.batchRows >= INSERT_ROWS || this.batchBytes >= INSERT_BYTES ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.batchRows === 0) return;
    const rows = this.batchRows;
    const values = this.batchValues;
    const first = this.rowsFlushed;
    this.rowsFlushed += rows;
    this.batchRows = 0;
    this.batchBytes = 0;
    this.batchValues = [];
    try {
      if (this.boundRows > 0) {
        const params = this.params;
        this.params = [];
        await this.db.execute(this.prefix + Array.from({ length: rows }, () => this.placeholders).join(",\n"), params);
        return;
      }
      const sql = this.prefix + this.batch.join(",\n");
      this.batch = [];
      await this.db.execute(sql);
    } catch (e) {
      throw (await this.explainCharset(e, values)) ?? (await this.whichRow(e, values, first)) ?? e;
    }
  }

  /**
   * A refused batch's row that the database refuses alone (SQLite's "datatype
   * mismatch" names neither table nor row): the rows tried one at a time inside a
   * savepoint taken back afterwards, a failure's cost only. Its refusal with the
   * table and the row (its key, else its place among the rows sent); undefined
   * when no single row is refused or the rows cannot be tried.
   */
  private async whichRow(e: unknown, rows: SqlValue[][], first: number): Promise<DriverError | undefined> {
    if (!(e instanceof DriverError)) return undefined;
    const savepoint = `runbook_row_${randomBytes(4).toString("hex")}`;
    try {
      await this.db.execute(`SAVEPOINT ${savepoint}`);
    } catch {
      return undefined;
    }
    try {
      for (let k = 0; k < rows.length; k++) {
        const row = rows[k]!;
        try {
          if (this.boundRows > 0) await this.db.execute(this.prefix + this.placeholders, row);
          else await this.db.execute(this.prefix + "(" + row.map((v) => sqlLiteral(v, this.db.engine)).join(", ") + ")");
        } catch (one) {
          if (!(one instanceof DriverError)) return undefined;
          const key = rowKey(this.columns, row);
          return new DriverError(rowRefused({ refusal: one.message, table: this.table, row: key || `number ${first + k + 1}`, source: this.source }), one.code);
        }
      }
      return undefined;
    } finally {
      await this.db.execute(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => undefined);
      await this.db.execute(`RELEASE SAVEPOINT ${savepoint}`).catch(() => undefined);
    }
  }

  /**
   * MySQL refusing a character (ER_TRUNCATED_WRONG_VALUE_FOR_FIELD) in a column of a
   * 3-byte charset (web2py creates its tables `CHARACTER SET utf8`): which column,
   * which row, which character, and what to do. undefined when it is not that.
   */
  private async explainCharset(e: unknown, rows: SqlValue[][]): Promise<DriverError | undefined> {
    if (!(e instanceof DriverError) || e.code !== "ER_TRUNCATED_WRONG_VALUE_FOR_FIELD" || this.db.engine !== "mysql") return undefined;
    let narrow: boolean[] | undefined;
    try {
      narrow = await this.narrowColumns();
    } catch {
      return undefined;
    }
    if (narrow === undefined) return undefined;
    for (const row of rows) {
      const refused = this.tooWide(row, narrow);
      if (refused) return refused;
    }
    return undefined;
  }


  /** The loaded columns, paged on the table's key when they hold all of it. */
  private readColumns(): ColumnInfo[] {
    const keys = this.tableColumns.filter((c) => c.primaryKey);
    const whole = keys.length > 0 && keys.every((k) => this.columns.some((c) => c.name === k.name));
    return this.columns.map((c) => ({ ...c, primaryKey: whole && c.primaryKey }));
  }

  /** Sends what is left (and ends the engine's bulk load): the table is written. */
  async endWrites(): Promise<void> {
    await this.flush();
    if (this.sink) await this.sink.end();
  }

  /**
   * Checks the table holds what was sent: read back, counted and checksummed; the
   * rows it holds. Called once every table of the import or sync is written (still
   * before commit), so a later table's trigger that changed this one is seen too.
   * `sourceRows` (what was read from) lets a difference name its row.
   */
  async verify(sourceRows?: SourceRows, meter?: ProgressMeter): Promise<number> {
    meter?.startTable(this.table, this.sent.rows);
    let held = new TableDigest(this.sent.columns);
    const read = this.readColumns();
    if (read.length === 0) {
      // A table given without columns (web2py writes none for an empty table): its rows are counted.
      const [row] = await this.db.query(`SELECT count(*) AS n FROM ${quoteIdent(this.table, this.db.engine)}`);
      for (let n = Number(row?.n ?? 0); n > 0; n--) held.add([]);
    } else if (!(await digestBytes(this.db, this.table, read, held, meter))) {
      held = new TableDigest(this.sent.columns);
      meter?.startTable(this.table, this.sent.rows);
      for await (const page of readRows(this.db, this.table, read)) {
        for (const r of page) held.add(r);
        meter?.add(page.length);
      }
    }
    if (!held.same(this.sent)) {
      const where = sourceRows ? await this.firstDifference(sourceRows, read) : undefined;
      throw new DriverError(
        verifyFailed({ db: this.db.label, table: this.table, source: this.source, held, sent: this.sent, where }),
        "verify",
      );
    }
    if (this.db.engine === "sqlite") await this.assertCount(held.rows);
    meter?.endTable();
    return held.rows;
  }

  /**
   * The count once more, as a statement that fails when it differs: where the
   * writes go to SQLite on another host as one script, this holds that script's
   * COMMIT back unless the host's table has the rows the local copy was checked on.
   */
  private async assertCount(rows: number): Promise<void> {
    const check = `runbook_verify_${randomBytes(4).toString("hex")}`;
    const label = `${this.table} holds ${rows} rows`;
    await this.db.execute(
      `CREATE TEMP TABLE ${check} (ok INTEGER CONSTRAINT ${quoteIdent(label, "sqlite")} CHECK (ok));\n` +
        `INSERT INTO ${check} SELECT count(*) = ${rows} FROM ${quoteIdent(this.table, "sqlite")};\n` +
        `DROP TABLE ${check}`,
    );
  }

  /** The first row, in key order, whose values differ between the source and the table. */
  private async firstDifference(sourceRows: SourceRows, read: ColumnInfo[]): Promise<RowDifference | undefined> {
    if (!read.some((c) => c.primaryKey)) return undefined;
    const digest = this.sent;
    const keyOf = (values: readonly SqlValue[]) => rowKey(read, values);
    const source = sourceRows()[Symbol.asyncIterator]();
    const target = readRows(this.db, this.table, read)[Symbol.asyncIterator]();
    let a: SqlValue[][] = [];
    let b: SqlValue[][] = [];
    for (;;) {
      if (a.length === 0) {
        const n = await source.next();
        a = n.done ? [] : n.value.map((r) => this.columns.map((_, i) => this.stored(r[i] ?? null, i)));
      }
      if (b.length === 0) {
        const n = await target.next();
        b = n.done ? [] : n.value.map((r) => read.map((_, i) => r[i] ?? null));
      }
      const x = a.shift();
      const y = b.shift();
      if (x === undefined && y === undefined) return undefined;
      if (x === undefined) return { key: keyOf(y!), what: "is not in the source" };
      if (y === undefined) return { key: keyOf(x), what: "is missing" };
      if (digest.rowText(x) === digest.rowText(y)) continue;
      if (keyOf(x) !== keyOf(y)) return { key: keyOf(x), what: "is missing" };
      const i = digest.columns.findIndex((_, k) => canonicalDiffers(digest, x, y, k));
      const col = read[i]!;
      return { key: keyOf(x), what: `column ${col.name} is ${shownValue(y[i]!, col)} where it was sent as ${shownValue(x[i]!, col)}` };
    }
  }
}

/** A row's key as messages name it ("id=3"; "" without one). */
function rowKey(columns: readonly ColumnInfo[], row: readonly SqlValue[]): string {
  return columns.flatMap((c, i) => (c.primaryKey ? [`${c.name}=${cellText(row[i] ?? null, c)}`] : [])).join(", ");
}

function canonicalDiffers(digest: TableDigest, x: readonly SqlValue[], y: readonly SqlValue[], k: number): boolean {
  const one = new TableDigest([digest.columns[k]!]);
  return one.rowText([x[k]!]) !== one.rowText([y[k]!]);
}

function shownValue(v: SqlValue, col: ColumnInfo): string {
  return v === null ? "NULL" : JSON.stringify(cellText(v, col).slice(0, 80));
}

/**
 * Runs fn in one transaction on a database being loaded, with foreign-key
 * checks off (the tables of a file or a sync come in no particular order) and,
 * on MySQL, NO_AUTO_VALUE_ON_ZERO (an id of 0 stays 0), as mysqldump does.
 * The session's settings are put back afterwards.
 */
async function withLoadSettings<T>(db: DatabaseDriver, fn: () => Promise<T>): Promise<T> {
  if (db.engine === "mysql") {
    const [row] = await db.query("SELECT @@SESSION.FOREIGN_KEY_CHECKS AS fk, @@SESSION.sql_mode AS mode");
    const fk = Number(row?.fk ?? 1) ? 1 : 0;
    const mode = String(row?.mode ?? "");
    const loadMode = [...mode.split(",").filter((m) => m !== ""), "NO_AUTO_VALUE_ON_ZERO"].filter((m, i, a) => a.indexOf(m) === i).join(",");
    await db.execute(`SET SESSION FOREIGN_KEY_CHECKS = 0, SESSION sql_mode = ${sqlQuote(loadMode, "mysql")}`);
    try {
      return await db.transaction(fn);
    } finally {
      await db.execute(`SET SESSION FOREIGN_KEY_CHECKS = ${fk}, SESSION sql_mode = ${sqlQuote(mode, "mysql")}`).catch(() => undefined);
    }
  }
  // SQLite reads foreign_keys only outside a transaction. (The sqlite3 program a
  // remote database is written with starts with it off, so there it is a no-op.)
  await db.execute("PRAGMA foreign_keys = OFF");
  try {
    return await db.transaction(fn);
  } finally {
    await db.execute("PRAGMA foreign_keys = ON").catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// Sync

/**
 * Copies the data of `src` into `dst` (e.g. prod SQLite → dev MySQL): for each
 * table present in both (or each named one, which must be in both), dst's rows
 * are deleted and src's inserted, all in one transaction on dst and one
 * consistent read of src. Columns are those the two tables share, in dst's order.
 */
export async function syncTables(
  src: DatabaseDriver,
  dst: DatabaseDriver,
  tables?: string[],
  options: { onProgress?: ProgressListener } = {},
): Promise<SyncResult> {
  // Everything, the reading of both schemas included, happens inside the two
  // transactions: one snapshot of src, and of dst (one download each when a
  // side is SQLite on another host).
  return src.transaction(() =>
    withLoadSettings(dst, async () => {
      const srcTables = await src.tables();
      const dstTables = await dst.tables();
      const pairs: { src: string; dst: string }[] = [];
      const skipped: string[] = [];
      if (tables) {
        const problems: string[] = [];
        for (const t of tables) {
          const s = findName(srcTables, t);
          const d = findName(dstTables, t);
          if (s === undefined) problems.push(`${src.label} has no table named ${t}`);
          if (d === undefined) problems.push(`${dst.label} has no table named ${t}`);
          if (s !== undefined && d !== undefined && !pairs.some((p) => p.dst === d)) pairs.push({ src: s, dst: d });
        }
        if (problems.length > 0) throw new DriverError(`cannot sync: ${problems.join("; ")}`, "no-table");
      } else {
        for (const d of dstTables) {
          const s = findName(srcTables, d);
          if (s === undefined) skipped.push(d);
          else pairs.push({ src: s, dst: d });
        }
        for (const s of srcTables) if (findName(dstTables, s) === undefined) skipped.push(s);
      }

      const plans: { src: string; dst: string; shared: { dst: ColumnInfo; src: ColumnInfo }[]; read: ColumnInfo[]; dstColumns: ColumnInfo[] }[] = [];
      for (const p of pairs) {
        const srcColumns = await src.columns(p.src);
        const dstColumns = await dst.columns(p.dst);
        const shared = dstColumns
          .map((dc) => ({ dst: dc, src: findColumn(srcColumns, dc.name) }))
          .filter((x): x is { dst: ColumnInfo; src: ColumnInfo } => x.src !== undefined);
        if (shared.length === 0) {
          throw new DriverError(`cannot sync table ${p.dst}: ${src.label} and ${dst.label} share none of its columns`, "no-column");
        }
        // Page on src's primary key when all of it is read, so no row is missed or read twice.
        const keys = srcColumns.filter((c) => c.primaryKey);
        const pageable = keys.length > 0 && keys.every((k) => shared.some((x) => x.src.name === k.name));
        const read = shared.map((x) => ({ ...x.src, primaryKey: pageable && x.src.primaryKey }));
        plans.push({ ...p, shared, read, dstColumns });
      }

      const counts: TableCount[] = [];
      const written: { loader: TableLoader; rows: SourceRows }[] = [];
      const meter = new ProgressMeter("sync", options.onProgress, plans.length);
      for (const p of plans) {
        const loader = new TableLoader(dst, p.dst, p.shared.map((x) => x.dst), p.dstColumns, src.label);
        await loader.clear();
        meter.startTable(p.dst, await countRows(src, p.src));
        // p.read is in the order of the loaded columns: a row read is a row to load.
        for await (const page of readRows(src, p.src, p.read)) {
          for (const row of page) {
            const wait = loader.add(row);
            if (wait) await wait;
          }
          meter.add(page.length);
        }
        await loader.endWrites();
        // A difference is looked for row by row in the source, read again.
        written.push({ loader, rows: () => readRows(src, p.src, p.read) });
        meter.endTable();
      }
      // Once every table is written: a trigger of a later one may have changed an earlier one.
      meter.startVerifying();
      for (const w of written) counts.push({ name: w.loader.table, rows: await w.loader.verify(w.rows, meter) });
      return { tables: counts, skipped };
    }),
  );
}

// ---------------------------------------------------------------------------
// Dry runs

export interface SqlStatementInfo {
  /** "UPDATE", "DELETE FROM", "INSERT INTO", "CREATE TABLE", "SELECT", … */
  verb: string;
  /** The table (or other object) it names, when there is one. */
  target?: string;
  text: string;
  /** The engine commits it by itself (MySQL DDL): no transaction can take it back. */
  commitsAtOnce?: boolean;
}

export interface SqlDescription {
  statements: SqlStatementInfo[];
  /** "would run 2 statements: UPDATE x, DELETE FROM y" */
  summary: string;
}

/** Splits SQL text into statements at `;`, outside quotes and comments (a trigger body stays whole): sql-lexer.ts. */
export function splitSql(sql: string, dialect: Engine = "sqlite"): string[] {
  return splitStatements(sql, dialect).map((st) => st.text);
}

/** The statement without its comments (each one a space). */
function stripComments(text: string, dialect: Engine): string {
  return lexSql(text, dialect)
    .map((t) => (t.kind === "comment" ? " " : text.slice(t.start, t.end)))
    .join("")
    .trim();
}

const IDENT = String.raw`(?:` + "`[^`]*`" + String.raw`|"[^"]*"|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$]*)(?:\s*\.\s*(?:` + "`[^`]*`" + String.raw`|"[^"]*"|[A-Za-z_][A-Za-z0-9_$]*))?`;
const PATTERNS: [RegExp, string][] = [
  [new RegExp(String.raw`^(?:WITH\b[\s\S]*?\)\s*)?UPDATE\s+(?:OR\s+\w+\s+)?(?:LOW_PRIORITY\s+|IGNORE\s+)*(${IDENT})`, "i"), "UPDATE"],
  [new RegExp(String.raw`^(?:WITH\b[\s\S]*?\)\s*)?DELETE\s+(?:LOW_PRIORITY\s+|QUICK\s+|IGNORE\s+)*FROM\s+(${IDENT})`, "i"), "DELETE FROM"],
  [new RegExp(String.raw`^(?:WITH\b[\s\S]*?\)\s*)?(?:INSERT|REPLACE)\s+(?:OR\s+\w+\s+)?(?:LOW_PRIORITY\s+|DELAYED\s+|HIGH_PRIORITY\s+|IGNORE\s+)*(?:INTO\s+)?(${IDENT})`, "i"), "INSERT INTO"],
  [new RegExp(String.raw`^TRUNCATE\s+(?:TABLE\s+)?(${IDENT})`, "i"), "TRUNCATE TABLE"],
  [new RegExp(String.raw`^(CREATE|DROP|ALTER)\s+(?:TEMP\s+|TEMPORARY\s+|UNIQUE\s+|OR\s+REPLACE\s+)*(TABLE|INDEX|VIEW|TRIGGER|DATABASE|SCHEMA|PROCEDURE|FUNCTION)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(${IDENT})`, "i"), ""],
];

/** What a statement does, in a few words: { verb: "DELETE FROM", target: "y" }. */
export function classifySql(statement: string, dialect: Engine = "sqlite"): SqlStatementInfo {
  const text = statement.trim();
  const bare = stripComments(text, dialect);
  for (const [re, verb] of PATTERNS) {
    const m = re.exec(bare);
    if (!m) continue;
    if (verb === "") return { verb: `${m[1]!.toUpperCase()} ${m[2]!.toUpperCase()}`, target: unquote(m[3]!), text };
    if (verb === "INSERT INTO" && /^(?:WITH\b[\s\S]*?\)\s*)?REPLACE\b/i.test(bare)) return { verb: "REPLACE INTO", target: unquote(m[1]!), text };
    return { verb, target: unquote(m[1]!), text };
  }
  const word = /^[A-Za-z]+/.exec(bare)?.[0]?.toUpperCase() ?? "?";
  return { verb: word, text };
}

function unquote(name: string): string {
  return name.replace(/\s*\.\s*/g, ".").replace(/[`"[\]]/g, "");
}

/** For dry runs: the statements the SQL holds, and "would run N statements: UPDATE x, …". */
export function describeSql(sql: string, dialect: Engine = "sqlite"): SqlDescription {
  const statements = splitStatements(sql, dialect).map((st) => {
    const info = classifySql(st.text, dialect);
    if (commitsImplicitly(sql, st, dialect)) info.commitsAtOnce = true;
    return info;
  });
  const n = statements.length;
  const parts = statements.map((s) => (s.target ? `${s.verb} ${s.target}` : s.verb));
  const summary = n === 0 ? "would run no statement" : `would run ${n} statement${n === 1 ? "" : "s"}: ${parts.join(", ")}`;
  return { statements, summary };
}
