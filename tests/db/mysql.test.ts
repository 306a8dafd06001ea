// Integration tests against the real MariaDB on 127.0.0.1:3306: a fresh
// database per run (dropped at the end). Skipped with a message when the server
// is not there, except under CI=true where that fails.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DriverError, type DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openMysql, parseMysqlUrl } from "../../runtime/drivers/mysql.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { sqlLiteral, sqlQuote } from "../../language/sql/quote.js";
import { createTestDatabase, MARIADB_HOST, MARIADB_PORT, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { allRows, loadFixture, MYSQL_SCHEMA, newSqlite, tempDir, TABLES } from "./fixtures.js";

describe("parseMysqlUrl", () => {
  it.each([
    ["mysql://haitidev@127.0.0.1:3306/haitidev", { user: "haitidev", host: "127.0.0.1", port: 3306, database: "haitidev", tls: { mode: "DISABLED" } }],
    ["mysql://haitidev@127.0.0.1/haitidev", { user: "haitidev", host: "127.0.0.1", port: 3306, database: "haitidev", tls: { mode: "DISABLED" } }],
    ["mysql://root@localhost:3307/", { user: "root", host: "localhost", port: 3307, database: "", tls: { mode: "DISABLED" } }],
    ["mysql://a%40b@db.example.org/x", { user: "a@b", host: "db.example.org", port: 3306, database: "x", tls: { mode: "DISABLED" } }],
  ])("%s", (url, expected) => {
    expect(parseMysqlUrl(url)).toEqual(expected);
  });

  it.each([
    ["mysql://haitidev:s3cret@localhost/haitidev", "holds a password"],
    ["postgres://u@h/d", "not a MySQL URL"],
    ["mysql://localhost/d", "names no user"],
    ["nonsense", "not a MySQL URL"],
  ])("refuses %s", (url, message) => {
    let error: unknown;
    try {
      parseMysqlUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain("s3cret");
  });
});

const run = await requireMariadb();

describe.runIf(run)("MySQL driver against MariaDB", () => {
  let testDb: TestDatabase;
  let db: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await testDb.open();
    await loadFixture(db);
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it("reads rows with exact text for dates, decimals and big integers", async () => {
    await db.execute(
      "CREATE TABLE kinds (d DATE, dt DATETIME, dec2 DECIMAL(10,2), big BIGINT, j JSON, b VARBINARY(4), f FLOAT); " +
        "INSERT INTO kinds VALUES ('2010-01-12', '2010-01-12 13:45:00', 1.50, 9223372036854775807, '{\"a\": 1}', X'00ff', 1.1)",
    );
    expect(await db.query("SELECT * FROM kinds")).toEqual([
      { d: "2010-01-12", dt: "2010-01-12 13:45:00", dec2: "1.50", big: "9223372036854775807", j: '{"a": 1}', b: Buffer.from([0, 255]), f: 1.1 },
    ]);
  });

  it("reads and writes doubles exactly", async () => {
    const values = [90.33333333333333, 0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -123456.789, 1e-7, 12345678901234567];
    await db.execute(`CREATE TABLE doubles (i INT PRIMARY KEY, v DOUBLE, f FLOAT)`);
    await db.execute(`INSERT INTO doubles VALUES ${values.map((v, i) => `(${i}, ${sqlLiteral(v, "mysql")}, 1.1)`).join(", ")}`);
    const rows = await db.query("SELECT v, f FROM doubles ORDER BY i");
    expect(rows.map((r) => r.v)).toEqual(values);
    expect(rows[0]!.f).toBe(1.1);
  });

  it("binds parameters (server-side) and leaves a ? inside a literal alone without them", async () => {
    expect(await db.query("SELECT ? AS a, ? AS b, ? AS c", ["x'y", 5, null])).toEqual([{ a: "x'y", b: 5, c: null }]);
    expect(await db.query("SELECT '?' AS q")).toEqual([{ q: "?" }]);
  });

  it("runs several statements in execute and counts the rows changed", async () => {
    await db.execute("CREATE TABLE counted (id INT PRIMARY KEY, v VARCHAR(10))");
    expect(await db.execute("INSERT INTO counted VALUES (1,'a'),(2,'b'),(3,'c'); UPDATE counted SET v = 'z' WHERE id < 3")).toEqual({
      affectedRows: 5,
    });
  });

  it("gives the server's message with the database's label", async () => {
    const e = await db.query("SELECT * FROM nope").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DriverError);
    expect((e as DriverError).message).toBe(`mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/${testDb.name}: Table '${testDb.name}.nope' doesn't exist`);
    expect((e as DriverError).code).toBe("ER_NO_SUCH_TABLE");
    await expect(db.execute("UPDATE SET")).rejects.toThrow(/You have an error in your SQL syntax/);
  });

  it("lists tables and columns", async () => {
    expect(await db.tables()).toEqual(expect.arrayContaining(TABLES));
    expect(await db.columns("dog")).toEqual([
      { name: "id", type: "int(11)", nullable: false, primaryKey: true },
      { name: "owner", type: "int(11)", nullable: true, primaryKey: false },
      { name: "name", type: "varchar(512)", nullable: true, primaryKey: false },
    ]);
    await expect(db.columns("nope")).rejects.toThrow(/no table named nope/);
  });

  it("commits and rolls back transactions, nested ones as savepoints", async () => {
    await db.execute("CREATE TABLE tx (v VARCHAR(10)) ENGINE=InnoDB");
    await db.transaction(async () => {
      await db.execute("INSERT INTO tx VALUES ('outer')");
      await db
        .transaction(async () => {
          await db.execute("INSERT INTO tx VALUES ('inner')");
          throw new Error("inner");
        })
        .catch(() => undefined);
    });
    await expect(
      db.transaction(async () => {
        await db.execute("INSERT INTO tx VALUES ('lost')");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.query("SELECT v FROM tx")).toEqual([{ v: "outer" }]);
  });

  it.each([
    "plain",
    "it's",
    "'; DROP TABLE dog; --",
    "\\'; DROP TABLE dog; --",
    "a\\b\\\\c\\",
    "l1\nl2\r\nl3",
    "nul\0byte",
    "ctrl-z\x1a",
    'dq "x"',
    "Zoë 日本 🐕",
  ])("sqlQuote reads back as the same string: %j", async (value) => {
    const rows = await db.query(`SELECT ${sqlQuote(value, "mysql")} AS v, (SELECT count(*) FROM dog) AS n`);
    expect(rows[0]!.v).toBe(value);
    expect(Number(rows[0]!.n)).toBe(3);
  });

  it("connects through a stream (as `via HOST` does) instead of its own socket", async () => {
    let opened = 0;
    const viaDb = await openMysql(`mysql://root@tunnel.invalid:3306/${testDb.name}`, {
      stream: async () => {
        opened++;
        return connect(MARIADB_PORT, MARIADB_HOST);
      },
      label: "appdb",
    });
    try {
      expect(opened).toBe(1);
      expect(await viaDb.query("SELECT count(*) AS n FROM dog")).toEqual([{ n: 3 }]);
    } finally {
      await viaDb.close();
    }
  });

  it("keeps the password out of every message", async () => {
    const password = "Sup3r-s3cret-pw";
    const e = await openMysql(`mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/${testDb.name}`, { password }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DriverError);
    expect((e as Error).message).toMatch(/^cannot connect to mysql:\/\/root@.*: Access denied for user 'root'/);
    expect((e as Error).message).not.toContain(password);
  });

  it("names the problem when the server or the database is not there", async () => {
    await expect(openMysql("mysql://root@127.0.0.1:1/x")).rejects.toThrow("cannot connect to mysql://root@127.0.0.1:1/x: connection refused");
    await expect(openMysql(`mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/runbook_no_such_db`)).rejects.toThrow(/Unknown database 'runbook_no_such_db'/);
  });
});

describe.runIf(run)("data commands between SQLite and MariaDB", () => {
  let testDb: TestDatabase;
  let my: DatabaseDriver;
  let tmp: ReturnType<typeof tempDir>;
  const open: DatabaseDriver[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    my = await testDb.open();
    for (const stmt of MYSQL_SCHEMA.split(";")) if (stmt.trim() !== "") await my.execute(stmt);
  });
  afterAll(async () => {
    await testDb?.drop();
  });
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
    tmp.cleanup();
  });

  async function sqliteFixture(name: string): Promise<DatabaseDriver> {
    const d = await newSqlite(join(tmp.dir, name));
    open.push(d);
    await loadFixture(d);
    return d;
  }

  async function exported(d: DatabaseDriver, name: string): Promise<string> {
    const path = join(tmp.dir, name);
    await exportTables(d, TABLES, path, "web2py");
    return readFileSync(path, "utf8");
  }

  it("syncs prod SQLite into dev MySQL: the two then export the same file", async () => {
    const prod = await sqliteFixture("prod.sqlite");
    await my.execute("INSERT INTO person (id, name) VALUES (100, 'dev only'); INSERT INTO dog (id, owner, name) VALUES (100, 100, 'dev dog')");
    const result = await syncTables(prod, my);
    // MySQL lists tables by name: children may load before parents (FOREIGN_KEY_CHECKS=0)
    expect(result.tables).toEqual([
      { name: "dog", rows: 3 },
      { name: "empty_one", rows: 0 },
      { name: "person", rows: 7 },
    ]);
    expect(await exported(my, "dev.csv")).toBe(await exported(prod, "prod.csv"));
    expect(await exported(my, "dev.csv")).toBe(readFileSync(join(import.meta.dirname, "golden", "web2py-fixture.csv"), "utf8"));
    // the session is back to checking foreign keys
    expect(await my.query("SELECT @@SESSION.FOREIGN_KEY_CHECKS AS fk")).toEqual([{ fk: 1 }]);
  });

  it("syncs MySQL back into SQLite", async () => {
    const prod = await sqliteFixture("prod.sqlite");
    await syncTables(prod, my);
    await my.execute("UPDATE dog SET name = CONCAT(name, ' (dev)')");
    const back = await newSqlite(join(tmp.dir, "back.sqlite"));
    open.push(back);
    await loadFixture(back);
    await back.execute("DELETE FROM person WHERE id > 3");
    await syncTables(my, back, ["person", "dog"]);
    expect((await allRows(back, "dog")).map((r) => r.name)).toEqual(["Rex (dev)", '"Quoted" dog (dev)', "stray 🐾 (dev)"]);
    expect(await allRows(back, "person")).toEqual(
      // blobs come back as bytes from MySQL's LONGBLOB
      (await allRows(prod, "person")).map((r) => (typeof r.photo === "string" ? { ...r, photo: Buffer.from(r.photo) } : r)),
    );
  });

  it("export and import on MySQL restore the data", async () => {
    await syncTables(await sqliteFixture("prod.sqlite"), my);
    const path = join(tmp.dir, "backup.csv");
    const original = await exported(my, "before.csv");
    await exportTables(my, undefined, path, "web2py");
    await my.execute("DELETE FROM dog WHERE id = 2; UPDATE person SET notes = 'overwritten', score = NULL; INSERT INTO empty_one (label) VALUES ('x')");
    const result = await importFile(my, path);
    // parents first: person (which dog references) before dog, else by name
    expect(result.tables.map((t) => [t.name, t.rows])).toEqual([
      ["empty_one", 0],
      ["person", 7],
      ["dog", 3],
    ]);
    expect(await exported(my, "after.csv")).toBe(original);
  });

  it("a one-table csv from SQLite imports into MySQL", async () => {
    const prod = await sqliteFixture("prod.sqlite");
    const path = join(tmp.dir, "dog.csv");
    await exportTables(prod, ["dog"], path, "csv");
    await my.execute("DELETE FROM dog");
    expect(await importFile(my, path)).toEqual({ tables: [{ name: "dog", rows: 3 }] });
    expect(await allRows(my, "dog")).toEqual(await allRows(prod, "dog"));
  });

  it("rolls the whole sync back when MySQL refuses a row", async () => {
    const src = await newSqlite(join(tmp.dir, "bad.sqlite"), "CREATE TABLE person (id INTEGER PRIMARY KEY, born DATE)");
    open.push(src);
    await src.execute("INSERT INTO person VALUES (1, '1980-01-02'), (2, 'not a date')");
    await syncTables(await sqliteFixture("prod.sqlite"), my);
    const before = await allRows(my, "person");
    await expect(syncTables(src, my, ["person"])).rejects.toThrow(/column 'born' at row 2/); // the bulk load's wording (an INSERT's: "Incorrect date value")
    expect(await allRows(my, "person")).toEqual(before);
  });
});
