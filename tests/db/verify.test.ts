// Verified import and sync: after writing and before commit each table is read
// back and its row count and checksum compared with what was sent. A trigger on
// the destination that changes a value, one that adds a row, and a charset that
// cannot hold a character each roll everything back with a message saying where:
// on local SQLite, SQLite on a host (checked on the transaction's copy, counted
// again in the host's script) and MariaDB.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { canonical, hashText, RowHasher, TableDigest, valueClass, verifyColumns } from "../../runtime/data-verify.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { allRows, loadFixture, MYSQL_SCHEMA, newSqlite, SQLITE_SCHEMA, TABLES, useTempFiles } from "./fixtures.js";
import { fakeHost } from "./fake-host.js";

const UPPER_TRIGGER = "CREATE TRIGGER shout AFTER INSERT ON person FOR EACH ROW BEGIN UPDATE person SET name = upper(name) WHERE id = NEW.id AND NEW.id = 3; END";
const EXTRA_TRIGGER = "CREATE TRIGGER extra AFTER INSERT ON dog FOR EACH ROW WHEN NEW.id = 1 BEGIN INSERT INTO dog (id, name) VALUES (99, 'extra'); END";

const tmp = useTempFiles();
const open = tmp.open;

async function sqlite(name: string, fixture: boolean): Promise<DatabaseDriver> {
  const db = await newSqlite(join(tmp.dir, name), fixture ? "" : SQLITE_SCHEMA);
  if (fixture) await loadFixture(db);
  open.push(db);
  return db;
}

async function snapshot(db: DatabaseDriver): Promise<unknown> {
  return Promise.all(TABLES.map((t) => allRows(db, t)));
}

