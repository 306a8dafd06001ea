import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DriverError, type HostDriver } from "../../runtime/drivers/driver.js";
import { LocalDriver } from "../../runtime/drivers/local.js";
import { countQuery } from "../../runtime/actions/sql.js";
import { flagInteraction } from "../../runtime/interaction/flags.js";
import { localHosts, planFrom, runPlan, scripted, tempDir, treeHash } from "./helpers.js";
import { alive } from "../support/process.js";

const header = `runbook "t" version "1.0.0"\n`;

describe("executor: a plain run", () => {
  it("runs the steps in order, streams output, and succeeds", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}
param who = "world"
section "One" {
  step "Greet" { run "echo hello \${who} > greeting.txt; cat greeting.txt" }
  step "Count" as count { run "printf 'one\\ntwo\\n'; echo oops >&2" }
}
finally {
  step "Bye" { run "echo bye" }
}
`);
    const r = await runPlan(plan, { cwd });
    expect(r).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(r.steps).toEqual({ greet: "ok", count: "ok", bye: "ok" });
    expect(readFileSync(join(cwd, "greeting.txt"), "utf8")).toBe("hello world\n");
    expect(r.output).toEqual({ greet: "hello world\n", count: "one\ntwo\noops\n", bye: "bye\n" });
    const types = r.events.map((e) => e.type);
    expect(types[0]).toBe("run-started");
    expect(types.at(-1)).toBe("run-finished");
    const order = r.events.filter((e) => e.type === "step-started" || e.type === "step-finished").map((e) => `${e.type}:${"stepId" in e ? e.stepId : ""}`);
    expect(order).toEqual(["step-started:greet", "step-finished:greet", "step-started:count", "step-finished:count", "step-started:bye", "step-finished:bye"]);
    const stderr = r.events.find((e) => e.type === "output" && e.stream === "stderr");
    expect(stderr).toMatchObject({ stepId: "count", text: "oops\n" });
  });

  it("a value from --set with shell syntax stays one word", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}param msg = "x"\nstep "Echo" { run "printf '%s|' \${msg}" }\n`, { sets: { msg: "'; touch pwned #" } });
    const r = await runPlan(plan, { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.output.echo).toBe("'; touch pwned #|");
    expect(existsSync(join(cwd, "pwned"))).toBe(false);
  });
});

