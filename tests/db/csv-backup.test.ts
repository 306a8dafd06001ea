// The lossless `format csv` backup: a folder of RFC 4180 files (one per table)
// with manifest.json, or a one-table file with its manifest beside it. Round trips
// exact for NULL vs '' vs '<NULL>', blobs (bytes and text), decimals, dates and
// emoji, on SQLite and MariaDB and from one to the other; damaged and cut-short
// backups refused before the database is touched; a one-table CSV without a
// manifest refused when it ends inside a record.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { exportTables, importFile } from "../../runtime/data.js";
import type { Manifest } from "../../runtime/data-manifest.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { allRows, loadFixture, newSqlite, TABLES, useTempFiles } from "./fixtures.js";
import { planFrom, runPlan } from "../runtime/helpers.js";

const SQLITE_KINDS = "CREATE TABLE kinds (id INTEGER PRIMARY KEY, s TEXT, d NUMERIC(10,2), r REAL, dt TIMESTAMP, b BLOB)";
const MYSQL_KINDS =
  "CREATE TABLE kinds (id INT NOT NULL, s LONGTEXT, d DECIMAL(10,2), r DOUBLE, dt DATETIME, b LONGBLOB, PRIMARY KEY (id)) ENGINE=InnoDB CHARACTER SET utf8mb4";
/** [id, s, d, r, dt, b]: NULL, '' and '<NULL>' apart; a decimal web2py would round; bytes and base64 text in a blob. */
const KINDS: unknown[][] = [
  [1, null, null, null, null, null],
  [2, "", "0.00", 0, "2010-01-12 13:45:00", Buffer.alloc(0)],
  [3, "<NULL>", "12.30", 1e-5, "1999-12-31 23:59:59", Buffer.from([0x00, 0xff, 0x10, 0x0d, 0x0a])],
  [4, 'emoji 🐕, "quotes", CR\r\nLF, back\\slash', "-7.05", 0.1 + 0.2, "2038-01-19 03:14:08", "aGVsbG8="],
  [5, "NULL", "99999999.99", -1.7976931348623157e308, null, Buffer.from("plain text bytes")],
];

const tmp = useTempFiles();
const open = tmp.open;

async function sqlite(name: string, sql: string): Promise<DatabaseDriver> {
  const db = await newSqlite(join(tmp.dir, name), sql);
  open.push(db);
  return db;
}

async function insertKinds(db: DatabaseDriver): Promise<void> {
  for (const row of KINDS) await db.execute("INSERT INTO kinds (id, s, d, r, dt, b) VALUES (?, ?, ?, ?, ?, ?)", row as never);
}

/** Every value with its SQLite storage class, so text and bytes (and 12.3 and '12.3') are told apart. */
async function typedRows(db: DatabaseDriver): Promise<unknown[]> {
  if (db.engine === "mysql") return db.query("SELECT * FROM kinds ORDER BY id");
  return db.query("SELECT id, s, typeof(s) AS ts, d, typeof(d) AS td, r, dt, b, typeof(b) AS tb FROM kinds ORDER BY id");
}

async function fixture(name = "src.sqlite"): Promise<DatabaseDriver> {
  const db = await sqlite(name, "");
  await loadFixture(db);
  return db;
}

async function snapshot(db: DatabaseDriver): Promise<unknown[]> {
  return Promise.all(TABLES.map((t) => allRows(db, t)));
}

/** A database whose every use fails: what is refused before it is touched never gets there. */
function untouchable(): DatabaseDriver {
  return new Proxy({ engine: "sqlite", label: "untouchable" } as DatabaseDriver, {
    get(target, prop) {
      if (prop === "engine" || prop === "label" || prop === "then") return (target as never)[prop];
      return () => {
        throw new Error(`the database was touched (${String(prop)})`);
      };
    },
  });
}

