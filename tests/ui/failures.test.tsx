// Readable failures (issue 16, part 3): the whole reason wraps in the failure box
// and in the detail pane (never cut with …), and after a failure the detail pane
// shows the failed step, whatever step the operator was looking at. So do the
// questions asked about it and every other question (abort?, roll back?, a long
// confirmation): the whole text, wrapped, at 80 columns.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import { displayWidth, wrapText } from "../../cli/ui/format.js";
import { lineText, wrapLine } from "../../cli/ui/Lines.js";
import { fakeExecutor, KEY, makePlan, run, step, track } from "./support.js";
import { mount } from "./harness.js";

afterEach(() => cleanup());
vi.setConfig({ testTimeout: 120_000 });

const REASON =
  'wait until succeeds "curl -fsS -o /dev/null https://haiti-dev.example.org/eden/default/index" still did not hold after 20s (last: exit 7, curl: (7) Failed to connect)';

const plan = () =>
  makePlan([
    step("backup", { title: "Back up the database", actions: [run(["mysqldump appdb > /tmp/appdb.sql"])] }),
    step("deploy", { title: "Deploy the release", actions: [run(["./deploy.sh"])] }),
    step("check", { title: "Check the site answers", actions: [run(["curl"])] }),
  ]);

/** The screen's text with the frame's borders and the pane divider taken out, lines joined: what a person reads. */
const words = (f: string) => f.replace(/[│╭╮╰╯─]/g, " ").replace(/\s+/g, " ");

describe("wrapText", () => {
  it("wraps at spaces, cuts a word longer than the line, keeps every character", () => {
    expect(wrapText("one two three", 7)).toEqual(["one two", "three"]);
    expect(wrapText("abcdefghij k", 4)).toEqual(["abcd", "efgh", "ij k"]);
    expect(wrapText("a\nb", 10)).toEqual(["a", "b"]);
    const long = wrapText(REASON, 30);
    expect(long.every((l) => l.length <= 30)).toBe(true);
    expect(long.join("").replace(/\s+/g, "")).toBe(REASON.replace(/\s+/g, ""));
  });
});

describe("a failure", () => {
  it.each([80, 120])("at %i columns: the whole reason in the box and the detail pane, the failed step shown", async (columns) => {
    const p = plan();
    const ui = mount(p, { stepThrough: false, columns, rows: 40 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ex = fakeExecutor(p, ui.bus, ui.store.interaction, { check: { failures: Infinity, error: REASON, hold: () => held } });
    await ui.frame((f) => f.includes("Check the site answers") && ui.store.running?.id === "check");
    // The operator looks at another step while it runs.
    ui.press(KEY.up, KEY.up);
    await ui.frame(() => ui.store.selectedId === "backup");
    release();
    const f = await ui.frame("Step failed");
    expect(f).not.toMatch(/still did not…|hold afte…/);
    // In the box and in the detail pane: twice, in full.
    const text = words(f);
    const whole = "still did not hold after 20s (last: exit 7, curl: (7) Failed to connect)";
    expect(text.split(whole).length - 1).toBeGreaterThanOrEqual(2);
    expect(ui.store.selectedId).toBe("check");
    ui.press("a");
    await ui.frame("Abort?");
    ui.press("y");
    await ex.done;
  });
});

describe("wrapLine", () => {
  it("wraps styled segments at spaces, indents the lines after the first, keeps every character and style", () => {
    const line = [
      { text: "Abort? ", bold: true, color: "yellow" },
      { text: "the run stops with Check the site answers (check) failed; nothing is rolled back; its finally steps still run." },
    ];
    const wrapped = wrapLine(line, 40);
    expect(wrapped.map(lineText)).toEqual([
      "Abort? the run stops with Check the site",
      "  answers (check) failed; nothing is",
      "  rolled back; its finally steps still",
      "  run.",
    ]);
    expect(wrapped[0]![0]).toEqual({ text: "Abort? ", bold: true, color: "yellow" });
    expect(wrapped.every((l) => displayWidth(lineText(l)) <= 40)).toBe(true);
    // A word longer than the line is cut; a line that fits is itself.
    expect(wrapLine([{ text: "  /a/very/long/path/that/does/not/fit" }], 16).map(lineText)).toEqual(["  /a/very/long/p", "    ath/that/doe", "    s/not/fit"]);
    expect(wrapLine([{ text: "fits" }], 4).map(lineText)).toEqual(["fits"]);
  });
});

describe("the questions about a failure, and a long confirmation, at 80 columns", () => {
  const longPlan = () =>
    makePlan([
      step("backup", {
        title: "Back up the database",
        actions: [run(["mysqldump appdb > /tmp/appdb.sql"])],
        undo: [run(["mysql appdb < /srv/backups/haiti/appdb-before-the-release-of-version-2.sql && echo restored-the-whole-database"])],
      }),
      step("check", { title: "Check the site answers", actions: [run(["curl"])] }),
    ]);

  it("abort? and roll back? show their whole text, wrapped, never cut", async () => {
    const p = longPlan();
    const ui = mount(p, { stepThrough: false, columns: 80, rows: 40 });
    const ex = fakeExecutor(p, ui.bus, ui.store.interaction, { check: { failures: Infinity, error: REASON } });
    await ui.frame("Step failed");
    ui.press("a");
    let f = await ui.frame("Abort?");
    expect(f).not.toContain("…");
    expect(words(f)).toContain("Abort? the run stops with Check the site answers (check) failed; nothing is rolled back; its finally steps still run.");
    ui.press("n");
    await ui.frame((s) => !s.includes("Abort?"));
    ui.press("b");
    f = await ui.frame("Roll back?");
    expect(f).not.toContain("…");
    expect(words(f)).toContain("1. Back up the database (backup): $ mysql appdb < /srv/backups/haiti/appdb-before-the-release-of-version-2.sql && echo restored-the-whole-database");
    ui.press("n");
    await ui.frame((s) => !s.includes("Roll back?"));
    ui.press("a");
    await ui.frame("Abort?");
    ui.press("y");
    await ex.done;
  });

  it("a confirmation's whole question, wrapped", async () => {
    const p = makePlan([step("lay", { title: "Lay out" })]);
    const ui = mount(p, { columns: 80, rows: 30 });
    const question = "Lay out a fresh sandbox in /tmp/runbook-sandbox-operator (replacing what an earlier run left there, its databases too)?";
    const answer = track(ui.store.interaction.confirm(question, { plan: p, step: p.steps[0]! }));
    const f = await ui.frame("Confirm");
    expect(f).not.toContain("…");
    expect(words(f)).toContain(question);
    ui.press("y");
    await vi.waitFor(() => expect(answer.value).toBe(true));
  });
});

describe("the UI's own lines in the output pane", () => {
  it("a note longer than the pane is wrapped, read whole; a command's output line is cut at the edge", async () => {
    const p = plan();
    const ui = mount(p, { stepThrough: false, columns: 80, rows: 30 });
    const at = new Date().toISOString();
    const note = "'Deploy the release' was interrupted: it was running when the run stopped; it may have done part of its work";
    ui.bus.emit({ type: "step-started", runId: "run-1", time: at, stepId: "backup", title: "Back up the database", attempt: 1, preview: [] });
    ui.bus.emit({ type: "note", runId: "run-1", time: at, stepId: "backup", text: note });
    ui.bus.emit({ type: "output", runId: "run-1", time: at, stepId: "backup", stream: "stdout", text: `${"x".repeat(150)}-end\n` });
    const f = await ui.frame("x".repeat(20));
    expect(words(f)).toContain(`note: ${note}`);
    expect(f).not.toContain("-end");
  });
});
