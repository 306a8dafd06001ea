// `history`, `show` and `unlock`, run in-process with a captured CliIO against a
// temp SQLite journal filled through the Journal API: their text and --json
// output, and their exit codes (2 for an unknown run or missing file, 4 for a
// lock whose holder is alive).

import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyCommand, runbookNameFromFile, formatDuration } from "../../cli/commands/history.js";
import { showCommand } from "../../cli/commands/show.js";
import { unlockCommand } from "../../cli/commands/unlock.js";
import { UsageError } from "../../cli/io.js";
import { openJournal, type Journal } from "../../runtime/journal/index.js";
import { captureIO, completeRun, deadPid, makePlan, makeStep, runFinished, stepEvents, tempDir, tick } from "./helpers.js";
import { cli } from "../support/cli.js";

const tmp = tempDir("runbook-commands-");
const state = path.join(tmp.dir, "journal.db");
const file = path.join(tmp.dir, "release.rb");
const otherFile = path.join(tmp.dir, "other.rb");
const me = `${os.userInfo().username}@${os.hostname()}`;

let journal: Journal;

beforeAll(async () => {
  writeFileSync(file, '# The release\n\n# of the portal\nrunbook "release" version "2.1.0"\ndescription "x"\nenv uat {}\nenv prod {}\n');
  writeFileSync(otherFile, 'runbook "other" version "0.1.0"\n');
  journal = await openJournal(state);

  // 1: release in dev, succeeded.
  await completeRun(journal, "aaaa1111", makePlan({ runbook: "release", version: "2.1.0", env: "dev" }), { params: { branch: "haiti" } });
  // 2: release in prod, failed with output, a confirmation, a rollback.
  const plan = makePlan({
    runbook: "release",
    version: "2.1.0",
    env: "prod",
    steps: [makeStep("inform", { section: "Prepare", skip: 'when env == "uat" is false' }), makeStep("backup", { section: "Prepare", host: "portal" }), makeStep("migrate", { section: "Deploy", host: "portal" }), makeStep("maintenance-off", { phase: "finally", host: "portal" })],
  });
  await journal.beginRun({ runId: "bbbb2222", plan, dryRun: false, params: {}, file: "release.rb" });
  journal.record({ type: "confirm", runId: "bbbb2222", time: tick(), question: "Sign-off given?", answer: "yes", by: "alice" });
  for (const e of stepEvents("bbbb2222", "inform", { status: "skipped", reason: 'when env == "uat" is false' })) journal.record(e);
  for (const e of stepEvents("bbbb2222", "backup", { host: "portal", output: ["dumped 42 rows\n"] })) journal.record(e);
  for (const e of stepEvents("bbbb2222", "migrate", { host: "portal", status: "failed", output: ["migrating\n", "ERROR: column exists\n"], reason: "exit status 3", exitCode: 3 })) {
    journal.record(e);
  }
  journal.record({ type: "failure-choice", runId: "bbbb2222", time: tick(), stepId: "migrate", choice: "rollback", by: "alice" });
  journal.record({ type: "rollback-started", runId: "bbbb2222", time: tick(), steps: ["backup"] });
  journal.record({ type: "rollback-step", runId: "bbbb2222", time: tick(), stepId: "backup", status: "ok" });
  for (const e of stepEvents("bbbb2222", "maintenance-off", { host: "portal" })) journal.record(e);
  journal.record(runFinished("bbbb2222", "failed", "step migrate failed: exit status 3"));
  await journal.flush();
  // 3: other, a dry run.
  await completeRun(journal, "cccc3333", makePlan({ runbook: "other", version: "0.1.0", env: "dev" }), { dryRun: true });
});

afterAll(async () => {
  await journal.close();
  tmp.cleanup();
});