describe("csv backup on SQLite", () => {
  it("round-trips every value exactly, its storage class included", async () => {
    const src = await sqlite("src.sqlite", SQLITE_KINDS);
    await insertKinds(src);
    const before = await typedRows(src);
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv", { runId: "run-42" });
    await src.execute("CREATE TABLE other (id INTEGER PRIMARY KEY)"); // a second table: the folder layout
    await exportTables(src, undefined, path, "csv", { runId: "run-42" });
    const dst = await sqlite("dst.sqlite", SQLITE_KINDS + "; CREATE TABLE other (id INTEGER PRIMARY KEY)");
    expect((await importFile(dst, path)).tables).toEqual([
      { name: "kinds", rows: 5 },
      { name: "other", rows: 0 },
    ]);
    expect(await typedRows(dst)).toEqual(before);
    // the decimal is as stored, not rounded to its scale as web2py's format writes it
    expect(readFileSync(join(path, "kinds.csv"), "utf8")).toContain(",12.3,");
  });

  it("writes a manifest with the engine, run id, time, and per table its file, rows, sha256 and column types", async () => {
    const src = await fixture();
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv", { runId: "run-42" });
    const m = JSON.parse(readFileSync(join(path, "manifest.json"), "utf8")) as Manifest;
    expect(m).toMatchObject({ format: "runbook-csv", version: 1, engine: "sqlite", runId: "run-42" });
    expect(Date.now() - Date.parse(m.time)).toBeLessThan(60_000);
    expect(m.tables.map((t) => [t.name, t.file, t.rows])).toEqual([
      ["person", "person.csv", 7],
      ["dog", "dog.csv", 3],
      ["empty_one", "empty_one.csv", 0],
    ]);
    for (const t of m.tables) {
      const bytes = readFileSync(join(path, t.file));
      expect(t.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect(t.bytes).toBe(bytes.length);
    }
    expect(m.tables[0]!.columns.find((c) => c.name === "photo")).toEqual({ name: "photo", type: "BLOB", encoding: "tagged" });
    expect(m.tables[0]!.columns.find((c) => c.name === "score")).toEqual({ name: "score", type: "DOUBLE", encoding: "text" });
  });

  it("replaces a folder that was there whole, and a one-table file gets its manifest beside it", async () => {
    const src = await fixture();
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv");
    writeFileSync(join(path, "stale.csv"), "old");
    await exportTables(src, undefined, path, "csv");
    expect(readdirSync(path).sort()).toEqual(["dog.csv", "empty_one.csv", "manifest.json", "person.csv"]);
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith("."))).toEqual([]);
    await exportTables(src, ["dog"], join(tmp.dir, "dog.csv"), "csv");
    const m = JSON.parse(readFileSync(join(tmp.dir, "dog.csv.manifest.json"), "utf8")) as Manifest;
    expect(m.tables).toMatchObject([{ name: "dog", file: "dog.csv", rows: 3 }]);
  });
});

describe("files larger than a read", () => {
  it("a backup of many 64 KB reads, with 4-byte characters across their boundaries, comes back exact, web2py and one-table CSV files too", async () => {
    const src = await sqlite("big.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)");
    // 3- and 4-byte characters with odd lengths, so that reads of 64 KB end inside them
    await src.transaction(async () => {
      for (let i = 0; i < 6000; i++) await src.execute("INSERT INTO t VALUES (?, ?)", [i, `${"🐕".repeat(i % 7)}日本${"é".repeat(i % 5)},"${i}"\r\n${"x".repeat(i % 13)}`]);
    });
    const rows = await allRows(src, "t");
    for (const [file, format] of [["big.csv", "csv"], ["big.web2py.csv", "web2py"]] as const) {
      const path = join(tmp.dir, file);
      await exportTables(src, ["t"], path, format);
      expect(readFileSync(path).length).toBeGreaterThan(3 * 65536);
      const dst = await sqlite(`dst-${format}.sqlite`, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)");
      expect((await importFile(dst, path)).tables).toEqual([{ name: "t", rows: 6000 }]);
      expect(await allRows(dst, "t")).toEqual(rows);
    }
    rmSync(join(tmp.dir, "big.csv.manifest.json"));
    const dst = await sqlite("dst-plain.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)");
    expect((await importFile(dst, join(tmp.dir, "big.csv"))).tables).toEqual([{ name: "t", rows: 6000 }]);
    expect(await allRows(dst, "t")).toEqual(rows);
  });
});