describe("the canonical text of a value", () => {
  const col = (type: string, engine: "sqlite" | "mysql" = "sqlite") => verifyColumns([{ name: "c", type, nullable: true, primaryKey: false }], engine)[0]!;

  it("is one for one value however an engine hands it back", () => {
    expect(canonical(12.3, col("DECIMAL(10,2)"))).toBe(canonical("12.30", col("decimal(10,2)")));
    expect(canonical(100, col("NUMERIC(10,2)"))).toBe("100.00");
    expect(canonical("7", col("INTEGER"))).toBe(canonical(7n, col("int(11)")));
    expect(canonical("1.0", col("INTEGER"))).toBe("1"); // SQLite stores it as 1
    expect(canonical(Buffer.from("aGVsbG8="), col("longblob"))).toBe(canonical("aGVsbG8=", col("BLOB")));
    expect(canonical(1.1, col("float", "mysql"))).toBe(canonical(1.100000023841858, col("float", "mysql")));
    expect(canonical("a  ", col("char(3)", "mysql"))).toBe("a"); // MySQL drops a CHAR's trailing spaces
    expect(canonical("a  ", col("CHAR(3)"))).toBe("a  ");
    expect(canonical("2010-01-12T13:45:00", col("DATETIME"))).toBe("2010-01-12 13:45:00");
    expect(canonical(true, col("INTEGER"))).toBe("1");
  });

  it("keeps NULL, '' and '<NULL>' apart, and bytes that are not UTF-8 apart from any text", () => {
    const d = new TableDigest([col("TEXT")]);
    const texts = [null, "", "<NULL>", "\u0001N", Buffer.from([0xff]), "ff"].map((v) => d.rowText([v]));
    expect(new Set(texts).size).toBe(texts.length);
  });

  it("classes columns by their declared type", () => {
    expect(["INTEGER", "bigint(20)", "DECIMAL(10,2)", "DOUBLE", "float", "DATE", "json", "char(1)", "TEXT"].map((t) => valueClass(t, "mysql"))).toEqual([
      "integer",
      "integer",
      "decimal",
      "real",
      "float32",
      "datetime",
      "json",
      "padded-char",
      "text",
    ]);
  });

  it("hashes a row value by value exactly as the plain way: the hash of its whole canonical text", () => {
    // Every class, each value in the forms engines hand back (the fast paths and what they leave to canonical()).
    const types: [string, "sqlite" | "mysql"][] = [
      ["TEXT", "sqlite"], ["INTEGER", "sqlite"], ["bigint(20)", "mysql"], ["DOUBLE", "mysql"], ["REAL", "sqlite"], ["float", "mysql"],
      ["DECIMAL(10,2)", "mysql"], ["decimal(5,0)", "mysql"], ["DATETIME", "sqlite"], ["date", "mysql"], ["json", "mysql"], ["char(3)", "mysql"],
    ];
    const values: unknown[] = [
      null, undefined, "", "0", "-0", "00", "007", "12", "-12", "+12", " 12", "1.0", "12.30", "12.3", "-0.00", "0.50", "-0.50", "1e3", "12.345",
      "9007199254740993", "123456789012345678901", "2010-01-12T13:45:00", "2010-01-12 13:45:00", "2010-01-12", "{\"a\": 1}", "a  ", "Zoë 日本 🐕",
      "<NULL>", "\u0001N", 0, -0, 1, -7, 12.3, 0.1 + 0.2, 1e21, 1e-7, NaN, Infinity, 2 ** 53 + 2, 9007199254740993n, -5n, true, false,
      Buffer.from("hello"), Buffer.from([0xff, 0x00]), new Date(Date.UTC(2010, 0, 12, 13, 45)),
    ];
    let compared = 0;
    for (const [type, engine] of types) {
      const columns = verifyColumns([{ name: "c", type, nullable: true, primaryKey: false }, { name: "d", type: "TEXT", nullable: true, primaryKey: false }], engine);
      const d = new TableDigest(columns);
      for (const v of values) {
        const row = [v as never, "tail"];
        expect(d.rowHash(row), `${type} ${String(v)}`).toEqual(hashText(d.rowText(row)));
        compared++;
      }
    }
    expect(compared).toBe(types.length * values.length);
  });

  it("UTF-8 bytes hashed as they are decoded give the hash of their text; bytes that are not UTF-8 are refused, nothing fed", () => {
    const texts = ["", "a", "plain 123", "Zoë", "日本語", "🐕", "a🐕b\u00e9\u0800\uffff", "\u{10ffff}", "x".repeat(15), "say \"hi\"", '""', "\u0080\u07ff", "a\r\nb,c"];
    const hashOf = (feed: (h: RowHasher) => void) => {
      const h = new RowHasher();
      h.start();
      feed(h);
      h.text("after");
      return h.end();
    };
    for (const t of texts) {
      const plain = hashOf((h) => h.text(t));
      expect(hashOf((h) => expect(h.utf8(Buffer.from(t, "utf8"), 0, Buffer.byteLength(t))).toBe(true)), t).toEqual(plain);
      // Inside a quoted CSV field, with "" for each quote and the field within other bytes.
      const field = Buffer.from(`,"${t.replaceAll('"', '""')}",`, "utf8");
      expect(hashOf((h) => expect(h.utf8(field, 2, field.length - 2, true)).toBe(true)), t).toEqual(plain);
    }
    const bad = [[0xff], [0xc0, 0x80], [0xc3], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x90], [0x61, 0x80], [0xe6, 0x97, 0x41]];
    for (const b of bad) {
      const h = new RowHasher();
      h.start();
      const before = h.end();
      expect(h.utf8(Buffer.from([...b, 0x41]), 0, b.length), b.join(" ")).toBe(false);
      expect(h.end()).toEqual(before);
      // What the bytes decode to with replacement characters is not what utf8() would have fed.
      expect(Buffer.from(b).toString("utf8")).toContain("\ufffd");
    }
  });

  it("a checksum does not depend on the order of rows, and sees a changed value, a lost row and a duplicated one", () => {
    const columns = verifyColumns([{ name: "a", type: "INTEGER", nullable: false, primaryKey: true }, { name: "b", type: "TEXT", nullable: true, primaryKey: false }], "sqlite");
    const digest = (rows: [number, string | null][]) => {
      const d = new TableDigest(columns);
      for (const r of rows) d.add(r);
      return d;
    };
    const base = digest([[1, "x"], [2, null], [3, ""]]);
    expect(digest([[3, ""], [1, "x"], [2, null]]).same(base)).toBe(true);
    expect(digest([[1, "x"], [2, ""], [3, ""]]).same(base)).toBe(false);
    expect(digest([[1, "x"], [2, null]]).same(base)).toBe(false);
    expect(digest([[1, "x"], [2, null], [3, ""], [3, ""]]).same(base)).toBe(false);
  });
});

