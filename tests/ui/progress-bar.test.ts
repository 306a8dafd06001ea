// The step detail of the interactive UI shows a running data step's progress as a
// bar (when the total is known) with the plain log's words, and drops it once the
// step is no longer running.

import { describe, expect, it } from "vitest";
import { UiStore } from "../../cli/ui/store/index.js";
import { detailLines, progressBar } from "../../cli/ui/StepDetail.js";
import type { RunEvent } from "../../runtime/events.js";
import { makePlan, step } from "./support.js";

const ev = (e: Record<string, unknown>) => ({ runId: "01HRUN", time: new Date().toISOString(), ...e }) as RunEvent;
const text = (line: { text: string }[]) => line.map((p) => p.text).join("");

describe("progress in the step detail", () => {
  it("a bar and the words while the step runs, nothing after", () => {
    const plan = makePlan([step("sync-data")]);
    const store = new UiStore({ plan, runId: "01HRUN", dryRun: false });
    store.handle(ev({ type: "step-started", stepId: "sync-data", title: "Sync", attempt: 1, preview: [] }));
    store.handle(ev({ type: "progress", stepId: "sync-data", kind: "sync", table: "person", rows: 250_000, total: 1_000_000, rate: 85_000, tablesDone: 0, tables: 3, done: false }));
    const lines = detailLines(store, 120, 30).lines.map(text);
    expect(lines).toContain("██████░░░░░░░░░░░░░░░░░░ sync person: 250,000 of 1,000,000 rows (25%), 85,000 rows/s, table 1 of 3");
    store.handle(ev({ type: "step-finished", stepId: "sync-data", status: "ok", durationMs: 10, attempt: 1 }));
    expect(detailLines(store, 120, 30).lines.map(text).some((l) => l.includes("rows/s"))).toBe(false);
    store.close();
  });

  it("without a total: the words alone", () => {
    expect(text(progressBar({ kind: "import", table: "dog", rows: 12, rate: 6, tablesDone: 1, done: false }))).toBe("import dog: 12 rows, 6 rows/s");
  });
});
