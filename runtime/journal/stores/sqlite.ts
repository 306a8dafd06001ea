// The journal in a local SQLite file (the default store): better-sqlite3 is
// synchronous, so record() writes at once, each event in its own transaction.
// WAL with synchronous = NORMAL keeps commits free of fsyncs while a kill -9 at
// any instant still leaves the file consistent; statements are prepared once.
// The schema is versioned with PRAGMA user_version and migrated in a transaction.
// Loaded lazily by runtime/journal/open.ts.

import Database from "better-sqlite3";
import { statSync } from "node:fs";
import { cannotOpenJournal, JournalError, JournalInUseError, JournalOpenError } from "../../journal-errors.js";
import { processesHoldingDeleted } from "../../drivers/process-identity.js";
import { isStale, nowIso, pidAlive } from "../identity.js";
import { type CurrentRun, lockStillOurs, unlockDecision } from "../locks.js";
import { JournalRecorder, type WriteOp } from "../recorder.js";
import { APPROVAL_COLUMNS, approvalFromRow, approvalRow, COMMAND_COLUMNS, commandFromRow, commandKey, commandRow, confirmationFromRow, holderFromRow, likePrefix, type LockRow, newRunRow, noteFromRow, rollbackFromRow, RUN_COLUMNS, runFromRow, type RunRow, type StepHostRow, type StepRow, stepsFromRows } from "../rows.js";
import { AmbiguousRunIdError, type ApprovalRecord, type BeginRunInfo, type CommandRecord, type ConfirmationRecord, type Journal, type JournalIdentity, LockedError, type LockHolder, type NoteRecord, type RollbackRecord, type RunRecord, type StepRecord } from "../types.js";
import type { CommandRef, RunEvent } from "../../events.js";

/** Migration N (1-based) brings the schema from version N-1 to N. Never edit one that shipped. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    runbook      TEXT NOT NULL,
    version      TEXT NOT NULL,
    file_path    TEXT NOT NULL,
    source_hash  TEXT NOT NULL,
    env          TEXT NOT NULL,
    params       TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    machine      TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL,
    dry_run      INTEGER NOT NULL,
    exit_code    INTEGER,
    error        TEXT,
    resumed_from TEXT,
    plan         TEXT NOT NULL
  );
  CREATE INDEX runs_by_started ON runs (started_at);
  CREATE INDEX runs_by_runbook ON runs (runbook, env, started_at);
  CREATE TABLE steps (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL,
    step_id          TEXT NOT NULL,
    host             TEXT,
    status           TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    exit_code        INTEGER,
    signal_name      TEXT,
    reason           TEXT,
    output_tail      TEXT NOT NULL DEFAULT '',
    output_truncated INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, step_id)
  );
  CREATE TABLE step_hosts (
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    host        TEXT NOT NULL,
    status      TEXT NOT NULL,
    exit_code   INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, host)
  );
  CREATE TABLE confirmations (
    id       INTEGER PRIMARY KEY,
    run_id   TEXT NOT NULL,
    step_id  TEXT,
    kind     TEXT NOT NULL,
    question TEXT NOT NULL,
    answer   TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    at       TEXT NOT NULL
  );
  CREATE INDEX confirmations_by_run ON confirmations (run_id);
  CREATE TABLE rollbacks (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL,
    step_id TEXT,
    kind    TEXT NOT NULL,
    status  TEXT NOT NULL,
    steps   TEXT,
    error   TEXT,
    at      TEXT NOT NULL
  );
  CREATE INDEX rollbacks_by_run ON rollbacks (run_id);
  CREATE TABLE notes (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL,
    step_id TEXT NOT NULL,
    body    TEXT NOT NULL,
    at      TEXT NOT NULL
  );
  CREATE INDEX notes_by_run ON notes (run_id);
  CREATE TABLE locks (
    runbook   TEXT NOT NULL,
    env       TEXT NOT NULL,
    run_id    TEXT NOT NULL,
    user_name TEXT NOT NULL,
    machine   TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    since     TEXT NOT NULL,
    PRIMARY KEY (runbook, env)
  );
  `,
  // 2: the commands of running steps, so that resume can look whether one still runs.
  `
  CREATE TABLE step_commands (
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    target_key  TEXT NOT NULL,
    host        TEXT,
    target      TEXT,
    machine     TEXT NOT NULL,
    pid         INTEGER,
    pgid        INTEGER,
    start_token TEXT,
    exec_id     TEXT,
    as_user     TEXT,
    started_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, target_key)
  );
  `,
  // 3: the approval gate's requests, signatures and verdicts (runtime/approvals.ts).
  `
  CREATE TABLE approvals (
    id         INTEGER PRIMARY KEY,
    run_id     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    group_name TEXT NOT NULL,
    approver   TEXT,
    at         TEXT NOT NULL,
    statement  TEXT,
    signature  TEXT,
    reason     TEXT
  );
  CREATE INDEX approvals_by_run ON approvals (run_id);
  `,
  // 4: values captured with `into NAME` (never a secret one), so that resume has them.
  `
  CREATE TABLE step_values (
    run_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    value       TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
  );
  `,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

type Db = Database.Database;

/** Brings the schema up to date, in one IMMEDIATE transaction (two processes opening at once is safe). */
function migrate(db: Db, file: string): void {
  const apply = db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new JournalOpenError(
        `the journal ${file} has schema version ${current}, newer than this runbook understands (${MIGRATIONS.length}); upgrade runbook`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]);
    if (current !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  });
  apply.immediate();
}

