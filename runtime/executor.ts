// The executor: walks a Plan step by step and does what it says, through the
// drivers of a ConnectionProvider, asking its questions through an Interaction
// and telling everything it does as RunEvents on an EventBus (the journal, the
// plain log, NDJSON and the UI only subscribe). Every event passes through the
// run's one Redaction first, so no secret value leaves the executor.
//
// Order of a run: run-started; the preflight (preflight.ts: every host, sudo user,
// database, secret and local source file the selected steps can touch, reached
// once; a real run with one that cannot be used stops here, having changed
// nothing); the env's own confirmations; the main
// steps in order (static skips and run-time guards journaled as skipped); on a
// failure the Interaction chooses retry / skip / rollback / abort (rollback runs
// the `undo` of completed steps in reverse order and restores their edits);
// `finally` steps run whenever the run got past the env's confirmations; then
// run-finished. Ctrl-C (the AbortSignal) ends the running step's process group,
// marks it interrupted and still runs `finally`.
//
// A dry run is the same walk over drivers that change nothing (dry-run.ts): it
// shows each command with values filled in, each edit as a unified diff, each
// database statement with the rows it would touch, and evaluates read-only
// guards for real (unless probe is false), saying "unknown until step X runs"
// where the answer depends on what an earlier step would have done. Each check
// it makes is tallied (verdict.ts), and it ends with its verdict: would run (exit
// 0), would fail or not verified (exit 1).

import { createTwoFilesPatch } from "diff";
import { resolve as resolvePath } from "node:path";
import { compareOperands, truthy } from "../language/scope.js";
import { describeAction, describeCond, formatDuration } from "./describe.js";
import { DryRunDatabase, DryRunHost, DryRunState } from "./dry-run.js";
import { lexSql, statementsWithParams, type StatementWithParams } from "../language/sql-lexer.js";
import { DriverError, StatementError, type DatabaseDriver, type HostDriver } from "./drivers/driver.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, type ConnectionProvider } from "./connections.js";
import type { CommandRef, DataProgress, EventBus, FailureChoice, Interaction, RunEvent, RunStatus, StepContext } from "./events.js";
import { editAppliedText, JournalError, journalStopText } from "./journal-errors.js";
import { showText, type Action, type Capture, type Plan, type PlanCond, type PlannedStep, type PlanOperand, type PlanValue, type Text } from "./plan.js";
import { Redaction } from "./redact.js";
import { assertNever } from "../language/assert.js";
import { SecretError, secretsUsed, type SecretStore } from "./secrets.js";
import * as data from "./data.js";
import { blocking, preflightFailure, preflightTargets, PreflightedConnections, runPreflight, type PreflightResult } from "./preflight.js";
import { DryRunTally, verdictError, verdictExitCode } from "./verdict.js";
import { WAITING_EXIT, type GateResult } from "./approvals.js";
import { cleanStaleLocal, Supervision } from "./supervisor.js";
import { applyReplaces, editWords } from "./edit-apply.js";
import { renderTemplate, TemplateError, templateLookup } from "./template.js";
import { captureWords, templateWords } from "./secret-wording.js";
import { shellValueName } from "../language/value-placement.js";
import { CapturedValues, capturedOutput, fillAction, fillCond, hostValues, type LateContext } from "./late-values.js";

export interface ExecuteOptions {
  runId: string;
  bus: EventBus;
  interaction: Interaction;
  connections: ConnectionProvider;
  secrets: SecretStore;
  dryRun?: boolean;
  /** Dry run: evaluate read-only guards against the real hosts (default true). */
  probe?: boolean;
  /** Start at this main step (earlier main steps are skipped). */
  fromStep?: string;
  /** Run only these steps. */
  only?: string[];
  /** What to do on a failure when the Interaction cannot answer (default "stop"). */
  onFailure?: "stop" | "rollback";
  /** Aborted on Ctrl-C: the running step is ended and `finally` runs. */
  signal?: AbortSignal;
  /** Resume: steps already done in the run being resumed (not run again, no events). */
  completed?: Set<string>;
  /** Resume: steps that were running when the run stopped (rerun only if the operator says so). */
  interrupted?: Set<string>;
  resumedFrom?: string;
  /** The run's redaction, shared with the caller for its own messages; one is made if absent. */
  redaction?: Redaction;
  /** Local paths (upload sources, download targets, export files) resolve against this. */
  cwd?: string;
  /** Preflight: how long each target may take to answer (default 10 s; the connections have the same). */
  connectTimeoutMs?: number;
  /**
   * The journal's check (Journal.verify): awaited before each step starts, again
   * once its start is announced, and before the run is called a success. A
   * JournalError stops the run there: nothing more runs unrecorded.
   */
  journalCheck?: () => Promise<void>;
  /** The env's approval gate (approvals.ts), asked once before the first step of a real run. */
  approvalGate?: (plan: Plan, stepId: string) => Promise<GateResult>;
  /**
   * Resume: steps whose earlier attempt is still running, by the operator's choice
   * to go on without them: each is journaled as skipped with this reason, never started.
   */
  stillRunning?: Map<string, string>;
  /**
   * The local folder of the commands' status files (supervisor.ts): with it, each
   * command (but `as USER`) runs under a supervisor, and a resumed step takes the
   * outcome of a command that ran to its end from its files instead of running it again.
   */
  statusDir?: string;
  /** Resume: the values the run being resumed captured (`into NAME`; secret ones are never journaled). */
  captured?: Record<string, string>;
}

export interface ExecuteResult {
  status: RunStatus;
  exitCode: number;
  /** Why the run did not succeed, redacted. */
  error?: string;
}

// ---------------------------------------------------------------- errors inside a step

/** The step failed: the message says why in plain words. */
class StepFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null = null,
    readonly signal: string | null = null,
    /** What the failing action itself left applied ("statement 1 of 2 (ALTER TABLE …)"). */
    readonly remains: string[] = [],
  ) {
    super(message);
  }
}

/** Ctrl-C (or an abort) ended the step. */
class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

/** The journal cannot record (Journal.verify failed): the run stops, whatever was going on. */
class JournalStop extends Error {}

/** The operator said no (confirm/manual/step-through), or nobody could answer: the run ends with exit 3. */
class RunAborted extends Error {
  constructor(
    message: string,
    readonly unanswerable = false,
  ) {
    super(message);
  }
}

type Tri = boolean | "unknown";

interface Val {
  text: string;
  list?: string[];
  /** For succeeds/exists: the boolean itself. */
  bool?: boolean;
  /** For a `query` that found no row, or a NULL: not a text at all (its text is ""), see compareVal. */
  absent?: "no-row" | "null";
}

/** The outcome of evaluating a condition. */
interface CondResult {
  value: Tri;
  /** Why it is unknown. */
  reason?: string;
  /** Unknown until this earlier step runs (a dry run): counted apart, never a failure. */
  pendingOn?: string;
  /** Hosts ("host:NAME") and databases ("db:NAME") its probes looked at. */
  targets: Set<string>;
}

interface EditRecord {
  host: HostDriver;
  hostLabel?: string;
  path: string;
  /** null: the file did not exist (a templated upload made it): undone by removing it. */
  original: Buffer | null;
  written: Buffer;
}

/** Where a step body runs: one host (or one member of a group). */
interface BodyCtx {
  step: PlannedStep;
  driver: HostDriver;
  /** Label for events: the host's name, a group member's target, undefined for local. */
  hostLabel?: string;
  attempt: number;
  deadline?: number;
  signal: AbortSignal;
  /** Confirmations, manual steps and notes of a group step are asked/shown once for all members. */
  once: Map<string, Promise<void>>;
  edits: EditRecord[];
}

type StepOutcome =
  | { kind: "ok"; reason?: string }
  | { kind: "skipped"; reason: string }
  | { kind: "failed"; error: string; exitCode?: number | null; signal?: string | null }
  | { kind: "interrupted"; error: string }
  | { kind: "aborted"; error: string; unanswerable: boolean };

const NEVER = new AbortController().signal;

export async function execute(plan: Plan, options: ExecuteOptions): Promise<ExecuteResult> {
  return new Executor(plan, options).run();
}

class Executor {
  private readonly redaction: Redaction;
  private readonly dry: boolean;
  private readonly probe: boolean;
  private readonly state = new DryRunState();
  private readonly cwd: string;
  /** Steps that finished ok in this run or the one being resumed, in order (for rollback). */
  private readonly done: PlannedStep[] = [];
  /** step id → what its failed attempt left applied (notePartial). */
  private readonly partial = new Map<string, string[]>();
  private readonly edits = new Map<string, EditRecord[]>();
  /** What `into NAME` captured so far (and, on resume, what the earlier attempt did). */
  private readonly captured = new CapturedValues();
  private readonly dryHosts = new Map<HostDriver, DryRunHost>();
  private readonly dryDbs = new Map<DatabaseDriver, DryRunDatabase>();
  private readonly started = Date.now();
  /** The signal steps run under; replaced by a never-aborting one for `finally` after a Ctrl-C. */
  private signal: AbortSignal;
  /** The run's connections; after preflight, targets that failed it fail at once. */
  private connections: ConnectionProvider;
  /** A dry run's checks, for its verdict (verdict.ts). */
  private readonly tally = new DryRunTally();
  /** The supervisors of the commands (exactly once across a crash). */
  private readonly supervision: Supervision;

  constructor(
    private readonly plan: Plan,
    private readonly o: ExecuteOptions,
  ) {
    this.redaction = o.redaction ?? new Redaction();
    o.secrets.onValue((v) => this.redaction.add(v));
    this.dry = o.dryRun ?? false;
    this.probe = o.probe ?? true;
    this.cwd = o.cwd ?? process.cwd();
    this.signal = o.signal ?? NEVER;
    this.connections = o.connections;
    this.supervision = new Supervision({
      runId: o.runId,
      ...(o.statusDir !== undefined && !this.dry ? { statusDir: o.statusDir } : {}),
      ...(o.interrupted ? { interrupted: o.interrupted } : {}),
      note: (stepId, host, text) => this.emit({ type: "note", stepId, ...(host !== undefined ? { host } : {}), text }),
    });
    for (const [name, value] of Object.entries(o.captured ?? {})) this.captured.set(name, value, false);
  }

  // ---------------------------------------------------------------- events

  private emit(event: DistributiveOmit<RunEvent, "runId" | "time">): void {
    const full = { runId: this.o.runId, time: new Date().toISOString(), ...event } as RunEvent;
    this.o.bus.emit(redactEvent(full, this.redaction));
  }

  /** Messages (errors, reasons, previews): cut pieces of a secret are masked too. */
  private redact(s: string): string {
    return this.redaction.redactMessage(s);
  }

  /** Who answered the last question, when the Interaction says. */
  private by(fallback = "operator"): string {
    const i = this.o.interaction as Interaction & { lastAnsweredBy?: string };
    return i.lastAnsweredBy ?? fallback;
  }

  /** An Interaction call that gives up when the run is interrupted. */
  /** Time spent waiting for answers so far (a step's time leaves it out and reports it apart). */
  private waitedMs = 0;