describe("verified import and sync on local SQLite", () => {
  it("a trigger that changes a value: the import rolls back, naming the table", async () => {
    const src = await sqlite("src.sqlite", true);
    const path = join(tmp.dir, "backup.csv");
    await exportTables(src, undefined, path, "web2py");
    const dst = await sqlite("dst.sqlite", true);
    await dst.execute("UPDATE dog SET name = 'changed'");
    await dst.execute(UPPER_TRIGGER);
    const before = await snapshot(dst);
    await expect(importFile(dst, path)).rejects.toThrow(
      new RegExp(`table person does not hold what was written: its 7 rows differ from those written from the file ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(checksum [0-9a-f]{16}, sent [0-9a-f]{16}\\); everything was rolled back`),
    );
    expect(await snapshot(dst)).toEqual(before);
  });

  it("a trigger that changes a value: the import of a csv backup rolls back, naming the row and the column", async () => {
    const src = await sqlite("src.sqlite", true);
    const path = join(tmp.dir, "backup");
    await exportTables(src, undefined, path, "csv");
    const dst = await sqlite("dst.sqlite", false);
    await dst.execute(UPPER_TRIGGER);
    await expect(importFile(dst, path)).rejects.toThrow(
      `table person does not hold what was written: its 7 rows differ from those written from the file person.csv`,
    );
    await expect(importFile(dst, path)).rejects.toThrow(`the first that differs: id=3 column name is "ZOë 日本 🐕" where it was sent as "Zoë 日本 🐕"`);
    expect(await snapshot(dst)).toEqual([[], [], []]);
  });

  it("a trigger that changes a value: the sync rolls back, naming the row and the column", async () => {
    const src = await sqlite("src.sqlite", true);
    const dst = await sqlite("dst.sqlite", false);
    await dst.execute(UPPER_TRIGGER);
    const before = await snapshot(dst);
    await expect(syncTables(src, dst)).rejects.toThrow(
      `table person does not hold what was written: its 7 rows differ from those written from ${src.label}`,
    );
    await expect(syncTables(src, dst)).rejects.toThrow(`the first that differs: id=3 column name is "ZOë 日本 🐕" where it was sent as "Zoë 日本 🐕"; everything was rolled back`);
    expect(await snapshot(dst)).toEqual(before);
  });

  it("a trigger that adds a row: the counts differ, and the sync says which row", async () => {
    const src = await sqlite("src.sqlite", true);
    const dst = await sqlite("dst.sqlite", false);
    await dst.execute(EXTRA_TRIGGER);
    await expect(syncTables(src, dst)).rejects.toThrow(/table dog does not hold what was written: it holds 4 rows where 3 rows were written from .*; the first that differs: id=99 is not in the source/);
    expect(await snapshot(dst)).toEqual([[], [], []]);
  });

  it("what verify reports is the rows present", async () => {
    const src = await sqlite("src.sqlite", true);
    const dst = await sqlite("dst.sqlite", false);
    expect((await syncTables(src, dst)).tables).toEqual([
      { name: "person", rows: 7 },
      { name: "dog", rows: 3 },
      { name: "empty_one", rows: 0 },
    ]);
  });
});

describe("verified import into SQLite on a host", () => {
  it("a trigger on the host's database: nothing is sent, the host's database is unchanged", async () => {
    const src = await sqlite("src.sqlite", true);
    const path = join(tmp.dir, "backup.csv");
    await exportTables(src, undefined, path, "web2py");
    const remotePath = join(tmp.dir, "remote.sqlite");
    const seed = await newSqlite(remotePath, SQLITE_SCHEMA);
    await seed.execute(UPPER_TRIGGER);
    await seed.close();
    const host = await fakeHost({ label: "portal" });
    const db = openRemoteSqlite(host, remotePath, "appdb", { remoteTempDir: tmp.dir });
    try {
      await expect(importFile(db, path)).rejects.toThrow("appdb: table person does not hold what was written");
      expect(host.commands.filter((c) => c.stdin?.includes("INSERT INTO \"person\"")).length).toBe(0);
      // without the trigger it goes through, and the host's script checks the counts before COMMIT
      const fix = openSqlite(remotePath);
      await fix.execute("DROP TRIGGER shout");
      await fix.close();
      await importFile(db, path);
      const script = host.commands.find((c) => c.stdin?.includes("INSERT INTO \"person\""))!.stdin!;
      expect(script).toMatch(/CONSTRAINT "person holds 7 rows" CHECK \(ok\)/);
      expect(script.indexOf("person holds 7 rows")).toBeLessThan(script.indexOf("COMMIT"));
    } finally {
      await db.close();
      await host.close();
    }
    const after = openSqlite(remotePath);
    open.push(after);
    const local = await sqlite("local.sqlite", false);
    await importFile(local, path);
    expect(await snapshot(after)).toEqual(await snapshot(local));
  });
});

