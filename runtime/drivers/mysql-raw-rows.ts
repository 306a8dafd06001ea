// Rows of a MySQL text-protocol result as the protocol's bytes (DatabaseDriver.rawTextRows),
// for the csv export's speed path (runtime/data-csv-bytes.ts).
//
// A speed trick, fenced: mysql2 decodes every value of a row into a JS string or
// number, and the export then encodes them back into bytes; most of an export's
// time went there. mysql2's Query parses each row packet with
// `this._rowParser.next(packet, …)` (lib/commands/query.js, row()), and sets
// `_rowParser` once the columns are known (readField()). An accessor defined on
// the query instance hands mysql2 a parser of ours, which copies the row's payload
// (the packet object and its buffer are reused by mysql2's packet parser once
// next() returns; a row over 16 MB comes as one packet concatenated from its
// parts) into a batch buffer and returns a marker.
// The guard: the rows are handed out only when mysql2 was seen setting its own
// parser on the accessor (so it reads the one we give) and every row it emits is
// our marker; otherwise the result is read to its end, nothing handed out, and
// the caller reads the table the plain way (stream()). RawRowsLost if the hold
// is lost after rows went out.

import type { EventEmitter } from "node:events";
import { RawRowsLost, type RawColumn, type RawColumnKind, type RawRowBatch, type RawRows } from "./driver.js";

/** What mysql2's connection (the core one, under the promise wrapper) offers here. */
export interface CoreConnection {
  query(options: { sql: string; rowsAsArray: boolean }): EventEmitter;
  pause(): void;
  resume(): void;
}

/** mysql2's ColumnDefinition, the parts read here. */
interface Mysql2Field {
  name: string;
  columnType: number;
  characterSet: number;
  /** mysql2's name for the character set's encoding ("utf8", "binary", "latin1", …). */
  encoding: string;
  /** MariaDB's extended metadata ("json"), when the server sends it. */
  extendedFormat?: string;
}

interface Mysql2Packet {
  buffer: Buffer;
  offset: number;
  end: number;
}

/** Test switch: the property the hook is put on (a renamed one stands for a mysql2 that no longer reads it). */
export const rawRowsHook = { property: "_rowParser" };

const BINARY_CHARSET = 63;

/** The protocol's column types (mysql2 lib/constants/types.js) whose values rawTextRows can describe. */
const KIND_OF_TYPE: Record<number, RawColumnKind | "string"> = {
  0: "ascii", // DECIMAL
  246: "ascii", // NEWDECIMAL
  7: "ascii", // TIMESTAMP (dateStrings)
  10: "ascii", // DATE
  11: "ascii", // TIME
  12: "ascii", // DATETIME
  1: "integer", // TINY
  2: "integer", // SHORT
  3: "integer", // LONG
  8: "integer", // LONGLONG (supportBigNumbers: the text beyond 2^53)
  9: "integer", // INT24
  13: "integer", // YEAR
  4: "float", // FLOAT (exactFloats: parseFloat of the text)
  5: "float", // DOUBLE
  15: "string", // VARCHAR
  247: "string", // ENUM
  248: "string", // SET
  249: "string", // TINY_BLOB
  250: "string", // MEDIUM_BLOB
  251: "string", // LONG_BLOB
  252: "string", // BLOB
  253: "string", // VAR_STRING
  254: "string", // STRING
};

/**
 * What mysql2, configured as runtime/drivers/mysql.ts configures it (dateStrings,
 * supportBigNumbers, jsonStrings, exactFloats), makes of a column's bytes.
 */
function kindOf(f: Mysql2Field): RawColumnKind {
  const kind = KIND_OF_TYPE[f.columnType];
  if (kind === undefined) return "other";
  if (f.extendedFormat !== undefined && f.extendedFormat !== "json") return "other";
  if (kind !== "string") return kind;
  if (f.characterSet === BINARY_CHARSET) return f.extendedFormat === undefined ? "bytes" : "other";
  return f.encoding === "utf8" ? "text" : "other";
}

/** Returned by our parser for each row: what mysql2 emits when the hook holds. */
const RAW_ROW = Object.freeze({ rawRow: true });

/** A batch's buffer to start with; a batch is cut at `batch` rows or this many bytes. */
const ARENA_BYTES = 1 << 17;
const BATCH_BYTES = 1 << 20;
/** Batches read ahead of the consumer before the socket is paused. */
const AHEAD = 2;

