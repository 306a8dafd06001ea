// A step's true time and state (issue 16, part 2): its time runs from its start to
// its end, the operator's answers before and inside it left out (those inside are
// reported apart, as waitedMs); a step aborted before it started is not recorded
// as finished (never as failed); an interrupted step is asked about first.

import { describe, expect, it } from "vitest";
import type { Interaction } from "../../runtime/events.js";
import { planFrom, runPlan, tempDir } from "./helpers.js";

const header = `runbook "t" version "1.0.0"\n`;
const slow = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

/** An interaction that answers after `ms` (a person thinking), logging what it was asked in order. */
function thinking(ms: number, over: Partial<Interaction> = {}): Interaction & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    beforeStep: (ctx) => (asked.push(`before:${ctx.step.id}`), slow(ms, "run" as const)),
    confirm: (_q, ctx) => (asked.push(`confirm:${ctx.step?.id}`), slow(ms, true)),
    manual: (_t, ctx) => (asked.push(`manual:${ctx.step.id}`), slow(ms, "done" as const)),
    onFailure: () => Promise.resolve("abort" as const),
    rerunInterrupted: (ctx) => (asked.push(`rerun:${ctx.step.id}`), slow(ms, true)),
    ...over,
  };
}

describe("a step's time", () => {
  it("leaves out the wait before it starts and reports the waits inside it apart", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" as a { run "true" }\nstep "B" as b {\n  confirm "Go on?"\n  run "true"\n}\n`);
    // When each 'Next step' was answered: the step's time starts no earlier.
    const answered: Record<string, number> = {};
    const base = thinking(300);
    const i = thinking(300, { beforeStep: async (ctx) => {
      const a = await base.beforeStep(ctx);
      answered[ctx.step.id] = Date.now();
      return a;
    } });
    const r = await runPlan(plan, { cwd, interaction: i });
    expect(r.steps).toEqual({ a: "ok", b: "ok" });
    const end = (id: string) => Date.parse(r.finished[id]!.time);
    // Bounds from the clock, not guesses of speed: the time is at most what passed after the answer.
    expect(r.finished.a!.durationMs).toBeLessThanOrEqual(end("a") - answered.a! + 1);
    expect(r.finished.a!.waitedMs).toBeUndefined();
    // B's confirmation waited (at least the 300 ms the operator took) inside it: apart, not in its time.
    expect(r.finished.b!.waitedMs).toBeGreaterThanOrEqual(299);
    expect(r.finished.b!.durationMs).toBeLessThanOrEqual(end("b") - answered.b! - r.finished.b!.waitedMs! + 1);
  });
});

describe("a step never started", () => {
  it("is not recorded as finished when the operator aborts at its 'Next step'", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" as a { run "true" }\nstep "B" as b { run "touch b" }\n`);
    const r = await runPlan(plan, { cwd, interaction: thinking(0, { beforeStep: async (ctx) => (ctx.step.id === "b" ? "abort" : "run") }) });
    expect(r.status).toBe("aborted");
    expect(r.steps).toEqual({ a: "ok" });
    expect(r.events.some((e) => e.type === "step-started" && e.stepId === "b")).toBe(false);
  });
});

describe("resume: an interrupted step", () => {
  it("is asked about before anything else (its yes starts it, no 'Next step' first)", async () => {
    const cwd = tempDir();
    const plan = planFrom(`${header}step "A" as a { run "true" }\nstep "B" as b { run "true" }\n`);
    const i = thinking(0);
    const r = await runPlan(plan, { cwd, interaction: i, interrupted: new Set(["a"]) });
    expect(r.steps).toEqual({ a: "ok", b: "ok" });
    expect(i.asked).toEqual(["rerun:a", "before:b"]);
  });
});
