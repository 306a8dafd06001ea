// A transaction's script for SQLite on a real sshd host, sent in parts while the
// rows are written (the part size made small): it arrives whole and in order,
// a refusal in its middle leaves the database as it was, an inner transaction
// that fails takes back the parts it sent, a failed upload fails the transaction,
// and no temp file stays on the host (a killed run's are swept a day later).
import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseDriver, HostDriver } from "../../runtime/drivers/driver.js";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { SshPool } from "../../runtime/drivers/ssh/index.js";
import { startSshHosts, TEST_USER, type SshTestHosts } from "../support/sshd.js";
import { sshdEnabled } from "./helpers.js";

const PART = 1024;
/** About 60 bytes a statement: 200 of them make a dozen parts. */
const insert = (n: number) => `INSERT INTO log (n, pad) VALUES (${n}, '${"x".repeat(20)}')`;

describe.skipIf(!sshdEnabled)("SQLite on a host: the transaction's script in parts", () => {
  let h: SshTestHosts;
  let pool: SshPool;
  let host: HostDriver;
  let dir: string;
  let tempDir: string;
  let path: string;
  let db: DatabaseDriver;
  let uploads: string[];
  /** The upload (1-based) that fails, if any. */
  let failUpload = 0;
  let round = 0;

  beforeAll(async () => {
    h = await startSshHosts(1);
    pool = new SshPool({ homeDir: h.home });
    const ssh = pool.host("rbhost0");
    // The real host, with the uploads it is asked for recorded.
    host = new Proxy(ssh, {
      get(target, key) {
        if (key === "upload")
          return async (local: string, remote: string) => {
            uploads.push(remote);
            if (uploads.length === failUpload) throw new Error("the link went down");
            return target.upload(local, remote);
          };
        const v: unknown = Reflect.get(target, key);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  });
  afterAll(async () => {
    await pool?.closeAll();
    await h?.stop();
  });

  beforeEach(async () => {
    dir = join(h.remoteDir, `parts-${++round}`);
    tempDir = join(dir, "tmp");
    mkdirSync(tempDir, { recursive: true });
    path = join(dir, "app.sqlite");
    const setup = openSqlite(path, { createOnWrite: true });
    await setup.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER UNIQUE, pad TEXT)");
    await setup.execute(insert(0));
    await setup.close();
    const id = (flag: string) => Number(execFileSync("id", [flag, TEST_USER], { encoding: "utf8" }).trim());
    for (const p of [dir, tempDir, path]) chownSync(p, id("-u"), id("-g"));
    uploads = [];
    failUpload = 0;
    db = openRemoteSqlite(host, path, "appdb", { remoteTempDir: tempDir, scriptPartBytes: PART });
  });
  afterEach(async () => {
    await db.close();
  });

  async function onHost(): Promise<number[]> {
    const check = openSqlite(path, { readonly: true });
    try {
      return (await check.query("SELECT n FROM log ORDER BY seq")).map((r) => Number(r.n));
    } finally {
      await check.close();
    }
  }

  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it("a script of many parts arrives whole and in order, sent while the rows are written", async () => {
    let sentBeforeCommit = 0;
    await db.transaction(async () => {
      for (const n of range(1, 200)) await db.execute(insert(n));
      sentBeforeCommit = uploads.length;
      expect(await onHost()).toEqual([0]); // nothing applied before the commit
    });
    expect(sentBeforeCommit).toBeGreaterThanOrEqual(10);
    // The rest at the commit (and the last part, if its upload had not begun when fn returned).
    expect(uploads.length - sentBeforeCommit).toBeGreaterThanOrEqual(1);
    expect(uploads.length - sentBeforeCommit).toBeLessThanOrEqual(2);
    expect(await onHost()).toEqual(range(0, 200));
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it("the first part a run sends sweeps ours a day old (a killed run's) from the temp folder, and leaves fresh ones", async () => {
    const id = (flag: string) => Number(execFileSync("id", [flag, TEST_USER], { encoding: "utf8" }).trim());
    const files = ["runbook-dead-1.sql", "runbook-dead.sqlite", "runbook-live-1.sql", "other.sql"];
    for (const f of files) {
      writeFileSync(join(tempDir, f), "x");
      chownSync(join(tempDir, f), id("-u"), id("-g"));
    }
    const old = new Date(Date.now() - 2 * 86_400_000);
    for (const f of ["runbook-dead-1.sql", "runbook-dead.sqlite", "other.sql"]) utimesSync(join(tempDir, f), old, old);
    await db.transaction(async () => {
      for (const n of range(1, 50)) await db.execute(insert(n));
    });
    expect(readdirSync(tempDir).sort()).toEqual(["other.sql", "runbook-live-1.sql"]);
  });

  it("a statement the host's sqlite3 refuses in the middle leaves the database unchanged and no temp files", async () => {
    await expect(
      db.transaction(async () => {
        for (const n of range(1, 200)) {
          await db.execute(insert(n));
          // Another writer takes n = 100 on the host after the transaction's copy was made:
          // the copy accepts the insert, the host's sqlite3 refuses it, parts later.
          if (n === 1) {
            const other = openSqlite(path);
            await other.execute(insert(100));
            await other.close();
          }
        }
      }),
    ).rejects.toThrow(/UNIQUE constraint failed: log\.n/);
    expect(uploads.length).toBeGreaterThanOrEqual(10);
    expect(await onHost()).toEqual([0, 100]);
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it("an inner transaction that fails after parts were sent takes back its writes; the rest arrives in order", async () => {
    await db.transaction(async () => {
      for (const n of range(1, 50)) await db.execute(insert(n));
      const before = uploads.length;
      await expect(
        db.transaction(async () => {
          for (const n of range(1000, 1100)) await db.execute(insert(n));
          throw new Error("inner failed");
        }),
      ).rejects.toThrow("inner failed");
      expect(uploads.length).toBeGreaterThan(before + 3); // the inner one had sent parts of its own
      // and they are gone from the host: what stays is at most the parts of the first 50 rows (about 3 KB).
      expect(readdirSync(tempDir).length).toBeLessThanOrEqual(3);
      for (const n of range(51, 120)) await db.execute(insert(n));
    });
    expect(await onHost()).toEqual(range(0, 120));
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it("when fn fails, the parts already sent are removed and nothing is applied", async () => {
    await expect(
      db.transaction(async () => {
        for (const n of range(1, 100)) await db.execute(insert(n));
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(uploads.length).toBeGreaterThanOrEqual(5);
    expect(await onHost()).toEqual([0]);
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it("a part whose upload fails fails the transaction: nothing applied, no temp files", async () => {
    failUpload = 3;
    await expect(
      db.transaction(async () => {
        for (const n of range(1, 200)) await db.execute(insert(n));
      }),
    ).rejects.toThrow("the link went down");
    expect(uploads.length).toBe(3); // the next part waited for it, and stopped
    expect(await onHost()).toEqual([0]);
    expect(readdirSync(tempDir)).toEqual([]);
  });
});
