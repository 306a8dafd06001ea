// Events → writes: JournalRecorder turns RunEvents into WriteOps, which both
// stores apply in order (SQLite at once, MySQL queued), keeping each running
// step's output tail (OutputTail) in memory until the step finishes.

import type { CommandRef, FailureChoice, RunEvent } from "../events.js";
import { dryRunJournalText } from "../views/step-lines.js";
import { TAIL_MAX_CHARS, TAIL_MAX_LINES } from "./rows.js";
import type { ApprovalRecord, ConfirmationRecord, RollbackRecord, RunStatus } from "./types.js";


export type WriteOp =
  | { op: "step-start"; runId: string; stepId: string; host: string | null; attempt: number; at: string }
  | {
      op: "step-finish";
      runId: string;
      stepId: string;
      host: string | null;
      status: string;
      attempt: number;
      at: string;
      exitCode: number | null;
      signal: string | null;
      reason: string | null;
      tail: string;
      truncated: boolean;
    }
  | { op: "step-tail"; runId: string; stepId: string; tail: string; truncated: boolean }
  | {
      op: "step-host";
      runId: string;
      stepId: string;
      host: string;
      status: string;
      exitCode: number | null;
      error: string | null;
      durationMs: number;
      at: string;
    }
  | {
      op: "confirmation";
      runId: string;
      stepId: string | null;
      kind: ConfirmationRecord["kind"];
      question: string;
      answer: string;
      by: string;
      at: string;
    }
  | {
      op: "rollback";
      runId: string;
      stepId: string | null;
      kind: RollbackRecord["kind"];
      status: RollbackRecord["status"];
      steps: string[] | null;
      error: string | null;
      at: string;
    }
  | { op: "note"; runId: string; stepId: string; text: string; at: string }
  | { op: "approval"; record: ApprovalRecord }
  | { op: "value"; runId: string; stepId: string; name: string; value: string; at: string }
  | { op: "command-start"; runId: string; stepId: string; command: CommandRef; at: string }
  | { op: "command-end"; runId: string; stepId: string; command: Pick<CommandRef, "host" | "target"> }
  | { op: "run-finish"; runId: string; status: RunStatus; exitCode: number; error: string | null; at: string };

/**
 * A bounded output tail: appends are O(1) amortised; the text is cut to the last
 * TAIL_MAX_CHARS characters and TAIL_MAX_LINES lines (starting at a line boundary).
 */
export class OutputTail {
  /** The chunks still needed, from `head` on (earlier ones are dropped in place). */
  private chunks: string[] = [];
  private head = 0;
  /** Characters in chunks[head..]. */
  private size = 0;
  truncated = false;
  /** Changed since the last persisted snapshot. */
  dirty = false;

  constructor(
    private readonly maxChars = TAIL_MAX_CHARS,
    private readonly maxLines = TAIL_MAX_LINES,
  ) {}

  /**
   * Constant work per chunk: whole chunks that lie before the last maxChars + 1
   * characters can never be part of the tail (the one character before the cut tells
   * whether the cut fell inside a line), so they are dropped as they go by; the exact
   * cut by size and lines is made when the text is asked for.
   */
  push(text: string): void {
    if (text.length === 0) return;
    this.dirty = true;
    if (text.length > this.maxChars + 1) {
      text = text.slice(text.length - this.maxChars - 1);
      this.truncated = true;
      this.chunks = [];
      this.head = 0;
      this.size = 0;
    }
    this.chunks.push(text);
    this.size += text.length;
    while (this.size - this.chunks[this.head]!.length > this.maxChars) {
      this.size -= this.chunks[this.head]!.length;
      this.chunks[this.head++] = "";
      this.truncated = true;
    }
    if (this.head > 1024 || this.chunks.length - this.head > 1024) this.compact();
  }

  text(): string {
    this.compact();
    return this.chunks[0] ?? "";
  }

