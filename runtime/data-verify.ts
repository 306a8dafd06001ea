// Verification of what `import` and `sync` wrote: per table, the number of rows
// and a checksum of their values, computed the same way over what was sent and
// over what the destination holds afterwards (read back in the same transaction,
// before commit). Values are compared in one canonical text per column type of
// the destination (so 12.3 and "12.30" in a DECIMAL(10,2), or text and the same
// bytes in a blob, are one value), and the checksum is a sum of row hashes, so
// the order rows arrive in does not matter. It catches what the database did to
// the rows (a trigger that changes a value, a column that rounds or truncates,
// characters a charset cannot hold): anything but the rows that were sent.

import type { ColumnInfo, DatabaseDriver, SqlValue } from "./drivers/driver.js";
import { formatDateTime } from "../language/sql/quote.js";
import { dialectOf } from "../language/sql/index.js";
import { assertNever } from "../language/assert.js";

/** How a column's values are compared. */
export type ValueClass = "integer" | "decimal" | "real" | "float32" | "datetime" | "json" | "padded-char" | "text";

const INTEGER = /^\s*(?:tinyint|smallint|mediumint|int|integer|bigint|year)\b/i;
const DECIMAL = /^\s*(?:decimal|numeric|dec|fixed)\s*\(\s*\d+\s*,\s*(\d+)\s*\)/i;
const REAL = /^\s*(?:real|double|float|numeric|decimal|dec)\b/i;
const DATETIME = /^\s*(?:date|datetime|timestamp|time)\b/i;
const NUMBER = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/** The class of a destination column (its engine decides a few: MySQL's FLOAT is single precision, its CHAR drops trailing spaces). */
export function valueClass(type: string, engine: DatabaseDriver["engine"]): ValueClass {
  if (INTEGER.test(type)) return "integer";
  if (DECIMAL.test(type)) return "decimal";
  const dialect = dialectOf(engine);
  if (dialect.floatIsSingle && /^\s*float\b/i.test(type) && !/,/.test(type)) return "float32";
  if (REAL.test(type)) return "real";
  if (DATETIME.test(type)) return "datetime";
  if (/^\s*json\b/i.test(type)) return "json";
  if (dialect.charDropsTrailingSpaces && /^\s*char\b/i.test(type)) return "padded-char";
  return "text";
}

/** A column as verify needs it: its class, and a decimal's scale. */
export interface VerifyColumn {
  name: string;
  cls: ValueClass;
  scale: number;
}

