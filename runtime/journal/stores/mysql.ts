// The journal in a MySQL/MariaDB database (`--state mysql://user[:pass]@host[:port]/db`),
// which a whole team shares: the same tables as the SQLite store, in InnoDB, and
// the same locks (a row per (runbook, env), taken by a PRIMARY KEY insert in the
// same transaction as the run row, so two machines cannot both start a run).
// mysql2 is asynchronous: record() queues its writes in order on one connection,
// and flush() waits for them. Loaded lazily by runtime/journal/open.ts.

import mysql from "mysql2/promise";
import { cannotOpenJournal, JournalError, JournalOpenError } from "../../journal-errors.js";
import { connectMysql, describeError, MysqlConnectError, type MysqlConnectTarget } from "../../drivers/mysql-connect.js";
import { mysqlUrlTls } from "../../../language/mysql-url.js";
import { mysqlUrlProblemText } from "../../../language/messages.js";
import { isStale, nowIso, pidAlive } from "../identity.js";
import { describeLocation, JournalLocationError } from "../location.js";
import { type CurrentRun, lockStillOurs, unlockDecision } from "../locks.js";
import { JournalRecorder, type WriteOp } from "../recorder.js";
import { APPROVAL_COLUMNS, approvalFromRow, approvalRow, COMMAND_COLUMNS, commandFromRow, commandKey, commandRow, confirmationFromRow, holderFromRow, likePrefix, type LockRow, newRunRow, noteFromRow, rollbackFromRow, RUN_COLUMNS, runFromRow, type RunRow, type StepHostRow, type StepRow, stepsFromRows } from "../rows.js";
import { AmbiguousRunIdError, type ApprovalRecord, type BeginRunInfo, type CommandRecord, type ConfirmationRecord, type Journal, type JournalIdentity, LockedError, type LockHolder, type NoteRecord, type RollbackRecord, type RunRecord, type StepRecord } from "../types.js";
import type { CommandRef, RunEvent } from "../../events.js";

const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/**
 * Migration N (1-based) brings the schema from version N-1 to N; the version is kept
 * in `schema_version`. MySQL cannot roll DDL back, so each statement is idempotent
 * (IF NOT EXISTS) and migrations are serialised across clients with GET_LOCK.
 */
