// The smaller items of issue 16: a pasted env name with its Enter answers the
// protected confirmation; the resume command is offered only for a run that
// started a step, and names the --state it was given; the summary's columns line
// up and fit 80 columns.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import type { RunEvent } from "../../runtime/events.js";
import { UiStore } from "../../cli/ui/store/index.js";
import { formatSummary } from "../../cli/ui/summary.js";
import { displayWidth, resumeCommand } from "../../cli/ui/format.js";
import { confirm, makePlan, run, step, track } from "./support.js";
import { mount } from "./harness.js";

afterEach(() => cleanup());
vi.setConfig({ testTimeout: 120_000 });

const ev = (e: Record<string, unknown>) => ({ runId: "run-1", time: new Date().toISOString(), ...e }) as RunEvent;

describe("a pasted confirmation", () => {
  it.each([["prod\r"], ["prod\n"]])("%j in one chunk answers yes", async (chunk) => {
    const plan = makePlan([step("release", { actions: [confirm("Ship it?")] })], { env: "prod", protected: true });
    const ui = mount(plan);
    const answer = track(ui.store.interaction.confirm("Ship it?", { plan, step: plan.steps[0] }));
    await ui.frame("Confirm in protected env");
    ui.press(chunk);
    await vi.waitFor(() => expect(answer.value).toBe(true));
  });

  it("a wrong name pasted with Enter is refused, not typed on", async () => {
    const plan = makePlan([step("release", { actions: [confirm("Ship it?")] })], { env: "prod", protected: true });
    const ui = mount(plan);
    const answer = track(ui.store.interaction.confirm("Ship it?", { plan, step: plan.steps[0] }));
    await ui.frame("Confirm in protected env");
    ui.press("uat\r");
    await ui.frame('"uat" is not "prod"');
    expect(answer.settled).toBe(false);
    ui.press("prod\r");
    await vi.waitFor(() => expect(answer.value).toBe(true));
  });
});

describe("the resume command offered", () => {
  const plan = makePlan([step("deploy", { actions: [run(["x"])] })]);
  it("names the --state the run was given, quoted for a shell", () => {
    expect(resumeCommand("r1")).toBe("runbook resume r1");
    expect(resumeCommand("r1", "/var/lib/runbook/j.db")).toBe("runbook resume r1 --state /var/lib/runbook/j.db");
    expect(resumeCommand("r1", "/tmp/my journal.db")).toBe("runbook resume r1 --state '/tmp/my journal.db'");
    const store = new UiStore({ plan, runId: "r1", dryRun: false, state: "/tmp/j.db" });
    store.handle(ev({ type: "step-started", stepId: "deploy", title: "Deploy", attempt: 1, preview: [] }));
    store.handle(ev({ type: "step-finished", stepId: "deploy", status: "failed", reason: "boom", durationMs: 5, attempt: 1 }));
    expect(formatSummary(store, { status: "failed", exitCode: 1 }, false)).toContain("Resume with: runbook resume r1 --state /tmp/j.db");
  });

  it("is not offered for a run that never started a step", () => {
    const store = new UiStore({ plan, runId: "r1", dryRun: false });
    store.handle(ev({ type: "run-finished", status: "failed", exitCode: 1, durationMs: 5, error: "preflight failed" }));
    expect(formatSummary(store, { status: "failed", exitCode: 1 }, false)).not.toContain("Resume with");
  });
});

