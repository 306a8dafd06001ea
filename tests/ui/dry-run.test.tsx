// A dry run on a terminal (issue 16, part 1): every step says what it would do
// (multi-line commands and SQL as lines, guards with their values and outcome),
// the screen stays with the verdict and its warnings until the operator leaves,
// and the journal keeps the same lines for `runbook show`.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import type { RunEvent } from "../../runtime/events.js";
import { OutputBuffer } from "../../cli/ui/output-buffer.js";
import { JournalRecorder } from "../../runtime/journal/index.js";
import { dryRunJournalText, guardLine, guardLineOutcomeFirst } from "../../runtime/views/step-lines.js";
import { createPlainLog } from "../../runtime/views/plain-log.js";
import { KEY, makePlan, run, step, track } from "./support.js";
import { mount } from "./harness.js";

afterEach(() => cleanup());
vi.setConfig({ testTimeout: 120_000 });

const ev = (e: Record<string, unknown>) => ({ runId: "run-1", time: "2026-01-01T00:00:00.000Z", ...e }) as RunEvent;
type Guard = Extract<RunEvent, { type: "guard" }>;
const guard = (over: Partial<Guard>) => ev({ type: "guard", stepId: "a", source: 'exists "${appdir}"', ...over }) as Guard;

describe("guard wording", () => {
  it("shows the condition with its values and what it means for the step", () => {
    expect(guardLine(guard({ kind: "when", resolved: 'exists "/srv/app"', result: true }))).toBe('when exists "/srv/app": true, runs');
    expect(guardLine(guard({ kind: "when", resolved: 'exists "/srv/app"', result: false }))).toBe('when exists "/srv/app": false, skips');
    expect(guardLine(guard({ kind: "unless", resolved: 'exists "/srv/app"', result: true }))).toBe('unless exists "/srv/app": true, skips');
    expect(guardLine(guard({ kind: "unless", resolved: 'exists "/srv/app"', result: false }))).toBe('unless exists "/srv/app": false, runs');
    expect(guardLine(guard({ source: 'require exists "${x}"', resolved: 'require exists "/x"', result: false }))).toBe('require exists "/x": false, fails');
    expect(guardLine(guard({ kind: "when", result: "unknown", reason: "no probe" }))).toBe('when exists "${appdir}": unknown (no probe)');
    expect(guardLineOutcomeFirst(guard({ kind: "when", resolved: 'exists "/srv/app"', result: true }))).toBe('[true, runs] when exists "/srv/app"');
  });

  it("the plain log prints the resolved guard", () => {
    let text = "";
    const log = createPlainLog({ write: (s: string) => (text += s) });
    log(guard({ kind: "when", resolved: 'exists "/srv/app"', result: true }));
    expect(text).toContain('[a] when exists "/srv/app": true, runs');
    expect(text).not.toContain("${appdir}");
  });
});

describe("the UI's own lines", () => {
  it("keep a multi-line command as lines, each marked as the UI's", () => {
    const b = new OutputBuffer();
    b.append("partial");
    b.appendInfo("would run: $ set -eu\n  echo one\n  echo two\n");
    expect(b.tail(10, 0)).toEqual([
      { text: "partial", info: false },
      { text: "would run: $ set -eu", info: true },
      { text: "  echo one", info: true },
      { text: "  echo two", info: true },
    ]);
  });
});

describe("the journal of a dry run", () => {
  const tailOf = (events: RunEvent[]) => {
    const r = new JournalRecorder();
    const ops = events.flatMap((e) => r.events(e));
    const fin = ops.find((o) => o.op === "step-finish") as { tail: string } | undefined;
    return fin?.tail;
  };
  const events = (dryRun: boolean) => [
    ev({ type: "run-started", runbook: "r", version: "1", env: "dev", protected: false, dryRun, steps: [] }),
    ev({ type: "step-started", stepId: "a", title: "A", attempt: 1, preview: [] }),
    guard({ kind: "when", resolved: 'exists "/srv/app"', result: true }),
    ev({ type: "action", stepId: "a", kind: "run", description: "would run: $ echo hi" }),
    ev({ type: "action", stepId: "a", kind: "sql", description: "would run on appdb:\n  UPDATE t SET x = 1 (updates 3 rows)" }),
    ev({ type: "diff", stepId: "a", path: "/etc/x.conf", diff: "-a\n+b\n" }),
    ev({ type: "step-finished", stepId: "a", status: "ok", reason: "dry run", durationMs: 3, attempt: 1 }),
  ];

  it("keeps what it would do in the step's output (what `show` prints)", () => {
    expect(tailOf(events(true))).toBe(
      'guard when exists "/srv/app": true, runs\nwould run: $ echo hi\nwould run on appdb:\n  UPDATE t SET x = 1 (updates 3 rows)\nwould edit /etc/x.conf:\n-a\n+b\n',
    );
  });

  it("a real run's output stays the step's own", () => {
    expect(tailOf(events(false))).toBe("");
    expect(dryRunJournalText(ev({ type: "note", stepId: "a", text: "x" }))).toBeUndefined();
  });
});