describe("history", () => {
  it("prints a table of runs, newest first", async () => {
    const io = captureIO(tmp.dir);
    expect(await historyCommand(undefined, { state }, io)).toBe(0);
    const lines = io.out().trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+RUNBOOK\s+VERSION\s+ENV\s+STATUS\s+BY\s+STARTED\s+DURATION\s+COMMIT$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 5))).toEqual([
      ["cccc3333", "other", "0.1.0", "dev", "succeeded (dry run)"],
      ["bbbb2222", "release", "2.1.0", "prod", "failed"],
      ["aaaa1111", "release", "2.1.0", "dev", "succeeded"],
    ]);
    expect(lines[1]).toContain(me);
    expect(lines[1]).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(io.err()).toBe("");
    // No colour on a pipe.
    expect(io.out()).not.toContain("\u001b[");
  });

  it("filters by the runbook named in FILE and by env", async () => {
    const io = captureIO(tmp.dir);
    expect(await historyCommand("release.rb", { state, env: "prod" }, io)).toBe(0);
    const ids = io.out().trimEnd().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
    expect(ids).toEqual(["bbbb2222"]);
  });

  it("prints a JSON array with --json (no plans)", async () => {
    const io = captureIO(tmp.dir);
    expect(await historyCommand(file, { state, json: true }, io)).toBe(0);
    const runs = JSON.parse(io.out()) as Record<string, unknown>[];
    expect(runs.map((r) => [r.id, r.env, r.status, r.dryRun])).toEqual([
      ["bbbb2222", "prod", "failed", false],
      ["aaaa1111", "dev", "succeeded", false],
    ]);
    expect(runs[1]).toMatchObject({ runbook: "release", version: "2.1.0", params: { branch: "haiti" }, exitCode: 0, file: "demo.rb" });
    expect(typeof runs[1].durationMs).toBe("number");
    expect(runs[0]).not.toHaveProperty("plan");
  });

  it("limits, and says there are more", async () => {
    const io = captureIO(tmp.dir);
    expect(await historyCommand(undefined, { state, limit: 2 }, io)).toBe(0);
    expect(io.out().trimEnd().split("\n")).toHaveLength(4);
    expect(io.out()).toContain("(the 2 most recent runs; --limit N shows more)");
    const bad = captureIO(tmp.dir);
    expect(await historyCommand(undefined, { state, limit: Number.NaN }, bad)).toBe(2);
    expect(bad.err()).toMatch(/--limit must be a positive whole number/);
  });

  it("says when there are no runs, and uses $RUNBOOK_STATE", async () => {
    const io = captureIO(tmp.dir, { RUNBOOK_STATE: path.join(tmp.dir, "empty-state", "j.db") });
    expect(await historyCommand(undefined, {}, io)).toBe(0);
    expect(io.out()).toBe(`No runs in the journal ${path.join(tmp.dir, "empty-state", "j.db")}.\n`);
    const json = captureIO(tmp.dir, { RUNBOOK_STATE: path.join(tmp.dir, "empty-state", "j.db") });
    expect(await historyCommand(undefined, { json: true }, json)).toBe(0);
    expect(JSON.parse(json.out())).toEqual([]);
  });

  it("exits 2 for a missing FILE or one without a header", async () => {
    const io = captureIO(tmp.dir);
    expect(await historyCommand("nope.rb", { state }, io)).toBe(2);
    expect(io.err()).toBe("runbook: nope.rb: no such file\n");
    writeFileSync(path.join(tmp.dir, "headless.rb"), "# nothing here\nstep \"x\" { run \"true\" }\n");
    const io2 = captureIO(tmp.dir);
    expect(await historyCommand("headless.rb", { state }, io2)).toBe(2);
    expect(io2.err()).toMatch(/headless\.rb: no `runbook "NAME" version "…"` header/);
  });

  it("exits 2 for a --state URL that names no database, or a TLS option that is not one (history and run alike)", async () => {
    const io = captureIO(tmp.dir);
    expect(await historyCommand(undefined, { state: "mysql://root:pw@127.0.0.1:3306/" }, io)).toBe(2);
    expect(io.err()).toMatch(/names no database/);
    expect(io.err()).not.toContain(":pw@");
    writeFileSync(path.join(tmp.dir, "ok.rb"), 'runbook "ok" version "1.0.0"\nstep "x" { run "true" }\n');
    const r = await cli(tmp.dir).args("run", "ok.rb", "--no-tui", "--state", "mysql://root:pw@127.0.0.1:3306/j?ssl-mode=SOMETIMES").run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ssl-mode/);
    expect(r.stderr).not.toContain(":pw@");
  });
});

