// A run session, what `runbook run` and `runbook resume` share: loading and
// checking the runbook, the journal (opened, locked, closed), the flags both take,
// and drive(), which runs a plan whose journal row exists: the journal and a view
// (the Ink UI on a terminal, else the plain log, or NDJSON with --json) subscribe
// to the executor's events; questions are answered by flags first (--yes,
// --approve), then by the person at the terminal (UI or a plain prompt); with
// neither, a question fails the run at once (exit 3). The first Ctrl-C stops the
// running step and runs `finally`; a second exits at once (exit 3). What differs
// (a new run id and plan, or a journaled run picked up again) stays in
// cli/commands/run.ts and cli/commands/resume.ts.

import { resolve as resolvePath } from "node:path";
import { compile } from "../language/compile.js";
import { hasErrors } from "../language/diagnostics.js";
import { selectEnv } from "../language/scope.js";
import { approvalGate, signingKey, type SignedApproval } from "../runtime/approvals.js";
import { Connections } from "../runtime/connections.js";
import { EventBus, type Interaction, type RunEvent } from "../runtime/events.js";
import { execute, type ExecuteResult } from "../runtime/executor.js";
import { flagInteraction, withFlags, type FlagAnswers } from "../runtime/interaction/flags.js";
import { promptInteraction } from "../runtime/interaction/prompt.js";
import { defaultStateDir, LockedError, type Journal } from "../runtime/journal/index.js";
import { localStatusDir } from "../runtime/supervisor.js";
import { JournalError, journalIncompleteText } from "../runtime/journal-errors.js";
import type { Plan } from "../runtime/plan.js";
import { Redaction } from "../runtime/redact.js";
import { verdictSummary, type VerdictEvent } from "../runtime/verdict.js";
import { SecretStore } from "../runtime/secrets.js";
import { escapeControls } from "../runtime/views/escape-controls.js";
import { createNdjson } from "../runtime/views/ndjson.js";
import { createOutputSink } from "../runtime/views/output-sink.js";
import { createPlainLog } from "../runtime/views/plain-log.js";
import { Exit, useColor, type CliIO } from "./io.js";
import { journalRefusal } from "./journal-access.js";
import { printDiagnostics, readSource, shownPath } from "./source.js";
import type { UiHandle } from "./ui/run-ui.js";
import type { EarlierStep } from "./ui/store/index.js";
import { resumeCommand } from "./ui/format.js";

/** The flags `run` and `resume` both take. */
export interface SessionFlags {
  yes?: boolean;
  approve?: string[];
  onFailure?: "stop" | "rollback";
  json?: boolean;
  /** false with --no-tui (commander's negated option). */
  tui?: boolean;
  /** The same as tui: false. */
  noTui?: boolean;
  state?: string;
  acceptNewHostKeys?: boolean;
  /** --connect-timeout, in ms. */
  connectTimeout?: number;
  /** --key FILE: who runs the release, for the approval gate (else ssh-agent's first key). */
  key?: string;
}

/** What those flags tell drive(). */
export function sessionOptions(opts: SessionFlags): Pick<DriveOptions, "flags" | "onFailure" | "json" | "tui" | "acceptNewHostKeys" | "connectTimeoutMs" | "state" | "key"> {
  return {
    ...(opts.key !== undefined ? { key: opts.key } : {}),
    ...(opts.state !== undefined ? { state: opts.state } : {}),
    flags: { yes: opts.yes ?? false, approve: opts.approve ?? [] },
    onFailure: opts.onFailure ?? "stop",
    json: opts.json ?? false,
    tui: opts.tui !== false && !opts.noTui,
    acceptNewHostKeys: opts.acceptNewHostKeys ?? false,
    ...(opts.connectTimeout !== undefined ? { connectTimeoutMs: opts.connectTimeout } : {}),
  };
}

/**
 * Reads and compiles a runbook file and checks the env it is to run in (the
 * default env when none is named); an exit code, after saying why, when it
 * cannot run: 2 for a missing file or an unknown env, 1 for errors in it.
 */
