// Test support for the Ink UI: a Plan builder, a fake executor that walks a plan
// the way the real one does (emitting RunEvents on a real EventBus and awaiting
// the Interaction's answers), and helpers to wait for frames.

import { vi } from "vitest";
import { NO_SPAN } from "../../language/span.js";
import { EventBus, type FailureChoice, type Interaction, type RunEvent, type RunStatus } from "../../runtime/events.js";
import type { Action, Plan, PlannedStep, Text } from "../../runtime/plan.js";

const span = NO_SPAN;

export function step(id: string, over: Partial<PlannedStep> = {}): PlannedStep {
  return {
    id,
    title: over.title ?? id.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase()),
    phase: "main",
    guards: [],
    actions: [],
    undo: [],
    allowFailure: false,
    parallel: 1,
    mutating: true,
    span,
    ...over,
  };
}

export const run = (command: Text, as?: string): Action => ({ kind: "run", command, as, span });
export const confirm = (question: string): Action => ({ kind: "confirm", question, span });
export const manual = (text: string): Action => ({ kind: "manual", text, span });

export function makePlan(steps: PlannedStep[], over: Partial<Plan> = {}): Plan {
  return {
    schema: 2,
    runbook: { name: "demo-release", version: "1.2.3", file: "demo.rb", sourceHash: "abc" },
    env: "dev",
    protected: false,
    envConfirms: [],
    values: {},
    overridden: [],
    secrets: [],
    hosts: { web: { name: "web", targets: ["app@127.0.0.1"], group: false } },
    databases: {},
    steps,
    foreignDatabases: {},
    ...over,
  };
}

/** How a step behaves in the fake executor. */
export interface Behaviour {
  /** Output chunks per attempt (index 0 = first attempt); the last entry repeats. */
  output?: string[][];
  /** How many attempts fail before one succeeds (Infinity: always). */
  failures?: number;
  error?: string;
  /** Awaited while the step is running, after its output. */
  hold?: () => Promise<void>;
}

export interface FakeRun {
  done: Promise<{ status: RunStatus; exitCode: number }>;
  events: RunEvent[];
}

/**
 * Walks the plan like the executor: asks beforeStep, runs actions (confirm,
 * manual, run → output), asks onFailure on a failure (retry / skip / roll back /
 * abort), runs finally steps, and emits every event on the bus.
 */
