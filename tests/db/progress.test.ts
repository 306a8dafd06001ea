// Progress of export, import and sync: the meter reports at most every 250 ms and
// once per finished table; a real sync, import and export report rows that only
// grow up to the table's count; a run turns them into `progress` events (each one
// in NDJSON), and the plain log prints one line every few seconds per step.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { DataProgress, RunEvent } from "../../runtime/events.js";
import { ProgressMeter } from "../../runtime/data-progress.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { createPlainLog, progressLine } from "../../runtime/views/plain-log.js";
import { createNdjson } from "../../runtime/views/ndjson.js";
import { planFrom, runPlan, tempDir } from "../runtime/helpers.js";
import { newSqlite } from "./fixtures.js";

const ROWS = 30_000;
const SCHEMA = "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE small (id INTEGER PRIMARY KEY, v TEXT)";
const FILL =
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS}) INSERT INTO big SELECT i, 'row ' || i FROM n;` +
  "INSERT INTO small VALUES (1, 'one'), (2, 'two')";

let dir: string;
beforeEach(() => {
  dir = tempDir("runbook-progress-");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The reports of each table are in order, rows only grow, and the last is done with
 * the table's count; for import and sync, the same again for the tables read back
 * to verify them, all after the last table was written.
 */
function checkReports(reports: DataProgress[], kind: DataProgress["kind"], expected: Record<string, number>, total: boolean): void {
  expect(reports.every((p) => p.kind === kind)).toBe(true);
  const written = reports.filter((p) => !p.verifying);
  const verified = reports.filter((p) => p.verifying);
  if (kind === "export") expect(verified).toEqual([]);
  else expect(reports.findIndex((p) => p.verifying)).toBe(written.length);
  for (const [phase, ofPhase] of [["written", written], ["verified", verified]] as const) {
    if (phase === "verified" && kind === "export") continue;
    for (const [table, rows] of Object.entries(expected)) {
      const mine = ofPhase.filter((p) => p.table === table);
      // A read back knows the count: what was written.
      expect(mine.at(-1), `${phase} ${table}`).toMatchObject({ table, rows, done: true, ...(total || phase === "verified" ? { total: rows } : {}) });
      expect(mine.filter((p) => p.done)).toHaveLength(1);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.rows).toBeGreaterThanOrEqual(mine[i - 1]!.rows);
    }
  }
}

describe("the progress meter", () => {
  it("reports at most every 250 ms, and once when a table is done", () => {
    let now = 0;
    const seen: DataProgress[] = [];
    const m = new ProgressMeter("sync", (p) => seen.push(p), 2, 250, () => now);
    m.startTable("a", 1000);
    for (let i = 0; i < 10; i++) {
      now += 100;
      m.add(100);
    }
    m.endTable();
    m.startTable("b");
    m.endTable();
    expect(seen.map((p) => [p.table, p.rows, p.done])).toEqual([
      ["a", 300, false],
      ["a", 600, false],
      ["a", 900, false],
      ["a", 1000, true],
      ["b", 0, true],
    ]);
    expect(seen[0]).toMatchObject({ total: 1000, rate: 1000, tablesDone: 0, tables: 2 });
    expect(seen[4]).toMatchObject({ tablesDone: 1, tables: 2 });
    expect(seen[4]!.total).toBeUndefined();
  });
});

describe("progress of the data commands", () => {
  it("sync, export and import report each table up to its count", async () => {
    const src = await newSqlite(join(dir, "src.sqlite"), SCHEMA + ";" + FILL);
    const dst = await newSqlite(join(dir, "dst.sqlite"), SCHEMA);
    try {
      const synced: DataProgress[] = [];
      await syncTables(src, dst, undefined, { onProgress: (p) => synced.push(p) });
      checkReports(synced, "sync", { big: ROWS, small: 2 }, true);
      const exported: DataProgress[] = [];
      await exportTables(src, undefined, join(dir, "backup"), "csv", { onProgress: (p) => exported.push(p) });
      checkReports(exported, "export", { big: ROWS, small: 2 }, true);
      const imported: DataProgress[] = [];
      await importFile(dst, join(dir, "backup"), { onProgress: (p) => imported.push(p) });
      checkReports(imported, "import", { big: ROWS, small: 2 }, true);
      const web2py: DataProgress[] = [];
      await exportTables(src, undefined, join(dir, "w.csv"), "web2py");
      await importFile(dst, join(dir, "w.csv"), { onProgress: (p) => web2py.push(p) });
      checkReports(web2py, "import", { big: ROWS, small: 2 }, false); // no count known before the end
    } finally {
      await src.close();
      await dst.close();
    }
  });

  it("a run emits them as progress events of the step, each one in NDJSON", async () => {
    const src = await newSqlite(join(dir, "prod.sqlite"), SCHEMA + ";" + FILL);
    await src.close();
    (await newSqlite(join(dir, "dev.sqlite"), SCHEMA)).close();
    const source = `runbook "p" version "1.0.0"