export function loadRunbook(file: string, env: string | undefined, io: CliIO) {
  const source = readSource(file, io);
  if (!source.ok) {
    io.stderr.write(`runbook: ${source.error}\n`);
    return Exit.usage;
  }
  const runbook = compileForRun(source.path, source.text, io, file);
  if (!runbook) return Exit.failed;
  const selected = selectEnv(runbook, env);
  if ("error" in selected) {
    io.stderr.write(`runbook: ${selected.error}\n`);
    return Exit.usage;
  }
  return { runbook, env: selected.env, path: source.path };
}

/**
 * Takes the run's lock (`take` is the journal's beginRun or reopenRun); exit 4,
 * after naming who holds it, when another run does. `file` is the runbook as the
 * unlock command the message suggests should name it.
 */
export async function takeLock(io: CliIO, file: string, take: () => Promise<void>): Promise<number | undefined> {
  try {
    await take();
    return undefined;
  } catch (e) {
    if (e instanceof LockedError) {
      io.stderr.write(`runbook: ${lockedMessage(e, file)}\n`);
      return Exit.locked;
    }
    const refused = journalRefusal(io, e);
    if (refused !== undefined) return refused;
    throw e;
  }
}

/**
 * Compiles a runbook file, printing its diagnostics; undefined (after printing) when
 * it has errors. It is compiled under its absolute path, so includes resolve from
 * any working directory and the source hash that `resume` compares does not depend
 * on how the path was spelled; diagnostics name the file as it was given (`given`)
 * and included files relative to the working directory.
 */
function compileForRun(absPath: string, text: string, io: CliIO, given: string) {
  const result = compile(absPath, text);
  printDiagnostics(io, result, new Map([[absPath, shownPath(given, io.cwd)]]));
  if (!result.runbook || hasErrors(result.diagnostics)) return undefined;
  return result.runbook;
}

function lockedMessage(e: LockedError, file: string): string {
  const h = e.holder;
  const base = `${h.runbook} is locked in env ${h.env} by run ${h.runId}: ${h.user} on ${h.machine} (pid ${h.pid}) since ${h.since}`;
  return e.stale
    ? `${base}; that process is gone (a stale lock): run \`runbook unlock ${file} --env ${h.env}\` to clear it`
    : `${base}; if that run is gone, run \`runbook unlock ${file} --env ${h.env}\``;
}

export interface DriveOptions {
  io: CliIO;
  plan: Plan;
  runId: string;
  journal: Journal;
  dryRun: boolean;
  probe: boolean;
  flags: FlagAnswers;
  onFailure: "stop" | "rollback";
  json: boolean;
  tui: boolean;
  fromStep?: string;
  only?: string[];
  completed?: Set<string>;
  interrupted?: Set<string>;
  /** Resume: steps whose earlier attempt still runs (not started again), with why. */
  stillRunning?: Map<string, string>;
  /** Resume: the values the run being resumed captured (Journal.getValues). */
  captured?: Record<string, string>;
  resumedFrom?: string;
  /** --state as given: the resume command offered names it. */
  state?: string;
  /** Resume: how the earlier run left its steps (the UI shows them so until they run again). */
  earlier?: ReadonlyMap<string, EarlierStep>;
  acceptNewHostKeys: boolean;
  /** How long reaching each host or database may take (preflight and every later connect). */
  connectTimeoutMs?: number;
  /** The runner's key for the approval gate (--key); else ssh-agent's. */
  key?: string;
  /** Resume --approval FILE…: signed approvals handed over as files. */
  approvalFiles?: SignedApproval[];
}

/** Loads the Ink UI when it is there; undefined (plain log instead) when it cannot start. */
async function startUi(io: CliIO, plan: Plan, bus: EventBus, dryRun: boolean, runId: string, o: Pick<DriveOptions, "earlier" | "state">): Promise<UiHandle | undefined> {
  try {
    // A literal path, so the bundler can split the UI (and ink, react) into a chunk loaded only here.
    const mod = await import("./ui/run-ui.js");
    return await mod.startUi({ io, plan, bus, dryRun, runId, ...(o.earlier ? { earlier: o.earlier } : {}), ...(o.state !== undefined ? { state: o.state } : {}) });
  } catch (e) {
    io.stderr.write(`runbook: the interactive UI could not start (${(e as Error).message}); using the plain log\n`);
    return undefined;
  }
}

