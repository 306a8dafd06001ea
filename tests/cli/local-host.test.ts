// `host NAME = local` (the machine running the runbook) and `run … as "${value}"`
// (the user as a value): what the checker accepts and refuses, what the planner
// makes of steps, probes and databases on a local host, and real runs through
// the CLI: nothing reached over SSH, `as` the user runbook runs as without sudo,
// and a local SQLite file that an earlier local step makes is not a preflight
// failure.
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { format } from "../../language/format.js";
import type { Plan } from "../../runtime/plan.js";
import { buildPlan } from "../../runtime/planner.js";
import { preflightTargets } from "../../runtime/preflight.js";
import { cli } from "../support/cli.js";
import { planFrom } from "../runtime/helpers.js";

const HEADER = `runbook "l" version "1.0.0"\n`;

const WORLD = `${HEADER}default env here
var runner = "root"
host portal = "ops@203.0.113.9"
secret token = env "TOKEN"
database appdb = sqlite "app.sqlite" on portal
database remote = mysql "mysql://u@127.0.0.1:3306/d" via portal
env here {
  host portal = local
  var runner = "\${run.user}"
}
env there {}
step "On portal" as on_portal on portal when exists "marker" on portal {
  require succeeds "true" on portal
  run "id -un > who" as "\${runner}"
  sql appdb "CREATE TABLE IF NOT EXISTS t (a)"
}
step "Sync" as sync_it when env == "there" {
  sync appdb from here.appdb
}
`;

const plan = (env: string): Plan => planFrom(WORLD, { env });

