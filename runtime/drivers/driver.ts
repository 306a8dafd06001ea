// The one interface between the executor and the outside world. The executor,
// the dry run and the probes only ever talk to a HostDriver or a DatabaseDriver;
// the implementations (local shell, ssh2, better-sqlite3, mysql2) live in this
// folder and are the only modules that import those libraries.

import type { Engine } from "../../language/sql/index.js";
import type { SqlValue } from "../../language/sql/quote.js";

export type { SqlValue };

export interface ExecOptions {
  /** Called with output as it comes, never buffered to the end. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Kill the command (its whole process group) after this long: TERM, then KILL. */
  timeoutMs?: number;
  /** Aborting ends the command the same way as a timeout (Ctrl-C, a dropped run). */
  signal?: AbortSignal;
  /** Run as this user through `sudo -n -u USER`. */
  asUser?: string;
  /** Bytes to write to the command's stdin, then close it. */
  stdin?: string | Buffer;
  /**
   * The values the command refers to as `${__rb_1}`, `${__rb_2}`, … (the planner's
   * references): handed over apart from its text, never spliced into it
   * (runtime/command-values.ts).
   */
  values?: readonly string[];
  /** Called once the command has started, with what finds it again (the journal keeps it for resume). */
  onStarted?: (started: StartedCommand) => void;
}

/** What identifies a running command: locally its process group, on a host its exec id. */
export interface StartedCommand {
  pid?: number;
  pgid?: number;
  /** Locally: the boot id and the leader's start time, so a reused pid is not mistaken for it. */
  startToken?: string;
  /** On a host: the RUNBOOK_EXEC_ID token its shell exports. */
  execId?: string;
  /** On a host, through sudo: the user it runs as (then found by pid and pgid, not by exec id). */
  asUser?: string;
}

export interface ExecResult {
  /** null when the process ended by a signal or never ran. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The command was ended because ExecOptions.signal was aborted. */
  aborted: boolean;
  durationMs: number;
}

export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  isDirectory: boolean;
}

