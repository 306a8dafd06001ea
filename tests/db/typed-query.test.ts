// Typed `query` in conditions, through the planner and the executor on a real
// SQLite file: no row, NULL, '' and numbers are told apart (docs/language.md,
// "Values and conditions"). Each step runs only when its condition holds.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { planFrom, runPlan, tempDir } from "../runtime/helpers.js";
import { newSqlite } from "./fixtures.js";

/** [step id, condition, runs] */
const CASES: [string, string, boolean][] = [
  ["null-eq-empty", 'query appdb "select v from t where id = 1" == ""', false],
  ["empty-eq-empty", 'query appdb "select v from t where id = 2" == ""', true],
  ["no-row-eq-empty", 'query appdb "select v from t where id = 99" == ""', false],
  ["null-ne-empty", 'query appdb "select v from t where id = 1" != ""', true],
  ["no-row-ne-empty", 'query appdb "select v from t where id = 99" != ""', true],
  ["null-lt-5", 'query appdb "select v from t where id = 1" < 5', false],
  ["null-ge-5", 'query appdb "select v from t where id = 1" >= 5', false],
  ["no-row-lt-5", 'query appdb "select v from t where id = 99" < 5', false],
  ["empty-lt-5", 'query appdb "select n from t where id = 2" < 5', false],
  ["max-of-nothing-lt-5", 'query appdb "select max(n) from t where id > 99" < 5', false],
  ["number-gt-9", 'query appdb "select n from t where id = 4" > 9', true],
  ["number-eq-10", 'query appdb "select n from t where id = 4" == 10', true],
  ["null-bare", 'query appdb "select v from t where id = 1"', false],
  ["not-null-bare", 'not query appdb "select v from t where id = 1"', true],
  ["zero-bare", 'query appdb "select v from t where id = 3"', false],
  ["null-asked-in-sql", 'query appdb "select v is null from t where id = 1"', true],
  ["no-row-asked-in-sql", 'query appdb "select count(*) from t where id = 99" == 0', true],
  ["null-contains", 'query appdb "select v from t where id = 1" contains ""', false],
  ["null-eq-null", 'query appdb "select v from t where id = 1" == query appdb "select n from t where id = 1"', true],
  ["null-eq-no-row", 'query appdb "select v from t where id = 1" == query appdb "select v from t where id = 99"', false],
];

let dir: string;
beforeEach(async () => {
  dir = tempDir("runbook-typed-query-");
  const db = await newSqlite(
    join(dir, "app.sqlite"),
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER);" +
      "INSERT INTO t VALUES (1, NULL, NULL), (2, '', NULL), (3, '0', 0), (4, '10', 10)",
  );
  await db.close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("typed query", () => {
  it("tells no row, NULL, '' and numbers apart", async () => {
    const steps = CASES.map(([id, cond]) => `  step "${id}" when ${cond} {\n    note "ran"\n  }`).join("\n");
    const source = `runbook "typed" version "1.0.0"\ndatabase appdb = sqlite "app.sqlite"\nsection "Q" {\n${steps}\n}\n`;
    const r = await runPlan(planFrom(source), { cwd: dir });
    const got = Object.fromEntries(CASES.map(([id]) => [id, r.steps[id] === "ok"]));
    expect(got).toEqual(Object.fromEntries(CASES.map(([id, , runs]) => [id, runs])));
  });
});
