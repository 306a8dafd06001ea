// DatabaseDriver for `database X = sqlite "path" on HOST`: an SQLite file on
// another machine, reached only through a HostDriver.
//
// Reads (query, tables, columns) run on a local copy. The copy is made
// consistent on the host first (`sqlite3 PATH` + `.backup` into a private temp
// file, which honours the database's locks and its WAL), then downloaded and
// opened with the local SQLite driver. Outside a transaction every read fetches
// a fresh copy, so a probe or a `wait until query …` sees the current data;
// inside transaction() one copy serves every read, which is what export and
// sync want (one snapshot, one download). When the host has no sqlite3, the file
// and its -wal are downloaded as they are, and a note says so.
//
// Writes (execute) run the host's `sqlite3` program with the SQL on stdin and
// fail with a clear message when it is missing. Inside transaction(), writes
// are queued into a script file (local, private, appended as they come, so a
// million rows never sit in memory), sent to the host in parts as it grows (each
// part a private temp file there, so the upload's buffers die while the rows are
// still being written instead of piling up in one upload at the end) and, when fn
// returns, run as one `BEGIN IMMEDIATE; .read PART1; .read PART2 …; COMMIT`
// (sqlite3 -bail: the first error ends it, and the open transaction dies with the
// process). Each is also run on the transaction's
// local copy as it is queued, so reads in the transaction see the transaction's
// writes (as they would on the database itself: `import` and `sync` read a table
// back to verify it before the script is sent), a statement the database refuses
// fails at once, and affectedRows are those on the copy. The copy runs with
// foreign keys off, as the host's sqlite3 does.

import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, truncate } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { lexSql } from "../../language/sql/lexer.js";
import { DriverError, StatementError, type BoundStatement, type ColumnInfo, type DatabaseDriver, type FilesBeside, type HostDriver, type Row, type SqlValue } from "./driver.js";
import { openSqlite } from "./sqlite.js";
import { shellQuote } from "../quote.js";
import { sqlLiteral } from "../../language/sql/quote.js";

export interface RemoteSqliteOptions {
  /** Told things the operator should know (the fallback copy without sqlite3). */
  onNote?: (message: string) => void;
  /** Where the consistent copy is made on the host (default /tmp). */
  remoteTempDir?: string;
  /** How long sqlite3 on the host waits on a locked database (default 10 s). */
  busyTimeoutMs?: number;
  /** How much of a transaction's script is sent to the host at a time (default 2 MiB; tests make it small). */
  scriptPartBytes?: number;
}

// Each part's upload leaves its SFTP packets as garbage that only a scavenge frees, and
// little JS runs during an upload: at 8 MiB they peaked at ~56 MB of external memory
// (1M rows), at 2 MiB at ~32 MB, the level of the row phase itself.
const SCRIPT_PART_BYTES = 2 * 1024 * 1024;
/** A temp file of ours this old on a host is an earlier run's, left by a kill. */
const STALE_MINUTES = 24 * 60;

const CHANGES_MARK = "__runbook_changes__:";
const DONE_MARK = "__runbook_done__:";

/** A value as the parameter table holds it: text as hex bytes cast to TEXT, so no value is ever SQL text. */
function paramLiteral(v: SqlValue): string {
  return typeof v === "string" ? `CAST(X'${Buffer.from(v, "utf8").toString("hex")}' AS TEXT)` : sqlLiteral(v, "sqlite");
}

/** The statement with its `?` numbered `?N` from `first + 1` on (the shell binds by those names); `add` records its values. */
function numberParams(sql: string, count: number, first: number, add: () => void): string {
  let out = "";
  let from = 0;
  let n = first;
  for (const t of lexSql(sql, "sqlite")) {
    if (t.kind !== "param") continue;
    if (t.end - t.start !== 1) throw new DriverError(`a statement has a parameter of its own (${sql.slice(t.start, t.end)})`, "internal");
    out += sql.slice(from, t.start) + `?${++n}`;
    from = t.end;
  }
  if (n - first !== count) throw new DriverError(`a statement has ${n - first} parameters for ${count} values`, "internal");
  add();
  return out + sql.slice(from);
}