describe("damaged backups are refused before the database is touched", () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ["a changed byte", (d) => writeFileSync(join(d, "person.csv"), readFileSync(join(d, "person.csv"), "utf8").replace("Alice", "Alicf")), /person\.csv is not the file that was exported \(its sha256 differs from the manifest's\)$/],
    ["a file cut at a line end", (d) => writeFileSync(join(d, "dog.csv"), readFileSync(join(d, "dog.csv"), "utf8").split("\r\n").slice(0, 3).join("\r\n") + "\r\n"), /dog\.csv is not the file that was exported .*; dog\.csv holds 2 rows where the manifest says 3$/],
    ["a file cut inside a record", (d) => truncateSync(join(d, "person.csv"), 150), /person\.csv is not the file that was exported .*; person\.csv ends inside a record \(it is cut short\); person\.csv holds \d rows? where the manifest says 7/],
    ["a missing file", (d) => rmSync(join(d, "dog.csv")), /: dog\.csv is missing$/],
    ["a manifest that is not JSON", (d) => writeFileSync(join(d, "manifest.json"), '{"format": "runbook-csv", "tab'), /manifest\.json is not a runbook csv manifest: not valid JSON/],
    ["a manifest naming a file elsewhere", (d) => writeFileSync(join(d, "manifest.json"), readFileSync(join(d, "manifest.json"), "utf8").replace('"dog.csv"', '"../dog.csv"')), /table 2 is not described as a table/],
  ];

  it.each(cases)("%s", async (_what, damage, message) => {
    const src = await fixture();
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv");
    damage(path);
    await expect(importFile(untouchable(), path)).rejects.toThrow(message);
    // and a real database stays as it was
    const dst = await fixture("dst.sqlite");
    await dst.execute("UPDATE person SET name = 'kept'");
    const before = await snapshot(dst);
    await expect(importFile(dst, path)).rejects.toThrow(message);
    expect(await snapshot(dst)).toEqual(before);
  });

  it("a manifest whose count or header is not its file's (the file's bytes intact): refused before the database is touched", async () => {
    const src = await fixture();
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv");
    const manifest = readFileSync(join(path, "manifest.json"), "utf8");
    const dst = await fixture("dst.sqlite");
    await dst.execute("UPDATE person SET name = 'kept'");
    const before = await snapshot(dst);
    writeFileSync(join(path, "manifest.json"), manifest.replace('"rows": 7', '"rows": 8'));
    await expect(importFile(untouchable(), path)).rejects.toThrow(/backup is damaged, nothing was imported: person\.csv holds 7 rows where the manifest says 8$/);
    await expect(importFile(dst, path)).rejects.toThrow(/person\.csv holds 7 rows where the manifest says 8$/);
    expect(await snapshot(dst)).toEqual(before);
    const m = JSON.parse(manifest) as Manifest;
    m.tables.find((t) => t.name === "dog")!.columns.reverse();
    writeFileSync(join(path, "manifest.json"), JSON.stringify(m));
    await expect(importFile(untouchable(), path)).rejects.toThrow(/backup is damaged, nothing was imported: dog\.csv does not start with the header dog\./);
    await expect(importFile(dst, path)).rejects.toThrow(/dog\.csv does not start with the header dog\./);
    expect(await snapshot(dst)).toEqual(before);
  });

  it("a one-table file with its manifest: the same checks", async () => {
    const src = await fixture();
    const path = join(tmp.dir, "person.csv");
    await exportTables(src, ["person"], path, "csv");
    writeFileSync(path, readFileSync(path, "utf8").split("\r\n").slice(0, 5).join("\r\n") + "\r\n");
    await expect(importFile(untouchable(), path)).rejects.toThrow(/backup is damaged, nothing was imported: person\.csv is not the file that was exported .*person\.csv holds \d rows? where the manifest says 7/);
  });
});

describe("through a run", () => {
  it("an export step writes a folder with the run's id, and an import step (past the preflight) restores it", async () => {
    const src = await fixture("app.sqlite");
    const source = (step: string) => `runbook "backup" version "1.0.0"
database appdb = sqlite "app.sqlite"
section "Data" {
  step "Go" {
    ${step}
  }
}
`;
    const exported = await runPlan(planFrom(source('export appdb to "backup" format csv')), { cwd: tmp.dir });
    expect(exported.steps).toEqual({ go: "ok" });
    expect((JSON.parse(readFileSync(join(tmp.dir, "backup", "manifest.json"), "utf8")) as Manifest).runId).toBe("test-run");
    await src.execute("DELETE FROM dog");
    const imported = await runPlan(planFrom(source('import appdb from "backup"')), { cwd: tmp.dir });
    expect(imported.steps).toEqual({ go: "ok" });
    expect(imported.output.go).toContain("imported 3 tables, 10 rows (person 7,");
    expect(await allRows(src, "dog")).toHaveLength(3);
  });
});

