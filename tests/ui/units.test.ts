// Unit tests of the UI's plain parts: the bounded output buffer, line
// sanitising and widths, durations, and the summary printed after the run.

import { describe, expect, it } from "vitest";
import { OutputBuffer } from "../../cli/ui/output-buffer.js";
import { displayWidth, formatClock, formatDuration, sanitizeLine, truncate } from "../../cli/ui/format.js";
import { fit, lineText, styleLine } from "../../cli/ui/Lines.js";
import { formatSummary } from "../../cli/ui/summary.js";
import { UiStore } from "../../cli/ui/store/index.js";
import type { RunEvent } from "../../runtime/events.js";
import { makePlan, run, step } from "./support.js";

const texts = (b: OutputBuffer, n: number, off = 0) => b.tail(n, off).map((l) => l.text);

describe("OutputBuffer", () => {
  it("joins partial lines across chunks and shows the line being written", () => {
    const b = new OutputBuffer();
    b.append("hel");
    expect(texts(b, 5)).toEqual(["hel"]);
    b.append("lo\nwor");
    b.append("ld\n");
    expect(texts(b, 5)).toEqual(["hello", "world"]);
    expect(b.lineCount).toBe(2);
  });

  it("marks the UI's own lines and keeps them on lines of their own", () => {
    const b = new OutputBuffer();
    b.append("partial");
    b.appendInfo("▸ $ make");
    b.append("out\n");
    expect(b.tail(5)).toEqual([
      { text: "partial", info: false },
      { text: "▸ $ make", info: true },
      { text: "out", info: false },
    ]);
  });

  it.each([
    ["many small chunks", (b: OutputBuffer) => { for (let i = 0; i < 50_000; i++) b.append(`line ${i}\n`); }],
    ["few big chunks", (b: OutputBuffer) => { for (let c = 0; c < 50; c++) b.append(Array.from({ length: 1000 }, (_, i) => `line ${c * 1000 + i}`).join("\n") + "\n"); }],
  ])("keeps only the last lines (%s)", (_name, fill) => {
    const b = new OutputBuffer(2000);
    fill(b);
    expect(b.totalLines).toBe(50_000);
    expect(b.lineCount).toBeGreaterThanOrEqual(2000);
    expect(b.lineCount).toBeLessThanOrEqual(3001);
    expect(texts(b, 3)).toEqual(["line 49997", "line 49998", "line 49999"]);
    expect(texts(b, 2, 10)).toEqual(["line 49988", "line 49989"]);
    // Scrolling back past what is kept stops at the oldest kept line, never a fragment of one.
    const oldest = texts(b, 1, b.lineCount - 1)[0]!;
    expect(oldest).toMatch(/^line \d+$/);
  });

  it("bounds characters too: one endless line", () => {
    const b = new OutputBuffer(2000, 100_000);
    for (let i = 0; i < 200; i++) b.append("x".repeat(10_000));
    expect(b.totalChars).toBe(2_000_000);
    const [line] = b.tail(1);
    expect(line!.text.length).toBeLessThanOrEqual(100_000);
    expect(b.lineCount).toBe(1);
  });

  it("shrinks when asked (a finished step keeps less)", () => {
    const b = new OutputBuffer(2000, 1_000_000);
    b.append(Array.from({ length: 3000 }, (_, i) => `line ${i}`).join("\n") + "\n");
    b.shrink(100, 10_000);
    expect(b.retained).toBeLessThanOrEqual(10_000);
    expect(texts(b, 1)).toEqual(["line 2999"]);
    expect(b.lineCount).toBeLessThanOrEqual(1200);
    expect(b.totalLines).toBe(3000);
  });

  it("a chunk larger than the whole buffer keeps its tail", () => {
    const b = new OutputBuffer(10, 1000);
    b.append("a\n".repeat(10_000) + "end\n");
    expect(texts(b, 2)).toEqual(["a", "end"]);
  });
});

describe("text helpers", () => {
  it.each([
    ["\u001B[31mred\u001B[0m plain", "\\e[31mred\\e[0m plain"],
    ["progress 10%\rprogress 50%\rprogress 100%", "progress 100%"],
    ["a\tb", "a       b"],
    ["bell\u0007 and \u0000nul", "bell\\a and \\0nul"],
    ["\u001B]0;title\u0007text", "\\e]0;title\\atext"],
    ["\u001B[2J\u009B2J\u007F", "\\e[2J\\x9b2J\\x7f"],
  ])("sanitizeLine(%j)", (input, expected) => {
    expect(sanitizeLine(input)).toBe(expected);
  });

  it("cuts very long lines", () => {
    expect(sanitizeLine("y".repeat(1_000_000), 120)).toHaveLength(120);
  });

  it.each([
    ["without", ""],
    ["with", "\r"],
  ])("a long progress line (%s a trailing CR) shows its newest update, whole", (_, end) => {
    const updates = Array.from({ length: 50_000 }, (_, i) => `downloading ${i}/49999`).join("\r") + end;
    expect(sanitizeLine(updates, 80)).toBe("downloading 49999/49999");
  });

  it.each([
    [0, "0ms"],
    [320, "320ms"],
    [12_345, "12.3s"],
    [125_000, "2m05s"],
    [3_723_000, "1h02m"],
  ])("formatDuration(%d) = %s", (ms, s) => expect(formatDuration(ms)).toBe(s));

  it("formats a clock", () => {
    expect(formatClock(62_000)).toBe("01:02");
    expect(formatClock(3_723_000)).toBe("1:02:03");
  });

  it("measures and cuts by terminal columns", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("日本")).toBe(4);
    expect(truncate("hello world", 6)).toBe("hello…");
    expect(displayWidth(truncate("日本語のテキスト", 7))).toBeLessThanOrEqual(7);
    expect(lineText(fit([{ text: "abc" }, { text: "defgh" }], 5))).toBe("abcd…");
  });

  it("styles lines with SGR codes, colours only when asked", () => {
    const line = [{ text: "ok", color: "green", bold: true }, { text: " plain" }];
    expect(styleLine(line, true)).toBe("\u001B[1;32mok\u001B[0m plain");
    expect(styleLine(line, false)).toBe("\u001B[1mok\u001B[0m plain");
    expect(styleLine([{ text: "evil\u001B[2Jtext" }], false)).toBe("evil\\e[2Jtext");
    // Cut to the width as shown: the escaped text counts, not the raw.
    expect(lineText(fit([{ text: "\u001B]0;title\u0007" }], 8))).toBe("\\e]0;ti…");
  });
});

