// Import of a csv backup straight from the file's bytes into MariaDB's bulk load
// (runtime/data-import-bytes.ts) against the plain way (CsvReader, TableLoader.add):
// every text-encoded column kind with nasty values, records longer than a read,
// imported both ways, leaves the same rows (and verifies); a file that is not in
// the strict form the export writes (hand-made, its manifest made to match) is
// loaded again the plain way, even when that is found after rows were sent; a file
// the plain way refuses is refused with the same words.

import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver, SqlValue } from "../../runtime/drivers/driver.js";
import { exportTables, importFile } from "../../runtime/data.js";
import { CsvToLoad, importBytesSwitch } from "../../runtime/data-import-bytes.js";
import type { Manifest } from "../../runtime/data-manifest.js";
import { requireMariadb } from "../support/mariadb.js";
import { useTempFiles } from "./fixtures.js";
import { COLUMNS, useEveryDatabase, everyRows } from "./every-column.js";

const tmp = useTempFiles();
const BINARY = ["bn", "vb", "tb", "b", "lb"];
const TEXT_COLUMNS = COLUMNS.filter((c) => !BINARY.includes(c));

async function rowsOf(db: DatabaseDriver, table: string): Promise<SqlValue[][]> {
  const rows: SqlValue[][] = [];
  for await (const page of db.stream(`SELECT * FROM ${table} ORDER BY 1`, 100)) rows.push(...page);
  return rows;
}

/** Writes `text` as the backup's file, with its sidecar manifest made to match (bytes, sha256, rows). */
function rewrite(file: string, text: string, rows: number): void {
  const bytes = Buffer.from(text, "utf8");
  writeFileSync(file, bytes);
  const manifest = JSON.parse(readFileSync(`${file}.manifest.json`, "utf8")) as Manifest;
  manifest.tables[0] = { ...manifest.tables[0]!, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), rows };
  writeFileSync(`${file}.manifest.json`, JSON.stringify(manifest));
}

const run = await requireMariadb();

