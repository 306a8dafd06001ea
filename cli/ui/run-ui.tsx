// Entry point of the interactive step-through UI. `runbook run` on a terminal
// calls startUi before the executor starts: it switches to the alternate screen,
// renders the Ink App, feeds it the run's events from the bus, and returns the
// Interaction the executor asks its questions through. `finish` closes the UI,
// restores the normal screen and prints a plain summary there. The terminal is
// restored on any exit (process.on("exit")), even when the run crashes.
//
// Ink, React and the components are imported here, lazily, so `runbook check`
// never loads them.

import type { EventBus, Interaction, RunStatus } from "../../runtime/events.js";
import type { Plan } from "../../runtime/plan.js";
import { useColor, type CliIO } from "../io.js";

/** Switch to the alternate screen (saving the cursor) and home the cursor. */
export const ENTER_ALT_SCREEN = "\u001B[?1049h\u001B[H";
/** Show the cursor again and go back to the normal screen. */
export const LEAVE_ALT_SCREEN = "\u001B[?25h\u001B[?1049l";

export interface UiOptions {
  io: CliIO;
  plan: Plan;
  bus: EventBus;
  dryRun: boolean;
  runId: string;
  /** Stop before each step and wait for the operator (default true). */
  stepThrough?: boolean;
}

export interface UiHandle {
  interaction: Interaction;
  /** Close the UI (unmount, leave the alternate screen) and print the summary. */
  finish(result: { status: RunStatus; exitCode: number }): Promise<void>;
}

/**
 * Ink decides once, when it is first imported, whether it runs "in CI" (CI or
 * CONTINUOUS_INTEGRATION set), and then draws no frames at all, only the last one
 * on exit. On a real terminal the operator must see the screen even when the
 * variable is set (a CI job driving a terminal, a developer's shell), so the
 * variables are hidden while Ink loads, then put back.
 */
async function loadUiModules(io: CliIO) {
  const saved: [string, string][] = [];
  if (io.stdout.isTTY) {
    for (const k of ["CI", "CONTINUOUS_INTEGRATION"]) {
      const v = process.env[k];
      if (v !== undefined) {
        saved.push([k, v]);
        delete process.env[k];
      }
    }
  }
  try {
    return await Promise.all([import("ink"), import("./App.js"), import("./store.js"), import("./summary.js")]);
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
}

export async function startUi(options: UiOptions): Promise<UiHandle> {
  const { io, plan, bus, dryRun, runId, stepThrough = true } = options;
  const color = useColor(io);
  const [{ render }, { App }, { UiStore }, { formatSummary }] = await loadUiModules(io);
  const store = new UiStore({
    plan,
    runId,
    dryRun,
    stepThrough,
    // Ink reads the keyboard in raw mode, so Ctrl-C no longer raises SIGINT: raise
    // it, and the run command's handler does what it does in plain mode.
    onInterrupt: () => process.kill(process.pid, "SIGINT"),
    // Keys need a terminal on stdin (raw mode); without one nobody can answer.
    canAnswer: io.stdin.isTTY === true && typeof io.stdin.setRawMode === "function",
  });
  const unsubscribe = bus.subscribe(store.handle);

  let onAltScreen = false;
  const leaveScreen = function restoreTerminalOnExit() {
    if (!onAltScreen) return;
    onAltScreen = false;
    try {
      if (io.stdin.isTTY) io.stdin.setRawMode?.(false);
    } catch {
      // stdin may already be closed
    }
    try {
      io.stdout.write(LEAVE_ALT_SCREEN);
    } catch {
      // stdout may already be closed
    }
  };
  process.on("exit", leaveScreen);
  io.stdout.write(ENTER_ALT_SCREEN);
  onAltScreen = true;

  let instance: ReturnType<typeof render>;
  try {
    instance = render(<App store={store} color={color} />, {
      stdout: io.stdout as NodeJS.WriteStream,
      stdin: io.stdin as NodeJS.ReadStream,
      stderr: io.stderr as NodeJS.WriteStream,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 30,
      onRender: ({ renderTime }) => store.reportRender(renderTime),
    });
  } catch (error) {
    unsubscribe();
    store.close();
    leaveScreen();
    process.off("exit", leaveScreen);
    throw error;
  }
  store.startTicker();

  let closed = false;
  return {
    interaction: store.interaction,
    async finish(result) {
      if (closed) return;
      closed = true;
      unsubscribe();
      store.close();
      store.flush();
      const exited = instance.waitUntilExit().catch(() => undefined);
      instance.unmount();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      leaveScreen();
      process.off("exit", leaveScreen);
      io.stdout.write(formatSummary(store, result, color));
    },
  };
}
