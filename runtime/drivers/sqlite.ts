// DatabaseDriver for a local SQLite file, over better-sqlite3. Used for
// `database X = sqlite "path"` without `on`, and by the remote SQLite driver for
// its local copy. better-sqlite3 is loaded on first open (createRequire keeps
// this module light for `runbook check`). The journal mode of the user's
// database is left as it is (WAL is never forced on it); a busy timeout is set
// so a running application holding a lock makes us wait instead of fail.

import { accessSync, constants, existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { DriverError, StatementError, type BoundStatement, type ColumnInfo, type DatabaseDriver, type FilesBeside, type Row, type SqlValue } from "./driver.js";
import { formatDateTime } from "../../language/sql/quote.js";

export interface SqliteOptions {
  /** Open read-only: writes fail with "attempt to write a readonly database". */
  readonly?: boolean;
  /** What to call the database in messages (default: the path). */
  label?: string;
  /** How long to wait on a locked database (default 10 s). */
  busyTimeoutMs?: number;
  /**
   * A missing file is created by the first write (`execute`, `transaction`), as the
   * sqlite3 program does; reading it before that still fails with "does not exist",
   * and nothing is created (a typo in a path read from must not leave a file behind).
   */
  createOnWrite?: boolean;
}

/** SQLITE_MAX_VARIABLE_NUMBER of the SQLite better-sqlite3 12 is built with (3.32 and later: 32766). */
const SQLITE_MAX_PARAMS = 32766;

type DatabaseConstructor = typeof BetterSqlite3;
let databaseClass: DatabaseConstructor | undefined;
function loadBetterSqlite3(): DatabaseConstructor {
  databaseClass ??= createRequire(import.meta.url)("better-sqlite3") as DatabaseConstructor;
  return databaseClass;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Opens an existing SQLite database file; a missing or unreadable file is a DriverError naming it. */
export function openSqlite(path: string, options: SqliteOptions = {}): DatabaseDriver {
  const readonly = options.readonly ?? false;
  if (options.createOnWrite && !readonly && !existsSync(path)) return new NotYetCreated(path, options);
  return open(path, options, true);
}

function open(path: string, options: SqliteOptions, mustExist: boolean): DatabaseDriver {
  const readonly = options.readonly ?? false;
  const label = options.label ?? path;
  if (mustExist) checkFile(path, readonly);
  const Database = loadBetterSqlite3();
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: mustExist, timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (e) {
    throw new DriverError(`cannot open SQLite database ${path}: ${errorText(e)}`, "open");
  }
  try {
    // Reading the schema is what fails on a file that is not a database.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (e) {
    db.close();
    throw new DriverError(`${path} is not a readable SQLite database: ${errorText(e)}`, "open");
  }
  return new SqliteDriver(db, label, path);
}

/**
 * A database file that does not exist yet: reads fail as for a missing file, the
 * first write creates it. A transaction begun while the file is missing creates
 * nothing by itself (export, a sync source: reads only): its reads fail, and its
 * first write, if any, creates the file and begins the transaction there.
 */
class NotYetCreated implements DatabaseDriver {
  readonly engine = "sqlite" as const;
  readonly maxParams = SQLITE_MAX_PARAMS;
  readonly label: string;
  private created?: DatabaseDriver;
  /** A transaction begun before the file existed; `finish` once a write has begun it for real. */
  private deferred: { finish?: (error: unknown) => Promise<void> } | undefined;

  constructor(
    private readonly path: string,
    private readonly options: SqliteOptions,
  ) {
    this.label = options.label ?? path;
  }

  /** The created database, or the file as it is now when something else made it meanwhile. */
  private forWrite(): DatabaseDriver {
    return (this.created ??= open(this.path, this.options, existsSync(this.path)));
  }

  private forRead(): DatabaseDriver {
    if (this.created) return this.created;
    if (existsSync(this.path)) return (this.created = open(this.path, this.options, true));
    throw new DriverError(`SQLite database ${this.path} does not exist`, "not-found");
  }

  query(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return Promise.resolve().then(() => this.forRead().query(sql, params));
  }
  probe(sql: string, params: SqlValue[]): Promise<Row[]> {
    return Promise.resolve().then(() => this.forRead().probe(sql, params));
  }
  async *stream(sql: string, batch: number): AsyncIterable<SqlValue[][]> {
    yield* this.forRead().stream(sql, batch);
  }
  runStatements(statements: readonly BoundStatement[]): Promise<{ affectedRows: number[] }> {
    return Promise.resolve().then(() => this.forWrite().runStatements(statements));
  }
  execute(sql: string, params?: SqlValue[]): Promise<{ affectedRows: number }> {
    return Promise.resolve().then(async () => {
      const db = this.forWrite();
      if (this.deferred && !this.deferred.finish) await this.beginDeferred(db);
      return db.execute(sql, params);
    });
  }

  /** Begins the deferred transaction on the database a write just created; it ends when that transaction's fn does. */
  private beginDeferred(db: DatabaseDriver): Promise<void> {
    const d = this.deferred!;
    return new Promise<void>((begun) => {
      let settle: (error: unknown) => void = () => undefined;
      const done = db.transaction(
        () =>
          new Promise<void>((resolve, reject) => {
            settle = (error) => (error === undefined ? resolve() : reject(error));
            begun();
          }),
      );
      d.finish = async (error) => {
        settle(error);
        await done.catch((e: unknown) => {
          if (error === undefined) throw e;
        });
      };
    });
  }
  tables(): Promise<string[]> {
    return Promise.resolve().then(() => this.forRead().tables());
  }
  columns(table: string): Promise<ColumnInfo[]> {
    return Promise.resolve().then(() => this.forRead().columns(table));
  }
  filesBeside(suffix: string): Promise<FilesBeside> {
    return filesBeside(this.path, suffix);
  }
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return Promise.resolve().then(async () => {
      if (this.created || existsSync(this.path)) return this.forWrite().transaction(fn);
      if (this.deferred) return fn(); // nested in a deferred one: part of it
      const d: { finish?: (error: unknown) => Promise<void> } = {};
      this.deferred = d;
      try {
        const result = await fn();
        await d.finish?.(undefined);
        return result;
      } catch (e) {
        await d.finish?.(e);
        throw e;
      } finally {
        this.deferred = undefined;
      }
    });
  }
  async close(): Promise<void> {
    await this.created?.close();
  }
}

/** The files in the folder of the database file at `path` whose names end in `suffix`; only those are read. */
async function filesBeside(path: string, suffix: string): Promise<FilesBeside> {
  const folder = dirname(resolve(path));
  const names = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => e.name);
  return {
    folder,
    names,
    read: async (name) => {
      if (!names.includes(name)) throw new DriverError(`${name} is not one of the files beside ${path}`, "internal");
      return readFile(join(folder, name));
    },
  };
}

