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

import { describeAction, describeCond, formatDuration } from "./describe.js";
import { DryRunDatabase, DryRunHost, DryRunState } from "./dry-run.js";
import { DriverError, type DatabaseDriver, type HostDriver } from "./drivers/driver.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, type ConnectionProvider } from "./connections.js";
import type { CommandRef, EventBus, FailureChoice, Interaction, RunEvent, RunStatus, StepContext } from "./events.js";
import { JournalError, journalStopText } from "./journal-errors.js";
import type { Action, Capture, Plan, PlannedStep } from "./plan.js";
import { Redaction } from "./redact.js";
import { assertNever } from "../language/assert.js";
import { Interrupted, RunAborted, sleep, StepFailure } from "./step-errors.js";
import { Conditions } from "./conditions.js";
import { HANDLERS, handlerOf, runAction } from "./actions/index.js";
import { oneLine, type ActionContext, type EditRecord, type EventInput } from "./actions/context.js";
import { dryRestoreWritten, restoreWritten, reversedEdit } from "./actions/edit.js";
import { secretsUsed, type SecretStore } from "./secrets.js";
import { blocking, preflightFailure, preflightTargets, PreflightedConnections, runPreflight, type PreflightResult } from "./preflight.js";
import { DryRunTally, preflightWhat, verdictError, verdictExitCode } from "./verdict.js";
import { WAITING_EXIT, type GateResult } from "./approvals.js";
import { cleanStaleLocal, Supervision } from "./supervisor.js";
import { CapturedValues, fillAction, fillCond, hostValues, type LateContext } from "./late-values.js";

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

