// Dangerous keys confirm (issue 16, part 4): `a` (abort) and `b` (roll back) ask
// y/n first; `n` or Esc goes back with nothing done; `b` lists the undos it will
// run, in the order the rollback runs them, before running any.

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import type { RunEvent } from "../../runtime/events.js";
import { fakeExecutor, KEY, makePlan, manual, run, step, track } from "./support.js";
import { mount } from "./harness.js";

afterEach(() => cleanup());
vi.setConfig({ testTimeout: 120_000 });

const failing = () =>
  makePlan([
    step("backup", { title: "Back up", actions: [run(["tar czf backup.tgz data"])], undo: [run(["rm backup.tgz"])] }),
    step("notes", { title: "Tell testers", actions: [run(["true"])] }),
    step("stop", { title: "Stop the app", actions: [run(["systemctl stop app"])], undo: [run(["systemctl start app"])] }),
    step("migrate", { title: "Migrate", actions: [run(["./migrate"])] }),
  ]);

describe("a asks first", () => {
  it.each([
    ["Next step", "step"],
    ["Manual step", "manual"],
  ])("at %s: n goes back with nothing answered; y aborts", async (_what, kind) => {
    const plan = makePlan([step("tell", { actions: [manual("Tell them.")] })]);
    const ui = mount(plan);
    const ctx = { plan, step: plan.steps[0]!, index: 0 };
    const answer = track<unknown>(kind === "step" ? ui.store.interaction.beforeStep(ctx) : ui.store.interaction.manual("Tell them.", ctx));
    await ui.frame(kind === "step" ? "Next step: Tell" : "Manual step: Tell");
    ui.press("a");
    let f = await ui.frame("Abort?");
    expect(f).toContain("its finally steps still run");
    expect(f).toMatch(/y yes, abort\s+n no, go back/);
    expect(f).toContain("abort?");
    ui.press("n");
    f = await ui.frame((s) => !s.includes("Abort?"));
    await new Promise((r) => setTimeout(r, 30));
    expect(answer.settled).toBe(false);
    ui.press("a");
    await ui.frame("Abort?");
    ui.press(KEY.esc);
    await ui.frame((s) => !s.includes("Abort?"));
    ui.press("a");
    await ui.frame("Abort?");
    ui.press("x"); // any other key: still asking
    await new Promise((r) => setTimeout(r, 30));
    expect(answer.settled).toBe(false);
    ui.press("y");
    await vi.waitFor(() => expect(answer.value).toBe("abort"));
  });
});

describe("b asks first, listing the undos", () => {
  it("lists the undos in the order the rollback runs them; n goes back; y rolls back exactly those", async () => {
    const plan = failing();
    const ui = mount(plan, { stepThrough: false, rows: 40 });
    const events: RunEvent[] = [];
    ui.bus.subscribe((e) => events.push(e));
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, { migrate: { failures: Infinity } });
    await ui.frame("Step failed");
    ui.press("b");
    let f = await ui.frame("Roll back?");
    expect(f).toContain("these undos run, in this order");
    expect(f).toMatch(/1\. Stop the app \(stop\): \$ systemctl start app/);
    expect(f).toMatch(/2\. Back up \(backup\): \$ rm backup\.tgz/);
    expect(f).not.toContain("Tell testers (notes)");
    expect(f).toMatch(/y yes, roll back\s+n no, go back/);
    expect(events.some((e) => e.type === "rollback-started")).toBe(false);
    ui.press("n");
    f = await ui.frame((s) => !s.includes("Roll back?") && s.includes("Step failed"));
    expect(events.some((e) => e.type === "rollback-started")).toBe(false);
    ui.press("b");
    await ui.frame("Roll back?");
    ui.press("y");
    await ex.done;
    const started = events.find((e) => e.type === "rollback-started") as Extract<RunEvent, { type: "rollback-started" }>;
    expect(started.steps).toEqual(["stop", "backup"]);
  });

  it("says when nothing would be undone", async () => {
    const plan = makePlan([step("migrate", { actions: [run(["./migrate"])] })]);
    const ui = mount(plan, { stepThrough: false });
    const ex = fakeExecutor(plan, ui.bus, ui.store.interaction, { migrate: { failures: Infinity } });
    await ui.frame("Step failed");
    ui.press("b");
    const f = await ui.frame("Roll back?");
    expect(f).toContain("nothing would be undone");
    ui.press("y");
    await ex.done;
  });
});
