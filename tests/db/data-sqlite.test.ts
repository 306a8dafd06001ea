// export, import and sync against real SQLite files. The web2py golden file was
// produced by Python's csv module following pydal's DAL.export_to_csv_file
// (TABLE lines, csv.writer rows, "\r\n\r\n" after each table, END), and the
// exporter must match it byte for byte. Regenerate with UPDATE_GOLDEN=1.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DriverError, type DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { golden as goldenFile } from "../support/golden.js";
import { allRows, DOG_COLUMNS, DOG_ROWS, insertRows, loadFixture, newSqlite, PERSON_COLUMNS, PERSON_ROWS, SQLITE_SCHEMA, TABLES, useTempFiles } from "./fixtures.js";

const GOLDEN = join(import.meta.dirname, "golden");

function golden(name: string, actual: Buffer): void {
  goldenFile(join(GOLDEN, name), actual);
}

const tmp = useTempFiles();
const open = tmp.open;

async function db(name: string, sql = ""): Promise<DatabaseDriver> {
  const d = await newSqlite(join(tmp.dir, name), sql);
  open.push(d);
  return d;
}

async function fixtureDb(name = "src.sqlite"): Promise<DatabaseDriver> {
  const d = await db(name);
  await loadFixture(d);
  return d;
}

async function snapshot(d: DatabaseDriver, tables = TABLES): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of tables) out[t] = await allRows(d, t);
  return out;
}

describe("export, web2py format", () => {
  it("matches web2py's export_to_csv_file byte for byte", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "out", "nested", "db.csv");
    const result = await exportTables(src, undefined, path, "web2py");
    expect(result.tables).toEqual([
      { name: "person", rows: PERSON_ROWS.length },
      { name: "dog", rows: DOG_ROWS.length },
      { name: "empty_one", rows: 0 },
    ]);
    const bytes = readFileSync(path);
    golden("web2py-fixture.csv", bytes);

    const text = bytes.toString("utf8");
    expect(text.startsWith("TABLE person\r\nperson.id,person.name,")).toBe(true);
    expect(text).toContain("\r\n\r\n\r\nTABLE dog\r\n");
    expect(text.endsWith("\r\n\r\nEND")).toBe(true);
    expect(text).toContain('"line1\nline2\r\nline3"'); // a newline in a value is kept inside quotes
    expect(text).toContain(',<NULL>,'); // NULL
    expect(text).toContain(',<NULL>x,'); // the text "<NULL>x" is not a NULL
    expect(text).toContain(',1e-05,'); // floats as Python's repr
    expect(text).toContain(",AP8Q\r\n"); // binary blobs in base64
  });

  it("exports only the named tables, in the order named", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "two.csv");
    const result = await exportTables(src, ["dog", "EMPTY_ONE"], path, "web2py");
    expect(result.tables).toEqual([
      { name: "dog", rows: 3 },
      { name: "empty_one", rows: 0 },
    ]);
    expect(readFileSync(path, "utf8")).toMatch(/^TABLE dog\r\n[\s\S]*TABLE empty_one\r\nempty_one\.id,empty_one\.label\r\n\r\n\r\nEND$/);
  });

  it("fails on a table that does not exist and leaves no file behind", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "x.csv");
    await expect(exportTables(src, ["dog", "cat", "cow"], path, "web2py")).rejects.toThrow(
      `${join(tmp.dir, "src.sqlite")} has no table named cat or cow`,
    );
    expect(readdirSync(tmp.dir).filter((f) => f !== "src.sqlite")).toEqual([]);
  });

  it("replaces an existing file only once the new one is complete", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "keep.csv");
    writeFileSync(path, "old backup");
    await expect(exportTables(src, ["nope"], path, "web2py")).rejects.toThrow(DriverError);
    expect(readFileSync(path, "utf8")).toBe("old backup");
    await exportTables(src, ["dog"], path, "web2py");
    expect(readFileSync(path, "utf8")).toMatch(/^TABLE dog/);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("export, csv format", () => {
  it("writes one table as a plain RFC 4180 file with table.column headers", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "person.csv");
    expect(await exportTables(src, ["person"], path, "csv")).toEqual({ tables: [{ name: "person", rows: 7 }] });
    const bytes = readFileSync(path);
    golden("csv-person.csv", bytes);
    const text = bytes.toString("utf8");
    expect(text).toContain('4,"",,1.2345678901234568e+16,T,,,\r\n'); // "" is an empty string, nothing is NULL
    expect(text).not.toContain("<NULL>\r\n");
  });

  it("writes several tables as a folder: one CSV file per table and manifest.json", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv");
    expect(readdirSync(path).sort()).toEqual(["dog.csv", "empty_one.csv", "manifest.json", "person.csv"]);
    expect(readFileSync(join(path, "person.csv"))).toEqual(readFileSync(join(GOLDEN, "csv-person.csv")));
  });
});

