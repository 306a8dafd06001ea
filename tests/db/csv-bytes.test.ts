// The csv export's speed path (runtime/data-csv-bytes.ts, drivers/mysql-raw-rows.ts)
// against the plain way, on MariaDB: every column kind it takes, with nasty values,
// exported both ways gives the same bytes and the same manifest; a table with a
// column it does not know, a driver whose hook does not take, and bytes it cannot
// vouch for half-way all go the plain way and still export.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver, RawRows, SqlValue } from "../../runtime/drivers/driver.js";
import { exportTables } from "../../runtime/data.js";
import { csvBytesSwitch, CsvBytesWriter } from "../../runtime/data-csv-bytes.js";
import { rawRowsHook } from "../../runtime/drivers/mysql-raw-rows.js";
import type { Manifest } from "../../runtime/data-manifest.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { useTempFiles } from "./fixtures.js";

const tmp = useTempFiles();

const EVERY = `CREATE TABLE every (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, su SMALLINT UNSIGNED, mi MEDIUMINT, i INT, iz INT(6) ZEROFILL,
  bi BIGINT, bu BIGINT UNSIGNED, bz BIGINT(20) UNSIGNED ZEROFILL, y YEAR,
  d DECIMAL(10,2), dz DECIMAL(8,3) ZEROFILL, f FLOAT, r DOUBLE, rr REAL, dd DOUBLE(10,2),
  dt DATE, dtt DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, tm TIME(3),
  e ENUM('a','b,c','say "hi"',''), st SET('x','y "q"'),
  c CHAR(10), vc VARCHAR(300), l VARCHAR(40) CHARACTER SET latin1, tt TINYTEXT, t TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  j JSON, u UUID,
  bn BINARY(4), vb VARBINARY(20), tb TINYBLOB, b BLOB, lb LONGBLOB
) CHARACTER SET utf8mb4`;
const COLUMNS = (
  "id ti su mi i iz bi bu bz y d dz f r rr dd dt dtt ts tm e st c vc l tt t mt lt j u bn vb tb b lb"
).split(" ");

const NASTY = ["", "<NULL>", "NULL", 'say "hi"', "a,b", "cr\rlf\nboth\r\n", "back\\slash\\", "emoji 🐕 and 3-byte € ✓", '"', ",", "\r\n", " lead and trail "];

/** Rows for `every`: one all NULL, then each nasty text with numbers, dates and bytes at their edges. */
function everyRows(): SqlValue[][] {
  const rows: SqlValue[][] = [[1, ...COLUMNS.slice(1).map(() => null)]];
  const floats = [-0, 1e21, 1e-7, 0.1 + 0.2, 1 / 3, -1.7976931348623157e308, 5e-324, 3, 1e16, 123456789.125, 1e-4, 0.5];
  const bigs = ["9223372036854775807", "-9223372036854775808", "9007199254740993", "9007199254740991", "-9007199254740992", "0", "-1", "42"];
  const dates = ["0000-00-00", "2024-02-29", "9999-12-31", "1000-01-01"];
  const blobs = [Buffer.from([0x00, 0xff, 0x10, 0x0d, 0x0a, 0x22, 0x2c]), Buffer.alloc(0), Buffer.from("aGVsbG8="), Buffer.from("plain, \"text\"")];
  for (let k = 0; k < NASTY.length; k++) {
    const s = NASTY[k]!;
    const f = floats[k % floats.length]!;
    const blob = blobs[k % blobs.length]!;
    rows.push([
      k + 2,
      [-128, 127, 0, -1][k % 4]!,
      [0, 65535, 7, 100][k % 4]!,
      -8388608 + k,
      [-2147483648, 2147483647, 0, 5][k % 4]!,
      [0, 42, 999999, 7][k % 4]!,
      bigs[k % bigs.length]!,
      ["18446744073709551615", "0", "9007199254740993", "12"][k % 4]!,
      ["18446744073709551615", "0", "9007199254740993", "12"][(k + 1) % 4]!,
      [0, 1901, 2155, 2024][k % 4]!,
      ["12.30", "-0.05", "99999999.99", "0.00"][k % 4]!,
      ["1.500", "0.000", "12345.678", "7.000"][k % 4]!,
      [0.1, -0, 3.4e38, 1e-7][k % 4]!,
      f,
      -f,
      [1.5, -0, 12345678.91, 3][k % 4]!,
      dates[k % dates.length]!,
      ["2024-02-29 23:59:59.123456", "0000-00-00 00:00:00", "1000-01-01 00:00:00.000001", "9999-12-31 23:59:59"][k % 4]!,
      ["1970-01-01 00:00:01", "2038-01-19 03:14:07", "2000-06-15 12:00:00", "1999-12-31 23:59:59"][k % 4]!,
      ["-838:59:59.000", "00:00:00", "838:59:59.999", "12:34:56.789"][k % 4]!,
      ["a", "b,c", 'say "hi"', ""][k % 4]!,
      ["", "x", 'y "q"', 'x,y "q"'][k % 4]!,
      s.slice(0, 10),
      s,
      ["é à ü", "plain", 'q"uote', ""][k % 4]!,
      s,
      s + s,
      `${s}\n${s}`,
      s.repeat(3),
      ['{"a": 1, "b": "x,y"}', "[]", '"str\\"ing"', "null"][k % 4]!,
      ["00000000-0000-0000-0000-000000000000", "123e4567-e89b-12d3-a456-426614174000"][k % 2]!,
      Buffer.from([0, 0xff, k, 0x22]),
      blob,
      blob,
      Buffer.concat([blob, Buffer.from([0xfe, 0xfb, 0xfc])]),
      blob,
    ]);
  }
  // Over 64 KB in one value (a length of 3 bytes), beyond a 16-bit length.
  const long = 'long "text", with\r\nbreaks 🐕 '.repeat(3000);
  // Between 251 bytes and 64 KB (a length of 2 bytes): vc, t, vb.
  const values: Record<string, SqlValue> = { lt: long, mt: long, lb: Buffer.alloc(70_000, 0xab), vc: "€,".repeat(150), t: '"'.repeat(1000), b: Buffer.alloc(300, 0x22) };
  rows.push([100, ...COLUMNS.slice(1).map((c) => values[c] ?? null)]);
  return rows;
}