describe("executor: skips and guards", () => {
  it.each([
    ["static when", `env dev {\n}\nenv prod {\n}\nstep "S" when env == "prod" { run "touch ran" }`, /when env == "prod" is false in env dev/],
    ["probe when", `step "S" when exists "flag" { run "touch ran" }`, /when exists "flag" is false/],
    ["probe unless", `step "S" unless succeeds "true" { run "touch ran" }`, /unless succeeds "true" is true/],
    ["output probe", `step "S" when output "echo blue" == "red" { run "touch ran" }`, /is false/],
  ])("%s skips with the reason", async (_name, step, reason) => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(`${header}${step}\n`), { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.finished.s).toMatchObject({ status: "skipped" });
    expect(r.finished.s!.reason).toMatch(reason);
    expect(existsSync(join(cwd, "ran"))).toBe(false);
  });

  it("a probe guard that holds runs the step", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "flag"), "");
    const r = await runPlan(planFrom(`${header}step "S" when exists "flag" and output "echo 3" >= 2 { run "touch ran" }\n`), { cwd });
    expect(r.steps).toEqual({ s: "ok" });
    expect(existsSync(join(cwd, "ran"))).toBe(true);
    expect(r.events.find((e) => e.type === "guard")).toMatchObject({ result: true });
  });

  it("require fails the step before anything else runs", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "S" {\n  run "touch ran"\n  require exists "needed" else "the needed file is missing"\n}\nstep "T" { run "touch t" }\n`);
    const r = await runPlan(plan, { cwd, onFailure: "stop" });
    expect(r).toMatchObject({ status: "failed", exitCode: 1 });
    expect(r.finished.s).toMatchObject({ status: "failed", reason: "the needed file is missing" });
    expect(existsSync(join(cwd, "ran"))).toBe(false);
    expect(r.steps.t).toBeUndefined();
  });
});

describe("executor: failures", () => {
  it("a non-zero exit fails the step and stops the run; finally still runs", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" { run "exit 7" }\nstep "B" { run "touch b" }\nfinally {\n  step "F" { run "touch f" }\n}\n`);
    const r = await runPlan(plan, { cwd });
    expect(r).toMatchObject({ status: "failed", exitCode: 1 });
    expect(r.finished.a).toMatchObject({ status: "failed", exitCode: 7 });
    expect(r.error).toMatch(/step a failed: the command exited with status 7/);
    expect(existsSync(join(cwd, "b"))).toBe(false);
    expect(r.steps.f).toBe("ok");
  });

  it("the operator may retry, then the step succeeds", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "Flaky" { run "if [ -f once ]; then echo second; else touch once; exit 1; fi" }\n`);
    const interaction = scripted({ failures: ["retry"] });
    const r = await runPlan(plan, { cwd, interaction });
    expect(r.exitCode).toBe(0);
    expect(r.finished.flaky).toMatchObject({ status: "ok", attempt: 2 });
    expect(interaction.asked).toEqual(["failure:flaky:the command exited with status 1"]);
    expect(r.events.find((e) => e.type === "failure-choice")).toMatchObject({ choice: "retry" });
  });

  it("the operator may skip a failed step and go on", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" { run "false" }\nstep "B" { run "touch b" }\n`);
    const r = await runPlan(plan, { cwd, interaction: scripted({ failures: ["skip"] }) });
    expect(r.exitCode).toBe(0);
    expect(r.finished.a).toMatchObject({ status: "skipped" });
    expect(r.finished.a!.reason).toMatch(/skipped by the operator/);
    expect(existsSync(join(cwd, "b"))).toBe(true);
  });

  it("retry N every D retries by itself", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "R" {\n  run "echo x >> tries; [ $(wc -l < tries) -ge 3 ]"\n  retry 3 every 100ms\n}\n`);
    const r = await runPlan(plan, { cwd });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cwd, "tries"), "utf8")).toBe("x\nx\nx\n");
    expect(r.finished.r).toMatchObject({ status: "ok", attempt: 3 });
    expect(r.events.filter((e) => e.type === "step-started").map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2, 3]);
  });

  it("allow failure marks the step ok with the reason", async () => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(`${header}step "A" {\n  run "exit 4"\n  allow failure\n}\nstep "B" { run "true" }\n`), { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.finished.a).toMatchObject({ status: "ok" });
    expect(r.finished.a!.reason).toMatch(/^failed, allowed: the command exited with status 4/);
  });

  it("timeout kills the command", async () => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(`${header}step "Slow" {\n  run "sleep 20"\n  timeout 300ms\n}\n`), { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.finished.slow!.reason).toMatch(/timed out after 300ms/);
  });

  it("a lost connection is told in words", async () => {
    const cwd = tempDir();
    // Reached by the preflight (its first command), lost during the step.
    let calls = 0;
    const local = new LocalDriver({ cwd });
    const broken: HostDriver = Object.assign(Object.create(local), {
      label: "portal",
      exec: async (...args: Parameters<HostDriver["exec"]>) => {
        if (calls++ === 0) return local.exec(...args);
        throw new DriverError("connection to portal lost", "connection-lost");
      },
    });
    const plan = planFrom(`${header}host portal = "u@example.org"\nstep "Deploy it" on portal { run "true" }\n`);
    const r = await runPlan(plan, { cwd, connections: localHosts(cwd, { portal: [broken] }) });
    expect(r.exitCode).toBe(1);
    expect(r.finished["deploy-it"]!.reason).toBe("connection to portal lost during 'Deploy it'");
  });
});

describe("executor: rollback", () => {
  const source = `${header}
step "A" {
  run "echo do-a >> log"
  undo "echo undo-a >> log"
}
step "B" {
  edit "conf.py" { replace "migrate = False" with "migrate = True" }
  run "echo do-b >> log"
  undo "echo undo-b >> log"
}
step "Plain" { run "echo do-plain >> log" }
step "C" {
  edit "other.py" { replace "x = 1" with "x = 2" }
  run "echo do-c >> log; exit 1"
  undo "echo undo-c >> log"
}
finally {
  step "F" { run "echo finally >> log" }
}
`;

  it.each([
    ["--on-failure rollback", { onFailure: "rollback" as const }],
    ["the operator chooses rollback", { interaction: scripted({ failures: ["rollback"] }) }],
  ])("%s undoes completed steps in reverse order and restores edits, then finally", async (_name, extra) => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "conf.py"), "migrate = False\n");
    writeFileSync(join(cwd, "other.py"), "x = 1\n");
    const r = await runPlan(planFrom(source), { cwd, ...extra });
    expect(r).toMatchObject({ status: "failed", exitCode: 1 });
    expect(readFileSync(join(cwd, "log"), "utf8")).toBe("do-a\ndo-b\ndo-plain\ndo-c\nundo-b\nundo-a\nfinally\n");
    expect(readFileSync(join(cwd, "conf.py"), "utf8")).toBe("migrate = False\n");
    expect(readFileSync(join(cwd, "other.py"), "utf8")).toBe("x = 1\n");
    expect(r.events.find((e) => e.type === "rollback-started")).toMatchObject({ steps: ["c", "b", "a"] });
    expect(r.events.filter((e) => e.type === "rollback-step").map((e) => `${(e as { stepId: string }).stepId}:${(e as { status: string }).status}`)).toEqual([
      "c:ok",
      "b:ok",
      "a:ok",
    ]);
    expect(r.steps).toMatchObject({ a: "rolled-back", b: "rolled-back", plain: "ok", c: "failed", f: "ok" });
  });

  it("an edit whose write failed has nothing to restore", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "conf.py"), "migrate = False\n");
    const readOnly: HostDriver = Object.assign(Object.create(new LocalDriver({ cwd })), {
      label: "portal",
      writeFile: async () => {
        throw new DriverError("cannot write conf.py on portal: permission denied", "permission");
      },
    });
    const plan = planFrom(`${header}host portal = "u@example.org"\nstep "Edit" as change on portal {\n  edit "conf.py" { replace "migrate = False" with "migrate = True" }\n}\n`);
    const r = await runPlan(plan, { cwd, onFailure: "rollback", connections: localHosts(cwd, { portal: [readOnly] }) });
    expect(r.finished.change).toMatchObject({ status: "failed", reason: "cannot write conf.py on portal: permission denied" });
    expect(r.events.find((e) => e.type === "rollback-started")).toMatchObject({ steps: [] });
    expect(r.events.filter((e) => e.type === "rollback-step")).toEqual([]);
    expect(r.events.filter((e) => e.type === "note").map((e) => (e as { text: string }).text)).toEqual(["rollback complete: nothing had changed"]);
  });

  it("says truly what a rollback undid and what stays: never 'rolled back' while something stays", async () => {
    const cwd = tempDir();
    const db = join(cwd, "app.sqlite");
    const plan = planFrom(`${header}database d = sqlite ${JSON.stringify(db)}
step "First" as first {
  sql d "CREATE TABLE t (n INT)"
  undo "echo undo-first"
}
step "Second" as second {
  run "echo two"
}
step "Third" as third {
  run "echo three"
  sql d """
    INSERT INTO t VALUES (1);
    INSERT INTO nosuch VALUES (1)
    """
}
`);
    const r = await runPlan(plan, { cwd, onFailure: "rollback" });
    expect(r.exitCode).toBe(1);
    expect(r.finished.third?.reason).toBe(
      `statement 2 of 2 (/virtual/test.rb:14, INSERT INTO nosuch VALUES (1)) failed: d: no such table: nosuch; statement 1 was rolled back: nothing of this sql stays applied`,
    );
    const summary = r.events.filter((e) => e.type === "note").map((e) => (e as { text: string }).text).pop();
    expect(summary).toBe(
      "rollback incomplete: undone: first; not undone: third (failed part-way: action 1 of 2 ran ($ echo three)); nothing to undo: second (it has no undo: what it changed stays)",
    );
    expect(r.error).toContain("; rollback incomplete: not undone: third");
    expect(r.error).not.toContain("rolled back;");
    expect(r.error?.endsWith("rolled back")).toBe(false);
    const rows = await (await import("../../runtime/drivers/sqlite.js")).openSqlite(db).query("SELECT count(*) AS n FROM t");
    expect(rows).toEqual([{ n: 0 }]);
  });

  it("says 'rolled back' when every change was undone", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "First" as first {
  run "echo one"
  undo "echo undo-one"
}
step "Second" as second {
  require 1 == 2
  run "echo two"
}
`);
    const r = await runPlan(plan, { cwd, onFailure: "rollback" });
    expect(r.error).toMatch(/; rolled back$/);
    expect(r.events.filter((e) => e.type === "note").map((e) => (e as { text: string }).text)).toEqual(["rollback complete: undone: first"]);
  });

  it("a command that failed part-way is never called undone: what it changed is not known", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "First" as first {\n  run "echo one"\n  undo "echo undo-one"\n}\nstep "Second" as second {\n  run "touch half-done && exit 3"\n}\n`);
    const r = await runPlan(plan, { cwd, onFailure: "rollback" });
    const summary = r.events.filter((e) => e.type === "note").map((e) => (e as { text: string }).text).pop();
    expect(summary).toBe(
      "rollback incomplete: undone: first; not undone: second (failed part-way: action 1 of 1 ($ touch half-done && exit 3) failed: what it changed before failing is not known)",
    );
    expect(r.error).toMatch(/; rollback incomplete: not undone: second/);
  });
});

describe("executor: edits", () => {
  it("replaces each text exactly once, emits the diff, keeps the mode", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "db.py"), "a = 1\nmigrate = False\nb = 2\n", { mode: 0o640 });
    const r = await runPlan(planFrom(`${header}step "E" {\n  edit "db.py" { replace "migrate = False" with "migrate = True" }\n}\n`), { cwd });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cwd, "db.py"), "utf8")).toBe("a = 1\nmigrate = True\nb = 2\n");
    const diff = r.events.find((e) => e.type === "diff") as { diff: string } | undefined;
    expect(diff?.diff).toContain("-migrate = False\n+migrate = True");
  });

  it.each([
    ["no match", "a = 1\n", `replace "zzz" with "y"`, /"zzz" is not in f.txt/],
    ["two matches", "x x\n", `replace "x" with "y"`, /"x" is in f.txt 2 times \(use `replace all`/],
  ])("%s fails the step and leaves the file alone", async (_n, content, replace, message) => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "f.txt"), content);
    const r = await runPlan(planFrom(`${header}step "E" {\n  edit "f.txt" { ${replace} }\n}\n`), { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.finished.e!.reason).toMatch(message);
    expect(readFileSync(join(cwd, "f.txt"), "utf8")).toBe(content);
  });

  it("replace all changes every one", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "f.txt"), "x x x\n");
    const r = await runPlan(planFrom(`${header}step "E" {\n  edit "f.txt" { replace all "x" with "\\$y" }\n}\n`), { cwd });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cwd, "f.txt"), "utf8")).toBe("$y $y $y\n");
  });
});

describe("executor: confirmations and manual steps", () => {
  it("asks the env's confirmation once, before the first step", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}env prod {\n  confirm "Signed off?"\n}\nstep "A" { run "true" }\nstep "B" { confirm "Go on?" }\n`);
    const interaction = scripted();
    const r = await runPlan(plan, { cwd, interaction });
    expect(r.exitCode).toBe(0);
    expect(interaction.asked).toEqual(["confirm:env:Signed off?", "confirm:b:Go on?"]);
  });

  it("no aborts the run with exit 3, and finally runs", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" { confirm "Really?" }\nstep "B" { run "touch b" }\nfinally {\n  step "F" { run "touch f" }\n}\n`);
    const r = await runPlan(plan, { cwd, interaction: scripted({ confirm: () => false }) });
    expect(r).toMatchObject({ status: "aborted", exitCode: 3 });
    expect(existsSync(join(cwd, "b"))).toBe(false);
    expect(existsSync(join(cwd, "f"))).toBe(true);
  });

  it.each([
    ["unprotected step confirm", `step "Ask" as ask { confirm "Deploy?" }`, "", /step ask \('Ask'\) asks "Deploy\?".*--yes/],
    ["protected step confirm", `step "Ask" as ask { confirm "Deploy?" }`, `env prod {\n  protected\n}\n`, /--approve ask \(the prod env is protected/],
    ["protected env confirm", `step "A" { run "true" }`, `env prod {\n  protected\n  confirm "Signed?"\n}\n`, /the prod env asks "Signed\?".*--approve env/],
    ["manual step", `step "Hand" as hand { manual "Tell the testers" }`, "", /manual \("Tell the testers"\).*--yes/],
  ])("an unanswerable %s fails at once with exit 3 naming the flag", async (_n, step, env, message) => {
    const cwd = tempDir();
    const plan = planFrom(`${header}${env}${step}\nstep "Later" { run "touch later" }\n`);
    const r = await runPlan(plan, { cwd, interaction: flagInteraction({}) });
    expect(r).toMatchObject({ status: "aborted", exitCode: 3 });
    expect(r.error).toMatch(message);
    expect(existsSync(join(cwd, "later"))).toBe(false);
  });

  it.each([
    ["--yes answers in an unprotected env", "", { yes: true }, 0],
    ["--yes does not answer in a protected env", `env prod {\n  protected\n}\n`, { yes: true }, 3],
    ["--approve STEP answers in a protected env", `env prod {\n  protected\n}\n`, { approve: ["ask"] }, 0],
    ["--approve another step does not", `env prod {\n  protected\n}\n`, { approve: ["other"] }, 3],
  ])("%s", async (_n, env, flags, code) => {
    const cwd = tempDir();
    const plan = planFrom(`${header}${env}step "Ask" as ask { confirm "Deploy?" }\nstep "Other" as other { run "true" }\n`);
    const r = await runPlan(plan, { cwd, interaction: flagInteraction(flags) });
    expect(r.exitCode).toBe(code);
  });
});