describe("show", () => {
  it("shows the header, every step with its output, confirmations, rollback and how to resume", async () => {
    const io = captureIO(tmp.dir);
    expect(await showCommand("bbbb2222", { state }, io)).toBe(0);
    const out = io.out();
    expect(out).toContain("Run bbbb2222: release 2.1.0, env prod\n");
    expect(out).toMatch(/ {2}status {5}failed \(exit 1\)\n/);
    expect(out).toContain("  error      step migrate failed: exit status 3\n");
    expect(out).toContain(`  by         ${me} (pid ${process.pid})\n`);
    expect(out).toContain("  file       release.rb\n");
    expect(out).toContain("  source     sha256:0123456789abcdef\n");
    expect(out).toContain("  params     (none)\n");
    expect(out).toMatch(/ {2}section "Prepare"\n {2}skipped +inform {2}"inform"\n {6}at .*\n {6}why: when env == "uat" is false\n/);
    expect(out).toMatch(/ {2}rolled-back +backup {2}"backup"\n {6}on portal, started .*, finished .* \(\d+\.\ds\), exit 0\n {6}output:\n {8}dumped 42 rows\n/);
    expect(out).toMatch(/ {2}failed +migrate {2}"migrate"\n {6}on portal, started .*, exit 3\n {6}reason: exit status 3\n {6}output:\n {8}migrating\n {8}ERROR: column exists\n/);
    expect(out).toMatch(/ {2}finally\n {2}ok +maintenance-off/);
    expect(out).toMatch(/Confirmations\n.* \[env\] confirm: "Sign-off given\?" -> yes \(by alice\)\n.* \[migrate\] on failure: .* -> rollback \(by alice\)\n/);
    expect(out).toMatch(/Rollback\n.* started: undo backup\n.* backup: ok\n/);
    expect(out).toContain(`This run did not finish. \`runbook resume bbbb2222 --state ${state}\` continues it from step backup.\n`);
  });

  it("accepts a unique prefix and prints a finished run without a resume hint", async () => {
    const io = captureIO(tmp.dir);
    expect(await showCommand("aaaa", { state }, io)).toBe(0);
    expect(io.out()).toContain("Run aaaa1111: release 2.1.0, env dev\n");
    expect(io.out()).toContain("  params     branch=haiti\n");
    expect(io.out()).not.toContain("runbook resume");
    expect(io.out()).toMatch(/ {2}ok +prepare .*\n {6}started .*\n {6}output:\n {8}prepare says hello\n/);
  });

  it("marks a dry run", async () => {
    const io = captureIO(tmp.dir);
    expect(await showCommand("cccc3333", { state }, io)).toBe(0);
    expect(io.out()).toMatch(/ {2}status {5}succeeded \(dry run\) \(exit 0\)\n/);
  });

  it("prints everything as JSON with --json", async () => {
    const io = captureIO(tmp.dir);
    expect(await showCommand("bbbb2222", { state, json: true }, io)).toBe(0);
    const shown = JSON.parse(io.out());
    expect(shown.run).toMatchObject({ id: "bbbb2222", status: "failed", env: "prod", runbook: "release" });
    expect(shown.run.plan.steps).toHaveLength(4);
    expect(shown.steps.map((s: { stepId: string; status: string }) => [s.stepId, s.status])).toEqual([
      ["inform", "skipped"],
      ["backup", "rolled-back"],
      ["migrate", "failed"],
      ["maintenance-off", "ok"],
    ]);
    expect(shown.steps[2]).toMatchObject({ host: "portal", exitCode: 3, reason: "exit status 3", outputTail: "migrating\nERROR: column exists\n" });
    expect(shown.confirmations).toHaveLength(2);
    expect(shown.rollbacks).toHaveLength(2);
    expect(shown.resume).toBe(`runbook resume bbbb2222 --state ${state}`);
  });

  it("shows an interrupted run and its interrupted step", async () => {
    const pid = await deadPid();
    const dead = await openJournal(state, { identity: { pid } });
    const plan = makePlan({ runbook: "crashy", env: "prod" });
    await dead.beginRun({ runId: "dddd4444", plan, dryRun: false, params: {}, file: "crashy.rb" });
    for (const e of stepEvents("dddd4444", "prepare")) dead.record(e);
    dead.record({ type: "step-started", runId: "dddd4444", time: tick(), stepId: "deploy", title: "deploy", attempt: 1, preview: [] });
    dead.record({ type: "output", runId: "dddd4444", time: tick(), stepId: "deploy", stream: "stdout", text: "copying…\n" });
    await dead.close();

    const io = captureIO(tmp.dir);
    expect(await showCommand("dddd4444", {}, { ...io, env: { ...io.env, RUNBOOK_STATE: state } })).toBe(0);
    const out = io.out();
    expect(out).toMatch(/ {2}status {5}interrupted\n {13}its process ended before the run finished\n/);
    expect(out).toMatch(/ {2}interrupted +deploy .*\n {6}started .*\n {6}it was running when its process ended: it may have done part of its work\n {6}output:\n {8}copying…\n/);
    expect(out).toMatch(/ {2}not run +verify/);
    // The default journal ($RUNBOOK_STATE here) needs no --state in the hint.
    expect(out).toContain("`runbook resume dddd4444` continues it from step deploy.");
  });

  it("shows a step's notes from its last run; an earlier run's note only when it differs, with its time (issue 16)", async () => {
    const plan = makePlan({ runbook: "noted", env: "dev", steps: [makeStep("check"), makeStep("report", { phase: "finally" })] });
    await journal.beginRun({ runId: "aaab6666", plan, dryRun: false, params: {}, file: "noted.rb" });
    const noted = (stepId: string, notes: string[], status: "ok" | "failed" = "ok") => {
      const [started, ...rest] = stepEvents("aaab6666", stepId, { status, output: [] });
      journal.record(started!);
      for (const text of notes) journal.record({ type: "note", runId: "aaab6666", time: tick(), stepId, text });
      for (const e of rest) journal.record(e);
    };
    noted("check", ["revision 546"], "failed");
    noted("report", ["done", "mailed"]);
    // Resumed: check and the finally step run again.
    noted("check", ["revision 547"]);
    noted("report", ["done", "mailed"]);
    journal.record(runFinished("aaab6666", "succeeded"));
    await journal.flush();
    const io = captureIO(tmp.dir);
    expect(await showCommand("aaab6666", { state }, io)).toBe(0);
    const out = io.out();
    expect(out.match(/note: done/g)).toHaveLength(1);
    expect(out.match(/note: mailed/g)).toHaveLength(1);
    expect(out).toMatch(/ {2}ok +check .*\n {6}started .*\n {6}note \(earlier run of this step, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\): revision 546\n {6}note: revision 547\n/);
    expect(out).toMatch(/ {2}ok +report .*\n {6}started .*\n {6}note: done\n {6}note: mailed\n/);
  });

  it("exits 2 for an unknown run id, and for an ambiguous prefix", async () => {
    const io = captureIO(tmp.dir);
    expect(await showCommand("ffff", { state }, io)).toBe(2);
    expect(io.err()).toBe(`runbook: no run "ffff" in the journal ${state}; \`runbook history\` lists the runs\n`);
    expect(io.out()).toBe("");
    await completeRun(journal, "aaaa9999", makePlan({ runbook: "release" }));
    const io2 = captureIO(tmp.dir);
    expect(await showCommand("aaaa", { state }, io2)).toBe(2);
    expect(io2.err()).toBe('runbook: run id "aaaa" is ambiguous: it matches aaaa1111, aaaa9999\n');
  });
});