/** A manifest without what differs from one export to the next. */
function manifestOf(path: string): Omit<Manifest, "time" | "runId"> {
  const m = JSON.parse(readFileSync(path, "utf8")) as Manifest;
  const { time: _time, runId: _runId, ...rest } = m;
  return rest;
}

/** Exports `tables` with the speed path on and off: the files and manifests of each, and how many batches went the bytes way. */
async function bothWays(db: DatabaseDriver, tables: string[], name: string) {
  // The same file name in two folders: the manifests name their file.
  const fast = join(tmp.dir, "fast", `${name}.csv`);
  const plain = join(tmp.dir, "plain", `${name}.csv`);
  const add = vi.spyOn(CsvBytesWriter.prototype, "add");
  try {
    await exportTables(db, tables, fast, "csv");
    const batches = add.mock.calls.length;
    csvBytesSwitch.on = false;
    await exportTables(db, tables, plain, "csv");
    expect(add.mock.calls.length).toBe(batches); // off is off
    return {
      batches,
      fast: readFileSync(fast),
      plain: readFileSync(plain),
      fastManifest: manifestOf(`${fast}.manifest.json`),
      plainManifest: manifestOf(`${plain}.manifest.json`),
    };
  } finally {
    csvBytesSwitch.on = true;
    add.mockRestore();
  }
}

const run = await requireMariadb();