  private async ask<T>(p: Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await this.askNow(p);
    } finally {
      this.waitedMs += Date.now() - t0;
    }
  }

  private askNow<T>(p: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal.aborted) throw new Interrupted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new Interrupted());
      signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }

  // ---------------------------------------------------------------- the run

  async run(): Promise<ExecuteResult> {
    const plan = this.plan;
    this.emit({
      type: "run-started",
      runbook: plan.runbook.name,
      version: plan.runbook.version,
      env: plan.env,
      protected: plan.protected,
      dryRun: this.dry,
      ...(this.o.resumedFrom ? { resumedFrom: this.o.resumedFrom } : {}),
      ...(plan.runbook.git ? { git: plan.runbook.git } : {}),
      steps: plan.steps.map((s) => ({
        id: s.id,
        title: s.title,
        ...(s.section !== undefined ? { section: s.section } : {}),
        ...(s.host !== undefined ? { host: s.host } : {}),
        phase: s.phase,
      })),
    });

    for (const id of [...(this.o.completed ?? [])]) {
      const s = plan.steps.find((x) => x.id === id);
      if (s && s.phase === "main") this.done.push(s);
    }

    // Every declared secret that can be read is masked, used or not: a program may print one it reads itself.
    for (const s of plan.secrets) this.o.secrets.has(s.name);
    const selected = plan.steps.filter((s) => this.selected(s) === undefined);
    if (this.dry) {
      for (const name of secretsUsed(plan, selected)) {
        // Read now so their values are masked; a missing one is preflight's to report.
        this.o.secrets.has(name);
      }
    }

    // Preflight: every target reached once before the first step; a real run stops here when one fails.
    const stopped = await this.preflightPhase(selected);
    if (stopped) return this.finish(stopped);

    const waiting = await this.approvalGate(selected);
    if (waiting) return this.finish(waiting);

    // The env's own confirmations, once, before the first step.
    try {
      for (const question of plan.envConfirms) await this.envConfirm(question);
    } catch (e) {
      if (e instanceof Interrupted) return this.finish({ status: "interrupted", exitCode: 3, error: "interrupted before the first step" });
      if (e instanceof RunAborted) return this.finish({ status: "aborted", exitCode: 3, error: e.message });
      throw e;
    }

    let result: ExecuteResult = { status: "succeeded", exitCode: 0 };
    try {
      result = await this.steps();
    } catch (e) {
      if (!(e instanceof JournalStop)) throw e;
      result = { status: "failed", exitCode: 1, error: e.message };
    }
    const verdict = await this.journalVerdict(result);
    await this.forgetFinished(verdict.status === "succeeded");
    return this.finish(verdict);
  }

  /** The main steps, a rollback when asked for, and the `finally` steps: the run's result. */
  private async steps(): Promise<ExecuteResult> {
    const plan = this.plan;
    let result: ExecuteResult = { status: "succeeded", exitCode: 0 };
    let rollbackAfter: PlannedStep | undefined;
    for (const step of plan.steps.filter((s) => s.phase === "main")) {
      if (this.signal.aborted) {
        result = { status: "interrupted", exitCode: 3, error: "interrupted" };
        break;
      }
      const outcome = await this.mainStep(step);
      if (outcome === "continue") continue;
      result = outcome.result;
      if (outcome.rollback) rollbackAfter = step;
      break;
    }

    if (rollbackAfter) {
      const verdict = await this.rollback(rollbackAfter);
      result = { ...result, error: `${result.error ?? "failed"}; ${verdict}` };
    }

    // finally: after a Ctrl-C its steps run without the aborted signal (a second Ctrl-C exits the process).
    if (this.signal.aborted) this.signal = NEVER;
    const finallyResult = await this.finallySteps();
    if (finallyResult && result.status === "succeeded") result = finallyResult;
    return result;
  }

  // ---------------------------------------------------------------- the journal's check

  /**
   * Before a step starts (`started` false) and once its start is announced (true):
   * when the journal cannot record, the run stops here (JournalStop), the step
   * not run.
   */
  private async checkJournal(step: PlannedStep, started: boolean): Promise<void> {
    const check = this.o.journalCheck;
    if (!check) return;
    try {
      await check();
    } catch (e) {
      if (e instanceof JournalError) throw new JournalStop(journalStopText(e, { stepId: step.id, started }));
      throw e;
    }
    await this.supervision.forget();
  }

  /** The status files of finished steps go once the journal has their outcome. */
  private async forgetFinished(succeeded: boolean): Promise<void> {
    try {
      await this.o.journalCheck?.();
    } catch {
      return; // the journal may lack an outcome: the files stay (until the retention)
    }
    if (succeeded) await this.supervision.sweep();
    else await this.supervision.forget();
  }

  /** A run is a success only when its journal has recorded it all. */
  private async journalVerdict(result: ExecuteResult): Promise<ExecuteResult> {
    const check = this.o.journalCheck;
    if (!check || result.status !== "succeeded") return result;
    try {
      await check();
      return result;
    } catch (e) {
      if (e instanceof JournalError) return { status: "failed", exitCode: 1, error: journalStopText(e, undefined) };
      throw e;
    }
  }

  /** Resume: a step whose earlier attempt still runs (the operator chose to go on) is never started. */
  private stillRunningSkip(step: PlannedStep): string | undefined {
    return this.o.stillRunning?.get(step.id);
  }

  private finish(result: ExecuteResult): ExecuteResult {
    if (this.dry) result = this.dryRunVerdict(result);
    const r = { ...result, ...(result.error !== undefined ? { error: this.redact(result.error) } : {}) };
    this.emit({
      type: "run-finished",
      status: r.status,
      exitCode: r.exitCode,
      durationMs: Date.now() - this.started,
      ...(r.error !== undefined ? { error: r.error } : {}),
    });
    return r;
  }

  // ---------------------------------------------------------------- preflight and the dry-run verdict

  /**
   * Preflight (preflight.ts) of the selected steps' targets, told as preflight events;
   * afterwards a target that failed fails at once wherever it is used. The result that
   * ends the run when it must stop here (a real run with a target that cannot be used,
   * or an interrupt), else undefined.
   */
  private async preflightPhase(selected: PlannedStep[]): Promise<ExecuteResult | undefined> {
    const targets = preflightTargets(this.plan, selected, this.cwd);
    if (targets.length === 0) return undefined;
    this.emit({ type: "preflight-started", targets: targets.map((t) => ({ id: t.id, kind: t.kind, name: t.name })) });
    const report = await runPreflight(this.plan, targets, {
      connections: this.o.connections,
      secrets: this.o.secrets,
      cwd: this.cwd,
      reach: !this.dry || this.probe,
      timeoutMs: this.o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      signal: this.signal,
      onResult: (r) => {
        this.emit({
          type: "preflight-target",
          target: r.target.id,
          kind: r.target.kind,
          name: r.target.name,
          status: r.status,
          ...(r.reason !== undefined ? { reason: r.reason } : {}),
          durationMs: r.durationMs,
        });
        this.tallyPreflight(r);
      },
    });
    this.emit({ type: "preflight-finished", counts: report.counts, durationMs: report.durationMs });
    this.connections = new PreflightedConnections(this.o.connections, this.plan, report);
    if (this.signal.aborted) return { status: "interrupted", exitCode: 3, error: "interrupted during the preflight, before the first step" };
    if (!this.dry && blocking(report).length > 0) return { status: "failed", exitCode: 1, error: preflightFailure(report) };
    return undefined;
  }

  private tallyPreflight(r: PreflightResult): void {
    const item = { ...(r.target.usedBy[0] !== undefined ? { stepId: r.target.usedBy[0] } : {}), what: `${r.target.kind} ${r.target.name}`, why: this.redact(r.reason ?? r.status) };
    switch (r.status) {
      case "ok":
        return this.tally.check();
      case "failed":
        return this.tally.fail(item);
      case "not-checked":
        return this.tally.notVerify(item);
      case "deferred":
        return this.tally.pend(item);
      default:
        return assertNever(r.status, "preflight status");
    }
  }

  /** A condition's outcome in a dry run, tallied: held or not, unknown until an earlier step, or not checked. */
  private tallyCond(step: PlannedStep, what: string, r: CondResult): void {
    if (!this.dry) return;
    if (r.value !== "unknown") return this.tally.check();
    const item = { stepId: step.id, what, why: r.reason ?? "unknown" };
    if (r.pendingOn !== undefined) this.tally.pend(item);
    else this.tally.notVerify(item);
  }

  /** A dry run's result follows its verdict: "would run" (exit 0), "would fail" or "not verified" (exit 1). */
  private dryRunVerdict(result: ExecuteResult): ExecuteResult {
    if (result.status === "interrupted" || result.status === "aborted") return result;
    const event = this.tally.event();
    this.emit(event);
    const exitCode = Math.max(result.exitCode, verdictExitCode(event.verdict));
    if (exitCode === 0) return result;
    return { status: "failed", exitCode, error: result.error ?? verdictError(event) ?? "" };
  }

  /** Why a step is not selected by --from / --only / resume, or undefined when it is. */
  private selected(step: PlannedStep): string | undefined {
    if (this.o.completed?.has(step.id)) return "done";
    if (this.o.only && this.o.only.length > 0 && !this.o.only.includes(step.id)) return "not selected by --only";
    const from = this.o.fromStep;
    if (from !== undefined) {
      const steps = this.plan.steps;
      const fromIndex = steps.findIndex((s) => s.id === from);
      const fromStep = steps[fromIndex];
      const i = steps.indexOf(step);
      if (fromStep && i < fromIndex && (step.phase === "main" || fromStep.phase === "finally")) return `before --from ${from}`;
    }
    return undefined;
  }

  /** Signed approvals before the first step (approvals.ts): the result that stops the run waiting, else undefined. */
  private async approvalGate(selected: PlannedStep[]): Promise<ExecuteResult | undefined> {
    const first = selected.find((s) => s.phase === "main") ?? selected[0];
    if (this.dry || !this.o.approvalGate || !first) return undefined;
    const gate = await this.o.approvalGate(this.plan, first.id);
    for (const e of gate.events) this.emit(e);
    return gate.pass ? undefined : { status: "waiting", exitCode: WAITING_EXIT, error: gate.error ?? "waiting for approval" };
  }

  private async envConfirm(question: string): Promise<void> {
    if (this.dry) {
      this.emit({ type: "confirm", question, answer: "unanswered", by: "dry-run", dryRun: true });
      return;
    }
    const answer = await this.ask(this.o.interaction.confirm(question, { plan: this.plan }));
    if (answer === "unanswerable") {
      this.emit({ type: "confirm", question, answer: "unanswered", by: "nobody" });
      const flag = this.plan.protected ? "--approve env" : "--yes (or --approve env)";
      throw new RunAborted(
        `the ${this.plan.env} env asks "${question}" before the first step, and nobody can answer it here (no terminal); pass ${flag} to answer it`,
        true,
      );
    }
    this.emit({ type: "confirm", question, answer: answer ? "yes" : "no", by: this.by() });
    if (!answer) throw new RunAborted(`aborted: the answer to "${question}" was no`);
  }

  // ---------------------------------------------------------------- one main step with failure handling

  private async mainStep(step: PlannedStep): Promise<"continue" | { result: ExecuteResult; rollback?: boolean }> {
    const notSelected = this.selected(step);
    if (notSelected === "done") return "continue";
    if (notSelected !== undefined) {
      this.emit({ type: "step-finished", stepId: step.id, ...hostOf(step), status: "skipped", reason: notSelected, durationMs: 0, attempt: 0 });
      return "continue";
    }

    let attempt = 1;
    for (;;) {
      const outcome = await this.runStep(step, attempt);
      if (outcome.kind === "ok") {
        this.done.push(step);
        return "continue";
      }
      if (outcome.kind === "skipped") return "continue";
      if (outcome.kind === "interrupted") {
        return { result: { status: "interrupted", exitCode: 3, error: outcome.error } };
      }
      if (outcome.kind === "aborted") {
        return { result: { status: "aborted", exitCode: 3, error: outcome.error } };
      }
      // Failed.
      const error = `step ${step.id} failed: ${outcome.error}`;
      if (this.dry) {
        this.tally.fail({ stepId: step.id, what: `step ${step.id}`, why: outcome.error });
        return { result: { status: "failed", exitCode: 1, error: `${error} (a real run would stop here)` }, rollback: this.o.onFailure === "rollback" };
      }
      let choice: FailureChoice;
      let by: string;
      try {
        const answer = await this.ask(this.o.interaction.onFailure(this.redact(outcome.error), this.ctx(step)));
        if (answer === "unanswerable") {
          choice = this.o.onFailure === "rollback" ? "rollback" : "abort";
          by = `--on-failure ${this.o.onFailure ?? "stop"}`;
        } else {
          choice = answer;
          by = this.by();
        }
      } catch (e) {
        if (e instanceof Interrupted) return { result: { status: "interrupted", exitCode: 3, error: `${error}; interrupted` } };
        throw e;
      }
      this.emit({ type: "failure-choice", stepId: step.id, choice, by });
      switch (choice) {
        case "retry":
          attempt++;
          continue;
        case "skip":
          this.emit({
            type: "step-finished",
            stepId: step.id,
            ...hostOf(step),
            status: "skipped",
            reason: `failed, skipped by the operator: ${outcome.error}`,
            durationMs: 0,
            attempt,
          });
          return "continue";
        case "rollback":
          return { result: { status: "failed", exitCode: 1, error }, rollback: true };
        case "abort":
          return { result: { status: "failed", exitCode: 1, error } };
      }
    }
  }

  private async finallySteps(): Promise<ExecuteResult | undefined> {
    let result: ExecuteResult | undefined;
    for (const step of this.plan.steps.filter((s) => s.phase === "finally")) {
      const notSelected = this.selected(step);
      if (notSelected === "done") continue;
      if (notSelected !== undefined) {
        this.emit({ type: "step-finished", stepId: step.id, ...hostOf(step), status: "skipped", reason: notSelected, durationMs: 0, attempt: 0 });
        continue;
      }
      if (this.signal.aborted) {
        this.emit({ type: "step-finished", stepId: step.id, ...hostOf(step), status: "skipped", reason: "interrupted before it started", durationMs: 0, attempt: 0 });
        continue;
      }
      const outcome = await this.runStep(step, 1);
      if (outcome.kind === "failed" && this.dry) this.tally.fail({ stepId: step.id, what: `finally step ${step.id}`, why: outcome.error });
      if (outcome.kind === "failed" && !result) result = { status: "failed", exitCode: 1, error: `finally step ${step.id} failed: ${outcome.error}` };
      else if (outcome.kind === "aborted" && !result) result = { status: "aborted", exitCode: 3, error: outcome.error };
      else if (outcome.kind === "interrupted" && !result) result = { status: "interrupted", exitCode: 3, error: outcome.error };
    }
    return result;
  }

  private ctx(step: PlannedStep): StepContext {
    return { plan: this.plan, step, index: this.plan.steps.indexOf(step) };
  }

  // ---------------------------------------------------------------- one step (all its attempts and hosts)

  private async runStep(step: PlannedStep, firstAttempt: number): Promise<StepOutcome> {
    if (this.o.statusDir !== undefined && !this.dry && this.state.order.length === 0) await cleanStaleLocal(this.o.statusDir);
    this.state.order.push(step.id);
    // A step's time runs from its start (once the questions before it are answered)
    // to its end; the operator's answers inside it are left out and told apart.
    let t0 = Date.now();
    let waitedAtStart = this.waitedMs;
    const started = () => {
      t0 = Date.now();
      waitedAtStart = this.waitedMs;
    };
    const finished = (outcome: StepOutcome, attempt: number): StepOutcome => {
      this.supervision.stepFinished(step.id);
      const waited = this.waitedMs - waitedAtStart;
      const status =
        outcome.kind === "ok" ? "ok" : outcome.kind === "skipped" ? "skipped" : outcome.kind === "interrupted" ? "interrupted" : "failed";
      const reason =
        outcome.kind === "ok" ? outcome.reason : outcome.kind === "skipped" ? outcome.reason : outcome.error;
      this.emit({
        type: "step-finished",
        stepId: step.id,
        ...hostOf(step),
        status,
        ...(reason !== undefined ? { reason } : {}),
        ...(outcome.kind === "failed" && outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
        ...(outcome.kind === "failed" && outcome.signal !== undefined ? { signal: outcome.signal } : {}),
        durationMs: Math.max(0, Date.now() - t0 - waited),
        ...(waited > 0 ? { waitedMs: waited } : {}),
        attempt,
      });
      return outcome;
    };

    if (step.skip !== undefined) return finished({ kind: "skipped", reason: step.skip }, 0);
    const stillRunning = this.dry ? undefined : this.stillRunningSkip(step);
    if (stillRunning !== undefined) return finished({ kind: "skipped", reason: stillRunning }, 0);

    // Resume: a step that was running when the run stopped reruns only if the operator
    // says so; that is asked first (its answer is also the go-ahead to start it).
    const wasInterrupted = this.o.interrupted?.has(step.id) === true && !this.dry;
    if (wasInterrupted) {
      this.emit({ type: "note", stepId: step.id, text: `'${step.title}' was interrupted: it was running when the run stopped, and may have done part of its work` });
      const ask = this.o.interaction.rerunInterrupted;
      let answer: boolean | "unanswerable" = "unanswerable";
      try {
        if (ask) answer = await this.ask(ask.call(this.o.interaction, this.ctx(step)));
      } catch (e) {
        if (e instanceof Interrupted) return finished({ kind: "interrupted", error: `interrupted before '${step.title}'` }, 0);
        throw e;
      }
      if (answer === "unanswerable") {
        // Not journaled as finished: the step stays interrupted until someone decides.
        return {
          kind: "aborted",
          error: `step ${step.id} ('${step.title}') was interrupted when the run stopped; nobody can say here whether to run it again (no terminal): pass --yes to rerun it`,
          unanswerable: true,
        };
      }
      if (!answer) return finished({ kind: "skipped", reason: "interrupted earlier; the operator chose not to rerun it" }, 0);
    }

    // Step-through: the operator may skip or abort before it starts.
    if (!this.dry && !wasInterrupted) {
      let choice;
      try {
        choice = await this.ask(this.o.interaction.beforeStep(this.ctx(step)));
      } catch (e) {
        if (e instanceof Interrupted) return finished({ kind: "interrupted", error: `interrupted before '${step.title}'` }, 0);
        throw e;
      }
      if (choice === "skip") return finished({ kind: "skipped", reason: "skipped by the operator" }, 0);
      // Never started: not recorded as finished (nor failed); the run says it was aborted.
      if (choice === "abort") return { kind: "aborted", error: `aborted by the operator before '${step.title}'`, unanswerable: false };
    }
    started();

    let drivers: HostDriver[];
    try {
      drivers = await this.driversFor(step.host);
    } catch (e) {
      return finished({ kind: "failed", error: this.errorText(e, step, step.host) }, firstAttempt);
    }
    const group = step.host !== undefined && this.plan.hosts[step.host]?.group === true;

    // Guards of a single-host step are decided before it starts; a group's per member.
    if (!group) {
      try {
        const skip = await this.guards(step, drivers[0]!, step.host);
        if (skip) return finished({ kind: "skipped", reason: skip }, 0);
      } catch (e) {
        if (e instanceof Interrupted) return finished({ kind: "interrupted", error: `interrupted during '${step.title}'` }, firstAttempt);
        return finished({ kind: "failed", error: this.errorText(e, step, step.host) }, firstAttempt);
      }
    }

    const edits: EditRecord[] = [];
    this.edits.set(step.id, edits);
    if (step.mutating && this.dry) this.state.mark(DryRunState.hostKey(step.host), step.id);
    if (this.dry) for (const a of step.actions) if ((a.kind === "sql" || a.kind === "import" || a.kind === "sync") ) this.state.mark(DryRunState.dbKey(a.db), step.id);

    const retries = this.dry ? 0 : (step.retry?.count ?? 0);
    const members = drivers.map((d, i) => ({ driver: d, label: group ? this.plan.hosts[step.host!]!.targets[i]! : step.host, ok: false, skipped: undefined as string | undefined }));
    let attempt = firstAttempt;
    let lastFailure: StepOutcome | undefined;
    for (let round = 0; round <= retries; round++, attempt++) {
      if (round > 0) {
        const wait = step.retry?.everyMs ?? 0;
        this.emit({
          type: "note",
          stepId: step.id,
          text: `attempt ${attempt - 1} failed (${lastFailure && "error" in lastFailure ? lastFailure.error : "?"}); retrying${wait ? ` in ${formatDuration(wait)}` : ""} (${round} of ${retries})`,
        });
        try {
          await sleep(wait, this.signal);
        } catch {
          return finished({ kind: "interrupted", error: `interrupted during '${step.title}'` }, attempt - 1);
        }
      }
      await this.checkJournal(step, false);
      this.emit({
        type: "step-started",
        stepId: step.id,
        title: step.title,
        ...hostOf(step),
        attempt,
        preview: step.actions.map((a) => this.redact(describeAction(a))),
      });
      try {
        await this.checkJournal(step, true);
      } catch (e) {
        finished({ kind: "failed", error: e instanceof Error ? e.message : String(e) }, attempt);
        throw e;
      }
      const once = new Map<string, Promise<void>>();
      const pending = members.filter((m) => !m.ok && m.skipped === undefined);
      const outcome = group ? await this.runGroup(step, pending, attempt, once, edits) : await this.runOn(step, pending[0]!.driver, pending[0]!.label, attempt, once, edits);
      if (!group && outcome.kind === "ok") pending[0]!.ok = true;
      if (outcome.kind === "ok" || outcome.kind === "skipped") {
        if (outcome.kind === "ok" && this.dry) return finished({ kind: "ok", reason: outcome.reason ?? "dry run" }, attempt);
        return finished(outcome, attempt);
      }
      lastFailure = outcome;
      if (outcome.kind !== "failed") return finished(outcome, attempt);
    }
    const failure = lastFailure as Extract<StepOutcome, { kind: "failed" }>;
    if (step.allowFailure) return finished({ kind: "ok", reason: `failed, allowed: ${failure.error}` }, attempt - 1);
    return finished(failure, attempt - 1);
  }

  /** A step's drivers: wrapped so they change nothing in a dry run. */
  private async driversFor(host: string | undefined): Promise<HostDriver[]> {
    const drivers = await this.connections.hosts(host);
    if (!this.dry) return drivers;
    return drivers.map((d) => {
      let w = this.dryHosts.get(d);
      if (!w) {
        w = new DryRunHost(d, this.cwd);
        this.dryHosts.set(d, w);
      }
      return w;
    });
  }

  private async db(name: string): Promise<DatabaseDriver> {
    const d = await this.connections.database(name);
    if (!this.dry) return d;
    let w = this.dryDbs.get(d);
    if (!w) {
      w = new DryRunDatabase(d);
      this.dryDbs.set(d, w);
    }
    return w;
  }

  /** Runs the step's guards; the reason to skip, or undefined to run. */
  private async guards(step: PlannedStep, driver: HostDriver, hostLabel: string | undefined): Promise<string | undefined> {
    for (const g of step.guards) {
      const resolved = this.redact(describeCond(g.cond));
      if (g.static !== "probe") {
        // Decided by the planner (step.skip when it said no): it held, and is shown as held.
        this.emit({ type: "guard", stepId: step.id, source: g.source, kind: g.kind, resolved, result: g.static, reason: "known from the runbook" });
        continue;
      }
      const want = g.kind === "when";
      const r = await this.evalCondFor(g.cond, step, driver, hostLabel, want);
      this.emit({ type: "guard", stepId: step.id, source: g.source, kind: g.kind, resolved, result: r.value, ...(r.reason ? { reason: r.reason } : {}) });
      this.tallyCond(step, `${g.kind} ${g.source}`, r);
      if (r.value === "unknown") continue; // dry run: shown as unknown, walked as if it held
      if (r.value !== want) return `${g.kind} ${g.source} is ${r.value}${hostLabel && this.plan.hosts[step.host ?? ""]?.group ? ` on ${hostLabel}` : ""}`;
    }
    return undefined;
  }

  private async runGroup(
    step: PlannedStep,
    members: { driver: HostDriver; label: string | undefined; ok: boolean; skipped: string | undefined }[],
    attempt: number,
    once: Map<string, Promise<void>>,
    edits: EditRecord[],
  ): Promise<StepOutcome> {
    const limit = Math.max(1, step.parallel || 1);
    const failures: { label: string; outcome: StepOutcome }[] = [];
    let next = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && next < members.length) {
        const m = members[next++]!;
        const t0 = Date.now();
        let outcome: StepOutcome;
        try {
          const skip = await this.guards(step, m.driver, m.label);
          if (skip) {
            m.skipped = skip;
            this.emit({ type: "note", stepId: step.id, text: `skipped on ${m.label}: ${skip}` });
            continue;
          }
          outcome = await this.runOn(step, m.driver, m.label, attempt, once, edits);
        } catch (e) {
          outcome = e instanceof Interrupted ? { kind: "interrupted", error: `interrupted during '${step.title}'` } : { kind: "failed", error: this.errorText(e, step, m.label) };
        }
        if (outcome.kind === "ok") m.ok = true;
        else {
          failures.push({ label: m.label!, outcome });
          stop = true;
        }
        this.emit({
          type: "host-finished",
          stepId: step.id,
          host: m.label!,
          status: outcome.kind === "ok" ? "ok" : "failed",
          ...(outcome.kind === "failed" && outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
          ...(outcome.kind !== "ok" && outcome.kind !== "skipped" ? { error: outcome.error } : {}),
          durationMs: Date.now() - t0,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, members.length) }, () => worker()));
    const worst = failures.find((f) => f.outcome.kind === "interrupted") ?? failures.find((f) => f.outcome.kind === "aborted") ?? failures[0];
    if (worst) {
      const o = worst.outcome;
      if (o.kind === "interrupted" || o.kind === "aborted") return o;
      const notStarted = members.filter((m) => !m.ok && m.skipped === undefined && !failures.some((f) => f.label === m.label));
      const error = `on ${failures.map((f) => `${f.label}: ${"error" in f.outcome ? f.outcome.error : "failed"}`).join("; on ")}${
        notStarted.length ? ` (not started on ${notStarted.map((m) => m.label).join(", ")})` : ""
      }`;
      return { kind: "failed", error, ...(o.kind === "failed" ? { exitCode: o.exitCode, signal: o.signal } : {}) };
    }
    if (members.every((m) => m.skipped !== undefined)) return { kind: "skipped", reason: members.map((m) => m.skipped).join("; ") };
    return { kind: "ok" };
  }

  /** Runs a step's body on one host; never throws. */
  private async runOn(
    step: PlannedStep,
    driver: HostDriver,
    hostLabel: string | undefined,
    attempt: number,
    once: Map<string, Promise<void>>,
    edits: EditRecord[],
  ): Promise<StepOutcome> {
    const ctx: BodyCtx = {
      step,
      driver,
      ...(hostLabel !== undefined ? { hostLabel } : {}),
      attempt,
      ...(step.timeoutMs !== undefined ? { deadline: Date.now() + step.timeoutMs } : {}),
      signal: this.signal,
      once,
      edits,
    };
    let unknownNote: string | undefined;
    const ran: Action[] = [];
    try {
      // `require` guards fail the step before anything else runs.
      for (const a of step.actions) {
        if (a.kind !== "require") continue;
        const r = await this.evalCondFor(fillCond(a.cond, this.lateCtx(ctx)), step, driver, hostLabel, true);
        if (r.value !== false) this.tallyCond(step, `require ${a.source}`, r);
        // Shown with its values filled in and its outcome, held or not.
        this.emit({ type: "guard", stepId: step.id, source: `require ${a.source}`, resolved: `require ${this.redact(describeCond(a.cond))}`, result: r.value, ...(r.reason ? { reason: r.reason } : {}) });
        if (r.value === "unknown") {
          unknownNote = r.reason;
          continue;
        }
        if (!r.value) throw new StepFailure(a.else ?? `require ${a.source} is false`);
      }
      const changing = step.actions.filter((a) => CHANGES[a.kind]);
      for (const a of step.actions) {
        if (a.kind === "require") continue;
        try {
          await this.action(a, ctx);
        } catch (e) {
          this.notePartial(step, hostLabel, changing, ran, e instanceof StepFailure ? e.remains : [], a);
          throw e;
        }
        if (CHANGES[a.kind]) ran.push(a);
      }
      return { kind: "ok", ...(unknownNote && this.dry ? { reason: `dry run; ${unknownNote}` } : {}) };
    } catch (e) {
      if (e instanceof Interrupted) return { kind: "interrupted", error: `interrupted during '${step.title}'` };
      if (e instanceof RunAborted) return { kind: "aborted", error: e.message, unanswerable: e.unanswerable };
      if (e instanceof StepFailure) return { kind: "failed", error: this.redact(e.message), exitCode: e.exitCode, signal: e.signal };
      return { kind: "failed", error: this.errorText(e, step, hostLabel) };
    }
  }

  /**
   * What a failed step left applied: its changing actions that ran to the end before
   * the failure (edits excepted: a rollback restores them), and what the failing
   * action itself left. Kept for the rollback summary, which must not say "rolled
   * back" while any of it stays.
   */
  private notePartial(step: PlannedStep, hostLabel: string | undefined, changing: Action[], ran: Action[], remains: string[], failing: Action): void {
    if (this.dry) return;
    const kept = ran.filter((a) => a.kind !== "edit");
    // A command (or a copy) that failed may have changed things before it failed: nothing here can tell what.
    const unknown = UNKNOWN_WHEN_FAILED[failing.kind]
      ? `action ${changing.indexOf(failing) + 1} of ${changing.length} (${oneLine(describeAction(failing))}) failed: what it changed before failing is not known`
      : "";
    if (kept.length === 0 && remains.length === 0 && !unknown) return;
    const where = hostLabel !== undefined ? `on ${hostLabel}: ` : "";
    const ranText = kept.length > 0 ? `${kept.length === 1 ? "action" : "actions"} ${kept.map((a) => changing.indexOf(a) + 1).join(", ")} of ${changing.length} ran (${kept.map((a) => oneLine(describeAction(a))).join("; ")})` : "";
    this.partial.set(step.id, [...(this.partial.get(step.id) ?? []), `${where}${[ranText, ...remains, unknown].filter((x) => x).join("; ")}`]);
  }

  private errorText(e: unknown, step: PlannedStep, hostLabel: string | undefined): string {
    if (e instanceof DriverError && e.code === "connection-lost") {
      return this.redact(`connection to ${hostLabel ?? step.host ?? "the host"} lost during '${step.title}'`);
    }
    if (e instanceof Error) return this.redact(e.message);
    return this.redact(String(e));
  }

  // ---------------------------------------------------------------- actions

  private async action(planned: Action, ctx: BodyCtx): Promise<void> {
    const { step } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    if (ctx.signal.aborted) throw new Interrupted();
    const a = fillAction(planned, this.lateCtx(ctx));
    switch (a.kind) {
      case "require":
        return;
      case "note":
        return this.onceFor(ctx, a, async () => this.emit({ type: "note", stepId: step.id, text: a.text }));
      case "confirm":
        return this.onceFor(ctx, a, () => this.confirm(a.question, step));
      case "manual":
        return this.onceFor(ctx, a, () => this.manual(a.text, step));
      case "run":
        return this.runCommand(a.command, a.as, ctx, a.into);
      case "edit":
        return this.edit(a, ctx);
      case "upload": {
        if (a.template) return this.uploadTemplate(a, ctx);
        const from = resolvePath(this.cwd, a.from);
        if (this.dry) {
          const { existsSync } = await import("node:fs");
          if (!existsSync(from)) {
            const by = this.state.lastChange([DryRunState.hostKey(undefined)], step.id);
            if (!by) throw new StepFailure(`cannot upload ${a.from}: no such file`);
            this.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would upload ${a.from} to ${a.to} (${a.from} does not exist yet: unknown until step ${by} runs)` });
            this.tally.pend({ stepId: step.id, what: `upload ${a.from}`, why: `${a.from} does not exist yet: unknown until step ${by} runs` });
            return;
          }
          await ctx.driver.upload(from, a.to);
          this.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would upload ${a.from} to ${a.to}` });
          return;
        }
        this.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `upload ${a.from} to ${a.to}` });
        await ctx.driver.upload(from, a.to);
        return;
      }
      case "download": {
        const to = resolvePath(this.cwd, a.to);
        if (this.dry) {
          const st = await ctx.driver.stat(a.from);
          if (!st) {
            const by = this.state.lastChange([DryRunState.hostKey(step.host)], step.id);
            if (!by) throw new StepFailure(`cannot download ${a.from}: no such file on ${ctx.hostLabel ?? "this machine"}`);
            this.emit({ type: "action", stepId: step.id, ...host, kind: "download", description: `would download ${a.from} to ${a.to} (unknown until step ${by} runs)` });
            this.tally.pend({ stepId: step.id, what: `download ${a.from}`, why: `${a.from} does not exist yet: unknown until step ${by} runs` });
            return;
          }
          this.tally.check();
          this.emit({ type: "action", stepId: step.id, ...host, kind: "download", description: `would download ${a.from} to ${a.to}` });
          return;
        }
        this.emit({ type: "action", stepId: step.id, ...host, kind: "download", description: `download ${a.from} to ${a.to}` });
        const { mkdir } = await import("node:fs/promises");
        const { dirname } = await import("node:path");
        await mkdir(dirname(to), { recursive: true });
        await ctx.driver.download(a.from, to);
        return;
      }
      case "wait":
        return this.wait(a, ctx);
      case "sql":
        return this.sql(a, ctx);
      case "export":
      case "import":
      case "sync":
        return this.onceFor(ctx, a, () => this.dataAction(a, ctx));
    }
  }

  /** Runs fn once per step attempt for all the members of a group (the others wait for it). */
  private onceFor(ctx: BodyCtx, a: Action, fn: () => Promise<void>): Promise<void> {
    const key = `${a.span.offset}:${a.kind}`;
    let p = ctx.once.get(key);
    if (!p) {
      p = fn();
      ctx.once.set(key, p);
    }
    return p;
  }

  private async confirm(question: string, step: PlannedStep): Promise<void> {
    if (this.dry) {
      this.emit({ type: "confirm", stepId: step.id, question, answer: "unanswered", by: "dry-run", dryRun: true });
      return;
    }
    const answer = await this.ask(this.o.interaction.confirm(question, { plan: this.plan, step }));
    if (answer === "unanswerable") {
      this.emit({ type: "confirm", stepId: step.id, question, answer: "unanswered", by: "nobody" });
      throw new RunAborted(
        `step ${step.id} ('${step.title}') asks "${question}", and nobody can answer it here (no terminal); pass ${this.flagFor(step)} to answer it`,
        true,
      );
    }
    this.emit({ type: "confirm", stepId: step.id, question, answer: answer ? "yes" : "no", by: this.by() });
    if (!answer) throw new RunAborted(`aborted at step ${step.id}: the answer to "${question}" was no`);
  }

  private async manual(text: string, step: PlannedStep): Promise<void> {
    if (this.dry) {
      this.emit({ type: "manual", stepId: step.id, text, answer: "unanswered", by: "dry-run" });
      return;
    }
    const answer = await this.ask(this.o.interaction.manual(text, this.ctx(step)));
    if (answer === "unanswerable") {
      this.emit({ type: "manual", stepId: step.id, text, answer: "unanswered", by: "nobody" });
      throw new RunAborted(
        `step ${step.id} ('${step.title}') is manual ("${text}"), and nobody can say here that it is done (no terminal); pass ${this.flagFor(step)} to mark it done`,
        true,
      );
    }
    this.emit({ type: "manual", stepId: step.id, text, answer, by: this.by() });
    if (answer === "abort") throw new RunAborted(`aborted by the operator at the manual step ${step.id}`);
  }

  private flagFor(step: PlannedStep): string {
    return this.plan.protected ? `--approve ${step.id} (the ${this.plan.env} env is protected: --yes does not answer it)` : `--yes (or --approve ${step.id})`;
  }

  private remaining(ctx: BodyCtx): number | undefined {
    if (ctx.deadline === undefined) return undefined;
    const left = ctx.deadline - Date.now();
    if (left <= 0) throw new StepFailure(`timed out after ${formatDuration(ctx.step.timeoutMs!)}`);
    return left;
  }

  private async runCommand(command: Text, asUser: string | undefined, ctx: BodyCtx, into?: Capture): Promise<void> {
    const { step } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    const shown = `$ ${showText(command)}${asUser ? `   (as ${asUser})` : ""}`;
    if (this.dry) {
      this.emit({ type: "action", stepId: step.id, ...host, kind: "run", description: `would run: ${shown}${into ? captureWords.wouldCapture(into) : ""}` });
      // Its secrets are read as the run would read them here: one that cannot be read fails the step, as it would.
      this.o.secrets.bind(command);
      return;
    }
    const { code, values } = this.o.secrets.bind(command);
    this.emit({ type: "action", stepId: step.id, ...host, kind: "run", description: shown });
    const out = this.redaction.stream();
    const err = this.redaction.stream();
    const emitOut = (stream: "stdout" | "stderr", chunk: string) => {
      // What a command captures into a secret is the secret: none of its stdout is shown.
      if (chunk && !(stream === "stdout" && into?.secret)) this.emit({ type: "output", stepId: step.id, ...host, stream, text: chunk });
    };
    const timeoutMs = this.remaining(ctx);
    const watch = this.watchCommand(ctx);
    let stdout = "";
    const onStdout = (c: string) => {
      if (into) stdout += c;
      emitOut("stdout", out.push(c));
    };
    const onStderr = (c: string) => emitOut("stderr", err.push(c));
    const sup = this.supervision.next(step.id, ctx.driver, ctx.hostLabel, asUser, ctx.driver.local === true);
    // Resume: an earlier attempt that ran to its end is not run again, one still running is followed.
    const earlier = sup && (await this.supervision.earlier(step.id, ctx.hostLabel, sup, { onStdout, onStderr, signal: ctx.signal }));
    // Its end is seen now: the journal's record of the earlier attempt's command goes.
    if (earlier && !earlier.aborted) watch.endedEarlier();
    const res =
      earlier ||
      (await this.supervision.exec(ctx.driver, code, sup, {
        values,
        onStdout,
        onStderr,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        signal: ctx.signal,
        ...(asUser ? { asUser } : {}),
        onStarted: watch.started,
      }));
    await testPauseAfterChange();
    watch.ended();
    emitOut("stdout", out.end());
    emitOut("stderr", err.end());
    if (res.aborted) throw new Interrupted();
    if (res.timedOut) throw new StepFailure(`timed out after ${formatDuration(step.timeoutMs ?? timeoutMs ?? 0)}: the command was ended`, res.exitCode, res.signal);
    if (res.exitCode !== 0) {
      if (res.exitCode === null) throw new StepFailure(`the command was killed by ${res.signal ?? "a signal"}`, null, res.signal);
      throw new StepFailure(`the command exited with status ${res.exitCode}`, res.exitCode, res.signal);
    }
    if (into) this.capture(into, capturedOutput(stdout), ctx);
  }

  /** Keeps a captured value for later steps and says so (a secret one: its name only; the journal keeps plain ones). */
  private capture(into: Capture, value: string, ctx: BodyCtx): void {
    this.captured.set(into.name, value, into.secret);
    if (into.secret) this.o.secrets.capture(into.name, value);
    this.emit({ type: "captured", stepId: ctx.step.id, ...(ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {}), name: into.name, secret: into.secret, ...(into.secret ? {} : { value }) });
  }

  /** The late values of an action on one host: that member's host values and what was captured so far. */
  private lateCtx(ctx: BodyCtx): LateContext {
    const h = ctx.step.host === undefined ? undefined : this.plan.hosts[ctx.step.host];
    const target = h === undefined || h.local ? undefined : h.group ? ctx.hostLabel : h.targets[0];
    const own = h?.group && target !== undefined ? h.values?.[h.targets.indexOf(target)] : undefined;
    return { host: { ...own, ...hostValues(target) }, captured: this.captured };
  }

  /**
   * A step's command in the journal: command-started with what finds it again (its
   * process group, its exec id on a host) and command-ended once the driver saw it
   * end. A command whose end was not seen (the runbook process died, the host was
   * lost) stays in the journal, and resume looks for it before going on.
   */
  private watchCommand(ctx: BodyCtx): { started: (c: Omit<CommandRef, "host" | "target">) => void; ended: () => void; endedEarlier: () => void } {
    const step = ctx.step;
    const group = step.host !== undefined && this.plan.hosts[step.host]?.group === true;
    const where = { host: step.host ?? null, target: group ? (ctx.hostLabel ?? null) : null };
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    let announced = false;
    return {
      started: (c) => {
        announced = true;
        this.emit({ type: "command-started", stepId: step.id, ...host, command: { ...where, ...c } });
      },
      ended: () => {
        if (announced) this.emit({ type: "command-ended", stepId: step.id, ...host, command: where });
      },
      endedEarlier: () => this.emit({ type: "command-ended", stepId: step.id, ...host, command: where }),
    };
  }

  private async edit(a: Extract<Action, { kind: "edit" }>, ctx: BodyCtx): Promise<void> {
    const { step, driver } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    const where = ctx.hostLabel ?? "this machine";
    const unknownBy = () => (this.dry ? this.state.lastChange([DryRunState.hostKey(step.host)], step.id) : undefined);
    if (this.dry && !this.probe) {
      this.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `would ${describeAction(a)} (file not read: --no-probe)` });
      this.tally.notVerify({ stepId: step.id, what: `edit ${a.path}`, why: "the file was not read (--no-probe)" });
      return;
    }
    let st: Awaited<ReturnType<typeof driver.stat>>;
    try {
      st = await driver.stat(a.path);
    } catch (err) {
      if (!this.dry) throw err;
      const reason = this.redact(err instanceof Error ? err.message : String(err));
      this.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `would ${describeAction(a)}: diff unknown (cannot read the file: ${reason})` });
      this.tally.notVerify({ stepId: step.id, what: `edit ${a.path}`, why: `cannot read the file: ${reason}` });
      return;
    }
    if (!st || st.isDirectory) {
      const by = unknownBy();
      if (by && !st) {
        this.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `edit ${a.path}: the file does not exist yet: unknown until step ${by} runs` });
        this.tally.pend({ stepId: step.id, what: `edit ${a.path}`, why: `the file does not exist yet: unknown until step ${by} runs` });
        return;
      }
      throw new StepFailure(`cannot edit ${a.path} on ${where}: ${st ? "it is a directory" : "no such file"}`);
    }
    const original = await driver.readFile(a.path);
    // Exactly once across a crash: the marker written before the rename says what the file holds once edited.
    const marker = this.dry ? undefined : this.supervision.editMarker(step.id, ctx.hostLabel);
    if (marker && (await this.supervision.editApplied(step.id, marker, original))) {
      this.emit({ type: "note", stepId: step.id, ...host, text: editAppliedText(a.path) });
      return;
    }
    const before = original.toString("utf8");
    const replaces = a.replaces.map((r) => ({ old: this.o.secrets.materialize(r.old), new: this.o.secrets.materialize(r.new), all: r.all }));
    const { after, outcomes } = applyReplaces(before, replaces);
    for (const [i, o] of outcomes.entries()) {
      const shownOld = JSON.stringify(showText(a.replaces[i]!.old));
      if (o.kind === "replaced") continue;
      if (o.kind === "already-applied") {
        this.emit({ type: "note", stepId: step.id, text: editWords.alreadyApplied(a.path, JSON.stringify(showText(a.replaces[i]!.new)), ctx.hostLabel) });
        continue;
      }
      if (o.kind === "empty") throw new StepFailure(`cannot edit ${a.path}: replace "" (an empty text) matches everywhere`);
      const problem = o.kind === "missing" ? editWords.missing(shownOld, a.path) : `${shownOld} is in ${a.path} ${o.count} times (use \`replace all\` to change every one)`;
      const by = unknownBy();
      if (by) {
        this.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `edit ${a.path}: ${problem} now: unknown until step ${by} runs` });
        this.tally.pend({ stepId: step.id, what: `edit ${a.path}`, why: `${problem} now: unknown until step ${by} runs` });
        return;
      }
      throw new StepFailure(`cannot edit ${a.path} on ${where}: ${problem}${o.kind === "missing" ? "" : "; each replace must match exactly once"}`);
    }
    const diff = this.fileDiff(a.path, before, after);
    const written = Buffer.from(after, "utf8");
    if (this.dry) this.tally.check();
    // Every replacement already applied: nothing to show, write or restore.
    if (after === before && outcomes.every((o) => o.kind === "already-applied")) return;
    this.emit({ type: "diff", stepId: step.id, ...host, path: a.path, diff });
    if (marker && after !== before) await this.supervision.markEdit(marker, written);
    if (after !== before) await driver.writeFile(a.path, written);
    if (!this.dry) await testPauseAfterChange();
    // Recorded once written: a write that failed left the file as it was, with nothing to restore.
    if (!this.dry) ctx.edits.push({ host: driver, ...(ctx.hostLabel !== undefined ? { hostLabel: ctx.hostLabel } : {}), path: a.path, original, written });
  }

  /** A unified diff of a file's text, as edits and templated uploads show it. */
  private fileDiff(path: string, before: string, after: string): string {
    return createTwoFilesPatch(path, path, before, after, this.dry ? "now" : "before", this.dry ? "after this step" : "after", { context: 3 })
      .split("\n")
      .filter((l, i) => !(i < 2 && (l.startsWith("Index: ") || /^=+$/.test(l))))
      .join("\n");
  }

  /** `upload template`: fills the local file's `${…}`, shows the diff against the file there now, writes it; undone by putting the old file back. */
  private async uploadTemplate(a: Extract<Action, { kind: "upload" }>, ctx: BodyCtx): Promise<void> {
    const { step, driver } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    const what = `upload template ${a.from}`;
    const { readFile, stat } = await import("node:fs/promises");
    const from = resolvePath(this.cwd, a.from);
    let source: string;
    let mode: number;
    try {
      source = await readFile(from, "utf8");
      mode = (await stat(from)).mode & 0o777;
    } catch {
      const by = this.dry ? this.state.lastChange([DryRunState.hostKey(undefined)], step.id) : undefined;
      if (!by) throw new StepFailure(templateWords.noSource(a.from));
      this.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would ${describeAction(a)} (${templateWords.notYet(a.from, by)})` });
      this.tally.pend({ stepId: step.id, what, why: templateWords.notYet(a.from, by) });
      return;
    }
    let content: string;
    const pending: string[] = [];
    try {
      const lookup = templateLookup(this.plan, this.o.runId, this.lateCtx(ctx), this.dry ? (why) => pending.push(why) : undefined);
      content = this.o.secrets.materialize(renderTemplate(source, a.from, lookup));
    } catch (e) {
      if (e instanceof TemplateError) throw new StepFailure(e.message);
      if (!(this.dry && e instanceof SecretError)) throw e;
      const why = this.redact(e.message);
      this.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would ${describeAction(a)}: diff unknown (${why})` });
      this.tally.notVerify({ stepId: step.id, what, why });
      return;
    }
    const st = await driver.stat(a.to);
    if (st?.isDirectory) throw new StepFailure(templateWords.isDirectory(a.to, ctx.hostLabel ?? "this machine"));
    const original = st ? await driver.readFile(a.to) : null;
    const written = Buffer.from(content, "utf8");
    if (this.dry && pending.length > 0) this.tally.pend({ stepId: step.id, what, why: this.redact(pending.join("; ")) });
    else if (this.dry) this.tally.check();
    if (original?.equals(written)) {
      this.emit({ type: "note", stepId: step.id, text: templateWords.same(a.to, ctx.hostLabel) });
      return;
    }
    this.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `${this.dry ? "would " : ""}${describeAction(a)}` });
    this.emit({ type: "diff", stepId: step.id, ...host, path: a.to, diff: this.fileDiff(a.to, original?.toString("utf8") ?? "", content) });
    await driver.writeFile(a.to, written, original ? undefined : { mode });
    if (!this.dry) ctx.edits.push({ host: driver, ...(ctx.hostLabel !== undefined ? { hostLabel: ctx.hostLabel } : {}), path: a.to, original, written });
  }

  /** Removes a file a templated upload made (a rollback): its path is a value, never code. */
  private async removeFile(host: HostDriver, path: string): Promise<void> {
    const res = await host.exec(`rm -f -- "\${${shellValueName(0)}}"`, { values: [path], signal: this.signal });
    if (res.exitCode !== 0) throw new StepFailure(templateWords.notRemoved(path, res.exitCode));
  }

  private async wait(a: Extract<Action, { kind: "wait" }>, ctx: BodyCtx): Promise<void> {
    const { step } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    const limit = a.timeoutMs !== undefined ? ` (at most ${formatDuration(a.timeoutMs)})` : "";
    if (this.dry) {
      const r = await this.evalCondFor(a.cond, step, ctx.driver, ctx.hostLabel, true);
      this.tallyCond(step, `wait until ${a.source}`, r);
      const now = r.value === "unknown" ? `unknown now (${r.reason})` : r.value ? "it holds now" : "it does not hold now";
      this.emit({ type: "action", stepId: step.id, ...host, kind: "wait", description: `would wait until ${a.source}, checking every ${formatDuration(a.everyMs)}${limit}: ${now}` });
      return;
    }
    this.emit({ type: "action", stepId: step.id, ...host, kind: "wait", description: `waiting until ${a.source}, checking every ${formatDuration(a.everyMs)}${limit}` });
    // Checked at once, then every `everyMs`; with a timeout, checked one last time when
    // it runs out, so a condition that comes true in the last interval is still seen.
    const giveUpAt = a.timeoutMs !== undefined ? Date.now() + a.timeoutMs : undefined;
    for (;;) {
      const r = await this.evalCondFor(a.cond, step, ctx.driver, ctx.hostLabel, true);
      if (r.value === true) return;
      const now = Date.now();
      if (giveUpAt !== undefined && now >= giveUpAt) {
        throw new StepFailure(`${a.source} still did not hold after ${formatDuration(a.timeoutMs!)}`);
      }
      let pause = a.everyMs;
      if (giveUpAt !== undefined) pause = Math.min(pause, giveUpAt - now);
      const left = this.remaining(ctx);
      if (left !== undefined) pause = Math.min(pause, left);
      try {
        await sleep(pause, ctx.signal);
      } catch {
        throw new Interrupted();
      }
      this.remaining(ctx);
    }
  }

  private async sql(a: Extract<Action, { kind: "sql" }>, ctx: BodyCtx): Promise<void> {
    const { step } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    const shown = showText(a.sql).trim();
    if (this.dry) {
      const lines = await this.describeSql(await this.dryDb(a.db), a.sql);
      this.emit({ type: "action", stepId: step.id, ...host, kind: "sql", description: `would run on ${a.db}:\n${lines}${a.into ? captureWords.wouldCapture(a.into) : ""}` });
      return;
    }
    const db = await this.db(a.db);
    if (a.into) {
      // A read-only query (the checker saw to it): its first value is the captured one.
      this.emit({ type: "action", stepId: step.id, ...host, kind: "sql", description: `sql ${a.db}: ${shown}` });
      const q = this.o.secrets.bind(a.sql);
      const rows = await db.probe(q.code, q.values);
      const v = rows[0] === undefined ? undefined : Object.values(rows[0])[0];
      if (v === null || v === undefined) throw new StepFailure(captureWords.nothingToCapture(a.into, rows[0] === undefined ? "no row" : "NULL"));
      this.capture(a.into, Buffer.isBuffer(v) ? v.toString("utf8") : v instanceof Date ? v.toISOString() : String(v), ctx);
      return;
    }
    this.emit({ type: "action", stepId: step.id, ...host, kind: "sql", description: `sql ${a.db}: ${shown}` });
    const { code, values } = this.o.secrets.bind(a.sql);
    const statements = statementsWithParams(code, values, db.engine);
    let affected: number[];
    try {
      affected = (await db.runStatements(statements.map((st) => ({ sql: st.text, params: st.params })))).affectedRows;
    } catch (e) {
      if (!(e instanceof StatementError)) throw e;
      const stays = e.applied.map((i) => `statement ${i + 1} of ${statements.length} of the sql (${oneLine(statements[i]!.text)}) stays applied`);
      throw new StepFailure(this.statementFailure(a, code, statements, e), null, null, stays.map((x) => this.redact(x)));
    }
    const n = affected.reduce((x, y) => x + y, 0);
    this.emit({ type: "output", stepId: step.id, ...host, stream: "stdout", text: `${n} row${n === 1 ? "" : "s"} changed\n` });
  }

  /**
   * Which statement of a `sql` failed (its place in the runbook, how it begins) and
   * what of the others stays: rolled back, or committed by the engine itself.
   */
  private statementFailure(a: Extract<Action, { kind: "sql" }>, code: string, statements: StatementWithParams[], e: StatementError): string {
    const st = statements[e.index];
    const n = statements.length;
    if (!st) return this.redact(e.message);
    const line = a.line + (code.slice(0, st.start).match(/\n/g)?.length ?? 0);
    const head = (s: StatementWithParams) => oneLine(s.text);
    const which = n === 1 ? `the statement (${a.span.file}:${line})` : `statement ${e.index + 1} of ${n} (${a.span.file}:${line}, ${head(st)})`;
    let rest = "";
    if (n > 1 || e.applied.length > 0) {
      rest =
        e.applied.length === 0
          ? e.index === 0
            ? "; nothing of this sql was applied"
            : `; ${e.index === 1 ? "statement 1 was" : `statements 1–${e.index} were`} rolled back: nothing of this sql stays applied`
          : `; ${e.applied.map((i) => `statement ${i + 1} of ${n} (${head(statements[i]!)})`).join(", ")} ${e.applied.length === 1 ? "stays" : "stay"} applied: MySQL commits DDL at once, with what came before it`;
    }
    return this.redact(`${which} failed: ${e.message}${rest}`);
  }

  /**
   * A database for a dry run's row counts, or why it cannot be opened now (a secret not
   * set, a host not reachable, an SQLite file the run would create): the counts are then
   * unknown, never a failure.
   */
  private async dryDb(name: string): Promise<{ db: DatabaseDriver } | { why: string }> {
    try {
      return { db: await this.db(name) };
    } catch (err) {
      return { why: `cannot open ${name}: ${this.redact(err instanceof Error ? err.message : String(err))}` };
    }
  }

  /** The dry-run view of SQL: each statement and the rows it would touch, where a read-only count can tell. */
  private async describeSql(target: { db: DatabaseDriver } | { why: string }, sql: Text): Promise<string> {
    const shown = showText(sql);
    const engine = "db" in target ? target.db.engine : "sqlite";
    let real: StatementWithParams[] | undefined;
    try {
      const { code, values } = this.o.secrets.bind(sql);
      real = statementsWithParams(code, values, engine);
    } catch {
      real = undefined;
    }
    const described = data.describeSql(shown, engine);
    const lines = [`  ${described.summary}`];
    for (const [i, st] of described.statements.entries()) {
      let rows = "";
      const r = real?.[i];
      if (r && "why" in target) {
        if (countQuery(r.text, "sqlite")) rows = `   -- rows unknown (${target.why})`;
      } else if (r && "db" in target) {
        const db = target.db;
        const count = countQuery(r.text, db.engine);
        if (count) {
          try {
            // The count's `?` are the statement's last ones: its WHERE is the statement's end.
            const k = lexSql(count.sql, db.engine).filter((t) => t.kind === "param").length;
            const res = await db.probe(count.sql, k === 0 ? [] : r.params.slice(-k));
            const n = Object.values(res[0] ?? {})[0];
            rows = `   -- ${count.prefix}${String(n)} row${String(n) === "1" ? "" : "s"}`;
          } catch (e) {
            rows = `   -- rows unknown (${this.redact(e instanceof Error ? e.message : String(e))})`;
          }
        }
      }
      const atOnce = st.commitsAtOnce && described.statements.length > 1 ? `   -- commits at once (${engine} cannot roll it back)` : "";
      lines.push(`  ${st.text.replace(/\n/g, "\n  ")};${rows}${atOnce}`);
    }
    return lines.join("\n");
  }

  private async dataAction(a: Extract<Action, { kind: "export" | "import" | "sync" }>, ctx: BodyCtx): Promise<void> {
    const { step } = ctx;
    const host = ctx.hostLabel !== undefined ? { host: ctx.hostLabel } : {};
    const emitAction = (description: string) => this.emit({ type: "action", stepId: step.id, ...host, kind: a.kind, description });
    const onProgress = (p: DataProgress) => this.emit({ type: "progress", stepId: step.id, ...host, ...p });
    const progress = (message: string) => this.emit({ type: "output", stepId: step.id, ...host, stream: "stdout", text: message.endsWith("\n") ? message : `${message}\n` });
    if (a.kind === "export") {
      if (this.dry) {
        const counts = await this.dryCounts(a.db, a.tables);
        emitAction(`would export ${a.db}${a.tables ? ` tables [${a.tables.join(", ")}]` : ""} to ${a.to} (format ${a.format}): ${counts}`);
        return;
      }
      const db = await this.db(a.db);
      const to = resolvePath(this.cwd, a.to);
      emitAction(describeAction(a));
      const r = await data.exportTables(db, a.tables, to, a.format, { runId: this.o.runId, onProgress });
      progress(`exported ${tableCounts(r.tables)} to ${a.to}`);
      return;
    }
    if (a.kind === "import") {
      const from = resolvePath(this.cwd, a.from);
      const { existsSync } = await import("node:fs");
      if (this.dry) {
        if (!existsSync(from)) {
          const by = this.state.lastChange([DryRunState.hostKey(undefined)], step.id);
          if (!by) throw new StepFailure(`cannot import ${a.from}: no such file`);
          emitAction(`would import ${a.from} into ${a.db} (the file does not exist yet: unknown until step ${by} runs)`);
          this.tally.pend({ stepId: step.id, what: `import ${a.from}`, why: `the file does not exist yet: unknown until step ${by} runs` });
          return;
        }
        emitAction(`would import ${a.from} into ${a.db}`);
        return;
      }
      emitAction(describeAction(a));
      const db = await this.db(a.db);
      const r = await data.importFile(db, from, { onProgress });
      progress(`imported ${tableCounts(r.tables)} into ${a.db}`);
      return;
    }
    // sync
    if (this.plan.protected) throw new StepFailure(`refusing to sync into ${a.db}: the ${this.plan.env} env is protected`);
    if (this.dry) {
      const counts = await this.dryCounts(`${a.fromEnv}.${a.fromDb}`, a.tables);
      emitAction(`would replace the data of ${a.db}${a.tables ? ` tables [${a.tables.join(", ")}]` : ""} with ${a.fromEnv}.${a.fromDb}'s: ${counts}`);
      return;
    }
    const source = await this.db(`${a.fromEnv}.${a.fromDb}`);
    const target = await this.db(a.db);
    emitAction(describeAction(a));
    const r = await data.syncTables(source, target, a.tables, { onProgress });
    progress(`copied ${tableCounts(r.tables)} from ${a.fromEnv}.${a.fromDb}${r.skipped.length ? ` (left alone, not in both: ${r.skipped.join(", ")})` : ""}`);
  }

  /** Row counts for a dry run; a database that cannot be reached (or --no-probe) leaves them unknown instead of failing. */
  private async dryCounts(name: string, tables: string[] | undefined): Promise<string> {
    if (!this.probe) return "row counts not read (--no-probe)";
    const target = await this.dryDb(name);
    return "why" in target ? `row counts unknown (${target.why})` : this.tableCounts(target.db, tables);
  }

  private async tableCounts(db: DatabaseDriver, tables: string[] | undefined): Promise<string> {
    try {
      const names = tables ?? (await db.tables());
      const parts: string[] = [];
      for (const t of names) {
        const q = db.engine === "mysql" ? `\`${t.replace(/`/g, "``")}\`` : `"${t.replace(/"/g, '""')}"`;
        const rows = await db.query(`SELECT COUNT(*) AS n FROM ${q}`);
        parts.push(`${t} (${String(Object.values(rows[0] ?? {})[0] ?? "?")} rows)`);
      }
      return parts.length ? parts.join(", ") : "no tables";
    } catch (e) {
      return `row counts unknown (${this.redact(e instanceof Error ? e.message : String(e))})`;
    }
  }

  // ---------------------------------------------------------------- conditions and probes

  /**
   * Evaluates a condition where a step runs. `hoped` is the value that lets the step
   * go on; in a dry run, a result against it that depends on a host or database an
   * earlier step would have changed is reported as unknown.
   */
  private async evalCondFor(cond: PlanCond, step: PlannedStep, driver: HostDriver, hostLabel: string | undefined, hoped: boolean): Promise<CondResult> {
    const r: CondResult = { value: false, targets: new Set() };
    if (this.dry && !this.probe) {
      // Probes are not run (operand() says unknown), but what the source decides still counts.
      r.value = await this.evalCond(cond, step, driver, r);
      if (r.value === "unknown") r.reason = `not evaluated (--no-probe): ${describeCond(cond)}`;
      return r;
    }
    try {
      r.value = await this.evalCond(cond, step, driver, r);
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      if (!this.dry) throw e;
      r.value = "unknown";
      r.reason = `cannot be evaluated: ${this.redact(e instanceof Error ? e.message : String(e))}`;
      return r;
    }
    if (this.dry && r.value !== "unknown" && r.value !== hoped) {
      const by = this.state.lastChange(r.targets, step.id);
      if (by) {
        r.value = "unknown";
        r.reason = `unknown until step ${by} runs`;
        r.pendingOn = by;
      }
    }
    void hostLabel;
    return r;
  }

  private async evalCond(c: PlanCond, step: PlannedStep, driver: HostDriver, r: CondResult): Promise<Tri> {
    switch (c.kind) {
      case "and": {
        const l = await this.evalCond(c.left, step, driver, r);
        if (l === false) return false;
        const rr = await this.evalCond(c.right, step, driver, r);
        if (rr === false) return false;
        return l === true && rr === true ? true : "unknown";
      }
      case "or": {
        const l = await this.evalCond(c.left, step, driver, r);
        if (l === true) return true;
        const rr = await this.evalCond(c.right, step, driver, r);
        if (rr === true) return true;
        return l === false && rr === false ? false : "unknown";
      }
      case "not": {
        const v = await this.evalCond(c.operand, step, driver, r);
        return v === "unknown" ? v : !v;
      }
      case "value": {
        const v = await this.operand(c.value, step, driver, r);
        if (v === "unknown") return v;
        if (v.bool !== undefined) return v.bool;
        if (v.absent !== undefined) return false;
        if (v.list) return v.list.length > 0;
        return truthy(v.text);
      }
      case "compare": {
        const l = await this.operand(c.left, step, driver, r);
        const rv = await this.operand(c.right, step, driver, r);
        if (l === "unknown" || rv === "unknown") return "unknown";
        return compare(c.op, l, rv);
      }
    }
  }

  private async operand(o: PlanOperand, step: PlannedStep, driver: HostDriver, r: CondResult): Promise<Val | "unknown"> {
    if (o.kind === "literal") return literalVal(o.value);
    if (o.kind === "text") {
      // A secret in a condition: read at the last moment, never shown.
      const text = this.materializeProbe(o.text, r);
      return text === undefined ? "unknown" : { text };
    }
    if (this.dry && !this.probe) return "unknown";
    if (o.kind === "query") {
      r.targets.add(DryRunState.dbKey(o.db));
      const sql = this.bindProbe(o.sql, r);
      if (sql === undefined) return "unknown";
      const db = await this.db(o.db);
      const rows = await db.probe(sql.code, sql.values);
      const first = rows[0];
      if (first === undefined) return { text: "", absent: "no-row" };
      const v = Object.values(first)[0];
      if (v === null || v === undefined) return { text: "", absent: "null" };
      return { text: Buffer.isBuffer(v) ? v.toString("utf8") : v instanceof Date ? v.toISOString() : String(v) };
    }
    const hostName = o.host;
    r.targets.add(DryRunState.hostKey(hostName));
    const target = hostName === step.host ? driver : (await this.driversFor(hostName))[0]!;
    if (o.kind === "exists") {
      const path = this.materializeProbe(o.path, r);
      if (path === undefined) return "unknown";
      const st = await target.stat(path);
      return { text: st ? "true" : "false", bool: st !== null };
    }
    const command = this.bindProbe(o.command, r);
    if (command === undefined) return "unknown";
    let stdout = "";
    const res = await target.exec(command.code, {
      values: command.values,
      onStdout: (c) => {
        stdout += c;
      },
      signal: this.signal,
      timeoutMs: 5 * 60_000,
    });
    if (res.aborted) throw new Interrupted();
    if (o.kind === "succeeds") {
      const ok = res.exitCode === 0;
      return { text: ok ? "true" : "false", bool: ok };
    }
    return { text: stdout.trim() };
  }

  private materializeProbe(text: Text, r: CondResult): string | undefined {
    return this.secretsFor(r, () => this.o.secrets.materialize(text));
  }

  private bindProbe(text: Text, r: CondResult): { code: string; values: string[] } | undefined {
    return this.secretsFor(r, () => this.o.secrets.bind(text));
  }

  /** What fn makes of a probe's text; in a dry run, undefined (and why, in r) when a secret cannot be read. */
  private secretsFor<T>(r: CondResult, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!this.dry) throw e;
      r.reason = this.redact(e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }

  // ---------------------------------------------------------------- rollback

  /** Runs the undo of the done steps in reverse order; says truly what it undid and what stays. */
  private async rollback(failed: PlannedStep): Promise<string> {
    const candidates = [...this.done].reverse();
    const withUndo = candidates.filter((s) => s.undo.length > 0 || (this.edits.get(s.id)?.length ?? 0) > 0 || (this.o.completed?.has(s.id) && s.actions.some((a) => a.kind === "edit")));
    const failedEdits = this.edits.get(failed.id) ?? [];
    const list = [...(failedEdits.length > 0 ? [failed] : []), ...withUndo];
    this.emit({ type: "rollback-started", steps: list.map((s) => s.id) });
    const signal = this.signal;
    this.signal = NEVER; // a rollback is not cut short by the Ctrl-C that may have led to it
    const undone: string[] = [];
    const notUndone: string[] = [];
    for (const s of list) {
      await this.checkJournal(s, false);
      try {
        await this.undoStep(s, s === failed);
        this.emit({ type: "rollback-step", stepId: s.id, status: "ok" });
        if (s !== failed) undone.push(s.id);
        if (s !== failed && !this.dry) {
          this.emit({ type: "step-finished", stepId: s.id, ...hostOf(s), status: "rolled-back", reason: "rolled back", durationMs: 0, attempt: 1 });
        }
      } catch (e) {
        const error = this.errorText(e, s, s.host);
        this.emit({ type: "rollback-step", stepId: s.id, status: "failed", error });
        notUndone.push(`${s.id} (its undo failed: ${error})`);
      }
    }
    this.signal = signal;
    // What stays: the failed step's partial work (its own undo is not run), and done steps with no undo.
    const left = this.partial.get(failed.id);
    if (left) notUndone.unshift(`${failed.id} (failed part-way: ${left.join("; ")})`);
    const nothing = candidates.filter((s) => !withUndo.includes(s) && s.mutating).map((s) => `${s.id} (it has no undo: what it changed stays)`);
    const parts = [
      undone.length > 0 ? `undone: ${undone.join(", ")}` : "",
      notUndone.length > 0 ? `not undone: ${notUndone.join("; ")}` : "",
      nothing.length > 0 ? `nothing to undo: ${nothing.join("; ")}` : "",
    ].filter((x) => x);
    const complete = notUndone.length === 0 && nothing.length === 0;
    this.emit({ type: "note", stepId: failed.id, text: `rollback ${complete ? "complete" : "incomplete"}: ${parts.length > 0 ? parts.join("; ") : "nothing had changed"}` });
    return complete ? "rolled back" : `rollback incomplete: ${parts.filter((p) => !p.startsWith("undone")).join("; ")}`;
  }

  private async undoStep(step: PlannedStep, editsOnly: boolean): Promise<void> {
    const drivers = await this.driversFor(step.host);
    const group = step.host !== undefined && this.plan.hosts[step.host]?.group === true;
    if (!editsOnly) {
      for (const [i, driver] of drivers.entries()) {
        const hostLabel = group ? this.plan.hosts[step.host!]!.targets[i] : step.host;
        const ctx: BodyCtx = { step, driver, ...(hostLabel !== undefined ? { hostLabel } : {}), attempt: 1, signal: this.signal, once: new Map(), edits: [] };
        for (const a of step.undo) {
          if (a.kind === "require") continue;
          await this.action(a, ctx);
        }
      }
    }
    const edits = this.edits.get(step.id);
    if (edits && edits.length > 0) {
      for (const e of [...edits].reverse()) {
        if (this.dry) {
          this.emit({ type: "action", stepId: step.id, ...(e.hostLabel ? { host: e.hostLabel } : {}), kind: "edit", description: `would restore ${e.path}` });
          continue;
        }
        const now = await e.host.readFile(e.path).catch(() => undefined);
        if (now && !now.equals(e.written)) {
          this.emit({ type: "note", stepId: step.id, text: `${e.path} changed after this step edited it; restoring it as it was before the step anyway` });
        }
        if (e.original === null) {
          await this.removeFile(e.host, e.path);
          this.emit({ type: "action", stepId: step.id, ...(e.hostLabel ? { host: e.hostLabel } : {}), kind: "upload", description: templateWords.removed(e.path) });
          continue;
        }
        await e.host.writeFile(e.path, e.original);
        this.emit({ type: "action", stepId: step.id, ...(e.hostLabel ? { host: e.hostLabel } : {}), kind: "edit", description: `restored ${e.path}` });
      }
    } else if (this.o.completed?.has(step.id)) {
      // Edited in the run being resumed: its original is gone with that process; undo each replace.
      for (const [i, driver] of drivers.entries()) {
        const hostLabel = group ? this.plan.hosts[step.host!]!.targets[i] : step.host;
        for (const a of [...step.actions].reverse()) {
          if (a.kind !== "edit") continue;
          const reversed: Extract<Action, { kind: "edit" }> = { ...a, replaces: [...a.replaces].reverse().map((r) => ({ old: r.new, new: r.old, all: r.all })) };
          const ctx: BodyCtx = { step, driver, ...(hostLabel !== undefined ? { hostLabel } : {}), attempt: 1, signal: this.signal, once: new Map(), edits: [] };
          await this.edit(reversed, ctx);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- helpers

/** Whether an action of this kind changes something on a host or a database (a rollback must account for it). */
const CHANGES: { [K in Action["kind"]]: boolean } = {
  require: false,
  confirm: false,
  manual: false,
  run: true,
  edit: true,
  upload: true,
  download: true,
  sql: true,
  export: false,
  import: true,
  sync: true,
  wait: false,
  note: false,
};

/**
 * Whether a failed action of this kind may have changed something no one can name: a
 * command, or a copy, ends where it ends. (A failed sql, import or sync is rolled back
 * by its transaction, and says what stays; a failed edit wrote nothing.)
 */
const UNKNOWN_WHEN_FAILED: { [K in Action["kind"]]: boolean } = {
  require: false,
  confirm: false,
  manual: false,
  run: true,
  edit: false,
  upload: true,
  download: true,
  sql: false,
  export: false,
  import: false,
  sync: false,
  wait: false,
  note: false,
};

/** The first line of a text, cut at 60 characters: a statement or command named in a message. */
function oneLine(text: string): string {
  const line = text.trim().split("\n")[0]!;
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

function hostOf(step: PlannedStep): { host?: string } {
  return step.host !== undefined ? { host: step.host } : {};
}

/** Event fields that are structure, not text: never redacted (a secret equal to "ok" must not break the stream). */
const STRUCTURAL = new Set(["type", "runId", "time", "stepId", "status", "answer", "choice", "stream", "phase", "kind", "steps", "attempt", "verdict", "counts", "command"]);

/**
 * Event fields that carry messages (errors, reasons): a cut piece of a secret in
 * them is masked too. (Messages the executor puts in other fields, such as an
 * action's description, go through its redact() where they are made.)
 */
const MESSAGES = new Set(["error", "reason"]);

function redactEvent(event: RunEvent, redaction: Redaction): RunEvent {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    out[k] = STRUCTURAL.has(k) ? v : MESSAGES.has(k) ? redaction.redactMessageDeep(v) : redaction.redactDeep(v);
  }
  return out as unknown as RunEvent;
}

function tableCounts(tables: data.TableCount[]): string {
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const list = tables.map((t) => `${t.name} ${t.rows}`).join(", ");
  return `${tables.length} table${tables.length === 1 ? "" : "s"}, ${rows} row${rows === 1 ? "" : "s"}${tables.length ? ` (${list})` : ""}`;
}

/**
 * A read-only COUNT(*) of the rows an UPDATE / DELETE / TRUNCATE would touch, when
 * the statement is simple enough to tell (no LIMIT, no ORDER BY, no join).
 */
export function countQuery(statement: string, engine: "sqlite" | "mysql"): { sql: string; prefix: string } | undefined {
  const text = statement.trim().replace(/;\s*$/, "");
  const ident = String.raw`((?:\`[^\`]+\`|"[^"]+"|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)(?:\.(?:\`[^\`]+\`|"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))?)`;
  let m = new RegExp(String.raw`^DELETE\s+FROM\s+${ident}\s*(?:WHERE\s+([\s\S]+))?$`, "i").exec(text);
  if (m) {
    if (m[2] && /\b(LIMIT|ORDER\s+BY|RETURNING)\b/i.test(m[2])) return undefined;
    return { sql: `SELECT COUNT(*) FROM ${m[1]}${m[2] ? ` WHERE ${m[2]}` : ""}`, prefix: "deletes " };
  }
  m = new RegExp(String.raw`^TRUNCATE\s+(?:TABLE\s+)?${ident}$`, "i").exec(text);
  if (m) return { sql: `SELECT COUNT(*) FROM ${m[1]}`, prefix: "deletes " };
  m = new RegExp(String.raw`^UPDATE\s+${ident}\s+SET\s+[\s\S]+$`, "i").exec(text);
  if (m) {
    const where = lastTopLevelWhere(text, engine);
    const tail = where === undefined ? "" : text.slice(where + 5).trim();
    if (/\b(LIMIT|ORDER\s+BY|RETURNING|FROM)\b/i.test(tail)) return undefined;
    return { sql: `SELECT COUNT(*) FROM ${m[1]}${tail ? ` WHERE ${tail}` : ""}`, prefix: "changes " };
  }
  return undefined;
}

/** Index of the last WHERE keyword outside strings, comments and parentheses, if any (sql-lexer.ts). */
function lastTopLevelWhere(sql: string, engine: "sqlite" | "mysql"): number | undefined {
  let depth = 0;
  let found: number | undefined;
  for (const t of lexSql(sql, engine)) {
    const text = sql.slice(t.start, t.end);
    if (t.kind === "punct" && text === "(") depth++;
    else if (t.kind === "punct" && text === ")") depth--;
    else if (t.kind === "word" && depth === 0 && text.toUpperCase() === "WHERE") found = t.start;
  }
  return found;
}

function literalVal(v: PlanValue): Val {
  if (Array.isArray(v)) {
    const list = v.map((x) => literalVal(x).text);
    return { text: list.join(" "), list };
  }
  return { text: String(v) };
}

/**
 * A comparison. A `query` that found no row or a NULL is no text and no number:
 * it equals only the same absence (`==` with anything else is false, `!=` true),
 * has no order (`< <= > >=` are false) and holds nothing (`contains`, `matches`,
 * `in` are false). So `query … == ""` holds for an empty string alone, and
 * `query "select max(n) …" < 5` does not hold for a NULL.
 */
function compare(op: Extract<PlanCond, { kind: "compare" }>["op"], l: Val, r: Val): boolean {
  if (l.absent !== undefined || r.absent !== undefined) {
    switch (op) {
      case "==":
        return l.absent === r.absent;
      case "!=":
        return l.absent !== r.absent;
      case "<":
      case "<=":
      case ">":
      case ">=":
      case "contains":
      case "matches":
      case "in":
        return false;
      default:
        return assertNever(op, "comparison");
    }
  }
  const result = compareOperands(op, l, r);
  if (result === "probe") throw new StepFailure(`not a regular expression: ${r.text}`);
  return result;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Interrupted());
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Interrupted());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A test hook: with RUNBOOK_TEST_PAUSE_AFTER_CHANGE set to a file path, the runner
 * writes that file once a command has ended (or an edit is written) and then waits,
 * before the journal hears of it (tests kill it there).
 */
async function testPauseAfterChange(): Promise<void> {
  const file = process.env.RUNBOOK_TEST_PAUSE_AFTER_CHANGE;
  if (!file) return;
  const { writeFileSync } = await import("node:fs");
  writeFileSync(file, String(process.pid));
  await new Promise<void>(() => undefined);
}
