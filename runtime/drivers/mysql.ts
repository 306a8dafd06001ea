// DatabaseDriver for MySQL/MariaDB over mysql2 (loaded on first open), from a
// `mysql://user@host[:port]/dbname` URL. The password never comes from the URL
// and never reaches a message: it is passed in options and scrubbed from every
// error text. `via HOST` gives a `stream` (an SSH forwardOut channel) that the
// protocol runs over instead of a TCP socket.
//
// One connection per driver, so session settings (FOREIGN_KEY_CHECKS during a
// sync, transactions) hold across calls. Values come back as text where text is
// exact: DATE/DATETIME/TIMESTAMP as strings, DECIMAL and unsafe BIGINT as
// strings, JSON as its text. NO_BACKSLASH_ESCAPES is turned off for the session
// so the literals of runtime/sql-quote.ts mean what they say.

import { PassThrough, type Duplex, type Readable } from "node:stream";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import type { Connection, ResultSetHeader } from "mysql2/promise";
import { commitsImplicitly, fileAccessWord, splitStatements } from "../../language/sql/lexer.js";
import { DriverError, StatementError, type BoundStatement, type ColumnInfo, type DatabaseDriver, type RawRows, type Row, type RowSink, type SqlValue } from "./driver.js";
import { rawTextRows, type CoreConnection } from "./mysql-raw-rows.js";
import { formatDateTime, quoteIdent, sqlQuote } from "../../language/sql/quote.js";
import { mysql } from "../../language/sql/mysql.js";
import { Redaction } from "../redact.js";
import { maskUrlPasswords } from "../../language/url-password.js";
import { mysqlUrlTls } from "../../language/mysql-url.js";
import { codeOf, connectMysql, describeError, MysqlConnectError, type MysqlConnectTarget } from "./mysql-connect.js";
import { mysqlUrlProblemText } from "../../language/messages.js";

export interface MysqlOptions {
  password?: string;
  /** The transport to use instead of TCP to host:port (the SSH driver's forwardOut stream). */
  stream?: () => Promise<Duplex>;
  /** What to call the database in messages (default: the URL, which never holds a password). */
  label?: string;
  connectTimeoutMs?: number;
  /** Where the URL's relative `ssl-ca`, `ssl-cert`, `ssl-key` paths start (default: the current directory). */
  cwd?: string;
}


/** Parses `mysql://user@host[:port]/dbname[?ssl-mode=…]`; a password in the URL is refused (and not repeated). */
export function parseMysqlUrl(url: string): MysqlConnectTarget {
  const shown = maskUrlPasswords(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DriverError(`not a MySQL URL: ${shown} (expected mysql://user@host[:port]/dbname)`, "url");
  }
  if (u.protocol !== "mysql:") throw new DriverError(`not a MySQL URL: ${shown} (expected mysql://user@host[:port]/dbname)`, "url");
  if (u.password !== "") {
    throw new DriverError(`the MySQL URL ${shown} holds a password; give it with \`password SECRET\` instead`, "url");
  }
  if (!u.username) throw new DriverError(`the MySQL URL ${shown} names no user (expected mysql://user@host[:port]/dbname)`, "url");
  if (u.hash) throw new DriverError(`the MySQL URL ${shown} has a #fragment this driver does not read`, "url");
  const tls = mysqlUrlTls(u.search);
  if ("problem" in tls) throw new DriverError(`the MySQL URL ${shown}: ${mysqlUrlProblemText(tls.problem)}`, "url");
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (database.includes("/")) throw new DriverError(`the MySQL URL ${shown} has more than a database name in its path`, "url");
  return {
    user: decodeURIComponent(u.username),
    host: u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    database,
    tls: tls.tls,
  };
}


function labelFor(t: MysqlConnectTarget): string {
  return `mysql://${t.user}@${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}/${t.database}`;
}

