// `${…}` in MySQL statements (LANGUAGE.md "Interpolation and quoting"): wherever the
// interpolation stands — outside quotes, inside '…' or "…" the statement itself
// opened — the server reads back exactly the value, and no value can end the literal.
// Runs against the real MariaDB on 127.0.0.1:3306 (a fresh database, dropped after).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { showText } from "../../runtime/plan.js";
import { buildPlan } from "../../runtime/planner.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";

const run = await requireMariadb();

function sqlOf(sql: string, value: string): string {
  const src = `runbook "t" version "1.0.0"\nparam v = "x"\ndatabase db = mysql "mysql://root@127.0.0.1/x"\nstep "S" {\n  sql db ${JSON.stringify(sql)}\n}\n`;
  const compiled = compileSource(src, "/virtual/t.rb");
  if (!compiled.runbook) throw new Error(compiled.diagnostics.map((d) => d.message).join("\n"));
  const built = buildPlan(compiled.runbook, { env: "default", sets: { v: value } });
  if ("error" in built) throw new Error(built.error);
  const a = built.plan.steps[0]!.actions[0]!;
  if (a.kind !== "sql") throw new Error(a.kind);
  return showText(a.sql);
}

describe.runIf(run)("MySQL: interpolated values read back as they are", () => {
  let testDb: TestDatabase;
  let db: DatabaseDriver;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await testDb.open();
    await db.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)");
    await db.execute("CREATE TABLE canary (x INT)");
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  const values = ["plain", "it's", "'; DROP TABLE canary; --", "\\'; DROP TABLE canary; --", 'dq "x" \\" y', "a\\b\\\\c\\", "l1\nl2\r\nl3", "ctrl-z\x1a", "-- not a comment", ""];

  it.each([
    ["outside quotes", "INSERT INTO t (v) VALUES (${v})"],
    ["inside single quotes", "INSERT INTO t (v) VALUES ('${v}')"],
    ["inside double quotes", 'INSERT INTO t (v) VALUES ("${v}")'],
    ["inside quotes with text around", "INSERT INTO t (v) VALUES (SUBSTRING('<${v}>', 2, CHAR_LENGTH('<${v}>') - 2))"],
    ["after a comment with an apostrophe", "-- it's a comment\nINSERT INTO t (v) VALUES (${v})"],
  ])("%s", async (_name, sql) => {
    for (const value of values) {
      await db.execute("DELETE FROM t");
      await db.execute(sqlOf(sql, value));
      const rows = await db.query("SELECT v FROM t");
      expect(rows.map((r) => r.v)).toEqual([value]);
      expect(await db.query("SELECT count(*) AS n FROM canary")).toEqual([{ n: 0 }]);
    }
  });
});
