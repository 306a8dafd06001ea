// Import of a csv backup's file into MySQL's bulk load straight from the file's
// bytes: each record becomes a record of the load (RowSink.addRecords) and is
// hashed for verify, with no JS string made for a text or plainly written integer
// field (parsing, decoding and encoding again were most of an import's time).
// A speed trick, fenced:
// - it sends and hashes what the plain way (CsvReader, TableLoader.add) sends and
//   hashes for the same file: tests/db/import-bytes.test.ts imports files both ways;
// - a table goes this way only when every column of the file is text-encoded, the
//   driver takes load records, and no column needs its rows looked at (a 3-byte
//   charset): TableLoader.addFileBytes decides;
// - it reads only the strict form the export writes (fields quoted when they hold
//   `"` `,` CR or LF, `""` inside, NULL as the empty unquoted field, records ending
//   in CRLF or LF, UTF-8): anything else (a hand-made file) throws NotPlainBytes
//   and the table is loaded again the plain way, which reads it leniently and says
//   what is wrong with it;
// - importBytesSwitch turns it off (for the tests that compare).

import { isUtf8 } from "node:buffer";
import { assertNever } from "../language/assert.js";
import type { SqlValue } from "./drivers/driver.js";
import { NotPlainBytes } from "./data-csv-bytes.js";
import { plainIntegerBytes, RowHasher, type TableDigest } from "./data-verify.js";

/** Test switch: false loads every file the plain way. */
export const importBytesSwitch = { on: true };

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const NULL_WORD = Buffer.from("NULL", "latin1");
/** The load records' buffer to start with (it grows for a long record). */
const OUT_BYTES = 1 << 17;
/** Bytes of a record not yet whole are parsed again only once this many times as many have come. */
const RETRY_GROWTH = 2;

/** How a field is hashed. */
const enum Way {
  /** Its text is its canonical text: hashed as it is decoded. */
  Text,
  /** Integer digits: hashed as they are when plainly written, else as Value. */
  Integer,
  /** Decoded, made the value the plain way sends (TableLoader's sentValue), then canonical. */
  Value,
}


/** Turns a csv file's bytes into load records, adding each row to the digest of what was sent. */
export class CsvToLoad {
  private readonly hasher = new RowHasher();
  /** Bytes of a record not yet whole (the file comes in chunks). */
  private carry = Buffer.allocUnsafe(1 << 16);
  private carried = 0;
  /** carried must reach this before the carried bytes are parsed again. */
  private retryAt = 0;
  private out = Buffer.allocUnsafe(OUT_BYTES);
  private pos = 0;
  private headerSeen = false;
  /** Per column of the file (in the load's order): how its fields are hashed, from the digest's classes. */
  private readonly ways: readonly Way[];
  /** Rows read (the header not counted). */
  rows = 0;

  constructor(
    private readonly digest: TableDigest,
    /** The value the plain way sends for a field's text (a YEAR's digits as a number). */
    private readonly sentValue: (text: string, i: number) => SqlValue,
    /** The header record as the export writes it. */
    private readonly header: Buffer,
    /**
     * Per column: the plain way sends its text as a number (a YEAR: TableLoader's
     * yearType rule), which the load then reads from the text: only a field of bare
     * digits is the same number both ways (Number() also drops Unicode spaces).
     */
    private readonly digitsOnly?: readonly boolean[],
  ) {
    this.ways = digest.columns.map((c) => (c.cls === "text" ? Way.Text : c.cls === "integer" ? Way.Integer : Way.Value));
  }