describe("executor: secrets", () => {
  it("a missing secret fails the run before any step, naming where it was looked for", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}secret tok = env "MY_TOKEN"\nstep "A" { run "touch a" }\nstep "B" { run "echo \${tok}" }\n`);
    const r = await runPlan(plan, { cwd });
    expect(r).toMatchObject({ status: "failed", exitCode: 1 });
    expect(r.error).toMatch(/secret tok is not set: environment variable MY_TOKEN is not set/);
    expect(existsSync(join(cwd, "a"))).toBe(false);
  });

  it("a file secret: ~ expanded, trailing newline dropped, value masked everywhere", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, ".pw"), "Sup3r-Secret-Value\n");
    const plan = planFrom(`${header}secret pw = file "~/.pw"\nstep "Use" as use {\n  run "printf 'pw=%s\\n' \${pw}; printf 'again: %s' \${pw} >&2; exit 1"\n}\n`);
    const r = await runPlan(plan, { cwd, env: { PATH: process.env.PATH, HOME: cwd } });
    expect(r.exitCode).toBe(1);
    expect(r.output.use).toBe("pw=***\nagain: ***");
    const all = JSON.stringify(r.events);
    expect(all).not.toContain("Sup3r-Secret-Value");
    expect(all).toContain("***");
  });

  it("a secret split across output chunks is still masked", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}secret tok = env "TOK"\nstep "Split" as split { run "printf 'tok=abc'; sleep 0.3; printf 'def123-xyz\\n'" }\n`);
    const r = await runPlan(plan, { cwd, env: { PATH: process.env.PATH, TOK: "abcdef123-xyz" } });
    expect(r.exitCode).toBe(0);
    expect(r.output.split).toBe("tok=***\n");
    expect(JSON.stringify(r.events)).not.toContain("abcdef123-xyz");
  });
});