const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS runs (
      id           VARCHAR(64)  NOT NULL PRIMARY KEY,
      seq          BIGINT       NOT NULL AUTO_INCREMENT UNIQUE,
      runbook      VARCHAR(191) NOT NULL,
      version      VARCHAR(191) NOT NULL,
      file_path    TEXT         NOT NULL,
      source_hash  VARCHAR(191) NOT NULL,
      env          VARCHAR(191) NOT NULL,
      params       MEDIUMTEXT   NOT NULL,
      user_name    VARCHAR(191) NOT NULL,
      machine      VARCHAR(191) NOT NULL,
      pid          INT          NOT NULL,
      started_at   VARCHAR(40)  NOT NULL,
      finished_at  VARCHAR(40)  NULL,
      status       VARCHAR(32)  NOT NULL,
      dry_run      TINYINT      NOT NULL,
      exit_code    INT          NULL,
      error        MEDIUMTEXT   NULL,
      resumed_from VARCHAR(64)  NULL,
      plan         LONGTEXT     NOT NULL,
      KEY runs_by_started (started_at),
      KEY runs_by_runbook (runbook, env, started_at)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS steps (
      id               BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id           VARCHAR(64)  NOT NULL,
      step_id          VARCHAR(191) NOT NULL,
      host             VARCHAR(255) NULL,
      status           VARCHAR(32)  NOT NULL,
      attempt          INT          NOT NULL,
      started_at       VARCHAR(40)  NULL,
      finished_at      VARCHAR(40)  NULL,
      exit_code        INT          NULL,
      signal_name      VARCHAR(32)  NULL,
      reason           MEDIUMTEXT   NULL,
      output_tail      MEDIUMTEXT   NOT NULL,
      output_truncated TINYINT      NOT NULL DEFAULT 0,
      UNIQUE KEY steps_by_run (run_id, step_id)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS step_hosts (
      run_id      VARCHAR(64)  NOT NULL,
      step_id     VARCHAR(191) NOT NULL,
      host        VARCHAR(191) NOT NULL,
      status      VARCHAR(32)  NOT NULL,
      exit_code   INT          NULL,
      error       MEDIUMTEXT   NULL,
      duration_ms BIGINT       NOT NULL,
      finished_at VARCHAR(40)  NOT NULL,
      PRIMARY KEY (run_id, step_id, host)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS confirmations (
      id       BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id   VARCHAR(64)  NOT NULL,
      step_id  VARCHAR(191) NULL,
      kind     VARCHAR(32)  NOT NULL,
      question MEDIUMTEXT   NOT NULL,
      answer   VARCHAR(191) NOT NULL,
      by_user  VARCHAR(191) NOT NULL,
      at       VARCHAR(40)  NOT NULL,
      KEY confirmations_by_run (run_id)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS rollbacks (
      id      BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id  VARCHAR(64)  NOT NULL,
      step_id VARCHAR(191) NULL,
      kind    VARCHAR(32)  NOT NULL,
      status  VARCHAR(32)  NOT NULL,
      steps   MEDIUMTEXT   NULL,
      error   MEDIUMTEXT   NULL,
      at      VARCHAR(40)  NOT NULL,
      KEY rollbacks_by_run (run_id)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS notes (
      id      BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id  VARCHAR(64)  NOT NULL,
      step_id VARCHAR(191) NOT NULL,
      body    MEDIUMTEXT   NOT NULL,
      at      VARCHAR(40)  NOT NULL,
      KEY notes_by_run (run_id)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS locks (
      runbook   VARCHAR(191) NOT NULL,
      env       VARCHAR(191) NOT NULL,
      run_id    VARCHAR(64)  NOT NULL,
      user_name VARCHAR(191) NOT NULL,
      machine   VARCHAR(191) NOT NULL,
      pid       INT          NOT NULL,
      since     VARCHAR(40)  NOT NULL,
      PRIMARY KEY (runbook, env)
    ) ${TABLE_OPTIONS}`,
  ],
  // 2: the commands of running steps, so that resume can look whether one still runs.
  [
    `CREATE TABLE IF NOT EXISTS step_commands (
      run_id      VARCHAR(64)  NOT NULL,
      step_id     VARCHAR(191) NOT NULL,
      target_key  VARCHAR(191) NOT NULL,
      host        VARCHAR(191) NULL,
      target      VARCHAR(255) NULL,
      machine     VARCHAR(191) NOT NULL,
      pid         INT          NULL,
      pgid        INT          NULL,
      start_token VARCHAR(191) NULL,
      exec_id     VARCHAR(64)  NULL,
      as_user     VARCHAR(191) NULL,
      started_at  VARCHAR(40)  NOT NULL,
      seq         BIGINT       NOT NULL AUTO_INCREMENT UNIQUE,
      PRIMARY KEY (run_id, step_id, target_key)
    ) ${TABLE_OPTIONS}`,
  ],
  // 3: the approval gate's requests, signatures and verdicts (runtime/approvals.ts).
  [
    `CREATE TABLE IF NOT EXISTS approvals (
      id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id     VARCHAR(64)  NOT NULL,
      kind       VARCHAR(16)  NOT NULL,
      step_id    VARCHAR(191) NOT NULL,
      group_name VARCHAR(191) NOT NULL,
      approver   VARCHAR(191) NULL,
      at         VARCHAR(40)  NOT NULL,
      statement  MEDIUMTEXT   NULL,
      signature  MEDIUMTEXT   NULL,
      reason     MEDIUMTEXT   NULL,
      KEY approvals_by_run (run_id)
      ) ${TABLE_OPTIONS}`,
    ],
  // 4: values captured with `into NAME` (never a secret one), so that resume has them.
  [
    `CREATE TABLE IF NOT EXISTS step_values (
      run_id      VARCHAR(64)  NOT NULL,
      name        VARCHAR(191) NOT NULL,
      step_id     VARCHAR(191) NOT NULL,
      value       LONGTEXT     NOT NULL,
      captured_at VARCHAR(40)  NOT NULL,
      PRIMARY KEY (run_id, name)
    ) ${TABLE_OPTIONS}`,
  ],
];

export const MYSQL_SCHEMA_VERSION = MIGRATIONS.length;

type Conn = mysql.Connection;
type Params = (string | number | null)[];

/** Where a journal URL points, with its password (from the URL, else $MYSQL_PWD). */
export interface MysqlJournalTarget extends MysqlConnectTarget {
  password?: string;
}

/**
 * mysql://user[:pass]@host[:port]/db[?ssl-mode=…&ssl-ca=…]: the TLS options are
 * those of a database's URL (language/mysql-url.ts), relative files from the
 * current directory; a password may be in the URL (it is never shown) or $MYSQL_PWD.
 */
export function parseMysqlLocation(location: string): MysqlJournalTarget {
  let url: URL;
  try {
    url = new URL(location.replace(/^mariadb:/i, "mysql:"));
  } catch {
    throw new JournalLocationError(`not a MySQL URL: ${describeLocation(location)} (expected mysql://user[:password]@host[:port]/database)`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\/+/, "").replace(/\/+$/, ""));
  if (database === "" || database.includes("/")) {
    throw new JournalLocationError(`the journal URL ${describeLocation(location)} names no database (expected mysql://user[:password]@host[:port]/database)`);
  }
  const tls = mysqlUrlTls(url.search);
  if ("problem" in tls) throw new JournalLocationError(`the journal URL ${describeLocation(location)}: ${mysqlUrlProblemText(tls.problem)}`);
  const password = url.password !== "" ? decodeURIComponent(url.password) : process.env.MYSQL_PWD;
  return {
    host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: url.port ? Number(url.port) : 3306,
    user: url.username !== "" ? decodeURIComponent(url.username) : "root",
    ...(password !== undefined ? { password } : {}),
    database,
    tls: tls.tls,
  };
}

/** What a failed connection says after "cannot open the journal X:" (cannotOpenJournal). */
function connectFailure(err: unknown): string {
  if (err instanceof MysqlConnectError) return err.reason;
  return describeError(err);
}

export async function openMysqlJournal(location: string, self: JournalIdentity): Promise<Journal> {
  const shown = describeLocation(location);
  const target = parseMysqlLocation(location);
  const connect = (): Promise<Conn> =>
    connectMysql(target, { label: shown, password: target.password, connectTimeoutMs: 10_000, extra: { supportBigNumbers: true } });
  let conn: Conn;
  try {
    conn = await connect();
  } catch (err) {
    throw cannotOpenJournal(shown, connectFailure(err));
  }
  try {
    await migrate(conn, target.database, shown);
  } catch (err) {
    await conn.end().catch(() => undefined);
    if (err instanceof JournalOpenError) throw err;
    throw cannotOpenJournal(shown, describeError(err));
  }
  return new MysqlJournal(conn, connect, shown, self);
}

async function migrate(conn: Conn, database: string, shown: string): Promise<void> {
  const lockName = `runbook-journal:${database}`.slice(0, 64);
  await conn.query("SELECT GET_LOCK(?, 60)", [lockName]);
  try {
    await conn.query(`CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL) ${TABLE_OPTIONS}`);
    const [rows] = await conn.query("SELECT MAX(version) AS v FROM schema_version");
    const current = Number((rows as { v: number | null }[])[0]?.v ?? 0);
    if (current > MIGRATIONS.length) {
      throw new JournalOpenError(
        `the journal ${shown} has schema version ${current}, newer than this runbook understands (${MIGRATIONS.length}); upgrade runbook`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      for (const statement of MIGRATIONS[v]) await conn.query(statement);
      await conn.query("INSERT INTO schema_version (version) VALUES (?)", [v + 1]);
    }
  } finally {
    await conn.query("SELECT RELEASE_LOCK(?)", [lockName]);
  }
}

const SQL = {
  insertRun: `INSERT INTO runs (${RUN_COLUMNS.join(", ")}) VALUES (${RUN_COLUMNS.map(() => "?").join(", ")})`,
  runById: "SELECT * FROM runs WHERE id = ?",
  runByIdForUpdate: "SELECT * FROM runs WHERE id = ? FOR UPDATE",
  runIdsByPrefix: "SELECT id FROM runs WHERE id LIKE ? ORDER BY id LIMIT 10",
  lock: "SELECT * FROM locks WHERE runbook = ? AND env = ?",
  lockForUpdate: "SELECT * FROM locks WHERE runbook = ? AND env = ? FOR UPDATE",
  insertLock: "INSERT INTO locks (runbook, env, run_id, user_name, machine, pid, since) VALUES (?, ?, ?, ?, ?, ?, ?)",
  deleteLock: "DELETE FROM locks WHERE runbook = ? AND env = ? AND run_id = ?",
  deleteLocksOfRun: "DELETE FROM locks WHERE run_id = ?",
  reopenRun: `UPDATE runs SET status = 'running', user_name = ?, machine = ?, pid = ?,
    finished_at = NULL, exit_code = NULL, error = NULL WHERE id = ?`,
  interruptSteps: "UPDATE steps SET status = 'interrupted' WHERE run_id = ? AND status = 'running'",
  interruptRun: "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'",
  stepStart: `INSERT INTO steps (run_id, step_id, host, status, attempt, started_at, output_tail, output_truncated)
    VALUES (?, ?, ?, 'running', ?, ?, '', 0)
    ON DUPLICATE KEY UPDATE host = VALUES(host), status = 'running', attempt = VALUES(attempt),
      started_at = VALUES(started_at), finished_at = NULL, exit_code = NULL, signal_name = NULL, reason = NULL`,
  stepFinish: `INSERT INTO steps (run_id, step_id, host, status, attempt, finished_at, exit_code, signal_name, reason, output_tail, output_truncated)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON DUPLICATE KEY UPDATE host = COALESCE(VALUES(host), host), status = VALUES(status), attempt = VALUES(attempt),
      finished_at = VALUES(finished_at), exit_code = VALUES(exit_code), signal_name = VALUES(signal_name),
      reason = VALUES(reason),
      output_truncated = IF(VALUES(output_tail) = '', output_truncated, VALUES(output_truncated)),
      output_tail = IF(VALUES(output_tail) = '', output_tail, VALUES(output_tail))`,
  stepTail: "UPDATE steps SET output_tail = ?, output_truncated = ? WHERE run_id = ? AND step_id = ?",
  stepHost: `REPLACE INTO step_hosts (run_id, step_id, host, status, exit_code, error, duration_ms, finished_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  confirmation: `INSERT INTO confirmations (run_id, step_id, kind, question, answer, by_user, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  rollback: `INSERT INTO rollbacks (run_id, step_id, kind, status, steps, error, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  stepRolledBack: "UPDATE steps SET status = 'rolled-back' WHERE run_id = ? AND step_id = ? AND status = 'ok'",
  note: "INSERT INTO notes (run_id, step_id, body, at) VALUES (?, ?, ?, ?)",
  runFinish: "UPDATE runs SET status = ?, exit_code = ?, error = ?, finished_at = ? WHERE id = ?",
  steps: "SELECT * FROM steps WHERE run_id = ? ORDER BY id",
  stepHosts: "SELECT * FROM step_hosts WHERE run_id = ? ORDER BY finished_at, host",
  confirmations: "SELECT * FROM confirmations WHERE run_id = ? ORDER BY id",
  rollbacks: "SELECT * FROM rollbacks WHERE run_id = ? ORDER BY id",
  notes: "SELECT * FROM notes WHERE run_id = ? ORDER BY id",
  approval: `INSERT INTO approvals (${APPROVAL_COLUMNS.join(", ")}) VALUES (${APPROVAL_COLUMNS.map(() => "?").join(", ")})`,
  approvals: "SELECT * FROM approvals WHERE run_id = ? ORDER BY id",
  commandStart: `REPLACE INTO step_commands (${COMMAND_COLUMNS.join(", ")}) VALUES (${COMMAND_COLUMNS.map(() => "?").join(", ")})`,
  commandEnd: "DELETE FROM step_commands WHERE run_id = ? AND step_id = ? AND target_key = ?",
  commands: "SELECT * FROM step_commands WHERE run_id = ? ORDER BY started_at, seq",
  value: "REPLACE INTO step_values (run_id, name, step_id, value, captured_at) VALUES (?, ?, ?, ?, ?)",
  values: "SELECT name, value FROM step_values WHERE run_id = ?",
};

function isDuplicate(err: unknown): boolean {
  return (err as { code?: string }).code === "ER_DUP_ENTRY";
}

class MysqlJournal implements Journal {
  readonly kind = "mysql" as const;
  private readonly recorder = new JournalRecorder();
  /** Every database call goes through this chain, so writes land in event order. */
  private chain: Promise<unknown> = Promise.resolve();
  private pendingError: unknown;
  /** The first write that failed, kept for good: verify() fails from then on. */
  private lostWrite: unknown;
  /** The run begun or reopened here (verify() checks its lock). */
  private current: CurrentRun | undefined;
  private closed = false;
  /** Writes from record() not yet sent, and whether a drain is under way. */
  private pending: WriteOp[] = [];
  private draining = false;

  /** The connection; replaced by a new one when the server drops it (a restart, a network blip). */
  private conn: Conn;
  private broken = false;

  constructor(
    conn: Conn,
    /** A new connection (after the server dropped one). */
    private readonly connect: () => Promise<Conn>,
    readonly location: string,
    private readonly self: JournalIdentity,
  ) {
    this.conn = conn;
    this.watch(conn);
  }

  private watch(conn: Conn): void {
    conn.on("error", (err: { fatal?: boolean }) => {
      if (conn === this.conn && err?.fatal !== false) this.broken = true;
    });
  }

  /** Called at the start of every serialised operation: reconnects a dropped connection. */
  private async ready(): Promise<void> {
    if (!this.broken) return;
    const old = this.conn;
    this.conn = await this.connect();
    this.broken = false;
    this.watch(this.conn);
    old.destroy();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const task = async () => {
      await this.ready();
      try {
        return await fn();
      } catch (err) {
        if ((err as { fatal?: boolean }).fatal) this.broken = true;
        throw err;
      }
    };
    const next = this.chain.then(task, task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async rows<T>(sql: string, params: Params): Promise<T[]> {
    const [rows] = await this.conn.execute(sql, params);
    return rows as T[];
  }

  private async run(sql: string, params: Params): Promise<number> {
    const [result] = await this.conn.execute(sql, params);
    return (result as mysql.ResultSetHeader).affectedRows;
  }

  private async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.conn.query("START TRANSACTION");
    try {
      const result = await fn();
      await this.conn.query("COMMIT");
      return result;
    } catch (err) {
      await this.conn.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  private check(): void {
    if (this.closed) throw new Error("the journal is closed");
  }

  private async apply(op: WriteOp): Promise<void> {
    switch (op.op) {
      case "step-start":
        await this.run(SQL.stepStart, [op.runId, op.stepId, op.host, op.attempt, op.at]);
        return;
      case "step-finish":
        await this.run(SQL.stepFinish, [
          op.runId,
          op.stepId,
          op.host,
          op.status,
          op.attempt,
          op.at,
          op.exitCode,
          op.signal,
          op.reason,
          op.tail,
          op.truncated ? 1 : 0,
        ]);
        return;
      case "step-tail":
        await this.run(SQL.stepTail, [op.tail, op.truncated ? 1 : 0, op.runId, op.stepId]);
        return;
      case "step-host":
        await this.run(SQL.stepHost, [op.runId, op.stepId, op.host, op.status, op.exitCode, op.error, op.durationMs, op.at]);
        return;
      case "confirmation":
        await this.run(SQL.confirmation, [op.runId, op.stepId, op.kind, op.question, op.answer, op.by, op.at]);
        return;
      case "rollback":
        await this.run(SQL.rollback, [
          op.runId,
          op.stepId,
          op.kind,
          op.status,
          op.steps === null ? null : JSON.stringify(op.steps),
          op.error,
          op.at,
        ]);
        if (op.kind === "step" && op.status === "ok" && op.stepId !== null) await this.run(SQL.stepRolledBack, [op.runId, op.stepId]);
        return;
      case "note":
        await this.run(SQL.note, [op.runId, op.stepId, op.text, op.at]);
        return;
      case "approval":
        await this.run(SQL.approval, approvalRow(op.record));
        return;
      case "command-start":
        await this.run(SQL.commandStart, commandRow(op, this.self.machine));
        return;
      case "value":
        await this.run(SQL.value, [op.runId, op.name, op.stepId, op.value, op.at]);
        return;
      case "command-end":
        await this.run(SQL.commandEnd, [op.runId, op.stepId, commandKey(op.command)]);
        return;
      case "run-finish":
        await this.run(SQL.runFinish, [op.status, op.exitCode, op.error, op.at, op.runId]);
        await this.run(SQL.deleteLocksOfRun, [op.runId]);
        if (this.current?.runId === op.runId) this.current.finished = true;
        return;
    }
  }

  private async applyOps(ops: WriteOp[]): Promise<void> {
    // One statement commits atomically by itself (rollback and run-finish are two).
    if (ops.length === 1 && ops[0].op !== "rollback" && ops[0].op !== "run-finish") return this.apply(ops[0]);
    await this.transaction(async () => {
      for (const op of ops) await this.apply(op);
    });
  }

  private async lockHolder(runbook: string, env: string): Promise<LockHolder | undefined> {
    const [row] = await this.rows<LockRow>(SQL.lock, [runbook, env]);
    return row ? holderFromRow(row) : undefined;
  }

  async beginRun(info: BeginRunInfo): Promise<void> {
    this.check();
    const row = newRunRow(info, this.self, nowIso());
    return this.serial(async () => {
      for (let attempt = 0; ; attempt++) {
        let lockTaken = info.dryRun;
        try {
          await this.transaction(async () => {
            if (!info.dryRun) {
              await this.run(SQL.insertLock, [row.runbook, row.env, row.id, row.user_name, row.machine, row.pid, row.started_at]);
              lockTaken = true;
            }
            await this.run(SQL.insertRun, RUN_COLUMNS.map((c) => row[c]));
          });
          this.current = { runId: row.id, runbook: row.runbook, env: row.env, dryRun: info.dryRun };
          return;
        } catch (err) {
          if (!isDuplicate(err)) throw err;
          if (lockTaken) throw new Error(`a run with id ${row.id} is already in the journal ${this.location}`);
          // The lock is held: name its holder (it may have just been released: try again).
          const holder = await this.lockHolder(row.runbook, row.env);
          if (holder && info.resumedFrom === holder.runId && isStale(holder, this.self)) {
            // A run resuming the one whose process died takes its lock over.
            await this.transaction(async () => {
              await this.run(SQL.deleteLock, [holder.runbook, holder.env, holder.runId]);
              await this.run(SQL.interruptRun, [holder.runId]);
            });
            continue;
          }
          if (holder) throw new LockedError(holder, isStale(holder, this.self), info.file);
          if (attempt >= 3) throw err;
        }
      }
    });
  }

  async reopenRun(runId: string): Promise<RunRecord> {
    this.check();
    return this.serial(() =>
      this.transaction(async () => {
        const [row] = await this.rows<RunRow>(SQL.runByIdForUpdate, [runId]);
        if (!row) throw new Error(`no run ${runId} in the journal ${this.location}`);
        const mine = row.machine === this.self.machine && Number(row.pid) === this.self.pid;
        if (row.status === "running" && !mine) {
          const liveHere = row.machine === this.self.machine && pidAlive(Number(row.pid));
          if (liveHere || row.machine !== this.self.machine) {
            throw new LockedError(
              {
                runbook: row.runbook,
                env: row.env,
                runId: row.id,
                user: row.user_name,
                machine: row.machine,
                pid: Number(row.pid),
                since: row.started_at,
              },
              false,
              row.file_path,
            );
          }
        }
        if (!Number(row.dry_run)) {
          const [held] = await this.rows<LockRow>(SQL.lockForUpdate, [row.runbook, row.env]);
          if (held && held.run_id !== row.id) {
            const holder = holderFromRow(held);
            throw new LockedError(holder, isStale(holder, this.self), row.file_path);
          }
          if (held) await this.run(SQL.deleteLock, [row.runbook, row.env, row.id]);
          try {
            await this.run(SQL.insertLock, [row.runbook, row.env, row.id, this.self.user, this.self.machine, this.self.pid, nowIso()]);
          } catch (err) {
            if (!isDuplicate(err)) throw err;
            const holder = await this.lockHolder(row.runbook, row.env);
            if (holder) throw new LockedError(holder, isStale(holder, this.self), row.file_path);
            throw err;
          }
        }
        await this.run(SQL.reopenRun, [this.self.user, this.self.machine, this.self.pid, row.id]);
        await this.run(SQL.interruptSteps, [row.id]);
        this.current = { runId: row.id, runbook: row.runbook, env: row.env, dryRun: Boolean(Number(row.dry_run)) };
        const [updated] = await this.rows<RunRow>(SQL.runById, [row.id]);
        return runFromRow(updated, this.self);
      }),
    );
  }

  record(event: RunEvent): void {
    if (this.closed) return;
    try {
      this.pending.push(...this.recorder.events(event));
    } catch (err) {
      this.lost(err);
      return;
    }
    this.drain();
  }

  /**
   * Writes what record() queued, in order. While the server is busy with one
   * transaction, later events pile up and go in the next one together (a group
   * commit), so a slow fsync does not hold the run back event by event.
   */
  private drain(): void {
    if (this.draining || this.pending.length === 0) return;
    this.draining = true;
    void this.serial(async () => {
      try {
        while (this.pending.length > 0) {
          const batch = this.pending.splice(0);
          try {
            await this.applyOps(batch);
          } catch (err) {
            if (batch.length === 1) throw err;
            // One bad write must not take the others down: apply them one by one.
            for (const op of batch) {
              await this.applyOps([op]).catch((e: unknown) => this.lost(e));
            }
          }
        }
      } finally {
        this.draining = false;
      }
    }).catch((err: unknown) => this.lost(err));
  }

  /** A write that failed: reported by the next flush(), and by every verify() from now on. */
  private lost(err: unknown): void {
    this.pendingError ??= err;
    this.lostWrite ??= err;
  }

  async verify(): Promise<void> {
    this.check();
    this.drain();
    // serial() reconnects first, which may fail too: that is an unreachable journal.
    await this.serial(async () => {
      if (this.lostWrite !== undefined) throw new JournalError("write-failed", this.location, describeError(this.lostWrite));
      const current = this.current;
      let why: string | undefined;
      try {
        if (!current || current.dryRun || current.finished) await this.conn.query("SELECT 1");
        else why = lockStillOurs((await this.rows<LockRow>(SQL.lock, [current.runbook, current.env]))[0], current, this.self);
      } catch (err) {
        throw new JournalError("unreachable", this.location, describeError(err));
      }
      if (why !== undefined) throw new JournalError("lock-lost", this.location, why);
    }).catch((err: unknown) => {
      throw err instanceof JournalError ? err : new JournalError("unreachable", this.location, describeError(err));
    });
  }

  async getCommands(runId: string): Promise<CommandRecord[]> {
    this.check();
    return this.serial(async () => (await this.rows<Record<string, unknown>>(SQL.commands, [runId])).map(commandFromRow));
  }

  async forgetCommand(runId: string, stepId: string, ref: Pick<CommandRef, "host" | "target">): Promise<void> {
    this.check();
    await this.serial(() => this.run(SQL.commandEnd, [runId, stepId, commandKey(ref)]));
  }

  async getValues(runId: string): Promise<Record<string, string>> {
    this.check();
    const rows = await this.serial(() => this.rows<{ name: string; value: string }>(SQL.values, [runId]));
    const out: Record<string, string> = {};
    for (const r of rows) out[r.name] = r.value;
    return out;
  }

  async flush(): Promise<void> {
    if (!this.closed) {
      this.pending.push(...this.recorder.dirtyTails());
      this.drain();
      await this.serial(async () => undefined);
    }
    const err = this.pendingError;
    this.pendingError = undefined;
    if (err !== undefined) throw new Error(`could not write to the journal ${this.location}: ${describeError(err)}`);
  }

  private async resolveId(idOrPrefix: string): Promise<string | undefined> {
    if (idOrPrefix === "") return undefined;
    const exact = await this.rows<{ id: string }>("SELECT id FROM runs WHERE id = ?", [idOrPrefix]);
    if (exact.length > 0) return idOrPrefix;
    const matches = (await this.rows<{ id: string }>(SQL.runIdsByPrefix, [likePrefix(idOrPrefix)])).map((r) => r.id);
    if (matches.length > 1) throw new AmbiguousRunIdError(idOrPrefix, matches);
    return matches[0];
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.check();
    return this.serial(async () => {
      const id = await this.resolveId(runId);
      if (id === undefined) return undefined;
      const [row] = await this.rows<RunRow>(SQL.runById, [id]);
      return row ? runFromRow(row, this.self) : undefined;
    });
  }

  async getSteps(runId: string): Promise<StepRecord[]> {
    this.check();
    return this.serial(async () => {
      const id = (await this.resolveId(runId)) ?? runId;
      const [run] = await this.rows<RunRow>(SQL.runById, [id]);
      const steps = await this.rows<StepRow>(SQL.steps, [id]);
      const hosts = await this.rows<StepHostRow>(SQL.stepHosts, [id]);
      return stepsFromRows(run, steps, hosts, this.self);
    });
  }

  async getConfirmations(runId: string): Promise<ConfirmationRecord[]> {
    this.check();
    return this.serial(async () => {
      const id = (await this.resolveId(runId)) ?? runId;
      return (await this.rows<Record<string, unknown>>(SQL.confirmations, [id])).map(confirmationFromRow);
    });
  }

  async getRollbacks(runId: string): Promise<RollbackRecord[]> {
    this.check();
    return this.serial(async () => {
      const id = (await this.resolveId(runId)) ?? runId;
      return (await this.rows<Record<string, unknown>>(SQL.rollbacks, [id])).map(rollbackFromRow);
    });
  }

  async getApprovals(runId: string): Promise<ApprovalRecord[]> {
    this.check();
    return this.serial(async () => {
      const id = (await this.resolveId(runId)) ?? runId;
      return (await this.rows<Record<string, unknown>>(SQL.approvals, [id])).map(approvalFromRow);
    });
  }

  async addApproval(record: ApprovalRecord): Promise<void> {
    this.check();
    await this.serial(() => this.run(SQL.approval, approvalRow(record)));
  }

  async getNotes(runId: string): Promise<NoteRecord[]> {
    this.check();
    return this.serial(async () => {
      const id = (await this.resolveId(runId)) ?? runId;
      return (await this.rows<Record<string, unknown>>(SQL.notes, [id])).map(noteFromRow);
    });
  }

  async listRuns(filter: { runbook?: string; env?: string; limit?: number } = {}): Promise<RunRecord[]> {
    this.check();
    return this.serial(async () => {
      const where: string[] = [];
      const params: Params = [];
      if (filter.runbook !== undefined) {
        where.push("runbook = ?");
        params.push(filter.runbook);
      }
      if (filter.env !== undefined) {
        where.push("env = ?");
        params.push(filter.env);
      }
      const limit = filter.limit !== undefined && filter.limit > 0 ? ` LIMIT ${Math.floor(filter.limit)}` : "";
      const sql = `SELECT * FROM runs${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY started_at DESC, seq DESC${limit}`;
      const [rows] = await this.conn.query(sql, params);
      return (rows as RunRow[]).map((r) => runFromRow(r, this.self));
    });
  }

  async getLock(runbook: string, env: string): Promise<(LockHolder & { stale: boolean }) | undefined> {
    this.check();
    return this.serial(async () => {
      const holder = await this.lockHolder(runbook, env);
      return holder ? { ...holder, stale: isStale(holder, this.self) } : undefined;
    });
  }

  async unlock(
    runbook: string,
    env: string,
    options: { force?: boolean } = {},
  ): Promise<{ cleared: boolean; holder?: LockHolder; reason?: string }> {
    this.check();
    return this.serial(() =>
      this.transaction(async () => {
        const [row] = await this.rows<LockRow>(SQL.lockForUpdate, [runbook, env]);
        if (!row) return { cleared: false, reason: `there is no lock on ${runbook} in env ${env}` };
        const holder = holderFromRow(row);
        const decision = unlockDecision(holder, this.self, options.force ?? false);
        if (!decision.allowed) return { cleared: false, holder, reason: decision.reason };
        await this.run(SQL.deleteLock, [runbook, env, holder.runId]);
        if (decision.holderGone) await this.run(SQL.interruptRun, [holder.runId]);
        return { cleared: true, holder, reason: decision.reason };
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    let error: unknown;
    try {
      await this.flush();
    } catch (err) {
      error = err;
    }
    this.closed = true;
    await this.conn.end().catch(() => undefined);
    if (error !== undefined) throw error;
  }
}
