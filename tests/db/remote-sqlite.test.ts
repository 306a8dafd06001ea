// The remote SQLite driver over a HostDriver that runs commands locally (a real
// SSH host is tested with the SSH driver). The "remote" file is a real SQLite
// database in a temp directory; the host's sqlite3 is the real program.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { allRows, loadFixture, newSqlite, tempDir, TABLES } from "./fixtures.js";
import { fakeHost, type FakeHost } from "./fake-host.js";

let tmp: ReturnType<typeof tempDir>;
let remotePath: string;
let remoteTemp: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  tmp = tempDir();
  mkdirSync(join(tmp.dir, "host"));
  mkdirSync(join(tmp.dir, "host-tmp"));
  remotePath = join(tmp.dir, "host", "storage.sqlite");
  remoteTemp = join(tmp.dir, "host-tmp");
  const db = await newSqlite(remotePath);
  await loadFixture(db);
  await db.close();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  tmp.cleanup();
});

async function remote(options: { withoutSqlite3?: boolean; notes?: string[]; path?: string } = {}): Promise<{ db: DatabaseDriver; host: FakeHost }> {
  const host = await fakeHost({ label: "portal", withoutSqlite3: options.withoutSqlite3 });
  const db = openRemoteSqlite(host, options.path ?? remotePath, "appdb", {
    remoteTempDir: remoteTemp,
    onNote: (m) => options.notes?.push(m),
  });
  cleanups.push(async () => {
    await db.close();
    await host.close();
  });
  return { db, host };
}

function local(path = remotePath): DatabaseDriver {
  const db = openSqlite(path);
  cleanups.push(() => db.close());
  return db;
}