describe.runIf(run)("csv export from MariaDB: the bytes way writes what the plain way writes", () => {
  let testDb: TestDatabase;
  let my: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    my = await testDb.open();
    await my.execute(EVERY);
    const rows = everyRows();
    const marks = COLUMNS.map(() => "?").join(", ");
    for (const row of rows) await my.execute(`INSERT INTO every (${COLUMNS.join(", ")}) VALUES (${marks})`, row);
  });
  afterAll(async () => {
    await testDb?.drop();
  });
  afterEach(() => {
    rawRowsHook.property = "_rowParser";
    csvBytesSwitch.on = true;
  });

  it("every supported column kind, nasty values: identical files and manifests", async () => {
    expect(COLUMNS).toHaveLength(36);
    const [{ n }] = (await my.query("SELECT count(*) AS n FROM every")) as [{ n: number }];
    expect(n).toBe(NASTY.length + 2);
    const r = await bothWays(my, ["every"], "every");
    expect(r.batches).toBeGreaterThan(0);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fastManifest).toEqual(r.plainManifest);
    const text = r.fast.toString("utf8");
    // The edges are really there: 1e+21, ZEROFILL and YEAR 0 as numbers, BIGINT beyond 2^53 as sent (its
    // ZEROFILL zeros too), '0000-00-00'. (MariaDB stores -0.0 as 0: no -0.0 comes back to be written.)
    expect(text).toContain("\r\n2,-128,0,-8388608,-2147483648,0,9223372036854775807,18446744073709551615,0,0,12.30,00001.500,0.1,0.0,");
    expect(text).toContain(",00009007199254740993,");
    expect(text).toContain(",1e+21,");
    expect(text).toContain(",9223372036854775807,");
    expect(text).toContain(",18446744073709551615,");
    expect(text).toContain(",0000-00-00,");
    expect(text).toContain('"say ""hi"""');
    expect(text.split("\r\n")[1]).toBe("1" + ",".repeat(35));
  });

  it("a row over the 16 MB packet size (sent in two packets) and a batch over a megabyte", async () => {
    await my.execute("CREATE TABLE big (id INT PRIMARY KEY, lt LONGTEXT) CHARACTER SET utf8mb4");
    // The row's payload: 2 bytes of id, 9 of length, then the text: 16 MB + 1 in all (max_allowed_packet is 16 MB).
    const [{ max }] = (await my.query("SELECT @@max_allowed_packet AS max")) as [{ max: number }];
    if (max < 1 << 24) {
      console.warn(`max_allowed_packet is ${max}: no row over the 16 MB packet size can be sent; that case is not tested here`);
      return;
    }
    const length = Math.min(max, 1 << 24) - 11;
    await my.execute(`INSERT INTO big VALUES (1, REPEAT('ab"c,', ${Math.floor(length / 5)})), (2, 'x'), (3, REPEAT('é', 300000))`);
    if (length % 5 > 0) await my.execute(`UPDATE big SET lt = CONCAT(lt, REPEAT('z', ${length % 5})) WHERE id = 1`);
    const [{ size }] = (await my.query("SELECT LENGTH(lt) AS size FROM big WHERE id = 1")) as [{ size: number }];
    expect(size).toBe(length);
    expect(2 + 9 + size).toBeGreaterThan(0xffffff); // over one packet
    const r = await bothWays(my, ["big"], "big");
    expect(r.batches).toBeGreaterThan(0);
    expect(r.fast.length).toBeGreaterThan(length);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fastManifest).toEqual(r.plainManifest);
  });

  it("several tables in one backup folder, a table without rows, one without a primary key", async () => {
    await my.execute("CREATE TABLE empty_one (id INT PRIMARY KEY, s TEXT)");
    await my.execute("CREATE TABLE nokey (s VARCHAR(20), n INT)");
    await my.execute("INSERT INTO nokey VALUES ('b', 2), ('a', NULL), (NULL, 3)");
    const fast = join(tmp.dir, "folder-fast");
    const plain = join(tmp.dir, "folder-plain");
    await exportTables(my, ["every", "empty_one", "nokey"], fast, "csv");
    csvBytesSwitch.on = false;
    await exportTables(my, ["every", "empty_one", "nokey"], plain, "csv");
    for (const f of ["every.csv", "empty_one.csv", "nokey.csv"]) expect(readFileSync(join(fast, f)).equals(readFileSync(join(plain, f)))).toBe(true);
    expect(manifestOf(join(fast, "manifest.json"))).toEqual(manifestOf(join(plain, "manifest.json")));
  });

  it("a table with a column of a kind it does not know (POINT) goes the plain way and still exports", async () => {
    await my.execute("CREATE TABLE shapes (id INT PRIMARY KEY, name TEXT, g POINT)");
    await my.execute("INSERT INTO shapes VALUES (1, 'a,b', POINT(1, 2)), (2, '', NULL)");
    const r = await bothWays(my, ["shapes"], "shapes");
    expect(r.batches).toBe(0);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fast.toString("utf8")).toContain('2,"",\r\n');
  });

  it("when the hook does not take (mysql2 reads its parser elsewhere), the plain way", async () => {
    rawRowsHook.property = "_notTheRowParser";
    const raw = await (my.rawTextRows!("SELECT id, vc FROM every ORDER BY id", 5) as Promise<RawRows | undefined>);
    expect(raw).toBeUndefined();
    // The connection serves the next statement: the result was read to its end.
    expect(await my.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    const r = await bothWays(my, ["every"], "unhooked");
    expect(r.batches).toBe(0);
    expect(r.fast.equals(r.plain)).toBe(true);
  });

  it("bytes it cannot vouch for half-way (text that is not UTF-8): the file is started again the plain way", async () => {
    // The driver's raw rows with the first byte of 🐕 (F0) turned into FF: not UTF-8.
    const spoiled = new Proxy(my, {
      get(target, p) {
        const v = (target as unknown as Record<string | symbol, unknown>)[p];
        if (p !== "rawTextRows") return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (sql: string, batch: number) => {
          const raw = await target.rawTextRows!(sql, batch);
          if (raw === undefined) return raw;
          return {
            columns: raw.columns,
            discard: () => raw.discard(),
            async *batches() {
              for await (const b of raw.batches()) {
                const at = b.bytes.indexOf(Buffer.from("🐕"));
                if (at >= 0) b.bytes[at] = 0xff;
                yield b;
              }
            },
          };
        };
      },
    });
    const add = vi.spyOn(CsvBytesWriter.prototype, "add");
    const path = join(tmp.dir, "spoiled.csv");
    try {
      await exportTables(spoiled, ["every"], path, "csv");
      expect(add).toHaveBeenCalled();
    } finally {
      add.mockRestore();
    }
    csvBytesSwitch.on = false;
    const plain = join(tmp.dir, "plain", "spoiled.csv");
    await exportTables(my, ["every"], plain, "csv");
    expect(readFileSync(path).equals(readFileSync(plain))).toBe(true);
    expect(manifestOf(`${path}.manifest.json`)).toEqual(manifestOf(`${plain}.manifest.json`));
  });
});
