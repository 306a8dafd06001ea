// SQL literals and identifiers for text that runbook builds itself: the INSERT
// statements that `import` and `sync` send, and its own session settings. Values of
// a runbook never reach SQL this way: they are bound parameters (value-placement.ts).
// Pure functions, no database library; each engine's rules are in its SqlDialect
// (the ones its parser applies).

import { dialectOf, type Engine } from "./index.js";

/** A value as a database driver returns it. */
export type SqlValue = string | number | bigint | boolean | null | Buffer | Date;

/** A string as one SQL string literal of that engine, quotes included (see each dialect's quoteString). */
export function sqlQuote(value: string, engine: Engine): string {
  return dialectOf(engine).quoteString(value);
}

/** A table or column name: `"name"` for SQLite, `` `name` `` for MySQL. */
export function quoteIdent(name: string, engine: Engine): string {
  if (name.includes("\0")) throw new Error(`an SQL name cannot contain a NUL byte: ${JSON.stringify(name)}`);
  return dialectOf(engine).quoteName(name);
}

/** Any value a driver returns, as an SQL literal of that engine. */
export function sqlLiteral(value: SqlValue, engine: Engine): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return sqlQuote(value, engine);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") {
    if (Number.isFinite(value)) {
      if (Object.is(value, -0)) return "0";
      return Number.isInteger(value) ? String(value) : dialectOf(engine).fractionLiteral(value);
    }
    if (Number.isNaN(value)) return "NULL";
    const dialect = dialectOf(engine);
    const infinity = dialect.infinityLiteral(value > 0);
    if (infinity === undefined) throw new Error(`${dialect.label} cannot store ${value}`);
    return infinity;
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
