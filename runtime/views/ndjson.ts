// NDJSON output for `run --json`: one JSON object per RunEvent, one per line,
// each with its type, the run id and the step id (null for run-level events).
// One write per event (a chunk of output is one event). A subscriber only;
// events arrive already redacted. Text is raw, JSON-escaped: control characters
// never reach a terminal showing the log as they are (toTerminalJson).

import type { RunEvent, RunEventListener } from "../events.js";
import { toTerminalJson } from "./escape-controls.js";
import type { TextOut } from "./plain-log.js";

export function toJsonLine(event: RunEvent): string {
  const { type, runId, time, stepId, ...rest } = event as RunEvent & { stepId?: string };
  return `${toTerminalJson({ type, runId, stepId: stepId ?? null, time, ...rest })}\n`;
}

export function createNdjson(out: TextOut): RunEventListener {
  return (event) => {
    out.write(toJsonLine(event));
  };
}
