// RunEvents: everything the executor does, as a stream of plain objects. The
// journal, the plain log, NDJSON output and the Ink UI only subscribe to these;
// none of them reaches into the executor. Text in events is already redacted.
//
// The executor asks its questions (confirmations, manual steps, what to do on a
// failure, step-through) through an Interaction, so the same run can be driven by
// the Ink UI, a plain terminal prompt, or flags alone.

import type { Plan, PlannedStep } from "./plan.js";

/** Which data command a progress event is about. */
export type DataProgressKind = "export" | "import" | "sync";

/** How far a data command is: the table it is on, its rows done (and of how many, when known), the rate. */
export interface DataProgress {
  kind: DataProgressKind;
  table: string;
  /** Rows of this table done so far. */
  rows: number;
  /** Rows the table has (export, sync: counted in the snapshot; import of a csv backup: its manifest), when known. */
  total?: number;
  /** Rows per second over this table so far. */
  rate: number;
  /** Tables finished before this one, and how many there are in all (when known). */
  tablesDone: number;
  tables?: number;
  /** This table is finished (rows is its last count). */
  done: boolean;
  /** Import and sync: the tables, all written, are being read back to verify them (rows: read back so far). */
  verifying?: true;
}

export type StepStatus =
  | "pending"
  | "running"
  | "ok"
  | "failed"
  | "skipped"
  | "interrupted"
  | "rolled-back";

/** "waiting": stopped at an approval gate until enough signed approvals are given (runtime/approvals.ts). */
export type RunStatus = "running" | "succeeded" | "failed" | "aborted" | "interrupted" | "waiting";

interface Base {
  runId: string;
  /** ISO 8601 time of the event. */
  time: string;
}

export type RunEvent =
  | (Base & {
      type: "run-started";
      runbook: string;
      version: string;
      env: string;
      protected: boolean;
      dryRun: boolean;
      /** Set when this run resumes an earlier one. */
      resumedFrom?: string;
      /** The git commit the runbook's files come from, and whether any differs from it (absent outside a repository). */
      git?: { commit: string; dirty: boolean };
      steps: { id: string; title: string; section?: string; host?: string; phase: "main" | "finally" }[];
    })
  | (Base & { type: "step-started"; stepId: string; title: string; host?: string; attempt: number; preview: string[] })
  | (Base & { type: "output"; stepId: string; host?: string; stream: "stdout" | "stderr"; text: string })
  | (Base & { type: "action"; stepId: string; host?: string; kind: string; description: string })
  | (Base & {
      type: "guard";
      stepId: string;
      /** The condition as written (`when`/`unless` not included). */
      source: string;
      result: boolean | "unknown";
      reason?: string;
      /** `when` or `unless` (absent for a `require`). */
      kind?: "when" | "unless";
      /** The condition with its values filled in, as `plan` shows it (secrets masked). */
      resolved?: string;
    })
  | (Base & { type: "confirm"; stepId?: string; question: string; answer: "yes" | "no" | "unanswered"; by: string; dryRun?: boolean })
  | (Base & { type: "manual"; stepId: string; text: string; answer: "done" | "abort" | "unanswered"; by: string })
  | (Base & { type: "note"; stepId: string; text: string })
  // `into NAME`: a value captured for later steps (a secret one without its value).
  | (Base & { type: "captured"; stepId: string; host?: string; name: string; secret: boolean; value?: string })
  // A data step's progress (export, import, sync: data.ts), at most a few times a second.
  | (Base & { type: "progress"; stepId: string; host?: string } & DataProgress)
  | (Base & { type: "diff"; stepId: string; host?: string; path: string; diff: string })
  | (Base & {
      type: "step-finished";
      stepId: string;
      host?: string;
      status: Exclude<StepStatus, "pending" | "running">;
      /** Why it was skipped / why it failed, in plain words. */
      reason?: string;
      exitCode?: number | null;
      signal?: string | null;
      /** From its start to its end, leaving out the time its questions waited for the operator. */
      durationMs: number;
      /** Time its confirmations and manual steps waited for the operator (absent when none). */
      waitedMs?: number;
      attempt: number;
    })
  | (Base & {
      type: "command-started";
      stepId: string;
      /** The label of where it runs, as in output events (a group member's target); absent locally. */
      host?: string;
      /** How to find it again later (resume): see CommandRef. */
      command: CommandRef;
    })
  | (Base & { type: "command-ended"; stepId: string; host?: string; command: Pick<CommandRef, "host" | "target"> })
  | (Base & { type: "host-finished"; stepId: string; host: string; status: "ok" | "failed"; exitCode?: number | null; error?: string; durationMs: number })
  | (Base & { type: "rollback-started"; steps: string[] })
  | (Base & { type: "rollback-step"; stepId: string; status: "ok" | "failed"; error?: string })
  | (Base & { type: "failure-choice"; stepId: string; choice: FailureChoice; by: string })
  // The approval gate (approvals.ts): what an approver needs, and each signed approval's verdict.
  | (Base & { type: "approval-waiting" } & ApprovalRequest & { approvedBy: string[] })
  | (Base & { type: "approval"; stepId: string; group: string; approver: string; signedAt: string; status: "verified" | "refused"; reason?: string })
  | (Base & { type: "run-finished"; status: RunStatus; exitCode: number; durationMs: number; error?: string })
  // Preflight (preflight.ts): before the first step, every target the plan can touch is reached once.
  | (Base & { type: "preflight-started"; targets: PreflightTargetInfo[] })
  | (Base & { type: "preflight-target"; target: string; kind: PreflightKind; name: string; status: PreflightStatus; reason?: string; durationMs: number })
  | (Base & { type: "preflight-finished"; counts: Record<PreflightStatus, number>; durationMs: number })
  // A dry run's verdict (verdict.ts), just before run-finished.
  | (Base & {
      type: "dry-run-verdict";
      verdict: DryRunVerdict;
      /** Checks made that held. */
      checked: number;
      failed: VerdictItem[];
      notVerified: VerdictItem[];
      /** Values unknown until an earlier step runs: counted apart, never a failure. */
      pending: VerdictItem[];
    });

