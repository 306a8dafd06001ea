// A dry run's three verdicts, end to end through the command (local steps only):
// "would run" (exit 0) only when every check was made and held; "would fail"
// (exit 1) when one failed; "not verified" (exit 1) when one could not be made.
// Values unknown until an earlier step runs are counted apart and never fail it.
// The last line counts checked / failed / not verified.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

const header = `runbook "v" version "1.0.0"\n`;

const lastLine = (stdout: string) => stdout.trimEnd().split("\n").at(-1);

describe("dry-run verdicts", () => {
  it.each([
    {
      name: "every guard and probe evaluated and held: would run",
      src: `step "S" as s when succeeds "true" {\n  require output "echo ok" == "ok"\n  run "touch never"\n}\n`,
      flags: [],
      code: 0,
      verdict: "verdict: would run (2 checked, 0 failed, 0 not verified)",
      last: "dry run: would run: 2 checked, 0 failed, 0 not verified (steps: 1 ok)",
    },
    {
      name: "a guard that is false: would fail",
      src: `step "S" as s {\n  require succeeds "false" else "the check failed"\n  run "touch never"\n}\n`,
      flags: [],
      code: 1,
      verdict: "verdict: would fail (0 checked, 1 failed, 0 not verified)",
      last: "dry run: would fail: 0 checked, 1 failed, 0 not verified (steps: 0 ok, 1 failed)",
    },
    {
      name: "a probe that could not be evaluated: not verified",
      src: `param pat = "x"\nstep "S" as s when output "echo x" matches pat {\n  run "touch never"\n}\n`,
      flags: ["--set", "pat=["],
      code: 1,
      verdict: "verdict: not verified (0 checked, 0 failed, 1 not verified)",
      last: "dry run: not verified: 0 checked, 0 failed, 1 not verified (steps: 1 ok)",
    },
    {
      name: "probes not run (--no-probe): not verified",
      src: `step "S" as s when succeeds "true" {\n  run "touch never"\n}\n`,
      flags: ["--no-probe"],
      code: 1,
      verdict: "verdict: not verified (0 checked, 0 failed, 1 not verified)",
      last: "dry run: not verified: 0 checked, 0 failed, 1 not verified (steps: 1 ok)",
    },
    {
      name: "a value unknown until an earlier step runs is counted apart: would run",
      src: `step "Make" as make { run "echo 'a = 1' > conf.txt" }\nstep "Edit" as edit_conf { edit "conf.txt" { replace "a = 1" with "a = 2" } }\n`,
      flags: [],
      code: 0,
      verdict: "verdict: would run (0 checked, 0 failed, 0 not verified, 1 unknown until an earlier step runs)",
      last: "dry run: would run: 0 checked, 0 failed, 0 not verified, 1 unknown until an earlier step runs (steps: 2 ok)",
    },
  ])("$name", async ({ src, flags, code, verdict, last }) => {
    const r = await cli().file("v.rb", header + src).args("run", "v.rb", "--no-tui", "--dry-run", ...flags).run();
    expect(r.code).toBe(code);
    expect(r.stdout).toContain(verdict);
    expect(lastLine(r.stdout)).toBe(last);
    expect(existsSync(join(r.dir, "never"))).toBe(false);
  });

  it("lists what failed and what could not be checked, with the step", async () => {
    const src = `${header}param pat = "x"\nstep "A" as a when output "echo x" matches pat { note "a" }\nstep "B" as b { require succeeds "false" else "B is not ready" }\n`;
    const r = await cli().file("v.rb", src).args("run", "v.rb", "--no-tui", "--dry-run", "--set", "pat=[").run();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ {2}failed: \[b\] step b: B is not ready\n/);
    expect(r.stdout).toMatch(/ {2}not verified: \[a\] when output "echo x" matches pat: cannot be evaluated: not a regular expression: \[\n/);
    expect(r.stderr).toContain("runbook: step b failed: B is not ready (a real run would stop here)");
  });

  it("a secret that is not set, needed by a step whose run-time guard held: would fail, as the real run would (issue 16)", async () => {
    const src = `${header}secret pw = env "V_UNSET_PASSWORD"\nstep "Deploy" as deploy when succeeds "true" {\n  run "echo \${pw} > never"\n}\n`;
    const dry = await cli().file("v.rb", src).args("run", "v.rb", "--no-tui", "--dry-run").run();
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/ {2}failed: \[deploy\] step deploy: secret pw is not set: environment variable V_UNSET_PASSWORD is not set\n/);
    expect(lastLine(dry.stdout)).toMatch(/^dry run: would fail: /);
    // Decided by the dry run itself once the guard held: not also "unknown until an earlier step runs".
    expect(dry.stdout).not.toContain("unknown until an earlier step runs: [deploy] secret pw");
    expect(lastLine(dry.stdout)).not.toContain("unknown");
    // The real run: the same step fails the same way.
    const real = await cli(dry.dir).args("run", "v.rb", "--no-tui").run();
    expect(real.code).toBe(1);
    expect(real.stderr).toContain("step deploy failed: secret pw is not set: environment variable V_UNSET_PASSWORD is not set");
    expect(existsSync(join(dry.dir, "never"))).toBe(false);
  });

  it("NDJSON has the preflight's events and the verdict", async () => {
    const src = `${header}secret tok = env "V_TOKEN"\nstep "S" as s { run "echo \${tok}" }\n`;
    const r = await cli().file("v.rb", src).env({ V_TOKEN: "s3cr3t-value" }).args("run", "v.rb", "--json", "--dry-run").run();
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(["run-started", "preflight-started", "preflight-target", "preflight-finished"]);
    expect(events[2]).toMatchObject({ stepId: null, target: "secret:tok", kind: "secret", name: "tok", status: "ok" });
    expect(events[3]).toMatchObject({ counts: { ok: 1, failed: 0, "not-checked": 0, deferred: 0 } });
    expect(types.at(-2)).toBe("dry-run-verdict");
    expect(events.at(-2)).toMatchObject({ verdict: "would-run", checked: 1, failed: [], notVerified: [], pending: [] });
    expect(r.stdout).not.toContain("s3cr3t-value");
  });
});

describe("secrets a run may not need", () => {
  it.each([
    { name: "only by a step a run-time guard may skip: read then, not a failure", guard: `when succeeds "false"`, use: `run "echo \${tok}"`, code: 0 },
    { name: "by the guard itself: needed for sure", guard: `when output "echo \${tok}" == "x"`, use: `run "true"`, code: 1 },
  ])("a missing secret used $name", async ({ guard, use, code }) => {
    const src = `${header}secret tok = env "V_UNSET_TOKEN"\nstep "S" as s ${guard} { ${use} }\n`;
    const r = await cli().file("v.rb", src).args("run", "v.rb", "--no-tui").run();
    expect(r.code).toBe(code);
    if (code === 0) expect(r.stdout).toContain("preflight: secret tok checked when needed: secret tok is not set: environment variable V_UNSET_TOKEN is not set; needed only if a run-time guard lets step s run (read then)");
    else expect(r.stderr).toContain("secret tok is not set: environment variable V_UNSET_TOKEN is not set; nothing was run");
  });
});