/** The exit status of the copy command when the database is not there (any more). */
const GONE_EXIT = 66;

export function openRemoteSqlite(
  host: HostDriver,
  remotePath: string,
  label: string,
  options: RemoteSqliteOptions = {},
): DatabaseDriver {
  return new RemoteSqliteDriver(host, remotePath, label, options);
}

interface Snapshot {
  db: DatabaseDriver;
  dir: string;
}

/**
 * A transaction's queued writes: the whole script in a local file (`bytes` long),
 * of which the first `sent` bytes are on the host already, as `parts` (each a temp
 * file there holding the script from the previous part's end to its own `end`;
 * parts end between two queued writes, never inside one).
 */
interface Pending {
  dir: string;
  file: string;
  bytes: number;
  /** Names this transaction's parts on the host. */
  id: string;
  parts: { remote: string; end: number; error?: unknown }[];
  sent: number;
  /** The upload of the last part, while the rows go on (never rejects: a failure is kept on its part). */
  uploading: Promise<void> | undefined;
}

class RemoteSqliteDriver implements DatabaseDriver {
  readonly engine = "sqlite" as const;
  /** A transaction's writes are queued into one script: without parameters (import and sync send literals). */
  readonly maxParams = 0;
  private hasSqlite3: boolean | undefined;
  private depth = 0;
  /** The copy that serves reads during a transaction (a promise, so concurrent reads share it). */
  private snapshot: Promise<Snapshot> | undefined;
  /** Writes queued by execute() during a transaction: a local script file, and its size. */
  private pending: Pending | undefined;
  private closed = false;
  /** Stale temp files of earlier runs looked for (sweepStale), once per database written to. */
  private swept = false;

  constructor(
    private readonly host: HostDriver,
    private readonly path: string,
    readonly label: string,
    private readonly options: RemoteSqliteOptions,
  ) {}

  private get where(): string {
    return `${this.path} on ${this.host.label}`;
  }

  private checkOpen(): void {
    if (this.closed) throw new DriverError(`${this.label}: the database connection is closed`, "closed");
  }

  /** Runs a command on the host, collecting its output. */
  private async run(command: string, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const result = await this.host.exec(command, {
      stdin,
      onStdout: (c) => (stdout += c),
      onStderr: (c) => (stderr += c),
    });
    const code = result.timedOut || result.aborted ? null : result.exitCode;
    return { code, stdout, stderr };
  }

  private async sqlite3Available(): Promise<boolean> {
    if (this.hasSqlite3 === undefined) {
      const r = await this.run("command -v sqlite3 >/dev/null 2>&1");
      this.hasSqlite3 = r.code === 0;
    }
    return this.hasSqlite3;
  }

  /** sqlite3 would create an empty database at a missing path: never let it. */
  private async checkExists(): Promise<void> {
    const st = await this.host.stat(this.path);
    if (st === null) throw new DriverError(`SQLite database ${this.where} does not exist`, "not-found");
    if (st.isDirectory) throw new DriverError(`${this.where} is a directory, not an SQLite database`, "open");
  }