describe.runIf(run)("import of a csv backup into MariaDB: the bytes way loads what the plain way loads", () => {
  const every = useEveryDatabase();
  let my: DatabaseDriver;
  beforeAll(async () => {
    my = every.db;
    await my.execute(`CREATE TABLE every_text AS SELECT ${TEXT_COLUMNS.join(", ")} FROM every`);
    await my.execute("ALTER TABLE every_text ADD PRIMARY KEY (id)");
    // Records longer than a read of the file (64 KB), and much longer.
    const long = (n: number) => `"quoted", and\r\nbroken 🐕 `.repeat(Math.ceil(n / 26)).slice(0, n);
    await my.execute("INSERT INTO every_text (id, lt, mt, t) VALUES (200, ?, ?, ?), (201, ?, NULL, '')", [long(1_500_000), long(70_000), long(60_000), long(200_000)]);
  });
  afterEach(() => {
    importBytesSwitch.on = true;
  });

  it("every text-encoded column kind, nasty values, records longer than a read: the same rows either way, verified", async () => {
    const before = await rowsOf(my, "every_text");
    expect(before).toHaveLength(everyRows().length + 2);
    const file = join(tmp.dir, "every_text.csv");
    await exportTables(my, ["every_text"], file, "csv");
    const push = vi.spyOn(CsvToLoad.prototype, "push");
    try {
      expect(await importFile(my, file)).toEqual({ tables: [{ name: "every_text", rows: before.length }] });
      expect(push).toHaveBeenCalled();
      expect(await rowsOf(my, "every_text")).toEqual(before);
      push.mockClear();
      importBytesSwitch.on = false;
      expect(await importFile(my, file)).toEqual({ tables: [{ name: "every_text", rows: before.length }] });
      expect(push).not.toHaveBeenCalled();
      expect(await rowsOf(my, "every_text")).toEqual(before);
    } finally {
      push.mockRestore();
    }
  });

  it("a table with a blob column goes the plain way (its fields are base64)", async () => {
    const file = join(tmp.dir, "every.csv");
    await exportTables(my, ["every"], file, "csv");
    const before = await rowsOf(my, "every");
    const push = vi.spyOn(CsvToLoad.prototype, "push");
    try {
      expect(await importFile(my, file)).toEqual({ tables: [{ name: "every", rows: before.length }] });
      expect(push).not.toHaveBeenCalled();
      expect(await rowsOf(my, "every")).toEqual(before);
    } finally {
      push.mockRestore();
    }
  });

  it("a hand-made file not in the export's strict form, found after rows were sent: loaded again the plain way, the same rows", async () => {
    await my.execute("CREATE TABLE memo (id INT PRIMARY KEY, body TEXT, n INT) CHARACTER SET utf8mb4");
    const rows = 5000;
    const values = Array.from({ length: rows }, (_, i) => [i + 1, i === rows - 10 ? 'pl""ain' : i === rows - 5 ? "ab" : `memo number ${i} with some words, to fill the file`, i % 7 === 0 ? null : i]);
    for (let i = 0; i < rows; i += 500) {
      const part = values.slice(i, i + 500);
      await my.execute(`INSERT INTO memo VALUES ${part.map(() => "(?, ?, ?)").join(", ")}`, part.flat() as SqlValue[]);
    }
    const before = await rowsOf(my, "memo");
    const file = join(tmp.dir, "memo.csv");
    await exportTables(my, ["memo"], file, "csv");
    const exported = readFileSync(file, "utf8");
    expect(exported.length).toBeGreaterThan(200_000); // several reads went to the load before the odd record
    // The plain reader takes `pl""ain` unquoted as pl""ain, and `"a"b` as ab.
    // Records after the header end in LF alone (the strict form too).
    const cut = exported.indexOf("\r\n") + 2;
    const odd = exported.replace(`,"pl""""ain",`, `,pl""ain,`).replace(`\r\n${rows - 4},ab,`, `\r\n${rows - 4},"a"b,`);
    expect(odd).not.toBe(exported);
    const handMade = odd.slice(0, cut) + odd.slice(cut).replaceAll("\r\n", "\n");
    rewrite(file, handMade, rows);
    const push = vi.spyOn(CsvToLoad.prototype, "push");
    try {
      expect(await importFile(my, file)).toEqual({ tables: [{ name: "memo", rows }] });
      // Reads went through the bytes way, until the odd record turned the load back to the plain way.
      const results = push.mock.results.map((r) => r.type);
      expect(results.indexOf("throw")).toBeGreaterThan(1);
      expect(await rowsOf(my, "memo")).toEqual(before);
    } finally {
      push.mockRestore();
    }
  });

  it("hand-made fields the load would read otherwise than the plain way sends them (a YEAR with a no-break space, a BIT's text): the plain way, the same outcome", async () => {
    /** Writes `records` after the empty table's header, imports both ways: result or error, and the rows. */
    const both = async (table: string, ddl: string, records: string, rows: number) => {
      await my.execute(ddl);
      const file = join(tmp.dir, `${table}.csv`);
      await exportTables(my, [table], file, "csv");
      rewrite(file, readFileSync(file, "utf8") + records, rows);
      const out: unknown[] = [];
      for (const on of [true, false]) {
        importBytesSwitch.on = on;
        const result = await importFile(my, file).then((r) => r, (e: Error) => e.message);
        out.push({ result, rows: await rowsOf(my, table) });
      }
      return out;
    };
    // Number() drops the no-break space the load's CAST refuses: only bare digits go the bytes way.
    const [yearBytes, yearPlain] = await both("yr", "CREATE TABLE yr (id INT PRIMARY KEY, y YEAR)", "1,\u00a02020\r\n2,0\r\n", 2);
    expect(yearBytes).toEqual(yearPlain);
    expect(yearPlain).toEqual({ result: { tables: [{ name: "yr", rows: 2 }] }, rows: [[1, 2020], [2, 0]] });
    // The load reads a BIT column as hex: a record holding its text does not go the bytes way.
    const [bitBytes, bitPlain] = await both("bits", "CREATE TABLE bits (id INT PRIMARY KEY, b BIT(8))", "1,5\r\n", 1);
    expect(bitBytes).toEqual(bitPlain);
    expect(bitPlain).toEqual({ result: { tables: [{ name: "bits", rows: 1 }] }, rows: [[1, Buffer.from("5")]] });
  });

  it("a file the plain way refuses (a record with a field too many) is refused with the same words, nothing changed", async () => {
    await my.execute("CREATE TABLE pair (id INT PRIMARY KEY, a TEXT) CHARACTER SET utf8mb4");
    await my.execute("INSERT INTO pair VALUES (1, 'one'), (2, 'two'), (3, 'three')");
    const file = join(tmp.dir, "pair.csv");
    await exportTables(my, ["pair"], file, "csv");
    rewrite(file, readFileSync(file, "utf8").replace("2,two", "2,two,extra"), 3);
    const errors: string[] = [];
    for (const on of [true, false]) {
      importBytesSwitch.on = on;
      errors.push(await importFile(my, file).then(() => "imported", (e: Error) => e.message));
    }
    expect(errors[0]).toMatch(/pair\.csv, line 3: 3 fields where the header has 2/);
    expect(errors[0]).toBe(errors[1]);
    expect(await rowsOf(my, "pair")).toEqual([[1, "one"], [2, "two"], [3, "three"]]);
  });
});
