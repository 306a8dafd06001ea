// The plain log and NDJSON views, and the OutputSink they write through: the
// log's bytes are those of the line-by-line rules (a prefix per line with the
// step, the host — one per host of a group — and the stream; a partial line held
// until its newline or until its host or step finishes; one trailing \r dropped),
// but each event is one write; a full stream gets what follows in one piece when
// it drains; a reader that goes away is reported once and does not crash.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../runtime/events.js";
import { createNdjson } from "../../runtime/views/ndjson.js";
import { blockingWrites, createOutputSink } from "../../runtime/views/output-sink.js";
import { createPlainLog } from "../../runtime/views/plain-log.js";
import { escapeControlsPlain } from "../../runtime/views/escape-controls.js";

type Output = Extract<RunEvent, { type: "output" }>;

/** Records each write. */
function recorder() {
  const writes: string[] = [];
  return { writes, write: (t: string) => void writes.push(t), text: () => writes.join("") };
}

const T = "2026-11-28T12:00:00.000Z";
const out = (stepId: string, text: string, o: { host?: string; stream?: "stdout" | "stderr"; time?: string } = {}): Output => ({
  type: "output",
  runId: "r",
  time: o.time ?? T,
  stepId,
  stream: o.stream ?? "stdout",
  text,
  ...(o.host !== undefined ? { host: o.host } : {}),
});

/**
 * The rules the log follows for output, one line at a time: a line is shown when
 * its newline arrives, with the time of the event that completed it; a partial
 * line stays held (per step, host and stream) until flush; control characters
 * are escaped (the plain way, one character at a time).
 */
function lineByLine(events: Output[]): string {
  const partial = new Map<string, { e: Output; text: string; time: string }>();
  let s = "";
  const line = (e: Output, time: string, l: string) =>
    (s += `${time} [${e.stepId}] ${e.host ?? "local"} ${e.stream === "stderr" ? "!" : "|"} ${escapeControlsPlain(l.replace(/\r$/, ""))}\n`);
  for (const e of events) {
    const key = `${e.stepId}/${e.host ?? ""}/${e.stream}`;
    const p = partial.get(key) ?? { e, text: "", time: e.time };
    if (p.text === "") p.time = e.time;
    const lines = (p.text + e.text).split("\n");
    p.text = lines.pop()!;
    for (const l of lines) line(e, e.time, l);
    partial.set(key, p);
  }
  for (const p of partial.values()) if (p.text !== "") line(p.e, p.time, p.text);
  return s;
}

