// Loading MySQL through LOAD DATA LOCAL INFILE fed from a stream, against the real
// MariaDB: every awkward value arrives as it was (NULL apart from the text
// 'NULL' and from ''; quotes, commas, CR/LF, backslashes, emoji; bytes that are
// not UTF-8); the server gets only the stream runbook registered, never a file
// it names; a failure of the source while a load is open rolls back without
// hanging the connection.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver, SqlValue } from "../../runtime/drivers/driver.js";
import { importFile, syncTables } from "../../runtime/data.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { allRows, newSqlite, useTempFiles } from "./fixtures.js";

const run = await requireMariadb();

describe.runIf(run)("LOAD DATA from a stream into MariaDB", () => {
  const tmp = useTempFiles();
  let test: TestDatabase;
  let my: DatabaseDriver;
  beforeAll(async () => {
    test = await createTestDatabase();
    my = await test.open();
  });
  afterAll(async () => {
    await test?.drop();
  });

  const awkward: [number, SqlValue, SqlValue][] = [
    [1, null, null],
    [2, "NULL", Buffer.from("NULL")],
    [3, "", Buffer.alloc(0)],
    [4, '"', Buffer.from([0x22])],
    [5, 'a, "b",\r\nc\\N\\', Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x2c])],
    [6, "\\", Buffer.from("\\")],
    [7, "🐕 ünïcode\n", Buffer.from("🐕")],
    [8, "\t,\r", Buffer.from([0x0d])],
    [9, '""', Buffer.from('""')],
  ];

  it("syncs every awkward value as it was (text, and bytes into a blob)", async () => {
    await my.execute("DROP TABLE IF EXISTS odd");
    await my.execute("CREATE TABLE odd (id INT NOT NULL PRIMARY KEY, txt LONGTEXT, bin LONGBLOB) CHARACTER SET utf8mb4");
    const src = await newSqlite(join(tmp.dir, "odd.sqlite"), "CREATE TABLE odd (id INTEGER PRIMARY KEY, txt TEXT, bin BLOB)");
    tmp.open.push(src);
    for (const row of awkward) await src.execute("INSERT INTO odd VALUES (?, ?, ?)", row);
    expect((await syncTables(src, my, ["odd"])).tables).toEqual([{ name: "odd", rows: awkward.length }]);
    const back = await allRows(my, "odd");
    expect(back.map((r) => [r.id, r.txt, r.bin])).toEqual(awkward);
  });

  it("a file the server asks for that runbook did not offer is refused, not sent", async () => {
    await my.execute("DROP TABLE IF EXISTS grab");
    await my.execute("CREATE TABLE grab (line TEXT)");
    const secret = join(tmp.dir, "secret.txt");
    writeFileSync(secret, "not for the server\n");
    await expect(my.execute(`LOAD DATA LOCAL INFILE '${secret}' INTO TABLE grab`)).rejects.toThrow(
      `the server asked for the file "${secret}", which runbook did not offer`,
    );
    expect(await my.query("SELECT count(*) AS n FROM grab")).toEqual([{ n: 0 }]);
    // The connection is still usable.
    expect(await my.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("a bad record after rows were loaded rolls back and leaves the connection usable", async () => {
    await my.execute("DROP TABLE IF EXISTS pet");
    await my.execute("CREATE TABLE pet (id INT NOT NULL PRIMARY KEY, name VARCHAR(20))");
    await my.execute("INSERT INTO pet VALUES (1, 'kept')");
    const rows = Array.from({ length: 10000 }, (_, i) => `${i + 10},name ${i}\r\n`).join("");
    const file = join(tmp.dir, "pet.csv");
    writeFileSync(file, `pet.id,pet.name\r\n${rows}99,too,many\r\n`);
    await expect(importFile(my, file)).rejects.toThrow(/line 10002: 3 fields where the header has 2/);
    expect(await allRows(my, "pet")).toEqual([{ id: 1, name: "kept" }]);
    expect(await my.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });
});
