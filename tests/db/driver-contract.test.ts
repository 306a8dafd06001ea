// The DatabaseDriver contract (driver-contract.ts) on each driver: local SQLite,
// MariaDB (a fresh database per test), and SQLite on a host over the test sshd
// (the host's sqlite3).

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe } from "vitest";
import { openRemoteSqlite } from "../../runtime/drivers/remote-sqlite.js";
import { SshPool } from "../../runtime/drivers/ssh/index.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { createTestDatabase, requireMariadb } from "../support/mariadb.js";
import { requireServer, sshdUnavailableReason, useSshHosts, type SshTestHosts } from "../support/sshd.js";
import { driverContract } from "./driver-contract.js";

const mysql = await requireMariadb();
const sshReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshReason === null, sshReason ?? undefined);

const dir = mkdtempSync(join(tmpdir(), "runbook-driver-contract-"));
chmodSync(dir, 0o777);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
/** A new empty SQLite file anyone may write (the test sshd's user too). */
const newFile = (): string => {
  const file = join(dir, `db-${++seq}.sqlite`);
  writeFileSync(file, "");
  chmodSync(file, 0o666);
  return file;
};

describe("local SQLite", () => {
  driverContract(async () => {
    const db = openSqlite(newFile());
    return { db, close: () => db.close() };
  });
});

describe.runIf(mysql)("MariaDB", () => {
  driverContract(async () => {
    const testDb = await createTestDatabase("runbook_contract");
    return { db: await testDb.open(), close: () => testDb.drop() };
  });
});

describe.skipIf(!sshd)("SQLite on a host (sshd, the host's sqlite3)", () => {
  const hosts = useSshHosts(1);
  let h: SshTestHosts;
  beforeEach(() => {
    h = hosts();
  });
  driverContract(async () => {
    const pool = new SshPool({ homeDir: h.home });
    const host = pool.host(h.hosts[0]!.alias, { label: "box" });
    const db = openRemoteSqlite(host, newFile(), "db", { remoteTempDir: h.remoteDir });
    return {
      db,
      close: async () => {
        await db.close();
        await pool.closeAll();
      },
    };
  });
});
