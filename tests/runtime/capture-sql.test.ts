// `sql DB "select …" into NAME` against a real SQLite file: the first column of the
// first row is captured (as text) and used by a later command as a value; a query that
// gives no row or NULL fails its step, for there is nothing to keep.

import { describe, expect, it } from "vitest";
import { planFrom, runPlan, tempDir } from "./helpers.js";

const src = (query: string) => `runbook "q" version "1.0.0"
database appdb = sqlite "app.sqlite"
step "Seed" as seed { sql appdb "create table orders (id integer, note text); insert into orders values (41, 'a'), (42, 'it''s; $(x)')" }
step "Last" as last { sql appdb "${query}" into last_order }
step "Use" as use { run "printf '[%s]' \${last_order}" }
`;

describe("capturing a query's value", () => {
  it.each([
    ["a number", "select max(id) from orders", "[42]"],
    ["text with shell syntax", "select note from orders where id = 42", "[it's; $(x)]"],
  ])("captures %s and hands it to a later command as a value", async (_n, query, shown) => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(src(query)), { cwd });
    expect(r.error ?? "").toBe("");
    expect(r.steps).toEqual({ seed: "ok", last: "ok", use: "ok" });
    expect(r.output.use).toBe(shown);
    expect(r.events.find((e) => e.type === "captured")).toMatchObject({ stepId: "last", name: "last_order", secret: false, value: shown.slice(1, -1) });
  });

  it.each([
    ["no row", "select id from orders where id = 0"],
    ["NULL", "select max(id) from orders where id = 0"],
  ])("fails its step when the query gives %s", async (what, query) => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(src(query)), { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.finished.last!.reason).toBe(`nothing to capture into last_order: the query gave ${what}`);
    expect(r.steps.use).toBeUndefined();
  });
});
