// Verify's read back from the protocol's bytes (runtime/data-verify-bytes.ts)
// against the plain way (TableDigest.add over the rows stream() gives): every
// column kind it takes, with nasty values at their edges, column by column and
// whole rows, gives the same digest; bytes it cannot vouch for are refused and the
// table is read again the plain way; an import and a sync verified this way still
// see a value a trigger changed.

import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { join } from "node:path";
import type { ColumnInfo, DatabaseDriver } from "../../runtime/drivers/driver.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { NotPlainBytes } from "../../runtime/data-csv-bytes.js";
import { DigestBytes, digestBytesPlan, verifyBytesSwitch } from "../../runtime/data-verify-bytes.js";
import { TableDigest, verifyColumns } from "../../runtime/data-verify.js";
import { requireMariadb } from "../support/mariadb.js";
import { newSqlite, useTempFiles } from "./fixtures.js";
import { COLUMNS, useEveryDatabase, everyRows } from "./every-column.js";

const tmp = useTempFiles();

describe("DigestBytes on hand-made rows", () => {
  const text: ColumnInfo = { name: "t", type: "TEXT", nullable: true, primaryKey: false };
  const dec: ColumnInfo = { name: "d", type: "DECIMAL(5,2)", nullable: true, primaryKey: false };
  /** One row of length-coded values (short ones: a one-byte length). */
  const row = (...values: (Buffer | null)[]) => Buffer.concat(values.map((v) => (v === null ? Buffer.from([0xfb]) : Buffer.concat([Buffer.from([v.length]), v]))));

  it("text that is not UTF-8 is taken as mysql2 decodes it (replacement characters)", () => {
    const bad = Buffer.from([0x61, 0xff, 0xf0, 0x9f, 0x62]);
    const digest = new TableDigest(verifyColumns([text], "mysql"));
    new DigestBytes(digestBytesPlan([{ name: "t", kind: "text" }], digest)!, digest, "db").add({ bytes: row(bad), rows: 1 });
    const plain = new TableDigest(verifyColumns([text], "mysql"));
    plain.add([bad.toString("utf8")]);
    expect(digest.checksum).toBe(plain.checksum);
    expect(digest.rows).toBe(1);
  });

  it("a byte beyond ASCII where the server sends ASCII (a decimal) is refused: the table goes the plain way", () => {
    const digest = new TableDigest(verifyColumns([dec], "mysql"));
    const bytes = new DigestBytes(digestBytesPlan([{ name: "d", kind: "ascii" }], digest)!, digest, "db");
    expect(() => bytes.add({ bytes: row(Buffer.from("1\u00e9", "latin1")), rows: 1 })).toThrow(NotPlainBytes);
  });

  it("rows cut short or running past their batch are a protocol error, not a digest", () => {
    const digest = new TableDigest(verifyColumns([text, text], "mysql"));
    const bytes = new DigestBytes(digestBytesPlan([{ name: "t", kind: "text" }, { name: "t", kind: "text" }], digest)!, digest, "db");
    expect(() => bytes.add({ bytes: row(Buffer.from("a")), rows: 1 })).toThrow(/a row came in a form the read back cannot read/);
    expect(() => bytes.add({ bytes: Buffer.concat([row(Buffer.from("a"), null), Buffer.from([0x01])]), rows: 1 })).toThrow(/cannot read/);
  });

  it("a column of a kind it does not know, or a result that is not the digest's columns: no plan", () => {
    const digest = new TableDigest(verifyColumns([text], "mysql"));
    expect(digestBytesPlan([{ name: "t", kind: "other" }], digest)).toBeUndefined();
    expect(digestBytesPlan([{ name: "u", kind: "text" }], digest)).toBeUndefined();
    expect(digestBytesPlan([{ name: "t", kind: "text" }, { name: "u", kind: "text" }], digest)).toBeUndefined();
  });
});

const run = await requireMariadb();

describe.runIf(run)("verify's read back from MariaDB: the bytes way digests what the plain way digests", () => {
  const every = useEveryDatabase();
  let my: DatabaseDriver;
  beforeAll(() => {
    my = every.db;
  });
  afterEach(() => {
    verifyBytesSwitch.on = true;
  });

  /** The digest of `columns` of `every`, both ways. */
  async function bothWays(columns: ColumnInfo[]) {
    const sql = `SELECT ${columns.map((c) => c.name).join(", ")} FROM every ORDER BY id`;
    const plain = new TableDigest(verifyColumns(columns, "mysql"));
    for await (const page of my.stream(sql, 3)) for (const r of page) plain.add(r);
    const fast = new TableDigest(verifyColumns(columns, "mysql"));
    const raw = (await my.rawTextRows!(sql, 3))!;
    const ways = digestBytesPlan(raw.columns, fast);
    expect(ways, columns.map((c) => c.name).join(" ")).toBeDefined();
    const bytes = new DigestBytes(ways!, fast, my.label);
    for await (const batch of raw.batches()) bytes.add(batch);
    return { plain, fast };
  }

  it("every column kind, one by one and all together: the same rows and checksum", async () => {
    const info = await my.columns("every");
    expect(info.map((c) => c.name)).toEqual(COLUMNS);
    const sums = new Set<string>();
    for (const c of info.slice(1)) {
      const { plain, fast } = await bothWays([info[0]!, c]);
      expect(fast.rows, c.name).toBe(plain.rows);
      expect(fast.checksum, `${c.name} ${c.type}`).toBe(plain.checksum);
      sums.add(fast.checksum);
    }
    // Each column's values really went into its digest (vb and tb hold the same values).
    expect(sums.size).toBe(info.length - 2);
    const { plain, fast } = await bothWays(info);
    expect(fast.rows).toBe(everyRows().length);
    expect(fast.checksum).toBe(plain.checksum);
  });

  it("an import and a sync verify through it (the switch off: the same results), and still see a value a trigger changed", async () => {
    const add = vi.spyOn(DigestBytes.prototype, "add");
    try {
      const backup = join(tmp.dir, "every");
      await exportTables(my, ["every"], backup, "csv");
      expect(await importFile(my, backup)).toEqual({ tables: [{ name: "every", rows: everyRows().length }] });
      expect(add).toHaveBeenCalled();
      add.mockClear();
      verifyBytesSwitch.on = false;
      expect(await importFile(my, backup)).toEqual({ tables: [{ name: "every", rows: everyRows().length }] });
      expect(add).not.toHaveBeenCalled();
      verifyBytesSwitch.on = true;

      await my.execute("CREATE TABLE pet (id INT PRIMARY KEY, name VARCHAR(40), born DATE, weight DOUBLE) CHARACTER SET utf8mb4");
      await my.execute("CREATE TRIGGER pet_shout BEFORE INSERT ON pet FOR EACH ROW SET NEW.name = IF(NEW.id = 2, UPPER(NEW.name), NEW.name)");
      const src = await newSqlite(
        join(tmp.dir, "pets.sqlite"),
        "CREATE TABLE pet (id INTEGER PRIMARY KEY, name TEXT, born TEXT, weight REAL); INSERT INTO pet VALUES (1, 'rex 🐕', '2020-01-02', 12.5), (2, 'zoë', NULL, 0.1)",
      );
      tmp.open.push(src);
      await expect(syncTables(src, my, ["pet"])).rejects.toThrow(/table pet does not hold what was written: .*the first that differs: id=2 column name is "ZOË" where it was sent as "zoë"/);
      expect(add).toHaveBeenCalled();
      expect(await my.query("SELECT count(*) AS n FROM pet")).toEqual([{ n: 0 }]);
    } finally {
      add.mockRestore();
    }
  });
});