  private async fetchCopy(): Promise<Snapshot> {
    this.checkOpen();
    await this.checkExists();
    const dir = await mkdtemp(join(tmpdir(), "runbook-sqlite-"));
    const local = join(dir, "copy.sqlite");
    try {
      if (await this.sqlite3Available()) {
        const tempDir = this.options.remoteTempDir ?? "/tmp";
        const remoteCopy = `${tempDir}/runbook-${randomBytes(8).toString("hex")}.sqlite`;
        try {
          // umask 077: the copy of a production database is nobody else's to read.
          // Checked again in the same command: sqlite3 would create a file deleted since checkExists().
          const r = await this.run(
            `test -e ${shellQuote(this.path)} || exit ${GONE_EXIT}; umask 077 && sqlite3 -batch -bail ${shellQuote(this.path)}`,
            `.timeout ${this.options.busyTimeoutMs ?? 10_000}\n.backup '${remoteCopy}'\n`,
          );
          if (r.code === GONE_EXIT) throw new DriverError(`SQLite database ${this.where} does not exist`, "not-found");
          if (r.code !== 0) {
            throw new DriverError(`${this.label}: cannot copy ${this.where}: ${oneLine(r.stderr || r.stdout) || `sqlite3 exited with ${r.code}`}`, "copy");
          }
          await this.host.download(remoteCopy, local);
        } finally {
          await this.run(`rm -f ${shellQuote(remoteCopy)}`).catch(() => undefined);
        }
      } else {
        await this.host.download(this.path, local);
        const wal = await this.host.stat(`${this.path}-wal`);
        if (wal !== null) await this.host.download(`${this.path}-wal`, `${local}-wal`);
        this.options.onNote?.(
          `sqlite3 is not installed on ${this.host.label}: copied ${this.path}${wal ? " and its -wal" : ""} as they are, ` +
            `which is consistent only if nothing wrote to ${this.label} meanwhile`,
        );
      }
      // Opened read-write: it is our copy, and a -wal beside it must be replayed.
      return { db: openSqlite(local, { label: this.label }), dir };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      if (e instanceof DriverError) throw e;
      throw new DriverError(`${this.label}: cannot copy ${this.where}: ${e instanceof Error ? e.message : String(e)}`, "copy");
    }
  }

  /** The transaction's copy: fetched once, with the writes queued so far applied to it. */
  private transactionCopy(): Promise<Snapshot> {
    this.snapshot ??= (async () => {
      const s = await this.fetchCopy();
      try {
        await s.db.execute("PRAGMA foreign_keys = OFF");
        // SQLite's default page cache here is 16 MB (better-sqlite3's build): the copy is
        // written in order and read back once, which 2 MB serves; at 1M rows the rest
        // was a tenth of the process's peak memory.
        await s.db.execute("PRAGMA cache_size = -2048");
        // Fetched again after an inner transaction failed: the writes that stay, once more.
        if (this.pending && this.pending.bytes > 0) await s.db.execute((await readFile(this.pending.file, "utf8")).slice(0, this.pending.bytes));
      } catch (e) {
        await this.dropSnapshot(s);
        throw e;
      }
      return s;
    })();
    return this.snapshot;
  }

  private async dropSnapshot(s: Snapshot | undefined): Promise<void> {
    if (!s) return;
    await s.db.close().catch(() => undefined);
    await rm(s.dir, { recursive: true, force: true });
  }

  /** Runs fn against the transaction's copy, or against a fresh copy of its own. */
  private async read<T>(fn: (db: DatabaseDriver) => Promise<T>): Promise<T> {
    this.checkOpen();
    if (this.depth > 0) return fn((await this.transactionCopy()).db);
    const s = await this.fetchCopy();
    try {
      return await fn(s.db);
    } finally {
      await this.dropSnapshot(s);
    }
  }

  query(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.read((db) => db.query(sql, params));
  }

  /** Inside a transaction from its copy; outside, from a copy fetched for it and dropped when the rows end. */
  async *stream(sql: string, batch: number): AsyncIterable<SqlValue[][]> {
    this.checkOpen();
    if (this.depth > 0) {
      yield* (await this.transactionCopy()).db.stream(sql, batch);
      return;
    }
    const s = await this.fetchCopy();
    try {
      yield* s.db.stream(sql, batch);
    } finally {
      await this.dropSnapshot(s);
    }
  }