describe("executor: Ctrl-C", () => {
  it("stops the running step's process group, marks it interrupted, runs finally, exit 3", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "Long" as long { run "sleep 30 & echo $! > child.pid; echo started; wait" }\nstep "Next" { run "touch next" }\nfinally {\n  step "F" { run "touch f" }\n}\n`);
    const ac = new AbortController();
    const r = await runPlan(plan, {
      cwd,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === "output" && e.text.includes("started")) setTimeout(() => ac.abort(), 100);
      },
    });
    expect(r).toMatchObject({ status: "interrupted", exitCode: 3 });
    expect(r.steps).toMatchObject({ long: "interrupted", f: "ok" });
    expect(existsSync(join(cwd, "next"))).toBe(false);
    expect(existsSync(join(cwd, "f"))).toBe(true);
    expect(alive(Number(readFileSync(join(cwd, "child.pid"), "utf8")))).toBe(false);
  });
});

describe("executor: wait, note, selection", () => {
  it("wait until polls until the condition holds", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "W" {\n  run "(sleep 0.3; touch ready) > /dev/null 2>&1 &"\n  wait until exists "ready" every 100ms timeout 10s\n  note "ready now"\n}\n`);
    const r = await runPlan(plan, { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.events.find((e) => e.type === "note")).toMatchObject({ text: "ready now" });
  });

  it("wait until gives up after its timeout", async () => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(`${header}step "W" { wait until exists "never" every 100ms timeout 300ms }\n`), { cwd });
    expect(r.exitCode).toBe(1);
    expect(r.finished.w!.reason).toMatch(/exists "never" still did not hold after 300ms/);
  });

  it("wait until checks once more when its timeout runs out, so it sees a condition that came true in the last interval", async () => {
    const cwd = tempDir();
    // Checked at once (false), then not again for 10s: only the last check, when the 1s timeout runs out, can see it.
    const plan = planFrom(`${header}step "W" {\n  run "(sleep 0.1; touch ready) > /dev/null 2>&1 &"\n  wait until exists "ready" every 10s timeout 1s\n}\n`);
    const r = await runPlan(plan, { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.steps.w).toBe("ok");
  });

  it.each([
    ["--from", { fromStep: "b" }, { a: "skipped", b: "ok", c: "ok", f: "ok" }],
    ["--only", { only: ["b"] }, { a: "skipped", b: "ok", c: "skipped", f: "skipped" }],
  ])("%s selects steps", async (_n, sel, expected) => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" { run "true" }\nstep "B" { run "true" }\nstep "C" { run "true" }\nfinally {\n  step "F" { run "true" }\n}\n`);
    const r = await runPlan(plan, { cwd, ...sel });
    expect(r.exitCode).toBe(0);
    expect(r.steps).toEqual(expected);
  });

  it("resume: completed steps are not run; an interrupted one reruns when the operator says so", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" { run "echo a >> log" }\nstep "B" { run "echo b >> log" }\nstep "C" { run "echo c >> log" }\n`);
    const interaction = scripted({ rerun: () => true });
    const r = await runPlan(plan, { cwd, completed: new Set(["a"]), interrupted: new Set(["b"]), interaction });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cwd, "log"), "utf8")).toBe("b\nc\n");
    expect(interaction.asked).toEqual(["rerun:b"]);
    expect(r.steps.a).toBeUndefined();
  });

  it("resume: nobody to say whether to rerun an interrupted step → exit 3", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" { run "echo a >> log" }\nstep "B" { run "echo b >> log" }\n`);
    const r = await runPlan(plan, { cwd, interrupted: new Set(["a"]), interaction: flagInteraction({}) });
    expect(r.exitCode).toBe(3);
    expect(r.error).toMatch(/step a .* was interrupted .* --yes/);
    expect(existsSync(join(cwd, "log"))).toBe(false);
  });
});