export function verifyColumns(columns: readonly ColumnInfo[], engine: DatabaseDriver["engine"]): VerifyColumn[] {
  return columns.map((c) => ({ name: c.name, cls: valueClass(c.type, engine), scale: decimalScale(c.type) ?? 0 }));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Bytes as text where they are UTF-8 (the same as a string holding them), else marked hex. */
function bytesText(b: Buffer): string {
  try {
    return utf8.decode(b);
  } catch {
    return `\u0000x${b.toString("hex")}`;
  }
}

/** A decimal string rounded to `scale` digits, half away from zero (as MySQL stores it). */
function roundDecimal(text: string, scale: number): string {
  const m = /^\s*([-+]?)(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!m) return text;
  const sign = m[1] === "-" ? "-" : "";
  const int = (m[2] || "0").replace(/^0+(?=\d)/, "");
  const frac = m[3] ?? "";
  let digits = BigInt(int + frac.slice(0, scale).padEnd(scale, "0"));
  if ((frac[scale] ?? "0") >= "5") digits += 1n;
  let s = digits.toString().padStart(scale + 1, "0");
  if (scale > 0) s = `${s.slice(0, -scale)}.${s.slice(-scale)}`;
  return /^[0.]*$/.test(s) ? s : sign + s;
}

/** The declared scale of a DECIMAL(p,s) / NUMERIC(p,s) column (web2py's `decimal(p,s)`), else undefined. */
export function decimalScale(type: string): number | undefined {
  const m = DECIMAL.exec(type);
  return m ? Number(m[1]) : undefined;
}

/**
 * A number with `scale` digits after the point, as Python's
 * `"{0:.{s}f}".format(value)` writes it (pydal reads an SQLite decimal so, and
 * MySQL hands DECIMAL back as such text): correctly rounded from the double's
 * exact value, ties to even (JavaScript's toFixed rounds ties away from zero).
 */
export function pyFixed(value: number, scale: number): string {
  const digits = Math.min(scale, 100);
  let text = value.toFixed(digits);
  if (Math.abs(value) < 1e21 && digits + 60 <= 100) {
    // The exact value, far enough to see a tie: `5` then zeros after the last kept digit.
    const exact = Math.abs(value).toFixed(digits + 60);
    const cut = exact.length - 60;
    if (/^50*$/.test(exact.slice(cut))) {
      const kept = exact.slice(0, cut).replace(/\.$/, "");
      const last = Number(kept[kept.length - 1]);
      if (last % 2 === 0) text = (value < 0 ? "-" : "") + kept; // ties to even: keep, not round up
    }
  }
  return Object.is(value, -0) ? `-${text}` : text;
}

const bits = new Float64Array(1);
const bitHalves = new Uint16Array(bits.buffer);

/**
 * A finite double as the four 16-bit units of its IEEE 754 bits (-0 as 0): one
 * text per value, whether it came as a number or as a decimal string, and some ten
 * times cheaper to make than its shortest decimal text (a million per column and side).
 */
function doubleBits(n: number): string {
  bits[0] = n + 0;
  return String.fromCharCode(bitHalves[0]!, bitHalves[1]!, bitHalves[2]!, bitHalves[3]!);
}

/** One value in the canonical text of its column's class; NULL is undefined. */
export function canonical(v: SqlValue | undefined, col: VerifyColumn): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number" && Number.isNaN(v)) return undefined; // sent as NULL
  if (typeof v === "boolean") v = v ? 1 : 0;
  if (v instanceof Date) v = formatDateTime(v);
  if (Buffer.isBuffer(v)) v = bytesText(v);
  switch (col.cls) {
    case "integer":
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "number") return Number.isSafeInteger(v) ? String(v) : Number.isInteger(v) ? BigInt(v).toString() : String(v);
      if (/^\s*[-+]?\d+\s*$/.test(v)) return BigInt(v.trim()).toString();
      if (NUMBER.test(v) && Number.isInteger(Number(v))) return BigInt(Number(v)).toString();
      return v;
    case "decimal":
      if (typeof v === "bigint") return roundDecimal(v.toString(), col.scale);
      if (typeof v === "number") return Number.isFinite(v) ? pyFixed(v, col.scale) : String(v);
      if (NUMBER.test(v) && !/[eE]/.test(v)) return roundDecimal(v, col.scale);
      if (NUMBER.test(v)) return pyFixed(Number(v), col.scale);
      return v;
    case "real": {
      const n = typeof v === "bigint" || typeof v === "number" ? Number(v) : NUMBER.test(v) ? Number(v) : undefined;
      if (n === undefined) return v as string; // text in a REAL column (SQLite keeps it)
      return Number.isFinite(n) ? doubleBits(n) : String(n);
    }
    case "float32":
      if (typeof v === "string" && !NUMBER.test(v)) return v;
      return String(Math.fround(Number(v)) + 0);
    case "datetime":
      return typeof v === "string" ? v.replace(/^(\d{4}-\d\d-\d\d)T/, "$1 ") : String(v);
    case "json":
      if (typeof v !== "string") return String(v);
      try {
        return JSON.stringify(JSON.parse(v));
      } catch {
        return v;
      }
    case "padded-char":
      return (typeof v === "string" ? v : String(v)).replace(/ +$/, "");
    case "text":
      return typeof v === "string" ? v : String(v);
    default:
      return assertNever(col.cls, "value class");
  }
}