  /** On a copy fetched for it: the database on the host is never opened for it. */
  probe(sql: string, params: SqlValue[]): Promise<Row[]> {
    return this.read((db) => db.probe(sql, params));
  }

  tables(): Promise<string[]> {
    return this.read((db) => db.tables());
  }

  columns(table: string): Promise<ColumnInfo[]> {
    return this.read((db) => db.columns(table));
  }

  /** Listed by the host's shell (no other program needed), each file read over the host's connection when asked for. */
  async filesBeside(suffix: string): Promise<FilesBeside> {
    this.checkOpen();
    const folder = posix.dirname(this.path);
    const r = await this.run(`cd -- ${shellQuote(folder)} && for f in *${shellQuote(suffix)}; do if [ -f "$f" ]; then printf '%s\\0' "$f"; fi; done`);
    if (r.code !== 0) throw new DriverError(`${folder} on ${this.host.label}: ${oneLine(r.stderr) || `the shell exited with ${r.code}`}`, "list");
    const names = r.stdout.split("\0").filter((n) => n !== "");
    return {
      folder: `${folder} on ${this.host.label}`,
      names,
      read: async (name) => {
        if (!names.includes(name)) throw new DriverError(`${name} is not one of the files beside ${this.where}`, "internal");
        return this.host.readFile(posix.join(folder, name));
      },
    };
  }

  async execute(sql: string, params?: SqlValue[]): Promise<{ affectedRows: number }> {
    this.checkOpen();
    if (params) {
      if (this.depth > 0) throw new DriverError(`${this.label}: a statement with parameters cannot be queued in a transaction`, "internal");
      return { affectedRows: (await this.runStatements([{ sql, params }])).affectedRows[0] ?? 0 };
    }
    if (this.depth > 0) {
      const copy = await this.transactionCopy();
      const r = await copy.db.execute(sql);
      await this.queue(sql);
      return r;
    }
    return this.runScript(sql, false);
  }

  /**
   * One sqlite3 script: the values into the shell's parameter table (`.parameter`,
   * sqlite3 3.31 or later; an older one stops at that line), then every statement in
   * one `BEGIN IMMEDIATE … COMMIT`, each followed by a marked line with the changes
   * so far. -bail stops at the first error, and the transaction dies with the
   * process; the marks say which statement failed. Values travel as hex on stdin:
   * never on a command line, never as SQL text.
   */
  async runStatements(statements: readonly BoundStatement[]): Promise<{ affectedRows: number[] }> {
    this.checkOpen();
    if (this.depth > 0) throw new DriverError(`${this.label}: runStatements inside a transaction`, "internal");
    if (!(await this.sqlite3Available())) {
      throw new DriverError(`sqlite3 is not installed on ${this.host.label}; writes to ${this.label} need it`, "no-sqlite3");
    }
    await this.checkExists();
    const values: string[] = [];
    const bodies = statements.map((st) => numberParams(st.sql, st.params.length, values.length, () => values.push(...st.params.map(paramLiteral))));
    const lines = [`.timeout ${this.options.busyTimeoutMs ?? 10_000}`];
    if (values.length > 0) {
      lines.push(".parameter init");
      lines.push(`INSERT INTO temp.sqlite_parameters(key, value) VALUES ${values.map((v, i) => `('?${i + 1}', ${v})`).join(", ")};`);
    }
    lines.push(`SELECT '${DONE_MARK}-1:' || total_changes();`, "BEGIN IMMEDIATE;");
    bodies.forEach((body, i) => lines.push(`${body}\n;`, `SELECT '${DONE_MARK}${i}:' || total_changes();`));
    lines.push("COMMIT;", `SELECT '${DONE_MARK}${statements.length}:' || total_changes();`);
    const r = await this.run(`sqlite3 -batch -bail ${shellQuote(this.path)}`, lines.join("\n") + "\n");
    const marks = new Map<number, number>();
    for (const m of r.stdout.matchAll(new RegExp(`${DONE_MARK}(-?\\d+):(\\d+)`, "g"))) marks.set(Number(m[1]), Number(m[2]));
    if (r.code !== 0 || !marks.has(statements.length)) {
      let failed = 0;
      while (marks.has(failed)) failed++;
      const why = oneLine(r.stderr || r.stdout).replace(/^(Parse error|Runtime error)? ?near line \d+: /, "") || `sqlite3 on ${this.host.label} exited with ${r.code}`;
      const message = `${this.label}: ${why}`;
      if (!marks.has(-1) || failed >= statements.length) throw new DriverError(message, "sqlite3");
      throw new StatementError(message, failed, []);
    }
    return { affectedRows: statements.map((_, i) => marks.get(i)! - marks.get(i - 1)!) };
  }

