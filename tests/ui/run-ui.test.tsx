// startUi on fake terminal streams: the alternate screen is entered and left,
// keys reach the Interaction, finish prints the summary on the normal screen,
// leave gives the screen back at once, the exit hook restores the terminal, and
// Ctrl-C raises SIGINT. Then `runbook run` itself with the UI on a fake
// terminal: what it prints after the UI closes.

import { PassThrough, Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN, startUi } from "../../cli/ui/run-ui.js";
import type { CliIO } from "../../cli/io.js";
import { cli } from "../support/cli.js";
import { EventBus, fakeExecutor, KEY, makePlan, plain, run, step } from "./support.js";

function fakeTerminal(env: NodeJS.ProcessEnv = {}) {
  let out = "";
  const capture = () =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
  const stdout = Object.assign(capture(), { isTTY: true, columns: 100, rows: 30 });
  const stderr = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: true });
  const setRawMode = vi.fn();
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode,
    ref() {
      return this;
    },
    unref() {
      return this;
    },
  });
  const io: CliIO = { stdout, stderr, stdin, env, cwd: process.cwd() };
  return { io, stdin, setRawMode, output: () => out, recent: () => plain(out.slice(-20_000)) };
}

/** A terminal on which stdout and stderr are one screen, as they are for an operator. */
function sharedTerminal() {
  const t = fakeTerminal();
  const stderr = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        t.io.stdout.write(chunk);
        cb();
      },
    }),
    { isTTY: true },
  );
  return { ...t, io: { ...t.io, stderr } };
}

const plan = makePlan([step("build", { section: "Build", actions: [run(["make all"])] }), step("ship", { actions: [run(["./ship"])] })]);

async function until(check: () => boolean, what: string, timeout = 10_000) {
  await vi.waitFor(
    () => {
      if (!check()) throw new Error(`waiting for ${what}`);
    },
    { timeout, interval: 10 },
  );
}

// The machines these run on can be slow and busy; no test here is timed.
vi.setConfig({ testTimeout: 120_000 });

