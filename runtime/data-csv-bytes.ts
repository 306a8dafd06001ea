// The lossless csv's rows written straight from the MySQL text protocol's bytes
// (DatabaseDriver.rawTextRows), never a JS string per value: the export's speed
// path. A speed trick, fenced:
// - it writes exactly what the plain way (data.ts losslessField, csvField) writes
//   for the same rows: tests/db/csv-bytes.test.ts compares the two byte for byte;
// - a table goes this way only when every column is of a kind whose bytes it
//   knows (csvBytesPlan), else the plain way;
// - what it cannot vouch for half-way (text that is not UTF-8, a non-ASCII byte
//   where the server sends ASCII) throws NotPlainBytes, and the caller writes the
//   table again the plain way;
// - a float is written as the server's text where that text is, provably, what
//   the plain way writes (floatText: 15 digits or fewer; 16 or 17 once the server
//   is seen to write the shortest digits), else parsed and written as the plain way;
// - csvBytesSwitch turns it off (for the tests that compare).

import { isUtf8 } from "node:buffer";
import { assertNever } from "../language/assert.js";
import { DriverError, type RawColumn, type RawColumnKind, type RawRowBatch } from "./drivers/driver.js";
import type { ManifestColumn } from "./data-manifest.js";
import { readValue, type ValueAt } from "./drivers/mysql-raw-rows.js";

/** Test switch: false sends every table the plain way. */
export const csvBytesSwitch = { on: true };

/**
 * The bytes say something the plain way would take otherwise than a speed path
 * (here, data-verify-bytes.ts, data-import-bytes.ts) can: the table goes the plain
 * way. not-strict: a csv file not in the strict form the export writes.
 */
export class NotPlainBytes extends Error {
  constructor(readonly why: "not-utf8" | "not-ascii" | "not-strict") {
    super(why);
    this.name = "NotPlainBytes";
  }
}

/** How a column's bytes become its field. */
const enum Way {
  /** UTF-8 text: csvField's quoting. */
  Text,
  /** ASCII text as sent (decimals, dates): csvField's quoting, any other byte refused. */
  Ascii,
  /** Integer digits: as the number mysql2 makes of them is written (String(n)), the text beyond 2^53. */
  Integer,
  /** Float text: parsed and written as the plain way writes the number. */
  Float,
  /** Bytes of a base64 column. */
  Base64,
}

/** Per kind of column: the way its bytes are written, or undefined when that column sends the table the plain way. */
const WAYS: { [K in RawColumnKind]: (c: ManifestColumn, real: boolean) => Way | undefined } = {
  text: (c) => (c.encoding === "text" ? Way.Text : undefined),
  ascii: (c) => (c.encoding === "text" ? Way.Ascii : undefined),
  integer: (c, real) => (c.encoding === "text" && !real ? Way.Integer : undefined),
  float: (c) => (c.encoding === "text" ? Way.Float : undefined),
  bytes: (c) => (c.encoding === "base64" ? Way.Base64 : undefined),
  other: () => undefined,
};

export interface CsvBytesPlan {
  ways: Way[];
  /** Per Float column: the plain way's text for a number (data.ts numberText). */
  numberText: ((n: number) => string)[];
  /** Per column: a float type, written as Python's repr (what floatText gives, where it gives anything). */
  real: boolean[];
  /** The server writes a double's shortest digits (serverWritesShortest): floatText may take 16 and 17 of them. */
  shortest: boolean;
}

/**
 * How to write a table from its raw rows, or undefined when one of its columns
 * is not of a kind known here (or the result is not the table's columns).
 * `real[i]`: the column's declared type is a float type (the plain way writes
 * integral values of other columns without `.0`).
 */
export function csvBytesPlan(
  raw: readonly RawColumn[],
  columns: readonly ManifestColumn[],
  numberText: (c: ManifestColumn) => (n: number) => string,
  real: (c: ManifestColumn) => boolean,
  shortest = false,
): CsvBytesPlan | undefined {
  if (raw.length !== columns.length || raw.length === 0) return undefined;
  const ways: Way[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = columns[i]!;
    if (raw[i]!.name !== c.name) return undefined;
    const way = WAYS[raw[i]!.kind](c, real(c));
    if (way === undefined) return undefined;
    ways.push(way);
  }
  return { ways, numberText: columns.map(numberText), real: columns.map(real), shortest };
}

/** floatText: not a form it vouches for (the plain way then); Python's repr as it is; a whole number, Python's repr once `.0` is added. */
const NOT_PLAIN = 0;
const AS_IS = 1;
const WHOLE = 2;

/**
 * Whether the server's text of a float (a DOUBLE's or FLOAT's, as MySQL sends it)
 * is what the plain way writes for it, pyFloatRepr(parseFloat(text)), as it is
 * (AS_IS) or with `.0` added (WHOLE); NOT_PLAIN when this cannot be told from the
 * bytes. It is when the text is plain decimal digits in Python's range for them
 * (1e-4 <= |x| < 1e16: `-`, no leading zero but a lone `0.`, no trailing zero
 * after the point, no exponent) and its digits are the shortest that read back as
 * the double: with 15 significant digits or fewer they are (two decimals of at
 * most 15 digits never round to the same double, so no other one as short reads
 * back as it), and with 16 or 17 only where `shortest` (the server writes the
 * shortest digits, as Python and JavaScript do: serverWritesShortest).
 */
