// The Ink UI's state, kept outside React. RunEvents from the bus and the
// executor's Interaction calls update it; React components read it on each frame
// (useSyncExternalStore on `version`). Event-driven changes are batched: listeners
// hear about them at most `frameMs` apart (15 frames a second by default), so a
// step printing 100 MB costs a few renders a second, not one per output event.
// Key presses and new questions notify at once, so the screen answers quickly.
//
// The store also implements the Interaction the executor asks through: each
// question becomes a Dialog, and `handleKey` turns the operator's keys into answers.
// The shapes components read are in types.ts; open questions in questions.ts.

import { captureWords } from "../../../runtime/secret-wording.js";
import type {
  FailureChoice,
  Interaction,
  RunEvent,
  RunStatus,
  StepChoice,
  StepContext,
} from "../../../runtime/events.js";
import type { Plan, PlannedStep } from "../../../runtime/plan.js";
import { abortAnswer, type Pending } from "./questions.js";
export { PREFLIGHT_ID, type Dialog, type EarlierStep, type KeyInfo, type StepView, type StoreOptions } from "./types.js";
import { PREFLIGHT_ID, type Dialog, type EarlierStep, type KeyInfo, type StepView, type StoreOptions } from "./types.js";
import type { VerdictEvent } from "../../../runtime/verdict.js";
import { formatDuration, PREFLIGHT_GLYPH, PREFLIGHT_TITLE, PREFLIGHT_WORD, preflightCounts, stepTime, waitText } from "../format.js";
import { OutputBuffer } from "../output-buffer.js";
import { guardLineOutcomeFirst } from "../../../runtime/views/step-lines.js";
import { assertNever } from "../../../language/assert.js";
import { describeAction } from "../../../runtime/describe.js";

const MAX_DIFF_CHARS = 200_000;
/** What a step that finished well keeps of its output (the running and failed ones keep maxLines). */
const FINISHED_LINES = 500;
const FINISHED_CHARS = 64_000;
const MAX_PARTIAL = 8_000;

export class UiStore {
  readonly plan: Plan;
  readonly runId: string;
  dryRun: boolean;
  readonly stepThrough: boolean;
  readonly frameMs: number;
  readonly steps = new Map<string, StepView>();
  /** Step ids in display order (main steps, then finally). */
  order: string[] = [];
  resumedFrom?: string;
  startedAt = Date.now();
  finished?: { status: RunStatus; exitCode: number; durationMs?: number; error?: string };
  /** The approval gate: each signed approval's verdict, and what the run waits for when it stops there. */
  readonly approvals: { approver: string; signedAt: string; status: "verified" | "refused"; reason?: string }[] = [];
  waitingApproval?: Extract<RunEvent, { type: "approval-waiting" }>;
  rollback?: { steps: string[] };
  /** A dry run's verdict, once it is known. */
  verdict?: VerdictEvent;
  /** `c` was pressed: run without stopping until a question or a failure. */
  continuous = false;
  /** `q` was confirmed while no question was open: the next question is answered "abort". */
  abortRequested = false;
  /**
   * Ctrl-C was pressed: the steps still to come (the finally steps) start without
   * waiting for Enter, as in the plain modes (CLI.md: Ctrl-C "still runs the finally
   * steps"); their own confirmations are still asked.
   */
  interruptedRun = false;
  /** The y/n "quit?" dialog is open. */
  quitting = false;
  /** `a` or `b` was pressed: its y/n confirmation is open (nothing is done until y). */
  confirmingKey?: "abort" | "rollback";
  /** A step has started in this run (a run that started none has nothing to resume). */
  anyStarted = false;
  /** The --state the run was given. */
  state?: string;
  /** Steps finished ok in this run, in the order they finished (what a rollback undoes, newest first). */
  private doneOrder: string[] = [];
  /** A short message for the operator (e.g. a mistyped env name). */
  flash?: string;
  /** The step the operator chose to retry: the executor's next beforeStep for it runs it at once. */
  private retrying?: string;

