// `sync appdb from prod.appdb` through the planner and the executor, on real
// SQLite files: the run's --set reach the source env's values (`--set NAME` where
// prod keeps the top-level value, `--set prod.NAME` always), and a source that is
// not there is an error naming its path, with no file made there.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { Connections } from "../../runtime/connections.js";
import { SecretStore } from "../../runtime/secrets.js";
import { syncTables } from "../../runtime/data.js";
import { renderPlanText } from "../../cli/views/plan.js";
import { planFrom, runPlan, tempDir } from "../runtime/helpers.js";
import { newSqlite } from "./fixtures.js";

const RUNBOOK = `runbook "sync-env" version "1.0.0"
param proddb = "prod.sqlite"
param devdb = "dev.sqlite"
database appdb = sqlite "\${devdb}"
env dev {
  param devdb = "dev.sqlite"
}
env prod {
  param devdb = "prod-own.sqlite"
  database appdb = sqlite "\${proddb}"
}
section "Data" {
  step "Sync" when env != "prod" {
    sync appdb from prod.appdb
  }
}
`;

let dir: string;
beforeEach(async () => {
  dir = tempDir("runbook-sync-env-");
  const dev = await newSqlite(join(dir, "dev.sqlite"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'dev')");
  await dev.close();
  const copy = await newSqlite(join(dir, "copy.sqlite"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'copy'), (2, 'of prod')");
  await copy.close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function devRows(): Promise<unknown[]> {
  const db = openSqlite(join(dir, "dev.sqlite"));
  try {
    return await db.query("SELECT id, v FROM t ORDER BY id");
  } finally {
    await db.close();
  }
}

describe("sync from another env's database", () => {
  it("--set NAME reaches the source env's path (a top-level param it keeps)", async () => {
    const plan = planFrom(RUNBOOK, { env: "dev", sets: { proddb: "copy.sqlite" } });
    expect(plan.foreignDatabases["prod.appdb"]).toMatchObject({ engine: "sqlite", path: "copy.sqlite" });
    const r = await runPlan(plan, { cwd: dir });
    expect(r.steps).toEqual({ sync: "ok" });
    expect(await devRows()).toEqual([
      { id: 1, v: "copy" },
      { id: 2, v: "of prod" },
    ]);
    expect(existsSync(join(dir, "prod.sqlite"))).toBe(false);
  });

  it("--set prod.NAME reaches prod alone", async () => {
    const plan = planFrom(RUNBOOK, { env: "dev", sets: { "prod.proddb": "copy.sqlite" } });
    expect(plan.foreignDatabases["prod.appdb"]).toMatchObject({ path: "copy.sqlite" });
    // The plan says where the other env's database resolves, beside this env's.
    expect(renderPlanText(plan)).toContain("Databases:\n  appdb = sqlite dev.sqlite\n  prod.appdb = sqlite copy.sqlite   (env prod, read by sync)\n");
    expect(plan.databases.appdb).toMatchObject({ path: "dev.sqlite" });
    expect((await runPlan(plan, { cwd: dir })).steps).toEqual({ sync: "ok" });
    expect(await devRows()).toHaveLength(2);
  });

  it("a dev run's --set does not reach a param prod gives a value of its own", () => {
    // prod's own devdb stays; the dev database follows the set
    const plan = planFrom(RUNBOOK.replace('sqlite "${proddb}"', 'sqlite "${devdb}"'), { env: "dev", sets: { devdb: "other.sqlite" } });
    expect(plan.databases.appdb).toMatchObject({ path: "other.sqlite" });
    expect(plan.foreignDatabases["prod.appdb"]).toMatchObject({ path: "prod-own.sqlite" });
  });

  it("a source file that is not there fails the run naming its path, and none is created", async () => {
    const plan = planFrom(RUNBOOK, { env: "dev" });
    const r = await runPlan(plan, { cwd: dir });
    expect(r.exitCode).not.toBe(0);
    expect(r.events.at(-1)).toMatchObject({ type: "run-finished", error: expect.stringMatching(/SQLite database \S*prod\.sqlite does not exist/) });
    expect(existsSync(join(dir, "prod.sqlite"))).toBe(false);
    expect(await devRows()).toEqual([{ id: 1, v: "dev" }]);
  });

  it("past the preflight too (the file gone by the time the step reads it): the source is opened only to read", async () => {
    const plan = planFrom(RUNBOOK, { env: "dev" });
    const connections = new Connections(plan, { secrets: new SecretStore(plan.secrets, { env: {}, cwd: dir }), cwd: dir });
    try {
      const src = connections.database("prod.appdb");
      await expect(src).rejects.toThrow(`SQLite database ${join(dir, "prod.sqlite")} does not exist`);
      const dst = await connections.database("appdb");
      await expect(src.then((s) => syncTables(s, dst))).rejects.toThrow(/does not exist/);
    } finally {
      await connections.closeAll();
    }
    expect(existsSync(join(dir, "prod.sqlite"))).toBe(false);
  });
});