describe("import", () => {
  it.each(["web2py", "csv"] as const)("restores what export wrote (%s, all tables)", async (format) => {
    const src = await fixtureDb();
    const before = await snapshot(src);
    const path = join(tmp.dir, `all.${format}`);
    await exportTables(src, undefined, path, format);

    await src.execute("DELETE FROM dog WHERE id = 1; UPDATE person SET name = 'changed', photo = NULL; INSERT INTO empty_one (label) VALUES ('new')");
    const result = await importFile(src, path);
    expect(result.tables).toEqual([
      { name: "person", rows: 7 },
      { name: "dog", rows: 3 },
      { name: "empty_one", rows: 0 },
    ]);
    const after = await snapshot(src);
    // web2py: a binary blob comes back as its base64 text, as in a web2py database; csv is lossless.
    if (format === "web2py") (before.person as Record<string, unknown>[])[1]!.photo = "AP8Q";
    expect(after).toEqual(before);
  });

  it("restores a one-table csv from its header alone, whatever the file is called", async () => {
    const src = await fixtureDb();
    const before = await allRows(src, "person");
    const path = join(tmp.dir, "backup-20240101.csv");
    await exportTables(src, ["person"], path, "csv");
    await src.execute("DELETE FROM person WHERE id > 2; UPDATE person SET notes = NULL");
    expect(await importFile(src, path)).toEqual({ tables: [{ name: "person", rows: 7 }] });
    const after = await allRows(src, "person");
    expect(after).toEqual(before); // lossless: the binary blob is bytes again, the base64 text text
    expect(after[1]!.photo).toEqual(Buffer.from([0x00, 0xff, 0x10]));
    // NULL and the empty string stay apart
    expect(after[3]!.name).toBe("");
    expect(after[3]!.notes).toBe(null);
  });

  it("round-trips a one-table csv whose column names hold dots", async () => {
    const d = await db("dots.sqlite", 'CREATE TABLE "my.table" (id INTEGER PRIMARY KEY, "a.b" TEXT, c TEXT)');
    await d.execute(`INSERT INTO "my.table" VALUES (1, 'x', NULL), (2, '', 'y')`);
    const before = await allRows(d, "my.table");
    const path = join(tmp.dir, "dots.csv");
    await exportTables(d, ["my.table"], path, "csv");
    expect(readFileSync(path, "utf8")).toBe('my.table.id,my.table.a.b,my.table.c\r\n1,x,\r\n2,"",y\r\n');
    await d.execute(`DELETE FROM "my.table"`);
    await importFile(d, path);
    expect(await allRows(d, "my.table")).toEqual(before);
  });

  it("imports into another database, keeping ids, with foreign keys loaded in any order", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "db.csv");
    await exportTables(src, ["dog", "person"], path, "web2py"); // children before parents
    const dst = await db("dst.sqlite");
    await loadFixture(dst);
    await dst.execute("DELETE FROM dog; DELETE FROM person; INSERT INTO person (id, name) VALUES (99, 'other')");
    await importFile(dst, path);
    expect(await snapshot(dst, ["dog"])).toEqual(await snapshot(src, ["dog"]));
    expect((await allRows(dst, "person")).map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // ON DELETE CASCADE did not fire while person was emptied
    expect(await dst.query("SELECT count(*) AS n FROM dog")).toEqual([{ n: 3 }]);
    expect(await dst.query("PRAGMA foreign_keys")).toEqual([{ foreign_keys: 1 }]);
  });

  it("imports only the named tables", async () => {
    const src = await fixtureDb();
    const path = join(tmp.dir, "db.csv");
    await exportTables(src, undefined, path, "web2py");
    await src.execute("DELETE FROM dog; DELETE FROM person WHERE id = 1");
    expect(await importFile(src, path, { tables: ["DOG"] })).toEqual({ tables: [{ name: "dog", rows: 3 }] });
    expect((await allRows(src, "person")).length).toBe(6);
    await expect(importFile(src, path, { tables: ["dog", "cat"] })).rejects.toThrow(`${path} has no table named cat`);
  });

  it("reads a file web2py wrote: LF line ends, an empty table without header, unknown extras", async () => {
    const dst = await fixtureDb();
    const path = join(tmp.dir, "web2py.csv");
    writeFileSync(
      path,
      [
        "TABLE person",
        "person.id,person.name,person.score,person.active",
        "1,Ann,2.0,True",
        '2,"Ben ""B""",,<NULL>',
        "",
        "",
        "TABLE empty_one",
        "",
        "",
        "END",
      ].join("\n"),
    );
    expect(await importFile(dst, path)).toEqual({
      tables: [
        { name: "person", rows: 2 },
        { name: "empty_one", rows: 0 },
      ],
    });
    expect(await dst.query("SELECT id, name, score, active, notes FROM person ORDER BY id")).toEqual([
      { id: 1, name: "Ann", score: 2, active: "T", notes: null }, // web2py's True, into its CHAR(1) boolean
      { id: 2, name: 'Ben "B"', score: null, active: null, notes: null }, // '' in a DOUBLE column is NULL, as web2py reads it
    ]);
  });

  it.each([
    ["TABLE person\r\nperson.id,person.name\r\n1,a\r\n\r\n\r\n", /ends before its END line: the file is cut short/],
    ["TABLE person\r\nperson.id,person.name\r\n1,a,extra\r\n\r\nEND", /line 3: 3 fields where the header has 2/],
    ["TABLE cat\r\ncat.id\r\n1\r\n\r\nEND", /line 1: .* has no table named cat/],
    ["TABLE person\r\nperson.id,person.wings\r\n1,2\r\n\r\nEND", /line 1: table person of .* has no column named wings/],
    ["person.id,person.name\r\n1,\"never closed\r\n", /line 2: a quoted field is never closed/],
    ["cat.id,cat.name\r\n1,a\r\n", /line 1: .* has no table named cat/],
    ["hello\r\n", /line 1: the header does not name a table of/],
    ["TABLE person\r\nperson.id\r\n1\r\n\r\nTABLE person\r\nperson.id\r\n2\r\n\r\nEND", /line 5: table person appears twice/],
    ["garbage\r\nTABLE person", /line 1: the header does not name a table/],
    ["", /is empty/],
  ])("refuses a bad file and changes nothing: %j", async (content, message) => {
    const dst = await fixtureDb();
    const before = await snapshot(dst);
    const path = join(tmp.dir, "bad.csv");
    writeFileSync(path, content);
    await expect(importFile(dst, path)).rejects.toThrow(message);
    expect(await snapshot(dst)).toEqual(before);
  });

  it("a refusal that names neither table nor row (datatype mismatch) is told with both: the row's key, else its number", async () => {
    const dst = await db("typed.sqlite", "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE loose (n INTEGER, CHECK (n < 100))");
    await dst.execute("INSERT INTO a VALUES (1, 'keep')");
    const rows = Array.from({ length: 30 }, (_, i) => `${i + 10},v${i}\r\n`).join("");
    const path = join(tmp.dir, "typed.csv");
    writeFileSync(path, `TABLE a\r\na.id,a.v\r\n${rows}x7,bad\r\n41,after\r\n\r\nEND`);
    const refused = await importFile(dst, path).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(DriverError);
    expect((refused as Error).message).toBe(`${dst.label}: datatype mismatch (table a, the row id=x7 from the file ${path}); everything was rolled back`);
    // Without a key, its number among the rows sent.
    writeFileSync(path, `TABLE loose\r\nloose.n\r\n1\r\n2\r\n300\r\n\r\nEND`);
    await expect(importFile(dst, path)).rejects.toThrow(/CHECK constraint failed: n < 100 \(table loose, the row number 3 from the file .*\); everything was rolled back$/);
    expect(await dst.query("SELECT * FROM a")).toEqual([{ id: 1, v: "keep" }]);
    expect(await dst.query("SELECT count(*) AS n FROM loose")).toEqual([{ n: 0 }]);
  });

  it("rolls everything back when the database refuses a row", async () => {
    const dst = await db("strict.sqlite", "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE b (id INTEGER PRIMARY KEY)");
    await dst.execute("INSERT INTO a VALUES (1, 'keep'); INSERT INTO b VALUES (5)");
    const path = join(tmp.dir, "bad.csv");
    writeFileSync(path, "TABLE b\r\nb.id\r\n6\r\n\r\nTABLE a\r\na.id,a.v\r\n2,<NULL>\r\n\r\nEND");
    await expect(importFile(dst, path)).rejects.toThrow(/NOT NULL constraint failed: a\.v/);
    expect(await allRows(dst, "a")).toEqual([{ id: 1, v: "keep" }]);
    expect(await allRows(dst, "b")).toEqual([{ id: 5 }]);
  });

  it("names a missing file", async () => {
    const dst = await fixtureDb();
    const path = join(tmp.dir, "nope.csv");
    await expect(importFile(dst, path)).rejects.toThrow(`${path} does not exist`);
  });

  it("loads thousands of rows in batches", async () => {
    const src = await db("big.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n REAL)");
    await src.execute(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 4321) INSERT INTO t SELECT i, 'row ' || i || ', \"q\"', i / 7.0 FROM c",
    );
    const path = join(tmp.dir, "big.csv");
    expect(await exportTables(src, undefined, path, "csv")).toEqual({ tables: [{ name: "t", rows: 4321 }] });
    const dst = await db("big2.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n REAL)");
    expect(await importFile(dst, path)).toEqual({ tables: [{ name: "t", rows: 4321 }] });
    expect(await allRows(dst, "t")).toEqual(await allRows(src, "t"));
  });
});