  selectedId: string | undefined;
  /** Selection follows the running step (or the step a question is about). */
  follow = true;
  /** Output scroll: lines above the newest one. */
  scroll = 0;
  /** Plan preview scroll for steps without output: lines from the top. */
  planScroll = 0;
  /** The output view's height in the last frame (a page for PgUp/PgDn). */
  page = 10;

  private runningId: string | undefined;
  private readonly queue: Pending[] = [];
  private readonly listeners = new Set<() => void>();
  private versionNo = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private lastNotify = 0;
  private readonly maxLines: number;
  private readonly onInterrupt: () => void;
  private closed = false;
  canAnswer: boolean;
  /** The UI itself failed: no one can answer any more, and the run must not go on unattended. */
  private broken = false;
  readonly interaction: Interaction;
  private readonly earlier: ReadonlyMap<string, EarlierStep>;

  constructor(options: StoreOptions) {
    this.plan = options.plan;
    this.runId = options.runId;
    this.dryRun = options.dryRun;
    this.stepThrough = options.stepThrough ?? true;
    this.frameMs = options.frameMs ?? 66;
    this.maxLines = options.maxLines ?? 2000;
    this.onInterrupt = options.onInterrupt ?? (() => {});
    this.canAnswer = options.canAnswer ?? true;
    this.earlier = options.earlier ?? new Map();
    this.state = options.state;
    this.setSteps(this.plan.steps.map((s) => ({ id: s.id, title: s.title, section: s.section, host: s.host, phase: s.phase })));
    this.selectedId = this.order[0];
    this.interaction = this.makeInteraction();
  }

  // ---- subscription (React reads through useSyncExternalStore) ----

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  version = (): number => this.versionNo;

  /**
   * What drawing one frame costs (ms, smoothed), as Ink reports it. Frames driven
   * by events are spaced so that drawing takes at most about a fifth of the time
   * (but at least 2 frames a second): a step printing flat out never starves the
   * run of CPU. Key presses still draw at once.
   */
  private renderCost = 0;

  reportRender(ms: number): void {
    this.renderCost = this.renderCost * 0.7 + ms * 0.3;
  }

  /** The least time between two event-driven frames now. */
  frameInterval(): number {
    return Math.min(500, Math.max(this.frameMs, this.renderCost * 5));
  }

