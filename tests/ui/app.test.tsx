// Component tests of the step-through UI: every state the operator sees, driven
// by a real EventBus and a fake executor that awaits the Interaction's answers,
// with keys pressed on the fake terminal's stdin.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import type { RunEvent } from "../../runtime/events.js";
import { SPINNER } from "../../cli/ui/format.js";
import { confirm, deferred, fakeExecutor, KEY, makePlan, manual, plain, run, step, track } from "./support.js";
import { mount, resize } from "./harness.js";
import type { Action } from "../../runtime/plan.js";
import { NO_SPAN } from "../../language/span.js";

afterEach(() => cleanup());
// The machines these run on can be slow and busy; no test here is timed.
vi.setConfig({ testTimeout: 120_000 });

const threeSteps = () =>
  makePlan([
    step("build", { section: "Prepare", actions: [run(["make ", "'release'"])] }),
    step("deploy", { section: "Deploy", host: "web", actions: [run(["./deploy.sh --to ", "'/srv/app'"])], undo: [run(["./undeploy.sh"])] }),
    step("cleanup", { phase: "finally", actions: [run(["rm -rf ", "'/tmp/x'"])] }),
  ]);

const ev = (e: Record<string, unknown>) => ({ runId: "run-1", time: new Date().toISOString(), ...e }) as RunEvent;

describe("step preview (step-through)", () => {
  it("shows the next step with its commands filled in, secrets as ***, and waits for a key", async () => {
    const plan = makePlan([
      step("dump", {
        section: "Backup",
        host: "web",
        actions: [run(["mysqldump --password=", { ref: '"${__rb_1}"', name: "db_password", context: "word", secret: "db_password" }, " ", "'appdb'", " > /tmp/dump.sql"])],
        undo: [run(["rm /tmp/dump.sql"])],
      }),
    ]);
    const ui = mount(plan);
    const answer = track(ui.store.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 }));
    const f = await ui.frame("Next step: Dump");
    expect(f).toContain("$ mysqldump --password=*** 'appdb' > /tmp/dump.sql");
    expect(f).toContain("undo: $ rm /tmp/dump.sql");
    expect(f).not.toContain("db_password");
    expect(f).toMatch(/Enter run\s+s skip\s+c continue\s+a abort/);
    expect(f).toContain("demo-release 1.2.3");
    expect(f).toContain("env dev");
    expect(f).toContain("run run-1");
    expect(f).toContain("0/1 steps");
    await new Promise((r) => setTimeout(r, 50));
    expect(answer.settled).toBe(false);
    ui.press(KEY.enter);
    await vi.waitFor(() => expect(answer.value).toBe("run"));
  });

  it.each([
    ["Enter", KEY.enter, "run"],
    ["s", "s", "skip"],
    ["a then y", "a", "abort"],
    ["c", "c", "run"],
  ])("%s answers beforeStep with %s", async (_name, key, expected) => {
    const plan = threeSteps();
    const ui = mount(plan);
    const answer = track(ui.store.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 }));
    await ui.frame("Next step: Build");
    ui.press(key);
    // `a` asks first (issue 16): y confirms.
    if (key === "a") {
      await ui.frame("Abort?");
      ui.press("y");
    }
    await vi.waitFor(() => expect(answer.value).toBe(expected));
    await ui.frame((f) => !f.includes("Next step"));
  });

  it("c continues without stopping until the next confirmation, then stops again", async () => {
    const plan = makePlan([
      step("one", { actions: [run(["true"])] }),
      step("two", { actions: [run(["true"])] }),
      step("three", { actions: [confirm("Go on?"), run(["true"])] }),
      step("four", { actions: [run(["true"])] }),
    ]);
    const ui = mount(plan);
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction);
    await ui.frame("Next step: One");
    ui.press("c");
    await ui.frame("Go on?");
    expect(ui.store.steps.get("two")!.status).toBe("ok");
    ui.press("y");
    await ui.frame("Next step: Four");
    ui.press(KEY.enter);
    expect(await ex.done).toEqual({ status: "succeeded", exitCode: 0 });
    await ui.frame("finished: succeeded");
  });

  it("without step-through, beforeStep answers run at once", async () => {
    const plan = threeSteps();
    const ui = mount(plan, { stepThrough: false });
    await expect(ui.store.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 })).resolves.toBe("run");
  });

  it("a dry run wears a DRY RUN badge", async () => {
    const plan = threeSteps();
    const ui = mount(plan, { dryRun: true });
    expect(await ui.frame("DRY RUN")).toContain("DRY RUN");
  });
});