  /**
   * Takes the file's next bytes (not kept: the caller may reuse its buffer); the
   * load records of the rows they completed and their number. The records'
   * buffer is the caller's to keep.
   */
  push(chunk: Buffer): { records: Buffer; rows: number } {
    if (this.carried + chunk.length > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.carry.length * 2, this.carried + chunk.length));
      this.carry.copy(bigger, 0, 0, this.carried);
      this.carry = bigger;
    }
    chunk.copy(this.carry, this.carried);
    this.carried += chunk.length;
    // A record longer than a chunk is parsed again only once its bytes have doubled, not at every chunk.
    if (this.carried < this.retryAt) return { records: Buffer.alloc(0), rows: 0 };
    return this.parse();
  }

  /** At the end of the file: the last records; bytes left over (a record without its line end) are for the plain way to name. */
  end(): { records: Buffer; rows: number } {
    const last = this.parse();
    if (this.carried > 0 || !this.headerSeen) throw new NotPlainBytes("not-strict");
    return last;
  }

  /** The whole records among the carried bytes, to the load; the rest kept. */
  private parse(): { records: Buffer; rows: number } {
    const before = this.rows;
    const b = this.carry;
    const end = this.carried;
    let p = 0;
    for (;;) {
      const next = this.headerSeen ? this.record(b, p, end) : this.headerRecord(b, p, end);
      if (next < 0) break;
      p = next;
    }
    b.copy(b, 0, p, end); // (Buffer.copy moves overlapping bytes as memmove does)
    this.carried = end - p;
    this.retryAt = this.carried * RETRY_GROWTH;
    const records = this.out.subarray(0, this.pos);
    this.out = Buffer.allocUnsafe(OUT_BYTES);
    this.pos = 0;
    return { records, rows: this.rows - before };
  }

  private headerRecord(b: Buffer, p: number, end: number): number {
    const h = this.header;
    if (end - p < h.length) {
      // Not all here yet, unless what is here already differs.
      if (!b.subarray(p, end).equals(h.subarray(0, end - p))) throw new NotPlainBytes("not-strict");
      return -1;
    }
    if (!b.subarray(p, p + h.length).equals(h)) throw new NotPlainBytes("not-strict");
    this.headerSeen = true;
    return p + h.length;
  }

  private room(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + n));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }

  /** One record at p: written to the load and hashed; the position after its line end, or -1 (nothing written) when it is not whole yet. */
  private record(b: Buffer, p: number, end: number): number {
    const ways = this.ways;
    const n = ways.length;
    const h = this.hasher;
    const start = this.pos;
    h.start();
    for (let i = 0; i < n; i++) {
      if (p >= end) return this.notYet(start);
      let s: number;
      let e: number;
      const quoted = b[p] === QUOTE;
      if (quoted) {
        s = p + 1;
        let k = s;
        for (;;) {
          while (k < end && b[k] !== QUOTE) k++;
          if (k + 1 >= end) return this.notYet(start); // the closing quote, or a doubled one, not here yet
          if (b[k + 1] !== QUOTE) break;
          k += 2;
        }
        e = k;
        p = k + 1;
      } else {
        s = p;
        let k = p;
        for (; k < end; k++) {
          const c = b[k]!;
          if (c <= COMMA && (c === COMMA || c === CR || c === LF)) break;
          if (c === QUOTE) throw new NotPlainBytes("not-strict");
        }
        if (k >= end) return this.notYet(start);
        e = k;
        p = k;
      }
      // What follows a field: a comma, or the record's end after the last.
      const c = b[p]!;
      if (i < n - 1) {
        if (c !== COMMA) throw new NotPlainBytes("not-strict");
        p++;
      } else if (c === LF) p++;
      else if (c === CR) {
        if (p + 1 >= end) return this.notYet(start);
        if (b[p + 1] !== LF) throw new NotPlainBytes("not-strict");
        p += 2;
      } else throw new NotPlainBytes("not-strict");
      this.field(b, s, e, quoted, i);
    }
    this.out[this.pos - 1] = LF; // in place of the last field's comma
    this.digest.addHash(h.end());
    this.rows++;
    return p;
  }

  private notYet(start: number): number {
    this.pos = start;
    return -1;
  }

  /** A field to the load (`"…"` as it was, `""` inside, or the bare NULL) and to the row's hash; a comma after it. */
  private field(b: Buffer, s: number, e: number, quoted: boolean, i: number): void {
    const h = this.hasher;
    if (!quoted && s === e) {
      h.nul();
      this.room(5);
      this.pos += NULL_WORD.copy(this.out, this.pos);
      this.out[this.pos++] = COMMA;
      return;
    }
    if (this.digitsOnly?.[i] && (quoted || !bareDigits(b, s, e))) throw new NotPlainBytes("not-strict");
    const way = this.ways[i]!;
    switch (way) {
      case Way.Text:
        if (!h.utf8(b, s, e, quoted)) throw new NotPlainBytes("not-utf8");
        break;
      case Way.Integer:
        if (!quoted && plainIntegerBytes(b, s, e)) h.utf8(b, s, e);
        else this.value(b, s, e, quoted, i);
        break;
      case Way.Value:
        this.value(b, s, e, quoted, i);
        break;
      default:
        assertNever(way, "way");
    }
    const len = e - s;
    this.room(len + 3);
    const out = this.out;
    let o = this.pos;
    out[o++] = QUOTE;
    if (len < 32) for (let k = s; k < e; k++) out[o++] = b[k]!;
    else o += b.copy(out, o, s, e);
    out[o++] = QUOTE;
    out[o++] = COMMA;
    this.pos = o;
  }

  /** A field hashed as the value the plain way makes of its text. */
  private value(b: Buffer, s: number, e: number, quoted: boolean, i: number): void {
    const bytes = b.subarray(s, e);
    if (!isUtf8(bytes)) throw new NotPlainBytes("not-utf8");
    let text = bytes.toString("utf8");
    if (quoted) text = text.replaceAll('""', '"');
    const c = this.digest.canonicalOf(i, this.sentValue(text, i));
    if (c === undefined) this.hasher.nul();
    else this.hasher.text(c);
  }
}

/** `-`? and ASCII digits, nothing else. */
function bareDigits(b: Uint8Array, s: number, e: number): boolean {
  let k = b[s] === 0x2d ? s + 1 : s;
  if (k === e) return false;
  for (; k < e; k++) if (b[k]! < 0x30 || b[k]! > 0x39) return false;
  return true;
}
