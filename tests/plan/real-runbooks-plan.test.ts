// Plans of what real runbooks need (issue 17, part 2): golden text plans of
// tests/language/golden/real-runbooks/valid.rb in each env, where a captured value shows
// as "known after step X", a host value as <host.…> and a group member's own values
// beside it; and what a plan holds of them as data. A missing golden fails under CI=true.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../../language/compile.js";
import { buildPlan } from "../../runtime/planner.js";
import { renderPlanText } from "../../cli/views/plan.js";
import type { Plan } from "../../runtime/plan.js";

const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, "../language/golden/real-runbooks/valid.rb");
const update = process.env.UPDATE_GOLDEN === "1";

function planOf(env: string): Plan {
  const { runbook, diagnostics } = compile(file);
  expect(diagnostics).toEqual([]);
  const r = buildPlan(runbook!, { env, runId: "RUN1" });
  if ("error" in r) throw new Error(r.error);
  return r.plan;
}

function golden(name: string, actual: string): void {
  const path = join(here, "golden", name);
  if (!existsSync(path)) {
    if (process.env.CI === "true") throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(path, actual);
  } else if (update) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("plans of real runbooks", () => {
  it.each(["staging", "prod"])("golden plan in env %s", (env) => {
    golden(`real-runbooks.${env}.txt`, renderPlanText(planOf(env)).replaceAll(dirname(file), "<dir>"));
  });

  it("keeps captures, late values and member values as data, never a secret's value", () => {
    const plan = planOf("prod");
    const before = plan.steps.find((s) => s.id === "before")!;
    expect(before.actions.map((a) => ("into" in a ? a.into : undefined))).toEqual([
      { name: "revision_before", secret: false },
      { name: "last_order", secret: false },
      { name: "session_key", secret: true },
      undefined,
    ]);
    expect(plan.hosts.web!.values).toEqual([
      { role: "primary", weight: "3" },
      { role: "replica", weight: "1" },
    ]);
    expect(plan.secrets).toEqual([{ name: "api_token", source: "command", ref: "pass show prod/api" }]);
    const configure = plan.steps.find((s) => s.id === "configure")!;
    const run = configure.actions.find((a) => a.kind === "run")!;
    expect(run.kind === "run" && run.command.filter((p) => typeof p !== "string").map((p) => ("late" in p ? p.late : p))).toEqual([
      { kind: "host", member: "name" },
      { kind: "host", member: "address" },
      { kind: "host", member: "user" },
      { kind: "host", member: "role" },
      { kind: "host", member: "weight" },
      { kind: "captured", name: "revision_before", step: "before", secret: false },
    ]);
    expect(configure.actions.find((a) => a.kind === "upload")).toMatchObject({ kind: "upload", template: true, from: "app.conf.tpl", to: "/srv/app/app.conf" });
  });

  it("refuses a capture in a step on a group, naming the env where the host is one", () => {
    const { runbook } = compile("/virtual/g.rb", `runbook "g" version "1.0.0"\nhost web = "a@w1"\nenv one {\n}\nenv many {\n  host web = ["a@w1", "a@w2"]\n}\nstep "S" on web { run "cat REV" into rev }\n`);
    expect(buildPlan(runbook!, { env: "one" })).not.toHaveProperty("error");
    expect(buildPlan(runbook!, { env: "many" })).toEqual({ error: expect.stringMatching(/^\/virtual\/g\.rb:8:\d+: `into rev` is in a step on web, a host group in env many/) });
  });
});