describe("sync between SQLite databases", () => {
  it("copies every table present in both, replacing dst's rows", async () => {
    const src = await fixtureDb();
    const dst = await db("dst.sqlite");
    await loadFixture(dst);
    await dst.execute(
      "DELETE FROM person WHERE id = 1; UPDATE dog SET name = 'old'; INSERT INTO empty_one (label) VALUES ('x'); CREATE TABLE dst_only (x)",
    );
    await src.execute("CREATE TABLE src_only (y); INSERT INTO src_only VALUES (1)");
    const result = await syncTables(src, dst);
    expect(result.tables).toEqual([
      { name: "person", rows: 7 },
      { name: "dog", rows: 3 },
      { name: "empty_one", rows: 0 },
    ]);
    expect(result.skipped.sort()).toEqual(["dst_only", "src_only"]);
    expect(await snapshot(dst)).toEqual(await snapshot(src)); // blobs stay binary in a sync
    expect(await dst.query("SELECT count(*) AS n FROM dst_only")).toEqual([{ n: 0 }]);
  });

  it("reads from a database opened read-only (as a source is)", async () => {
    await (await fixtureDb()).close();
    const src = openSqlite(join(tmp.dir, "src.sqlite"), { readonly: true });
    open.push(src);
    const dst = await db("dst.sqlite", SQLITE_SCHEMA);
    expect((await syncTables(src, dst)).tables.map((t) => t.rows)).toEqual([7, 3, 0]);
    const path = join(tmp.dir, "ro.csv");
    await exportTables(src, undefined, path, "web2py");
    golden("web2py-fixture.csv", readFileSync(path));
  });

  it("copies the columns both have, in dst's order, leaving dst's others to their defaults", async () => {
    const src = await db("s.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, gone TEXT, b INTEGER)");
    await src.execute("INSERT INTO t VALUES (1, 'x', 'dropped', 10), (2, NULL, 'dropped', 20)");
    const dst = await db("d.sqlite", "CREATE TABLE t (b INTEGER, ID INTEGER PRIMARY KEY, added TEXT DEFAULT 'dflt', A TEXT)");
    await syncTables(src, dst, ["t"]);
    expect(await dst.query("SELECT * FROM t ORDER BY ID")).toEqual([
      { b: 10, ID: 1, added: "dflt", A: "x" },
      { b: 20, ID: 2, added: "dflt", A: null },
    ]);
  });

  it("refuses a named table missing on either side, before changing anything", async () => {
    const src = await fixtureDb();
    const dst = await db("dst.sqlite", "CREATE TABLE dog (id INTEGER PRIMARY KEY, name TEXT)");
    await dst.execute("INSERT INTO dog VALUES (9, 'mine')");
    await expect(syncTables(src, dst, ["dog", "person", "cat"])).rejects.toThrow(
      /cannot sync: .*dst\.sqlite has no table named person; .*src\.sqlite has no table named cat; .*dst\.sqlite has no table named cat/,
    );
    expect(await allRows(dst, "dog")).toEqual([{ id: 9, name: "mine" }]);
  });

  it("pages through big tables, composite keys and tables without a key", async () => {
    const schema =
      "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE pair (a TEXT, b INTEGER, v TEXT, PRIMARY KEY (a, b)); CREATE TABLE loose (v TEXT, w TEXT)";
    const src = await db("s.sqlite", schema);
    await src.execute(`
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5003)
      INSERT INTO big SELECT i, 'v' || i FROM c;
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 4100)
      INSERT INTO pair SELECT 'k' || (i % 3), i, 'p' || i FROM c;
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500)
      INSERT INTO loose SELECT 'l' || i, NULL FROM c;`);
    const dst = await db("d.sqlite", schema);
    const result = await syncTables(src, dst);
    expect(result.tables).toEqual([
      { name: "big", rows: 5003 },
      { name: "pair", rows: 4100 },
      { name: "loose", rows: 2500 },
    ]);
    for (const t of ["big", "pair", "loose"]) {
      expect(await dst.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).toEqual(await src.query(`SELECT * FROM ${t} ORDER BY 1, 2`));
    }
  });

  it("rolls dst back when a row is refused", async () => {
    const src = await db("s.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await src.execute("INSERT INTO t VALUES (1, 'a'), (2, NULL)");
    const dst = await db("d.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    await dst.execute("INSERT INTO t VALUES (7, 'keep')");
    await expect(syncTables(src, dst)).rejects.toThrow(/NOT NULL constraint failed/);
    expect(await allRows(dst, "t")).toEqual([{ id: 7, v: "keep" }]);
  });
});

describe("fixtures", () => {
  it("hold what the tests expect", async () => {
    const src = await fixtureDb();
    expect((await allRows(src, "person")).map((r) => r.id)).toEqual(PERSON_ROWS.map((r) => r[0]));
    expect(Object.keys((await allRows(src, "dog"))[0]!)).toEqual(DOG_COLUMNS);
    expect(Object.keys((await allRows(src, "person"))[0]!)).toEqual(PERSON_COLUMNS);
    expect(existsSync(join(tmp.dir, "src.sqlite"))).toBe(true);
    await insertRows(src, "empty_one", ["label"], []);
  });
});