function checkFile(path: string, readonly: boolean): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new DriverError(`SQLite database ${path} does not exist`, "not-found");
    if (code === "EACCES") throw new DriverError(`cannot read SQLite database ${path}: permission denied`, "permission");
    throw new DriverError(`cannot open SQLite database ${path}: ${errorText(e)}`, "open");
  }
  if (isDirectory) throw new DriverError(`${path} is a directory, not an SQLite database`, "open");
  try {
    accessSync(path, readonly ? constants.R_OK : constants.R_OK | constants.W_OK);
  } catch {
    throw new DriverError(
      `cannot ${readonly ? "read" : "read and write"} SQLite database ${path}: permission denied`,
      "permission",
    );
  }
}

/** better-sqlite3 binds numbers, bigints, strings, Buffers and null; not booleans or Dates. */
function bindValue(v: SqlValue | undefined): unknown {
  if (v === undefined) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof Date) return formatDateTime(v);
  return v;
}

/**
 * One turn of the event loop. better-sqlite3 never waits on I/O, so a stream read
 * (an export, a sync, a verify's read back) would otherwise keep the loop from
 * turning until it ends: no timer (progress), no signal (Ctrl-C), and none of
 * V8's garbage-collection tasks, which run between turns; without them the old
 * generation fills with tens of MB of garbage before a forced full collection.
 */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Integers come back as bigint (safeIntegers); those a number holds exactly become numbers. */
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function fromSqlite(v: unknown): SqlValue {
  if (typeof v === "bigint") return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  return v as SqlValue;
}

