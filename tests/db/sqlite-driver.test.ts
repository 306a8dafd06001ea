import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DriverError, type DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { newSqlite, tempDir } from "./fixtures.js";

let tmp: ReturnType<typeof tempDir>;
const open: DatabaseDriver[] = [];
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
  tmp.cleanup();
});

async function fresh(sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", name = "a.sqlite"): Promise<DatabaseDriver> {
  const db = await newSqlite(join(tmp.dir, name), sql);
  open.push(db);
  return db;
}

function openError(path: string, options?: { readonly?: boolean }): DriverError {
  try {
    open.push(openSqlite(path, options));
  } catch (e) {
    expect(e).toBeInstanceOf(DriverError);
    return e as DriverError;
  }
  throw new Error("expected openSqlite to fail");
}

describe("openSqlite with createOnWrite (what runbooks use)", () => {
  it("creates a missing file on the first write, as the sqlite3 program does", async () => {
    const path = join(tmp.dir, "new.sqlite");
    const db = openSqlite(path, { createOnWrite: true, label: "appdb" });
    open.push(db);
    expect(existsSync(path)).toBe(false);
    await db.execute("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')");
    expect(existsSync(path)).toBe(true);
    expect(await db.query("SELECT v FROM t")).toEqual([{ v: "x" }]);
  });

  it.each([
    ["query", (db: DatabaseDriver) => db.query("SELECT 1")],
    ["tables", (db: DatabaseDriver) => db.tables()],
    ["columns", (db: DatabaseDriver) => db.columns("t")],
  ])("a read of a missing file (%s) fails naming it, and creates nothing", async (_what, read) => {
    const path = join(tmp.dir, "typo.sqlite");
    const db = openSqlite(path, { createOnWrite: true });
    open.push(db);
    await expect(read(db)).rejects.toThrow(`SQLite database ${path} does not exist`);
    expect(existsSync(path)).toBe(false);
  });

  it("read-only (dry run) never creates", () => {
    const path = join(tmp.dir, "dry.sqlite");
    expect(() => openSqlite(path, { createOnWrite: true, readonly: true })).toThrow(`SQLite database ${path} does not exist`);
    expect(existsSync(path)).toBe(false);
  });
});

describe("openSqlite", () => {
  it("names the path of a missing file, and creates nothing", () => {
    const path = join(tmp.dir, "missing.sqlite");
    const e = openError(path);
    expect(e.message).toBe(`SQLite database ${path} does not exist`);
    expect(e.code).toBe("not-found");
  });

  it("refuses a directory", () => {
    mkdirSync(join(tmp.dir, "d"));
    expect(openError(join(tmp.dir, "d")).message).toMatch(/is a directory, not an SQLite database/);
  });

  it("refuses a file that is not a database", () => {
    const path = join(tmp.dir, "notes.txt");
    writeFileSync(path, "this is not a database, just some text long enough to have a header".repeat(20));
    const e = openError(path);
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/not a readable SQLite database/);
  });

  it("does not force WAL on the database", async () => {
    const db = await fresh();
    expect(await db.query("PRAGMA journal_mode")).toEqual([{ journal_mode: "delete" }]);
  });

  it("opens read-only when asked: reads work, writes fail", async () => {
    const path = join(tmp.dir, "ro.sqlite");
    await (await newSqlite(path, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')")).close();
    const db = openSqlite(path, { readonly: true, label: "appdb" });
    open.push(db);
    expect(await db.query("SELECT v FROM t")).toEqual([{ v: "x" }]);
    await expect(db.execute("DELETE FROM t")).rejects.toThrow("appdb: attempt to write a readonly database");
  });
});

describe("SQLite driver", () => {
  it("runs queries with parameters of every kind", async () => {
    const db = await fresh();
    const [row] = await db.query("SELECT ? AS s, ? AS i, ? AS b, ? AS n, ? AS blob, ? AS t, ? AS big", [
      "x",
      42,
      true,
      null,
      Buffer.from([1, 2]),
      new Date("2010-01-12T13:45:00Z"),
      9007199254740993n,
    ]);
    expect(row).toEqual({ s: "x", i: 42, b: 1, n: null, blob: Buffer.from([1, 2]), t: "2010-01-12 13:45:00", big: 9007199254740993n });
  });

  it("keeps integers beyond 2^53 exact, as bigint", async () => {
    const db = await fresh("CREATE TABLE t (v INTEGER)");
    await db.execute("INSERT INTO t VALUES (9223372036854775807), (7), (1.5)");
    expect((await db.query("SELECT v FROM t")).map((r) => r.v)).toEqual([9223372036854775807n, 7, 1.5]);
  });

  it("counts the rows execute changed, over several statements", async () => {
    const db = await fresh();
    expect(await db.execute("INSERT INTO t (v) VALUES ('a'), ('b'), ('c'); UPDATE t SET v = 'z' WHERE id < 3;")).toEqual({
      affectedRows: 5,
    });
    expect(await db.execute("CREATE TABLE u (x)")).toEqual({ affectedRows: 0 });
  });

  it("refuses a statement that writes in query (probes are read-only)", async () => {
    const db = await fresh();
    await expect(db.query("DELETE FROM t")).rejects.toThrow(/query runs read-only statements/);
  });

  it("reports errors with the label and SQLite's message", async () => {
    await fresh(undefined, "b.sqlite");
    const db = openSqlite(join(tmp.dir, "b.sqlite"), { label: "appdb" });
    open.push(db);
    const e = await db.query("SELECT * FROM nope").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DriverError);
    expect((e as DriverError).message).toBe("appdb: no such table: nope");
    await expect(db.execute("UPDATE t SET WHERE")).rejects.toThrow(/^appdb: .*syntax error/);
  });

  it("lists tables in creation order, without SQLite's own", async () => {
    const db = await fresh("CREATE TABLE zeta (id INTEGER PRIMARY KEY AUTOINCREMENT); CREATE TABLE alpha (x)");
    expect(await db.tables()).toEqual(["zeta", "alpha"]); // zeta's AUTOINCREMENT made sqlite_sequence
  });

  it("describes columns", async () => {
    const db = await fresh("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, note TEXT)");
    expect(await db.columns("t")).toEqual([
      { name: "id", type: "INTEGER", nullable: false, primaryKey: true },
      { name: "name", type: "VARCHAR(20)", nullable: false, primaryKey: false },
      { name: "note", type: "TEXT", nullable: true, primaryKey: false },
    ]);
    await expect(db.columns("nope")).rejects.toThrow(/no table named nope/);
  });

  it("commits a transaction, and rolls it back when fn throws", async () => {
    const db = await fresh();
    await db.transaction(async () => {
      await db.execute("INSERT INTO t (v) VALUES ('kept')");
    });
    await expect(
      db.transaction(async () => {
        await db.execute("INSERT INTO t (v) VALUES ('lost')");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.query("SELECT v FROM t")).toEqual([{ v: "kept" }]);
  });

  it("nests transactions as savepoints", async () => {
    const db = await fresh();
    await db.transaction(async () => {
      await db.execute("INSERT INTO t (v) VALUES ('outer')");
      await db
        .transaction(async () => {
          await db.execute("INSERT INTO t (v) VALUES ('inner')");
          throw new Error("inner fails");
        })
        .catch(() => undefined);
    });
    expect(await db.query("SELECT v FROM t")).toEqual([{ v: "outer" }]);
  });

  it("refuses calls once closed", async () => {
    const db = await fresh();
    await db.close();
    await expect(db.query("SELECT 1")).rejects.toThrow(/connection is closed/);
  });
});