describe("unlock", () => {
  it("says when there is no lock", async () => {
    const io = captureIO(tmp.dir);
    expect(await unlockCommand(file, { env: "prod", state }, io)).toBe(0);
    expect(io.out()).toBe("No lock on release in env prod: nothing to clear.\n");
  });

  it("exits 2 for an env the runbook does not have when there is no lock to clear", async () => {
    const io = captureIO(tmp.dir);
    expect(await unlockCommand(file, { env: "prdo", state }, io)).toBe(2);
    expect(io.err()).toBe("runbook: unknown env `prdo`: the envs are uat, prod; there is no lock on release in env prdo either\n");
    expect(io.out()).toBe("");
  });

  it("refuses a live holder with exit 4, naming it; --force clears it", async () => {
    const plan = makePlan({ runbook: "other", env: "uat" });
    await journal.beginRun({ runId: "eeee5555", plan, dryRun: false, params: {}, file: "other.rb" });
    const io = captureIO(tmp.dir);
    expect(await unlockCommand(otherFile, { env: "uat", state }, io)).toBe(4);
    expect(io.err()).toMatch(
      new RegExp(`^runbook: not clearing the lock on other in env uat: the lock is held by run eeee5555 by ${me} \\(pid ${process.pid}\\) since \\S+, and that process is still running\\n$`),
    );
    const forced = captureIO(tmp.dir);
    expect(await unlockCommand(otherFile, { env: "uat", state, force: true }, forced)).toBe(0);
    expect(forced.out()).toMatch(/^Cleared the lock on other in env uat: forced: the holder, run eeee5555 .* is still running\.\n$/);
    expect(await journal.getLock("other", "uat")).toBeUndefined();
  });

  it("clears a stale lock", async () => {
    const pid = await deadPid();
    const dead = await openJournal(state, { identity: { pid } });
    await dead.beginRun({ runId: "ffff6666", plan: makePlan({ runbook: "release", env: "uat" }), dryRun: false, params: {}, file: "release.rb" });
    await dead.close();
    const io = captureIO(tmp.dir);
    expect(await unlockCommand("release.rb", { env: "uat", state }, io)).toBe(0);
    expect(io.out()).toMatch(new RegExp(`^Cleared the lock on release in env uat: the holder, run ffff6666 by ${me} \\(pid ${pid}\\) since \\S+, is gone\\.\\n$`));
    expect(await journal.getLock("release", "uat")).toBeUndefined();
  });

  it("needs --force for a holder on another machine", async () => {
    const remote = await openJournal(state, { identity: { machine: "build-7", user: "bob" } });
    await remote.beginRun({ runId: "gggg7777", plan: makePlan({ runbook: "release", env: "prod" }), dryRun: false, params: {}, file: "release.rb" });
    await remote.close();
    const io = captureIO(tmp.dir);
    expect(await unlockCommand(file, { env: "prod", state }, io)).toBe(4);
    expect(io.err()).toMatch(/held by run gggg7777 by bob@build-7 .* on another machine \(build-7\).*--force\n$/);
    const forced = captureIO(tmp.dir);
    expect(await unlockCommand(file, { env: "prod", state, force: true }, forced)).toBe(0);
  });

  it("exits 2 for a missing file or no --env", async () => {
    const io = captureIO(tmp.dir);
    expect(await unlockCommand("missing.rb", { env: "prod", state }, io)).toBe(2);
    expect(io.err()).toBe("runbook: missing.rb: no such file\n");
    const io2 = captureIO(tmp.dir);
    expect(await unlockCommand(file, { env: "", state }, io2)).toBe(2);
    expect(io2.err()).toMatch(/needs --env/);
  });
});