/** cyrb53's starting state (fast, well mixed; not meant to resist forgery). */
const SEED1 = 0xdeadbeef;
const SEED2 = 0x41c6ce57;
const M1 = 2654435761;
const M2 = 1597334677;

/** cyrb53's last step: the two 32-bit halves from the state after the last character. */
function finish(h1: number, h2: number): [number, number] {
  const a = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  const b = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return [a >>> 0, b >>> 0];
}

/** The hash of a whole text: the plain way, which RowHasher gives fed value by value. */
export function hashText(text: string): [number, number] {
  let h1 = SEED1;
  let h2 = SEED2;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, M1);
    h2 = Math.imul(h2 ^ ch, M2);
  }
  return finish(h1, h2);
}

/**
 * A row's hash made value by value: hashText of its canonical text (TableDigest.rowText:
 * NULL as `\u0001N`, a value as `\u0002`, its text, `\u0003` and its length in UTF-16
 * units; the length after the text, so bytes can be hashed as they are decoded).
 * cyrb53's steps are written out: this runs for every value of a million rows, twice.
 */
export class RowHasher {
  private h1 = SEED1;
  private h2 = SEED2;

  start(): void {
    this.h1 = SEED1;
    this.h2 = SEED2;
  }

  /** A NULL: `\u0001N`. */
  nul(): void {
    this.h1 = Math.imul(Math.imul(this.h1 ^ 1, M1) ^ 78, M1);
    this.h2 = Math.imul(Math.imul(this.h2 ^ 1, M2) ^ 78, M2);
  }

  /** A value's canonical text. */
  text(c: string): void {
    let h1 = Math.imul(this.h1 ^ 2, M1);
    let h2 = Math.imul(this.h2 ^ 2, M2);
    const n = c.length;
    for (let j = 0; j < n; j++) {
      const ch = c.charCodeAt(j);
      h1 = Math.imul(h1 ^ ch, M1);
      h2 = Math.imul(h2 ^ ch, M2);
    }
    this.h1 = h1;
    this.h2 = h2;
    this.length(n);
  }

