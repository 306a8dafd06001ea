// Dry-run wrappers: drivers that change nothing. A DryRunHost lets reads through
// (probes are read-only by contract; the edit diff needs the file as it is now)
// and keeps every write in an in-memory overlay, so a later step of the same dry
// run sees what an earlier one would have written (an edit after an edit, an
// upload then `exists`). A DryRunDatabase lets queries through and refuses
// writes. DryRunState remembers which earlier steps would have changed each host
// or database, so the executor can say "unknown until step X runs" instead of
// failing when a guard or an edit depends on what such a step would do.

import type { DatabaseDriver, ExecOptions, ExecResult, FileStat, HostDriver, Row, SqlValue, ColumnInfo } from "./drivers/driver.js";
import { DriverError } from "./drivers/driver.js";
import { readFile } from "node:fs/promises";
import type { Engine } from "../language/sql/index.js";

export class DryRunHost implements HostDriver {
  /** Files this dry run would have written, by path. */
  private readonly overlay = new Map<string, Buffer>();

  constructor(
    private readonly inner: HostDriver,
    private readonly cwd: string,
  ) {}

  get label(): string {
    return this.inner.label;
  }

  /** Only probes call this: they are read-only by contract. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult> {
    return this.inner.exec(command, options);
  }

  async readFile(path: string): Promise<Buffer> {
    return this.overlay.get(path) ?? this.inner.readFile(path);
  }

  async writeFile(path: string, data: Buffer | string): Promise<void> {
    this.overlay.set(path, Buffer.isBuffer(data) ? data : Buffer.from(data));
  }

  async stat(path: string): Promise<FileStat | null> {
    const o = this.overlay.get(path);
    const real = await this.inner.stat(path);
    if (o) return { mode: real?.mode ?? 0o644, uid: real?.uid ?? 0, gid: real?.gid ?? 0, size: o.length, isDirectory: false };
    return real;
  }

  /** Whether this dry run wrote the path (so its content is known). */
  wrote(path: string): boolean {
    return this.overlay.has(path);
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    const { resolve } = await import("node:path");
    this.overlay.set(remotePath, await readFile(resolve(this.cwd, localPath)));
  }

  async download(): Promise<void> {
    /* a dry run writes nothing locally */
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class DryRunDatabase implements DatabaseDriver {
  constructor(private readonly inner: DatabaseDriver) {}

  get maxParams(): number {
    return this.inner.maxParams;
  }

  get engine(): Engine {
    return this.inner.engine;
  }

  get label(): string {
    return this.inner.label;
  }

  query(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.inner.query(sql, params);
  }

  probe(sql: string, params: SqlValue[]): Promise<Row[]> {
    return this.inner.probe(sql, params);
  }

  stream(sql: string, batch: number): AsyncIterable<SqlValue[][]> {
    return this.inner.stream(sql, batch);
  }

  async execute(): Promise<{ affectedRows: number }> {
    throw new DriverError(`a dry run does not write to ${this.inner.label}`, "dry-run");
  }

  async runStatements(): Promise<{ affectedRows: number[] }> {
    throw new DriverError(`a dry run does not write to ${this.inner.label}`, "dry-run");
  }

  tables(): Promise<string[]> {
    return this.inner.tables();
  }

  columns(table: string): Promise<ColumnInfo[]> {
    return this.inner.columns(table);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What earlier steps of a dry run would have changed: "host:NAME" / "db:NAME" → step ids in order. */
export class DryRunState {
  private readonly changedBy = new Map<string, string[]>();

  static hostKey(host: string | undefined): string {
    return `host:${host ?? ""}`;
  }

  static dbKey(db: string): string {
    return `db:${db}`;
  }

  mark(key: string, stepId: string): void {
    const list = this.changedBy.get(key) ?? [];
    if (!list.includes(stepId)) list.push(stepId);
    this.changedBy.set(key, list);
  }

  /** The latest earlier step that would have changed any of these, if any. */
  lastChange(keys: Iterable<string>, before?: string): string | undefined {
    let best: string | undefined;
    let bestIndex = -1;
    for (const k of keys) {
      const list = (this.changedBy.get(k) ?? []).filter((s) => s !== before);
      const last = list[list.length - 1];
      if (last === undefined) continue;
      const i = this.order.indexOf(last);
      if (i > bestIndex) {
        best = last;
        bestIndex = i;
      }
    }
    return best;
  }

  /** Step ids in the order they were walked. */
  readonly order: string[] = [];
}
