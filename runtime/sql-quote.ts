// SQL literals and identifiers for text that runbook builds itself: the INSERT
// statements that `import` and `sync` send, and its own session settings. Values of
// a runbook never reach SQL this way: they are bound parameters (value-placement.ts).
// Pure functions, no database library; each engine's rules are the ones its parser
// applies (the MySQL driver turns NO_BACKSLASH_ESCAPES off for its session, so
// backslash escapes always hold).

import type { SqlValue } from "./drivers/driver.js";

export type SqlEngine = "sqlite" | "mysql";

const MYSQL_ESCAPES: Record<string, string> = {
  "\0": "\\0",
  "\n": "\\n",
  "\r": "\\r",
  "\x1a": "\\Z",
  "\\": "\\\\",
  "'": "''",
};

/**
 * A string as one SQL string literal, quotes included.
 * - sqlite: `'…'` with `'` doubled. NUL cannot stand inside an SQLite literal,
 *   and the sqlite3 program (which writes to a database on another host) drops
 *   a CR at the end of each line it reads, so those two characters are spliced
 *   in with char(): `('a'||char(13)||'b')`.
 * - mysql: `'…'` with `'` doubled and `\`, NUL, `\n`, `\r` and `\x1a` escaped
 *   with a backslash, as mysql_real_escape_string does.
 */
export function sqlQuote(value: string, engine: SqlEngine): string {
  if (engine === "mysql") {
    return "'" + value.replace(/[\0\n\r\x1a\\']/g, (c) => MYSQL_ESCAPES[c]!) + "'";
  }
  if (!/[\0\r]/.test(value)) return "'" + value.replace(/'/g, "''") + "'";
  const parts = value.split(/([\0\r])/).map((p, i) =>
    i % 2 === 1 ? `char(${p.charCodeAt(0)})` : "'" + p.replace(/'/g, "''") + "'",
  );
  return "(" + parts.filter((p) => p !== "''").join("||") + ")";
}

/** A table or column name: `"name"` for SQLite, `` `name` `` for MySQL. */
export function quoteIdent(name: string, engine: SqlEngine): string {
  if (name.includes("\0")) throw new Error(`an SQL name cannot contain a NUL byte: ${JSON.stringify(name)}`);
  return engine === "mysql" ? "`" + name.replace(/`/g, "``") + "`" : '"' + name.replace(/"/g, '""') + '"';
}

/** Any value a driver returns, as an SQL literal of that engine. */
export function sqlLiteral(value: SqlValue, engine: SqlEngine): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return sqlQuote(value, engine);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") {
    if (Number.isFinite(value)) {
      if (Object.is(value, -0)) return "0";
      // MySQL reads 0.3 as an exact DECIMAL and rounds it again into a DOUBLE;
      // an exponent makes it an approximate literal, read with strtod.
      return engine === "mysql" && !Number.isInteger(value) ? value.toExponential() : String(value);
    }
    if (Number.isNaN(value)) return "NULL";
    if (engine === "sqlite") return value > 0 ? "9e999" : "-9e999";
    throw new Error(`MySQL cannot store ${value}`);
  }
  if (Buffer.isBuffer(value)) return "X'" + value.toString("hex") + "'";
  if (value instanceof Date) return sqlQuote(formatDateTime(value), engine);
  throw new Error(`cannot write a ${typeof value} value as SQL`);
}

/** `YYYY-MM-DD HH:MM:SS[.mmm]` in UTC, the text both engines read as a datetime. */
export function formatDateTime(d: Date): string {
  const iso = d.toISOString(); // 2010-01-12T13:45:00.000Z
  const ms = iso.slice(20, 23);
  return iso.slice(0, 10) + " " + iso.slice(11, 19) + (ms === "000" ? "" : "." + ms);
}
