// The csv export's speed path (runtime/data-csv-bytes.ts, drivers/mysql-raw-rows.ts)
// against the plain way, on MariaDB: every column kind it takes, with nasty values,
// exported both ways gives the same bytes and the same manifest; a table with a
// column it does not know, a driver whose hook does not take, and bytes it cannot
// vouch for half-way all go the plain way and still export.

import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver, RawRows } from "../../runtime/drivers/driver.js";
import { exportTables, pyFloatRepr } from "../../runtime/data.js";
import { csvBytesSwitch, CsvBytesWriter, floatText, writesShortest } from "../../runtime/data-csv-bytes.js";
import { rawRowsHook } from "../../runtime/drivers/mysql-raw-rows.js";
import type { Manifest } from "../../runtime/data-manifest.js";
import { requireMariadb } from "../support/mariadb.js";
import { useTempFiles } from "./fixtures.js";
import { COLUMNS, useEveryDatabase, NASTY } from "./every-column.js";

const tmp = useTempFiles();

/** A manifest without what differs from one export to the next. */
function manifestOf(path: string): Omit<Manifest, "time" | "runId"> {
  const m = JSON.parse(readFileSync(path, "utf8")) as Manifest;
  const { time: _time, runId: _runId, ...rest } = m;
  return rest;
}

/** Exports `tables` with the speed path on and off: the files and manifests of each, and how many batches went the bytes way. */
async function bothWays(db: DatabaseDriver, tables: string[], name: string) {
  // The same file name in two folders: the manifests name their file.
  const fast = join(tmp.dir, "fast", `${name}.csv`);
  const plain = join(tmp.dir, "plain", `${name}.csv`);
  const add = vi.spyOn(CsvBytesWriter.prototype, "add");
  try {
    await exportTables(db, tables, fast, "csv");
    const batches = add.mock.calls.length;
    csvBytesSwitch.on = false;
    await exportTables(db, tables, plain, "csv");
    expect(add.mock.calls.length).toBe(batches); // off is off
    return {
      batches,
      fast: readFileSync(fast),
      plain: readFileSync(plain),
      fastManifest: manifestOf(`${fast}.manifest.json`),
      plainManifest: manifestOf(`${plain}.manifest.json`),
    };
  } finally {
    csvBytesSwitch.on = true;
    add.mockRestore();
  }
}

/** What the bytes way writes for a float's text, or undefined where it leaves the text to the plain way. */
function viaText(text: string, shortest: boolean): string | undefined {
  const form = floatText(Buffer.from(text, "latin1"), 0, text.length, shortest);
  return form === 0 ? undefined : form === 2 ? `${text}.0` : text;
}