/** The journal cannot record (Journal.verify failed): the run stops, whatever was going on. */
class JournalStop extends Error {}

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
  /** Guards, `require` and `wait until`, with their probes. */
  private readonly conditions: Conditions;

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
    this.conditions = new Conditions({
      plan: this.plan,
      dry: this.dry,
      probe: this.probe,
      state: this.state,
      secrets: o.secrets,
      tally: this.tally,
      emit: (event) => this.emit(event),
      redact: (s) => this.redact(s),
      db: (name) => this.db(name),
      hosts: (name) => this.driversFor(name),
      signal: () => this.signal,
    });
  }

  // ---------------------------------------------------------------- events

  private emit(event: EventInput): void {
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
    else await this.supervision.forget(true);
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
    const item = { ...(r.target.usedBy[0] !== undefined ? { stepId: r.target.usedBy[0] } : {}), what: preflightWhat(r.target.kind, r.target.name), why: this.redact(r.reason ?? r.status) };
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
    if (gate.pass) return undefined;
    if (gate.failed) return { status: "failed", exitCode: 1, error: gate.error ?? "approval gate failed" };
    return { status: "waiting", exitCode: WAITING_EXIT, error: gate.error ?? "waiting for approval" };
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
        const skip = await this.conditions.guards(step, drivers[0]!, step.host);
        if (skip) return finished({ kind: "skipped", reason: skip }, 0);
      } catch (e) {
        if (e instanceof Interrupted) return finished({ kind: "interrupted", error: `interrupted during '${step.title}'` }, firstAttempt);
        return finished({ kind: "failed", error: this.errorText(e, step, step.host) }, firstAttempt);
      }
    }

    const edits: EditRecord[] = [];
    this.edits.set(step.id, edits);
    if (step.mutating && this.dry) this.state.mark(DryRunState.hostKey(step.host), step.id);
    if (this.dry) {
      for (const a of step.actions) {
        const db = handlerOf(a).changedDb(a);
        if (db !== undefined) this.state.mark(DryRunState.dbKey(db), step.id);
      }
    }

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
          const skip = await this.conditions.guards(step, m.driver, m.label);
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
        const r = await this.conditions.evalCondFor(fillCond(a.cond, this.lateCtx(ctx)), step, driver, true);
        if (r.value !== false) this.conditions.tallyCond(step, `require ${a.source}`, r);
        // Shown with its values filled in and its outcome, held or not.
        this.emit({ type: "guard", stepId: step.id, source: `require ${a.source}`, resolved: `require ${this.redact(describeCond(a.cond))}`, result: r.value, ...(r.reason ? { reason: r.reason } : {}) });
        if (r.value === "unknown") {
          unknownNote = r.reason;
          continue;
        }
        if (!r.value) throw new StepFailure(a.else ?? `require ${a.source} is false`);
      }
      const changing = step.actions.filter((a) => HANDLERS[a.kind].changes);
      for (const a of step.actions) {
        if (a.kind === "require") continue;
        try {
          await this.action(a, ctx);
        } catch (e) {
          this.notePartial(step, hostLabel, changing, ran, e instanceof StepFailure ? e.remains : [], a);
          throw e;
        }
        if (HANDLERS[a.kind].changes) ran.push(a);
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
    const unknown = HANDLERS[failing.kind].unknownWhenFailed
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
    if (ctx.signal.aborted) throw new Interrupted();
    return runAction(fillAction(planned, this.lateCtx(ctx)), this.actionContext(ctx), this.dry);
  }

  /** What an action handler sees of the run: one step body on one host. */
  private actionContext(ctx: BodyCtx): ActionContext {
    return {
      plan: this.plan,
      runId: this.o.runId,
      cwd: this.cwd,
      probe: this.probe,
      step: ctx.step,
      driver: ctx.driver,
      ...(ctx.hostLabel !== undefined ? { hostLabel: ctx.hostLabel } : {}),
      signal: ctx.signal,
      edits: ctx.edits,
      secrets: this.o.secrets,
      redaction: this.redaction,
      supervision: this.supervision,
      interaction: this.o.interaction,
      state: this.state,
      tally: this.tally,
      emit: (event) => this.emit(event),
      redact: (s) => this.redact(s),
      ask: (p) => this.ask(p),
      answeredBy: () => this.by(),
      db: (name) => this.db(name),
      remaining: () => this.remaining(ctx),
      capture: (into, value) => this.capture(into, value, ctx),
      late: () => this.lateCtx(ctx),
      evalCond: (cond, hoped) => this.conditions.evalCondFor(cond, ctx.step, ctx.driver, hoped),
      tallyCond: (what, r) => this.conditions.tallyCond(ctx.step, what, r),
      once: (a, fn) => this.onceFor(ctx, a, fn),
      watchCommand: () => this.watchCommand(ctx),
      answerFlag: () => this.flagFor(ctx.step),
    };
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

  private flagFor(step: PlannedStep): string {
    return this.plan.protected ? `--approve ${step.id} (the ${this.plan.env} env is protected: --yes does not answer it)` : `--yes (or --approve ${step.id})`;
  }

  private remaining(ctx: BodyCtx): number | undefined {
    if (ctx.deadline === undefined) return undefined;
    const left = ctx.deadline - Date.now();
    if (left <= 0) throw new StepFailure(`timed out after ${formatDuration(ctx.step.timeoutMs!)}`);
    return left;
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
      for (const e of [...edits].reverse()) await (this.dry ? dryRestoreWritten : restoreWritten)(e, step.id, (event) => this.emit(event), this.signal);
    } else if (this.o.completed?.has(step.id)) {
      // Edited in the run being resumed: its original is gone with that process; undo each replace.
      for (const [i, driver] of drivers.entries()) {
        const hostLabel = group ? this.plan.hosts[step.host!]!.targets[i] : step.host;
        for (const a of [...step.actions].reverse()) {
          if (a.kind !== "edit") continue;
          const ctx: BodyCtx = { step, driver, ...(hostLabel !== undefined ? { hostLabel } : {}), attempt: 1, signal: this.signal, once: new Map(), edits: [] };
          await runAction(reversedEdit(a), this.actionContext(ctx), this.dry);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- helpers

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