  /**
   * A value whose canonical text is the UTF-8 bytes b[s, e) decoded, fed as the
   * UTF-16 units of that text (the same as text(b.toString("utf8", s, e))); with
   * `quoted`, each `""` in the bytes stands for one `"` (a quoted CSV field's
   * inside). false, and nothing fed, when the bytes are not valid UTF-8.
   */
  utf8(b: Uint8Array, s: number, e: number, quoted = false): boolean {
    let h1 = Math.imul(this.h1 ^ 2, M1);
    let h2 = Math.imul(this.h2 ^ 2, M2);
    let n = 0;
    let k = s;
    while (k < e) {
      const c = b[k]!;
      if (c < 0x80) {
        h1 = Math.imul(h1 ^ c, M1);
        h2 = Math.imul(h2 ^ c, M2);
        n++;
        k += quoted && c === 0x22 ? 2 : 1;
        continue;
      }
      let cp: number;
      if (c >= 0xc2 && c <= 0xdf) {
        const c1 = b[k + 1]!;
        if (k + 1 >= e || (c1 & 0xc0) !== 0x80) return false;
        cp = ((c & 0x1f) << 6) | (c1 & 0x3f);
        k += 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        const c1 = b[k + 1]!;
        const c2 = b[k + 2]!;
        if (k + 2 >= e || (c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) return false;
        if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return false; // overlong, or a surrogate
        cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
        k += 3;
      } else if (c >= 0xf0 && c <= 0xf4) {
        const c1 = b[k + 1]!;
        const c2 = b[k + 2]!;
        const c3 = b[k + 3]!;
        if (k + 3 >= e || (c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) return false;
        if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return false; // overlong, or beyond U+10FFFF
        const x = (((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f)) - 0x10000;
        const hi = 0xd800 + (x >> 10);
        h1 = Math.imul(h1 ^ hi, M1);
        h2 = Math.imul(h2 ^ hi, M2);
        n++;
        cp = 0xdc00 + (x & 0x3ff);
        k += 4;
      } else return false;
      h1 = Math.imul(h1 ^ cp, M1);
      h2 = Math.imul(h2 ^ cp, M2);
      n++;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.length(n);
    return true;
  }

  /** `\u0003` and the text's length, ending a value. */
  private length(n: number): void {
    let h1 = Math.imul(this.h1 ^ 3, M1);
    let h2 = Math.imul(this.h2 ^ 3, M2);
    if (n < 10) {
      h1 = Math.imul(h1 ^ (48 + n), M1);
      h2 = Math.imul(h2 ^ (48 + n), M2);
    } else {
      const len = String(n);
      for (let j = 0; j < len.length; j++) {
        const ch = len.charCodeAt(j);
        h1 = Math.imul(h1 ^ ch, M1);
        h2 = Math.imul(h2 ^ ch, M2);
      }
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  end(): [number, number] {
    return finish(this.h1, this.h2);
  }
}

// Speed: a million rows are hashed twice per table (as sent, as read back), so each
// column's canonical text comes from a function chosen once per column, which takes
// the common case of its class (a string already in canonical form, a number) without
// the tests canonical() makes for every value, and gives everything else to canonical().
// The result is always canonical()'s: tests/db/verify.test.ts compares the two.

/** An integer's text that BigInt would give back unchanged: optional `-`, no leading zero, no `-0`. */
function plainInteger(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > 20) return false;
  let i = v.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  const first = v.charCodeAt(i);
  if (first === 48) return n === 1; // "0" alone
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Digits in an integer that is safe as a double whatever they are (15 nines < 2^53). */
const SAFE_DIGITS = 15;

/** Bytes s..e are an integer's canonical text as they are (plainInteger: optional `-`, no leading zero, not `-0`), with few enough digits to be safe as a double. */
export function plainIntegerBytes(b: Uint8Array, s: number, e: number): boolean {
  let k = b[s] === 0x2d ? s + 1 : s;
  const digits = e - k;
  if (digits === 0 || digits > SAFE_DIGITS) return false;
  if (b[k] === 0x30) return digits === 1 && k === s;
  for (; k < e; k++) {
    const c = b[k]!;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Per column: a non-NULL value's canonical text (the same as canonical()). */
function canonicalFor(col: VerifyColumn): (v: SqlValue) => string | undefined {
  switch (col.cls) {
    case "text":
      return (v) => (typeof v === "string" ? v : canonical(v, col));
    case "integer":
      return (v) =>
        typeof v === "number" && Number.isSafeInteger(v) ? String(v) : typeof v === "string" && plainInteger(v) ? v : canonical(v, col);
    case "real":
      return (v) => (typeof v === "number" && Number.isFinite(v) ? doubleBits(v) : canonical(v, col));
    case "decimal": {
      const plain = col.scale > 0 ? new RegExp(`^-?(?:0|[1-9][0-9]*)\\.[0-9]{${col.scale}}$`) : /^-?(?:0|[1-9][0-9]*)$/;
      // "-0.00" is "0.00" in canonical form.
      return (v) => (typeof v === "string" && plain.test(v) && !/^-[0.]*$/.test(v) ? v : canonical(v, col));
    }
    case "datetime":
      return (v) => (typeof v === "string" && v.charCodeAt(10) !== 84 ? v : canonical(v, col));
    case "float32":
    case "json":
    case "padded-char":
      return (v) => canonical(v, col);
    default:
      return assertNever(col.cls, "value class");
  }
}

/** Row count and an order-independent checksum of rows (the sum of their hashes, mod 2^32 per half). */
export class TableDigest {
  rows = 0;
  private a = 0;
  private b = 0;
  private readonly canon: ((v: SqlValue) => string | undefined)[];
  private readonly hasher = new RowHasher();

  constructor(readonly columns: readonly VerifyColumn[]) {
    this.canon = columns.map(canonicalFor);
  }

  /** The row's canonical text: its values in column order, NULL apart from every text. */
  rowText(values: readonly (SqlValue | undefined)[]): string {
    let text = "";
    for (let i = 0; i < this.columns.length; i++) {
      const c = canonical(values[i], this.columns[i]!);
      text += c === undefined ? "\u0001N" : `\u0002${c}\u0003${c.length}`;
    }
    return text;
  }

  /** hashText(rowText(values)), fed value by value. */
  rowHash(values: readonly (SqlValue | undefined)[]): [number, number] {
    const h = this.hasher;
    h.start();
    const canon = this.canon;
    for (let i = 0; i < canon.length; i++) {
      const v = values[i];
      const c = v === null || v === undefined ? undefined : canon[i]!(v);
      if (c === undefined) h.nul();
      else h.text(c);
    }
    return h.end();
  }

  /** A row hashed by the caller (with a RowHasher, the same way as rowHash). */
  addHash([h1, h2]: [number, number]): void {
    this.a = (this.a + h1) >>> 0;
    this.b = (this.b + h2) >>> 0;
    this.rows++;
  }

  /** Per column: a (non-NULL) value's canonical text, as rowHash takes it. */
  canonicalOf(i: number, v: SqlValue): string | undefined {
    return this.canon[i]!(v);
  }

  add(values: readonly (SqlValue | undefined)[]): void {
    this.addHash(this.rowHash(values));
  }

  get checksum(): string {
    return this.a.toString(16).padStart(8, "0") + this.b.toString(16).padStart(8, "0");
  }

  same(other: TableDigest): boolean {
    return this.rows === other.rows && this.a === other.a && this.b === other.b;
  }
}

/** The first row that differs, by its key. */
export interface RowDifference {
  /** "id=3" */
  key: string;
  /** "is missing", "column name is \"X\" where it was sent as \"Y\"" */
  what: string;
}

/** The message of a failed verification (the transaction is rolled back with it). */
export function verifyFailed(f: { db: string; table: string; source: string; held: TableDigest; sent: TableDigest; where?: RowDifference }): string {
  const rows = (n: number) => `${n} row${n === 1 ? "" : "s"}`;
  const what =
    f.held.rows !== f.sent.rows
      ? `it holds ${rows(f.held.rows)} where ${rows(f.sent.rows)} were written from ${f.source}`
      : `its ${rows(f.held.rows)} differ from those written from ${f.source} (checksum ${f.held.checksum}, sent ${f.sent.checksum})`;
  const where = f.where ? `; the first that differs: ${f.where.key} ${f.where.what}` : "";
  return `${f.db}: table ${f.table} does not hold what was written: ${what}${where}; everything was rolled back`;
}

/** A row the database refused, with where it was going and where it came from. */
export function rowRefused(f: { refusal: string; table: string; row: string; source: string }): string {
  return `${f.refusal} (table ${f.table}, the row ${f.row} from ${f.source}); everything was rolled back`;
}

/** A MySQL column of a 3-byte charset refused a 4-byte character (an emoji, say). */
export function charsetRefused(f: { db: string; table: string; column: string; char: string; row: string }): string {
  const cp = `U+${f.char.codePointAt(0)!.toString(16).toUpperCase()}`;
  return (
    `${f.db}: column ${f.table}.${f.column} is CHARACTER SET utf8 (at most 3 bytes a character), which cannot hold ${f.char} (${cp}, 4 bytes: an emoji or another character beyond the BMP)` +
    `${f.row ? ` in the row ${f.row}` : ""}; convert it (ALTER TABLE ${f.table} CONVERT TO CHARACTER SET utf8mb4) or change the value; everything was rolled back`
  );
}