describe("running with output", () => {
  it("selects the running step, streams its output (partial lines joined) and shows a spinner", async () => {
    const plan = threeSteps();
    const hold = deferred();
    const ui = mount(plan);
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, {
      deploy: { output: [["copying fi", "les\nstep 2 of 3\n", "step 3 of 3\nalmost"]], hold: () => hold.promise },
    });
    await ui.frame("Next step: Build");
    ui.press(KEY.enter);
    await ui.frame("Next step: Deploy");
    ui.press(KEY.enter);
    const f = await ui.frame("almost");
    expect(f).toContain("copying files");
    expect(f).toContain("step 2 of 3");
    expect(f).toContain("▸ $ ./deploy.sh --to '/srv/app'");
    expect(f).toMatch(/running/);
    expect(SPINNER.some((s) => f.includes(`${s} Deploy`))).toBe(true);
    expect(f).toContain("✔ Build");
    hold.resolve();
    await ui.frame("Next step: Cleanup");
    ui.press(KEY.enter);
    await ex.done;
    const done = await ui.frame("finished");
    expect(done).toContain("✔ Deploy");
  });

  it("shows control characters of output and of titles escaped; none reaches the terminal", async () => {
    const plan = makePlan([step("build", { title: "Build \u001b]0;owned\u0007", actions: [run(["make"])] })]);
    const ui = mount(plan, { rows: 30 });
    ui.bus.emit(ev({ type: "step-started", stepId: "build", title: "Build \u001b]0;owned\u0007", attempt: 1, preview: [] }));
    ui.bus.emit(ev({ type: "output", stepId: "build", stream: "stdout", text: "title \u001b]0;pwned\u0007 clear \u001b[2J\u009b2J info\u001f end\n" }));
    const f = await ui.frame("end");
    expect(f).toContain("title \\e]0;pwned\\a clear \\e[2J\\x9b2J info\\x1f end");
    expect(f).toContain("Build \\e]0;owned\\a");
    // What Ink drew holds only its own colour codes (the harness's frames keep them).
    // eslint-disable-next-line no-control-regex
    expect(f.replace(/\u001b\[[0-9;]*m/g, "")).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it("PgUp/PgDn scroll the output; End goes back to the newest line", async () => {
    const plan = threeSteps();
    const ui = mount(plan, { rows: 30 });
    ui.bus.emit(ev({ type: "step-started", stepId: "build", title: "Build", attempt: 1, preview: [] }));
    ui.bus.emit(ev({ type: "output", stepId: "build", stream: "stdout", text: Array.from({ length: 300 }, (_, i) => `line ${i}`).join("\n") + "\n" }));
    let f = await ui.frame("line 299");
    expect(f).not.toContain("line 250\n");
    ui.press(KEY.pgUp);
    f = await ui.frame("lines up");
    expect(f).not.toContain("line 299");
    ui.press(KEY.pgUp, KEY.pgUp);
    const up = ui.store.scroll;
    expect(up).toBeGreaterThan(20);
    await ui.frame(`↑ ${up} lines up`);
    ui.press(KEY.pgDn);
    expect(ui.store.scroll).toBeLessThan(up);
    await ui.frame(`↑ ${ui.store.scroll} lines up`);
    ui.press(KEY.pgDn, KEY.pgDn, KEY.pgDn);
    f = await ui.frame((x) => !x.includes("lines up"));
    expect(f).toContain("line 299");
  });

  it("keeps a bounded tail and does not render once per output event", async () => {
    const plan = threeSteps();
    const ui = mount(plan, { maxLines: 2000 });
    ui.bus.emit(ev({ type: "step-started", stepId: "build", title: "Build", attempt: 1, preview: [] }));
    await ui.frame("running");
    const before = ui.frames.length;
    for (let i = 0; i < 20_000; i++) ui.bus.emit(ev({ type: "output", stepId: "build", stream: "stdout", text: `output line ${i}\n` }));
    const f = await ui.frame("output line 19999");
    await new Promise((r) => setTimeout(r, 100));
    // 20,000 events, a handful of frames.
    expect(ui.frames.length - before).toBeLessThan(20);
    const out = ui.store.steps.get("build")!.output;
    expect(out.lineCount).toBeLessThanOrEqual(2001);
    expect(out.totalLines).toBe(20_000);
    expect(f).toMatch(/20000 lines/);
    expect(f).toMatch(/last 200\d kept/);
  });

  it("shows an edit as a diff once the executor sent one, and SQL as written", async () => {
    const edit: Action = { kind: "edit", path: "/srv/app/config.py", replaces: [{ old: ["migrate = False"], new: ["migrate = True"], all: false }], span: NO_SPAN };
    const sql: Action = { kind: "sql", db: "appdb", sql: ["update settings\nset mode = ", "'live'", "\nwhere id = 1"], engine: "sqlite", line: 1, span: NO_SPAN };
    const plan = makePlan([step("migrate", { actions: [edit, sql] })]);
    const ui = mount(plan);
    let f = await ui.frame("edit /srv/app/config.py");
    expect(f).toContain(`replace "migrate = False"`);
    expect(f).toContain("sql appdb:");
    expect(f).toContain("set mode = 'live'");
    ui.bus.emit(ev({ type: "diff", stepId: "migrate", path: "/srv/app/config.py", diff: "--- a/config.py\n+++ b/config.py\n@@ -1 +1 @@\n-migrate = False\n+migrate = True\n" }));
    f = await ui.frame("+migrate = True");
    expect(f).toContain("-migrate = False");
    expect(f).toContain("@@ -1 +1 @@");
  });
});

describe("confirmations", () => {
  it.each([
    ["y", true],
    ["n", false],
  ])("%s answers %s", async (key, expected) => {
    const plan = makePlan([step("release", { actions: [confirm("Is the release notes page updated?")] })]);
    const ui = mount(plan);
    const answer = track(ui.store.interaction.confirm("Is the release notes page updated?", { plan, step: plan.steps[0] }));
    const f = await ui.frame("y yes");
    expect(f).toContain("Confirm  Release (release)");
    expect(f).toContain("Is the release notes page updated?");
    expect(f).toMatch(/y yes\s+n no \(aborts the run\)/);
    ui.press("x");
    await new Promise((r) => setTimeout(r, 30));
    expect(answer.settled).toBe(false);
    ui.press(key);
    await vi.waitFor(() => expect(answer.value).toBe(expected));
  });

  it("the env's own confirmation is asked before the first step", async () => {
    const plan = { ...threeSteps(), envConfirms: ["Sign-off came from the release group"] };
    const ui = mount(plan);
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction);
    const f = await ui.frame("Sign-off came from the release group");
    expect(f).toContain("before the first step");
    ui.press("n");
    // The finally steps still run (step-through asks about them too).
    await ui.frame("Next step: Cleanup");
    ui.press(KEY.enter);
    expect(await ex.done).toEqual({ status: "aborted", exitCode: 3 });
  });

  it("a protected env wants its name typed and Enter", async () => {
    const plan = makePlan([step("release", { actions: [confirm("Ship it to production?")] })], { env: "prod", protected: true });
    const ui = mount(plan);
    const answer = track(ui.store.interaction.confirm("Ship it to production?", { plan, step: plan.steps[0] }));
    let f = await ui.frame("Confirm in protected env");
    expect(f).toContain("Ship it to production?");
    expect(f).toContain("PROTECTED");
    expect(f).toContain("Confirm in protected env prod");
    expect(f).toMatch(/Type prod and press Enter/);
    ui.press("y");
    await ui.frame("> y");
    expect(answer.settled).toBe(false);
    ui.press(KEY.backspace, "pro", KEY.enter);
    f = await ui.frame(`"pro" is not "prod"`);
    expect(answer.settled).toBe(false);
    ui.press("p", "r", "o", "d");
    await ui.frame("> prod");
    ui.press(KEY.enter);
    await vi.waitFor(() => expect(answer.value).toBe(true));
  });

  it("Esc answers no in a protected env", async () => {
    const plan = makePlan([step("release")], { env: "prod", protected: true });
    const ui = mount(plan);
    const answer = track(ui.store.interaction.confirm("Ship it?", { plan }));
    await ui.frame("Ship it?");
    ui.press(KEY.esc);
    await vi.waitFor(() => expect(answer.value).toBe(false));
  });
});

describe("manual steps", () => {
  it.each([
    ["d", "done"],
    ["a", "abort"],
  ])("%s answers %s", async (key, expected) => {
    const plan = makePlan([step("tell-testers", { actions: [manual("Tell the testers that UAT is about to change.\nWait for their OK.")] })]);
    const ui = mount(plan);
    const answer = track(ui.store.interaction.manual("Tell the testers that UAT is about to change.\nWait for their OK.", { plan, step: plan.steps[0]!, index: 0 }));
    const f = await ui.frame("Manual step: Tell testers");
    expect(f).toContain("Tell the testers that UAT is about to change.");
    expect(f).toContain("Wait for their OK.");
    expect(f).toMatch(/d done\s+a abort/);
    ui.press("y");
    await new Promise((r) => setTimeout(r, 30));
    expect(answer.settled).toBe(false);
    ui.press(key);
    if (key === "a") {
      await ui.frame("Abort?");
      ui.press("y");
    }
    await vi.waitFor(() => expect(answer.value).toBe(expected));
  });
});

describe("failures", () => {
  const failing = () =>
    makePlan([
      step("backup", { actions: [run(["tar czf backup.tgz data"])], undo: [run(["rm backup.tgz"])] }),
      step("stop", { actions: [run(["systemctl stop app"])], undo: [run(["systemctl start app"])] }),
      step("migrate", { actions: [run(["./migrate"])] }),
    ]);

  it("shows the failure panel with the error and the last output; r retries", async () => {
    const plan = failing();
    const ui = mount(plan, { stepThrough: false });
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, {
      migrate: { failures: 1, error: "command exited with 2", output: [["connecting\nERROR: table users is locked\n"], ["migrated 3 tables\n"]] },
    });
    const f = await ui.frame("Step failed");
    expect(f).toContain("✘ Step failed: Migrate (migrate)");
    expect(f).toContain("command exited with 2");
    expect(f).toContain("Last output:");
    expect(f).toContain("ERROR: table users is locked");
    expect(f).toMatch(/r retry\s+s skip\s+b roll back\s+a abort/);
    expect(f).toContain("✘ Migrate");
    ui.press("r");
    expect(await ex.done).toEqual({ status: "succeeded", exitCode: 0 });
    const done = await ui.frame("finished: succeeded");
    expect(done).toContain("✔ Migrate");
    expect(done).toContain("attempt 2");
    expect(done).toContain("migrated 3 tables");
  });

  it("in step-through, r runs the retry at once (no second Enter)", async () => {
    const plan = failing();
    const ui = mount(plan);
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, { migrate: { failures: 1 } });
    await ui.frame("Next step: Backup");
    ui.press("c");
    await ui.frame("Step failed");
    ui.press("r");
    expect(await ex.done).toEqual({ status: "succeeded", exitCode: 0 });
  });

  it.each([
    ["s", "succeeded"],
    ["a", "aborted"],
    ["b", "failed"],
  ])("%s after a failure ends the run %s", async (key, status) => {
    const plan = failing();
    const ui = mount(plan, { stepThrough: false });
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, { migrate: { failures: Infinity } });
    await ui.frame("Step failed");
    ui.press(key);
    // `a` and `b` ask first (issue 16): y confirms.
    if (key !== "s") {
      await ui.frame(key === "a" ? "Abort?" : "Roll back?");
      ui.press("y");
    }
    expect((await ex.done).status).toBe(status);
  });

  it("shows a rollback live, step by step", async () => {
    const plan = failing();
    const ui = mount(plan, { stepThrough: false });
    const undoStop = deferred();
    const undoBackup = deferred();
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, {
      migrate: { failures: Infinity },
      "undo:stop": { hold: () => undoStop.promise },
      "undo:backup": { hold: () => undoBackup.promise },
    });
    await ui.frame("Step failed");
    ui.press("b");
    await ui.frame("Roll back?");
    ui.press("y");
    let f = await ui.frame("Rolling back");
    expect(f).toContain("ROLLING BACK 0/2");
    expect(f).toMatch(/Stop\s+undoing…/);
    expect(f).toMatch(/Backup\s+waiting/);
    undoStop.resolve();
    f = await ui.frame("ROLLING BACK 1/2");
    expect(f).toMatch(/↺ Stop\s+undone/);
    expect(f).toMatch(/Backup\s+undoing…/);
    undoBackup.resolve();
    await ex.done;
    f = await ui.frame("finished: failed");
    expect(f).toMatch(/↺ Backup/);
    expect(f).toMatch(/↺ Stop/);
    expect(ui.store.steps.get("stop")!.status).toBe("rolled-back");
  });
});

