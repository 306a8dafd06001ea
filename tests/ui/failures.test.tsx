// Readable failures (issue 16, part 3): the whole reason wraps in the failure box
// and in the detail pane (never cut with …), and after a failure the detail pane
// shows the failed step, whatever step the operator was looking at.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import { wrapText } from "../../cli/ui/format.js";
import { fakeExecutor, KEY, makePlan, run, step } from "./support.js";
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