describe("summary", () => {
  const plan = makePlan([
    step("backup", { section: "Prepare", actions: [run(["tar czf b.tgz data"])] }),
    step("tell-testers", { section: "Prepare" }),
    step("deploy", { section: "Deploy", host: "web" }),
    step("migrate", { section: "Deploy" }),
    step("cleanup", { phase: "finally" }),
  ]);
  const ev = (e: Record<string, unknown>) => ({ runId: "01HRUN", time: new Date().toISOString(), ...e }) as RunEvent;

  function finishedStore(status: "succeeded" | "failed") {
    const store = new UiStore({ plan, runId: "01HRUN", dryRun: false });
    store.handle(ev({ type: "step-started", stepId: "backup", title: "Backup", attempt: 1, preview: [] }));
    store.handle(ev({ type: "step-finished", stepId: "backup", status: "ok", durationMs: 1234, attempt: 1 }));
    store.handle(ev({ type: "step-finished", stepId: "tell-testers", status: "skipped", reason: "skipped by the operator", durationMs: 0, attempt: 0 }));
    if (status === "failed") {
      store.handle(ev({ type: "step-finished", stepId: "deploy", status: "failed", reason: "command exited with 2", exitCode: 2, durationMs: 400, attempt: 2 }));
    } else {
      store.handle(ev({ type: "step-finished", stepId: "deploy", status: "ok", durationMs: 61_000, attempt: 1 }));
      store.handle(ev({ type: "step-finished", stepId: "migrate", status: "ok", durationMs: 10, attempt: 1 }));
    }
    store.handle(ev({ type: "step-finished", stepId: "cleanup", status: "ok", durationMs: 5, attempt: 1 }));
    store.handle(ev({ type: "run-finished", status, exitCode: status === "succeeded" ? 0 : 1, durationMs: 70_000 }));
    store.close();
    return store;
  }

  it("lists every step with status and duration, and how to resume a run that did not finish", () => {
    const text = formatSummary(finishedStore("failed"), { status: "failed", exitCode: 1 }, false);
    expect(text).toMatch(/✔ backup\s+Backup\s+ok\s+1\.2s/);
    // A skipped step shows no time.
    expect(text).toMatch(/↷ tell-testers\s+Tell testers\s+skipped\s+skipped by the operator/);
    expect(text).toMatch(/✘ deploy\s+Deploy \(on web\)\s+failed\s+400ms\s+command exited with 2\s+exit 2/);
    expect(text).toMatch(/○ migrate\s+Migrate\s+not run/);
    expect(text).toMatch(/finally\n\s+✔ cleanup/);
    expect(text).toContain("Run 01HRUN failed in 1m10s (exit 1).");
    expect(text).toContain("Resume with: runbook resume 01HRUN");
    expect(text).not.toMatch(/\u001B/);
  });

  it("a run that succeeded needs no resume", () => {
    const text = formatSummary(finishedStore("succeeded"), { status: "succeeded", exitCode: 0 }, true);
    expect(text).toContain("succeeded in 1m10s (exit 0).");
    expect(text).not.toContain("Resume with");
    expect(text).toMatch(/\u001B\[32m✔\u001B\[39m backup/);
  });

  it("a dry run lists its preflight first and ends with its verdict", () => {
    const store = new UiStore({ plan, runId: "01HRUN", dryRun: true });
    store.handle(ev({ type: "preflight-started", targets: [{ id: "host:web", kind: "host", name: "web" }] }));
    store.handle(ev({ type: "preflight-target", target: "host:web", kind: "host", name: "web", status: "ok", durationMs: 20 }));
    store.handle(ev({ type: "preflight-finished", counts: { ok: 1, failed: 0, "not-checked": 0, deferred: 0 }, durationMs: 20 }));
    for (const id of ["backup", "tell-testers", "deploy", "migrate", "cleanup"]) store.handle(ev({ type: "step-finished", stepId: id, status: "ok", durationMs: 1, attempt: 1 }));
    const verdict = { type: "dry-run-verdict", verdict: "not-verified", checked: 3, failed: [], notVerified: [{ stepId: "deploy", what: "when succeeds \"x\"", why: "not evaluated (--no-probe)" }], pending: [] };
    store.handle(ev(verdict));
    store.handle(ev({ type: "run-finished", status: "failed", exitCode: 1, durationMs: 1000 }));
    store.close();
    const text = formatSummary(store, { status: "failed", exitCode: 1 }, false);
    expect(text).toMatch(/^.*\n {4}✔ preflight\s+Preflight: reach 1 target\s+ok\s+20ms\s+1 ok\n {2}Prepare\n/);
    expect(text).toContain("verdict: not verified (3 checked, 0 failed, 1 not verified)\n  not verified: [deploy] when succeeds \"x\": not evaluated (--no-probe)\n");
    expect(text).toContain("Dry run 01HRUN: not verified in 1.0s (exit 1).");
    expect(store.progress()).toEqual({ done: 5, total: 5 });
  });
});