describe("quitting, selection and keys", () => {
  it("q asks first; n goes back; y aborts", async () => {
    const plan = threeSteps();
    const ui = mount(plan);
    const answer = track(ui.store.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 }));
    await ui.frame("Next step: Build");
    ui.press("q");
    let f = await ui.frame("Quit?");
    expect(f).toMatch(/y yes, abort\s+n no, go back/);
    ui.press("n");
    f = await ui.frame((x) => !x.includes("Quit?"));
    expect(f).toContain("Next step: Build");
    expect(answer.settled).toBe(false);
    ui.press("q");
    await ui.frame("Quit?");
    ui.press("y");
    await vi.waitFor(() => expect(answer.value).toBe("abort"));
  });

  it("q while a step runs aborts at the next question", async () => {
    const plan = threeSteps();
    const ui = mount(plan);
    ui.bus.emit(ev({ type: "step-started", stepId: "build", title: "Build", attempt: 1, preview: [] }));
    await ui.frame("running");
    ui.press("q");
    await ui.frame("Quit?");
    ui.press("y");
    await ui.frame("Aborting");
    await expect(ui.store.interaction.beforeStep({ plan, step: plan.steps[1]!, index: 1 })).resolves.toBe("abort");
    // Only the next question: the finally steps are asked about as usual.
    const next = track(ui.store.interaction.beforeStep({ plan, step: plan.steps[2]!, index: 2 }));
    await ui.frame("Next step: Cleanup");
    expect(next.settled).toBe(false);
  });

  it("after Ctrl-C the finally steps start without waiting for Enter; their confirmations are still asked", async () => {
    const plan = threeSteps();
    const ui = mount(plan);
    ui.bus.emit(ev({ type: "step-started", stepId: "build", title: "Build", attempt: 1, preview: [] }));
    await ui.frame("running");
    ui.store.interrupted();
    await ui.frame("Interrupted: stopping the running step");
    await expect(ui.store.interaction.beforeStep({ plan, step: plan.steps[2]!, index: 2 })).resolves.toBe("run");
    const asked = track(ui.store.interaction.confirm("Remove the temp files?", { plan, step: plan.steps[2]! }));
    await ui.frame("Remove the temp files?");
    expect(asked.settled).toBe(false);
    ui.press("y");
    await vi.waitFor(() => expect(asked.value).toBe(true));
  });

  it("↑/↓ select a step to look at; the selection then stays until f", async () => {
    const plan = threeSteps();
    const ui = mount(plan);
    ui.bus.emit(ev({ type: "step-started", stepId: "build", title: "Build", attempt: 1, preview: [] }));
    await ui.frame("Output");
    ui.press(KEY.down);
    let f = await ui.frame("./deploy.sh --to '/srv/app'");
    expect(f).toContain("undo: $ ./undeploy.sh");
    expect(f).toContain("f follow");
    ui.bus.emit(ev({ type: "step-finished", stepId: "build", status: "ok", durationMs: 5, attempt: 1 }));
    ui.bus.emit(ev({ type: "step-started", stepId: "cleanup", title: "Cleanup", attempt: 1, preview: [] }));
    await new Promise((r) => setTimeout(r, 50));
    f = await ui.frame("deploy · on web");
    expect(ui.store.selectedId).toBe("deploy");
    ui.press("f");
    f = await ui.frame("cleanup · finally");
    expect(ui.store.selectedId).toBe("cleanup");
    ui.press(KEY.up, KEY.up);
    await vi.waitFor(() => expect(ui.store.selectedId).toBe("build"));
  });

  it("Ctrl-C interrupts (what SIGINT does in plain mode)", async () => {
    const onInterrupt = vi.fn();
    const ui = mount(threeSteps(), { onInterrupt });
    await ui.frame("Steps");
    ui.press(KEY.ctrlC);
    await vi.waitFor(() => expect(onInterrupt).toHaveBeenCalledTimes(1));
  });

  it("an interrupted step found on resume: y reruns it", async () => {
    const plan = threeSteps();
    const ui = mount(plan);
    const answer = track(ui.store.interaction.rerunInterrupted!({ plan, step: plan.steps[1]!, index: 1 }));
    await ui.frame("Interrupted: Deploy");
    ui.press("y");
    await vi.waitFor(() => expect(answer.value).toBe(true));
  });
});