describe("startUi", () => {
  afterEach(() => vi.restoreAllMocks());

  it("runs a whole run on the alternate screen, then prints the summary on the normal one", async () => {
    const t = fakeTerminal();
    const bus = new EventBus();
    const exitHooksBefore = process.listeners("exit").length;
    const ui = await startUi({ io: t.io, plan, bus, dryRun: false, runId: "01HXYZ" });
    expect(t.output().startsWith(ENTER_ALT_SCREEN)).toBe(true);
    expect(process.listeners("exit").length).toBeGreaterThan(exitHooksBefore);
    expect(t.setRawMode).toHaveBeenCalledWith(true);
    const ex = fakeExecutor(plan, bus, ui.interaction, { build: { output: [["compiling\n"]] } }, "01HXYZ");
    await until(() => t.recent().includes("Next step: Build"), "the first question").catch((e) => {
      throw new Error(`${e}\n${t.recent().slice(-3000)}`);
    });
    t.stdin.write(KEY.enter);
    await until(() => t.recent().includes("Next step: Ship"), "the second question");
    t.stdin.write("c");
    const result = await ex.done;
    expect(result).toEqual({ status: "succeeded", exitCode: 0 });
    await ui.finish(result);
    const out = t.output();
    const leave = out.lastIndexOf(LEAVE_ALT_SCREEN);
    expect(leave).toBeGreaterThan(0);
    const summary = plain(out.slice(leave + LEAVE_ALT_SCREEN.length));
    expect(summary).toMatch(/✔ build\s+Build\s+ok/);
    expect(summary).toMatch(/✔ ship\s+Ship\s+ok/);
    expect(summary).toContain("Run 01HXYZ succeeded");
    expect(process.listeners("exit").length).toBe(exitHooksBefore);
    expect(t.setRawMode).toHaveBeenLastCalledWith(false);
  });

  it("restores the terminal from the exit hook when the process ends while the UI is up", async () => {
    const t = fakeTerminal();
    const bus = new EventBus();
    const ui = await startUi({ io: t.io, plan, bus, dryRun: false, runId: "R1" });
    // A step started (a run that started none has nothing to resume).
    bus.emit({ type: "step-started", runId: "R1", time: new Date().toISOString(), stepId: plan.steps[0]!.id, title: plan.steps[0]!.title, attempt: 1, preview: [] });
    const hook = process
      .listeners("exit")
      .filter((l) => l.name === "restoreTerminalOnExit")
      .pop();
    expect(hook).toBeTypeOf("function");
    (hook as () => void)();
    expect(t.output().endsWith(LEAVE_ALT_SCREEN)).toBe(true);
    await ui.finish({ status: "interrupted", exitCode: 3 });
    // Left once only; the summary still says how to resume.
    expect(t.output().split(LEAVE_ALT_SCREEN).length).toBe(2);
    expect(plain(t.output())).toContain("Resume with: runbook resume R1");
  });

  it("Ctrl-C raises SIGINT for the run command's handler, and the open question closes", async () => {
    const t = fakeTerminal();
    const onSigint = vi.fn();
    process.on("SIGINT", onSigint);
    try {
      const ui = await startUi({ io: t.io, plan, bus: new EventBus(), dryRun: false, runId: "R2" });
      const answer = ui.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 });
      await until(() => t.recent().includes("Next step: Build"), "the question");
      t.stdin.write(KEY.ctrlC);
      await until(() => onSigint.mock.calls.length === 1, "SIGINT");
      await expect(answer).resolves.toBe("abort");
      await until(() => t.recent().includes("Interrupted: stopping the running step"), "the notice");
      await ui.finish({ status: "interrupted", exitCode: 3 });
    } finally {
      process.off("SIGINT", onSigint);
    }
  });

  it("leave gives the normal screen back at once, without a summary, and answers what is still asked", async () => {
    const t = fakeTerminal();
    const exitHooksBefore = process.listeners("exit").length;
    const ui = await startUi({ io: t.io, plan, bus: new EventBus(), dryRun: false, runId: "R5" });
    const answer = ui.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 });
    await until(() => t.recent().includes("Next step: Build"), "the question");
    ui.leave();
    expect(t.output().endsWith(LEAVE_ALT_SCREEN)).toBe(true);
    expect(t.setRawMode).toHaveBeenLastCalledWith(false);
    expect(process.listeners("exit").length).toBe(exitHooksBefore);
    await expect(answer).resolves.toBe("abort");
    // finish after leave prints nothing more: the screen was already given back.
    await ui.finish({ status: "interrupted", exitCode: 3 });
    expect(t.output().endsWith(LEAVE_ALT_SCREEN)).toBe(true);
    expect(plain(t.output())).not.toContain("Resume with");
  });

  it("finish answers a question still open (as an abort) so the executor never hangs", async () => {
    const t = fakeTerminal();
    const ui = await startUi({ io: t.io, plan, bus: new EventBus(), dryRun: false, runId: "R3" });
    const answer = ui.interaction.beforeStep({ plan, step: plan.steps[0]!, index: 0 });
    await ui.finish({ status: "aborted", exitCode: 3 });
    await expect(answer).resolves.toBe("abort");
  });

  it("without a terminal on stdin, questions are unanswerable instead of hanging", async () => {
    const t = fakeTerminal();
    const io = { ...t.io, stdin: Object.assign(new PassThrough(), { isTTY: false }) };
    const ui = await startUi({ io, plan, bus: new EventBus(), dryRun: false, runId: "R4" });
    await expect(ui.interaction.confirm("Sure?", { plan })).resolves.toBe("unanswerable");
    await ui.finish({ status: "failed", exitCode: 3 });
  });
});

describe("runbook run with the UI", () => {
  it("a run that does not finish says how to resume it once, in the summary", async () => {
    const t = sharedTerminal();
    const src = `runbook "r" version "1.0.0"\nstep "Bad" as bad { run "echo doomed; exit 1" }\nstep "After" { run "true" }\n`;
    const done = cli().file("r.rb", src).args("run", "r.rb").run(t.io);
    await until(() => t.recent().includes("Next step: Bad"), "the first question").catch((e) => {
      throw new Error(`${e}\n${t.recent().slice(-3000)}`);
    });
    t.stdin.write(KEY.enter);
    await until(() => t.recent().includes("Step failed: Bad"), "the failure");
    t.stdin.write("a");
    await until(() => t.recent().includes("Abort?"), "the abort confirmation");
    t.stdin.write("y");
    const r = await done;
    expect(r.code).toBe(1);
    const out = t.output();
    const after = plain(out.slice(out.lastIndexOf(LEAVE_ALT_SCREEN)));
    const runId = /Run (\S+) failed/.exec(after)?.[1];
    expect(runId).toBeDefined();
    expect(after).toContain(`Resume with: runbook resume ${runId}`);
    expect(after.match(/runbook resume/g)).toHaveLength(1);
    // The error itself still goes to stderr too (for a log of stderr alone).
    expect(after).toContain("runbook: step bad failed: the command exited with status 1");
  });
});
