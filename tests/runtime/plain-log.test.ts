// The plain log and NDJSON views, and the OutputSink they write through: the
// log's lines carry the time of day, the date on a line of its own at the start and
// when it changes; a multi-line event (a command, SQL, a diff) is one entry, its
// further lines indented under the first; the log's bytes are those of the line-by-line rules (a prefix per line with the
// step, the host — one per host of a group — and the stream; a partial line held
// until its newline or until its host or step finishes; one trailing \r dropped),
// but each event is one write; a full stream gets what follows in one piece when
// it drains; a reader that goes away is reported once and does not crash.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../runtime/events.js";
import { createNdjson } from "../../runtime/views/ndjson.js";
import { blockingWrites, createOutputSink } from "../../runtime/views/output-sink.js";
import { createPlainLog } from "../../runtime/views/plain-log.js";
import { escapeControlsPlain } from "../../runtime/views/escape-controls.js";
import { golden } from "../support/golden.js";

// The log shows local time: these tests fix the zone (each test file has its own process).
process.env.TZ = "UTC";
const here = dirname(fileURLToPath(import.meta.url));

type Output = Extract<RunEvent, { type: "output" }>;

/** Records each write. */
function recorder() {
  const writes: string[] = [];
  return { writes, write: (t: string) => void writes.push(t), text: () => writes.join("") };
}

const T = "2026-11-28T12:00:00.000Z";
/** The log's first line, before any other. */
const DAY = "-- 2026-11-28, times in UTC --\n";
/** The time of day a line shows for T. */
const H = "12:00:00";
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
    (s += `${s === "" ? DAY : ""}${time.slice(11, 19)} [${e.stepId}] ${e.host ?? "local"} ${e.stream === "stderr" ? "!" : "|"} ${escapeControlsPlain(l.replace(/\r$/, ""))}\n`);
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
    expect(r.text()).toBe(DAY + lines.map((l) => `${H} [build] local | ${l}\n`).join(""));
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
      DAY +
      [
        `${H} [deploy] web1 | web1: starting`,
        `${H} [deploy] web2 | web2: starting`,
        `${H} [deploy] web2 | web2: warn`,
        `${H} [deploy] web2 ! oops`,
        `${H} [deploy] web1 | web1: half done`,
        `${H} [deploy] web1 ok (5ms)`,
        `${H} [deploy] web2 | web2: no newline at the end`,
        `${H} [deploy] ok in 9ms`,
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
    [{ status: "ok", waitedMs: 20_200 }, "ok in 9ms, waited 20.2s for an answer"],
    [{ status: "failed", reason: "no", waitedMs: 999 }, "failed: no (9ms)"],
  ])("ends a step with %j as %j", (fields, line) => {
    const r = recorder();
    createPlainLog(r)({ type: "step-finished", runId: "r", time: T, stepId: "s", durationMs: 9, attempt: 1, ...fields } as RunEvent);
    expect(r.text()).toBe(`${DAY}${H} [s] ${line}\n`);
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
    const prefix = `\u001b[2m${H}\u001b[0m \u001b[36m[s]\u001b[0m \u001b[34mlocal\u001b[0m \u001b[33m!\u001b[0m `;
    expect(r.text()).toBe(`\u001b[2m${DAY.trimEnd()}\u001b[0m\n${prefix}a\n${prefix}b\n`);
  });
});

