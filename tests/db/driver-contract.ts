// What every DatabaseDriver does the same, whatever its engine: values bound to
// `?` arrive as they are, runStatements is all or nothing (a StatementError names
// the failing statement and what stays applied), a probe changes nothing, and
// maxParams is a promise execute() keeps inside a transaction (0: it refuses).
// driver-contract.test.ts runs it against local SQLite, MariaDB and SQLite on a
// host reached through the test sshd.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DriverError, StatementError, type DatabaseDriver, type SqlValue } from "../../runtime/drivers/driver.js";

/** A driver on an empty database of its own, and how to let it go. */
export type OpenDriver = () => Promise<{ db: DatabaseDriver; close: () => Promise<void> }>;

const TRICKY = [`o'hara`, `a"b`, "back\\slash", "semi; DROP TABLE t; --", "new\nline", "\r\n", "ünï 😀", "?", ""];

export function driverContract(open: OpenDriver): void {
  let db: DatabaseDriver;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ db, close } = await open());
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(100))");
  });
  afterEach(async () => {
    await close();
  });

  const names = async (): Promise<string[]> => (await db.query("SELECT name FROM t ORDER BY id")).map((r) => String(r.name));

  describe("execute with params", () => {
    it("binds each value whole: quotes, backslashes, semicolons and `?` are data", async () => {
      for (const [i, name] of TRICKY.entries()) await db.execute("INSERT INTO t (id, name) VALUES (?, ?)", [i + 1, name]);
      expect(await names()).toEqual(TRICKY);
      expect(await db.tables()).toContain("t");
      const [row] = await db.query("SELECT count(*) AS n FROM t WHERE name = ?", [TRICKY[3]!]);
      expect(Number(row!.n)).toBe(1);
    });

    it("reports the rows it changed", async () => {
      await db.execute("INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
      expect((await db.execute("UPDATE t SET name = ? WHERE id > ?", ["z", 1])).affectedRows).toBe(2);
      expect(await names()).toEqual(["a", "z", "z"]);
    });
  });

  describe("runStatements", () => {
    it("runs the statements in order, each with its own params, and counts each one's rows", async () => {
      const r = await db.runStatements([
        { sql: "INSERT INTO t (id, name) VALUES (?, ?)", params: [1, "one"] },
        { sql: "INSERT INTO t (id, name) VALUES (?, ?), (?, ?)", params: [2, "two", 3, "three"] },
        { sql: "UPDATE t SET name = ? WHERE id = ?", params: ["TWO", 2] },
      ]);
      expect(r.affectedRows).toEqual([1, 2, 1]);
      expect(await names()).toEqual(["one", "TWO", "three"]);
    });

    it("is all or nothing: a failing statement rolls back the ones before it and is named by its index", async () => {
      await db.execute("INSERT INTO t (id, name) VALUES (1, 'kept')");
      const failure = await db
        .runStatements([
          { sql: "UPDATE t SET name = ? WHERE id = ?", params: ["changed", 1] },
          { sql: "INSERT INTO t (id, name) VALUES (?, ?)", params: [2, "new"] },
          { sql: "INSERT INTO t (id, name) VALUES (?, ?)", params: [1, "duplicate key"] },
          { sql: "INSERT INTO t (id, name) VALUES (?, ?)", params: [3, "never run"] },
        ])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(failure).toBeInstanceOf(StatementError);
      expect((failure as StatementError).index).toBe(2);
      expect((failure as StatementError).applied).toEqual([]);
      expect(await names()).toEqual(["kept"]);
    });
  });

  describe("probe", () => {
    it("returns the rows of a read, with its params bound", async () => {
      await db.execute("INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b')");
      expect((await db.probe("SELECT name FROM t WHERE id = ?", [2])).map((r) => r.name)).toEqual(["b"]);
    });

    it("refuses a statement that writes, and the database is unchanged", async () => {
      await db.execute("INSERT INTO t (id, name) VALUES (1, 'a')");
      for (const sql of ["DELETE FROM t", "UPDATE t SET name = 'x'", "INSERT INTO t (id, name) VALUES (2, 'b')", "DROP TABLE t"]) {
        await expect(db.probe(sql, []), sql).rejects.toBeInstanceOf(DriverError);
      }
      expect(await names()).toEqual(["a"]);
    });
  });

  describe("maxParams", () => {
    it("execute binds maxParams values in one statement inside a transaction, or refuses any when it is 0", async () => {
      await db.execute("CREATE TABLE p (v INTEGER)");
      if (db.maxParams === 0) {
        await expect(db.transaction(() => db.execute("INSERT INTO p (v) VALUES (?)", [1]))).rejects.toBeInstanceOf(DriverError);
        const [row] = await db.query("SELECT count(*) AS n FROM p");
        expect(Number(row!.n)).toBe(0);
        return;
      }
      const values: SqlValue[] = Array.from({ length: db.maxParams }, (_, i) => i);
      await db.transaction(() => db.execute(`INSERT INTO p (v) VALUES ${values.map(() => "(?)").join(", ")}`, values));
      const [row] = await db.query("SELECT count(*) AS n, sum(v) AS s FROM p");
      expect(Number(row!.n)).toBe(db.maxParams);
      expect(Number(row!.s)).toBe((db.maxParams * (db.maxParams - 1)) / 2);
    });
  });
}
