// MariaDB for the integration tests: the server on 127.0.0.1:3306 (root, no
// password) that .ci/run starts. Each test file makes its own fresh database
// (runbook_test_<pid>_<random>) and drops it at the end. When the server is not
// reachable the tests are skipped with a visible message, except under CI=true
// where that is a failure (requireMariadb throws).
//
// Talks to the server through the project's own MySQL driver, so the tests need
// no database library of their own.

import { randomBytes } from "node:crypto";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openMysql } from "../../runtime/drivers/mysql.js";

export const MARIADB_HOST = process.env.RUNBOOK_TEST_MARIADB_HOST ?? "127.0.0.1";
export const MARIADB_PORT = Number(process.env.RUNBOOK_TEST_MARIADB_PORT ?? 3306);
/** The server URL without a database: `mysql://root@127.0.0.1:3306/`. */
export const MARIADB_SERVER_URL = `mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/`;

let probe: Promise<string | null> | undefined;

/** Why the server cannot be used, or null when it answers. */
export function mariadbUnavailableReason(): Promise<string | null> {
  probe ??= (async () => {
    try {
      const db = await openMysql(MARIADB_SERVER_URL, { connectTimeoutMs: 30_000 });
      try {
        await db.query("SELECT 1");
      } finally {
        await db.close();
      }
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  })();
  return probe;
}

export async function mariadbAvailable(): Promise<boolean> {
  return (await mariadbUnavailableReason()) === null;
}

/**
 * Gate for a test file: `const run = await requireMariadb(); describe.runIf(run)(…)`.
 * True when the server answers. Otherwise: under CI=true it throws (the file
 * fails, never skips); elsewhere it prints a visible message and returns false.
 */
export async function requireMariadb(): Promise<boolean> {
  const reason = await mariadbUnavailableReason();
  if (reason === null) return true;
  if (process.env.CI === "true") {
    throw new Error(`MariaDB on ${MARIADB_HOST}:${MARIADB_PORT} is required under CI=true but is not reachable: ${reason}`);
  }
  console.warn(`\n*** SKIPPING MariaDB tests: no server on ${MARIADB_HOST}:${MARIADB_PORT} (${reason}) ***\n`);
  return false;
}

export interface TestDatabase {
  name: string;
  /** `mysql://root@127.0.0.1:3306/<name>` */
  url: string;
  /** A new connection to the database (closed by drop()). */
  open(): Promise<DatabaseDriver>;
  /** Drops the database and closes every connection open() made. */
  drop(): Promise<void>;
}

/** A fresh empty database (utf8mb4) for this test run. */
export async function createTestDatabase(prefix = "runbook_test"): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = await openMysql(MARIADB_SERVER_URL, { connectTimeoutMs: 30_000 });
  await admin.execute(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const url = `mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/${name}`;
  const opened: DatabaseDriver[] = [];
  return {
    name,
    url,
    async open() {
      const db = await openMysql(url, { connectTimeoutMs: 30_000 });
      opened.push(db);
      return db;
    },
    async drop() {
      for (const db of opened) await db.close().catch(() => undefined);
      try {
        await admin.execute(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await admin.close();
      }
    },
  };
}