describe("helpers", () => {
  it.each([
    ['runbook "a" version "1"', "a"],
    ['# c\n\n  runbook   "with \\"quotes\\"" version "1"', 'with "quotes"'],
    ['\uFEFFrunbook\n"split" version "1"', "split"],
    ['include "x"\nrunbook "late" version "1"', "late"],
  ])("reads the runbook name from %j", (text, name) => {
    const f = path.join(tmp.dir, "name.rb");
    writeFileSync(f, text);
    expect(runbookNameFromFile("name.rb", tmp.dir)).toBe(name);
  });

  it("throws a UsageError when there is no header", () => {
    writeFileSync(path.join(tmp.dir, "none.rb"), "# just a comment\n");
    expect(() => runbookNameFromFile("none.rb", tmp.dir)).toThrow(UsageError);
  });

  it.each([
    [0, "0ms"],
    [350, "350ms"],
    [12_345, "12.3s"],
    [245_000, "4m 05s"],
    [7_380_000, "2h 03m"],
    [-1, "-"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("control characters in what the journal holds", () => {
  const own = tempDir("runbook-controls-");
  const ownState = path.join(own.dir, "journal.db");
  // eslint-disable-next-line no-control-regex
  const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

  beforeAll(async () => {
    const j = await openJournal(ownState);
    const plan = makePlan({ runbook: "release", version: "1.0.0", env: "dev", steps: [makeStep("build", { title: "build \u001b]0;owned\u0007" })] });
    await j.beginRun({ runId: "dddd4444", plan, dryRun: false, params: { branch: "x\u001b[2J" }, file: "release.rb" });
    for (const e of stepEvents("dddd4444", "build", { status: "failed", output: ["title \u001b]0;pwned\u0007\n", "clear \u001b[2J\u009b31m\n"], reason: "bad \u0007" })) j.record(e);
    j.record(runFinished("dddd4444", "failed", "step build failed \u001b[H"));
    await j.flush();
    await j.close();
  });
  afterAll(() => own.cleanup());

  it("show prints them escaped: output, titles, params, reasons, errors", async () => {
    const io = captureIO(own.dir);
    expect(await showCommand("dddd4444", { state: ownState }, io)).toBe(0);
    const out = io.out();
    expect(out).toContain("        title \\e]0;pwned\\a\n");
    expect(out).toContain("        clear \\e[2J\\x9b31m\n");
    expect(out).toContain("branch=x\\e[2J");
    expect(out).toContain("reason: bad \\a");
    expect(out).toContain("step build failed \\e[H");
    expect(out).not.toMatch(RAW_CONTROL);
  });

  it("show --json and history --json keep the raw text, JSON-escaped", async () => {
    const io = captureIO(own.dir);
    expect(await showCommand("dddd4444", { state: ownState, json: true }, io)).toBe(0);
    const shown = JSON.parse(io.out()) as { steps: { outputTail: string }[]; run: { params: Record<string, string> } };
    expect(shown.steps[0]!.outputTail).toBe("title \u001b]0;pwned\u0007\nclear \u001b[2J\u009b31m\n");
    expect(shown.run.params).toEqual({ branch: "x\u001b[2J" });
    expect(io.out().replaceAll("\n", "")).not.toMatch(RAW_CONTROL);
    const h = captureIO(own.dir);
    expect(await historyCommand(undefined, { state: ownState, json: true }, h)).toBe(0);
    expect(h.out().replaceAll("\n", "")).not.toMatch(RAW_CONTROL);
    expect((JSON.parse(h.out()) as { error: string }[])[0]!.error).toBe("step build failed \u001b[H");
  });
});