describe("the plain log's times and multi-line events", () => {
  const ev = (time: string, e: Record<string, unknown>) => ({ runId: "r", time, ...e }) as RunEvent;

  it("shows the time of day on each line, the date and zone on a line of their own at the start and when the date changes", () => {
    const r = recorder();
    const log = createPlainLog(r);
    log(ev("2026-11-28T23:59:58.120Z", { type: "step-started", stepId: "s", title: "Night", attempt: 1, preview: [] }));
    log(out("s", "before\n", { time: "2026-11-28T23:59:59.990Z" }));
    log(out("s", "after\n", { time: "2026-11-29T00:00:00.010Z" }));
    log(ev("2026-11-29T00:00:01.000Z", { type: "step-finished", stepId: "s", status: "ok", durationMs: 2880, attempt: 1 }));
    expect(r.text()).toBe(
      [
        "-- 2026-11-28, times in UTC --",
        "23:59:58 [s] started: Night",
        "23:59:59 [s] local | before",
        "-- 2026-11-29, times in UTC --",
        "00:00:00 [s] local | after",
        "00:00:01 [s] ok in 2.9s",
        "",
      ].join("\n"),
    );
    // One write per event: the date line goes with the line it dates.
    expect(r.writes).toHaveLength(4);
  });

  it("shows local time, naming the zone's offset, and says the date again when the offset changes", () => {
    const tz = process.env.TZ;
    try {
      process.env.TZ = "Asia/Kolkata";
      const r = recorder();
      const log = createPlainLog(r);
      log(ev("2026-11-28T20:29:00.000Z", { type: "note", stepId: "s", text: "late" }));
      log(ev("2026-11-28T20:31:00.000Z", { type: "note", stepId: "s", text: "later" }));
      expect(r.text()).toBe("-- 2026-11-29, times in UTC+05:30 --\n01:59:00 [s] note: late\n02:01:00 [s] note: later\n");
      process.env.TZ = "America/New_York";
      log(ev("2026-11-28T20:32:00.000Z", { type: "note", stepId: "s", text: "elsewhere" }));
      expect(r.text()).toContain("\n-- 2026-11-28, times in UTC-05:00 --\n15:32:00 [s] note: elsewhere\n");
    } finally {
      process.env.TZ = tz;
    }
  });

  it("shows a multi-line command as one entry: its further lines under its first, after the $", () => {
    const r = recorder();
    const log = createPlainLog(r);
    log(ev(T, { type: "action", stepId: "lay_out", kind: "run", description: "$ set -eu\nfor f in a b; do\n  echo $f\ndone" }));
    log(ev(T, { type: "action", stepId: "web", host: "web1", kind: "run", description: "would run: $ cd /srv\n./deploy   (as root)" }));
    log(ev(T, { type: "action", stepId: "db", kind: "sql", description: "sql appdb: UPDATE t\nSET a = 1;\n\nDELETE FROM u;" }));
    const under = (head: string) => " ".repeat(head.length);
    expect(r.text()).toBe(
      DAY +
        [
          `${H} [lay_out] $ set -eu`,
          `${under(`${H} [lay_out] $ `)}for f in a b; do`,
          `${under(`${H} [lay_out] $ `)}  echo $f`,
          `${under(`${H} [lay_out] $ `)}done`,
          `${H} [web] web1 would run: $ cd /srv`,
          `${under(`${H} [web] web1 would run: $ `)}./deploy   (as root)`,
          `${H} [db] sql appdb: UPDATE t`,
          `${under(`${H} [db]   `)}SET a = 1;`,
          ``,
          `${under(`${H} [db]   `)}DELETE FROM u;`,
          "",
        ].join("\n"),
    );
    // Every line that is not the command's first starts with blanks: nothing reads as an event of its own.
    const lines = r.text().split("\n").slice(1);
    expect(lines.filter((l) => /^\d\d:\d\d:\d\d /.test(l))).toHaveLength(3);
  });

  it("golden: a failed run with a rollback, and a dry run, as the plain log prints them", () => {
    golden(join(here, "golden/plain-log-run.txt"), logOf(RUN));
    golden(join(here, "golden/plain-log-dry-run.txt"), logOf(DRY_RUN));
  });
});

/** The plain log of a run's events, without colour. */
function logOf(events: RunEvent[]): string {
  const r = recorder();
  const log = createPlainLog(r);
  for (const e of events) log(e);
  log.flush();
  return r.text();
}

/** Events with times one second apart from 01:59:50, across a date change. */
function timed(events: Record<string, unknown>[]): RunEvent[] {
  const start = Date.UTC(2026, 10, 28, 23, 59, 50);
  return events.map((e, i) => ({ runId: "20261128-235950-ab12", time: new Date(start + i * 1000 + 250).toISOString(), ...e }) as RunEvent);
}