export async function openMysql(url: string, options: MysqlOptions = {}): Promise<DatabaseDriver> {
  const target = parseMysqlUrl(url);
  const label = options.label ?? labelFor(target);
  const scrub = makeScrubber(options.password);
  let conn: Connection;
  try {
    conn = await connectMysql(target, {
      label,
      password: options.password,
      stream: options.stream,
      cwd: options.cwd,
      connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
      extra: {
        multipleStatements: true,
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: false,
        jsonStrings: true,
        infileStreamFactory: (path: string) => infileStream(path),
      },
    });
  } catch (e) {
    if (e instanceof MysqlConnectError) throw new DriverError(scrub(`cannot connect to ${label}: ${e.reason}`), e.code);
    if (e instanceof DriverError) throw new DriverError(scrub(e.message), e.code);
    throw e;
  }
  const driver = new MysqlDriver(conn, label, scrub);
  try {
    await driver.init();
  } catch (e) {
    await driver.close();
    throw e;
  }
  return driver;
}

/**
 * What LOAD DATA LOCAL INFILE may read: only a stream that runbook itself
 * registered under the name it put in the statement (registerInfile), once.
 * A name the server asks for that is not that one is refused, so a server can
 * never make the client send one of its files.
 */
const infiles = new Map<string, () => Readable>();

export function registerInfile(name: string, open: () => Readable): () => void {
  infiles.set(name, open);
  return () => void infiles.delete(name);
}

function infileStream(path: string): Readable {
  const open = infiles.get(path);
  if (!open) {
    // An error of the stream (not a throw inside mysql2): the statement fails with it.
    const refused = new PassThrough();
    process.nextTick(() => refused.destroy(new DriverError(`the server asked for the file ${JSON.stringify(path)}, which runbook did not offer`, "infile")));
    return refused;
  }
  infiles.delete(path);
  return open();
}

/** Column types whose values a load sends in hex (UNHEX on the server): bytes, not text. */
const BINARY_TYPE = /^\s*(?:tiny|medium|long)?blob\b|^\s*(?:var)?binary\b|^\s*bit\b/i;


/** Bytes bound for a text column: their text when they are UTF-8, else a refusal naming the column. */
function loadText(v: Buffer, label: string, table: string, column: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(v);
  } catch {
    throw new DriverError(`${label}: ${table}.${column} is a text column, and a value for it is bytes that are not UTF-8 text`, "load");
  }
}

function makeScrubber(password: string | undefined): (text: string) => string {
  const redaction = new Redaction(password ? [password] : []);
  return (text) => redaction.redactMessage(text);
}

