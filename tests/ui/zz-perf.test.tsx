import { it } from "vitest";
import { render } from "ink-testing-library";
import { App } from "/work/main/cli/ui/App.js";
import { UiStore } from "/work/main/cli/ui/store.js";
import { makePlan, step, run } from "/work/main/tests/ui/support.js";
it("perf", async () => {
  const plan = makePlan(Array.from({length: 20}, (_, i) => step(`s${i}`, { section: "S" + (i % 3), actions: [run(["echo " + i])] })));
  const store = new UiStore({ plan, runId: "r", dryRun: false });
  let t = performance.now();
  const r = render(<App store={store} color={false} />);
  console.log("mount", performance.now() - t);
  store.handle({ runId: "r", time: "", type: "step-started", stepId: "s1", title: "x", attempt: 1, preview: [] } as any);
  for (let i = 0; i < 1000; i++) store.handle({ runId: "r", time: "", type: "output", stepId: "s1", stream: "stdout", text: `line ${i} ` + "y".repeat(80) + "\n" } as any);
  t = performance.now();
  const n0 = r.frames.length;
  for (let i = 0; i < 100; i++) { store.flush(); await new Promise((res) => setImmediate(res)); }
  console.log("100 frames", performance.now() - t, r.frames.length - n0);
  t = performance.now();
  const r2 = render(<App store={store} color={false} />);
  console.log("second mount", performance.now() - t);
  r2.unmount();
  r.unmount();
});
