// web2py's `.table` files beside an SQLite database: the pickle reader on real
// pickles, and `export … format web2py` of a database pydal itself made (its
// decimal fields are DOUBLE columns) against pydal's own export_to_csv_file of
// the same data. golden/web2py-sqlite/make.py made every fixture there (the
// database, the .table files, expected.csv) with pydal run by python3, and the
// protocol 0/2/3 copies of item's .table file with python3's pickle.dump.

import { describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { exportTables, importFile } from "../../runtime/data.js";
import { PickleError, readPickle } from "../../runtime/py-pickle.js";
import { fieldTypes, tableFilesOf } from "../../runtime/web2py-tables.js";
import { useTempFiles } from "./fixtures.js";
import { fakeHost } from "./fake-host.js";

const FIXTURE = join(import.meta.dirname, "golden", "web2py-sqlite");
const HASH = "c8b669d15150d7109e5f7ab36744a5b7";
const ITEM_TABLE = `${HASH}_item.table`;
const EXPECTED = readFileSync(join(FIXTURE, "expected.csv"), "utf8");
/** What runbook wrote before it read the .table files (and writes without them): the DOUBLE values as Python's repr, booleans as stored. */
const AS_STORED_ITEM = [
  "1,1,a,12.3,0.5,12.3,T",
  "2,1,b,100.0,1.23456,100.0,F",
  "3,1,c,0.5,-3.0,0.5,T",
  "4,1,d,-0.05,0.0,-0.05,<NULL>",
  "5,1,e,<NULL>,<NULL>,<NULL>,F",
  "6,1,tie,0.125,2.675,0.125,T",
  "7,1,big,12345678.9,-5e-05,1e-07,T",
];

const tmp = useTempFiles();

/** The fixture's database with the named .table files beside it, in a fresh folder. */
function appFolder(tableFiles: string[] = readdirSync(FIXTURE).filter((f) => f.endsWith(".table")), name = "app"): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  copyFileSync(join(FIXTURE, "storage.sqlite"), join(dir, "storage.sqlite"));
  for (const f of tableFiles) copyFileSync(join(FIXTURE, f), join(dir, f));
  return dir;
}

function open(path: string): DatabaseDriver {
  const db = openSqlite(path);
  tmp.open.push(db);
  return db;
}

async function exported(db: DatabaseDriver, warnings: string[] = []): Promise<string> {
  const out = join(tmp.dir, "export.csv");
  await exportTables(db, undefined, out, "web2py", { onWarning: (m) => warnings.push(m) });
  return readFileSync(out, "utf8");
}

const itemRows = (csv: string) => csv.split("\r\n").filter((l) => /^\d+,1,/.test(l));

describe("the pickle reader", () => {
  const protocols = [
    ["4 (as pydal wrote it)", join(FIXTURE, ITEM_TABLE)],
    ["0", join(FIXTURE, "pickles", "item-protocol-0.table")],
    ["2", join(FIXTURE, "pickles", "item-protocol-2.table")],
    ["3", join(FIXTURE, "pickles", "item-protocol-3.table")],
  ] as const;

  it.each(protocols)("reads pydal's dict of fields in protocol %s", (_, file) => {
    const bytes = readFileSync(file);
    const fields = readPickle(bytes) as Map<string, Map<string, unknown>>;
    expect([...fields.keys()]).toEqual(["id", "zone", "name", "price", "rate", "weight", "ok"]);
    expect(Object.fromEntries(fields.get("price")!)).toEqual({
      length: 512,
      unique: false,
      notnull: false,
      sortable: 4,
      type: "decimal(10,2)",
      sql: "DOUBLE",
      rname: '"price"',
      raw_rname: "price",
    });
    expect(Object.fromEntries(fieldTypes(bytes)!)).toEqual({
      id: "id",
      zone: "reference zone",
      name: "string",
      price: "decimal(10,2)",
      rate: "decimal(7,4)",
      weight: "double",
      ok: "boolean",
    });
  });

  it("reads Python 2's protocol 0 (str as STRING, no raw_rname)", () => {
    // Written by hand as Python 2.7's pickle.dump({'price': {'type': 'decimal(10,2)', 'length': 512, 'notnull': False}}) writes it.
    const py2 = Buffer.from("(dp0\nS'price'\np1\n(dp2\nS'type'\np3\nS'decimal(10,2)'\np4\nsS'length'\np5\nI512\nsS'notnull'\np6\nI00\nss.", "latin1");
    expect(Object.fromEntries(fieldTypes(py2)!)).toEqual({ price: "decimal(10,2)" });
    expect(readPickle(Buffer.from("S'it\\'s\\n\\xe9'\n.", "latin1"))).toBe("it's\né");
  });

  it("runs and builds nothing: a pickle that names a callable is refused", () => {
    // python3 -c "import pickle; print(pickle.dumps(__import__('os').system, 0))": GLOBAL 'posix system'
    expect(() => readPickle(Buffer.from("cposix\nsystem\np0\n.", "latin1"))).toThrow(PickleError);
    expect(() => readPickle(Buffer.from("cos\nsystem\n(S'true'\ntR.", "latin1"))).toThrow(/not plain data/);
    expect(() => readPickle(Buffer.from([0x80, 0x04, 0x7d]))).toThrow(/ends early/);
  });

  it("finds a table's file by pydal's name: 32 hex digits, _, the table, .table", () => {
    const names = [`${HASH}_item.table`, `${HASH}_x_item.table`, "item.table", `${HASH}_zone.table`];
    expect(tableFilesOf(names, "item")).toEqual([`${HASH}_item.table`]);
    expect(tableFilesOf(names, "x_item")).toEqual([`${HASH}_x_item.table`]);
    expect(tableFilesOf(names, "nope")).toEqual([]);
  });
});

