// startUi on fake terminal streams: the alternate screen is entered and left,
// keys reach the Interaction, finish prints the summary on the normal screen,
// the exit hook restores the terminal, and Ctrl-C raises SIGINT.

import { PassThrough, Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN, startUi } from "../../cli/ui/run-ui.js";
import type { CliIO } from "../../cli/io.js";
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
    const ui = await startUi({ io: t.io, plan, bus: new EventBus(), dryRun: false, runId: "R1" });
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