const run = await requireMariadb();

describe.runIf(run)("verified sync into MariaDB", () => {
  let testDb: TestDatabase;
  let my: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    my = await testDb.open();
    for (const stmt of MYSQL_SCHEMA.split(";")) if (stmt.trim() !== "") await my.execute(stmt);
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it("a trigger that changes a value rolls the sync back and names the row", async () => {
    const src = await sqlite("src.sqlite", true);
    await my.execute("CREATE TRIGGER shout BEFORE INSERT ON person FOR EACH ROW SET NEW.name = IF(NEW.id = 3, upper(NEW.name), NEW.name)");
    try {
      await expect(syncTables(src, my)).rejects.toThrow(`the first that differs: id=3 column name is "ZOË 日本 🐕" where it was sent as "Zoë 日本 🐕"`);
      expect(await snapshot(my)).toEqual([[], [], []]);
    } finally {
      await my.execute("DROP TRIGGER shout");
    }
    expect((await syncTables(src, my)).tables.map((t) => [t.name, t.rows])).toEqual([["dog", 3], ["empty_one", 0], ["person", 7]]);
  });

  it("an emoji a CHARACTER SET utf8 column refuses (strict mode): the message says which column, row and character, and what to do", async () => {
    await my.execute("CREATE TABLE memo (id INT NOT NULL, body VARCHAR(64), PRIMARY KEY (id)) ENGINE=InnoDB CHARACTER SET utf8");
    const src = await newSqlite(join(tmp.dir, "memo.sqlite"), "CREATE TABLE memo (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO memo VALUES (1, 'plain'), (2, 'dog 🐕')");
    open.push(src);
    await expect(syncTables(src, my, ["memo"])).rejects.toThrow(
      "column memo.body is CHARACTER SET utf8 (at most 3 bytes a character), which cannot hold 🐕 (U+1F415, 4 bytes: an emoji or another character beyond the BMP) in the row id=2; " +
        "convert it (ALTER TABLE memo CONVERT TO CHARACTER SET utf8mb4) or change the value; everything was rolled back",
    );
    expect(await my.query("SELECT count(*) AS n FROM memo")).toEqual([{ n: 0 }]);
  });

  it("an emoji a CHARACTER SET utf8 column would turn into '?' (no strict mode) is refused before it is sent, and rolled back", async () => {
    await my.execute("CREATE TABLE note (id INT AUTO_INCREMENT NOT NULL, body VARCHAR(64), PRIMARY KEY (id)) ENGINE=InnoDB CHARACTER SET utf8");
    const src = await newSqlite(join(tmp.dir, "notes.sqlite"), "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'plain'), (2, 'dog 🐕')");
    open.push(src);
    const [{ mode }] = (await my.query("SELECT @@SESSION.sql_mode AS mode")) as [{ mode: string }];
    await my.execute("SET SESSION sql_mode = ''");
    try {
      // The bulk load looks at each row for its narrow columns (the server would only warn, and store '?').
      await expect(syncTables(src, my, ["note"])).rejects.toThrow(/column note\.body is CHARACTER SET utf8 .*cannot hold 🐕 .* in the row id=2; /);
    } finally {
      await my.execute(`SET SESSION sql_mode = '${mode}'`);
    }
    expect(await my.query("SELECT count(*) AS n FROM note")).toEqual([{ n: 0 }]);
  });
});
