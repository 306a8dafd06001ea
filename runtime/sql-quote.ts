// SQL literals and identifiers for text that runbook builds itself: `${…}` values
// interpolated into `sql` and `query` statements, and the INSERT statements that
// `import` and `sync` send. Pure functions, no database library; each engine's
// rules are the ones its parser applies (the MySQL driver turns
// NO_BACKSLASH_ESCAPES off for its session, so backslash escapes always hold).

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

/** Where a `${…}` stands in SQL: outside quotes, inside '…', "…", `…`, or a comment. */
export type SqlContext = "none" | "single" | "double" | "backtick" | "line-comment" | "block-comment";

/**
 * The value as the SQL must hold it at `context` to mean exactly `value`: outside
 * quotes one string literal (sqlQuote); inside a quoted string or name, the value's
 * characters escaped as that quote needs, so `'${name}'` and `${name}` both give the
 * value. In a comment it can end nothing: line breaks (`--`) or `*\/` are broken up.
 */
export function sqlQuoteIn(value: string, engine: SqlEngine, context: SqlContext = "none"): string {
  switch (context) {
    case "none":
      return sqlQuote(value, engine);
    case "single":
    case "double": {
      const q = context === "single" ? "'" : '"';
      if (engine === "mysql") {
        return value.replace(/[\0\n\r\x1a\\'"]/g, (c) => (c === q ? q + q : c === "'" || c === '"' ? c : MYSQL_ESCAPES[c]!));
      }
      const doubled = value.split(q).join(q + q);
      if (context === "double") return doubled;
      // NUL and CR cannot stand in an SQLite literal (see sqlQuote): spliced in with char().
      return doubled.replace(/[\0\r]/g, (c) => `'||char(${c.charCodeAt(0)})||'`);
    }
    case "backtick":
      return value.replace(/`/g, "``");
    case "line-comment":
      return value.replace(/[\r\n]/g, " ");
    case "block-comment":
      return value.replace(/\*\//g, "* /");
  }
}

/**
 * Follows the quotes and comments of SQL text fed to it piece by piece (the literal
 * text of a `sql` or `query` statement, between its `${…}`), so that each `${…}` can
 * be quoted for where it stands. MySQL also has backslash escapes in strings and
 * `#` comments; `--` starts a MySQL comment only when a space follows.
 */
export class SqlScanner {
  private state: SqlContext = "none";
  private escaped = false;
  /** A quote that may be the first of a doubled pair, decided by the next character. */
  private pendingClose = false;
  private prev = "";

  constructor(private readonly engine: SqlEngine) {}

  get context(): SqlContext {
    // A quote just read at the end of a piece closes the string: a `${…}` follows it.
    return this.pendingClose ? "none" : this.state;
  }

  /** A value was inserted here. */
  inserted(): void {
    if (this.pendingClose) {
      this.pendingClose = false;
      this.state = "none";
    }
    this.prev = "_";
  }

  feed(text: string): void {
    for (const c of text) {
      this.step(c);
    }
  }

  private step(c: string): void {
    const prev = this.prev;
    this.prev = c;
    if (this.pendingClose) {
      this.pendingClose = false;
      const q = this.state === "single" ? "'" : this.state === "double" ? '"' : "`";
      if (c === q) return; // a doubled quote: still inside
      this.state = "none";
    }
    switch (this.state) {
      case "single":
      case "double":
      case "backtick": {
        const q = this.state === "single" ? "'" : this.state === "double" ? '"' : "`";
        if (this.escaped) this.escaped = false;
        else if (c === "\\" && this.engine === "mysql" && this.state !== "backtick") this.escaped = true;
        else if (c === q) this.pendingClose = true;
        return;
      }
      case "line-comment":
        if (c === "\n") this.state = "none";
        return;
      case "block-comment":
        if (c === "/" && prev === "*") {
          this.state = "none";
          this.prev = "";
        }
        return;
      case "none":
        break;
    }
    const dashes = this.dashes;
    this.dashes = false;
    if (c === "'") this.state = "single";
    else if (c === '"') this.state = "double";
    else if (c === "`") this.state = "backtick";
    else if (c === "#" && this.engine === "mysql") this.state = "line-comment";
    else if (c === "*" && prev === "/") {
      this.state = "block-comment";
      this.prev = "";
    } else if (c === "-" && prev === "-") {
      if (this.engine === "sqlite") this.state = "line-comment";
      else this.dashes = true;
    } else if (dashes && (c === " " || c === "\t")) this.state = "line-comment";
  }

  /** MySQL: the last two characters were `--` (a comment when a space follows). */
  private dashes = false;
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