/** A machine that steps run on: the local one, or a remote host over SSH. */
export interface HostDriver {
  /** What to call this host in messages and prefixes ("local", "portal", "app@w1:22"). */
  readonly label: string;
  /** This machine: its commands keep their status files in the local folder (supervisor.ts), not in the host's. */
  readonly local?: boolean;
  /** `sh -c command` (locally) or an exec channel (remotely). */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  readFile(path: string): Promise<Buffer>;
  /** Atomic: written to a temp file beside `path`, then renamed; mode and owner kept when it existed. */
  writeFile(path: string, data: Buffer | string, options?: { mode?: number }): Promise<void>;
  /** null when the path does not exist. */
  stat(path: string): Promise<FileStat | null>;
  /** Copy a local file to this host (SFTP remotely, a copy locally). */
  upload(localPath: string, remotePath: string): Promise<void>;
  /** Copy a file from this host to the local machine. */
  download(remotePath: string, localPath: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Whether a command started earlier (by another runbook process, say one killed
   * with kill -9) is still running here, found by what onStarted reported (its exec
   * id, or its process group under sudo). Drivers that cannot tell leave it out.
   */
  commandState?(command: StartedCommand): Promise<"running" | "gone">;
  /** Ends such a command's process group: TERM, then KILL after a grace period; resolves when it is gone. */
  endCommand?(command: StartedCommand): Promise<void>;
}

export type Row = Record<string, SqlValue>;

export interface ColumnInfo {
  name: string;
  /** The engine's declared type, as text (e.g. "INTEGER", "varchar(255)"). */
  type: string;
  nullable: boolean;
  primaryKey: boolean;
}

/** A database that `sql`, `query`, `export`, `import` and `sync` talk to. */
export interface DatabaseDriver {
  readonly engine: Engine;
  readonly label: string;
  /**
   * The most `?` one statement given to execute() may bind, inside transaction() too
   * (import and sync send their rows so); 0 where a transaction's statements cannot
   * have parameters (SQLite on a host queues them into one script).
   */
  readonly maxParams: number;
  /** Rows of a read-only statement that runbook wrote itself. */
  query(sql: string, params?: SqlValue[]): Promise<Row[]>;
  /**
   * The rows of a read-only statement runbook wrote itself, each an array in the
   * order of its columns, streamed in batches of about `batch` rows: memory holds
   * one batch however many rows there are (export, import and sync read whole
   * tables so). Until the iteration ends (or is broken off) the driver serves no
   * other call.
   */
  stream(sql: string, batch: number): AsyncIterable<SqlValue[][]>;
  /**
   * Rows of a runbook's `query` (a probe): read-only by construction, not by trust
   * in its text: MySQL runs it in a READ ONLY transaction and refuses what reads or
   * writes a server file (INTO OUTFILE, DUMPFILE, LOAD_FILE); SQLite with
   * `query_only`, and only a statement that returns rows.
   */
  probe(sql: string, params: SqlValue[]): Promise<Row[]>;
  /**
   * Run SQL that runbook wrote itself (one or more statements); rows changed in all.
   * With `params`, one statement whose `?` are bound to them.
   */
  execute(sql: string, params?: SqlValue[]): Promise<{ affectedRows: number }>;
  /**
   * A `sql` statement's statements, in one transaction, each with its bound
   * parameters: all of them or none (but what the engine commits by itself, which
   * StatementError names). Rows changed by each.
   */
  runStatements(statements: readonly BoundStatement[]): Promise<{ affectedRows: number[] }>;
  /**
   * A bulk load into `table` (`columns`, in this order) where the engine has one
   * faster than INSERT (MySQL: LOAD DATA LOCAL INFILE fed from a stream): the rows
   * travel as data, never as SQL text. undefined where there is none (INSERT then).
   * Until the sink ends the driver serves no other call.
   */
  loadRows?(table: string, columns: readonly ColumnInfo[]): Promise<RowSink | undefined>;
  /**
   * A speed path of export (MySQL): the rows of a read-only statement runbook
   * wrote itself as the text protocol's bytes, never decoded into values. Resolves
   * once the result's columns are known; undefined when the driver could not take
   * the rows so (then the statement has been read to its end and nothing was
   * handed out: read the plain way). Until the batches end (or discard()) the
   * driver serves no other call.
   */
  rawTextRows?(sql: string, batch: number): Promise<RawRows | undefined>;
  /**
   * SQLite: the files in the database file's folder whose names end in `suffix`
   * (web2py's `.table` files: runtime/web2py-tables.ts), on the machine the file
   * is on. Other drivers leave it out.
   */
  filesBeside?(suffix: string): Promise<FilesBeside>;
  tables(): Promise<string[]>;
  columns(table: string): Promise<ColumnInfo[]>;
  /** Run fn inside one transaction; rolled back when it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Files beside a database file (DatabaseDriver.filesBeside). */
export interface FilesBeside {
  /** The folder, as messages name it. */
  folder: string;
  names: string[];
  read(name: string): Promise<Buffer>;
}

/** Thrown by drivers for failures an operator must read: the message is the whole story. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly code: string = "driver",
  ) {
    super(message);
    this.name = "DriverError";
  }
}

/** One SQL statement and the values bound to its `?`, in order. */
export interface BoundStatement {
  sql: string;
  params: SqlValue[];
}

/**
 * A statement of runStatements failed: `index` is which (0-based). The others were
 * rolled back, except `applied`: statements the engine committed by itself before
 * the failure (MySQL commits around DDL), which stay.
 */
export class StatementError extends DriverError {
  constructor(
    message: string,
    readonly index: number,
    readonly applied: readonly number[],
    code = "statement",
  ) {
    super(message, code);
    this.name = "StatementError";
  }
}

/** Rows given one by one to a bulk load (DatabaseDriver.loadRows). */
export interface RowSink {
  /** Takes a row (values in the columns' order); a promise when the server must catch up first. */
  add(row: readonly SqlValue[]): Promise<void> | undefined;
  /**
   * Takes rows already in the load's own form, where the engine's load has one (MySQL:
   * fields separated by `,`, each `"…"` with `""` for a quote or a bare NULL, a record
   * ending in LF; the columns' order): runtime/data-import-bytes.ts writes them.
   * Absent where a column's field would need another form (MySQL: a binary column's hex).
   */
  addRecords?(records: Buffer): Promise<void> | undefined;
  /** Sends the rest and ends the load; the number of rows the table took. */
  end(): Promise<number>;
}

/**
 * What a result column's bytes are in rawTextRows, said by what stream() gives
 * for the same bytes:
 * - text: a string, the bytes read as UTF-8;
 * - ascii: a string of ASCII characters, the bytes as they are (decimals, dates, times);
 * - integer: the number the digits say, or (beyond 2^53) the text as sent;
 * - float: Number.parseFloat of the text;
 * - bytes: a Buffer of the bytes;
 * - other: anything else (rawTextRows gives no promise about it).
 */
export type RawColumnKind = "text" | "ascii" | "integer" | "float" | "bytes" | "other";

export interface RawColumn {
  name: string;
  kind: RawColumnKind;
}

/** Rows as the protocol's bytes: per row and column a length-coded string (0xFB: NULL), rows back to back. */
export interface RawRowBatch {
  bytes: Buffer;
  rows: number;
}

/** The result of DatabaseDriver.rawTextRows. */
export interface RawRows {
  readonly columns: readonly RawColumn[];
  /** The rows in batches of about the asked number of rows; breaking off reads the rest and drops it. */
  batches(): AsyncIterable<RawRowBatch>;
  /** Reads the rest of the result and drops it (the batches never taken). */
  discard(): Promise<void>;
}

/** rawTextRows lost its hold on the rows after it began (they came as values): what was read must be read again the plain way. */
export class RawRowsLost extends DriverError {
  constructor(label: string) {
    super(`${label}: the rows stopped coming as the protocol's bytes`, "raw-rows-lost");
    this.name = "RawRowsLost";
  }
}
