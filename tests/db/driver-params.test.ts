// A contract of every DatabaseDriver: `maxParams` is what one statement may bind
// inside a transaction (import and sync send their rows so). Local SQLite and
// MariaDB bind that many and no fewer; SQLite on a host says 0, and refuses a
// parameterised statement in a transaction (its writes go as one script).

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DatabaseDriver, SqlValue } from "../../runtime/drivers/driver.js";
import { syncTables } from "../../runtime/data.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { loadFixture, newSqlite, SQLITE_SCHEMA, tempDir } from "./fixtures.js";
import { fakeHost } from "./fake-host.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** One row of `n` columns, bound in one statement in a transaction, read back. */
async function bindsInTransaction(db: DatabaseDriver, columns: number, rows: number): Promise<void> {
  const q = (s: string) => (db.engine === "mysql" ? `\`${s}\`` : `"${s}"`);
  await db.execute(`CREATE TABLE wide (${Array.from({ length: columns }, (_, i) => `${q(`c${i}`)} INT`).join(", ")})`);
  const params = Array.from({ length: columns * rows }, (_, i) => i);
  const tuple = `(${Array.from({ length: columns }, () => "?").join(", ")})`;
  await db.transaction(async () => {
    await db.execute(`INSERT INTO wide VALUES ${Array.from({ length: rows }, () => tuple).join(", ")}`, params);
  });
  expect(await db.query("SELECT count(*) AS n, sum(c0) AS s FROM wide")).toEqual([{ n: rows, s: expect.anything() }]);
}

describe("maxParams", () => {
  it("local SQLite binds that many in a transaction", async () => {
    const db = await newSqlite(join(tmp.dir, "a.sqlite"));
    try {
      expect(db.maxParams).toBe(32766);
      await bindsInTransaction(db, 1000, Math.floor(db.maxParams / 1000));
      await expect(db.execute(`SELECT ${Array.from({ length: db.maxParams + 1 }, () => "?").join(", ")}`, new Array(db.maxParams + 1).fill(1))).rejects.toThrow(/too many SQL variables/);
    } finally {
      await db.close();
    }
  });

  it("SQLite on a host says 0, and refuses a bound statement inside a transaction", async () => {
    const path = join(tmp.dir, "r.sqlite");
    (await newSqlite(path, "CREATE TABLE t (a INT)")).close();
    const host = await fakeHost();
    const db = openRemoteSqlite(host, path, "appdb", { remoteTempDir: tmp.dir });
    try {
      expect(db.maxParams).toBe(0);
      await expect(db.transaction(() => db.execute("INSERT INTO t VALUES (?)", [1]))).rejects.toThrow(/cannot be queued in a transaction/);
    } finally {
      await db.close();
      await host.close();
    }
  });
});

describe("import and sync send their rows as bound parameters", () => {
  it("every INSERT carries its values apart from its text (and literals only where the driver cannot bind)", async () => {
    const src = await newSqlite(join(tmp.dir, "src.sqlite"));
    await loadFixture(src);
    const real = await newSqlite(join(tmp.dir, "dst.sqlite"), SQLITE_SCHEMA);
    const sent: { sql: string; params?: unknown[] }[] = [];
    const spy = (maxParams: number) =>
      new Proxy(real, {
        get(t, p) {
          if (p === "maxParams") return maxParams;
          if (p === "execute") return (sql: string, params?: SqlValue[]) => (sent.push({ sql, params }), t.execute(sql, params));
          const v = (t as never as Record<string | symbol, unknown>)[p];
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
    try {
      await syncTables(src, spy(real.maxParams));
      const inserts = sent.filter((x) => x.sql.startsWith("INSERT"));
      expect(inserts.length).toBeGreaterThan(0);
      expect(inserts.every((x) => x.params !== undefined && !x.sql.includes("Alice") && !x.sql.includes("'"))).toBe(true);
      sent.length = 0;
      await syncTables(src, spy(0));
      const literal = sent.filter((x) => x.sql.startsWith("INSERT"));
      expect(literal.every((x) => x.params === undefined)).toBe(true);
      expect(literal.some((x) => x.sql.includes("'Alice'"))).toBe(true);
    } finally {
      await src.close();
      await real.close();
    }
  });
});

const run = await requireMariadb();

describe.runIf(run)("maxParams on MariaDB", () => {
  let testDb: TestDatabase;
  let my: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    my = await testDb.open();
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it("binds that many in a transaction", async () => {
    expect(my.maxParams).toBe(65535);
    await bindsInTransaction(my, 1000, Math.floor(my.maxParams / 1000));
  });
});
