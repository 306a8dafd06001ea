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
  return { ways, numberText: columns.map(numberText) };
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
          case Way.Float:
            this.ascii(this.plan.numberText[i]!(Number.parseFloat(b.toString("latin1", s, e))), i > 0);
            break;
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