function bindValue(v: SqlValue | undefined): unknown {
  if (v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return formatDateTime(v);
  return v;
}

/**
 * mysql2's text-protocol parser builds a float of up to 17 characters digit by
 * digit, which can miss by an ulp (90.33333333333333 came back ...31). The
 * server's text is the shortest exact form: parse it with parseFloat instead.
 * (The binary protocol, used with parameters, sends the 8 bytes as they are.)
 */
function exactFloats(field: { type: string; string: () => string | null }, next: () => unknown): unknown {
  if (field.type === "DOUBLE" || field.type === "FLOAT") {
    const text = field.string();
    return text === null ? null : Number.parseFloat(text);
  }
  return next();
}

function isHeader(x: unknown): x is ResultSetHeader {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "affectedRows" in x && "fieldCount" in x;
}

class MysqlDriver implements DatabaseDriver {
  readonly engine = "mysql" as const;
  /** The protocol counts a prepared statement's parameters in 16 bits. */
  readonly maxParams = 65535;
  private depth = 0;
  private closed = false;
  private lost: string | undefined;
  /** Whether the server takes LOAD DATA LOCAL INFILE (asked once). */
  private localInfile: boolean | undefined;
  /** Ends the bulk load under way, if any. */
  private loading: (() => Promise<void>) | undefined;

  constructor(
    private readonly conn: Connection,
    readonly label: string,
    private readonly scrub: (text: string) => string,
  ) {
    // Without a listener a dropped connection would be an uncaught 'error' event.
    conn.on("error", (e: unknown) => {
      this.lost = describeError(e);
    });
  }

  async init(): Promise<void> {
    const rows = await this.query("SELECT @@SESSION.sql_mode AS mode");
    const mode = String(rows[0]?.mode ?? "");
    const modes = mode.split(",").filter((m) => m !== "" && m !== "NO_BACKSLASH_ESCAPES");
    if (modes.join(",") !== mode) await this.execute(`SET SESSION sql_mode = '${modes.join(",")}'`);
  }

  private fail(e: unknown): never {
    if (e instanceof DriverError) throw e;
    throw new DriverError(this.scrub(`${this.label}: ${describeError(e)}`), codeOf(e) ?? "mysql");
  }

  private live(): Connection {
    if (this.closed) throw new DriverError(`${this.label}: the database connection is closed`, "closed");
    if (this.lost !== undefined) throw new DriverError(this.scrub(`${this.label}: the connection was lost: ${this.lost}`), "lost");
    return this.conn;
  }

  async query(sql: string, params: SqlValue[] = [], prepared = params.length > 0): Promise<Row[]> {
    try {
      const conn = this.live();
      // Without parameters: the text protocol, so a `?` inside a literal stays a `?`.
      const [result] = prepared ? await conn.execute(sql, params.map(bindValue) as never) : await conn.query({ sql, typeCast: exactFloats });
      if (!Array.isArray(result)) return [];
      // Several statements: one entry per statement; the rows are the last result set.
      if (result.length > 0 && (Array.isArray(result[0]) || isHeader(result[0]))) {
        const sets = (result as unknown[]).filter((r) => Array.isArray(r));
        return (sets[sets.length - 1] ?? []) as Row[];
      }
      return result as Row[];
    } catch (e) {
      this.fail(e);
    }
  }

  /** One query whose rows mysql2 streams (the socket paused while a batch waits): memory stays a batch. */
  async *stream(sql: string, batch: number): AsyncIterable<SqlValue[][]> {
    let rows: Readable;
    try {
      const core = (this.live() as unknown as { connection: { query(o: object): { stream(o: object): Readable } } }).connection;
      rows = core.query({ sql, rowsAsArray: true, typeCast: exactFloats }).stream({ highWaterMark: batch });
    } catch (e) {
      this.fail(e);
    }
    let out: SqlValue[][] = [];
    // Rows taken with read() as long as it has one, a wait only when the stream is
    // empty: an async iterator would cost a promise and a turn of the microtask
    // queue per row (a tenth of an export's time at a million rows).
    let failed: { error: unknown } | undefined;
    rows.on("error", (e: unknown) => (failed ??= { error: e }));
    try {
      for (;;) {
        let row: unknown;
        while ((row = rows.read()) !== null) {
          out.push(row as SqlValue[]);
          if (out.length >= batch) {
            yield out;
            out = [];
          }
        }
        if (failed) throw failed.error;
        if (rows.readableEnded) break;
        await new Promise<void>((resolve) => {
          const go = () => {
            rows.off("readable", go);
            rows.off("end", go);
            rows.off("error", go);
            resolve();
          };
          rows.on("readable", go);
          rows.on("end", go);
          rows.on("error", go);
        });
      }
    } catch (e) {
      this.fail(e);
    } finally {
      // Broken off: the rest of the result is read and dropped, so the connection serves the next call.
      if (!rows.readableEnded && !rows.destroyed) {
        rows.resume();
        await new Promise<void>((done) => {
          rows.once("end", done);
          rows.once("error", () => done());
          rows.once("close", done);
        });
      }
    }
    if (out.length > 0) yield out;
  }

  /** The rows as the protocol's bytes (the csv export's speed path): mysql-raw-rows.ts. */
  async rawTextRows(sql: string, batch: number): Promise<RawRows | undefined> {
    let core: CoreConnection;
    try {
      core = (this.live() as unknown as { connection: CoreConnection }).connection;
    } catch (e) {
      this.fail(e);
    }
    return rawTextRows(core, sql, batch, this.label, (e) => this.fail(e));
  }

  async execute(sql: string, params?: SqlValue[]): Promise<{ affectedRows: number }> {
    try {
      // With parameters: a prepared statement, so each value is bound, never spliced.
      const [result] = params ? await this.live().execute(sql, params.map(bindValue) as never) : await this.live().query(sql);
      const parts: unknown[] = Array.isArray(result) && result.length > 0 && isHeader(result[0]) ? result : [result];
      let affectedRows = 0;
      for (const p of parts) if (isHeader(p)) affectedRows += p.affectedRows;
      return { affectedRows };
    } catch (e) {
      this.fail(e);
    }
  }

  async probe(sql: string, params: SqlValue[]): Promise<Row[]> {
    const word = fileAccessWord(sql, "mysql");
    if (word) throw new DriverError(`${this.label}: a query must not read or write files on the server (${word})`, "not-readonly");
    if (this.depth > 0) throw new DriverError(`${this.label}: a query cannot run inside a transaction`, "internal");
    // A statement MySQL commits by itself (DDL) would end the READ ONLY transaction first, and run.
    const own = splitStatements(sql, "mysql")[0];
    if (own !== undefined && commitsImplicitly(sql, own, "mysql")) {
      throw new DriverError(`${this.label}: query runs read-only statements, and this one changes the database`, "not-readonly");
    }
    await this.execute("START TRANSACTION READ ONLY");
    try {
      // A prepared statement is one statement: nothing after it can end the READ ONLY transaction.
      return await this.query(sql, params, true);
    } finally {
      await this.execute("ROLLBACK").catch(() => undefined);
    }
  }

  async runStatements(statements: readonly BoundStatement[]): Promise<{ affectedRows: number[] }> {
    const affectedRows: number[] = [];
    /** Statements committed for good: all up to the last one that commits by itself. */
    let committed = 0;
    let index = 0;
    try {
      await this.transaction(async () => {
        for (; index < statements.length; index++) {
          const st = statements[index]!;
          const own = splitStatements(st.sql, "mysql")[0];
          const implicit = own !== undefined && commitsImplicitly(st.sql, own, "mysql");
          if (implicit) committed = index; // MySQL commits what came before as it starts
          affectedRows.push((await this.execute(st.sql, st.params)).affectedRows);
          if (implicit) committed = index + 1;
        }
      });
    } catch (e) {
      if (index >= statements.length) throw e; // the COMMIT itself
      const applied = Array.from({ length: committed }, (_, i) => i);
      throw new StatementError(e instanceof Error ? e.message : String(e), index, applied);
    }
    return { affectedRows };
  }

  /**
   * LOAD DATA LOCAL INFILE from a stream of CSV that this sink writes: fields in
   * `"` where they are text (`"` doubled), NULL a bare NULL, no escape character,
   * a line per row; blob columns in hex, read through UNHEX. The file name in the
   * statement is a fresh random one, and the only one the driver hands a stream
   * for (registerInfile). undefined when the server does not allow local_infile.
   */
  async loadRows(table: string, columns: readonly ColumnInfo[]): Promise<RowSink | undefined> {
    if (columns.length === 0) return undefined;
    if (this.localInfile === undefined) {
      const [row] = await this.query("SELECT @@GLOBAL.local_infile AS v");
      this.localInfile = Number(row?.v ?? 0) === 1;
    }
    if (!this.localInfile) return undefined;
    const name = `runbook-load-${randomBytes(12).toString("hex")}`;
    const feed = new PassThrough({ highWaterMark: 1 << 16 });
    const unregister = registerInfile(name, () => feed);
    const binary = columns.map((c) => BINARY_TYPE.test(c.type));
    const q = (n: string) => quoteIdent(n, "mysql");
    // LOAD DATA reads every field as text, and a YEAR's text '0' is 2000 where the number 0 is 0000.
    const year = columns.map((c) => mysql.yearType!.test(c.type));
    const list = columns.map((c, i) => (binary[i] || year[i] ? `@runbook_${i}` : q(c.name))).join(", ");
    const sets = columns.flatMap((c, i) =>
      binary[i] ? [`${q(c.name)} = UNHEX(@runbook_${i})`] : year[i] ? [`${q(c.name)} = CAST(@runbook_${i} AS SIGNED)`] : [],
    );
    const sql =
      `LOAD DATA LOCAL INFILE ${sqlQuote(name, "mysql")} INTO TABLE ${q(table)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\n' (${list})` +
      (sets.length > 0 ? ` SET ${sets.join(", ")}` : "");
    let failed: unknown;
    const done = this.loadStatement(sql).catch((e: unknown) => {
      failed = e;
      feed.destroy();
      throw e;
    });
    done.catch(() => undefined); // reported by add() or end()
    let text = "";
    const field = (v: SqlValue | undefined, i: number): string => {
      if (v === null || v === undefined) return "NULL";
      if (binary[i]) return (Buffer.isBuffer(v) ? v : Buffer.from(typeof v === "string" ? v : field(v, -1).replace(/^"|"$/g, ""), "utf8")).toString("hex");
      if (typeof v === "string") return `"${v.includes('"') ? v.replaceAll('"', '""') : v}"`;
      if (typeof v === "number" || typeof v === "bigint") return String(v);
      if (typeof v === "boolean") return v ? "1" : "0";
      if (v instanceof Date) return `"${formatDateTime(v)}"`;
      return field(loadText(v, this.label, table, columns[i]!.name), i);
    };
    // mysql2 writes what the feed gives it to the connection at once, whatever the
    // socket holds: the socket's own queue is what says the server is behind.
    const socket = (this.conn as unknown as { connection: { stream: Duplex } }).connection.stream;
    const send = async (chunk: Buffer): Promise<void> => {
      if (failed !== undefined) await done;
      if (!feed.write(chunk)) await Promise.race([once(feed, "drain"), done]);
      if (socket.writableLength > 1 << 20) await Promise.race([once(socket, "drain"), done]);
    };
    const sendText = (): Promise<void> => {
      const chunk = Buffer.from(text, "utf8");
      text = "";
      return send(chunk);
    };
    // Ended early by a failure elsewhere (the transaction rolls back): the statement
    // ends with what was sent, so the connection is free for the ROLLBACK.
    this.loading = async () => {
      this.loading = undefined;
      unregister();
      feed.end();
      await done.catch(() => undefined);
    };
    return {
      add: (row) => {
        let line = "";
        for (let i = 0; i < row.length; i++) line += (i > 0 ? "," : "") + field(row[i], i);
        text += line + "\n";
        return text.length >= 1 << 16 ? sendText() : undefined;
      },
      // Records go in as they are only where every field is the column's own text:
      // a binary or BIT column is read as hex (UNHEX), which a record does not hold.
      addRecords: binary.includes(true)
        ? undefined
        : (records) => {
            if (text.length > 0) throw new Error("addRecords after add: the rows would go out of order");
            return records.length > 0 ? send(records) : undefined;
          },
      end: async () => {
        try {
          if (text.length > 0) await sendText();
          feed.end();
          return await done;
        } finally {
          this.loading = undefined;
          unregister();
        }
      },
    };
  }

  /**
   * Runs a LOAD DATA LOCAL statement; its rows taken. LOCAL makes the server turn
   * a value it refuses into a warning (it cannot stop the file mid-way) and store
   * something else: a warning is the statement's failure here, in the server's words.
   */
  private async loadStatement(sql: string): Promise<number> {
    let header: ResultSetHeader;
    try {
      [header] = (await this.live().query(sql)) as unknown as [ResultSetHeader];
    } catch (e) {
      this.fail(e);
    }
    if (header.warningStatus > 0) {
      const warnings = await this.query("SHOW WARNINGS LIMIT 5");
      const first = warnings.find((w) => w.Level !== "Note");
      if (first) throw new DriverError(this.scrub(`${this.label}: ${String(first.Message)}`), `mysql-${String(first.Code)}`);
    }
    return header.affectedRows;
  }

  async tables(): Promise<string[]> {
    const rows = await this.query(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    );
    return rows.map((r) => String(r.name));
  }

  async columns(table: string): Promise<ColumnInfo[]> {
    const rows = await this.query(
      "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_KEY AS ckey " +
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
      [table],
    );
    if (rows.length === 0) throw new DriverError(`${this.label}: no table named ${table}`, "no-table");
    return rows.map((r) => ({
      name: String(r.name),
      type: String(r.type),
      nullable: r.nullable === "YES",
      primaryKey: r.ckey === "PRI",
    }));
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const depth = this.depth;
    const savepoint = `runbook_sp_${depth}`;
    await this.execute(depth === 0 ? "START TRANSACTION" : `SAVEPOINT ${savepoint}`);
    this.depth++;
    try {
      const result = await fn();
      await this.execute(depth === 0 ? "COMMIT" : `RELEASE SAVEPOINT ${savepoint}`);
      return result;
    } catch (e) {
      try {
        await this.loading?.();
        await this.execute(depth === 0 ? "ROLLBACK" : `ROLLBACK TO SAVEPOINT ${savepoint}`);
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
    await this.loading?.();
    this.closed = true;
    try {
      if (this.lost === undefined) await this.conn.end();
      else this.conn.destroy();
    } catch {
      this.conn.destroy();
    }
  }
}