  /** Sends SQL to the host's sqlite3; the rows it changed come back on a marked line. */
  private async runScript(sql: string, inTransaction: boolean): Promise<{ affectedRows: number }> {
    if (!(await this.sqlite3Available())) {
      throw new DriverError(`sqlite3 is not installed on ${this.host.label}; writes to ${this.label} need it`, "no-sqlite3");
    }
    await this.checkExists();
    const body = inTransaction ? `BEGIN IMMEDIATE;\n${sql}\n;\nCOMMIT;` : sql;
    const script =
      `.timeout ${this.options.busyTimeoutMs ?? 10_000}\n` +
      `${body}\n;\nSELECT '${CHANGES_MARK}' || total_changes();\n`;
    const r = await this.run(`sqlite3 -batch -bail ${shellQuote(this.path)}`, script);
    if (r.code !== 0) {
      throw new DriverError(`${this.label}: ${oneLine(r.stderr || r.stdout) || `sqlite3 on ${this.host.label} exited with ${r.code}`}`, "sqlite3");
    }
    const m = new RegExp(`${CHANGES_MARK}(\\d+)`).exec(r.stdout);
    return { affectedRows: m ? Number(m[1]) : 0 };
  }

  /** Appends a write to the transaction's script file (made on the first); sends a part when enough is unsent. */
  private async queue(sql: string): Promise<void> {
    if (!this.pending) {
      const dir = await mkdtemp(join(tmpdir(), "runbook-sqlite-script-"));
      this.pending = { dir, file: join(dir, "script.sql"), bytes: 0, id: randomBytes(8).toString("hex"), parts: [], sent: 0, uploading: undefined };
      await appendFile(this.pending.file, "", { mode: 0o600 });
    }
    const p = this.pending;
    const text = `${sql}\n;\n`;
    await appendFile(p.file, text);
    p.bytes += Buffer.byteLength(text);
    if (p.bytes - p.sent >= (this.options.scriptPartBytes ?? SCRIPT_PART_BYTES)) await this.sendPart(p);
  }

  /**
   * The script from the end of the last part sent to its current end, as the next part:
   * a private file on the host. Its upload goes on while the caller writes more rows; at
   * most one is under way (this waits for the one before, and throws its failure).
   */
  private async sendPart(p: Pending): Promise<void> {
    await this.uploaded(p);
    if (!(await this.sqlite3Available())) {
      throw new DriverError(`sqlite3 is not installed on ${this.host.label}; writes to ${this.label} need it`, "no-sqlite3");
    }
    if (!this.swept) {
      this.swept = true;
      await this.sweepStale();
    }
    const start = p.sent;
    const end = p.bytes;
    const local = join(p.dir, "part.sql");
    const remote = `${this.options.remoteTempDir ?? "/tmp"}/runbook-${p.id}-${p.parts.length + 1}.sql`;
    // Listed before it is uploaded: whatever happens to the upload, the file is removed with the others.
    const part: Pending["parts"][number] = { remote, end };
    p.parts.push(part);
    p.sent = end;
    p.uploading = (async () => {
      try {
        await pipeline(createReadStream(p.file, { start, end: end - 1 }), createWriteStream(local, { mode: 0o600 }));
        await this.host.upload(local, remote);
      } finally {
        await rm(local, { force: true });
      }
    })().catch((e: unknown) => {
      part.error = e;
    });
  }

