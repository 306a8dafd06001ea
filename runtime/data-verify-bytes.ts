// Verify's read back hashed straight from the MySQL text protocol's bytes
// (DatabaseDriver.rawTextRows): no JS string made for a text or plain integer
// value, the read back's main cost. A speed trick, fenced:
// - it gives the digest the plain way (TableDigest.add over the rows stream()
//   gives) gives: tests/db/verify-bytes.test.ts compares the two on every column
//   kind, and a digest is only ever compared with one made by the plain way;
// - a table goes this way only when every column is of a kind whose bytes it
//   knows (digestBytesPlan), else the plain way;
// - what it cannot vouch for half-way (a non-ASCII byte where the server sends
//   ASCII) throws NotPlainBytes, and the caller reads the table again the plain way;
// - verifyBytesSwitch turns it off (for the tests that compare).

import { assertNever } from "../language/assert.js";
import { DriverError, type RawColumn, type RawColumnKind, type RawRowBatch } from "./drivers/driver.js";
import { readValue, type ValueAt } from "./drivers/mysql-raw-rows.js";
import { NotPlainBytes } from "./data-csv-bytes.js";
import { plainIntegerBytes, RowHasher, type TableDigest, type ValueClass } from "./data-verify.js";

/** Test switch: false reads every table back the plain way. */
export const verifyBytesSwitch = { on: true };

/** How a column's bytes become what the digest takes. */
const enum Way {
  /** UTF-8 text that is its own canonical text: hashed as it is decoded. */
  Text,
  /** UTF-8 text of another class: decoded (as mysql2 decodes it), then made canonical. */
  DecodedText,
  /** ASCII as sent (decimals, dates): a string of those bytes, then made canonical. */
  Ascii,
  /** Integer digits in an integer column: hashed as they are when plainly written, else as IntegerValue. */
  Integer,
  /** Integer digits: the value mysql2 makes of them, then made canonical. */
  IntegerValue,
  /** Float text: the number mysql2 makes of it (parseFloat). */
  Float,
  /** Bytes (a binary column): a Buffer, as mysql2 gives it. */
  Bytes,
}

/** Per kind of column: the way its bytes are taken, or undefined when that column sends the table the plain way. */
const WAYS: { [K in RawColumnKind]: (cls: ValueClass) => Way | undefined } = {
  text: (cls) => (cls === "text" ? Way.Text : Way.DecodedText),
  ascii: () => Way.Ascii,
  integer: (cls) => (cls === "integer" ? Way.Integer : Way.IntegerValue),
  float: () => Way.Float,
  bytes: () => Way.Bytes,
  other: () => undefined,
};

/** How to digest a table's raw rows, or undefined when a column is not of a kind known here (or not the digest's column). */
export function digestBytesPlan(raw: readonly RawColumn[], digest: TableDigest): Way[] | undefined {
  const columns = digest.columns;
  if (raw.length !== columns.length || raw.length === 0) return undefined;
  const ways: Way[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]!.name !== columns[i]!.name) return undefined;
    const way = WAYS[raw[i]!.kind](columns[i]!.cls);
    if (way === undefined) return undefined;
    ways.push(way);
  }
  return ways;
}

/** Adds raw row batches to a digest, as digest.add would add the rows stream() makes of them. */
export class DigestBytes {
  private readonly hasher = new RowHasher();
  private readonly at: ValueAt = { s: 0, e: 0 };

  constructor(
    private readonly ways: readonly Way[],
    private readonly digest: TableDigest,
    private readonly label: string,
  ) {}

  add(batch: RawRowBatch): void {
    const b = batch.bytes;
    const ways = this.ways;
    const n = ways.length;
    const h = this.hasher;
    const at = this.at;
    let p = 0;
    for (let r = 0; r < batch.rows; r++) {
      h.start();
      for (let i = 0; i < n; i++) {
        p = readValue(b, p, at);
        if (p < 0) this.broken();
        const s = at.s;
        if (s < 0) {
          h.nul();
          continue;
        }
        const e = at.e;
        const way = ways[i]!;
        switch (way) {
          case Way.Text:
            if (!h.utf8(b, s, e)) this.value(i, b.toString("utf8", s, e));
            break;
          case Way.DecodedText:
            this.value(i, b.toString("utf8", s, e));
            break;
          case Way.Ascii:
            for (let k = s; k < e; k++) if (b[k]! >= 0x80) throw new NotPlainBytes("not-ascii");
            this.value(i, b.toString("latin1", s, e));
            break;
          case Way.Integer:
            if (!plainIntegerBytes(b, s, e) || !h.utf8(b, s, e)) this.value(i, integerValue(b.toString("latin1", s, e)));
            break;
          case Way.IntegerValue:
            this.value(i, integerValue(b.toString("latin1", s, e)));
            break;
          case Way.Float:
            this.value(i, Number.parseFloat(b.toString("latin1", s, e)));
            break;
          case Way.Bytes:
            this.value(i, Buffer.from(b.subarray(s, e)));
            break;
          default:
            assertNever(way, "way");
        }
      }
      this.digest.addHash(h.end());
    }
    if (p !== b.length) this.broken();
  }

  /** A value as mysql2 gives it, made canonical as the plain way makes it. */
  private value(i: number, v: string | number | Buffer): void {
    const c = this.digest.canonicalOf(i, v);
    if (c === undefined) this.hasher.nul();
    else this.hasher.text(c);
  }

  private broken(): never {
    throw new DriverError(`${this.label}: a row came in a form the read back cannot read`, "protocol");
  }
}

/** What mysql2 (supportBigNumbers, bigNumberStrings) makes of an integer's text: a number when it is safe, else the text. */
function integerValue(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}
