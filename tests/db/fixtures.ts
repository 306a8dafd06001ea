// Shared data for the database tests: a small web2py-shaped schema (the tables
// and column types web2py's DAL creates on SQLite and on MySQL) with values that
// stress the file formats: quotes, commas, CR/LF inside values, unicode beyond
// the BMP, backslashes, an injection attempt, floats Python writes in exponent
// form, NULLs, binary and web2py-style (base64 text) blobs.

import { afterEach, beforeEach } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseDriver, Row, SqlValue } from "../../runtime/drivers/driver.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { quoteIdent, sqlLiteral } from "../../language/sql/quote.js";

export const SQLITE_SCHEMA = `
CREATE TABLE person (id INTEGER PRIMARY KEY AUTOINCREMENT, name CHAR(512), notes TEXT, score DOUBLE,
  active CHAR(1), born DATE, created_on TIMESTAMP, photo BLOB);
CREATE TABLE dog (id INTEGER PRIMARY KEY AUTOINCREMENT, owner INTEGER REFERENCES person (id) ON DELETE CASCADE,
  name CHAR(512));
CREATE TABLE empty_one (id INTEGER PRIMARY KEY AUTOINCREMENT, label CHAR(32));
`;

export const MYSQL_SCHEMA = `
CREATE TABLE person (id INT AUTO_INCREMENT NOT NULL, name VARCHAR(512), notes LONGTEXT, score DOUBLE,
  active CHAR(1), born DATE, created_on DATETIME, photo LONGBLOB, PRIMARY KEY (id)) ENGINE=InnoDB CHARACTER SET utf8mb4;
CREATE TABLE dog (id INT AUTO_INCREMENT NOT NULL, owner INT, name VARCHAR(512), PRIMARY KEY (id),
  FOREIGN KEY (owner) REFERENCES person (id) ON DELETE CASCADE) ENGINE=InnoDB CHARACTER SET utf8mb4;
CREATE TABLE empty_one (id INT AUTO_INCREMENT NOT NULL, label VARCHAR(32), PRIMARY KEY (id)) ENGINE=InnoDB CHARACTER SET utf8mb4;
`;

export const TABLES = ["person", "dog", "empty_one"];

export const PERSON_COLUMNS = ["id", "name", "notes", "score", "active", "born", "created_on", "photo"];
export const PERSON_ROWS: SqlValue[][] = [
  [1, "Alice", "plain", 1.5, "T", "1980-01-02", "2010-01-12 13:45:00", null],
  [2, "Bob, Jr.", 'says "hi"', 3.0, "F", null, "2010-01-13 08:00:00", Buffer.from([0x00, 0xff, 0x10])],
  [3, "Zoë 日本 🐕", "line1\nline2\r\nline3", 1e-5, null, "1999-12-31", null, "aGVsbG8="],
  [4, "", null, 12345678901234567.0, "T", null, null, null],
  [5, " lead and trail ", "tab\there, and 'single'", -0.1, "F", null, null, null],
  [6, "NULL", "<NULL>x", 1e16, "T", null, null, null],
  [7, "back\\slash", "it's \\' tricky'; DROP TABLE person; --", 0.1 + 0.2, "T", null, null, null],
];
export const DOG_COLUMNS = ["id", "owner", "name"];
export const DOG_ROWS: SqlValue[][] = [
  [1, 1, "Rex"],
  [2, 3, '"Quoted" dog'],
  [3, null, "stray 🐾"],
];

/** A temp directory, removed by the returned cleanup. */
export function tempDir(prefix = "runbook-db-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A new SQLite file at `path` (an empty file is an empty database) with `sql` run in it. */
/**
 * For a test file: a fresh temp folder for each test (`dir`) and the databases a test
 * opened (push them on `open`), closed and removed after it.
 */
export function useTempFiles(): { readonly dir: string; open: DatabaseDriver[] } {
  let tmp: ReturnType<typeof tempDir> | undefined;
  const open: DatabaseDriver[] = [];
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    tmp?.cleanup();
  });
  return {
    open,
    get dir() {
      return tmp!.dir;
    },
  };
}

export async function newSqlite(path: string, sql = ""): Promise<DatabaseDriver> {
  writeFileSync(path, "");
  const db = openSqlite(path);
  if (sql.trim() !== "") await db.execute(sql);
  return db;
}

export async function insertRows(db: DatabaseDriver, table: string, columns: string[], rows: SqlValue[][]): Promise<void> {
  if (rows.length === 0) return;
  const q = (n: string) => quoteIdent(n, db.engine);
  const values = rows.map((r) => `(${r.map((v) => sqlLiteral(v, db.engine)).join(", ")})`).join(",\n");
  await db.execute(`INSERT INTO ${q(table)} (${columns.map(q).join(", ")}) VALUES ${values}`);
}

/** The fixture schema and rows in a database (schema per engine). */
export async function loadFixture(db: DatabaseDriver): Promise<void> {
  for (const stmt of (db.engine === "mysql" ? MYSQL_SCHEMA : SQLITE_SCHEMA).split(";")) {
    if (stmt.trim() !== "") await db.execute(stmt);
  }
  await insertRows(db, "person", PERSON_COLUMNS, PERSON_ROWS);
  await insertRows(db, "dog", DOG_COLUMNS, DOG_ROWS);
}

/** All rows of a table in id order. */
export async function allRows(db: DatabaseDriver, table: string): Promise<Row[]> {
  return db.query(`SELECT * FROM ${quoteIdent(table, db.engine)} ORDER BY 1`);
}
