// web2py's conventions, both ways, on schemas shaped as web2py's DAL makes them
// (CHAR(1) booleans, NUMERIC/DECIMAL(p,s), list: fields as `|…|` text, references
// with foreign keys, MySQL tables CHARACTER SET utf8). The fixture files in
// golden/ were written by hand from web2py's rules: `web2py-app-export.csv` is
// what web2py's export_to_csv_file writes (booleans True/False, decimals with
// their scale, tables in model order: parents first); `web2py-app-restored.csv`
// is the same data as runbook exports it after an import (booleans as stored: T/F).
// (web2py itself creates a decimal field on SQLite as DOUBLE, its scale only in
// its .table file: web2py-tables.test.ts has that, from a database pydal made.)

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { cellText, exportTables, importFile, parentsFirst, pyFixed, syncTables, web2pyBoolean } from "../../runtime/data.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { newSqlite, useTempFiles } from "./fixtures.js";
import { fakeHost } from "./fake-host.js";

const GOLDEN = join(import.meta.dirname, "golden");
const WEB2PY_EXPORT = join(GOLDEN, "web2py-app-export.csv");
const RESTORED = readFileSync(join(GOLDEN, "web2py-app-restored.csv"), "utf8");

// Created child first, so neither creation order (SQLite) nor name order (MySQL) is parents first.
const SQLITE_APP = `
CREATE TABLE attachment (id INTEGER PRIMARY KEY AUTOINCREMENT, thing INTEGER REFERENCES thing (id) ON DELETE CASCADE, note TEXT);
CREATE TABLE thing (id INTEGER PRIMARY KEY AUTOINCREMENT, zone INTEGER REFERENCES zone (id) ON DELETE CASCADE, name CHAR(512),
  active CHAR(1), price NUMERIC(10,2), tags TEXT, sizes TEXT);
CREATE TABLE zone (id INTEGER PRIMARY KEY AUTOINCREMENT, name CHAR(512));
`;
const MYSQL_APP = [
  "CREATE TABLE zone (id INT AUTO_INCREMENT NOT NULL, name VARCHAR(512), PRIMARY KEY (id)) ENGINE=InnoDB CHARACTER SET utf8",
  "CREATE TABLE thing (id INT AUTO_INCREMENT NOT NULL, zone INT, name VARCHAR(512), active CHAR(1), price DECIMAL(10,2), tags LONGTEXT, sizes LONGTEXT, " +
    "PRIMARY KEY (id), INDEX zone__idx (zone), FOREIGN KEY (zone) REFERENCES zone (id) ON DELETE CASCADE) ENGINE=InnoDB CHARACTER SET utf8",
  "CREATE TABLE attachment (id INT AUTO_INCREMENT NOT NULL, thing INT, note LONGTEXT, PRIMARY KEY (id), INDEX thing__idx (thing), " +
    "FOREIGN KEY (thing) REFERENCES thing (id) ON DELETE CASCADE) ENGINE=InnoDB CHARACTER SET utf8",
];

const THING_ROWS = [
  { id: 1, zone: 1, name: "Lamp", active: "T", tags: "|a|b||c|", sizes: "|1|2|" },
  { id: 2, zone: 2, name: "Chair", active: "F", tags: "|x|", sizes: "|3|" },
  { id: 3, zone: null, name: "Ghost", active: null, tags: null, sizes: null },
  { id: 4, zone: 1, name: "Table, big", active: "T", tags: "||", sizes: "||" },
];

const tmp = useTempFiles();
const open = tmp.open;

async function sqliteApp(name = "app.sqlite"): Promise<DatabaseDriver> {
  const db = await newSqlite(join(tmp.dir, name), SQLITE_APP);
  open.push(db);
  return db;
}

const thingRows = (db: DatabaseDriver) => db.query("SELECT id, zone, name, active, tags, sizes FROM thing ORDER BY id");

describe("web2py rules, unit by unit", () => {
  it("True/False (and booleans) become T/F only in a CHAR(1) column", () => {
    expect(web2pyBoolean("True", "CHAR(1)")).toBe("T");
    expect(web2pyBoolean("False", "char(1)")).toBe("F");
    expect(web2pyBoolean(true, "CHAR(1)")).toBe("T");
    expect(web2pyBoolean("T", "CHAR(1)")).toBe("T");
    expect(web2pyBoolean("True", "CHAR(10)")).toBe("True");
    expect(web2pyBoolean("True", "TEXT")).toBe("True");
    expect(web2pyBoolean("true", "CHAR(1)")).toBe("true");
  });

  it("decimals keep their declared scale, rounded as Python's format does (ties to even on the exact value)", () => {
    expect(cellText(12.3, { type: "NUMERIC(10,2)" })).toBe("12.30");
    expect(cellText(100, { type: "NUMERIC(10,2)" })).toBe("100.00");
    expect(cellText(100n, { type: "decimal(30,2)" })).toBe("100.00");
    expect(cellText("12.30", { type: "decimal(10,2)" })).toBe("12.30"); // MySQL's text as it is
    expect(cellText(12.3, { type: "DOUBLE" })).toBe("12.3");
    // checked against Python 3: "{0:.2f}".format(x)
    expect([0.125, 0.375, -0.125, 1.005, 1.015, 2.675].map((x) => pyFixed(x, 2))).toEqual(["0.12", "0.38", "-0.12", "1.00", "1.01", "2.67"]);
    expect([0.5, 1.5, 2.5].map((x) => pyFixed(x, 0))).toEqual(["0", "2", "2"]);
    expect(pyFixed(-0, 2)).toBe("-0.00");
  });
});