export function fakeExecutor(plan: Plan, bus: EventBus, interaction: Interaction, behaviours: Record<string, Behaviour> = {}, runId = "run-1"): FakeRun {
  const events: RunEvent[] = [];
  const time = () => new Date().toISOString();
  const emit = (e: Record<string, unknown>) => {
    const ev = { runId, time: time(), ...e } as RunEvent;
    events.push(ev);
    bus.emit(ev);
  };
  const done = (async () => {
    const started = Date.now();
    emit({
      type: "run-started",
      runbook: plan.runbook.name,
      version: plan.runbook.version,
      env: plan.env,
      protected: plan.protected,
      dryRun: false,
      steps: plan.steps.map((s) => ({ id: s.id, title: s.title, section: s.section, host: s.host, phase: s.phase })),
    });
    let status: RunStatus = "succeeded";
    const completed: string[] = [];
    for (const q of plan.envConfirms) {
      const yes = await interaction.confirm(q, { plan });
      emit({ type: "confirm", question: q, answer: yes === true ? "yes" : "no", by: "operator" });
      if (yes !== true) status = "aborted";
    }
    const runStep = async (s: PlannedStep, index: number): Promise<"ok" | "abort" | "failed"> => {
      const b = behaviours[s.id] ?? {};
      for (let attempt = 1; ; attempt++) {
        // Like the executor: step-through asks before every attempt, a retry too.
        const choice = await interaction.beforeStep({ plan, step: s, index });
        if (choice === "abort") return "abort";
        if (choice === "skip") {
          emit({ type: "step-finished", stepId: s.id, status: "skipped", reason: "skipped by the operator", durationMs: 0, attempt: 0 });
          return "ok";
        }
        const t0 = Date.now();
        emit({ type: "step-started", stepId: s.id, title: s.title, host: s.host, attempt, preview: [] });
        for (const a of s.actions) {
          if (a.kind === "confirm") {
            const yes = await interaction.confirm(a.question, { plan, step: s });
            emit({ type: "confirm", stepId: s.id, question: a.question, answer: yes === true ? "yes" : "no", by: "operator" });
            if (yes !== true) {
              emit({ type: "step-finished", stepId: s.id, status: "failed", reason: "not confirmed", durationMs: Date.now() - t0, attempt });
              return "abort";
            }
          } else if (a.kind === "manual") {
            const r = await interaction.manual(a.text, { plan, step: s, index });
            emit({ type: "manual", stepId: s.id, text: a.text, answer: r === "done" ? "done" : "abort", by: "operator" });
            if (r !== "done") {
              emit({ type: "step-finished", stepId: s.id, status: "failed", reason: "manual step aborted", durationMs: Date.now() - t0, attempt });
              return "abort";
            }
          } else if (a.kind === "run") {
            emit({ type: "action", stepId: s.id, kind: "run", description: "$ " + a.command.map((p) => (typeof p === "string" ? p : "***")).join("") });
            const outs = b.output ?? [];
            for (const text of outs[Math.min(attempt - 1, outs.length - 1)] ?? []) emit({ type: "output", stepId: s.id, stream: "stdout", text });
          }
        }
        if (b.hold) await b.hold();
        const fails = attempt <= (b.failures ?? 0);
        if (!fails) {
          emit({ type: "step-finished", stepId: s.id, status: "ok", exitCode: 0, durationMs: Date.now() - t0, attempt });
          completed.push(s.id);
          return "ok";
        }
        const error = b.error ?? "command exited with 1";
        emit({ type: "step-finished", stepId: s.id, status: "failed", reason: error, exitCode: 1, durationMs: Date.now() - t0, attempt });
        const c = (await interaction.onFailure(error, { plan, step: s, index })) as FailureChoice;
        emit({ type: "failure-choice", stepId: s.id, choice: c, by: "operator" });
        if (c === "retry") continue;
        if (c === "skip") return "ok";
        if (c === "abort") return "abort";
        // roll back: like the executor, the completed steps with an undo (or edits), newest first
        const undo = [...completed].reverse().filter((id) => {
          const st = plan.steps.find((x) => x.id === id)!;
          return st.undo.length > 0 || st.actions.some((a) => a.kind === "edit");
        });
        emit({ type: "rollback-started", steps: undo });
        for (const id of undo) {
          const hold = behaviours[`undo:${id}`]?.hold;
          if (hold) await hold();
          emit({ type: "rollback-step", stepId: id, status: "ok" });
        }
        return "failed";
      }
    };
    const main = plan.steps.filter((s) => s.phase === "main");
    const fin = plan.steps.filter((s) => s.phase === "finally");
    if (status === "succeeded") {
      for (const [i, s] of main.entries()) {
        const r = await runStep(s, i);
        if (r === "abort") {
          status = "aborted";
          break;
        }
        if (r === "failed") {
          status = "failed";
          break;
        }
      }
    }
    for (const [i, s] of fin.entries()) await runStep(s, main.length + i);
    const exitCode = status === "succeeded" ? 0 : status === "aborted" ? 3 : 1;
    emit({ type: "run-finished", status, exitCode, durationMs: Date.now() - started });
    return { status, exitCode };
  })();
  return { done, events };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g;
export const plain = (s: string | undefined) => (s ?? "").replace(ANSI, "");

/** Wait until the last frame satisfies `check` (or contains the text). */
export async function frame(lastFrame: () => string | undefined, check: string | RegExp | ((f: string) => boolean), timeout = 10_000): Promise<string> {
  let last = "";
  try {
    return await vi.waitFor(
      () => {
        last = plain(lastFrame());
        const ok = typeof check === "string" ? last.includes(check) : check instanceof RegExp ? check.test(last) : check(last);
        if (!ok) throw new Error("not yet");
        return last;
      },
      { timeout, interval: 10 },
    );
  } catch {
    throw new Error(`frame never matched ${String(check)}; last frame:\n${last}`);
  }
}

export const KEY = {
  enter: "\r",
  up: "\u001B[A",
  down: "\u001B[B",
  pgUp: "\u001B[5~",
  pgDn: "\u001B[6~",
  esc: "\u001B",
  ctrlC: "\u0003",
  backspace: "\u007F",
} as const;

/** Settles a promise's state for assertions without awaiting it forever. */
export function track<T>(p: Promise<T>): { settled: boolean; value?: T } {
  const t: { settled: boolean; value?: T } = { settled: false };
  void p.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export { EventBus };