describe("a dry run of an import", () => {
  it("checks a csv backup as the import would (its manifest and files): a damaged one fails the dry run, an intact one says so", async () => {
    const src = await fixture("app.sqlite");
    await exportTables(src, undefined, join(tmp.dir, "backup"), "csv");
    const plan = planFrom(`runbook "backup" version "1.0.0"
database appdb = sqlite "app.sqlite"
section "Data" {
  step "Go" {
    import appdb from "backup"
  }
}
`);
    const intact = await runPlan(plan, { cwd: tmp.dir, dryRun: true });
    expect(intact.steps).toEqual({ go: "ok" });
    expect(JSON.stringify(intact.events)).toContain("would import backup into appdb: a csv backup of 3 tables, 10 rows (person 7, dog 3, empty_one 0), its manifest and files checked");
    writeFileSync(join(tmp.dir, "backup", "dog.csv"), readFileSync(join(tmp.dir, "backup", "dog.csv"), "utf8").replace("Rex", "Rey"));
    const damaged = await runPlan(plan, { cwd: tmp.dir, dryRun: true });
    expect(damaged.steps).toEqual({ go: "failed" });
    expect(JSON.stringify(damaged.events)).toContain("the backup is damaged, nothing was imported: dog.csv is not the file that was exported");
    expect(JSON.stringify(damaged.events)).not.toContain("would import");
  });
});

describe("a one-table CSV without a manifest", () => {
  it("is refused when it ends inside a record (cut short), and the database is unchanged", async () => {
    const src = await fixture();
    const path = join(tmp.dir, "person.csv");
    await exportTables(src, ["person"], path, "csv");
    rmSync(`${path}.manifest.json`);
    const whole = readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.indexOf("5, lead")  + 4));
    const dst = await fixture("dst.sqlite");
    const before = await snapshot(dst);
    await expect(importFile(dst, path)).rejects.toThrow(`${path} does not end with a line end: it is cut short`);
    expect(await snapshot(dst)).toEqual(before);
    writeFileSync(path, whole);
    expect((await importFile(dst, path)).tables).toEqual([{ name: "person", rows: 7 }]);
  });
});

const run = await requireMariadb();

describe.runIf(run)("csv backup with MariaDB", () => {
  let testDb: TestDatabase;
  let my: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    my = await testDb.open();
    await my.execute(MYSQL_KINDS);
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it("round-trips every value exactly on MariaDB", async () => {
    await my.execute("DELETE FROM kinds");
    await insertKinds(my);
    const before = await typedRows(my);
    const path = join(tmp.dir, "kinds.csv");
    await exportTables(my, ["kinds"], path, "csv");
    const m = JSON.parse(readFileSync(`${path}.manifest.json`, "utf8")) as Manifest;
    expect(m.tables[0]!.columns.find((c) => c.name === "b")).toEqual({ name: "b", type: "longblob", encoding: "base64" });
    await my.execute("UPDATE kinds SET s = 'changed', b = NULL");
    await importFile(my, path);
    expect(await typedRows(my)).toEqual(before);
    const text = readFileSync(path, "utf8");
    expect(text).toContain("1,,,,,\r\n"); // NULLs
    expect(text).toContain('2,"",0.00,0.0,2010-01-12 13:45:00,""\r\n'); // '' and an empty blob
  });

  it("SQLite → backup → MariaDB: the values arrive as they were", async () => {
    const src = await sqlite("src.sqlite", SQLITE_KINDS);
    await insertKinds(src);
    const path = join(tmp.dir, "backup.csv");
    await exportTables(src, ["kinds"], path, "csv");
    await my.execute("DELETE FROM kinds");
    await importFile(my, path);
    const rows = await my.query("SELECT id, s, d, b FROM kinds ORDER BY id");
    expect(rows.map((r) => r.s)).toEqual([null, "", "<NULL>", KINDS[3]![1], "NULL"]);
    expect(rows.map((r) => r.d)).toEqual([null, "0.00", "12.30", "-7.05", "99999999.99"]);
    expect(rows.map((r) => r.b)).toEqual([null, Buffer.alloc(0), KINDS[2]![5], Buffer.from("aGVsbG8="), KINDS[4]![5]]);
  });
});