describe("the checker and the formatter", () => {
  it("accepts a local host and a user given as a value", () => {
    const r = compileSource(WORLD, "w.rb");
    expect(r.diagnostics).toEqual([]);
  });

  it.each([
    ["a word other than local", `${HEADER}host portal = remote\n`, "2:15", "expected a host after `=`: `\"user@address\"`, a list of them, or `local` (this machine), not name `remote`"],
    ["nothing", `${HEADER}host portal =\n`, "2:14", "expected a host after `=`: `\"user@address\"`, a list of them, or `local` (this machine), not end of file"],
    ["an unknown name as the user", `${HEADER}step "S" {\n  run "id" as "\${nobody_knows}"\n}\n`, "3:16", "unknown name"],
    ["a secret as the user", `${HEADER}secret token = env "T"\nstep "S" {\n  run "id" as "\${token}"\n}\n`, "4:16", "secret"],
  ])("refuses %s", (_what, source, at, message) => {
    const errors = compileSource(source, "x.rb").diagnostics.filter((d) => d.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(`${errors[0]!.span.line}:${errors[0]!.span.column}`).toBe(at);
    expect(errors[0]!.message).toContain(message);
  });

  it("`local` is still a name everywhere else", () => {
    const src = `${HEADER}var local = "x"\nhost h = local\nstep "S" {\n  note "\${local}"\n}\n`;
    expect(compileSource(src, "x.rb").diagnostics).toEqual([]);
  });

  it("formats a local host as written", () => {
    const src = `${HEADER}host   portal  =   local\n`;
    expect(format(src).output).toBe(`${HEADER}\nhost portal = local\n`);
  });
});

describe("the planner", () => {
  it("plans steps, probes and databases on a local host as this machine's; the other env keeps the host", () => {
    const here = plan("here");
    const step = here.steps.find((s) => s.id === "on_portal")!;
    expect(step.host).toBeUndefined();
    expect(step.guards[0]!.cond).toMatchObject({ kind: "value", value: { kind: "exists" } });
    expect((step.guards[0]!.cond as { value: { host?: string } }).value.host).toBeUndefined();
    expect(step.actions[0]).toMatchObject({ kind: "require", cond: { value: { kind: "succeeds" } } });
    expect((step.actions[0] as { cond: { value: { host?: string } } }).cond.value.host).toBeUndefined();
    expect(step.actions[1]).toMatchObject({ kind: "run", as: "${run.user}" });
    expect(here.hosts).toEqual({ portal: { name: "portal", targets: [], group: false, local: true } });
    expect(here.databases.appdb).toEqual({ name: "appdb", engine: "sqlite", path: "app.sqlite" });
    expect(here.databases.remote).toEqual({ name: "remote", engine: "mysql", url: "mysql://u@127.0.0.1:3306/d" });

    const there = plan("there");
    const far = there.steps.find((s) => s.id === "on_portal")!;
    expect(far.host).toBe("portal");
    expect(far.actions[1]).toMatchObject({ kind: "run", as: "root" });
    expect(there.hosts).toEqual({ portal: { name: "portal", targets: ["ops@203.0.113.9"], group: false } });
    expect(there.databases.appdb).toMatchObject({ host: "portal" });
    expect(there.databases.remote).toMatchObject({ via: "portal" });
    // Another env's database on its local host is a local file, and no host is planned for it.
    expect(there.foreignDatabases["here.appdb"]).toEqual({ name: "appdb", engine: "sqlite", path: "app.sqlite", env: "here" });
  });

  it("`runbook plan` shows the local host as this machine, and its steps as local ones", async () => {
    const r = await cli().file("w.rb", WORLD).args("plan", "w.rb", "--env", "here").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Hosts:\n  portal = local (this machine)\n");
    expect(r.stdout).toMatch(/ 1\. on_portal: On portal\n/);
    const there = await cli().file("w.rb", WORLD).args("plan", "w.rb", "--env", "there").run();
    expect(there.stdout).toContain("Hosts:\n  portal = ops@203.0.113.9\n");
    expect(there.stdout).toMatch(/ 1\. on_portal on portal: On portal\n/);
  });

  it("fills in the user of `as` from the run's values", () => {
    const r = compileSource(WORLD, "w.rb");
    const built = buildPlan(r.runbook!, { env: "here", sets: {}, runId: "R", builtins: { "run.user": "alice" } });
    if ("error" in built) throw new Error(built.error);
    expect(built.plan.steps[0]!.actions[1]).toMatchObject({ kind: "run", as: "alice" });
  });
});

describe("the preflight of a local host", () => {
  it("reaches no host for it, and asks sudo only for a user other than the one running", () => {
    const me = userInfo().username;
    const other = me === "nobody" ? "root" : "nobody";
    const p = planFrom(`${HEADER}host here = local\nstep "A" as a on here {\n  run "id" as "${me}"\n  run "id" as "${other}"\n}\n`);
    expect(preflightTargets(p, p.steps, "/work").map((t) => [t.kind, t.name])).toEqual([["sudo", `${other} on this machine`]]);
  });
});

describe("runs on a local host", () => {
  it("a real run: every step here, no host reached, `as` the user runbook runs as needs no sudo", async () => {
    const me = userInfo().username;
    const r = await cli().file("w.rb", WORLD).file("marker", "").args("run", "w.rb", "--no-tui", "--yes").run();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.dir, "who"), "utf8")).toBe(`${me}\n`);
    expect(r.stdout).not.toMatch(/preflight: (host|sudo)/);
    expect(r.stdout).not.toContain("203.0.113.9");
    expect(r.stdout).toContain(`(as ${me})`);
  });

  it("`as` the user runbook runs as is spawned without sudo (an empty PATH has no sudo, and the run still works)", async () => {
    const src = `${HEADER}var u = "\${run.user}"\nhost here = local\nstep "S" on here {\n  run "echo ok > out" as "\${u}"\n}\n`;
    const r = await cli().file("s.rb", src).env({ PATH: "/nonexistent" }).args("run", "s.rb", "--no-tui").run();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.dir, "out"), "utf8")).toBe("ok\n");
  });

  it("a local SQLite file that an earlier local step makes is checked when needed; without that step the preflight fails", async () => {
    const make = `${HEADER}database made = sqlite "made.sqlite"
database seed = sqlite "seed.sqlite"
step "Seed" as seed { sql seed "CREATE TABLE t (a); INSERT INTO t VALUES (1)" }
step "Copy" as copy { run "cp seed.sqlite made.sqlite" }
step "Read" as read { require query made "SELECT count(*) FROM t" == 1 }
`;
    const ok = await cli().file("m.rb", make).args("run", "m.rb", "--no-tui").run();
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/preflight: database made checked when needed: made\.sqlite does not exist yet: unknown until step copy runs/);

    const without = make.replace(`step "Seed" as seed { sql seed "CREATE TABLE t (a); INSERT INTO t VALUES (1)" }\nstep "Copy" as copy { run "cp seed.sqlite made.sqlite" }\n`, "");
    const failed = await cli().file("m.rb", without).args("run", "m.rb", "--no-tui").run();
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/preflight: database made failed: SQLite database \/\S*\/made\.sqlite does not exist/);
  });
});