  /** Notify soon (batched to one frame). */
  private changed(): void {
    if (this.timer || this.closed) return;
    const wait = Math.max(0, this.lastNotify + this.frameInterval() - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Notify now (key presses, new questions). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.lastNotify = Date.now();
    this.versionNo++;
    for (const l of this.listeners) l();
  }

  /** Keep the clock and the spinner moving: ~10 fps while a step runs, 1 fps otherwise. */
  startTicker(intervalMs = 100): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      if (this.runningId !== undefined || Date.now() - this.lastNotify >= 1000) this.changed();
    }, intervalMs);
    this.ticker.unref?.();
  }

  /** The screen is gone (the UI crashed): open and later questions cannot be answered. */
  fail(): void {
    this.broken = true;
    this.canAnswer = false;
    while (this.queue.length > 0) {
      const d = this.queue[0]!.dialog;
      this.answer(d.kind === "step" ? "abort" : "unanswerable");
    }
  }

  /**
   * The run is over: keep the screen until the operator leaves (q, Enter or Esc), so
   * what a dry run would do can be read step by step. At once when no one can press a key.
   */
  waitToLeave(): Promise<void> {
    if (!this.canAnswer || this.broken || this.closed) return Promise.resolve();
    this.follow = false;
    return this.ask<void>({ kind: "finished" });
  }

  /** Stop timers; answer what is still asked (as an abort) so no one waits forever. */
  close(): void {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.timer) clearTimeout(this.timer);
    this.ticker = this.timer = undefined;
    while (this.queue.length > 0) this.answer(abortAnswer(this.queue[0]!.dialog));
  }

  // ---- derived state ----

  get dialog(): Dialog | undefined {
    return this.queue[0]?.dialog;
  }

  get running(): StepView | undefined {
    return this.runningId === undefined ? undefined : this.steps.get(this.runningId);
  }

  get selected(): StepView | undefined {
    return this.selectedId === undefined ? undefined : this.steps.get(this.selectedId);
  }

  /** The step that needs attention: the one asked about, else the one running. */
  activeStepId(): string | undefined {
    const d = this.dialog;
    if (d && d.stepId !== undefined) return d.stepId;
    return this.runningId;
  }

  progress(): { done: number; total: number } {
    let done = 0;
    for (const id of this.order) {
      if (id === PREFLIGHT_ID) continue;
      const s = this.steps.get(id)!.status;
      // An interrupted step did not finish: it is not done until it runs again (or is left).
      if (s !== "pending" && s !== "running" && s !== "interrupted") done++;
    }
    return { done, total: this.order.filter((id) => id !== PREFLIGHT_ID).length };
  }

  elapsedMs(): number {
    return this.finished?.durationMs ?? Date.now() - this.startedAt;
  }

  // ---- events ----

  handle = (event: RunEvent): void => {
    try {
      this.apply(event);
    } catch {
      // A subscriber must not throw; a bad event is not worth breaking the run for.
    }
    this.changed();
  };

  private apply(e: RunEvent): void {
    switch (e.type) {
      case "run-started": {
        this.dryRun = e.dryRun;
        this.resumedFrom = e.resumedFrom;
        if (e.resumedFrom !== undefined) this.anyStarted = true; // the run it resumes did
        this.startedAt = Date.now();
        this.setSteps(e.steps);
        if (this.selectedId === undefined || !this.steps.has(this.selectedId)) this.selectedId = this.order[0];
        return;
      }
      case "step-started": {
        this.anyStarted = true;
        const v = this.view(e.stepId, e.title);
        if (this.runningId && this.runningId !== e.stepId) this.flushPartials(this.steps.get(this.runningId));
        if (e.attempt > 1 || v.attempt >= 1) v.output.appendInfo(`── attempt ${e.attempt} ──`);
        v.status = "running";
        v.attempt = e.attempt;
        v.progress = undefined;
        v.startedAt = Date.now();
        v.durationMs = undefined;
        v.waitedMs = undefined;
        v.earlier = undefined;
        v.reason = undefined;
        v.exitCode = undefined;
        v.signal = undefined;
        this.runningId = e.stepId;
        this.autoSelect();
        return;
      }
      case "output": {
        const v = this.view(e.stepId);
        if (e.host !== undefined && this.isGroup(v)) this.appendGroupOutput(v, e.host, e.text);
        else v.output.append(e.text);
        return;
      }
      case "action":
        this.info(e.stepId, `▸ ${e.host ? `[${e.host}] ` : ""}${e.description}`);
        return;
      case "progress": {
        const { kind, table, rows, total, rate, tablesDone, tables, done, verifying } = e;
        this.view(e.stepId).progress = { kind, table, rows, total, rate, tablesDone, tables, done, verifying };
        return;
      }
      case "guard":
        this.info(e.stepId, `guard ${guardLineOutcomeFirst(e)}`);
        return;
      case "confirm":
        if (e.stepId !== undefined) this.info(e.stepId, `? ${e.question} → ${e.answer}${e.by ? ` (${e.by})` : ""}${e.dryRun ? " [dry run]" : ""}`);
        return;
      case "manual":
        this.info(e.stepId, `manual: ${e.text} → ${e.answer}${e.by ? ` (${e.by})` : ""}`);
        return;
      case "note":
        this.info(e.stepId, `note: ${e.text}`);
        return;
      case "captured":
        this.info(e.stepId, captureWords.captured(e.name, e.value));
        return;
      case "diff": {
        const v = this.view(e.stepId);
        const diff = e.diff.length > MAX_DIFF_CHARS ? e.diff.slice(0, MAX_DIFF_CHARS) + "\n… (diff cut)" : e.diff;
        v.diffs = [...v.diffs.filter((d) => !(d.path === e.path && d.host === e.host)), { path: e.path, host: e.host, diff }].slice(-10);
        return;
      }
      case "step-finished": {
        const v = this.view(e.stepId);
        this.flushPartials(v);
        v.status = e.status;
        v.durationMs = e.durationMs;
        v.waitedMs = e.waitedMs;
        v.earlier = undefined;
        v.reason = e.reason;
        v.exitCode = e.exitCode;
        v.signal = e.signal;
        v.attempt = Math.max(v.attempt, e.attempt);
        v.startedAt = undefined;
        // Many steps with much output: what is done keeps less, so memory stays bounded.
        if (e.status === "ok" || e.status === "skipped") v.output.shrink(FINISHED_LINES, FINISHED_CHARS);
        const detail = [
          e.reason,
          e.exitCode !== undefined && e.exitCode !== null && (e.exitCode !== 0 || e.status !== "ok") ? `exit ${e.exitCode}` : undefined,
          e.signal ? `signal ${e.signal}` : undefined,
        ].filter(Boolean);
        if (e.status !== "skipped" || !v.output.empty)
          this.info(e.stepId, `${e.status}${stepTime(v) ? ` in ${stepTime(v)}` : ""}${waitText(e.waitedMs) ? ` (${waitText(e.waitedMs)})` : ""}${detail.length ? `: ${detail.join(", ")}` : ""}`);
        if (this.runningId === e.stepId) this.runningId = undefined;
        // A failure is what the operator must read: the detail pane shows the failed step.
        this.doneOrder = this.doneOrder.filter((id) => id !== e.stepId);
        if (e.status === "ok") this.doneOrder.push(e.stepId);
        if (e.status === "failed") this.showStep(e.stepId);
        else this.autoSelect();
        return;
      }
      case "host-finished":
        this.flushPartials(this.steps.get(e.stepId), e.host);
        this.info(
          e.stepId,
          `host ${e.host}: ${e.status} in ${formatDuration(e.durationMs)}${e.exitCode !== undefined && e.exitCode !== null ? ` (exit ${e.exitCode})` : ""}${e.error ? `: ${e.error}` : ""}`,
        );
        return;
      case "rollback-started":
        this.rollback = { steps: [...e.steps] };
        for (const id of e.steps) {
          const v = this.view(id);
          v.rollback = "pending";
          v.rollbackError = undefined;
        }
        return;
      case "rollback-step": {
        const v = this.view(e.stepId);
        v.rollback = e.status;
        v.rollbackError = e.error;
        if (e.status === "ok") v.status = "rolled-back";
        this.info(e.stepId, `rollback: ${e.status}${e.error ? `: ${e.error}` : ""}`);
        return;
      }
      case "failure-choice":
        this.info(e.stepId, `after the failure: ${e.choice}${e.by ? ` (${e.by})` : ""}`);
        return;
      case "preflight-started": {
        const v = this.newView({ id: PREFLIGHT_ID, title: PREFLIGHT_TITLE(e.targets.length), phase: "main" });
        this.steps.set(PREFLIGHT_ID, v);
        this.order = [PREFLIGHT_ID, ...this.order.filter((id) => id !== PREFLIGHT_ID)];
        v.status = "running";
        v.startedAt = Date.now();
        this.runningId = PREFLIGHT_ID;
        this.autoSelect();
        return;
      }
      case "preflight-target":
        this.info(PREFLIGHT_ID, `${PREFLIGHT_GLYPH[e.status]} ${e.kind} ${e.name}: ${PREFLIGHT_WORD[e.status]}${e.reason ? ` (${e.reason})` : ""}`);
        return;
      case "preflight-finished": {
        const v = this.view(PREFLIGHT_ID);
        v.status = e.counts.failed + e.counts["not-checked"] > 0 ? "failed" : "ok";
        v.durationMs = e.durationMs;
        v.startedAt = undefined;
        v.reason = preflightCounts(e.counts);
        if (this.runningId === PREFLIGHT_ID) this.runningId = undefined;
        this.autoSelect();
        return;
      }
      case "dry-run-verdict":
        this.verdict = e;
        return;
      case "approval":
        this.approvals.push({ approver: e.approver, signedAt: e.signedAt, status: e.status, ...(e.reason !== undefined ? { reason: e.reason } : {}) });
        this.info(e.stepId, e.status === "verified" ? `approved by ${e.approver} (signed ${e.signedAt})` : `approval by ${e.approver} refused: ${e.reason ?? ""}`);
        return;
      case "approval-waiting":
        this.waitingApproval = e;
        this.info(e.stepId, `waiting for ${e.count} approval${e.count === 1 ? "" : "s"} from "${e.group}"${e.approvedBy.length ? `; approved by ${e.approvedBy.join(", ")}` : ""}`);
        return;
      case "run-finished":
        this.finished = { status: e.status, exitCode: e.exitCode, durationMs: e.durationMs, error: e.error };
        if (this.runningId) this.flushPartials(this.steps.get(this.runningId));
        this.runningId = undefined;
        return;
    }
  }

  /** The list of steps as the run announced it (or as planned), keeping what is known of each. */
  private setSteps(list: { id: string; title: string; section?: string; host?: string; phase: "main" | "finally" }[]): void {
    const planned = new Map(this.plan.steps.map((s) => [s.id, s]));
    const main = list.filter((s) => s.phase !== "finally");
    const fin = list.filter((s) => s.phase === "finally");
    this.order = [];
    for (const s of [...main, ...fin]) {
      const old = this.steps.get(s.id);
      if (old) {
        Object.assign(old, { title: s.title, section: s.section, host: s.host, phase: s.phase });
      } else {
        const v = this.newView(s, planned.get(s.id));
        const was = this.earlier.get(s.id);
        if (was) Object.assign(v, { status: was.status, durationMs: was.durationMs, reason: was.reason, earlier: true });
        this.steps.set(s.id, v);
      }
      this.order.push(s.id);
    }
  }

  private newView(s: { id: string; title: string; section?: string; host?: string; phase: "main" | "finally" }, planned?: PlannedStep): StepView {
    return {
      id: s.id,
      title: s.title,
      section: s.section,
      host: s.host,
      phase: s.phase,
      planned,
      noteOnly: planned !== undefined && planned.actions.length > 0 && planned.actions.every((a) => a.kind === "note"),
      status: "pending",
      attempt: 0,
      output: new OutputBuffer(this.maxLines),
      diffs: [],
    };
  }

  /** A step by id; one the plan did not list (never expected) is added at the end. */
  private view(id: string, title?: string): StepView {
    let v = this.steps.get(id);
    if (!v) {
      const planned = this.plan.steps.find((s) => s.id === id);
      v = this.newView({ id, title: title ?? planned?.title ?? id, section: planned?.section, host: planned?.host, phase: planned?.phase ?? "main" }, planned);
      this.steps.set(id, v);
      this.order.push(id);
    }
    return v;
  }

  private info(stepId: string, line: string): void {
    this.view(stepId).output.appendInfo(line);
  }

  private isGroup(v: StepView): boolean {
    return v.host !== undefined && this.plan.hosts[v.host]?.group === true;
  }

  private appendGroupOutput(v: StepView, host: string, text: string): void {
    const partials = (v.partials ??= new Map());
    const all = (partials.get(host) ?? "") + text;
    const cut = all.lastIndexOf("\n");
    if (cut === -1) {
      partials.set(host, all.length > MAX_PARTIAL ? all.slice(0, MAX_PARTIAL) : all);
      return;
    }
    partials.set(host, all.slice(cut + 1));
    const prefix = `[${host}] `;
    v.output.append(prefix + all.slice(0, cut).split("\n").join("\n" + prefix) + "\n");
  }

  private flushPartials(v: StepView | undefined, host?: string): void {
    if (!v?.partials) return;
    for (const [h, rest] of v.partials) {
      if (host !== undefined && h !== host) continue;
      if (rest.length > 0) v.output.append(`[${h}] ${rest}\n`);
      v.partials.delete(h);
    }
  }

  /** Select a step and follow what needs attention from there (a failure, a question about it). */
  private showStep(id: string): void {
    if (id !== this.selectedId) {
      this.scroll = 0;
      this.planScroll = 0;
    }
    this.selectedId = id;
    this.follow = true;
  }

  private autoSelect(): void {
    if (!this.follow) return;
    const a = this.activeStepId();
    if (a !== undefined && a !== this.selectedId) {
      this.selectedId = a;
      this.scroll = 0;
      this.planScroll = 0;
    }
  }

  /**
   * What `b` would undo, in the order it would: the failed step first when it made
   * edits (they are restored), then the steps done in this run, newest first, that
   * have an undo or edits (the executor's rollback, runtime/executor.ts).
   */
  rollbackPlan(failedId: string): { step: StepView; undo: string[] }[] {
    const out: { step: StepView; undo: string[] }[] = [];
    const edits = (v: StepView) => (v.planned?.actions ?? []).filter((a) => a.kind === "edit").map((a) => `restore ${(a as { path: string }).path}`);
    const failed = this.steps.get(failedId);
    if (failed && failed.diffs.length > 0) out.push({ step: failed, undo: failed.diffs.map((d) => `restore ${d.path}${d.host ? ` on ${d.host}` : ""}`) });
    for (const id of [...this.doneOrder].reverse()) {
      const v = this.steps.get(id);
      if (!v?.planned) continue;
      const undo = [...v.planned.undo.map((a) => describeAction(a).split("\n")[0]!), ...edits(v)];
      if (undo.length > 0) out.push({ step: v, undo });
    }
    return out;
  }

  // ---- questions ----

  private ask<T>(dialog: Dialog): Promise<T> {
    if (this.closed) return Promise.resolve(abortAnswer(dialog) as T);
    return new Promise<T>((resolve) => {
      this.queue.push({ dialog, resolve: resolve as (v: unknown) => void });
      if (dialog.kind === "failure" && this.queue.length === 1) this.showStep(dialog.stepId);
      this.autoSelect();
      this.flush();
    });
  }

  private answer(value: unknown): void {
    const p = this.queue.shift();
    if (!p) return;
    this.quitting = false;
    this.confirmingKey = undefined;
    this.flash = undefined;
    p.resolve(value);
    this.autoSelect();
  }

  private makeInteraction(): Interaction {
    return {
      beforeStep: async (ctx: StepContext): Promise<StepChoice> => {
        this.view(ctx.step.id, ctx.step.title);
        if (this.abortRequested) {
          this.abortRequested = false;
          return "abort";
        }
        if (this.retrying !== undefined) {
          const retried = this.retrying === ctx.step.id;
          this.retrying = undefined;
          if (retried) return "run";
        }
        if (this.broken) return "abort";
        if (!this.stepThrough || this.continuous || this.interruptedRun || !this.canAnswer) return "run";
        return this.ask<StepChoice>({ kind: "step", stepId: ctx.step.id });
      },
      confirm: async (question, ctx): Promise<boolean | "unanswerable"> => {
        this.continuous = false;
        if (!this.canAnswer) return "unanswerable";
        if (this.abortRequested) {
          this.abortRequested = false;
          return false;
        }
        return this.ask<boolean>({ kind: "confirm", stepId: ctx.step?.id, question, protected: ctx.plan.protected, typed: "" });
      },
      manual: async (text, ctx): Promise<"done" | "abort" | "unanswerable"> => {
        this.continuous = false;
        if (!this.canAnswer) return "unanswerable";
        if (this.abortRequested) {
          this.abortRequested = false;
          return "abort";
        }
        return this.ask<"done" | "abort">({ kind: "manual", stepId: ctx.step.id, text });
      },
      onFailure: async (error, ctx): Promise<FailureChoice | "unanswerable"> => {
        this.continuous = false;
        if (!this.canAnswer) return "unanswerable";
        if (this.abortRequested) {
          this.abortRequested = false;
          return "abort";
        }
        return this.ask<FailureChoice>({ kind: "failure", stepId: ctx.step.id, error });
      },
      rerunInterrupted: async (ctx): Promise<boolean | "unanswerable"> => {
        this.continuous = false;
        if (!this.canAnswer) return "unanswerable";
        return this.ask<boolean>({ kind: "rerun", stepId: ctx.step.id });
      },
    };
  }

  /**
   * SIGINT (Ctrl-C here, or from outside): the executor stops the running step and
   * stops waiting for the open questions, so they are closed (answered as aborts);
   * the finally steps then start without waiting for Enter.
   */
  interrupted(): void {
    this.continuous = false;
    this.interruptedRun = true;
    this.quitting = false;
    this.confirmingKey = undefined;
    while (this.queue.length > 0) this.answer(abortAnswer(this.queue[0]!.dialog));
    this.flash = "Interrupted: stopping the running step; the finally steps still run (Ctrl-C again exits at once).";
    this.flush();
  }

  /** Quit confirmed: answer the open question as an abort, or the next one. */
  private abort(): void {
    this.quitting = false;
    this.continuous = false;
    const d = this.dialog;
    if (d) this.answer(abortAnswer(d));
    else {
      this.abortRequested = true;
      this.flash = "Aborting: the run stops before the next step or question (Ctrl-C interrupts the running step).";
    }
  }

  // ---- keys ----

  /** One key press (Ink's useInput); returns whether it did anything. */
  handleKey(input: string, key: KeyInfo): boolean {
    const handled = this.key(input, key);
    if (handled) this.flush();
    return handled;
  }

  private key(input: string, key: KeyInfo): boolean {
    if (key.ctrl && input === "c") {
      this.onInterrupt();
      return true;
    }
    if (this.quitting) {
      if (input === "y" || input === "Y") this.abort();
      else if (input === "n" || input === "N" || key.escape) this.quitting = false;
      else return false;
      return true;
    }
    if (this.confirmingKey !== undefined) {
      // `a` / `b` act only once confirmed: a stray key press never aborts or rolls back.
      if (input === "y" || input === "Y") this.answer(this.confirmingKey === "abort" ? abortAnswer(this.dialog!) : "rollback");
      else if (input === "n" || input === "N" || key.escape) this.confirmingKey = undefined;
      else return false;
      return true;
    }
    if (this.navigate(input, key)) return true;
    const d = this.dialog;
    if (!d) {
      if (input === "q") return (this.quitting = true);
      return false;
    }
    switch (d.kind) {
      case "step":
        if (key.return) this.answer("run");
        else if (input === "s") this.answer("skip");
        else if (input === "c") {
          this.continuous = true;
          this.answer("run");
        } else if (input === "a") this.confirmingKey = "abort";
        else if (input === "q") this.quitting = true;
        else return false;
        return true;
      case "confirm":
        if (d.protected) return this.typeEnvName(d, input, key);
        if (input === "y" || input === "Y") this.answer(true);
        else if (input === "n" || input === "N") this.answer(false);
        else if (input === "q") this.quitting = true;
        else return false;
        return true;
      case "manual":
        if (input === "d") this.answer("done");
        else if (input === "a") this.confirmingKey = "abort";
        else if (input === "q") this.quitting = true;
        else return false;
        return true;
      case "failure":
        if (input === "r") {
          this.retrying = d.stepId;
          this.answer("retry");
        }
        else if (input === "s") this.answer("skip");
        else if (input === "b") this.confirmingKey = "rollback";
        else if (input === "a") this.confirmingKey = "abort";
        else if (input === "q") this.quitting = true;
        else return false;
        return true;
      case "rerun":
        if (input === "y" || input === "Y") this.answer(true);
        else if (input === "n" || input === "N") this.answer(false);
        else if (input === "q") this.quitting = true;
        else return false;
        return true;
      case "finished":
        if (input === "q" || key.return || key.escape) this.answer(undefined);
        else return false;
        return true;
      default:
        return assertNever(d, "dialog");
    }
  }

  /** A protected env: the operator types its name and presses Enter; Esc answers no. */
  private typeEnvName(d: Extract<Dialog, { kind: "confirm" }>, input: string, key: KeyInfo): boolean {
    // A paste arrives as one chunk ("prod\r"): what comes before the line end is typed, then Enter.
    const eol = input.search(/[\r\n]/);
    if (!key.return && eol > 0) {
      this.typeEnvName(d, input.slice(0, eol), {});
      return this.typeEnvName(d, "\r", { return: true });
    }
    if (key.return) {
      if (d.typed === this.plan.env) this.answer(true);
      else {
        d.error = `"${d.typed}" is not "${this.plan.env}": type the env's name exactly, or Esc to answer no`;
        d.typed = "";
      }
      return true;
    }
    if (key.escape) {
      this.answer(false);
      return true;
    }
    if (key.backspace || key.delete) {
      d.typed = Array.from(d.typed).slice(0, -1).join("");
      return true;
    }
    if (key.ctrl || key.meta || key.tab) return false;
    // eslint-disable-next-line no-control-regex
    const printable = input.replace(/[\u0000-\u001F\u007F]/g, "");
    if (printable.length === 0) return false;
    d.typed = (d.typed + printable).slice(0, 200);
    d.error = undefined;
    return true;
  }

  private navigate(input: string, key: KeyInfo): boolean {
    if (key.upArrow || key.downArrow) {
      if (this.order.length === 0) return true;
      const i = this.selectedId === undefined ? -1 : this.order.indexOf(this.selectedId);
      const next = key.upArrow ? Math.max(0, i - 1) : Math.min(this.order.length - 1, i + 1);
      this.select(this.order[next]!);
      return true;
    }
    if (key.pageUp || key.pageDown) {
      const v = this.selected;
      const page = Math.max(1, this.page - 1);
      if (v && !v.output.empty) {
        const max = Math.max(0, v.output.lineCount - this.page);
        this.scroll = key.pageUp ? Math.min(max, this.scroll + page) : Math.max(0, this.scroll - page);
      } else {
        this.planScroll = key.pageUp ? Math.max(0, this.planScroll - page) : this.planScroll + page;
      }
      return true;
    }
    if (key.end) {
      this.scroll = 0;
      return true;
    }
    if (key.home) {
      const v = this.selected;
      if (v) this.scroll = Math.max(0, v.output.lineCount - this.page);
      return true;
    }
    if (input === "f" && !(this.dialog?.kind === "confirm" && this.dialog.protected)) {
      this.follow = true;
      this.autoSelect();
      return true;
    }
    return false;
  }

  private select(id: string): void {
    if (id !== this.selectedId) {
      this.scroll = 0;
      this.planScroll = 0;
    }
    this.selectedId = id;
    // Coming back to the step that needs attention resumes following it.
    this.follow = id === this.activeStepId();
  }
}

