// Progress of a data command (export, import, sync): rows done per table, of how
// many when known, and the rate, reported at most every `everyMs` (a few times a
// second) and once when each table is done; then, for import and sync, the same
// for the tables read back to verify them. The executor turns each report into
// a `progress` RunEvent (events.ts); the plain log prints one every few seconds.

import type { DataProgress, DataProgressKind } from "./events.js";

export type ProgressListener = (p: DataProgress) => void;

export class ProgressMeter {
  private table = "";
  private total: number | undefined;
  private rows = 0;
  private started = 0;
  private last = 0;
  private tablesDone = 0;
  private verifying = false;

  constructor(
    private readonly kind: DataProgressKind,
    private readonly listener: ProgressListener | undefined,
    private readonly tables?: number,
    private readonly everyMs = 250,
    private readonly now: () => number = Date.now,
  ) {}

  /** The tables are all written: from here on, the rows are those read back to verify them, table by table again. */
  startVerifying(): void {
    this.verifying = true;
    this.tablesDone = 0;
  }

  startTable(table: string, total?: number): void {
    this.table = table;
    this.total = total;
    this.rows = 0;
    this.started = this.now();
    this.last = this.started;
  }

  /** `n` more rows done. */
  add(n: number): void {
    this.rows += n;
    if (this.listener === undefined) return;
    const t = this.now();
    if (t - this.last >= this.everyMs) {
      this.last = t;
      this.report(t, false);
    }
  }

  endTable(): void {
    if (this.listener !== undefined) this.report(this.now(), true);
    this.tablesDone++;
  }

  private report(t: number, done: boolean): void {
    const elapsed = Math.max(t - this.started, 1);
    this.listener!({
      kind: this.kind,
      table: this.table,
      rows: this.rows,
      ...(this.total !== undefined ? { total: this.total } : {}),
      rate: Math.round((this.rows * 1000) / elapsed),
      tablesDone: this.tablesDone,
      ...(this.tables !== undefined ? { tables: this.tables } : {}),
      done,
      ...(this.verifying ? { verifying: true as const } : {}),
    });
  }
}
