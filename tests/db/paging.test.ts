// Reading whole tables in constant memory: one streamed query per table
// (DatabaseDriver.stream), ordered by its key, a composite one too, or by a
// SQLite table's rowid when it has none (no OFFSET, no pages to miss a row
// between); every row once, in order; a NULL in a SQLite primary key is read too.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver, SqlValue } from "../../runtime/drivers/driver.js";
import { exportTables } from "../../runtime/data.js";
import { newSqlite, tempDir } from "./fixtures.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function spy(db: DatabaseDriver, seen: string[]): DatabaseDriver {
  return new Proxy(db, {
    get(t, p) {
      if (p === "stream") return (sql: string, batch: number) => (seen.push(sql), t.stream(sql, batch));
      const v = (t as never as Record<string | symbol, unknown>)[p];
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

const N = 4500;
const FILL = (table: string, cols: string) =>
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N}) INSERT INTO ${table} SELECT ${cols} FROM n`;

describe("reading a table", () => {
  it.each([
    ["a composite key", "CREATE TABLE t (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b))", FILL("t", "i % 7, printf('%05d', i), 'v' || i"), 'SELECT "a", "b", "v" FROM "t" ORDER BY "a", "b"'],
    ["no key (the rowid)", "CREATE TABLE t (a INTEGER, b TEXT, v TEXT)", FILL("t", "i % 7, printf('%05d', i), 'v' || i"), 'SELECT "a", "b", "v" FROM "t" ORDER BY _rowid_'],
  ])("%s: one streamed query in key order, every row once", async (_what, schema, fill, select) => {
    const db = await newSqlite(join(tmp.dir, "a.sqlite"), `${schema}; ${fill}`);
    try {
      const seen: string[] = [];
      const path = join(tmp.dir, "t.csv");
      expect((await exportTables(spy(db, seen), ["t"], path, "csv")).tables).toEqual([{ name: "t", rows: N }]);
      expect(seen).toEqual([select]);
      const lines = readFileSync(path, "utf8").trimEnd().split("\r\n").slice(1);
      expect(new Set(lines).size).toBe(N);
      const keys = lines.map((l) => l.split(",").slice(0, 2));
      const sorted = [...keys].sort(([a1, b1], [a2, b2]) => Number(a1) - Number(a2) || (b1! < b2! ? -1 : b1! > b2! ? 1 : 0));
      if (schema.includes("PRIMARY KEY")) expect(keys).toEqual(sorted);
    } finally {
      await db.close();
    }
  });

  it("a NULL in a SQLite primary key does not hide its row", async () => {
    const db = await newSqlite(
      join(tmp.dir, "a.sqlite"),
      `CREATE TABLE t (a INTEGER, b TEXT, PRIMARY KEY (a, b)); ${FILL("t", "i, 'x'")}; INSERT INTO t VALUES (2000, NULL)`,
    );
    try {
      const path = join(tmp.dir, "t.csv");
      expect((await exportTables(db, ["t"], path, "csv")).tables).toEqual([{ name: "t", rows: N + 1 }]);
      expect(readFileSync(path, "utf8")).toContain("\r\n2000,\r\n");
    } finally {
      await db.close();
    }
  });
});
