// The bounded output tail and the event → write translation, without a database.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JournalRecorder, OutputTail } from "../../runtime/journal/index.js";
import { runFinished, stepEvents, tick } from "./helpers.js";

describe("OutputTail", () => {
  const lines = (n: number, width = 10) => Array.from({ length: n }, (_, i) => `${String(i).padStart(width, "0")}\n`).join("");

  it.each([
    // [what, chunks, maxChars, maxLines, expected text, truncated]
    ["short output as it is", ["a\n", "b"], 100, 10, "a\nb", false],
    ["nothing", [], 100, 10, "", false],
    ["the last N lines", [lines(30, 3)], 1000, 5, lines(30, 3).split("\n").slice(25, 30).join("\n") + "\n", true],
    ["the last N lines, last one partial", ["1\n2\n3\n4"], 1000, 2, "3\n4", true],
    ["the last characters, cut at a line start", [lines(100)], 55, 1000, lines(100).slice(-55), true],
    ["the last characters, a cut line dropped", [lines(100)], 60, 1000, lines(100).slice(-55), true],
    ["one long line cut by size", ["x".repeat(500)], 100, 10, "x".repeat(100), true],
  ])("keeps %s", (_what, chunks, maxChars, maxLines, expected, truncated) => {
    const t = new OutputTail(maxChars as number, maxLines as number);
    for (const c of chunks as string[]) t.push(c);
    expect(t.text()).toBe(expected);
    expect(t.truncated).toBe(truncated);
  });

  /** The tail by definition: of all the text, the last maxChars characters (a line cut
   * by that dropped), then at most the last maxLines lines. */
  const reference = (all: string, maxChars: number, maxLines: number): { text: string; truncated: boolean } => {
    let s = all;
    let cut = false;
    let partial = false;
    if (s.length > maxChars) {
      partial = s[s.length - maxChars - 1] !== "\n";
      s = s.slice(s.length - maxChars);
      cut = true;
    }
    const body = s.endsWith("\n") ? s.slice(0, -1) : s;
    const lineStarts = [...body.matchAll(/\n/g)].map((m) => m.index! + 1);
    if (lineStarts.length >= maxLines) {
      s = s.slice(lineStarts[lineStarts.length - maxLines]!);
      cut = true;
    } else if (partial) {
      const nl = s.indexOf("\n");
      if (nl >= 0 && nl < s.length - 1) s = s.slice(nl + 1);
    }
    return { text: s, truncated: cut };
  };

  it("keeps what the definition keeps, however the output is chunked", () => {
    const chunk = fc.stringMatching(/^[ab\n]{0,40}$/);
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 60 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 8 }), (chunks, maxChars, maxLines) => {
        const t = new OutputTail(maxChars, maxLines);
        for (const c of chunks) t.push(c);
        const want = reference(chunks.join(""), maxChars, maxLines);
        expect(t.text()).toBe(want.text);
        expect(t.truncated).toBe(want.truncated);
      }),
      { numRuns: 2000 },
    );
  });

  it("stays bounded in memory under many small chunks", () => {
    const t = new OutputTail(1000, 50);
    for (let i = 0; i < 100_000; i++) t.push(`line ${i}\n`);
    expect(t.text().split("\n").filter(Boolean)).toHaveLength(50);
    expect(t.text().endsWith("line 99999\n")).toBe(true);
  });
});

describe("JournalRecorder", () => {
  it("writes nothing for output until the step finishes, then one write with the tail", () => {
    const r = new JournalRecorder();
    const [started, out1, finished] = stepEvents("r", "s", { output: ["hello\n"] });
    expect(r.events(started)).toMatchObject([{ op: "step-start", runId: "r", stepId: "s", attempt: 1 }]);
    expect(r.events(out1)).toEqual([]);
    expect(r.dirtyTails()).toMatchObject([{ op: "step-tail", stepId: "s", tail: "hello\n" }]);
    // Nothing changed since: no write.
    expect(r.dirtyTails()).toEqual([]);
    expect(r.events(finished)).toMatchObject([{ op: "step-finish", status: "ok", tail: "hello\n", exitCode: 0 }]);
    expect(r.dirtyTails()).toEqual([]);
  });

  it("on run-finished, saves the tails of steps that never finished", () => {
    const r = new JournalRecorder();
    const [started, out] = stepEvents("r", "s", { output: ["partial\n"] });
    r.events(started);
    r.events(out);
    expect(r.events(runFinished("r", "aborted"))).toMatchObject([
      { op: "step-tail", runId: "r", stepId: "s", tail: "partial\n" },
      { op: "run-finish", runId: "r", status: "aborted", exitCode: 3 },
    ]);
  });

  it.each([
    [{ type: "action", runId: "r", time: "t", stepId: "s", kind: "run", description: "x" }],
    [{ type: "guard", runId: "r", time: "t", stepId: "s", source: "x", result: true }],
    [{ type: "diff", runId: "r", time: "t", stepId: "s", path: "p", diff: "d" }],
    [{ type: "run-started", runId: "r", time: "t", runbook: "b", version: "1", env: "e", protected: false, dryRun: false, steps: [] }],
  ] as const)("ignores %j", (event) => {
    expect(new JournalRecorder().events(event as never)).toEqual([]);
  });

  it("marks a confirmation given during a dry run", () => {
    expect(
      new JournalRecorder().events({ type: "confirm", runId: "r", time: tick(), question: "q?", answer: "yes", by: "--yes", dryRun: true }),
    ).toMatchObject([{ op: "confirmation", answer: "yes (dry run)" }]);
  });
});