/** Runs a plan whose journal row exists (beginRun or reopenRun): views, questions, Ctrl-C, the executor, the summary. */
export async function drive(o: DriveOptions): Promise<number> {
  const { io, plan, journal } = o;
  const redaction = new Redaction();
  const secrets = new SecretStore(plan.secrets, { env: io.env, cwd: io.cwd });
  secrets.onValue((v) => redaction.add(v));
  const bus = new EventBus();

  // The journal first: it must have every event even when a view fails.
  bus.subscribe((e) => journal.record(e));
  // A step's output reaches the journal at most TAIL_FLUSH_MS after it is printed,
  // not only when the step ends: a crash (kill -9) loses at most that much.
  let tailTimer: NodeJS.Timeout | undefined;
  bus.subscribe((e) => {
    if (e.type !== "output" || tailTimer) return;
    tailTimer = setTimeout(() => {
      tailTimer = undefined;
      // A failed write is kept by the journal and reported by its next check (verify).
      journal.flush().catch(() => {});
    }, TAIL_FLUSH_MS);
    tailTimer.unref?.();
  });

  // A view.
  const interactive = Boolean(io.stdout.isTTY && io.stdin.isTTY);
  let ui: UiHandle | undefined;
  if (o.tui && interactive && !o.json) ui = await startUi(io, plan, bus, o.dryRun, o.runId, o);
  // Without the UI, NDJSON or the plain log (and then its summary line) go to stdout through one sink.
  const sink = ui
    ? undefined
    : createOutputSink(io.stdout, {
        onError: (e) => io.stderr.write(`runbook: cannot write to stdout any more (${e.message}); the run goes on, and the journal has it: \`runbook show ${o.runId}\`\n`),
      });
  let plainFlush: (() => void) | undefined;
  if (sink && o.json) bus.subscribe(safe(createNdjson(sink), io));
  else if (sink) {
    const log = createPlainLog(sink, { color: useColor(io) });
    plainFlush = log.flush;
    bus.subscribe(safe(log, io));
  }
  const counts = countSteps(bus);
  // A run that started no step (preflight failed, a confirmation refused) has nothing to resume.
  let anyStarted = o.resumedFrom !== undefined;
  bus.subscribe((e) => {
    if (e.type === "step-started") anyStarted = true;
  });
  let verdict: VerdictEvent | undefined;
  bus.subscribe((e) => {
    if (e.type === "dry-run-verdict") verdict = e;
  });

  // Who answers. Once the terminal has hung up (SIGHUP), only the flags can.
  let interaction: Interaction;
  let hungUp = false;
  if (ui) interaction = withFlags(o.flags, ui.interaction);
  else if (io.stdin.isTTY) interaction = withFlags(o.flags, promptInteraction({ input: io.stdin, output: io.stderr }));
  else interaction = flagInteraction(o.flags);
  if (ui || io.stdin.isTTY) interaction = untilHangup(interaction, flagInteraction(o.flags), () => hungUp);

  const connections = new Connections(plan, {
    secrets,
    env: io.env,
    cwd: io.cwd,
    acceptNewHostKeys: o.acceptNewHostKeys,
    readOnly: o.dryRun,
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    onNote: (m) => io.stderr.write(`runbook: ${redaction.redactMessage(m)}\n`),
  });

  // Ctrl-C: the first stops the running step (finally still runs); the second exits now.
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      controller.abort();
      if (!ui) io.stderr.write("\nrunbook: interrupted: stopping the running step, then running the finally steps (Ctrl-C again to exit now)\n");
      return;
    }
    // The UI gives the terminal back first: written on its alternate screen, the message would vanish with it.
    ui?.leave();
    io.stderr.write("\nrunbook: interrupted again: exiting now\n");
    if (!o.dryRun && anyStarted) io.stderr.write(resumeLine(o.runId, o.state));
    void connections.closeAll();
    const exit = () => process.exit(Exit.aborted);
    setTimeout(exit, 1000).unref();
    journal.flush().then(exit, exit);
  };
  // A closed terminal is a Ctrl-C that nobody will follow up: the running step is
  // stopped (never left running unseen) and finally runs with the flags answering.
  // (Node ends on SIGHUP by default, `nohup` or not: it resets signal dispositions.)
  const onHangup = () => {
    hungUp = true;
    process.kill(process.pid, "SIGINT"); // the UI closes its open questions on SIGINT
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onHangup);

  let result: ExecuteResult;
  try {
    result = await execute(plan, {
      runId: o.runId,
      bus,
      interaction,
      connections,
      secrets,
      dryRun: o.dryRun,
      probe: o.probe,
      onFailure: o.onFailure,
      signal: controller.signal,
      redaction,
      cwd: io.cwd,
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.fromStep !== undefined ? { fromStep: o.fromStep } : {}),
      ...(o.only ? { only: o.only } : {}),
      ...(o.completed ? { completed: o.completed } : {}),
      ...(o.interrupted ? { interrupted: o.interrupted } : {}),
      ...(o.stillRunning ? { stillRunning: o.stillRunning } : {}),
      ...(o.captured ? { captured: o.captured } : {}),
      ...(o.resumedFrom ? { resumedFrom: o.resumedFrom } : {}),
      journalCheck: () => journal.verify(),
      approvalGate: (p, stepId) =>
        approvalGate(p, o.runId, stepId, {
          approvals: async () => [...(await journalApprovals(journal, o.runId)), ...(o.approvalFiles ?? [])],
          runnerKey: () => signingKey(o.key === undefined ? undefined : resolvePath(io.cwd, o.key), io.env),
          env: io.env,
          startedPlan: async () => (await journal.getRun(o.runId))?.plan ?? undefined,
        }),
      ...(o.dryRun ? {} : { statusDir: localStatusDir(journal.kind, journal.location, defaultStateDir(io.env)) }),
    });
  } catch (e) {
    const message = redaction.redactMessage(e instanceof Error ? e.message : String(e));
    result = { status: "failed", exitCode: Exit.failed, error: `internal error: ${message}` };
    bus.emit({ type: "run-finished", runId: o.runId, time: new Date().toISOString(), status: "failed", exitCode: 1, durationMs: 0, error: result.error });
    if (io.env.RUNBOOK_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${redaction.redactMessage(e.stack)}\n`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onHangup);
    await connections.closeAll().catch(() => {});
  }

  if (tailTimer) clearTimeout(tailTimer);
  const recorded = await journalAfterRun(journal, result, redaction);
  result = recorded.result;
  if (ui) await ui.finish({ status: result.status, exitCode: result.exitCode });
  plainFlush?.();
  if (recorded.problem !== undefined && !result.error?.includes(recorded.problem)) io.stderr.write(`runbook: ${recorded.problem}\n`);

  if (sink && !o.json) sink.write(`${summaryLine(counts, o.dryRun, verdict)}\n`);
  if (result.status === "waiting") return result.exitCode; // the log or the UI's summary said what an approver needs
  if (result.exitCode !== 0 && result.error) {
    io.stderr.write(`runbook: ${escapeControls(result.error)}\n`);
    // The UI's summary has already said how to resume; a journal that lost the run cannot.
    if (!o.dryRun && result.status !== "succeeded" && !ui && recorded.resumable && anyStarted) io.stderr.write(resumeLine(o.runId, o.state));
  }
  return result.exitCode;
}

/**
 * After the run: the journal's last writes flushed and checked. A run is never
 * reported a success unless the journal has it all; a journal that lost the run
 * (its file deleted or replaced) cannot resume it.
 */
async function journalAfterRun(
  journal: Journal,
  result: ExecuteResult,
  redaction: Redaction,
): Promise<{ result: ExecuteResult; problem?: string; resumable: boolean }> {
  let problem: string | undefined;
  let resumable = true;
  try {
    await journal.flush();
  } catch (e) {
    problem = redaction.redactMessage(e instanceof Error ? e.message : String(e));
  }
  try {
    await journal.verify();
  } catch (e) {
    if (!(e instanceof JournalError)) throw e;
    resumable = e.resumable;
    problem ??= redaction.redactMessage(e.message);
  }
  if (problem === undefined || result.exitCode !== 0) return { result, ...(problem !== undefined ? { problem } : {}), resumable };
  const error = journalIncompleteText(problem);
  return { result: { status: "failed", exitCode: Exit.failed, error }, problem: error, resumable };
}

/** The signatures `runbook approve` stored in the journal for this run. */
async function journalApprovals(journal: Journal, runId: string): Promise<SignedApproval[]> {
  return (await journal.getApprovals(runId)).flatMap((r) => (r.kind === "signature" && r.statement !== null && r.signature !== null ? [{ statement: r.statement, signature: r.signature }] : []));
}

/** The most a step's output waits before it is written to the journal. */
export const TAIL_FLUSH_MS = 250;

const resumeLine = (runId: string, state?: string) => `runbook: resume it with \`${resumeCommand(runId, state)}\`\n`;

/** A subscriber that never breaks the run: a failing view is reported once and dropped. */
function safe(listener: (e: RunEvent) => void, io: CliIO): (e: RunEvent) => void {
  let broken = false;
  return (e) => {
    if (broken) return;
    try {
      listener(e);
    } catch (err) {
      broken = true;
      io.stderr.write(`runbook: the output view failed (${(err as Error).message}); the run goes on\n`);
    }
  };
}

type Counts = Record<"ok" | "failed" | "skipped" | "interrupted" | "rolled-back", number>;

function countSteps(bus: EventBus): Counts {
  const last = new Map<string, keyof Counts>();
  const counts: Counts = { ok: 0, failed: 0, skipped: 0, interrupted: 0, "rolled-back": 0 };
  bus.subscribe((e) => {
    if (e.type !== "step-finished") return;
    last.set(e.stepId, e.status);
    for (const k of Object.keys(counts) as (keyof Counts)[]) counts[k] = 0;
    for (const s of last.values()) counts[s]++;
  });
  return counts;
}

/** The plain log's last line: the steps' counts; a dry run's verdict and what it counted first. */
function summaryLine(c: Counts, dryRun: boolean, verdict: VerdictEvent | undefined): string {
  const parts = [`${c.ok} ok`];
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.interrupted) parts.push(`${c.interrupted} interrupted`);
  if (c["rolled-back"]) parts.push(`${c["rolled-back"]} rolled back`);
  if (verdict) return `${verdictSummary(verdict)} (steps: ${parts.join(", ")})`;
  return `${dryRun ? "dry run: " : ""}steps: ${parts.join(", ")}`;
}

/** `terminal` answers until `gone()`; from then on `fallback` does (a question never waits for nobody). */
function untilHangup(terminal: Interaction, fallback: Interaction, gone: () => boolean): Interaction & { lastAnsweredBy?: string } {
  const pick = () => (gone() ? fallback : terminal);
  return {
    // Who answered (the executor journals it): the one that was asked.
    get lastAnsweredBy() {
      return (pick() as { lastAnsweredBy?: string }).lastAnsweredBy;
    },
    beforeStep: (ctx) => pick().beforeStep(ctx),
    confirm: (question, ctx) => pick().confirm(question, ctx),
    manual: (text, ctx) => pick().manual(text, ctx),
    onFailure: (error, ctx) => pick().onFailure(error, ctx),
    rerunInterrupted: (ctx) => {
      const i = pick();
      return i.rerunInterrupted ? i.rerunInterrupted(ctx) : Promise.resolve("unanswerable" as const);
    },
  };
}