  private compact(): void {
    let s = this.chunks.length - this.head === 1 ? this.chunks[this.head]! : this.chunks.slice(this.head).join("");
    let cut = false;
    /** The size cut fell inside a line (not just after a newline). */
    let partial = false;
    if (s.length > this.maxChars) {
      partial = s.charCodeAt(s.length - this.maxChars - 1) !== 10;
      s = s.slice(s.length - this.maxChars);
      cut = true;
    }
    // At most maxLines lines: keep what follows the (maxLines)th newline from the end,
    // not counting a final newline.
    let seen = 0;
    const end = s.endsWith("\n") ? s.length - 1 : s.length;
    for (let i = end > 0 ? s.lastIndexOf("\n", end - 1) : -1; i >= 0; i = i > 0 ? s.lastIndexOf("\n", i - 1) : -1) {
      if (++seen === this.maxLines) {
        s = s.slice(i + 1);
        cut = true;
        break;
      }
    }
    if (partial && seen < this.maxLines) {
      // Cut by size inside a line: drop what is left of it.
      const nl = s.indexOf("\n");
      if (nl >= 0 && nl < s.length - 1) s = s.slice(nl + 1);
    }
    if (cut) this.truncated = true;
    this.chunks = s === "" ? [] : [s];
    this.head = 0;
    this.size = s.length;
  }
}

/** The step-level host label used for output tails when an event names no host. */
const NO_HOST = "";

interface OpenStep {
  host: string | null;
  /** One tail per host that produced output (several for a host group). */
  tails: Map<string, OutputTail>;
  /** Last attempt that started; a new one adds a marker line to the tail. */
  attempt: number;
}

/**
 * Turns RunEvents into WriteOps, keeping each running step's output tail in memory
 * until the step finishes (or a flush persists it).
 */
export class JournalRecorder {
  private readonly open = new Map<string, OpenStep>();
  /** Dry runs being recorded: what they would do is kept in their steps' output. */
  private readonly dryRuns = new Set<string>();

  private key(runId: string, stepId: string): string {
    return `${runId}\u0000${stepId}`;
  }

  private openStep(runId: string, stepId: string, host: string | null): OpenStep {
    const k = this.key(runId, stepId);
    let s = this.open.get(k);
    if (!s) {
      s = { host, tails: new Map(), attempt: 0 };
      this.open.set(k, s);
    }
    return s;
  }

  /** The combined tail of a step: one host's text, or each host's under a header line. */
  private combined(s: OpenStep): { tail: string; truncated: boolean } {
    const tails = [...s.tails.entries()].filter(([, t]) => t.text() !== "" || t.truncated);
    const truncated = tails.some(([, t]) => t.truncated);
    if (tails.length === 0) return { tail: "", truncated: false };
    if (tails.length === 1) return { tail: tails[0][1].text(), truncated };
    const joined = new OutputTail();
    for (const [host, t] of tails) {
      joined.push(`[${host === NO_HOST ? "local" : host}]\n`);
      const text = t.text();
      joined.push(text.endsWith("\n") || text === "" ? text : `${text}\n`);
    }
    const tail = joined.text();
    return { tail, truncated: truncated || joined.truncated };
  }