describe("the dry run's screen", () => {
  const plan = () =>
    makePlan([step("deploy", { section: "Deploy", actions: [run(["./deploy.sh ", "'/srv/app'"])] }), step("check", { actions: [run(["curl x"])] })]);

  it("shows each step's would-run lines and guards, then stays with the verdict and its warnings until q", async () => {
    const p = plan();
    const ui = mount(p, { dryRun: true, rows: 40 });
    ui.bus.emit(ev({ type: "run-started", runbook: "demo-release", version: "1.2.3", env: "dev", protected: false, dryRun: true, steps: p.steps }));
    ui.bus.emit(ev({ type: "step-started", stepId: "deploy", title: "Deploy", attempt: 1, preview: [] }));
    ui.bus.emit(guard({ stepId: "deploy", kind: "when", resolved: 'exists "/srv/app"', result: true }));
    ui.bus.emit(ev({ type: "action", stepId: "deploy", kind: "run", description: "would run: $ set -eu\n  ./deploy.sh '/srv/app'" }));
    ui.bus.emit(ev({ type: "step-finished", stepId: "deploy", status: "ok", reason: "dry run", durationMs: 3, attempt: 1 }));
    ui.bus.emit(ev({
      type: "dry-run-verdict",
      verdict: "would-fail",
      checked: 3,
      failed: [{ what: "secret dev_db_password", why: "secret dev_db_password is not set: environment variable DB_PW is not set" }],
      notVerified: [],
      pending: [],
    }));
    ui.bus.emit(ev({ type: "run-finished", status: "succeeded", exitCode: 0, durationMs: 9 }));
    const left = track(ui.store.waitToLeave());
    let f = await ui.frame("Dry run finished");
    expect(f).toContain("verdict: would fail");
    expect(f).toContain("failed: secret dev_db_password: secret dev_db_password is not set");
    expect(f).toMatch(/q\/Enter leave/);
    // The operator reads a step: its lines, one per line of the command.
    ui.press(KEY.up, KEY.up);
    f = await ui.frame((s) => s.includes("./deploy.sh '/srv/app'") && s.includes("[true, runs] when exists"));
    expect(f).toMatch(/▸ would run: \$ set -eu\n/);
    await new Promise((r) => setTimeout(r, 50));
    expect(left.settled).toBe(false);
    ui.press("x");
    await new Promise((r) => setTimeout(r, 50));
    expect(left.settled).toBe(false);
    ui.press("q");
    await vi.waitFor(() => expect(left.settled).toBe(true));
  });

  it("at 80x24 the verdict's warnings are read whole, each wrapped, none cut; the list says which step is selected", async () => {
    const p = makePlan([step("prepare", { title: "Prepare" }), step("deploy", { title: "Deploy" }), step("skipped", { title: "Skipped" })]);
    const ui = mount(p, { dryRun: true, columns: 80, rows: 24 });
    ui.bus.emit(ev({ type: "run-started", runbook: "dry", version: "1.0.0", env: "dev", protected: false, dryRun: true, steps: p.steps }));
    const secret = "[deploy] secret dev_db_password: secret dev_db_password is not set: environment variable HAITIDEV_DB_PASSWORD is not set; needed only if a run-time guard lets step deploy run (read then)";
    const guardItem = '[skipped] when exists "/srv/haiti/web2py/applications/dev/databases/storage.sqlite": unknown until step deploy runs';
    ui.bus.emit(ev({
      type: "dry-run-verdict",
      verdict: "would-run",
      checked: 1,
      failed: [],
      notVerified: [],
      pending: [
        { stepId: "deploy", what: "secret dev_db_password", why: secret.slice(secret.indexOf(": ") + 2) },
        { stepId: "skipped", what: 'when exists "/srv/haiti/web2py/applications/dev/databases/storage.sqlite"', why: "unknown until step deploy runs" },
      ],
    }));
    ui.bus.emit(ev({ type: "run-finished", status: "succeeded", exitCode: 0, durationMs: 9 }));
    const left = track(ui.store.waitToLeave());
    const f = await ui.frame("Dry run finished");
    const text = f.replace(/[│╭╮╰╯─]/g, " ").replace(/\s+/g, " ");
    expect(text).toContain(`unknown until an earlier step runs: ${secret}`);
    expect(text).toContain(`unknown until an earlier step runs: ${guardItem}`);
    expect(f).not.toContain("…");
    ui.press(KEY.down);
    expect(await ui.frame(/Steps {2}▶ 2 of 3/)).toBeTruthy();
    ui.press("q");
    await vi.waitFor(() => expect(left.settled).toBe(true));
  });

  it("does not wait when no one can press a key", async () => {
    const p = plan();
    const ui = mount(p, { dryRun: true });
    ui.store.canAnswer = false;
    await ui.store.waitToLeave();
  });

  it("Enter leaves too; closing the UI answers it", async () => {
    const ui = mount(plan(), { dryRun: true });
    const a = track(ui.store.waitToLeave());
    await ui.frame("Dry run finished");
    ui.press(KEY.enter);
    await vi.waitFor(() => expect(a.settled).toBe(true));
    const b = track(ui.store.waitToLeave());
    ui.store.close();
    await vi.waitFor(() => expect(b.settled).toBe(true));
  });
});
