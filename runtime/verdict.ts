// A dry run's verdict: the executor tallies every check the dry run makes (each
// preflight target, guard, `require`, `wait` condition, edit, file it looks at)
// as checked, failed, not verified, or unknown until an earlier step runs, and
// the verdict follows from the tally alone: "would run" only when everything was
// checked and held (exit 0); "would fail" when a check failed (a false `require`,
// a target refused, a step that would stop the run; exit 1); "not verified" when
// nothing failed but something could not be checked (exit 1). Values unknown
// until an earlier step runs are counted apart and never fail a dry run. The
// verdict's wording (the plain log, the last line of a dry run) is here.

import { assertNever } from "../language/assert.js";
import type { DryRunVerdict, PreflightKind, RunEvent, VerdictItem } from "./events.js";

export type VerdictEvent = Extract<RunEvent, { type: "dry-run-verdict" }>;

/** How a preflight target is named in the verdict: `secret pw`, `host web`. */
export function preflightWhat(kind: PreflightKind, name: string): string {
  return `${kind} ${name}`;
}

export class DryRunTally {
  checked = 0;
  readonly failed: VerdictItem[] = [];
  readonly notVerified: VerdictItem[] = [];
  readonly pending: VerdictItem[] = [];

  check(): void {
    this.checked++;
  }

  fail(item: VerdictItem): void {
    this.failed.push(item);
  }

  notVerify(item: VerdictItem): void {
    this.notVerified.push(item);
  }

  pend(item: VerdictItem): void {
    this.pending.push(item);
  }

  /**
   * What was pending is now decided by the dry run itself (a secret the preflight left
   * to a run-time guard, read once the guard held): it counts where that check lands
   * (checked, or the step's failure), not again as unknown.
   */
  settle(what: string): boolean {
    const before = this.pending.length;
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.what === what) this.pending.splice(i, 1);
    return this.pending.length < before;
  }

  verdict(): DryRunVerdict {
    if (this.failed.length > 0) return "would-fail";
    if (this.notVerified.length > 0) return "not-verified";
    return "would-run";
  }

  event(): Omit<VerdictEvent, "runId" | "time"> {
    return { type: "dry-run-verdict", verdict: this.verdict(), checked: this.checked, failed: [...this.failed], notVerified: [...this.notVerified], pending: [...this.pending] };
  }
}

export const VERDICT_WORD: { [V in DryRunVerdict]: string } = {
  "would-run": "would run",
  "would-fail": "would fail",
  "not-verified": "not verified",
};

export function verdictExitCode(v: DryRunVerdict): number {
  switch (v) {
    case "would-run":
      return 0;
    case "would-fail":
    case "not-verified":
      return 1;
    default:
      return assertNever(v, "verdict");
  }
}

/** "12 checked, 1 failed, 3 not verified, 2 unknown until an earlier step runs" */
export function verdictCounts(v: Pick<VerdictEvent, "checked" | "failed" | "notVerified" | "pending">): string {
  const parts = [`${v.checked} checked`, `${v.failed.length} failed`, `${v.notVerified.length} not verified`];
  if (v.pending.length > 0) parts.push(`${v.pending.length} unknown until an earlier step runs`);
  return parts.join(", ");
}

/** The run's error for a dry run that is not "would run". */
export function verdictError(v: Pick<VerdictEvent, "verdict" | "failed" | "notVerified">): string | undefined {
  switch (v.verdict) {
    case "would-run":
      return undefined;
    case "would-fail":
      return `would fail: ${v.failed.length === 1 ? "1 check failed" : `${v.failed.length} checks failed`}${
        v.notVerified.length ? `, ${v.notVerified.length} could not be made` : ""
      }`;
    case "not-verified":
      return `not verified: ${v.notVerified.length === 1 ? "1 check" : `${v.notVerified.length} checks`} could not be made`;
    default:
      return assertNever(v.verdict, "verdict");
  }
}

/** The verdict's lines for the plain log: the verdict, then each failed, not verified and pending item. */
export function verdictLines(v: VerdictEvent): string[] {
  const item = (i: VerdictItem) => `${i.stepId !== undefined ? `[${i.stepId}] ` : ""}${i.what}: ${i.why}`;
  return [
    `verdict: ${VERDICT_WORD[v.verdict]} (${verdictCounts(v)})`,
    ...v.failed.map((i) => `  failed: ${item(i)}`),
    ...v.notVerified.map((i) => `  not verified: ${item(i)}`),
    ...v.pending.map((i) => `  unknown until an earlier step runs: ${item(i)}`),
  ];
}

/** The last line of a dry run: "dry run: would fail: 12 checked, 1 failed, 3 not verified". */
export function verdictSummary(v: Pick<VerdictEvent, "verdict" | "checked" | "failed" | "notVerified" | "pending">): string {
  return `dry run: ${VERDICT_WORD[v.verdict]}: ${verdictCounts(v)}`;
}