  events(event: RunEvent): WriteOp[] {
    switch (event.type) {
      case "step-started": {
        const s = this.openStep(event.runId, event.stepId, event.host ?? null);
        if (event.host !== undefined) s.host = event.host;
        // A retry: mark where the new attempt's output begins.
        if (s.attempt > 0 && event.attempt > s.attempt) {
          for (const t of s.tails.values()) t.push(`--- attempt ${event.attempt} ---\n`);
        }
        s.attempt = event.attempt;
        return [
          { op: "step-start", runId: event.runId, stepId: event.stepId, host: s.host, attempt: event.attempt, at: event.time },
        ];
      }
      case "output": {
        const s = this.openStep(event.runId, event.stepId, event.host ?? null);
        const hostKey = event.host ?? NO_HOST;
        let t = s.tails.get(hostKey);
        if (!t) {
          t = new OutputTail();
          s.tails.set(hostKey, t);
        }
        t.push(event.text);
        return [];
      }
      case "step-finished": {
        const k = this.key(event.runId, event.stepId);
        const s = this.open.get(k);
        this.open.delete(k);
        const { tail, truncated } = s ? this.combined(s) : { tail: "", truncated: false };
        return [
          {
            op: "step-finish",
            runId: event.runId,
            stepId: event.stepId,
            host: event.host ?? s?.host ?? null,
            status: event.status,
            attempt: event.attempt,
            at: event.time,
            exitCode: event.exitCode ?? null,
            signal: event.signal ?? null,
            reason: event.reason ?? null,
            tail,
            truncated,
          },
        ];
      }
      case "host-finished":
        return [
          {
            op: "step-host",
            runId: event.runId,
            stepId: event.stepId,
            host: event.host,
            status: event.status,
            exitCode: event.exitCode ?? null,
            error: event.error ?? null,
            durationMs: Math.round(event.durationMs),
            at: event.time,
          },
        ];
      case "confirm":
        return [
          {
            op: "confirmation",
            runId: event.runId,
            stepId: event.stepId ?? null,
            kind: "confirm",
            question: event.question,
            answer: event.dryRun ? `${event.answer} (dry run)` : event.answer,
            by: event.by,
            at: event.time,
          },
        ];
      case "manual":
        return [
          {
            op: "confirmation",
            runId: event.runId,
            stepId: event.stepId,
            kind: "manual",
            question: event.text,
            answer: event.answer,
            by: event.by,
            at: event.time,
          },
        ];
      case "failure-choice":
        return [
          {
            op: "confirmation",
            runId: event.runId,
            stepId: event.stepId,
            kind: "failure-choice",
            question: `Step ${event.stepId} failed: retry, skip, roll back or abort?`,
            answer: event.choice satisfies FailureChoice,
            by: event.by,
            at: event.time,
          },
        ];
      case "rollback-started":
        return [
          {
            op: "rollback",
            runId: event.runId,
            stepId: null,
            kind: "started",
            status: "started",
            steps: event.steps,
            error: null,
            at: event.time,
          },
        ];
      case "rollback-step":
        return [
          {
            op: "rollback",
            runId: event.runId,
            stepId: event.stepId,
            kind: "step",
            status: event.status,
            steps: null,
            error: event.error ?? null,
            at: event.time,
          },
        ];
      case "note":
        return [{ op: "note", runId: event.runId, stepId: event.stepId, text: event.text, at: event.time }];
      case "approval-waiting": {
        const { type: _t, runId, time, approvedBy: _a, ...request } = event;
        const record: ApprovalRecord = { runId, kind: "request", stepId: event.stepId, group: event.group, approver: null, time, statement: JSON.stringify(request), signature: null, reason: null };
        return [{ op: "approval", record }];
      }
      case "approval":
        return [
          {
            op: "approval",
            record: { runId: event.runId, kind: event.status, stepId: event.stepId, group: event.group, approver: event.approver, time: event.time, statement: null, signature: null, reason: event.reason ?? null },
          },
        ];
      case "captured":
        // A secret's value is not in the event, and never in the journal.
        if (event.secret || event.value === undefined || this.dryRuns.has(event.runId)) return [];
        return [{ op: "value", runId: event.runId, stepId: event.stepId, name: event.name, value: event.value, at: event.time }];
      case "command-started":
        return [{ op: "command-start", runId: event.runId, stepId: event.stepId, command: event.command, at: event.time }];
      case "command-ended":
        return [{ op: "command-end", runId: event.runId, stepId: event.stepId, command: event.command }];
      case "run-finished": {
        this.dryRuns.delete(event.runId);
        const ops: WriteOp[] = this.drain(event.runId);
        ops.push({
          op: "run-finish",
          runId: event.runId,
          status: event.status,
          exitCode: event.exitCode,
          error: event.error ?? null,
          at: event.time,
        });
        return ops;
      }
      case "run-started":
        // beginRun wrote the row; a dry run's would-do lines go in its steps' output.
        if (event.dryRun) this.dryRuns.add(event.runId);
        return [];
      case "action":
      case "guard":
      case "diff": {
        // A real run's output says what it did; a dry run's would be empty without these.
        if (!this.dryRuns.has(event.runId)) return [];
        const text = dryRunJournalText(event);
        if (text === undefined) return [];
        const s = this.openStep(event.runId, event.stepId, null);
        let t = s.tails.get(NO_HOST);
        if (!t) {
          t = new OutputTail();
          s.tails.set(NO_HOST, t);
        }
        t.push(text);
        return [];
      }
      default:
        return [];
    }
  }

  /** Tails of a run's steps that never finished: persisted and forgotten (run-finished). */
  private drain(runId: string): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const [k, s] of this.open) {
      if (!k.startsWith(`${runId}\u0000`)) continue;
      const stepId = k.slice(runId.length + 1);
      const { tail, truncated } = this.combined(s);
      if (tail !== "") ops.push({ op: "step-tail", runId, stepId, tail, truncated });
      this.open.delete(k);
    }
    return ops;
  }

  /** Snapshots of tails that changed since the last snapshot (flush()). */
  dirtyTails(): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const [k, s] of this.open) {
      if (![...s.tails.values()].some((t) => t.dirty)) continue;
      const sep = k.indexOf("\u0000");
      const { tail, truncated } = this.combined(s);
      for (const t of s.tails.values()) t.dirty = false;
      ops.push({ op: "step-tail", runId: k.slice(0, sep), stepId: k.slice(sep + 1), tail, truncated });
    }
    return ops;
  }
}