describe("executor: values in conditions", () => {
  it("a list-valued var keeps its items for contains and in, when decided statically and at run time", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}var items = ["a b", "c"]
step "Static in" as static_in when "c" in items unless "a" in items { run "touch static_in" }
step "Static contains" as static_contains when items contains "a b" { run "touch static_contains" }
step "Not an item" as not_item when items contains "b" { run "touch not_item" }
step "At run time" as runtime {
  require items contains "a b" else "contains a b"
  require not (items contains "a") else "not contains a"
  require "c" in items and not ("b" in items) else "in"
  require items else "a list with items is true"
  run "touch runtime"
}
`);
    expect(plan.steps.map((s) => s.skip ?? "runs")).toEqual(["runs", "runs", 'when items contains "b" is false in env default', "runs"]);
    const r = await runPlan(plan, { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.steps).toEqual({ static_in: "ok", static_contains: "ok", not_item: "skipped", runtime: "ok" });
  });

  it("durations compare as lengths of time", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}param grace = 90s
step "Static" as static when grace == 1m30s and grace < 2m and grace > 30s and 500ms < 1s { run "touch static" }
step "Run time" as runtime {
  require grace >= 1m and grace != 2m else "durations"
  run "touch runtime"
}
`);
    expect(plan.steps.map((s) => s.skip ?? "runs")).toEqual(["runs", "runs"]);
    const r = await runPlan(plan, { cwd });
    expect(r.steps).toEqual({ static: "ok", runtime: "ok" });
  });

  it("a number is interpolated as it is written", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}param ver = 1.0\nparam code = 007\nstep "S" { run "printf '%s %s' \${ver} \${code}" }\n`);
    const r = await runPlan(plan, { cwd });
    expect(r.output.s).toBe("1.0 007");
  });

  it("a secret in a condition is compared with its value when the step runs, and never shown", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "tok-value-123.flag"), "");
    const plan = planFrom(`${header}secret tok = env "TOK"
