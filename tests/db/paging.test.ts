// Reading tables in pages of constant cost: keyset paging on a composite key
// (no OFFSET) and on a SQLite table's rowid when it has no key, every row once, in
// order; a key that cannot be paged on (NULL in a SQLite primary key) makes the
// export fail rather than write fewer rows than the table has.

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
      if (p === "query") return (sql: string, params?: SqlValue[]) => (seen.push(sql), t.query(sql, params));
      const v = (t as never as Record<string | symbol, unknown>)[p];
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

const N = 4500;
const FILL = (table: string, cols: string) =>
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N}) INSERT INTO ${table} SELECT ${cols} FROM n`;

describe("paging", () => {
  it.each([
    ["a composite key", "CREATE TABLE t (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b))", FILL("t", "i % 7, printf('%05d', i), 'v' || i"), /WHERE \("a" > \d+\) OR \("a" = \d+ AND "b" > '\d+'\)/],
    ["no key (the rowid)", "CREATE TABLE t (a INTEGER, b TEXT, v TEXT)", FILL("t", "i % 7, printf('%05d', i), 'v' || i"), /_rowid_ AS "__runbook_rowid" FROM "t" WHERE \(_rowid_ > 2000\) ORDER BY _rowid_ LIMIT 2000/],
  ])("%s: pages of 2000 without OFFSET, every row once", async (_what, schema, fill, where) => {
    const db = await newSqlite(join(tmp.dir, "a.sqlite"), `${schema}; ${fill}`);
    try {
      const seen: string[] = [];
      const path = join(tmp.dir, "t.csv");
      expect((await exportTables(spy(db, seen), ["t"], path, "csv")).tables).toEqual([{ name: "t", rows: N }]);
      const pages = seen.filter((s) => s.includes("LIMIT"));
      expect(pages).toHaveLength(3);
      expect(pages.some((s) => s.includes("OFFSET"))).toBe(false);
      expect(pages[1]).toMatch(where);
      const lines = readFileSync(path, "utf8").trimEnd().split("\r\n").slice(1);
      expect(new Set(lines).size).toBe(N);
    } finally {
      await db.close();
    }
  });

  it("a NULL in a primary key that cannot be paged on fails the export, which writes nothing", async () => {
    const db = await newSqlite(
      join(tmp.dir, "a.sqlite"),
      `CREATE TABLE t (a INTEGER, b TEXT, PRIMARY KEY (a, b)); ${FILL("t", "i, 'x'")}; INSERT INTO t VALUES (2000, NULL)`,
    );
    try {
      const path = join(tmp.dir, "t.csv");
      await expect(exportTables(db, ["t"], path, "csv")).rejects.toThrow(`table t has ${N + 1} rows but ${N} were read`);
      expect(() => readFileSync(path)).toThrow(/ENOENT/);
    } finally {
      await db.close();
    }
  });
});
