// What the Ink UI's components read of the store: a step's view, the dialog
// on screen, the keys, and the store's options.

import type { DataProgress, StepStatus } from "../../../runtime/events.js";
import type { OutputBuffer } from "../output-buffer.js";
import type { Plan, PlannedStep } from "../../../runtime/plan.js";

export interface StepView {
  id: string;
  title: string;
  section?: string;
  host?: string;
  phase: "main" | "finally";
  planned?: PlannedStep;
  status: StepStatus;
  attempt: number;
  /** Date.now() when the current attempt started. */
  startedAt?: number;
  durationMs?: number;
  /** Time its questions waited for the operator (not in durationMs). */
  waitedMs?: number;
  /** Only notes (or nothing) to do: no time is shown. */
  noteOnly?: boolean;
  /** Done (or interrupted) in the run this one resumes: what that run recorded. */
  earlier?: boolean;
  reason?: string;
  exitCode?: number | null;
  signal?: string | null;
  output: OutputBuffer;
  /** Unified diffs the executor showed for this step's edits (the last few). */
  diffs: { path: string; host?: string; diff: string }[];
  rollback?: "pending" | "ok" | "failed";
  rollbackError?: string;
  /** Partial lines per host, for host groups whose members' output interleaves. */
  partials?: Map<string, string>;
  /** The last progress of an export, import or sync step (until it starts again). */
  progress?: DataProgress;
}

export type Dialog =
  | { kind: "step"; stepId: string }
  | { kind: "confirm"; stepId?: string; question: string; protected: boolean; typed: string; error?: string }
  | { kind: "manual"; stepId: string; text: string }
  | { kind: "failure"; stepId: string; error: string }
  | { kind: "rerun"; stepId: string }
  /** The run is over and the screen stays until the operator leaves (a dry run: its report is there to read). */
  | { kind: "finished"; stepId?: undefined };

/** The keys the UI reads (a subset of Ink's Key, so the store needs no Ink). */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  backspace?: boolean;
  delete?: boolean;
  tab?: boolean;
  meta?: boolean;
}

/** A step as the run being resumed left it (journal), shown until it runs again. */
export interface EarlierStep {
  status: Exclude<StepStatus, "pending" | "running">;
  durationMs?: number;
  reason?: string;
}

export interface StoreOptions {
  plan: Plan;
  runId: string;
  dryRun: boolean;
  /** Stop before each step (default true). */
  stepThrough?: boolean;
  /** Least time between two event-driven notifications (default 66 ms, ~15 fps). */
  frameMs?: number;
  /** Lines kept per step (default 2000). */
  maxLines?: number;
  /** Ctrl-C: what the plain mode's SIGINT does. */
  onInterrupt?: () => void;
  /** Whether anyone can press keys (stdin is a terminal); if not, questions are "unanswerable". */
  canAnswer?: boolean;
  /** `resume`: the steps the earlier run finished or left interrupted, by id. */
  earlier?: ReadonlyMap<string, EarlierStep>;
  /** The --state the run was given (the resume command the summary offers names it). */
  state?: string;
}

/** The preflight's view among the steps (a space: no step id has one). */
export const PREFLIGHT_ID = " preflight";