step "Check" as check when "\${tok}" == "tok-value-123" {
  require output "printf %s \${tok}" == tok
  require exists "\${tok}.flag"
  run "touch ran"
}
step "Wrong" as wrong { require tok == "other" else "not the token" }
`);
    expect(plan.steps[0]!.skip).toBeUndefined();
    const r = await runPlan(plan, { cwd, onFailure: "stop", env: { PATH: process.env.PATH, TOK: "tok-value-123" } });
    expect(r.steps).toEqual({ check: "ok", wrong: "failed" });
    expect(r.finished.wrong!.reason).toBe("not the token");
    expect(existsSync(join(cwd, "ran"))).toBe(true);
    expect(r.events.find((e) => e.type === "guard")).toMatchObject({ result: true }); // its source is redacted too: the value is written in the runbook
    expect(JSON.stringify(r.events)).not.toContain("tok-value-123");
  });

  it("a secret in a note, a confirmation or a title shows as ***", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}secret tok = env "TOK"\nstep "Use \${tok}" as use {\n  note "token \${tok}"\n  confirm "Is \${tok} right?"\n  run "printf %s \${tok}"\n}\n`);
    const interaction = scripted();
    const r = await runPlan(plan, { cwd, interaction, env: { PATH: process.env.PATH, TOK: "tok-value-123" } });
    expect(r.exitCode).toBe(0);
    expect(plan.steps[0]!.title).toBe("Use ***");
    expect(r.events.find((e) => e.type === "note")).toMatchObject({ text: "token ***" });
    expect(interaction.asked).toEqual(["confirm:use:Is *** right?"]);
    expect(r.output.use).toBe("***");
    expect(JSON.stringify(r.events)).not.toContain("tok-value-123");
  });
});

