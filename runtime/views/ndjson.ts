// NDJSON output for `run --json`: one JSON object per RunEvent, one per line,
// each with its type, the run id and the step id (null for run-level events).
// A subscriber only; events arrive already redacted.

import type { Writable } from "node:stream";
import type { RunEvent, RunEventListener } from "../events.js";

export function toJsonLine(event: RunEvent): string {
  const { type, runId, time, stepId, ...rest } = event as RunEvent & { stepId?: string };
  return `${JSON.stringify({ type, runId, stepId: stepId ?? null, time, ...rest })}\n`;
}

export function createNdjson(out: Writable): RunEventListener {
  return (event) => {
    out.write(toJsonLine(event));
  };
}