export function floatText(b: Uint8Array, s: number, e: number, shortest: boolean): number {
  let k = s;
  if (b[k] === 0x2d) k++;
  const intStart = k;
  while (k < e && b[k]! >= 0x30 && b[k]! <= 0x39) k++;
  const intDigits = k - intStart;
  if (intDigits === 0 || intDigits > 16) return NOT_PLAIN;
  const zeroInt = b[intStart] === 0x30;
  if (zeroInt && intDigits > 1) return NOT_PLAIN;
  let significant = zeroInt ? 0 : intDigits;
  if (k === e) return zeroInt ? NOT_PLAIN : significant <= 15 || shortest ? WHOLE : NOT_PLAIN; // "0" alone: the plain way's sign of zero
  if (b[k] !== 0x2e) return NOT_PLAIN;
  k++;
  const fracStart = k;
  while (k < e && b[k]! >= 0x30 && b[k]! <= 0x39) k++;
  if (k !== e || k === fracStart || b[e - 1] === 0x30) return NOT_PLAIN;
  if (zeroInt) {
    let z = fracStart;
    while (b[z] === 0x30) z++;
    if (z - fracStart > 3) return NOT_PLAIN; // below 1e-4: Python writes an exponent
    significant = e - z;
  } else significant += e - fracStart;
  return significant <= 15 || (shortest && significant <= 17) ? AS_IS : NOT_PLAIN;
}

/**
 * Doubles whose shortest digits are 16 or 17 (1/3, 0.1 + 0.2, 1.1 * 1.1, …), where
 * a server writing `%.17g` or fewer digits than needed would differ: serverWritesShortest
 * sends them and compares each text with pyFloatRepr(parseFloat(text)).
 */
export const SHORTEST_PROBE =
  "SELECT 1/3e0, 2/3e0, 0.1e0 + 0.2e0, 1.1e0 * 1.1e0, 4.35e0 * 100, 1/7e0, 100/7e0, 123456.7e0 / 3, 0.001e0 / 3, 9007199254740993e0 / 10";

/** The raw row of SHORTEST_PROBE as the server sent it: does it write every value's shortest digits, in a form floatText takes? */
export function writesShortest(bytes: Buffer, columns: number, repr: (n: number) => string): boolean {
  const at: ValueAt = { s: 0, e: 0 };
  let p = 0;
  for (let i = 0; i < columns; i++) {
    p = readValue(bytes, p, at);
    if (p < 0 || at.s < 0) return false;
    const text = bytes.toString("latin1", at.s, at.e);
    const form = floatText(bytes, at.s, at.e, true);
    if (form === NOT_PLAIN || (form === WHOLE ? `${text}.0` : text) !== repr(Number.parseFloat(text))) return false;
  }
  return true;
}