  /**
   * Parts and copies of earlier transactions that a killed runbook left in the host's
   * temp folder (a day old: none of a transaction still going), ours only; once per
   * database a run writes to. Nothing said when it fails: it only tidies.
   */
  private async sweepStale(): Promise<void> {
    const dir = shellQuote(this.options.remoteTempDir ?? "/tmp");
    await this.run(
      `find ${dir} -maxdepth 1 -type f -user "$(id -u)" \\( -name 'runbook-*.sql' -o -name 'runbook-*.sqlite' \\) -mmin +${STALE_MINUTES} -exec rm -f {} + 2>/dev/null; true`,
    ).catch(() => undefined);
  }

  /** Waits for the upload under way; throws the failure of any part still listed. */
  private async uploaded(p: Pending): Promise<void> {
    await p.uploading;
    p.uploading = undefined;
    const failed = p.parts.find((part) => part.error !== undefined);
    if (failed) throw failed.error;
  }

  /**
   * The parts past `cut` (where an inner transaction that failed began) removed from
   * the host: what stays is sent again from the end of the last part kept.
   */
  private async takeBackParts(p: Pending, cut: number): Promise<void> {
    const keep = p.parts.findIndex((part) => part.end > cut);
    if (keep < 0) return;
    const dropped = p.parts.splice(keep);
    p.sent = p.parts.at(-1)?.end ?? 0;
    await this.removeParts(dropped);
  }

  private async removeParts(parts: readonly { remote: string }[]): Promise<void> {
    if (parts.length === 0) return;
    await this.run(`rm -f ${parts.map((part) => shellQuote(part.remote)).join(" ")}`).catch(() => undefined);
  }

  /** The rest of the queued script sent, then every part read by sqlite3, in order, between BEGIN IMMEDIATE and COMMIT. */
  private async sendPending(p: Pending): Promise<void> {
    if (p.bytes > p.sent) await this.sendPart(p);
    await this.uploaded(p);
    await this.runScript(p.parts.map((part) => `.read '${part.remote}'`).join("\n"), true);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    this.checkOpen();
    const outer = this.depth === 0;
    const queued = this.pending?.bytes ?? 0;
    this.depth++;
    try {
      const result = await fn();
      if (outer && this.pending && this.pending.bytes > 0) await this.sendPending(this.pending);
      return result;
    } catch (e) {
      // A failed inner transaction takes back only its own writes (the copy holds
      // them too: it is fetched again, with the writes that stay, when next read).
      if (this.pending && this.pending.bytes > queued) {
        await this.pending.uploading; // it may be reading what is about to be cut
        await truncate(this.pending.file, queued);
        this.pending.bytes = queued;
        await this.takeBackParts(this.pending, queued);
        await this.releaseSnapshot();
      }
      throw e;
    } finally {
      this.depth--;
      if (outer) {
        const p = this.pending;
        this.pending = undefined;
        if (p) {
          // On the host in every outcome: committed, refused, or fn failed.
          await p.uploading;
          await this.removeParts(p.parts);
          await rm(p.dir, { recursive: true, force: true });
        }
        await this.releaseSnapshot();
      }
    }
  }

  private async releaseSnapshot(): Promise<void> {
    const s = this.snapshot;
    this.snapshot = undefined;
    if (s) await this.dropSnapshot(await s.catch(() => undefined));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.releaseSnapshot();
  }
}

/** sqlite3 errors as one line: "Error: near line 2: no such table: x" → "near line 2: no such table: x". */
function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join("; ")
    .replace(/^Error: /, "")
    .replace(/; Error: /g, "; ");
}
