// Entry point of the interactive step-through UI. `runbook run` on a terminal
// calls startUi before the executor starts: it switches to the alternate screen,
// renders the Ink App, feeds it the run's events from the bus, and returns the
// Interaction the executor asks its questions through. `finish` closes the UI,
// restores the normal screen and prints a plain summary there (with how to
// resume a run that did not finish); `leave` only restores the screen, for an
// exit right now. The terminal is restored on any exit (process.on("exit")),
// even when the run crashes.
//
// Ink, React and the components are imported here, lazily (see loadUiModules),
// so `runbook check` never loads them.

import type { EventBus, Interaction, RunStatus } from "../../runtime/events.js";
import type { Plan } from "../../runtime/plan.js";
import { useColor, type CliIO } from "../io.js";
import type { EarlierStep } from "./store/index.js";

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
  /** `resume`: how the earlier run left its steps. */
  earlier?: ReadonlyMap<string, EarlierStep>;
  /** The --state the run was given. */
  state?: string;
}

export interface UiHandle {
  interaction: Interaction;
  /** Close the UI (unmount, leave the alternate screen) and print the summary. */
  finish(result: { status: RunStatus; exitCode: number }): Promise<void>;
  /**
   * Give the terminal back at once, without a summary: the process is about to
   * exit (a second Ctrl-C), and what is written next must land on the normal
   * screen, not on the alternate one that is about to vanish.
   */
  leave(): void;
}

/**
 * Loads Ink, React and the components, once, with two environment variables
 * adjusted while they load (and put back right after):
 * - Ink decides when it is first imported whether it runs "in CI" (CI or
 *   CONTINUOUS_INTEGRATION set), and then draws no frames at all, only the last one
 *   on exit. On a real terminal the operator must see the screen even when the
 *   variable is set (a CI job driving a terminal, a developer's shell), so they are
 *   hidden while Ink loads.
 * - React picks its development build unless NODE_ENV is "production"; the
 *   development build is several times slower and only helps while writing
 *   components. When NODE_ENV is not set, the production build is loaded.
 * This module has no JSX so that nothing here loads React before that.
 */
async function loadUiModules(io: CliIO) {
  const saved: [string, string | undefined][] = [];
  const set = (k: string, v: string | undefined) => {
    saved.push([k, process.env[k]]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  if (io.stdout.isTTY) for (const k of ["CI", "CONTINUOUS_INTEGRATION"]) if (process.env[k] !== undefined) set(k, undefined);
  if (process.env.NODE_ENV === undefined) set("NODE_ENV", "production");
  try {
    return await Promise.all([import("react"), import("ink"), import("./App.js"), import("./store/index.js"), import("./summary.js")]);
  } finally {
    for (const [k, v] of saved.reverse()) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function startUi(options: UiOptions): Promise<UiHandle> {
  const { io, plan, bus, dryRun, runId, stepThrough = true, earlier, state } = options;
  const color = useColor(io);
  const [React, { render }, { App }, { UiStore }, { formatSummary }] = await loadUiModules(io);
  const store = new UiStore({
    plan,
    runId,
    dryRun,
    stepThrough,
    ...(earlier ? { earlier } : {}),
    ...(state !== undefined ? { state } : {}),
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
  // SIGINT: the run command stops the step and no longer waits for open questions;
  // close them. Were no one else listening, do what SIGINT does by default.
  const onSigint = () => {
    if (process.listenerCount("SIGINT") > 1) {
      store.interrupted();
      return;
    }
    process.off("SIGINT", onSigint);
    leaveScreen();
    process.kill(process.pid, "SIGINT");
  };
  process.on("SIGINT", onSigint);
  io.stdout.write(ENTER_ALT_SCREEN);
  onAltScreen = true;

  let instance: ReturnType<typeof render>;
  try {
    instance = render(React.createElement(App, { store, color }), {
      stdout: io.stdout as NodeJS.WriteStream,
      stdin: io.stdin as NodeJS.ReadStream,
      stderr: io.stderr as NodeJS.WriteStream,
      exitOnCtrlC: false,
      patchConsole: false,
      // The store spaces the frames that events cause; Ink's own throttle would only
      // hold back the frame that answers a key press (to a timer behind the output).
      maxFps: 120,
      onRender: ({ renderTime }) => store.reportRender(renderTime),
    });
  } catch (error) {
    unsubscribe();
    store.close();
    leaveScreen();
    process.off("exit", leaveScreen);
    process.off("SIGINT", onSigint);
    throw error;
  }
  store.startTicker();

  let closed = false;
  // A component that throws ends the Ink app: restore the terminal, say so, and
  // stop asking (the run fails as "unanswerable" rather than waiting forever).
  instance.waitUntilExit().then(undefined, (error: unknown) => {
    if (closed) return;
    leaveScreen();
    io.stderr.write(`runbook: the interactive UI stopped: ${error instanceof Error ? error.message : String(error)}\n`);
    store.fail();
  });
  return {
    interaction: store.interaction,
    leave() {
      if (closed) return;
      closed = true;
      unsubscribe();
      store.close();
      try {
        instance.unmount();
      } catch {
        // the screen is left below in any case
      }
      leaveScreen();
      process.off("exit", leaveScreen);
      process.off("SIGINT", onSigint);
    },
    async finish(result) {
      if (closed) return;
      // A dry run's screen stays until the operator leaves: what it would do is there to read.
      if (dryRun) await store.waitToLeave();
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
      process.off("SIGINT", onSigint);
      io.stdout.write(formatSummary(store, result, color, (io.stdout as { columns?: number }).columns || 80));
    },
  };
}