/** Whether two results have the same columns of the same kinds (the plan made for one holds for the other). */
export function sameColumns(a: readonly RawColumn[], b: readonly RawColumn[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.kind === b[i]!.kind);
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
/** Values shorter than this are copied byte by byte (a native copy costs more than it saves). */
const SHORT = 32;
/** The digits of Number.MAX_SAFE_INTEGER: an integer beyond it mysql2 gives as its text. */
const MAX_SAFE = Buffer.from(String(Number.MAX_SAFE_INTEGER), "latin1");

/** The writer's buffer to start with (it grows for a long row). */
const OUT_BYTES = 1 << 17;

/** Writes raw row batches as csv records into one growing buffer, taken out with take(). */
export class CsvBytesWriter {
  private out = Buffer.allocUnsafe(OUT_BYTES);
  private pos = 0;
  private readonly at: ValueAt = { s: 0, e: 0 };

  constructor(
    private readonly plan: CsvBytesPlan,
    private readonly label: string,
  ) {}

  /** Bytes written and not yet taken. */
  get size(): number {
    return this.pos;
  }

  /**
   * The records written so far (whole records: never a character cut in two),
   * checked to be UTF-8 (one check for the lot: fields are separated by ASCII, so
   * the whole is UTF-8 only when each text field is). The caller's to keep.
   */
  take(): Buffer {
    const chunk = this.out.subarray(0, this.pos);
    this.out = Buffer.allocUnsafe(OUT_BYTES);
    this.pos = 0;
    if (!isUtf8(chunk)) throw new NotPlainBytes("not-utf8");
    return chunk;
  }

  private room(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + n));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }

  private broken(): never {
    throw new DriverError(`${this.label}: a row came in a form the csv export cannot read`, "protocol");
  }

  add(batch: RawRowBatch): void {
    const b = batch.bytes;
    const end = b.length;
    const ways = this.plan.ways;
    const n = ways.length;
    const at = this.at;
    let p = 0;
    for (let r = 0; r < batch.rows; r++) {
      for (let i = 0; i < n; i++) {
        p = readValue(b, p, at);
        if (p < 0) this.broken();
        if (at.s < 0) {
          // NULL: the empty unquoted field
          this.room(1);
          if (i > 0) this.out[this.pos++] = COMMA;
          continue;
        }
        const s = at.s;
        const e = at.e;
        const way = ways[i]!;
        switch (way) {
          case Way.Text:
          case Way.Ascii:
            this.text(b, s, e, i > 0, way === Way.Ascii);
            break;
          case Way.Integer:
            this.integer(b, s, e, i > 0);
            break;
          case Way.Float: {
            const form = this.plan.real[i] ? floatText(b, s, e, this.plan.shortest) : NOT_PLAIN;
            if (form === NOT_PLAIN) this.ascii(this.plan.numberText[i]!(Number.parseFloat(b.toString("latin1", s, e))), i > 0);
            else this.floatBytes(b, s, e, i > 0, form === WHOLE);
            break;
          }
          case Way.Base64:
            if (e === s) this.ascii('""', i > 0);
            else this.ascii(b.toString("base64", s, e), i > 0);
            break;
          default:
            assertNever(way, "way");
        }
      }
      this.room(2);
      this.out[this.pos++] = CR;
      this.out[this.pos++] = LF;
    }
    if (p !== end) this.broken();
  }

  /** A text field: quoted when it holds `"` `,` CR or LF (`"` doubled), '' as `""` (csvField). */
  private text(b: Buffer, s: number, e: number, comma: boolean, asciiOnly: boolean): void {
    const len = e - s;
    this.room(len * 2 + 3);
    const out = this.out;
    let o = this.pos;
    if (comma) out[o++] = COMMA;
    if (len === 0) {
      out[o++] = QUOTE;
      out[o++] = QUOTE;
      this.pos = o;
      return;
    }
    if (!asciiOnly && len < SHORT) {
      // Copied as it is scanned: most values need no quotes.
      let k = s;
      let q = o;
      for (; k < e; k++) {
        const c = b[k]!;
        if (c <= COMMA && (c === QUOTE || c === COMMA || c === CR || c === LF)) break;
        out[q++] = c;
      }
      if (k === e) {
        this.pos = q;
        return;
      }
    }
    let quote = false;
    for (let k = s; k < e; k++) {
      const c = b[k]!;
      if (c <= COMMA && (c === QUOTE || c === COMMA || c === CR || c === LF)) {
        quote = true;
        if (!asciiOnly) break;
      } else if (asciiOnly && c >= 0x80) throw new NotPlainBytes("not-ascii");
    }
    if (!quote) {
      if (len < SHORT) for (let k = s; k < e; k++) out[o++] = b[k]!;
      else o += b.copy(out, o, s, e);
    } else {
      out[o++] = QUOTE;
      for (let k = s; k < e; k++) {
        const c = b[k]!;
        out[o++] = c;
        if (c === QUOTE) out[o++] = QUOTE;
      }
      out[o++] = QUOTE;
    }
    this.pos = o;
  }

  /**
   * Integer digits as String(n) writes the number mysql2 makes of them: leading
   * zeros (ZEROFILL, YEAR 0000) dropped, -0 as 0; beyond 2^53 mysql2 gives (and
   * the plain way writes) the text as sent.
   */
  private integer(b: Buffer, s: number, e: number, comma: boolean): void {
    this.room(e - s + 2);
    const out = this.out;
    let o = this.pos;
    if (comma) out[o++] = COMMA;
    const negative = b[s] === 0x2d;
    let d = negative ? s + 1 : s;
    while (d < e - 1 && b[d] === 0x30) d++;
    const digits = e - d;
    const zero = digits <= 0 || (digits === 1 && b[d] === 0x30);
    if (zero) out[o++] = 0x30;
    else if (digits > MAX_SAFE.length || (digits === MAX_SAFE.length && b.compare(MAX_SAFE, 0, MAX_SAFE.length, d, e) > 0)) {
      for (let k = s; k < e; k++) out[o++] = b[k]!;
    } else {
      if (negative) out[o++] = 0x2d;
      for (let k = d; k < e; k++) out[o++] = b[k]!;
    }
    this.pos = o;
  }

  /** A float's text as the server sent it (floatText said it is Python's repr, but for `.0` after a whole number). */
  private floatBytes(b: Buffer, s: number, e: number, comma: boolean, whole: boolean): void {
    this.room(e - s + 3);
    const out = this.out;
    let o = this.pos;
    if (comma) out[o++] = COMMA;
    for (let k = s; k < e; k++) out[o++] = b[k]!;
    if (whole) {
      out[o++] = 0x2e;
      out[o++] = 0x30;
    }
    this.pos = o;
  }

  /** A field that needs no quoting (ASCII, no `"` `,` CR LF, or already quoted). */
  private ascii(text: string, comma: boolean): void {
    const n = text.length;
    this.room(n + 1);
    const out = this.out;
    if (comma) out[this.pos++] = COMMA;
    if (n < SHORT) {
      let o = this.pos;
      for (let i = 0; i < n; i++) out[o++] = text.charCodeAt(i);
      this.pos = o;
    } else this.pos += out.write(text, this.pos, "latin1");
  }
}