describe("executor: host groups", () => {
  const group = (cwd: string, n: number) => Array.from({ length: n }, (_, i) => new LocalDriver({ cwd, label: `w${i + 1}` }));

  it("runs on each member, one after another by default; output and host-finished carry the host", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}host workers = ["a@w1", "a@w2", "a@w3"]\nstep "Deploy" as deploy on workers { run "echo deployed" }\n`);
    const r = await runPlan(plan, { cwd, connections: localHosts(cwd, { workers: group(cwd, 3) }) });
    expect(r.exitCode).toBe(0);
    const hosts = r.events.filter((e) => e.type === "host-finished").map((e) => `${(e as { host: string }).host}:${(e as { status: string }).status}`);
    expect(hosts).toEqual(["a@w1:ok", "a@w2:ok", "a@w3:ok"]);
    expect(r.events.filter((e) => e.type === "output").map((e) => (e as { host?: string }).host)).toEqual(["a@w1", "a@w2", "a@w3"]);
  });

  it("no new member starts after one fails; the step fails", async () => {
    const cwd = tempDir();
    const plan = planFrom(
      `${header}host workers = ["a@w1", "a@w2", "a@w3"]\nstep "Deploy" as deploy on workers { run "echo x >> ran; [ $(wc -l < ran) -ne 2 ]" }\n`,
    );
    const r = await runPlan(plan, { cwd, connections: localHosts(cwd, { workers: group(cwd, 3) }) });
    expect(r.exitCode).toBe(1);
    expect(readFileSync(join(cwd, "ran"), "utf8")).toBe("x\nx\n");
    expect(r.finished.deploy!.reason).toMatch(/on a@w2: the command exited with status 1 \(not started on a@w3\)/);
  });

  it("parallel N runs members at once", async () => {
    const cwd = tempDir();
    // Each member waits until all three have started: only possible when they run at once.
    const plan = planFrom(
      `${header}host workers = ["a@w1", "a@w2", "a@w3"]\nstep "P" as p on workers {\n  run "echo x >> started; while [ $(wc -l < started) -lt 3 ]; do sleep 0.05; done"\n  parallel 3\n  timeout 20s\n}\n`,
    );
    const r = await runPlan(plan, { cwd, connections: localHosts(cwd, { workers: group(cwd, 3) }) });
    expect(r.exitCode).toBe(0);
  });
});

describe("executor: dry run", () => {
  it("changes nothing, shows commands with values, diffs edits, marks confirmations", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "db.py"), "migrate = False\n");
    const plan = planFrom(`${header}
param rev = "r547"
secret tok = env "TOK"
step "Pull" { run "echo pulling \${rev} with \${tok} > pulled" }
step "Ask" { confirm "Go?" }
step "Migrate" {
  edit "db.py" { replace "migrate = False" with "migrate = True" }
}
step "Freeze" {
  edit "db.py" { replace "migrate = True" with "migrate = False" }
}
step "Needs pulled" when exists "pulled" { run "cat pulled" }
step "Edit new file" { edit "pulled" { replace "pulling" with "pulled" } }
`);
    const before = treeHash(cwd);
    const interaction = scripted();
    const r = await runPlan(plan, { cwd, dryRun: true, interaction, env: { PATH: process.env.PATH, TOK: "tok-value-123" } });
    expect(treeHash(cwd)).toBe(before);
    expect(r.exitCode).toBe(0);
    expect(interaction.asked).toEqual([]);
    const actions = r.events.filter((e) => e.type === "action").map((e) => (e as { description: string }).description);
    expect(actions).toContain("would run: $ echo pulling r547 with *** > pulled");
    const diffs = r.events.filter((e) => e.type === "diff").map((e) => (e as { diff: string }).diff);
    expect(diffs[0]).toContain("-migrate = False\n+migrate = True");
    expect(diffs[1]).toContain("-migrate = True\n+migrate = False");
    expect(r.events.find((e) => e.type === "confirm")).toMatchObject({ answer: "unanswered", dryRun: true });
    expect(r.events.find((e) => e.type === "guard")).toMatchObject({ result: "unknown", reason: "unknown until step freeze runs" });
    expect(actions.some((d) => /edit pulled: the file does not exist yet: unknown until step needs-pulled runs/.test(d))).toBe(true);
    expect(JSON.stringify(r.events)).not.toContain("tok-value-123");
  });

  it("--no-probe shows guards unevaluated", async () => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(`${header}step "S" when succeeds "touch probed" { run "true" }\n`), { cwd, dryRun: true, probe: false });
    expect(r.events.find((e) => e.type === "guard")).toMatchObject({ result: "unknown" });
    expect(existsSync(join(cwd, "probed"))).toBe(false);
  });

  it("--no-probe still decides what the source alone decides", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}param mode = "fast"
step "Runs" as runs when mode == "fast" or succeeds "touch probed" { run "true" }
step "Fails" as fails {
  require mode == "slow" or exists "probed" else "needs slow mode"
  require mode == "slow" else "needs slow mode"
}
`);
    const r = await runPlan(plan, { cwd, dryRun: true, probe: false });
    expect(r.steps.runs).toBe("ok");
    expect(r.finished.fails).toMatchObject({ status: "failed", reason: "needs slow mode" });
    // the first require needs the probe: shown unevaluated; the second is false from the source alone (shown too, resolved)
    expect(r.events.filter((e) => e.type === "guard" && e.stepId === "fails")).toMatchObject([
      { result: "unknown" },
      { result: false, resolved: 'require "fast" == "slow"' },
    ]);
    expect(existsSync(join(cwd, "probed"))).toBe(false);
  });

  it("a step that would certainly fail stops the dry run with exit 1", async () => {
    const cwd = tempDir();
    const r = await runPlan(planFrom(`${header}step "E" { edit "missing.txt" { replace "a" with "b" } }\n`), { cwd, dryRun: true });
    expect(r.exitCode).toBe(1);
    expect(r.finished.e!.reason).toMatch(/no such file/);
  });
});

describe("countQuery (dry-run row counts)", () => {
  it.each([
    ["DELETE FROM t WHERE id > 3", "SELECT COUNT(*) FROM t WHERE id > 3"],
    ["delete from t", "SELECT COUNT(*) FROM t"],
    ["UPDATE auth_user SET active = 'F' WHERE email LIKE '%where%'", "SELECT COUNT(*) FROM auth_user WHERE email LIKE '%where%'"],
    ["UPDATE t SET x = (SELECT y FROM u WHERE u.id = 1)", "SELECT COUNT(*) FROM t"],
    ["TRUNCATE TABLE logs", "SELECT COUNT(*) FROM logs"],
    ["DELETE FROM t WHERE id > 3 LIMIT 2", undefined],
    ["INSERT INTO t VALUES (1)", undefined],
  ])("%s", (sql, expected) => {
    expect(countQuery(sql, "sqlite")?.sql).toBe(expected);
  });
});