param dbfile = "dev.sqlite"
database appdb = sqlite "\${dbfile}"
env dev {
}
env prod {
  param dbfile = "prod.sqlite"
}
section "Data" {
  step "Sync" when env == "dev" {
    sync appdb from prod.appdb
  }
}
`;
    const lines: string[] = [];
    const ndjson = createNdjson({ write: (t: string) => lines.push(t) } as never);
    const r = await runPlan(planFrom(source, { env: "dev" }), { cwd: dir, onEvent: (e) => ndjson(e) });
    expect(r.steps).toEqual({ sync: "ok" });
    const progress = r.events.filter((e): e is Extract<RunEvent, { type: "progress" }> => e.type === "progress");
    checkReports(progress, "sync", { big: ROWS, small: 2 }, true);
    expect(progress.every((e) => e.stepId === "sync")).toBe(true);
    const fromNdjson = lines.join("").split("\n").filter((l) => l.includes('"type":"progress"'));
    expect(fromNdjson).toHaveLength(progress.length);
  });
});

describe("the plain log", () => {
  it("prints a data step's progress once every 5 seconds, not each event", () => {
    const out: string[] = [];
    const log = createPlainLog({ write: (t: string) => out.push(t) });
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + s * 1000).toISOString();
    const p = (s: number, rows: number): RunEvent => ({
      runId: "r",
      time: at(s),
      type: "progress",
      stepId: "sync",
      kind: "sync",
      table: "person",
      rows,
      total: 1_000_000,
      rate: 85_000,
      tablesDone: 0,
      tables: 3,
      done: false,
    });
    for (const [s, rows] of [[0, 1], [1, 2], [4.9, 3], [5, 120_000], [6, 5], [9.9, 6], [10.1, 7]] as const) log(p(s, rows));
    // The time of day, local: as the log shows it (the date on a line of its own first).
    const hms = (s: number) => new Date(at(s)).toTimeString().slice(0, 8);
    expect(out.join("")).toMatch(
      new RegExp(
        `^-- [^\n]+ --\n${hms(5)} \\[sync\\] sync person: 120,000 of 1,000,000 rows \\(12%\\), 85,000 rows/s, table 1 of 3\n` +
          `${hms(10.1)} \\[sync\\] sync person: 7 of 1,000,000 rows \\(0%\\), 85,000 rows/s, table 1 of 3\n$`,
      ),
    );
    expect(progressLine({ kind: "import", table: "t", rows: 5, rate: 2, tablesDone: 0, done: false })).toBe("import t: 5 rows, 2 rows/s");
    expect(progressLine({ kind: "sync", table: "t", rows: 5, total: 10, rate: 2, tablesDone: 1, tables: 2, done: false, verifying: true })).toBe(
      "sync t, read back to verify: 5 of 10 rows (50%), 2 rows/s, table 2 of 2",
    );
  });
});
