// One `sql` is all or nothing (docs/language.md "Interpolation: values are never
// code", last paragraph): its statements run in one transaction on local SQLite,
// SQLite on a host (real sshd, the host's sqlite3) and MariaDB; a failure rolls them
// all back and names the failing statement with its FILE:LINE. MySQL commits DDL at
// once: the checker warns, the dry run marks it, and a failure after it says exactly
// which statements stay applied.

import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { requireServer, sshdUnavailableReason, useSshHosts, type SshTestHosts } from "../support/sshd.js";
import { planFrom, runPlan } from "../runtime/helpers.js";
import { newSqlite } from "./fixtures.js";

const mysql = await requireMariadb();
const sshReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshReason === null, sshReason ?? undefined);

const dir = mkdtempSync(join(tmpdir(), "runbook-atomic-"));
chmodSync(dir, 0o777);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILE = "/virtual/atomic.rb";

/** A step whose second statement fails: line 5 + the header's lines holds it. */
const failing = (header: string) => `runbook "a" version "1.0.0"
${header}step "Change" as change {
  sql db """
    UPDATE t SET n = n + 1;
    INSERT INTO nosuch VALUES (1)
    """
}
`;

async function count(db: DatabaseDriver, sql: string): Promise<number> {
  return Number(Object.values((await db.query(sql))[0]!)[0]);
}

async function expectAllOrNothing(header: string, db: DatabaseDriver, env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir }): Promise<void> {
  const r = await runPlan(planFrom(failing(header), { file: FILE }), { cwd: dir, env });
  expect(r.exitCode).toBe(1);
  const line = 5 + header.split("\n").length - 1;
  expect(r.finished.change?.reason).toMatch(new RegExp(`^statement 2 of 2 \\(/virtual/atomic\\.rb:${line}, INSERT INTO nosuch VALUES \\(1\\)\\) failed: db: .*nosuch.*; statement 1 was rolled back: nothing of this sql stays applied$`));
  expect(await count(db, "SELECT sum(n) AS s FROM t")).toBe(3);
  // A retry fails on the same statement, not on statement 1.
  const again = await runPlan(planFrom(failing(header), { file: FILE }), { cwd: dir, env });
  expect(again.finished.change?.reason).toMatch(/^statement 2 of 2/);
  expect(await count(db, "SELECT sum(n) AS s FROM t")).toBe(3);
}

describe("a failing sql leaves nothing", () => {
  it("local SQLite", async () => {
    const file = join(dir, "local.sqlite");
    const db = await newSqlite(file, "CREATE TABLE t (n INT); INSERT INTO t VALUES (1), (2)");
    await expectAllOrNothing(`database db = sqlite ${JSON.stringify(file)}\n`, db);
  });

  describe.runIf(mysql)("MariaDB", () => {
    let testDb: TestDatabase;
    let db: DatabaseDriver;
    beforeAll(async () => {
      testDb = await createTestDatabase();
      db = await testDb.open();
    });
    afterAll(async () => {
      await testDb?.drop();
    });

    it("DML", async () => {
      await db.execute("CREATE TABLE t (n INT); INSERT INTO t VALUES (1), (2)");
      await expectAllOrNothing(`database db = mysql ${JSON.stringify(testDb.url)}\n`, db);
    });

    it("DDL commits at once: the checker warns, the dry run marks it, the failure says what stays", async () => {
      await db.execute("DROP TABLE IF EXISTS customer; CREATE TABLE customer (id INT)");
      const src = `runbook "a" version "1.0.0"
database db = mysql ${JSON.stringify(testDb.url)}
step "Add phone" as add {
  sql db """
    INSERT INTO customer VALUES (1);
    ALTER TABLE customer ADD COLUMN phone TEXT;
    INSERT INTO nosuch VALUES (1)
    """
}
`;
      const warnings = compileSource(src, FILE).diagnostics.filter((d) => d.code === "implicit-commit");
      expect(warnings.map((d) => [d.severity, d.span.line, d.message])).toEqual([
        ["warning", 6, "MySQL commits `ALTER` at once: if a later statement of these 3 fails, it and every statement before it stay applied"],
      ]);
      const dry = await runPlan(planFrom(src, { file: FILE }), { cwd: dir, dryRun: true });
      const described = dry.events.filter((e) => e.type === "action").map((e) => (e as { description: string }).description).join("\n");
      expect(described).toContain("ALTER TABLE customer ADD COLUMN phone TEXT;   -- commits at once (mysql cannot roll it back)");
      const r = await runPlan(planFrom(src, { file: FILE }), { cwd: dir });
      expect(r.finished.add?.reason).toContain(
        "statement 3 of 3 (/virtual/atomic.rb:7, INSERT INTO nosuch VALUES (1)) failed: db: Table",
      );
      expect(r.finished.add?.reason).toContain(
        "statement 1 of 3 (INSERT INTO customer VALUES (1)), statement 2 of 3 (ALTER TABLE customer ADD COLUMN phone TEXT) stay applied: MySQL commits DDL at once, with what came before it",
      );
      expect(await count(db, "SELECT count(*) FROM customer")).toBe(1);
      expect(await count(db, "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'customer' AND COLUMN_NAME = 'phone'")).toBe(1);
    });
  });

  describe.skipIf(!sshd)("SQLite on a host", () => {
    const hosts = useSshHosts(1);
    let h: SshTestHosts;
    beforeEach(() => {
      h = hosts();
    });

    it("the host's sqlite3 runs the statements in one transaction", async () => {
      const file = join(dir, "remote.sqlite");
      const db = await newSqlite(file, "CREATE TABLE t (n INT); INSERT INTO t VALUES (1), (2)");
      chmodSync(file, 0o666);
      await expectAllOrNothing(`host box = "${h.hosts[0]!.target}"\ndatabase db = sqlite ${JSON.stringify(file)} on box\n`, db, { PATH: process.env.PATH, HOME: h.home });
    });
  });
});