describe("executor: databases (local SQLite)", () => {
  const source = `${header}
database appdb = sqlite "app.db"
step "Fix" as fix when query appdb "SELECT COUNT(*) FROM t WHERE x = 0" > 0 {
  sql appdb "UPDATE t SET x = 1 WHERE x = 0; DELETE FROM t WHERE id = 3"
}
step "Backup" as backup { export appdb to "backups/app.csv" format web2py }
step "Check" as check { require query appdb "SELECT MIN(x) FROM t" == 1 }
`;

  async function makeDb(cwd: string) {
    const { newSqlite } = await import("../db/fixtures.js");
    const db = await newSqlite(join(cwd, "app.db"), "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER); INSERT INTO t VALUES (1, 0), (2, 0), (3, 1), (4, 1);");
    await db.close();
  }

  it("runs sql, query probes and export", async () => {
    const cwd = tempDir();
    await makeDb(cwd);
    const r = await runPlan(planFrom(source), { cwd });
    expect(r.exitCode).toBe(0);
    expect(r.steps).toEqual({ fix: "ok", backup: "ok", check: "ok" });
    expect(r.output.fix).toBe("3 rows changed\n");
    const file = readFileSync(join(cwd, "backups/app.csv"), "utf8");
    expect(file).toMatch(/^TABLE t\r\nt\.id,t\.x\r\n1,1\r\n2,1\r\n4,1\r\n/);
  });

  it("export format web2py of a web2py SQLite whose .table file cannot be read: the step succeeds and a note says the scale could not be known", async () => {
    const cwd = tempDir();
    const fixture = join(import.meta.dirname, "..", "db", "golden", "web2py-sqlite");
    writeFileSync(join(cwd, "storage.sqlite"), readFileSync(join(fixture, "storage.sqlite")));
    const zone = "c8b669d15150d7109e5f7ab36744a5b7_zone.table";
    writeFileSync(join(cwd, zone), readFileSync(join(fixture, zone)));
    writeFileSync(join(cwd, "c8b669d15150d7109e5f7ab36744a5b7_item.table"), "not a pickle");
    const r = await runPlan(planFrom(`${header}database appdb = sqlite "storage.sqlite"\nstep "Backup" as backup { export appdb to "b.csv" format web2py }\n`), { cwd });
    expect(r.exitCode).toBe(0);
    const notes = r.events.filter((e) => e.type === "note").map((e) => (e as { text: string }).text);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/the declared scale of table item's decimal fields could not be known \(c8b669d15150d7109e5f7ab36744a5b7_item\.table cannot be read: /);
    expect(readFileSync(join(cwd, "b.csv"), "utf8")).toContain("\r\n1,1,a,12.3,0.5,12.3,T\r\n");
  });

  it("a dry run shows the statements with the rows they would touch, and writes nothing", async () => {
    const cwd = tempDir();
    await makeDb(cwd);
    const before = treeHash(cwd);
    const r = await runPlan(planFrom(source), { cwd, dryRun: true });
    expect(treeHash(cwd)).toBe(before);
    expect(r.exitCode).toBe(0);
    const sql = r.events.find((e) => e.type === "action" && e.kind === "sql") as { description: string };
    expect(sql.description).toContain("UPDATE t SET x = 1 WHERE x = 0;   -- changes 2 rows");
    expect(sql.description).toContain("DELETE FROM t WHERE id = 3;   -- deletes 1 row");
    const exp = r.events.find((e) => e.type === "action" && e.kind === "export") as { description: string };
    expect(exp.description).toMatch(/would export appdb to backups\/app.csv \(format web2py\): t \(4 rows\)/);
    // The query guard after the sql of an earlier step is honest about it.
    const guard = r.events.filter((e) => e.type === "guard").at(-1) as { result: unknown; reason?: string };
    expect(guard).toMatchObject({ result: "unknown", reason: "unknown until step fix runs" });
  });

  it("a dry run on a database it cannot open (a file the run would create) leaves the rows unknown, and a real run creates it", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}
database audit = sqlite "state/audit.sqlite"
step "Record" as record { sql audit "CREATE TABLE IF NOT EXISTS log (at TEXT); DELETE FROM log WHERE at < '2000'" }
`);
    mkdirSync(join(cwd, "state"));
    const dry = await runPlan(plan, { cwd, dryRun: true });
    expect(dry.exitCode).toBe(0);
    expect(dry.steps).toEqual({ record: "ok" });
    const sql = dry.events.find((e) => e.type === "action" && e.kind === "sql") as { description: string };
    expect(sql.description).toContain(`-- rows unknown (cannot open audit: SQLite database ${join(cwd, "state/audit.sqlite")} does not exist)`);
    expect(existsSync(join(cwd, "state/audit.sqlite"))).toBe(false);
    const real = await runPlan(plan, { cwd });
    expect(real.steps).toEqual({ record: "ok" });
    expect(existsSync(join(cwd, "state/audit.sqlite"))).toBe(true);
  });
});