/** A deterministic stream of numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("a float written as the server's text (floatText)", () => {
  it("any decimal of at most 15 digits it takes is what the plain way writes, whatever the server", () => {
    const next = random(7);
    let taken = 0;
    for (let n = 0; n < 200_000; n++) {
      const digits = String(Math.floor(next() * 10 ** (1 + Math.floor(next() * 15)))).replace(/0+$/, "") || "0";
      const point = Math.floor(next() * 24) - 5;
      const text =
        (next() < 0.3 ? "-" : "") + (point <= 0 ? `0.${"0".repeat(-point)}${digits}` : point >= digits.length ? digits + "0".repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`);
      const mine = viaText(text, false);
      if (mine === undefined) continue;
      taken++;
      expect(mine, text).toBe(pyFloatRepr(Number.parseFloat(text)));
    }
    expect(taken).toBeGreaterThan(50_000);
  });

  it("the shortest digits of random doubles (as JavaScript and a server writing the shortest give them) are what the plain way writes", () => {
    const next = random(11);
    const bits = new DataView(new ArrayBuffer(8));
    let taken = 0;
    for (let n = 0; n < 100_000; n++) {
      bits.setUint32(0, Math.floor(next() * 2 ** 32));
      bits.setUint32(4, Math.floor(next() * 2 ** 32));
      const x = n % 2 === 0 ? bits.getFloat64(0) : (next() - 0.5) * 10 ** Math.floor(next() * 24 - 6);
      if (!Number.isFinite(x)) continue;
      const mine = viaText(String(x), true);
      if (mine === undefined) continue;
      taken++;
      expect(mine, String(x)).toBe(pyFloatRepr(x));
    }
    expect(taken).toBeGreaterThan(40_000);
  });

  it("forms it leaves to the plain way: exponents, zero, leading or trailing zeros, beyond Python's plain range, 16 or 17 digits from a server not known to write the shortest", () => {
    for (const t of ["1e16", "1e-5", "1.5e300", "0", "-0", "0.0", "1.50", "01.5", "00.5", ".5", "5.", "0.00001", "12345678901234567", "1.2.3", "1,5", "", "-", "inf"]) {
      expect(viaText(t, true), t).toBeUndefined();
    }
    expect(viaText("0.3333333333333333", false)).toBeUndefined();
    expect(viaText("0.3333333333333333", true)).toBe("0.3333333333333333");
    expect(viaText("100", false)).toBe("100.0");
    expect(viaText("-0.0001", false)).toBe("-0.0001");
    expect(viaText("1234567890123456", true)).toBe("1234567890123456.0");
  });

  it("a server is taken to write the shortest digits only when each probe's text is them", () => {
    const row = (...texts: string[]) => Buffer.concat(texts.map((t) => Buffer.concat([Buffer.from([t.length]), Buffer.from(t, "latin1")])));
    expect(writesShortest(row("0.3333333333333333", "0.30000000000000004"), 2, pyFloatRepr)).toBe(true);
    // %.17g: as exact, but not the shortest.
    expect(writesShortest(row("0.33333333333333331", "0.30000000000000004"), 2, pyFloatRepr)).toBe(false);
    // (A server writing %.15g sends no 16-digit text to trust: what it sends, 15 digits at most, the plain way writes too.)
    expect(writesShortest(row("3.3333333333333335e-5"), 1, pyFloatRepr)).toBe(false);
  });
});

const run = await requireMariadb();

describe.runIf(run)("csv export from MariaDB: the bytes way writes what the plain way writes", () => {
  const every = useEveryDatabase();
  let my: DatabaseDriver;
  beforeAll(() => {
    my = every.db;
  });
  afterEach(() => {
    rawRowsHook.property = "_rowParser";
    csvBytesSwitch.on = true;
  });

  it("every supported column kind, nasty values: identical files and manifests", async () => {
    expect(COLUMNS).toHaveLength(36);
    const [{ n }] = (await my.query("SELECT count(*) AS n FROM every")) as [{ n: number }];
    expect(n).toBe(NASTY.length + 2);
    const r = await bothWays(my, ["every"], "every");
    expect(r.batches).toBeGreaterThan(0);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fastManifest).toEqual(r.plainManifest);
    const text = r.fast.toString("utf8");
    // The edges are really there: 1e+21, ZEROFILL and YEAR 0 as numbers, BIGINT beyond 2^53 as sent (its
    // ZEROFILL zeros too), '0000-00-00'. (MariaDB stores -0.0 as 0: no -0.0 comes back to be written.)
    expect(text).toContain("\r\n2,-128,0,-8388608,-2147483648,0,9223372036854775807,18446744073709551615,0,0,12.30,00001.500,0.1,0.0,");
    expect(text).toContain(",00009007199254740993,");
    expect(text).toContain(",1e+21,");
    expect(text).toContain(",9223372036854775807,");
    expect(text).toContain(",18446744073709551615,");
    expect(text).toContain(",0000-00-00,");
    expect(text).toContain('"say ""hi"""');
    expect(text.split("\r\n")[1]).toBe("1" + ",".repeat(35));
  });

  it("a row over the 16 MB packet size (sent in two packets) and a batch over a megabyte", async () => {
    await my.execute("CREATE TABLE big (id INT PRIMARY KEY, lt LONGTEXT) CHARACTER SET utf8mb4");
    // The row's payload: 2 bytes of id, 9 of length, then the text: 16 MB + 1 in all (max_allowed_packet is 16 MB).
    const [{ max }] = (await my.query("SELECT @@max_allowed_packet AS max")) as [{ max: number }];
    if (max < 1 << 24) {
      console.warn(`max_allowed_packet is ${max}: no row over the 16 MB packet size can be sent; that case is not tested here`);
      return;
    }
    const length = Math.min(max, 1 << 24) - 11;
    await my.execute(`INSERT INTO big VALUES (1, REPEAT('ab"c,', ${Math.floor(length / 5)})), (2, 'x'), (3, REPEAT('é', 300000))`);
    if (length % 5 > 0) await my.execute(`UPDATE big SET lt = CONCAT(lt, REPEAT('z', ${length % 5})) WHERE id = 1`);
    const [{ size }] = (await my.query("SELECT LENGTH(lt) AS size FROM big WHERE id = 1")) as [{ size: number }];
    expect(size).toBe(length);
    expect(2 + 9 + size).toBeGreaterThan(0xffffff); // over one packet
    const r = await bothWays(my, ["big"], "big");
    expect(r.batches).toBeGreaterThan(0);
    expect(r.fast.length).toBeGreaterThan(length);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fastManifest).toEqual(r.plainManifest);
  });

  it("several tables in one backup folder, a table without rows, one without a primary key", async () => {
    await my.execute("CREATE TABLE empty_one (id INT PRIMARY KEY, s TEXT)");
    await my.execute("CREATE TABLE nokey (s VARCHAR(20), n INT)");
    await my.execute("INSERT INTO nokey VALUES ('b', 2), ('a', NULL), (NULL, 3)");
    const fast = join(tmp.dir, "folder-fast");
    const plain = join(tmp.dir, "folder-plain");
    await exportTables(my, ["every", "empty_one", "nokey"], fast, "csv");
    csvBytesSwitch.on = false;
    await exportTables(my, ["every", "empty_one", "nokey"], plain, "csv");
    for (const f of ["every.csv", "empty_one.csv", "nokey.csv"]) expect(readFileSync(join(fast, f)).equals(readFileSync(join(plain, f)))).toBe(true);
    expect(manifestOf(join(fast, "manifest.json"))).toEqual(manifestOf(join(plain, "manifest.json")));
  });

  it("a table with a column of a kind it does not know (POINT) goes the plain way and still exports", async () => {
    await my.execute("CREATE TABLE shapes (id INT PRIMARY KEY, name TEXT, g POINT)");
    await my.execute("INSERT INTO shapes VALUES (1, 'a,b', POINT(1, 2)), (2, '', NULL)");
    const r = await bothWays(my, ["shapes"], "shapes");
    expect(r.batches).toBe(0);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fast.toString("utf8")).toContain('2,"",\r\n');
  });

  it("when the hook does not take (mysql2 reads its parser elsewhere), the plain way", async () => {
    rawRowsHook.property = "_notTheRowParser";
    const raw = await (my.rawTextRows!("SELECT id, vc FROM every ORDER BY id", 5) as Promise<RawRows | undefined>);
    expect(raw).toBeUndefined();
    // The connection serves the next statement: the result was read to its end.
    expect(await my.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    const r = await bothWays(my, ["every"], "unhooked");
    expect(r.batches).toBe(0);
    expect(r.fast.equals(r.plain)).toBe(true);
  });

  it("random doubles and floats, and decimal-looking ones (prices), written from the server's text: the same bytes as the plain way", async () => {
    await my.execute("CREATE TABLE floats (id INT PRIMARY KEY, d DOUBLE, f FLOAT, p DOUBLE)");
    const next = random(3);
    const bits = new DataView(new ArrayBuffer(8));
    const rows: (number | null)[][] = [];
    for (let id = 1; rows.length < 3000; id++) {
      bits.setUint32(0, Math.floor(next() * 2 ** 32));
      bits.setUint32(4, Math.floor(next() * 2 ** 32));
      const d = id % 3 === 0 ? bits.getFloat64(0) : (next() - 0.5) * 10 ** Math.floor(next() * 24 - 6);
      if (!Number.isFinite(d)) continue;
      rows.push([id, d, Math.fround((next() - 0.5) * 10 ** Math.floor(next() * 12 - 4)), Math.round(next() * 1e7) / 100]);
    }
    for (let i = 0; i < rows.length; i += 500) {
      const part = rows.slice(i, i + 500);
      await my.execute(`INSERT INTO floats VALUES ${part.map(() => "(?, ?, ?, ?)").join(", ")}`, part.flat());
    }
    const r = await bothWays(my, ["floats"], "floats");
    expect(r.batches).toBeGreaterThan(0);
    expect(r.fast.equals(r.plain)).toBe(true);
    expect(r.fast.toString("utf8").split("\r\n")).toHaveLength(rows.length + 2);
  });

  it("bytes it cannot vouch for half-way (text that is not UTF-8): the file is started again the plain way", async () => {
    // The driver's raw rows with the first byte of 🐕 (F0) turned into FF: not UTF-8.
    const spoiled = new Proxy(my, {
      get(target, p) {
        const v = (target as unknown as Record<string | symbol, unknown>)[p];
        if (p !== "rawTextRows") return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (sql: string, batch: number) => {
          const raw = await target.rawTextRows!(sql, batch);
          if (raw === undefined) return raw;
          return {
            columns: raw.columns,
            discard: () => raw.discard(),
            async *batches() {
              for await (const b of raw.batches()) {
                const at = b.bytes.indexOf(Buffer.from("🐕"));
                if (at >= 0) b.bytes[at] = 0xff;
                yield b;
              }
            },
          };
        };
      },
    });
    const add = vi.spyOn(CsvBytesWriter.prototype, "add");
    const path = join(tmp.dir, "spoiled.csv");
    try {
      await exportTables(spoiled, ["every"], path, "csv");
      expect(add).toHaveBeenCalled();
    } finally {
      add.mockRestore();
    }
    csvBytesSwitch.on = false;
    const plain = join(tmp.dir, "plain", "spoiled.csv");
    await exportTables(my, ["every"], plain, "csv");
    expect(readFileSync(path).equals(readFileSync(plain))).toBe(true);
    expect(manifestOf(`${path}.manifest.json`)).toEqual(manifestOf(`${plain}.manifest.json`));
  });
});
