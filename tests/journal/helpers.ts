// Helpers for the journal tests: a small Plan, event builders that walk a run
// through the journal, a captured CliIO, temp dirs, and the pid of a process that
// has certainly ended (for stale locks).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import type { CliIO } from "../../cli/io.js";
import type { RunEvent } from "../../runtime/events.js";
import type { Journal } from "../../runtime/journal/index.js";
import type { Plan, PlannedStep } from "../../runtime/plan.js";
import { NO_SPAN } from "../../language/span.js";

export function makeStep(id: string, extra: Partial<PlannedStep> = {}): PlannedStep {
  return {
    id,
    title: id.replace(/-/g, " "),
    phase: "main",
    guards: [],
    actions: [{ kind: "run", command: [`echo ${id}`], span: NO_SPAN }],
    undo: [],
    allowFailure: false,
    parallel: 1,
    mutating: true,
    span: NO_SPAN,
    ...extra,
  };
}

export function makePlan(options: { runbook?: string; version?: string; env?: string; steps?: (string | PlannedStep)[] } = {}): Plan {
  const steps = (options.steps ?? ["prepare", "deploy", "verify"]).map((s) => (typeof s === "string" ? makeStep(s) : s));
  return {
    schema: 2,
    runbook: {
      name: options.runbook ?? "demo",
      version: options.version ?? "1.0.0",
      file: "demo.rb",
      sourceHash: "sha256:0123456789abcdef",
      description: "a demo",
    },
    env: options.env ?? "dev",
    protected: false,
    envConfirms: [],
    values: { home: "/home/demo" },
    overridden: [],
    secrets: [],
    hosts: {},
    databases: {},
    steps,
    foreignDatabases: {},
  };
}

let clock = Date.now();
/** Monotonic event times, 1s apart, from now on. */
export function tick(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

/** Events for one step that ends with `status` (default ok), with some output. */
export function stepEvents(
  runId: string,
  stepId: string,
  options: { status?: "ok" | "failed" | "skipped"; output?: string[]; host?: string; exitCode?: number | null; reason?: string; attempt?: number } = {},
): RunEvent[] {
  const status = options.status ?? "ok";
  const attempt = options.attempt ?? 1;
  const events: RunEvent[] = [];
  if (status !== "skipped") {
    events.push({ type: "step-started", runId, time: tick(), stepId, title: stepId, host: options.host, attempt, preview: [] });
    for (const text of options.output ?? [`${stepId} says hello\n`]) {
      events.push({ type: "output", runId, time: tick(), stepId, host: options.host, stream: "stdout", text });
    }
  }
  events.push({
    type: "step-finished",
    runId,
    time: tick(),
    stepId,
    host: options.host,
    status,
    reason: options.reason,
    exitCode: options.exitCode === undefined ? (status === "failed" ? 1 : status === "ok" ? 0 : null) : options.exitCode,
    signal: null,
    durationMs: 1000,
    attempt,
  });
  return events;
}

export function runFinished(runId: string, status: "succeeded" | "failed" | "aborted" | "waiting", error?: string): RunEvent {
  const exitCode = { succeeded: 0, failed: 1, aborted: 3, waiting: 6 }[status];
  return { type: "run-finished", runId, time: tick(), status, exitCode, durationMs: 5000, error };
}

/** beginRun, then every step ok, then run-finished succeeded. */
export async function completeRun(journal: Journal, runId: string, plan: Plan, options: { dryRun?: boolean; params?: Record<string, string> } = {}): Promise<void> {
  await journal.beginRun({ runId, plan, dryRun: options.dryRun ?? false, params: options.params ?? {}, file: "demo.rb" });
  for (const s of plan.steps) for (const e of stepEvents(runId, s.id)) journal.record(e);
  journal.record(runFinished(runId, "succeeded"));
  await journal.flush();
}

export function tempDir(prefix = "runbook-journal-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The pid of a process that has exited (spawn `true` and wait for it). */
export async function deadPid(): Promise<number> {
  const child = spawn("true", [], { stdio: "ignore" });
  const pid = child.pid!;
  await new Promise<void>((resolve, reject) => {
    child.on("exit", () => resolve());
    child.on("error", reject);
  });
  return pid;
}

export interface CapturedIO extends CliIO {
  out(): string;
  err(): string;
}

export function captureIO(cwd: string, env: NodeJS.ProcessEnv = {}): CapturedIO {
  let out = "";
  let err = "";
  const stdout = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const stderr = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      err += chunk.toString();
      cb();
    },
  });
  return {
    stdout,
    stderr,
    stdin: Readable.from([]),
    env: { HOME: cwd, ...env },
    cwd,
    out: () => out,
    err: () => err,
  };
}