class SqliteDriver implements DatabaseDriver {
  readonly engine = "sqlite" as const;
  readonly maxParams = SQLITE_MAX_PARAMS;
  private depth = 0;
  private closed = false;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly db: BetterSqlite3.Database,
    readonly label: string,
    private readonly path: string,
  ) {}

  filesBeside(suffix: string): Promise<FilesBeside> {
    return filesBeside(this.path, suffix);
  }

  private fail(e: unknown): never {
    if (e instanceof DriverError) throw e;
    const code = (e as { code?: unknown }).code;
    throw new DriverError(`${this.label}: ${errorText(e)}`, typeof code === "string" ? code : "sqlite");
  }

  private open(): BetterSqlite3.Database {
    if (this.closed) throw new DriverError(`${this.label}: the database connection is closed`, "closed");
    return this.db;
  }

  async query(sql: string, params: SqlValue[] = []): Promise<Row[]> {
    try {
      const stmt = this.open().prepare(sql);
      if (!stmt.reader) {
        if (!stmt.readonly) {
          throw new DriverError(`${this.label}: query runs read-only statements, and this one changes the database`, "not-readonly");
        }
        stmt.run(...params.map(bindValue));
        return [];
      }
      stmt.safeIntegers(true);
      const rows = stmt.all(...params.map(bindValue)) as Record<string, unknown>[];
      return rows.map((r) => {
        const out: Row = {};
        for (const k of Object.keys(r)) out[k] = fromSqlite(r[k]);
        return out;
      });
    } catch (e) {
      this.fail(e);
    }
  }

  async *stream(sql: string, batch: number): AsyncIterable<SqlValue[][]> {
    let rows: IterableIterator<unknown[]>;
    try {
      const stmt = this.open().prepare(sql);
      if (!stmt.reader) throw new DriverError(`${this.label}: stream runs statements that return rows`, "internal");
      rows = stmt.safeIntegers(true).raw(true).iterate() as IterableIterator<unknown[]>;
    } catch (e) {
      this.fail(e);
    }
    try {
      let out: SqlValue[][] = [];
      for (;;) {
        let next: IteratorResult<unknown[]>;
        try {
          next = rows.next();
        } catch (e) {
          this.fail(e);
        }
        if (next.done) break;
        const r = next.value;
        for (let i = 0; i < r.length; i++) if (typeof r[i] === "bigint") r[i] = fromSqlite(r[i]);
        out.push(r as SqlValue[]);
        if (out.length >= batch) {
          yield out;
          out = [];
          await turn();
        }
      }
      if (out.length > 0) yield out;
    } finally {
      rows.return?.();
    }
  }

  async probe(sql: string, params: SqlValue[]): Promise<Row[]> {
    const db = this.open();
    let stmt: BetterSqlite3.Statement;
    try {
      stmt = db.prepare(sql);
    } catch (e) {
      this.fail(e);
    }
    if (!stmt.reader) throw new DriverError(`${this.label}: a query must be a statement that returns rows`, "not-readonly");
    const was = db.pragma("query_only", { simple: true }) as number;
    db.pragma("query_only = ON");
    try {
      return await this.query(sql, params);
    } finally {
      if (!was) db.pragma("query_only = OFF");
    }
  }

  /**
   * A statement prepared once and kept (a few, the last used): import and sync send
   * the same INSERT for every batch, and a statement's native memory is not what
   * makes V8 collect it, so a new one each time piles up (tens of MB at 1M rows).
   */
  private prepared(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (stmt) {
      this.statements.delete(sql);
    } else {
      stmt = this.open().prepare(sql);
      if (this.statements.size >= 8) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, stmt);
    return stmt;
  }

  async execute(sql: string, params?: SqlValue[]): Promise<{ affectedRows: number }> {
    try {
      const db = this.open();
      const changes = this.prepared("SELECT total_changes()").pluck();
      const before = Number(changes.get());
      if (params) this.prepared(sql).run(...params.map(bindValue));
      else db.exec(sql);
      return { affectedRows: Number(changes.get()) - before };
    } catch (e) {
      this.fail(e);
    }
  }

  async runStatements(statements: readonly BoundStatement[]): Promise<{ affectedRows: number[] }> {
    const affectedRows: number[] = [];
    let index = 0;
    try {
      await this.transaction(async () => {
        for (; index < statements.length; index++) {
          const st = statements[index]!;
          affectedRows.push((await this.execute(st.sql, st.params)).affectedRows);
        }
      });
    } catch (e) {
      if (index >= statements.length) throw e; // the COMMIT itself
      throw new StatementError(e instanceof Error ? e.message : String(e), index, []);
    }
    return { affectedRows };
  }

  async tables(): Promise<string[]> {
    try {
      return this.open()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")
        .pluck()
        .all() as string[];
    } catch (e) {
      this.fail(e);
    }
  }

  async columns(table: string): Promise<ColumnInfo[]> {
    let rows: { name: string; type: string; notnull: number; pk: number }[];
    try {
      rows = this.open().prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)").all(table) as typeof rows;
    } catch (e) {
      this.fail(e);
    }
    if (rows.length === 0) throw new DriverError(`${this.label}: no table named ${table}`, "no-table");
    return rows.map((r) => ({ name: r.name, type: r.type, nullable: r.notnull === 0 && r.pk === 0, primaryKey: r.pk > 0 }));
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const db = this.open();
    const depth = this.depth;
    const savepoint = `runbook_sp_${depth}`;
    try {
      db.exec(depth === 0 ? "BEGIN" : `SAVEPOINT ${savepoint}`);
    } catch (e) {
      this.fail(e);
    }
    this.depth++;
    try {
      const result = await fn();
      db.exec(depth === 0 ? "COMMIT" : `RELEASE ${savepoint}`);
      return result;
    } catch (e) {
      try {
        if (depth > 0) db.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
        else if (db.inTransaction) db.exec("ROLLBACK");
      } catch {
        // the original error is the one to report
      }
      this.fail(e);
    } finally {
      this.depth--;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