describe("the summary's columns", () => {
  it("line up (a host counted whole) and fit 80 columns", () => {
    const plan = makePlan([
      step("backup-the-production-database-before-anything", { title: "Back up the production database before anything else happens to it", host: "web" }),
      step("tell", { title: "Tell testers" }),
      step("deploy", { title: "Deploy", host: "web" }),
    ]);
    const store = new UiStore({ plan, runId: "r1", dryRun: false });
    for (const id of ["backup-the-production-database-before-anything", "tell", "deploy"])
      store.handle(ev({ type: "step-finished", stepId: id, status: "ok", durationMs: 1200, attempt: 1 }));
    const text = formatSummary(store, { status: "succeeded", exitCode: 0 }, false, 80);
    const rows = text.split("\n").filter((l) => l.startsWith("    ✔"));
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(displayWidth(r)).toBeLessThanOrEqual(80);
    // The status column starts at the same place in every row.
    const at = rows.map((r) => r.indexOf(" ok "));
    expect(new Set(at).size).toBe(1);
    expect(text).toContain("Deploy (on web)");
    expect(text).toMatch(/Back up the production .*…/);
  });

  it("wraps a reason too long for its row under it, whole, within 80 columns; the run's error too", () => {
    const plan = makePlan([step("wait_site", { title: "Wait for the site" }), step("after", { title: "After" })]);
    const store = new UiStore({ plan, runId: "r1", dryRun: false });
    const reason = 'exists "/tmp/h16/never-there-file-with-a-long-name/and/a/longer/path/still/more" still did not hold after 3s';
    store.handle(ev({ type: "step-started", stepId: "wait_site", title: "Wait for the site", attempt: 1, preview: [] }));
    store.handle(ev({ type: "step-finished", stepId: "wait_site", status: "failed", reason, durationMs: 3000, attempt: 1 }));
    store.handle(ev({ type: "run-finished", status: "failed", exitCode: 1, durationMs: 3100, error: `step wait_site failed: ${reason}` }));
    const text = formatSummary(store, { status: "failed", exitCode: 1 }, false, 80);
    const lines = text.trimEnd().split("\n");
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(80);
    const row = lines.findIndex((l) => l.startsWith("    ✘ wait_site"));
    expect(lines[row]).toMatch(/failed\s+3\.0s$/);
    // Under the row, indented, the whole reason (its path, longer than a line, cut in two).
    const under = [];
    for (let i = row + 1; lines[i]!.startsWith("      "); i++) under.push(lines[i]!.trim());
    expect(under.join("").replace(/\s/g, "")).toBe(reason.replace(/\s/g, ""));
    expect(under.at(-1)).toMatch(/still did not hold after 3s$/);
    expect(text).toMatch(/\n {2}step wait_site failed: exists\n {4}"\/tmp\/h16/);
    expect(text.replace(/\s/g, "")).toContain(`step wait_site failed: ${reason}`.replace(/\s/g, ""));
  });
});

describe("the approval gate", () => {
  const plan = makePlan([step("deploy", { actions: [run(["x"])] })]);
  const request = { stepId: "deploy", group: "release-group", count: 2, sources: [{ path: "r.rb", sha256: "a".repeat(64) }], planDigest: "b".repeat(64) };
  it("shows each approval's verdict in the step and the waiting state in the summary, with what an approver needs", () => {
    const store = new UiStore({ plan, runId: "r1", dryRun: false });
    store.handle(ev({ type: "approval", stepId: "deploy", group: "release-group", approver: "bob@example.org", signedAt: "2026-12-07T10:00:00.000Z", status: "verified" }));
    store.handle(ev({ type: "approval", stepId: "deploy", group: "release-group", approver: "alice@example.org", signedAt: "2026-12-07T10:01:00.000Z", status: "refused", reason: "alice@example.org is running this release" }));
    store.handle(ev({ type: "approval-waiting", ...request, approvedBy: ["bob@example.org"] }));
    store.handle(ev({ type: "run-finished", status: "waiting", exitCode: 6, durationMs: 5, error: "waiting for approval: 1 of 2" }));
    expect(store.approvals.map((a) => [a.approver, a.status])).toEqual([
      ["bob@example.org", "verified"],
      ["alice@example.org", "refused"],
    ]);
    expect(store.waitingApproval).toMatchObject({ count: 2, approvedBy: ["bob@example.org"] });
    const text = formatSummary(store, { status: "waiting", exitCode: 6 }, false);
    expect(text).toContain("Run r1 is waiting for approval in");
    expect(text).toContain('waiting for approval: 2 from "release-group" before step deploy; approved by bob@example.org');
    expect(text).toContain(`plan digest: ${"b".repeat(64)}`);
    expect(text).toContain("an approver: runbook approve run-1");
    expect(text).not.toContain("Resume with");
  });
});
