// Reads never create: a missing SQLite file read by `query`, `export`, a `sync`
// source or a dry run is an error naming its path, and no file appears (before,
// `export` of a mistyped path created an empty database and wrote a backup holding
// only END, exit 0). Local files (the driver, and `runbook run` end to end) and
// files on a host (the remote driver over a stand-in host that runs locally).
// A write still creates the file, also inside a transaction begun before it existed.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { cli } from "../support/cli.js";
import { fakeHost } from "./fake-host.js";
import { loadFixture, newSqlite, useTempFiles } from "./fixtures.js";

const tmp = useTempFiles();
const open = tmp.open;

function missingLocal(name = "typo.sqlite"): { db: DatabaseDriver; path: string } {
  const path = join(tmp.dir, name);
  const db = openSqlite(path, { createOnWrite: true, label: "appdb" });
  open.push(db);
  return { db, path };
}

async function source(): Promise<DatabaseDriver> {
  const d = await newSqlite(join(tmp.dir, "src.sqlite"));
  open.push(d);
  await loadFixture(d);
  return d;
}

describe("a missing local SQLite file", () => {
  it("export fails naming it; neither the database nor the backup appears", async () => {
    const { db, path } = missingLocal();
    const to = join(tmp.dir, "backup.csv");
    await expect(exportTables(db, undefined, to, "web2py")).rejects.toThrow(`SQLite database ${path} does not exist`);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(to)).toBe(false);
    expect(readdirSync(tmp.dir)).toEqual([]);
  });

  it("as a sync source fails naming it, and the target is left as it was", async () => {
    const { db: missing, path } = missingLocal();
    const target = await source();
    const before = await target.query("SELECT COUNT(*) AS n FROM person");
    await expect(syncTables(missing, target, undefined)).rejects.toThrow(`SQLite database ${path} does not exist`);
    expect(existsSync(path)).toBe(false);
    expect(await target.query("SELECT COUNT(*) AS n FROM person")).toEqual(before);
  });

  it("a write inside a transaction begun before the file existed creates it, in that transaction", async () => {
    const { db, path } = missingLocal("new.sqlite");
    await db.transaction(async () => {
      await expect(db.tables()).rejects.toThrow("does not exist");
      await db.execute("CREATE TABLE t (v TEXT)");
      await db.execute("INSERT INTO t VALUES ('a')");
      expect(await db.query("SELECT v FROM t")).toEqual([{ v: "a" }]);
    });
    expect(existsSync(path)).toBe(true);
    expect(await db.query("SELECT v FROM t")).toEqual([{ v: "a" }]);
    // A later failing transaction takes back its own writes.
    await expect(
      db.transaction(async () => {
        await db.execute("INSERT INTO t VALUES ('b')");
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(await db.query("SELECT v FROM t")).toEqual([{ v: "a" }]);
  });

  it("a transaction that fails after its first write leaves nothing in the file it created", async () => {
    const { db, path } = missingLocal("new2.sqlite");
    await expect(
      db.transaction(async () => {
        await db.execute("CREATE TABLE t (v TEXT)");
        await db.execute("INSERT INTO nope VALUES (1)");
      }),
    ).rejects.toThrow(/no such table: nope/);
    expect(await db.tables()).toEqual([]);
    expect(existsSync(path)).toBe(true);
  });
});

describe("a missing SQLite file on a host", () => {
  async function remote(): Promise<{ db: DatabaseDriver; path: string }> {
    const host = await fakeHost({ label: "portal" });
    const path = join(tmp.dir, "host", "typo.sqlite");
    const db = openRemoteSqlite(host, path, "appdb");
    open.push(db);
    return { db, path };
  }

  it("export fails naming it and where; nothing appears", async () => {
    const { db, path } = await remote();
    const to = join(tmp.dir, "backup.csv");
    await expect(exportTables(db, undefined, to, "web2py")).rejects.toThrow(`SQLite database ${path} on portal does not exist`);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(to)).toBe(false);
  });

  it("as a sync source fails naming it; an import into it fails too, creating nothing", async () => {
    const { db, path } = await remote();
    const target = await source();
    await expect(syncTables(db, target, undefined)).rejects.toThrow(`SQLite database ${path} on portal does not exist`);
    const file = join(tmp.dir, "in.csv");
    await exportTables(target, ["person"], file, "web2py");
    await expect(importFile(db, file)).rejects.toThrow(`SQLite database ${path} on portal does not exist`);
    expect(existsSync(path)).toBe(false);
  });
});

describe("runbook run with a mistyped SQLite path", () => {
  const rb = (step: string) => `runbook "r" version "1.0.0"
database appdb = sqlite "data/typo.sqlite"
${step}
`;

  it.each([
    ["export", `step "Backup" as backup { export appdb to "backup.csv" format web2py }`],
    ["a query guard", `step "Fix" as fix when query appdb "SELECT COUNT(*) FROM t" > 0 { run "echo fixing" }`],
    ["a require", `step "Check" as check { require query appdb "SELECT 1" == 1 }`],
  ])("%s: exit 1, the error names the file, and no file appears", async (_what, step) => {
    const c = cli().file("r.rb", rb(step)).file("data/keep", "");
    const r = await c.args("run", "r.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`SQLite database ${join(c.dir, "data/typo.sqlite")} does not exist`);
    expect(readdirSync(join(c.dir, "data"))).toEqual(["keep"]);
    expect(existsSync(join(c.dir, "backup.csv"))).toBe(false);
  });

  it("a dry run names the file and creates nothing", async () => {
    const c = cli().file("r.rb", rb(`step "Backup" as backup { export appdb to "backup.csv" format web2py }`)).file("data/keep", "");
    const r = await c.args("run", "r.rb", "--no-tui", "--dry-run").run();
    expect(r.stdout).toContain(`SQLite database ${join(c.dir, "data/typo.sqlite")} does not exist`);
    expect(readdirSync(join(c.dir, "data"))).toEqual(["keep"]);
    expect(existsSync(join(c.dir, "backup.csv"))).toBe(false);
  });
});
