// Mounts the UI's App with ink-testing-library on a real EventBus, with helpers
// to press keys, resize the fake terminal and wait for frames.

import { render } from "ink-testing-library";
import { App } from "../../cli/ui/App.js";
import { UiStore } from "../../cli/ui/store/index.js";
import type { Plan } from "../../runtime/plan.js";
import { EventBus, frame } from "./support.js";

export interface MountOptions {
  columns?: number;
  rows?: number;
  color?: boolean;
  dryRun?: boolean;
  stepThrough?: boolean;
  maxLines?: number;
  onInterrupt?: () => void;
}

export function resize(stdout: NodeJS.EventEmitter, columns: number, rows: number): void {
  Object.defineProperty(stdout, "columns", { value: columns, configurable: true });
  Object.defineProperty(stdout, "rows", { value: rows, configurable: true });
  stdout.emit("resize");
}

export function mount(plan: Plan, o: MountOptions = {}) {
  const store = new UiStore({
    plan,
    runId: "run-1",
    dryRun: o.dryRun ?? false,
    stepThrough: o.stepThrough,
    frameMs: 15,
    maxLines: o.maxLines,
    onInterrupt: o.onInterrupt,
  });
  const bus = new EventBus();
  bus.subscribe(store.handle);
  const r = render(<App store={store} color={o.color ?? false} />);
  resize(r.stdout, o.columns ?? 120, o.rows ?? 32);
  return {
    store,
    bus,
    ...r,
    press: (...keys: string[]) => {
      for (const k of keys) r.stdin.write(k);
    },
    frame: (check: Parameters<typeof frame>[1], timeout?: number) => frame(r.lastFrame, check, timeout),
  };
}
