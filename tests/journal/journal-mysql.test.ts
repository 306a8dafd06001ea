// The MySQL journal against the real MariaDB on 127.0.0.1:3306, in a fresh
// database made for this file and dropped at the end: the shared contract
// (locks between two connections, as between two machines), plus the schema
// version table and the URL handling. Skipped with a visible message when the
// server is not there, except under CI=true, where that fails.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMysqlLocation } from "../../runtime/journal/stores/mysql.js";
import { JournalLocationError, describeLocation, openJournal } from "../../runtime/journal/index.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { journalContract } from "./contract.js";
import { completeRun, makePlan } from "./helpers.js";

const available = await requireMariadb();
let db: TestDatabase;

describe.runIf(available)("MySQL journal (MariaDB)", () => {
  beforeAll(async () => {
    db = await createTestDatabase("runbook_journal");
  });
  afterAll(async () => {
    await db?.drop();
  });

  journalContract((identity) => openJournal(db.url, { identity }), { bulkSteps: 300 });

  it("creates the schema once and records its version", async () => {
    const a = await openJournal(db.url);
    const b = await openJournal(db.url);
    await completeRun(a, "mysql-schema-1", makePlan({ runbook: "mysql-schema" }));
    expect((await b.getRun("mysql-schema-1"))?.status).toBe("succeeded");
    expect(a.kind).toBe("mysql");
    await a.close();
    await b.close();
    const conn = await db.open();
    const versions = await conn.query("SELECT version FROM schema_version ORDER BY version");
    expect(versions.map((r) => Number(r.version))).toEqual([1, 2, 3, 4]);
    const tables = await conn.query(
      "SELECT table_name AS name, engine FROM information_schema.tables WHERE table_schema = DATABASE()",
    );
    expect(tables.map((r) => `${r.name}:${r.engine}`).sort()).toEqual([
      "approvals:InnoDB",
      "confirmations:InnoDB",
      "locks:InnoDB",
      "notes:InnoDB",
      "rollbacks:InnoDB",
      "runs:InnoDB",
      "schema_version:InnoDB",
      "step_commands:InnoDB",
      "step_hosts:InnoDB",
      "step_values:InnoDB",
      "steps:InnoDB",
    ]);
  });

  it("reconnects when the server drops its connection", async () => {
    const j = await openJournal(db.url);
    try {
      await completeRun(j, "reconnect-1", makePlan({ runbook: "reconnect" }));
      const admin = await db.open();
      const mine = await admin.query("SELECT CONNECTION_ID() AS id");
      const others = await admin.query("SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> ?", [mine[0].id]);
      expect(others.length).toBeGreaterThan(0);
      for (const row of others) await admin.execute(`KILL CONNECTION ${Number(row.id)}`);
      await new Promise((r) => setTimeout(r, 200));
      expect((await j.getRun("reconnect-1"))?.status).toBe("succeeded");
      await completeRun(j, "reconnect-2", makePlan({ runbook: "reconnect" }));
      expect((await j.getRun("reconnect-2"))?.status).toBe("succeeded");
    } finally {
      await j.close();
    }
  });

  it("refuses a journal written by a newer runbook", async () => {
    const other = await createTestDatabase("runbook_journal_newer");
    try {
      await (await openJournal(other.url)).close();
      const conn = await other.open();
      await conn.execute("INSERT INTO schema_version (version) VALUES (99)");
      await expect(openJournal(other.url)).rejects.toThrow(/schema version 99, newer than this runbook understands/);
    } finally {
      await other.drop();
    }
  });

  it("keeps non-ASCII text and long output intact", async () => {
    const j = await openJournal(db.url);
    try {
      const plan = makePlan({ runbook: "unicode-é", env: "prod" });
      await j.beginRun({ runId: "uni-1", plan, dryRun: false, params: { who: "Zoë 🚀" }, file: "ü.rb" });
      j.record({ type: "step-started", runId: "uni-1", time: new Date().toISOString(), stepId: "prepare", title: "p", attempt: 1, preview: [] });
      const big = "ünïcödé 🚀 ".repeat(6000);
      j.record({ type: "output", runId: "uni-1", time: new Date().toISOString(), stepId: "prepare", stream: "stdout", text: big });
      j.record({ type: "step-finished", runId: "uni-1", time: new Date().toISOString(), stepId: "prepare", status: "ok", durationMs: 1, attempt: 1 });
      await j.flush();
      const run = await j.getRun("uni-1");
      expect(run).toMatchObject({ runbook: "unicode-é", params: { who: "Zoë 🚀" }, file: "ü.rb" });
      const [step] = await j.getSteps("uni-1");
      expect(big.endsWith(step.outputTail)).toBe(true);
      expect(step.outputTail.length).toBeGreaterThan(60_000);
    } finally {
      await j.close();
    }
  });
});

describe("MySQL locations", () => {
  it("parses mysql://user[:pass]@host[:port]/db", () => {
    expect(parseMysqlLocation("mysql://alice:s%40cret@db.example.org:3307/journal")).toMatchObject({
      host: "db.example.org",
      port: 3307,
      user: "alice",
      password: "s@cret",
      database: "journal",
    });
    expect(parseMysqlLocation("mariadb://bob@127.0.0.1/j")).toMatchObject({ host: "127.0.0.1", port: 3306, user: "bob", database: "j" });
  });

  it("refuses a URL without a database, as a location error that hides the password", async () => {
    const err = await openJournal("mysql://alice:hunter2@127.0.0.1:3306/").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalLocationError);
    expect((err as Error).message).toContain("mysql://alice:***@127.0.0.1:3306/");
    expect((err as Error).message).not.toContain("hunter2");
  });

  it("masks passwords in locations shown to people", () => {
    expect(describeLocation("mysql://alice:hunter2@h:1/db")).toBe("mysql://alice:***@h:1/db");
    expect(describeLocation("mysql://alice@h/db")).toBe("mysql://alice@h/db");
    expect(describeLocation("/var/lib/j.db")).toBe("/var/lib/j.db");
  });

  it("says clearly when the server cannot be reached, without the password", async () => {
    // Port 1 on loopback: nothing listens there.
    const err = (await openJournal("mysql://alice:hunter2@127.0.0.1:1/j").catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^cannot open the journal mysql:\/\/alice:\*\*\*@127\.0\.0\.1:1\/j: /);
    expect(err.message).not.toContain("hunter2");
  });
});