describe("reads", () => {
  it("query, tables and columns work on a consistent copy made with sqlite3 .backup", async () => {
    const { db, host } = await remote();
    expect(await db.tables()).toEqual(TABLES);
    expect((await db.columns("dog")).map((c) => c.name)).toEqual(["id", "owner", "name"]);
    expect(await db.query("SELECT name FROM dog WHERE id = ?", [2])).toEqual([{ name: '"Quoted" dog' }]);

    const backups = host.commands.filter((c) => c.stdin?.includes(".backup"));
    expect(backups).toHaveLength(3); // a fresh copy for each read outside a transaction
    expect(backups[0]!.command).toMatch(/^test -e \S+ \|\| exit 66; umask 077 && sqlite3 -batch -bail /);
    expect(host.downloads.every((d) => d.startsWith(remoteTemp))).toBe(true); // never the live file
    expect(readdirSync(remoteTemp)).toEqual([]); // the copies on the host are removed
  });

  it("sees rows still in the WAL of a database an application holds open", async () => {
    const app = local();
    await app.execute("PRAGMA journal_mode = WAL");
    await app.execute("INSERT INTO dog (id, owner, name) VALUES (10, NULL, 'in the wal')");
    expect(existsSync(`${remotePath}-wal`)).toBe(true);
    const { db } = await remote();
    expect(await db.query("SELECT name FROM dog WHERE id = 10")).toEqual([{ name: "in the wal" }]);
  });

  it("sees current data on every read outside a transaction, one snapshot inside one", async () => {
    const { db, host } = await remote();
    const app = local();
    expect(await db.query("SELECT count(*) AS n FROM dog")).toEqual([{ n: 3 }]);
    await app.execute("INSERT INTO dog (name) VALUES ('new')");
    expect(await db.query("SELECT count(*) AS n FROM dog")).toEqual([{ n: 4 }]);

    const before = host.downloads.length;
    await db.transaction(async () => {
      expect(await db.query("SELECT count(*) AS n FROM dog")).toEqual([{ n: 4 }]);
      await app.execute("INSERT INTO dog (name) VALUES ('newer')");
      expect(await db.query("SELECT count(*) AS n FROM dog")).toEqual([{ n: 4 }]);
      expect(await db.tables()).toEqual(TABLES);
    });
    expect(host.downloads.length - before).toBe(1);
  });

  it("without sqlite3 on the host, downloads the file and its -wal as they are, and says so", async () => {
    const app = local();
    await app.execute("PRAGMA journal_mode = WAL");
    await app.execute("INSERT INTO dog (id, name) VALUES (11, 'wal only')");
    const notes: string[] = [];
    const { db, host } = await remote({ withoutSqlite3: true, notes });
    expect(await db.query("SELECT name FROM dog WHERE id = 11")).toEqual([{ name: "wal only" }]);
    expect(host.downloads).toEqual([remotePath, `${remotePath}-wal`]);
    expect(notes).toEqual([
      `sqlite3 is not installed on portal: copied ${remotePath} and its -wal as they are, which is consistent only if nothing wrote to appdb meanwhile`,
    ]);
  });

  it("refuses a database that is not there, and creates none", async () => {
    const missing = join(tmp.dir, "host", "nope.sqlite");
    const { db } = await remote({ path: missing });
    await expect(db.query("SELECT 1")).rejects.toThrow(`SQLite database ${missing} on portal does not exist`);
    await expect(db.execute("CREATE TABLE t (x)")).rejects.toThrow(`SQLite database ${missing} on portal does not exist`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe("writes", () => {
  it("run the host's sqlite3 with the SQL on stdin and count the rows changed", async () => {
    const { db, host } = await remote();
    expect(await db.execute("UPDATE dog SET name = 'it''s ' || name; DELETE FROM dog WHERE id = 3;")).toEqual({ affectedRows: 4 });
    expect(await allRows(local(), "dog")).toEqual([
      { id: 1, owner: 1, name: "it's Rex" },
      { id: 2, owner: 3, name: `it's "Quoted" dog` },
    ]);
    const write = host.commands.find((c) => c.stdin?.includes("UPDATE dog"))!;
    expect(write.command).toBe(`sqlite3 -batch -bail ${remotePath}`);
  });

  it("report sqlite3's error with the database's name", async () => {
    const { db } = await remote();
    await expect(db.execute("SELECT 1;\nUPDATE nope SET x = 1;")).rejects.toThrow(/^appdb: .*no such table: nope/);
  });

  it("fail with a clear message when the host has no sqlite3", async () => {
    const { db } = await remote({ withoutSqlite3: true });
    await expect(db.execute("DELETE FROM dog")).rejects.toThrow("sqlite3 is not installed on portal; writes to appdb need it");
    expect((await allRows(local(), "dog")).length).toBe(3);
  });

  it("in a transaction go to the host as one script, all or nothing", async () => {
    const { db, host } = await remote();
    const sent = () => host.commands.filter((c) => c.stdin?.includes("dog")).length;

    await db.transaction(async () => {
      expect(await db.execute("DELETE FROM dog WHERE id = 1")).toEqual({ affectedRows: 1 }); // counted on the transaction's copy
      expect((await db.query("SELECT id FROM dog ORDER BY id")).map((r) => r.id)).toEqual([2, 3]); // which reads see
      await db.execute("INSERT INTO dog (id, name) VALUES (20, 'twenty')");
      expect(sent()).toBe(0);
    });
    expect(sent()).toBe(1);
    expect((await allRows(local(), "dog")).map((r) => r.id)).toEqual([2, 3, 20]);

    // fn throws: nothing is sent
    await expect(
      db.transaction(async () => {
        await db.execute("DELETE FROM dog");
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(sent()).toBe(1);

    // the script fails half-way: the host's database is unchanged
    await expect(
      db.transaction(async () => {
        await db.execute("DELETE FROM dog");
        await db.execute("INSERT INTO nope VALUES (1)");
      }),
    ).rejects.toThrow(/no such table: nope/);
    expect((await allRows(local(), "dog")).map((r) => r.id)).toEqual([2, 3, 20]);
  });
});

describe("data commands on a remote SQLite database", () => {
  it("export reads one snapshot; import writes through sqlite3; the round trip restores the data", async () => {
    const before = {} as Record<string, unknown>;
    for (const t of TABLES) before[t] = await allRows(local(), t);
    const { db, host } = await remote();
    const path = join(tmp.dir, "backup.csv");
    await exportTables(db, undefined, path, "web2py");
    expect(host.downloads).toHaveLength(1);
    expect(readFileSync(path, "utf8")).toBe(readFileSync(join(import.meta.dirname, "golden", "web2py-fixture.csv"), "utf8"));

    await local().execute("DELETE FROM dog; UPDATE person SET name = 'x'");
    expect(await importFile(db, path)).toEqual({
      tables: [
        { name: "person", rows: 7 },
        { name: "dog", rows: 3 },
        { name: "empty_one", rows: 0 },
      ],
    });
    expect(host.downloads).toHaveLength(2); // the import read the schema from one copy too
    const check = local();
    (before.person as Record<string, unknown>[])[1]!.photo = "AP8Q"; // a binary blob comes back as base64 text
    for (const t of TABLES) expect(await allRows(check, t)).toEqual(before[t]);
  });

  it("sync from a remote database into a local one, and back", async () => {
    const { db, host } = await remote();
    const dstPath = join(tmp.dir, "dev.sqlite");
    const dst = await newSqlite(dstPath);
    cleanups.push(() => dst.close());
    await loadFixture(dst);
    await dst.execute("DELETE FROM person; DELETE FROM dog");
    await syncTables(db, dst);
    const src = local();
    for (const t of TABLES) expect(await allRows(dst, t)).toEqual(await allRows(src, t));

    await dst.execute("UPDATE dog SET name = 'from dev'");
    const downloads = host.downloads.length;
    const result = await syncTables(dst, db, ["dog"]);
    expect(host.downloads.length - downloads).toBe(1); // dst's schema read from one copy
    expect(result.tables).toEqual([{ name: "dog", rows: 3 }]);
    expect((await allRows(src, "dog")).map((r) => r.name)).toEqual(["from dev", "from dev", "from dev"]);
  });
});
