// A MariaDB table with a column of every kind the raw-bytes speed paths take
// (csv export, verify's read back), and rows with nasty values at each kind's edges.

import { afterAll, beforeAll } from "vitest";
import type { DatabaseDriver, SqlValue } from "../../runtime/drivers/driver.js";
import { createTestDatabase, type TestDatabase } from "../support/mariadb.js";

export const EVERY = `CREATE TABLE every (
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
export const COLUMNS = (
  "id ti su mi i iz bi bu bz y d dz f r rr dd dt dtt ts tm e st c vc l tt t mt lt j u bn vb tb b lb"
).split(" ");

export const NASTY = ["", "<NULL>", "NULL", 'say "hi"', "a,b", "cr\rlf\nboth\r\n", "back\\slash\\", "emoji 🐕 and 3-byte € ✓", '"', ",", "\r\n", " lead and trail "];

/** Rows for `every`: one all NULL, then each nasty text with numbers, dates and bytes at their edges. */
export function everyRows(): SqlValue[][] {
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

/** Creates `every` in db and fills it with everyRows(). */
export async function createEvery(db: DatabaseDriver): Promise<void> {
  await db.execute(EVERY);
  const marks = COLUMNS.map(() => "?").join(", ");
  for (const row of everyRows()) await db.execute(`INSERT INTO every (${COLUMNS.join(", ")}) VALUES (${marks})`, row);
}

/**
 * In a describe: a fresh test database holding `every` (made before its tests,
 * dropped after them); `db` is its connection once the tests run.
 */
export function useEveryDatabase(): { readonly db: DatabaseDriver } {
  let testDb: TestDatabase | undefined;
  let db: DatabaseDriver | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await testDb.open();
    await createEvery(db);
  });
  afterAll(async () => {
    await testDb?.drop();
  });
  return {
    get db() {
      if (db === undefined) throw new Error("useEveryDatabase: its database exists only once the tests run");
      return db;
    },
  };
}