describe("export format web2py of a web2py SQLite database", () => {
  it("writes what pydal's own export_to_csv_file writes, byte for byte: 12.30, 100.00, 0.50, -0.05, True/False", async () => {
    const dir = appFolder();
    const warnings: string[] = [];
    const csv = await exported(open(join(dir, "storage.sqlite")), warnings);
    expect(csv).toBe(EXPECTED);
    expect(itemRows(csv).slice(0, 4).map((l) => l.split(",")[3])).toEqual(["12.30", "100.00", "0.50", "-0.05"]);
    expect(warnings).toEqual([]);
  });

  it.each(["0", "2", "3"])("reads the .table file in protocol %s the same", async (protocol) => {
    const dir = appFolder([`${HASH}_zone.table`]);
    copyFileSync(join(FIXTURE, "pickles", `item-protocol-${protocol}.table`), join(dir, ITEM_TABLE));
    expect(await exported(open(join(dir, "storage.sqlite")))).toBe(EXPECTED);
  });

  it("without .table files beside it, writes the values as stored and warns of nothing", async () => {
    const dir = appFolder([]);
    const warnings: string[] = [];
    const csv = await exported(open(join(dir, "storage.sqlite")), warnings);
    expect(itemRows(csv)).toEqual(AS_STORED_ITEM);
    expect(warnings).toEqual([]);
  });

  it("a .table file that cannot be read: the export is made as stored, and the warning says the scale could not be known", async () => {
    const dir = appFolder();
    writeFileSync(join(dir, ITEM_TABLE), readFileSync(join(FIXTURE, ITEM_TABLE)).subarray(0, 100));
    const warnings: string[] = [];
    const csv = await exported(open(join(dir, "storage.sqlite")), warnings);
    expect(itemRows(csv)).toEqual(AS_STORED_ITEM);
    expect(csv).toContain("1,north,1.500\r\n"); // zone's file is fine
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("the declared scale of table item's decimal fields could not be known");
    expect(warnings[0]).toContain(`${ITEM_TABLE} cannot be read`);
  });

  it("a file that is not a pickle of fields, none for the table, or several: warned, as stored", async () => {
    const dir = appFolder();
    writeFileSync(join(dir, ITEM_TABLE), Buffer.from("(lp0\nI1\na.", "latin1")); // a list
    const warnings: string[] = [];
    expect(itemRows(await exported(open(join(dir, "storage.sqlite")), warnings))).toEqual(AS_STORED_ITEM);
    expect(warnings.join("\n")).toContain(`${ITEM_TABLE} is not web2py's dict of fields`);

    const none = appFolder([`${HASH}_zone.table`], "none");
    const w2: string[] = [];
    expect(itemRows(await exported(open(join(none, "storage.sqlite")), w2))).toEqual(AS_STORED_ITEM);
    expect(w2.join("\n")).toContain("holds web2py .table files but none for table item");

    const several = appFolder(undefined, "several");
    const other = `${"0".repeat(32)}_item.table`;
    copyFileSync(join(FIXTURE, ITEM_TABLE), join(several, other));
    const w3: string[] = [];
    expect(itemRows(await exported(open(join(several, "storage.sqlite")), w3))).toEqual(AS_STORED_ITEM);
    expect(w3.join("\n")).toContain(`several web2py .table files for table item (${other}, ${ITEM_TABLE})`);
  });

  it("SQLite on a host: the .table files are read on the host", async () => {
    const dir = appFolder();
    const host = await fakeHost({ label: "portal" });
    const db = openRemoteSqlite(host, join(dir, "storage.sqlite"), "appdb", { remoteTempDir: dir });
    try {
      expect(await exported(db)).toBe(EXPECTED);
    } finally {
      await db.close();
      await host.close();
    }
  });

  it("import of web2py's file stores what web2py stores (12.3 in the DOUBLE column, T/F), and exports back byte for byte", async () => {
    const dir = appFolder();
    const db = open(join(dir, "storage.sqlite"));
    const file = join(dir, "web2py.csv");
    writeFileSync(file, EXPECTED);
    await db.execute("DELETE FROM item; DELETE FROM zone;");
    await importFile(db, file);
    expect(await db.query("SELECT price, typeof(price) AS t, ok FROM item WHERE id = 1")).toEqual([{ price: 12.3, t: "real", ok: "T" }]);
    expect(await exported(db)).toBe(EXPECTED);
  });
});