export function rawTextRows(conn: CoreConnection, sql: string, batch: number, label: string, fail: (e: unknown) => never): Promise<RawRows | undefined> {
  const query = conn.query({ sql, rowsAsArray: true });
  let arena = Buffer.allocUnsafe(ARENA_BYTES);
  let used = 0;
  let rows = 0;
  const ready: RawRowBatch[] = [];
  let paused = false;
  let ended = false;
  let discarding = false;
  let failure: { error: unknown } | undefined;
  /** mysql2 set its parser on the accessor: it reads ours. */
  let hooked = 0;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const cut = () => {
    if (rows === 0) return;
    ready.push({ bytes: arena.subarray(0, used), rows });
    // The next batch's buffer sized for a batch like this one, but a huge row's size is not kept.
    arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, Math.min(used, BATCH_BYTES) + ARENA_BYTES));
    used = 0;
    rows = 0;
  };
  const parser = {
    next(packet: Mysql2Packet): unknown {
      if (discarding) return RAW_ROW;
      const start = packet.offset;
      const length = packet.end - start;
      if (used + length > arena.length) {
        const bigger = Buffer.allocUnsafe(Math.max(arena.length * 2, used + length));
        arena.copy(bigger, 0, 0, used);
        arena = bigger;
      }
      packet.buffer.copy(arena, used, start, packet.end);
      used += length;
      rows++;
      if (rows >= batch || used >= BATCH_BYTES) {
        cut();
        if (ready.length >= AHEAD && !paused) {
          paused = true;
          conn.pause();
        }
        poke();
      }
      return RAW_ROW;
    },
  };
  const lost = () => {
    failure ??= { error: new RawRowsLost(label) };
    poke();
  };
  Object.defineProperty(query, rawRowsHook.property, {
    configurable: true,
    get: () => parser,
    set: (theirs: unknown) => {
      // mysql2 builds its own parser for each result set; ours is read instead.
      if (theirs === null || theirs === undefined) return;
      // One result set is what the caller asked for: a second one is not read as rows of the first.
      if (++hooked > 1) lost();
    },
  });

  query.on("result", (row: unknown) => {
    if (row !== RAW_ROW && !discarding) lost();
  });
  query.on("error", (e: unknown) => {
    failure ??= { error: e };
    ended = true;
    poke();
  });
  query.on("end", () => {
    ended = true;
    if (!discarding) cut();
    poke();
  });

  const discard = async (): Promise<void> => {
    discarding = true;
    ready.length = 0;
    if (paused) {
      paused = false;
      conn.resume();
    }
    while (!ended) await new Promise<void>((resolve) => (wake = resolve));
  };

  async function* batches(): AsyncGenerator<RawRowBatch> {
    try {
      for (;;) {
        const next = ready.shift();
        if (next !== undefined) {
          if (paused && ready.length < AHEAD) {
            paused = false;
            conn.resume();
          }
          yield next;
          continue;
        }
        if (failure) throw failure.error;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } catch (e) {
      fail(e);
    } finally {
      if (!ended) await discard();
    }
  }

  return new Promise<RawRows | undefined>((resolve, reject) => {
    let settled = false;
    let fields: Mysql2Field[] | undefined;
    const decide = () => {
      if (settled) return;
      settled = true;
      if (hooked !== 1 || fields === undefined) {
        // The hook did not take: read the result to its end, hand nothing out.
        void discard().then(() => (failure && !(failure.error instanceof RawRowsLost) ? reject(failure.error) : resolve(undefined)), reject);
        return;
      }
      resolve({ columns: fields.map((f) => ({ name: f.name, kind: kindOf(f) })), batches, discard });
    };
    query.once("fields", (f: Mysql2Field[] | undefined) => {
      fields = f;
      // mysql2 sets _rowParser right after it emits 'fields': looked at once that is done
      // (or at the end of the result, when that comes first).
      queueMicrotask(decide);
    });
    query.once("error", (e: unknown) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
    query.once("end", decide);
  }).catch((e: unknown) => fail(e));
}

/** Where readValue found a value in a row's bytes: [s, e), s = -1 for NULL. */
export interface ValueAt {
  s: number;
  e: number;
}

/**
 * Reads the length-coded value at p of a RawRowBatch's bytes into `at` (reused by
 * the caller: nothing is made per value); the position after it, or -1 when the
 * bytes end inside it or its length is not one the protocol writes.
 */
export function readValue(b: Buffer, p: number, at: ValueAt): number {
  const end = b.length;
  if (p >= end) return -1;
  let len = b[p++]!;
  if (len >= 0xfb) {
    if (len === 0xfb) {
      at.s = -1;
      at.e = -1;
      return p;
    }
    if (len === 0xfc) {
      len = b[p]! | (b[p + 1]! << 8);
      p += 2;
    } else if (len === 0xfd) {
      len = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
      p += 3;
    } else if (len === 0xfe) {
      if (p + 8 > end) return -1;
      len = b.readUInt32LE(p) + b.readUInt32LE(p + 4) * 2 ** 32;
      p += 8;
    } else return -1;
  }
  const e = p + len;
  if (e > end) return -1;
  at.s = p;
  at.e = e;
  return e;
}