const RUN = timed([
  {
    type: "run-started",
    runbook: "haiti-release",
    version: "1.2.0",
    env: "prod",
    protected: true,
    dryRun: false,
    git: { commit: "1a2b3c4d5e6f7a8b9c0d", dirty: false },
    steps: [
      { id: "maintenance-on", title: "Maintenance mode on", host: "web", phase: "main" },
      { id: "migrate", title: "Migrate the database", host: "web", phase: "main" },
      { id: "maintenance-off", title: "Maintenance mode off", host: "web", phase: "finally" },
    ],
  },
  { type: "preflight-started", targets: [{ id: "h", kind: "host", name: "web" }] },
  { type: "preflight-target", target: "h", kind: "host", name: "web", status: "ok", durationMs: 120 },
  { type: "preflight-finished", counts: { ok: 1, failed: 0, "not-checked": 0, deferred: 0 }, durationMs: 130 },
  { type: "confirm", question: "Run haiti-release in prod?", answer: "yes", by: "operator" },
  { type: "step-started", stepId: "maintenance-on", title: "Maintenance mode on", host: "web", attempt: 1, preview: [] },
  { type: "guard", stepId: "maintenance-on", source: 'exists "${home}/maintenance.on"', resolved: 'exists "/home/haiti/maintenance.on"', result: true },
  { type: "action", stepId: "maintenance-on", host: "web", kind: "run", description: "$ cd /home/haiti &&\n  ./maintenance.on" },
  { type: "output", stepId: "maintenance-on", host: "web", stream: "stdout", text: "maintenance mode on\n" },
  { type: "step-finished", stepId: "maintenance-on", status: "ok", durationMs: 312, waitedMs: 20_200, attempt: 1 },
  { type: "step-started", stepId: "migrate", title: "Migrate the database", host: "web", attempt: 1, preview: [] },
  {
    type: "diff",
    stepId: "migrate",
    host: "web",
    path: "/home/haiti/web2py/applications/prod/models/00_db.py",
    diff: "--- 00_db.py\tnow\n+++ 00_db.py\tafter this step\n@@ -1,2 +1,2 @@\n-migrate = False\n+migrate = True\n db = DAL()\n",
  },
  { type: "action", stepId: "migrate", host: "web", kind: "run", description: "$ cd /home/haiti/web2py\npython web2py.py -S prod -M -N" },
  { type: "output", stepId: "migrate", host: "web", stream: "stdout", text: "migrated: added column org_organisation.website\nmigrating rms" },
  { type: "output", stepId: "migrate", host: "web", stream: "stderr", text: "Traceback (most recent call last):\n  OperationalError: duplicate column\n" },
  { type: "step-finished", stepId: "migrate", status: "failed", reason: "the command exited with status 1", exitCode: 1, durationMs: 20_215, attempt: 1 },
  { type: "failure-choice", stepId: "migrate", choice: "rollback", by: "operator" },
  { type: "rollback-started", steps: ["maintenance-on"] },
  { type: "action", stepId: "maintenance-on", host: "web", kind: "run", description: "$ ./maintenance.off" },
  { type: "rollback-step", stepId: "maintenance-on", status: "ok" },
  { type: "step-started", stepId: "maintenance-off", title: "Maintenance mode off", host: "web", attempt: 1, preview: [] },
  { type: "note", stepId: "maintenance-off", text: "prod is back:\nanswering at https://haiti.example.org" },
  { type: "step-finished", stepId: "maintenance-off", status: "ok", durationMs: 4, attempt: 1 },
  { type: "run-finished", status: "failed", exitCode: 1, durationMs: 23_000, error: "step migrate failed: the command exited with status 1" },
]);

const DRY_RUN = timed([
  {
    type: "run-started",
    runbook: "haiti-release",
    version: "1.2.0",
    env: "dev",
    protected: false,
    dryRun: true,
    steps: [
      { id: "sync", title: "Sync data from prod", phase: "main" },
      { id: "check", title: "Check the site", phase: "main" },
    ],
  },
  { type: "step-started", stepId: "sync", title: "Sync data from prod", attempt: 1, preview: [] },
  { type: "guard", stepId: "sync", kind: "when", source: 'env != "prod"', resolved: '"dev" != "prod"', result: true, reason: "known from the runbook" },
  { type: "confirm", stepId: "sync", question: "Replace dev's data with prod's?", answer: "yes", by: "dry-run", dryRun: true },
  { type: "action", stepId: "sync", kind: "sql", description: "would run on appdb:\n  would run 1 statement: DELETE FROM rms_req (2 rows)\n  DELETE FROM rms_req;" },
  { type: "step-finished", stepId: "sync", status: "ok", reason: "dry run", durationMs: 31, attempt: 1 },
  { type: "step-started", stepId: "check", title: "Check the site", attempt: 1, preview: [] },
  { type: "guard", stepId: "check", source: 'succeeds "curl -fsS ${url}"', resolved: 'succeeds "curl -fsS https://dev.example.org"', result: "unknown", reason: "--no-probe" },
  { type: "manual", stepId: "check", text: "Open the site and log in", answer: "done", by: "dry-run" },
  { type: "step-finished", stepId: "check", status: "ok", reason: "dry run", durationMs: 2, attempt: 1 },
  {
    type: "dry-run-verdict",
    verdict: "not-verified",
    checked: 1,
    failed: [],
    notVerified: [{ stepId: "check", what: 'succeeds "curl -fsS https://dev.example.org"', why: "--no-probe" }],
    pending: [],
  },
  { type: "run-finished", status: "failed", exitCode: 1, durationMs: 1200, error: "not verified: 1 check could not be made" },
]);

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
