import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { formatDateTime, quoteIdent, sqlLiteral, sqlQuote } from "../../language/sql/quote.js";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { newSqlite, tempDir } from "./fixtures.js";

describe("sqlQuote", () => {
  it.each([
    ["plain", "sqlite", "'plain'"],
    ["plain", "mysql", "'plain'"],
    ["", "sqlite", "''"],
    ["", "mysql", "''"],
    ["it's", "sqlite", "'it''s'"],
    ["it's", "mysql", "'it''s'"],
    ["'; DROP TABLE t; --", "sqlite", "'''; DROP TABLE t; --'"],
    ["'; DROP TABLE t; --", "mysql", "'''; DROP TABLE t; --'"],
    ["\\'; DROP TABLE t; --", "sqlite", "'\\''; DROP TABLE t; --'"],
    ["\\'; DROP TABLE t; --", "mysql", "'\\\\''; DROP TABLE t; --'"],
    ["a\\b", "sqlite", "'a\\b'"],
    ["a\\b", "mysql", "'a\\\\b'"],
    ["l1\nl2\r\n", "sqlite", "('l1\nl2'||char(13)||'\n')"],
    ["\r", "sqlite", "(char(13))"],
    ["l1\nl2\r\n", "mysql", "'l1\\nl2\\r\\n'"],
    ["nul\0byte", "mysql", "'nul\\0byte'"],
    ["nul\0byte", "sqlite", "('nul'||char(0)||'byte')"],
    ["ctrl-z\x1a", "mysql", "'ctrl-z\\Z'"],
    ['double "quotes"', "mysql", "'double \"quotes\"'"],
    ["Zoë 日本 🐕", "sqlite", "'Zoë 日本 🐕'"],
    ["Zoë 日本 🐕", "mysql", "'Zoë 日本 🐕'"],
  ] as const)("%j as %s → %s", (value, engine, expected) => {
    expect(sqlQuote(value, engine)).toBe(expected);
  });
});

describe("quoteIdent", () => {
  it.each([
    ["person", "sqlite", '"person"'],
    ["person", "mysql", "`person`"],
    ['we"ird', "sqlite", '"we""ird"'],
    ["we`ird", "mysql", "`we``ird`"],
  ] as const)("%s as %s → %s", (name, engine, expected) => {
    expect(quoteIdent(name, engine)).toBe(expected);
  });
});

describe("sqlLiteral", () => {
  it.each([
    [null, "sqlite", "NULL"],
    [42, "mysql", "42"],
    [-0, "sqlite", "0"],
    [1.5e-7, "sqlite", "1.5e-7"],
    [0.1 + 0.2, "sqlite", "0.30000000000000004"],
    [0.1 + 0.2, "mysql", "3.0000000000000004e-1"],
    [1e16, "mysql", "10000000000000000"],
    [9007199254740993n, "mysql", "9007199254740993"],
    [true, "mysql", "1"],
    [false, "sqlite", "0"],
    [Buffer.from([0, 255, 16]), "sqlite", "X'00ff10'"],
    [Buffer.alloc(0), "mysql", "X''"],
    [new Date("2010-01-12T13:45:00Z"), "mysql", "'2010-01-12 13:45:00'"],
    [Number.POSITIVE_INFINITY, "sqlite", "9e999"],
    [Number.NaN, "sqlite", "NULL"],
  ] as const)("%s as %s → %s", (value, engine, expected) => {
    expect(sqlLiteral(value, engine)).toBe(expected);
  });

  it("refuses infinity for MySQL", () => {
    expect(() => sqlLiteral(Number.NEGATIVE_INFINITY, "mysql")).toThrow(/cannot store/);
  });

  it("formats dates with milliseconds only when there are some", () => {
    expect(formatDateTime(new Date("2010-01-12T13:45:00.250Z"))).toBe("2010-01-12 13:45:00.250");
  });
});

// The quoted text must read back as the same string in the real engine.
describe("sqlQuote round trip through SQLite", () => {
  const tmp = tempDir();
  let db: DatabaseDriver;
  beforeAll(async () => {
    db = await newSqlite(join(tmp.dir, "q.sqlite"), "CREATE TABLE t (v TEXT)");
  });
  afterAll(async () => {
    await db.close();
    tmp.cleanup();
  });

  it.each([
    "plain",
    "",
    "it's",
    "'; DROP TABLE t; --",
    "\\'; DROP TABLE t; --",
    "a\\b\\\\c",
    "l1\nl2\r\nl3",
    "nul\0byte\0",
    "\x1a",
    "Zoë 日本 🐕",
  ])("%j", async (value) => {
    const rows = await db.query(`SELECT ${sqlQuote(value, "sqlite")} AS v, (SELECT count(*) FROM t) AS n`);
    expect(rows[0]!.v).toBe(value);
    expect(rows[0]!.n).toBe(0); // the table is still there
  });
});
