// Wording shared by the views (plain log, Ink UI, journal) for what a step did or,
// in a dry run, would do: a guard with its values filled in and its outcome, and
// the lines a dry run keeps in the journal so `runbook show` prints them.

import type { RunEvent } from "../events.js";

type GuardEvent = Extract<RunEvent, { type: "guard" }>;

/** Whether the guard lets its step run: `when` holds when true, `unless` when false; unknown in a dry run that cannot tell. */
export function guardHolds(e: Pick<GuardEvent, "kind" | "result">): boolean | "unknown" {
  if (e.result === "unknown") return "unknown";
  return e.kind === "unless" ? !e.result : e.result;
}

/** "when test -d /srv/app" (its values filled in when known). */
export function guardCondition(e: Pick<GuardEvent, "kind" | "source" | "resolved">): string {
  return `${e.kind ? `${e.kind} ` : ""}${e.resolved ?? e.source}`;
}

/** "true, runs" / "false, skips" / "unknown": the value and what it means for the step. */
export function guardOutcome(e: Pick<GuardEvent, "kind" | "result">): string {
  const holds = guardHolds(e);
  if (holds === "unknown") return "unknown";
  if (e.kind === undefined) return `${e.result}${holds ? "" : ", fails"}`;
  return `${e.result}, ${holds ? "runs" : "skips"}`;
}

/** The whole guard line: "when test -d /srv/app: true, runs (reason)". */
export function guardLine(e: GuardEvent): string {
  return `${guardCondition(e)}: ${guardOutcome(e)}${e.reason ? ` (${e.reason})` : ""}`;
}

/** The same, its outcome first (a narrow pane cuts the end of a long condition): "[true, runs] when test -d /srv/app". */
export function guardLineOutcomeFirst(e: GuardEvent): string {
  return `[${guardOutcome(e)}] ${guardCondition(e)}${e.reason ? ` (${e.reason})` : ""}`;
}

/**
 * What a dry run keeps in a step's journaled output for the events the journal has
 * no table for (the command, SQL or edit it would make, and its guards), as text:
 * undefined for any other event.
 */
export function dryRunJournalText(e: RunEvent): string | undefined {
  switch (e.type) {
    case "action":
      return `${e.host ? `[${e.host}] ` : ""}${e.description}\n`;
    case "guard":
      return `guard ${guardLine(e)}\n`;
    case "diff":
      return `${e.host ? `[${e.host}] ` : ""}would edit ${e.path}:\n${e.diff.endsWith("\n") || e.diff === "" ? e.diff : `${e.diff}\n`}`;
    default:
      return undefined;
  }
}
