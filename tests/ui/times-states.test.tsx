// True times and states in the UI (issue 16, part 2): a skipped or note-only step
// shows no time, waits for the operator are shown apart, and `resume` shows the
// steps already done as done with their old times and the interrupted one marked
// before any question.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import type { RunEvent } from "../../runtime/events.js";
import { stepTime, waitText } from "../../cli/ui/format.js";
import { formatSummary } from "../../cli/ui/summary.js";
import { UiStore } from "../../cli/ui/store/index.js";
import type { Action } from "../../runtime/plan.js";
import { NO_SPAN } from "../../language/span.js";
import { makePlan, plain, run, step } from "./support.js";
import { render } from "ink-testing-library";
import { App } from "../../cli/ui/App.js";
import { frame } from "./support.js";
import { resize } from "./harness.js";

afterEach(() => cleanup());
vi.setConfig({ testTimeout: 120_000 });

const ev = (e: Record<string, unknown>) => ({ runId: "run-1", time: new Date().toISOString(), ...e }) as RunEvent;
const note = (text: string): Action => ({ kind: "note", text, span: NO_SPAN });

describe("stepTime", () => {
  it("shows no time for a step not run, skipped or with only notes; the clock while it runs", () => {
    expect(stepTime({ status: "pending" })).toBe("");
    expect(stepTime({ status: "skipped", durationMs: 1500 })).toBe("");
    expect(stepTime({ status: "ok", durationMs: 6100, noteOnly: true })).toBe("");
    expect(stepTime({ status: "ok", durationMs: 313 })).toBe("313ms");
    expect(stepTime({ status: "running", startedAt: 1000 }, 3500)).toBe("2.5s");
    expect(waitText(undefined)).toBe("");
    expect(waitText(20_200)).toBe("waited 20.2s for you");
  });
});

describe("the UI's times and states", () => {
  const plan = () =>
    makePlan([
      step("backup", { section: "Prepare", actions: [run(["dump"])] }),
      step("tell", { section: "Prepare", actions: [note("testers told")] }),
      step("deploy", { section: "Deploy", actions: [run(["./deploy.sh"])] }),
      step("check", { section: "Deploy", actions: [run(["curl"])] }),
    ]);

  it("a skipped and a note step show no time; a wait is shown apart in the detail and the summary", async () => {
    const p = plan();
    const store = new UiStore({ plan: p, runId: "run-1", dryRun: false, frameMs: 15 });
    const r = render(<App store={store} color={false} />);
    resize(r.stdout, 120, 32);
    const emit = (e: Record<string, unknown>) => store.handle(ev(e));
    emit({ type: "run-started", runbook: "demo-release", version: "1.2.3", env: "dev", protected: false, dryRun: false, steps: p.steps });
    emit({ type: "step-finished", stepId: "backup", status: "skipped", reason: "skipped by the operator", durationMs: 1500, attempt: 0 });
    emit({ type: "step-started", stepId: "tell", title: "Tell", attempt: 1, preview: [] });
    emit({ type: "step-finished", stepId: "tell", status: "ok", durationMs: 6100, attempt: 1 });
    emit({ type: "step-started", stepId: "deploy", title: "Deploy", attempt: 1, preview: [] });
    emit({ type: "step-finished", stepId: "deploy", status: "ok", durationMs: 313, waitedMs: 20_200, attempt: 1 });
    const f = await frame(r.lastFrame, (s) => s.includes("waited 20.2s for you"));
    expect(f).toMatch(/↷ Backup\s+│/);
    expect(f).toMatch(/✔ Tell\s+│/);
    expect(f).toMatch(/✔ Deploy\s+313ms │/);
    expect(f).not.toContain("1.5s");
    expect(f).not.toContain("6.1s");
    const sum = formatSummary(store, { status: "succeeded", exitCode: 0 }, false);
    expect(sum).toMatch(/deploy .*ok\s+313ms {2}waited 20\.2s for you/);
    expect(sum).not.toMatch(/6\.1s|1\.5s/);
    store.close();
  });

  it("resume: done steps as done with their old times, the interrupted one marked before any question", async () => {
    const p = plan();
    const store = new UiStore({
      plan: p,
      runId: "run-1",
      dryRun: false,
      frameMs: 15,
      earlier: new Map([
        ["backup", { status: "ok" as const, durationMs: 2400 }],
        ["tell", { status: "ok" as const, durationMs: 5 }],
        ["deploy", { status: "interrupted" as const, reason: "it was running when run run-0 stopped" }],
      ]),
    });
    const r = render(<App store={store} color={false} />);
    resize(r.stdout, 120, 32);
    store.handle(ev({ type: "run-started", runbook: "demo-release", version: "1.2.3", env: "dev", protected: false, dryRun: false, resumedFrom: "run-0", steps: p.steps }));
    // Two done; the interrupted one is not.
    let f = await frame(r.lastFrame, (s) => s.includes("2/4 steps"));
    expect(f).toMatch(/✔ Backup\s+2\.4s │/);
    expect(f).toMatch(/⚠ Deploy/);
    expect(f).not.toMatch(/○ Backup|○ Deploy/);
    // The question about it follows; it stays marked until it runs again.
    const answer = store.interaction.rerunInterrupted!({ plan: p, step: p.steps[2]!, index: 2 });
    f = await frame(r.lastFrame, "Interrupted: Deploy");
    expect(f).toMatch(/⚠ Deploy/);
    expect(plain(formatSummary(store, { status: "aborted", exitCode: 3 }, false))).toMatch(/✔ backup\s+Backup\s+ok\s+2\.4s {2}\(earlier run\)/);
    store.close();
    await answer;
  });
});