describe("layout and colour", () => {
  const frameLines = (f: string) => f.split("\n");

  it("80x24 puts the steps above the detail and everything fits", async () => {
    const plan = makePlan(
      Array.from({ length: 12 }, (_, i) => step(`step-${i}`, { section: i < 6 ? "First half" : "Second half", actions: [run([`echo ${i}`])] })),
    );
    const ui = mount(plan, { columns: 80, rows: 24 });
    ui.bus.emit(ev({ type: "step-started", stepId: "step-7", title: "Step 7", attempt: 1, preview: [] }));
    ui.bus.emit(ev({ type: "output", stepId: "step-7", stream: "stdout", text: "x".repeat(500) + "\nlast line\n" }));
    ui.bus.emit(ev({ type: "step-finished", stepId: "step-7", status: "failed", reason: "exit 1", exitCode: 1, durationMs: 10, attempt: 1 }));
    void ui.store.interaction.onFailure("command exited with 1", { plan, step: plan.steps[7]!, index: 7 });
    const f = await ui.frame("Step failed");
    const lines = frameLines(f);
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(80);
    expect(f).toContain("Steps");
    expect(f).toContain("▶✘ Step 7");
    expect(f).toContain("last line");
    expect(f).toMatch(/r retry/);
    expect(lines[lines.length - 1]).toMatch(/^r retry/);
    // The steps pane is above the detail: no vertical separator.
    expect(f).not.toMatch(/ │ (✘|Output)/);
  });

  it("re-lays out when the terminal is resized", async () => {
    const ui = mount(threeSteps(), { columns: 120, rows: 30 });
    let f = await ui.frame("What it does");
    expect(f).toMatch(/│ ○ Build  build/);
    resize(ui.stdout, 80, 24);
    f = await ui.frame((x) => !/│ ○ Build/.test(x));
    expect(frameLines(f).every((l) => Array.from(l).length <= 80)).toBe(true);
    resize(ui.stdout, 30, 8);
    await ui.frame("Terminal too small");
  });

  it("uses colour only when asked (NO_COLOR honoured by the caller)", async () => {
    const plan = makePlan([step("release")], { env: "prod", protected: true });
    const colourless = mount(plan, { color: false });
    await colourless.frame("PROTECTED");
    expect(colourless.lastFrame()).not.toMatch(/\u001B\[[0-9;]*(3[0-7]|9[0-7])m/);
    cleanup();
    const coloured = mount(plan, { color: true });
    await coloured.frame("PROTECTED");
    // The protected env's name is red.
    expect(coloured.lastFrame()).toMatch(/\u001B\[[0-9;]*31mprod/);
  });
});

describe("summary frame", () => {
  it("counts steps done in the progress bar", async () => {
    const plan = threeSteps();
    const ui = mount(plan);
    ui.bus.emit(ev({ type: "step-finished", stepId: "build", status: "ok", durationMs: 1200, attempt: 1 }));
    const f = await ui.frame("1/3 steps");
    expect(f).toContain("1.2s");
    expect(plain(f)).toContain("████████░░░░░░░░░░░░░░░░ 1/3 steps");
  });
});

describe("preflight and the dry-run verdict", () => {
  it("shows the preflight as a first phase, a line per target, then the verdict", async () => {
    const plan = threeSteps();
    const ui = mount(plan, { dryRun: true, stepThrough: false });
    ui.bus.emit(ev({ type: "run-started", runbook: "demo-release", version: "1.2.3", env: "dev", protected: false, dryRun: true, steps: plan.steps.map((s) => ({ id: s.id, title: s.title, section: s.section, host: s.host, phase: s.phase })) }));
    ui.bus.emit(
      ev({
        type: "preflight-started",
        targets: [
          { id: "host:web", kind: "host", name: "web" },
          { id: "secret:tok", kind: "secret", name: "tok" },
        ],
      }),
    );
    let f = await ui.frame("Preflight: reach 2 targets");
    expect(f).toContain("0/3 steps");
    ui.bus.emit(ev({ type: "preflight-target", target: "secret:tok", kind: "secret", name: "tok", status: "ok", durationMs: 1 }));
    ui.bus.emit(ev({ type: "preflight-target", target: "host:web", kind: "host", name: "web", status: "failed", reason: "cannot connect to web: connection refused", durationMs: 3 }));
    ui.bus.emit(ev({ type: "preflight-finished", counts: { ok: 1, failed: 1, "not-checked": 0, deferred: 0 }, durationMs: 4 }));
    f = await ui.frame("host web: failed (cannot connect to web: connection refused)");
    expect(f).toContain("✔ secret tok: ok");
    expect(f).toContain("1 ok, 1 failed");
    ui.bus.emit(ev({ type: "dry-run-verdict", verdict: "would-fail", checked: 1, failed: [{ what: "host web", why: "cannot connect to web: connection refused" }], notVerified: [], pending: [] }));
    ui.bus.emit(ev({ type: "run-finished", status: "failed", exitCode: 1, durationMs: 10, error: "would fail: 1 check failed" }));
    f = await ui.frame("dry run: would fail (exit 1)");
    expect(ui.store.steps.get(" preflight")!.status).toBe("failed");
  });
});