export async function openSqliteJournal(file: string, self: JournalIdentity): Promise<Journal> {
  let db: Db | undefined;
  try {
    db = new Database(file);
    db.pragma("busy_timeout = 10000");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    migrate(db, file);
    const { dev, ino } = statSync(file);
    return new SqliteJournal(db, file, self, { dev, ino });
  } catch (err) {
    db?.close();
    // A runbook still writing to the journal deleted from this path (its -wal is still here).
    const orphans = processesHoldingDeleted(file);
    if (orphans.length > 0) throw new JournalInUseError(file, orphans);
    if (err instanceof JournalOpenError) throw err;
    throw cannotOpenJournal(file, err instanceof Error ? err.message : String(err));
  }
}

/** What a journal file looks like inside (for diagnosis and tests): integrity_check is ["ok"] when sound. */
export function inspectSqliteJournal(file: string): {
  integrity: string[];
  userVersion: number;
  journalMode: string;
  tables: string[];
} {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 10000");
    return {
      integrity: (db.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check),
      userVersion: db.pragma("user_version", { simple: true }) as number,
      journalMode: db.pragma("journal_mode", { simple: true }) as string,
      tables: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    };
  } finally {
    db.close();
  }
}

class SqliteJournal implements Journal {
  readonly kind = "sqlite" as const;
  private readonly recorder = new JournalRecorder();
  private pendingError: unknown;
  /** The first write that failed, kept for good: verify() fails from then on. */
  private lostWrite: unknown;
  /** The run begun or reopened here (verify() checks its lock). */
  private current: CurrentRun | undefined;
  private closed = false;
  private readonly st;
  private readonly applyOps: (ops: WriteOp[]) => void;

  constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly self: JournalIdentity,
    /** The file as opened: verify() notices it deleted or replaced. */
    private readonly fileId: { dev: number; ino: number },
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      insertRun: p(`INSERT INTO runs (${RUN_COLUMNS.join(", ")}) VALUES (${RUN_COLUMNS.map((c) => `@${c}`).join(", ")})`),
      runById: p(`SELECT * FROM runs WHERE id = ?`),
      runIdsByPrefix: p(`SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 10`),
      listRuns: p(
        `SELECT * FROM runs WHERE (@runbook IS NULL OR runbook = @runbook) AND (@env IS NULL OR env = @env)
         ORDER BY started_at DESC, rowid DESC LIMIT @limit`,
      ),
      lock: p(`SELECT * FROM locks WHERE runbook = ? AND env = ?`),
      insertLock: p(
        `INSERT INTO locks (runbook, env, run_id, user_name, machine, pid, since) VALUES (@runbook, @env, @run_id, @user_name, @machine, @pid, @since)`,
      ),
      deleteLock: p(`DELETE FROM locks WHERE runbook = ? AND env = ? AND run_id = ?`),
      deleteLocksOfRun: p(`DELETE FROM locks WHERE run_id = ?`),
      reopenRun: p(
        `UPDATE runs SET status = 'running', user_name = @user_name, machine = @machine, pid = @pid,
         finished_at = NULL, exit_code = NULL, error = NULL WHERE id = @id`,
      ),
      interruptSteps: p(`UPDATE steps SET status = 'interrupted' WHERE run_id = ? AND status = 'running'`),
      interruptRun: p(`UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'`),
      stepStart: p(
        `INSERT INTO steps (run_id, step_id, host, status, attempt, started_at)
         VALUES (@runId, @stepId, @host, 'running', @attempt, @at)
         ON CONFLICT (run_id, step_id) DO UPDATE SET
           host = excluded.host, status = 'running', attempt = excluded.attempt, started_at = excluded.started_at,
           finished_at = NULL, exit_code = NULL, signal_name = NULL, reason = NULL`,
      ),
      stepFinish: p(
        `INSERT INTO steps (run_id, step_id, host, status, attempt, finished_at, exit_code, signal_name, reason, output_tail, output_truncated)
         VALUES (@runId, @stepId, @host, @status, @attempt, @at, @exitCode, @signal, @reason, @tail, @truncated)
         ON CONFLICT (run_id, step_id) DO UPDATE SET
           host = coalesce(excluded.host, host), status = excluded.status, attempt = excluded.attempt,
           finished_at = excluded.finished_at, exit_code = excluded.exit_code, signal_name = excluded.signal_name,
           reason = excluded.reason,
           output_tail = CASE WHEN excluded.output_tail = '' THEN output_tail ELSE excluded.output_tail END,
           output_truncated = CASE WHEN excluded.output_tail = '' THEN output_truncated ELSE excluded.output_truncated END`,
      ),
      stepTail: p(`UPDATE steps SET output_tail = @tail, output_truncated = @truncated WHERE run_id = @runId AND step_id = @stepId`),
      stepHost: p(
        `INSERT OR REPLACE INTO step_hosts (run_id, step_id, host, status, exit_code, error, duration_ms, finished_at)
         VALUES (@runId, @stepId, @host, @status, @exitCode, @error, @durationMs, @at)`,
      ),
      confirmation: p(
        `INSERT INTO confirmations (run_id, step_id, kind, question, answer, by_user, at)
         VALUES (@runId, @stepId, @kind, @question, @answer, @by, @at)`,
      ),
      rollback: p(
        `INSERT INTO rollbacks (run_id, step_id, kind, status, steps, error, at) VALUES (@runId, @stepId, @kind, @status, @steps, @error, @at)`,
      ),
      stepRolledBack: p(`UPDATE steps SET status = 'rolled-back' WHERE run_id = ? AND step_id = ? AND status = 'ok'`),
      note: p(`INSERT INTO notes (run_id, step_id, body, at) VALUES (@runId, @stepId, @text, @at)`),
      runFinish: p(`UPDATE runs SET status = @status, exit_code = @exitCode, error = @error, finished_at = @at WHERE id = @runId`),
      steps: p(`SELECT * FROM steps WHERE run_id = ? ORDER BY id`),
      stepHosts: p(`SELECT * FROM step_hosts WHERE run_id = ? ORDER BY finished_at, host`),
      confirmations: p(`SELECT * FROM confirmations WHERE run_id = ? ORDER BY id`),
      rollbacks: p(`SELECT * FROM rollbacks WHERE run_id = ? ORDER BY id`),
      notes: p(`SELECT * FROM notes WHERE run_id = ? ORDER BY id`),
      approval: p(`INSERT INTO approvals (${APPROVAL_COLUMNS.join(", ")}) VALUES (${APPROVAL_COLUMNS.map(() => "?").join(", ")})`),
      approvals: p(`SELECT * FROM approvals WHERE run_id = ? ORDER BY id`),
      commandStart: p(`INSERT OR REPLACE INTO step_commands (${COMMAND_COLUMNS.join(", ")}) VALUES (${COMMAND_COLUMNS.map(() => "?").join(", ")})`),
      commandEnd: p(`DELETE FROM step_commands WHERE run_id = ? AND step_id = ? AND target_key = ?`),
      commands: p(`SELECT * FROM step_commands WHERE run_id = ? ORDER BY started_at, rowid`),
      value: p(`INSERT OR REPLACE INTO step_values (run_id, name, step_id, value, captured_at) VALUES (?, ?, ?, ?, ?)`),
      values: p(`SELECT name, value FROM step_values WHERE run_id = ?`),
    };
    this.applyOps = db.transaction((ops: WriteOp[]) => {
      for (const op of ops) this.apply(op);
    });
  }

  private apply(op: WriteOp): void {
    const st = this.st;
    switch (op.op) {
      case "step-start":
        st.stepStart.run({ runId: op.runId, stepId: op.stepId, host: op.host, attempt: op.attempt, at: op.at });
        return;
      case "step-finish":
        st.stepFinish.run({
          runId: op.runId,
          stepId: op.stepId,
          host: op.host,
          status: op.status,
          attempt: op.attempt,
          at: op.at,
          exitCode: op.exitCode,
          signal: op.signal,
          reason: op.reason,
          tail: op.tail,
          truncated: op.truncated ? 1 : 0,
        });
        return;
      case "step-tail":
        st.stepTail.run({ runId: op.runId, stepId: op.stepId, tail: op.tail, truncated: op.truncated ? 1 : 0 });
        return;
      case "step-host":
        st.stepHost.run({
          runId: op.runId,
          stepId: op.stepId,
          host: op.host,
          status: op.status,
          exitCode: op.exitCode,
          error: op.error,
          durationMs: op.durationMs,
          at: op.at,
        });
        return;
      case "confirmation":
        st.confirmation.run({
          runId: op.runId,
          stepId: op.stepId,
          kind: op.kind,
          question: op.question,
          answer: op.answer,
          by: op.by,
          at: op.at,
        });
        return;
      case "rollback":
        st.rollback.run({
          runId: op.runId,
          stepId: op.stepId,
          kind: op.kind,
          status: op.status,
          steps: op.steps === null ? null : JSON.stringify(op.steps),
          error: op.error,
          at: op.at,
        });
        if (op.kind === "step" && op.status === "ok" && op.stepId !== null) st.stepRolledBack.run(op.runId, op.stepId);
        return;
      case "note":
        st.note.run({ runId: op.runId, stepId: op.stepId, text: op.text, at: op.at });
        return;
      case "approval":
        st.approval.run(...approvalRow(op.record));
        return;
      case "command-start":
        st.commandStart.run(...commandRow(op, this.self.machine));
        return;
      case "value":
        st.value.run(op.runId, op.name, op.stepId, op.value, op.at);
        return;
      case "command-end":
        st.commandEnd.run(op.runId, op.stepId, commandKey(op.command));
        return;
      case "run-finish":
        st.runFinish.run({ runId: op.runId, status: op.status, exitCode: op.exitCode, error: op.error, at: op.at });
        st.deleteLocksOfRun.run(op.runId);
        if (this.current?.runId === op.runId) this.current.finished = true;
        return;
    }
  }

  private check(): void {
    if (this.closed) throw new Error("the journal is closed");
  }

  async beginRun(info: BeginRunInfo): Promise<void> {
    this.check();
    if (!info.dryRun) {
      // A run still writing to a journal deleted from this path holds a lock no one can see here.
      const orphans = processesHoldingDeleted(this.location);
      if (orphans.length > 0) throw new JournalInUseError(this.location, orphans);
    }
    const row = newRunRow(info, this.self, nowIso());
    this.db
      .transaction(() => {
        if (!info.dryRun) {
          const held = this.st.lock.get(row.runbook, row.env) as LockRow | undefined;
          if (held) {
            const holder = holderFromRow(held);
            const stale = isStale(holder, this.self);
            if (!(stale && info.resumedFrom === holder.runId)) throw new LockedError(holder, stale, info.file);
            // A run resuming the one whose process died takes its lock over.
            this.st.deleteLock.run(holder.runbook, holder.env, holder.runId);
            this.st.interruptRun.run(holder.runId);
          }
        }
        try {
          this.st.insertRun.run(row);
        } catch (err) {
          if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
            throw new Error(`a run with id ${row.id} is already in the journal ${this.location}`);
          }
          throw err;
        }
        if (!info.dryRun) {
          this.st.insertLock.run({
            runbook: row.runbook,
            env: row.env,
            run_id: row.id,
            user_name: row.user_name,
            machine: row.machine,
            pid: row.pid,
            since: row.started_at,
          });
        }
      })
      .immediate();
    this.current = { runId: row.id, runbook: row.runbook, env: row.env, dryRun: info.dryRun };
  }

  async reopenRun(runId: string): Promise<RunRecord> {
    this.check();
    return this.db
      .transaction(() => {
        const row = this.st.runById.get(runId) as RunRow | undefined;
        if (!row) throw new Error(`no run ${runId} in the journal ${this.location}`);
        const mine = row.machine === this.self.machine && row.pid === this.self.pid;
        if (row.status === "running" && !mine) {
          const liveHere = row.machine === this.self.machine && pidAlive(row.pid);
          if (liveHere || row.machine !== this.self.machine) {
            throw new LockedError(
              { runbook: row.runbook, env: row.env, runId: row.id, user: row.user_name, machine: row.machine, pid: row.pid, since: row.started_at },
              false,
              row.file_path,
            );
          }
        }
        const since = nowIso();
        if (!row.dry_run) {
          const held = this.st.lock.get(row.runbook, row.env) as LockRow | undefined;
          if (held && held.run_id !== row.id) {
            const holder = holderFromRow(held);
            throw new LockedError(holder, isStale(holder, this.self), row.file_path);
          }
          if (held) this.st.deleteLock.run(row.runbook, row.env, row.id);
          this.st.insertLock.run({
            runbook: row.runbook,
            env: row.env,
            run_id: row.id,
            user_name: this.self.user,
            machine: this.self.machine,
            pid: this.self.pid,
            since,
          });
        }
        this.st.reopenRun.run({ id: row.id, user_name: this.self.user, machine: this.self.machine, pid: this.self.pid });
        this.st.interruptSteps.run(row.id);
        this.current = { runId: row.id, runbook: row.runbook, env: row.env, dryRun: Boolean(row.dry_run) };
        return runFromRow(this.st.runById.get(row.id) as RunRow, this.self);
      })
      .immediate();
  }

  record(event: RunEvent): void {
    if (this.closed) return;
    try {
      const ops = this.recorder.events(event);
      if (ops.length === 0) return;
      // One statement commits atomically by itself; anything more goes in a transaction.
      if (ops.length === 1 && singleStatement(ops[0])) this.apply(ops[0]);
      else this.applyOps(ops);
    } catch (err) {
      this.pendingError ??= err;
      this.lostWrite ??= err;
    }
  }

  async flush(): Promise<void> {
    if (!this.closed) {
      try {
        const ops = this.recorder.dirtyTails();
        if (ops.length > 0) this.applyOps(ops);
      } catch (err) {
        this.pendingError ??= err;
        this.lostWrite ??= err;
      }
    }
    const err = this.pendingError;
    this.pendingError = undefined;
    if (err !== undefined) throw new Error(`could not write to the journal ${this.location}: ${(err as Error).message ?? err}`);
  }

  async verify(): Promise<void> {
    this.check();
    if (this.lostWrite !== undefined) throw new JournalError("write-failed", this.location, errorText(this.lostWrite));
    let now: { dev: number; ino: number };
    try {
      now = statSync(this.location);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") throw new JournalError("file-gone", this.location);
      throw new JournalError("unreachable", this.location, errorText(err));
    }
    if (now.ino !== this.fileId.ino || now.dev !== this.fileId.dev) throw new JournalError("file-replaced", this.location);
    const current = this.current;
    if (!current || current.dryRun || current.finished) return;
    let why: string | undefined;
    try {
      why = lockStillOurs(this.st.lock.get(current.runbook, current.env) as LockRow | undefined, current, this.self);
    } catch (err) {
      throw new JournalError("unreachable", this.location, errorText(err));
    }
    if (why !== undefined) throw new JournalError("lock-lost", this.location, why);
  }

  async getCommands(runId: string): Promise<CommandRecord[]> {
    this.check();
    return (this.st.commands.all(runId) as Record<string, unknown>[]).map(commandFromRow);
  }

  async getApprovals(runId: string): Promise<ApprovalRecord[]> {
    this.check();
    const id = this.resolveId(runId) ?? runId;
    return (this.st.approvals.all(id) as Record<string, unknown>[]).map(approvalFromRow);
  }

  async addApproval(record: ApprovalRecord): Promise<void> {
    this.check();
    this.st.approval.run(...approvalRow(record));
  }

  async forgetCommand(runId: string, stepId: string, ref: Pick<CommandRef, "host" | "target">): Promise<void> {
    this.check();
    this.st.commandEnd.run(runId, stepId, commandKey(ref));
  }

  async getValues(runId: string): Promise<Record<string, string>> {
    this.check();
    const out: Record<string, string> = {};
    for (const r of this.st.values.all(runId) as { name: string; value: string }[]) out[r.name] = r.value;
    return out;
  }

  private resolveId(idOrPrefix: string): string | undefined {
    if (idOrPrefix === "") return undefined;
    if (this.st.runById.get(idOrPrefix)) return idOrPrefix;
    const matches = (this.st.runIdsByPrefix.all(likePrefix(idOrPrefix)) as { id: string }[]).map((r) => r.id);
    if (matches.length > 1) throw new AmbiguousRunIdError(idOrPrefix, matches);
    return matches[0];
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.check();
    const id = this.resolveId(runId);
    if (id === undefined) return undefined;
    return runFromRow(this.st.runById.get(id) as RunRow, this.self);
  }

  async getSteps(runId: string): Promise<StepRecord[]> {
    this.check();
    const id = this.resolveId(runId) ?? runId;
    const run = this.st.runById.get(id) as RunRow | undefined;
    return stepsFromRows(
      run,
      this.st.steps.all(id) as StepRow[],
      this.st.stepHosts.all(id) as StepHostRow[],
      this.self,
    );
  }

  async getConfirmations(runId: string): Promise<ConfirmationRecord[]> {
    this.check();
    const id = this.resolveId(runId) ?? runId;
    return (this.st.confirmations.all(id) as Record<string, unknown>[]).map(confirmationFromRow);
  }

  async getRollbacks(runId: string): Promise<RollbackRecord[]> {
    this.check();
    const id = this.resolveId(runId) ?? runId;
    return (this.st.rollbacks.all(id) as Record<string, unknown>[]).map(rollbackFromRow);
  }

  async getNotes(runId: string): Promise<NoteRecord[]> {
    this.check();
    const id = this.resolveId(runId) ?? runId;
    return (this.st.notes.all(id) as Record<string, unknown>[]).map(noteFromRow);
  }

  async listRuns(filter: { runbook?: string; env?: string; limit?: number } = {}): Promise<RunRecord[]> {
    this.check();
    const rows = this.st.listRuns.all({
      runbook: filter.runbook ?? null,
      env: filter.env ?? null,
      limit: filter.limit !== undefined && filter.limit > 0 ? Math.floor(filter.limit) : -1,
    }) as RunRow[];
    return rows.map((r) => runFromRow(r, this.self));
  }

  async getLock(runbook: string, env: string): Promise<(LockHolder & { stale: boolean }) | undefined> {
    this.check();
    const row = this.st.lock.get(runbook, env) as LockRow | undefined;
    if (!row) return undefined;
    const holder = holderFromRow(row);
    return { ...holder, stale: isStale(holder, this.self) };
  }

  async unlock(
    runbook: string,
    env: string,
    options: { force?: boolean } = {},
  ): Promise<{ cleared: boolean; holder?: LockHolder; reason?: string }> {
    this.check();
    return this.db
      .transaction(() => {
        const row = this.st.lock.get(runbook, env) as LockRow | undefined;
        if (!row) return { cleared: false, reason: `there is no lock on ${runbook} in env ${env}` };
        const holder = holderFromRow(row);
        const decision = unlockDecision(holder, this.self, options.force ?? false);
        if (!decision.allowed) return { cleared: false, holder, reason: decision.reason };
        this.st.deleteLock.run(runbook, env, holder.runId);
        if (decision.holderGone) this.st.interruptRun.run(holder.runId);
        return { cleared: true, holder, reason: decision.reason };
      })
      .immediate();
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
    this.db.close();
    if (error !== undefined) throw error;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Ops that are one SQL statement (rollback and run-finish are two). */
function singleStatement(op: WriteOp): boolean {
  return op.op !== "rollback" && op.op !== "run-finish";
}