describe("web2py's own export into SQLite shaped by web2py, and back", () => {
  it("imports True/False as T/F, keeps list: fields and references, and exports parents first with decimals at their scale", async () => {
    const db = await sqliteApp();
    expect(await db.tables()).toEqual(["attachment", "thing", "zone"]);
    const r = await importFile(db, WEB2PY_EXPORT);
    expect(r.tables).toEqual([
      { name: "zone", rows: 2 },
      { name: "thing", rows: 4 },
      { name: "attachment", rows: 3 },
    ]);
    expect(await thingRows(db)).toEqual(THING_ROWS);
    // what the application's `db.thing.active == True` asks
    expect(await db.query("SELECT id FROM thing WHERE active = 'T' ORDER BY id")).toEqual([{ id: 1 }, { id: 4 }]);
    expect(await db.query("PRAGMA foreign_key_check")).toEqual([]);

    const out = join(tmp.dir, "out.csv");
    await exportTables(db, undefined, out, "web2py");
    expect(readFileSync(out, "utf8")).toBe(RESTORED);
  });

  it("orders named tables parents first too, and breaks a cycle by the order given", async () => {
    const db = await sqliteApp();
    expect(await parentsFirst(db, ["attachment", "zone", "thing"])).toEqual(["zone", "thing", "attachment"]);
    await db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, b INTEGER REFERENCES b (id)); CREATE TABLE b (id INTEGER PRIMARY KEY, a INTEGER REFERENCES a (id), up INTEGER REFERENCES b (id))");
    expect(await parentsFirst(db, ["b", "a"])).toEqual(["b", "a"]);
    // attachment's parent is not among them: it has none here
    expect(await parentsFirst(db, ["attachment", "b", "a"])).toEqual(["attachment", "b", "a"]);
    expect(await parentsFirst(db, ["attachment", "thing"])).toEqual(["thing", "attachment"]);
  });

  it("the same through SQLite on a host (import through its sqlite3, export from its copy)", async () => {
    const path = join(tmp.dir, "remote.sqlite");
    (await newSqlite(path, SQLITE_APP)).close();
    const host = await fakeHost({ label: "portal" });
    const db = openRemoteSqlite(host, path, "appdb", { remoteTempDir: tmp.dir });
    try {
      await importFile(db, WEB2PY_EXPORT);
      const out = join(tmp.dir, "out.csv");
      await exportTables(db, undefined, out, "web2py");
      expect(readFileSync(out, "utf8")).toBe(RESTORED);
    } finally {
      await db.close();
      await host.close();
    }
    const local = openSqlite(path);
    open.push(local);
    expect(await thingRows(local)).toEqual(THING_ROWS);
  });
});

const run = await requireMariadb();

describe.runIf(run)("web2py's own export into MariaDB shaped by web2py (CHARACTER SET utf8), and back", () => {
  let testDb: TestDatabase;
  let my: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    my = await testDb.open();
    for (const st of MYSQL_APP) await my.execute(st);
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it("imports True/False into CHAR(1) as T/F; exports parents first (not by name) with decimals at their scale", async () => {
    expect(await my.tables()).toEqual(["attachment", "thing", "zone"]);
    await importFile(my, WEB2PY_EXPORT);
    expect(await thingRows(my)).toEqual(THING_ROWS);
    expect(await my.query("SELECT price FROM thing ORDER BY id")).toEqual([{ price: "12.30" }, { price: "0.05" }, { price: "100.00" }, { price: "-7.10" }]);
    const out = join(tmp.dir, "out.csv");
    await exportTables(my, undefined, out, "web2py");
    expect(readFileSync(out, "utf8")).toBe(RESTORED);
  });

  it("syncs web2py's SQLite into web2py's MySQL and back with every value the same", async () => {
    const prod = await sqliteApp("prod.sqlite");
    await importFile(prod, WEB2PY_EXPORT);
    await my.execute("DELETE FROM attachment; DELETE FROM thing; DELETE FROM zone");
    await syncTables(prod, my);
    expect(await thingRows(my)).toEqual(THING_ROWS);
    expect(await my.query("SELECT price FROM thing ORDER BY id")).toEqual([{ price: "12.30" }, { price: "0.05" }, { price: "100.00" }, { price: "-7.10" }]);
    const back = await sqliteApp("back.sqlite");
    await syncTables(my, back);
    expect(await thingRows(back)).toEqual(THING_ROWS);
    const a = join(tmp.dir, "a.csv");
    const b = join(tmp.dir, "b.csv");
    await exportTables(my, undefined, a, "web2py");
    await exportTables(back, undefined, b, "web2py");
    expect(readFileSync(b, "utf8")).toBe(readFileSync(a, "utf8"));
  });
});