/**
 * What an approver signs for: this run, these source files (the runbook, its includes,
 * the allowed-signers file), this plan, before this step; `count` approvals from `group`.
 */
export interface ApprovalRequest {
  stepId: string;
  group: string;
  count: number;
  sources: SourceDigest[];
  planDigest: string;
  /** The principals (allowed_signers) of the key running the release: they may not approve it. */
  runner?: string[];
}

export interface SourceDigest {
  /** Relative to the main runbook file's folder. */
  path: string;
  sha256: string;
}

/** What preflight reaches: an SSH host (one per group member), `sudo -n` for a user, a database, a secret, a local file. */
export type PreflightKind = "host" | "sudo" | "database" | "secret" | "file";
/**
 * ok: reached. failed: refused, unreachable or missing (a real run does not start).
 * not-checked: could not be tried (--no-probe, or what it needs failed).
 * deferred: cannot be known before an earlier step runs (a file it writes), or needed only if a run-time guard lets its step run.
 */
export type PreflightStatus = "ok" | "failed" | "not-checked" | "deferred";
export interface PreflightTargetInfo {
  id: string;
  kind: PreflightKind;
  /** For people: the host's label, "USER on HOST", the database, secret or file name. */
  name: string;
}

export type DryRunVerdict = "would-run" | "would-fail" | "not-verified";
export interface VerdictItem {
  stepId?: string;
  /** What was (or could not be) checked. */
  what: string;
  /** Why it failed / could not be checked / is unknown. */
  why: string;
}

export type RunEventType = RunEvent["type"];

/**
 * A step's command as it started: where (the plan's host name and, for a group,
 * the member's target; both null on this machine) and what identifies it there
 * (locally its process group and the start time of its leader; on a host the
 * RUNBOOK_EXEC_ID token its shell exports).
 */
export interface CommandRef {
  host: string | null;
  target: string | null;
  pid?: number;
  pgid?: number;
  /** Boot id and start time (clock ticks) of the leader: a reused pid does not match. */
  startToken?: string;
  execId?: string;
  /** On a host through sudo: the user it runs as. */
  asUser?: string;
}

export type FailureChoice = "retry" | "skip" | "rollback" | "abort";
export type StepChoice = "run" | "skip" | "abort";

export interface StepContext {
  plan: Plan;
  step: PlannedStep;
  index: number;
}

/**
 * How the executor asks a person. Each method may return "unanswerable" when no one
 * can answer (no terminal, no flag): the run then fails at once with exit 3.
 */
export interface Interaction {
  /** Before each step in step-through mode; plain modes return "run". */
  beforeStep(ctx: StepContext): Promise<StepChoice>;
  /** `confirm` in a step (step set) or the env's own (step undefined). */
  confirm(question: string, ctx: { plan: Plan; step?: PlannedStep }): Promise<boolean | "unanswerable">;
  manual(text: string, ctx: StepContext): Promise<"done" | "abort" | "unanswerable">;
  onFailure(error: string, ctx: StepContext): Promise<FailureChoice | "unanswerable">;
  /** An interrupted step found on resume: rerun it? */
  rerunInterrupted?(ctx: StepContext): Promise<boolean | "unanswerable">;
}

/** Subscribers get every event in order; they must not throw (errors are swallowed and reported once). */
export type RunEventListener = (event: RunEvent) => void;

export class EventBus {
  private readonly listeners: RunEventListener[] = [];

  subscribe(listener: RunEventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  emit(event: RunEvent): void {
    for (const l of this.listeners) l(event);
  }
}