describe("the plain log", () => {
  it("writes a chunk of many lines in one write, each line with its prefix", () => {
    const r = recorder();
    const log = createPlainLog(r);
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    log(out("build", lines.join("\n") + "\n"));
    expect(r.writes).toHaveLength(1);
    expect(r.text()).toBe(lines.map((l) => `${T} [build] local | ${l}\n`).join(""));
  });

  it("gives each host of a group its own prefix and its own partial line, shown when that host finishes", () => {
    const r = recorder();
    const log = createPlainLog(r);
    log(out("deploy", "web1: starting\nweb1: hal", { host: "web1" }));
    log(out("deploy", "web2: starting\nweb2: warn\r\n", { host: "web2" }));
    log(out("deploy", "oops\n", { host: "web2", stream: "stderr" }));
    log(out("deploy", "f done", { host: "web1" }));
    log({ type: "host-finished", runId: "r", time: T, stepId: "deploy", host: "web1", status: "ok", durationMs: 5 });
    log(out("deploy", "web2: no newline at the end", { host: "web2" }));
    log({ type: "step-finished", runId: "r", time: T, stepId: "deploy", status: "ok", durationMs: 9, attempt: 1 });
    expect(r.text()).toBe(
      [
        `${T} [deploy] web1 | web1: starting`,
        `${T} [deploy] web2 | web2: starting`,
        `${T} [deploy] web2 | web2: warn`,
        `${T} [deploy] web2 ! oops`,
        `${T} [deploy] web1 | web1: half done`,
        `${T} [deploy] web1 ok (5ms)`,
        `${T} [deploy] web2 | web2: no newline at the end`,
        `${T} [deploy] ok in 9ms`,
        "",
      ].join("\n"),
    );
  });

  it.each([
    [{ status: "ok" }, "ok in 9ms"],
    [{ status: "ok", reason: "dry run; unknown until step ed runs" }, "ok: dry run; unknown until step ed runs (9ms)"],
    [{ status: "failed", reason: "the command exited with status 2", exitCode: 2 }, "failed: the command exited with status 2 (9ms)"],
    [{ status: "failed", reason: "killed after 1m (timeout)", exitCode: 143 }, "failed: killed after 1m (timeout) (exit 143) (9ms)"],
    [{ status: "skipped", reason: "when env == \"prod\" is false" }, 'skipped: when env == "prod" is false'],
  ])("ends a step with %j as %j", (fields, line) => {
    const r = recorder();
    createPlainLog(r)({ type: "step-finished", runId: "r", time: T, stepId: "s", durationMs: 9, attempt: 1, ...fields } as RunEvent);
    expect(r.text()).toBe(`${T} [s] ${line}\n`);
  });

  it("keeps the bytes and order of the line-by-line rules, however the output is cut into chunks", () => {
    const piece = fc.constantFrom("a", "bc", "\n", "\r\n", "\r", " x ", "\r\r\n", "\n\n", "\u001b]0;t\u0007", "\u001b[2J", "\u009b", "\t");
    const event = fc.record({
      step: fc.constantFrom("s1", "s2"),
      host: fc.constantFrom(undefined, "web1", "web2"),
      stream: fc.constantFrom("stdout" as const, "stderr" as const),
      text: fc.array(piece, { minLength: 1, maxLength: 8 }).map((p) => p.join("")),
      second: fc.nat(59),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (specs) => {
        const events = specs.map((s) =>
          out(s.step, s.text, { host: s.host, stream: s.stream, time: `2026-11-28T12:00:${String(s.second).padStart(2, "0")}.000Z` }),
        );
        const r = recorder();
        const log = createPlainLog(r);
        for (const e of events) log(e);
        log.flush();
        expect(r.text()).toBe(lineByLine(events));
        // At most one write per event, and one per held line at the end.
        expect(r.writes.length).toBeLessThanOrEqual(events.length + 12);
      }),
      { numRuns: 300 },
    );
  });

  it("shows control characters of output and of values escaped, never as they are", () => {
    const r = recorder();
    const log = createPlainLog(r, { color: true });
    log({ type: "step-started", runId: "r", time: T, stepId: "s", title: "deploy \u001b]0;owned\u0007", attempt: 1, preview: [] });
    log(out("s", "title \u001b]0;pwned\u0007 clear \u001b[2J\u001b[H ok\r\nover\rwrite\n"));
    log({ type: "note", runId: "r", time: T, stepId: "s", text: "branch \u009b31m" });
    log({ type: "step-finished", runId: "r", time: T, stepId: "s", status: "failed", reason: "exited \u0007", durationMs: 9, attempt: 1 });
    const text = r.text();
    expect(text).toContain("deploy \\e]0;owned\\a");
    expect(text).toContain("title \\e]0;pwned\\a clear \\e[2J\\e[H ok\n");
    expect(text).toContain("over\\rwrite\n");
    expect(text).toContain("note: branch \\x9b31m");
    expect(text).toContain("exited \\a");
    // The only escape sequences left are the log's own colours.
    // eslint-disable-next-line no-control-regex
    expect(text.replace(/\u001b\[[0-9;]*m/g, "")).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it("colours each line's prefix when asked", () => {
    const r = recorder();
    createPlainLog(r, { color: true })(out("s", "a\nb\n", { stream: "stderr" }));
    const prefix = `\u001b[2m${T}\u001b[0m \u001b[36m[s]\u001b[0m \u001b[34mlocal\u001b[0m \u001b[33m!\u001b[0m `;
    expect(r.text()).toBe(`${prefix}a\n${prefix}b\n`);
  });
});

describe("NDJSON", () => {
  it("carries the raw text, JSON-escaped: no control character reaches a terminal showing it", () => {
    const r = recorder();
    const raw = "\u001b]0;pwned\u0007\u001b[2J\u009b31m\u007f\r\n";
    createNdjson(r)(out("s", raw));
    expect((JSON.parse(r.text()) as { text: string }).text).toBe(raw);
    // eslint-disable-next-line no-control-regex
    expect(r.text().replace(/\n$/, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it("is one write per event, one JSON object per line", () => {
    const r = recorder();
    const view = createNdjson(r);
    view(out("s", "a\nb\n"));
    view(out("s", "c"));
    expect(r.writes).toHaveLength(2);
    expect(r.writes.map((w) => JSON.parse(w) as { text: string; stepId: string })).toEqual([
      expect.objectContaining({ stepId: "s", text: "a\nb\n" }),
      expect.objectContaining({ stepId: "s", text: "c" }),
    ]);
  });
});

/** A stream that takes writes only when told to (a reader that has stopped reading). */
function stalledStream() {
  const taken: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, cb) {
      taken.push(chunk.toString());
      pending.push(cb);
    },
  });
  const release = () => {
    while (pending.length > 0) pending.shift()!();
  };
  return { stream, taken, release };
}

describe("OutputSink", () => {
  it("writes at once while the stream takes it; when full, holds what follows and writes it in one piece, in order, on drain", async () => {
    const s = stalledStream();
    const sink = createOutputSink(s.stream);
    sink.write("first line that fills the stream\n");
    for (let i = 0; i < 100; i++) sink.write(`held ${i}\n`);
    expect(s.taken).toEqual(["first line that fills the stream\n"]);
    const drained = new Promise((r) => s.stream.once("drain", r));
    s.release();
    await drained;
    s.release();
    expect(s.taken).toHaveLength(2);
    expect(s.taken.join("")).toBe("first line that fills the stream\n" + Array.from({ length: 100 }, (_, i) => `held ${i}\n`).join(""));
  });

  it("reports a failed stream once (EPIPE: the reader went away), drops what follows and raises no uncaught error", async () => {
    const stream = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const errors: string[] = [];
    const sink = createOutputSink(stream, { onError: (e) => errors.push(e.message) });
    sink.write("a\n");
    await new Promise((r) => setImmediate(r));
    sink.write("b\n");
    stream.write("the summary line, written to the stream itself\n");
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual(["write EPIPE"]);
  });

  it("switches a pipe to blocking writes: a large write is handed to the pipe before write() returns", async () => {
    const child = spawn("cat", [], { stdio: ["pipe", "ignore", "ignore"] });
    try {
      const pipe = child.stdin;
      const fd = (pipe as unknown as { _handle: { fd: number } })._handle.fd;
      const nonBlocking = () => (parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8) & 0o4000) !== 0;
      expect(nonBlocking()).toBe(true);
      blockingWrites(pipe);
      expect(nonBlocking()).toBe(false);
      // 4 MB is far more than a pipe holds: written asynchronously, most of it would still be queued here.
      pipe.write("x".repeat(4 * 1024 * 1024));
      expect(pipe.writableLength).toBe(0);
    } finally {
      child.stdin.end();
      await new Promise((r) => child.on("close", r));
    }
  });
});
