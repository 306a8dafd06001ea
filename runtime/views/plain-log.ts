// The plain log: one line per event, with an ISO timestamp and the step id, for
// `run --no-tui` and for output that is not a terminal (CI logs, pipes). Command
// output is shown line by line, each line prefixed with the step id and host; a
// partial line is held until its newline or until its step (or host) finishes.
// Each event is one write, however many lines it holds (a step printing a
// million lines costs as many writes as chunks it prints, not a million); text
// is written while its event is handled, so it is out before any question that
// follows it is asked. A subscriber only: it reads RunEvents (already redacted)
// and writes text, to a stream or an OutputSink (output-sink.ts). Control
// characters in output and in values are shown escaped (escape-controls.ts).

import { captureWords } from "../secret-wording.js";
import { assertNever } from "../../language/assert.js";
import type { DataProgress, PreflightStatus, RunEvent, RunEventListener } from "../events.js";
import { verdictLines } from "../verdict.js";
import { escapeControls, hasControls } from "./escape-controls.js";
import { guardCondition, guardHolds, guardOutcome } from "./step-lines.js";

/** Where the log goes: a Writable, or an OutputSink over one. */
export interface TextOut {
  write(text: string): unknown;
}

export interface PlainLogOptions {
  color?: boolean;
}

const codes = { dim: "2", red: "31", green: "32", yellow: "33", blue: "34", magenta: "35", cyan: "36", bold: "1" } as const;
type Colour = keyof typeof codes;

function ms(n: number): string {
  if (n < 1000) return `${Math.round(n)}ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)}s`;
  const m = Math.floor(n / 60_000);
  const s = Math.round((n % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, "0")}s`;
}

export function createPlainLog(out: TextOut, options: PlainLogOptions = {}): RunEventListener & { flush(): void } {
  const color = options.color ?? false;
  const c = (name: Colour, s: string) => (color ? `\u001b[${codes[name]}m${s}\u001b[0m` : s);
  /** Partial output lines, by step, host and stream. */
  const partial = new Map<string, { time: string; stepId: string; host?: string; stream: "stdout" | "stderr"; text: string }>();
  let dryRun = false;
  /** When each step's last progress line was written (or its first progress came). */
  const lastProgress = new Map<string, number>();

  const write = (time: string, stepId: string | undefined, text: string) => {
    const prefix = `${c("dim", time)}${stepId !== undefined ? ` ${c("cyan", `[${stepId}]`)}` : ""}`;
    const lines = text.split("\n");
    out.write(lines.map((l) => `${prefix} ${l}`).join("\n") + "\n");
  };
  const outputPrefix = (time: string, stepId: string, host: string | undefined, stream: "stdout" | "stderr") =>
    `${c("dim", time)} ${c("cyan", `[${stepId}]`)} ${c("blue", host ?? "local")} ${stream === "stderr" ? c("yellow", "!") : c("dim", "|")} `;
  /**
   * Whole lines of output (text ends with a newline), each with the prefix and without one
   * trailing \r, control characters escaped: one string.
   */
  const outputLines = (prefix: string, text: string) => {
    let s = "";
    // Text with no control character at all (the usual case) needs no escaping, line by line.
    const clean = !hasControls(text);
    for (let from = 0, nl = text.indexOf("\n"); nl >= 0; from = nl + 1, nl = text.indexOf("\n", from)) {
      const line = text.slice(from, nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      s += `${prefix}${clean ? line : escapeControls(line)}\n`;
    }
    return s;
  };
  const outputLine = (time: string, stepId: string, host: string | undefined, stream: "stdout" | "stderr", line: string) => {
    out.write(outputLines(outputPrefix(time, stepId, host, stream), `${line}\n`));
  };
  const flushWhere = (pred: (k: { stepId: string; host?: string }) => boolean) => {
    for (const [key, p] of partial) {
      if (!pred(p)) continue;
      if (p.text !== "") outputLine(p.time, p.stepId, p.host, p.stream, p.text);
      partial.delete(key);
    }
  };

  const listener = (event: RunEvent): void => {
    // Output is escaped line by line (outputLines); every other event's text here.
    const e = event.type === "output" ? event : escapeEvent(event);
    switch (e.type) {
      case "run-started":
        dryRun = e.dryRun;
        write(
          e.time,
          undefined,
          `${c("bold", dryRun ? "dry run" : "run")} ${e.runId}: ${e.runbook} ${e.version} in env ${e.env}${e.protected ? " (protected)" : ""}${
            e.resumedFrom ? ` (resumed)` : ""
          }${e.git ? ` from commit ${e.git.commit.slice(0, 12)}${e.git.dirty ? " with uncommitted changes" : ""}` : ""}, ${e.steps.length} step${e.steps.length === 1 ? "" : "s"}${dryRun ? ": nothing will be changed" : ""}`,
        );
        break;
      case "step-started":
        write(e.time, e.stepId, `${c("bold", "started")}${e.host ? ` on ${e.host}` : ""}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}: ${e.title}`);
        break;
      case "action":
        write(e.time, e.stepId, `${e.host ? `${c("blue", e.host)} ` : ""}${e.description}`);
        break;
      case "output": {
        const key = `${e.stepId}\u0000${e.host ?? ""}\u0000${e.stream}`;
        const p = partial.get(key) ?? { time: e.time, stepId: e.stepId, ...(e.host !== undefined ? { host: e.host } : {}), stream: e.stream, text: "" };
        if (p.text === "") p.time = e.time;
        // Only the new text is searched: a very long line arriving in many chunks costs no more than its length.
        const end = e.text.lastIndexOf("\n") + 1;
        if (end === 0) p.text += e.text;
        else {
          out.write(outputLines(outputPrefix(e.time, e.stepId, e.host, e.stream), p.text + e.text.slice(0, end)));
          p.text = e.text.slice(end);
        }
        partial.set(key, p);
        break;
      }
      case "guard": {
        const holds = guardHolds(e);
        write(e.time, e.stepId, `${guardCondition(e)}: ${c(holds === "unknown" ? "magenta" : holds ? "green" : "yellow", guardOutcome(e))}${e.reason ? ` (${e.reason})` : ""}`);
        break;
      }
      case "confirm":
        if (e.dryRun) write(e.time, e.stepId, `${c("magenta", "would ask")}: ${e.question}`);
        else write(e.time, e.stepId, `confirm: ${e.question} → ${e.answer === "yes" ? c("green", "yes") : c("red", e.answer)} (${e.by})`);
        break;
      case "manual":
        if (e.by === "dry-run") write(e.time, e.stepId, `${c("magenta", "would ask the operator to do")}: ${e.text}`);
        else write(e.time, e.stepId, `manual: ${e.text} → ${e.answer === "done" ? c("green", "done") : c("red", e.answer)} (${e.by})`);
        break;
      case "note":
        write(e.time, e.stepId, `note: ${e.text}`);
        break;
      case "captured":
        write(e.time, e.stepId, `${e.host ? `[${e.host}] ` : ""}${captureWords.captured(e.name, e.value)}`);
        break;
      case "progress": {
        // One line every few seconds per step (NDJSON carries every event); a step's end says the totals.
        const at = Date.parse(e.time);
        const last = lastProgress.get(e.stepId);
        if (last === undefined) lastProgress.set(e.stepId, at); // the first: the clock starts
        else if (at - last >= PROGRESS_EVERY_MS) {
          lastProgress.set(e.stepId, at);
          write(e.time, e.stepId, progressLine(e));
        }
        break;
      }
      case "diff":
        write(e.time, e.stepId, `${e.host ? `${c("blue", e.host)} ` : ""}${dryRun ? "would edit" : "edited"} ${e.path}:\n${colourDiff(e.diff.replace(/\n$/, ""), c)}`);
        break;
      case "host-finished":
        flushWhere((p) => p.stepId === e.stepId && p.host === e.host);
        write(
          e.time,
          e.stepId,
          `${c("blue", e.host)} ${e.status === "ok" ? c("green", "ok") : c("red", "failed")}${e.error ? `: ${e.error}` : ""} (${ms(e.durationMs)})`,
        );
        break;
      case "step-finished": {
        flushWhere((p) => p.stepId === e.stepId);
        const status =
          e.status === "ok"
            ? c("green", "ok")
            : e.status === "skipped"
              ? c("yellow", "skipped")
              : e.status === "rolled-back"
                ? c("magenta", "rolled back")
                : c("red", e.status);
        const hasCode = e.exitCode !== undefined && e.exitCode !== null && e.status === "failed";
        // "the command exited with status 2" already says it; no "(exit 2)" after it.
        const code = hasCode && !e.reason?.includes(`status ${e.exitCode}`) ? ` (exit ${e.exitCode})` : "";
        const reason = e.reason && !(e.status === "rolled-back" && e.reason === "rolled back") ? e.reason : undefined;
        // "ok in 9ms"; after a reason, in brackets, so it does not read as part of it.
        const took = e.status === "skipped" || e.status === "rolled-back" ? "" : reason || code ? ` (${ms(e.durationMs)})` : ` in ${ms(e.durationMs)}`;
        write(e.time, e.stepId, `${status}${reason ? `: ${reason}` : ""}${code}${took}`);
        break;
      }
      case "failure-choice":
        write(e.time, e.stepId, `on failure: ${e.choice} (${e.by})`);
        break;
      case "rollback-started":
        write(e.time, undefined, `${c("magenta", "rollback")}: ${e.steps.length ? `undoing ${e.steps.join(", ")}` : "no step has an undo to run"}`);
        break;
      case "rollback-step":
        write(e.time, e.stepId, e.status === "ok" ? c("magenta", "undone") : `${c("red", "undo failed")}: ${e.error ?? ""}`);
        break;
      case "preflight-started":
        write(e.time, undefined, `${c("bold", "preflight")}: reaching ${e.targets.length} target${e.targets.length === 1 ? "" : "s"}`);
        break;
      case "preflight-target": {
        const [colour, word] = PREFLIGHT_WORD[e.status];
        write(e.time, undefined, `preflight: ${e.kind} ${e.name} ${c(colour, word)}${e.reason ? `: ${e.reason}` : ""} (${ms(e.durationMs)})`);
        break;
      }
      case "preflight-finished": {
        const parts = (Object.keys(PREFLIGHT_WORD) as PreflightStatus[]).filter((k) => k === "ok" || e.counts[k] > 0).map((k) => `${e.counts[k]} ${PREFLIGHT_WORD[k][1]}`);
        write(e.time, undefined, `preflight: ${parts.join(", ")} (${ms(e.durationMs)})`);
        break;
      }
      case "dry-run-verdict":
        write(e.time, undefined, verdictLines(e).join("\n"));
        break;
      case "run-finished": {
        flushWhere(() => true);
        const status = e.status === "succeeded" ? c("green", e.status) : c("red", e.status);
        write(e.time, undefined, `${dryRun ? "dry run" : "run"} ${e.runId} ${status} in ${ms(e.durationMs)} (exit ${e.exitCode})${e.error ? `: ${e.error}` : ""}`);
        break;
      }
      case "command-started":
      case "command-ended":
        break; // for the journal (what resume looks for): the action line already showed the command
      default:
        assertNever(e, "event");
    }
  };
  return Object.assign(listener, { flush: () => flushWhere(() => true) });
}

/** The plain log writes a data step's progress at most this often. */
export const PROGRESS_EVERY_MS = 5000;

/** "sync person: 120,000 of 1,000,000 rows (12%), 85,000 rows/s, table 2 of 3" */
export function progressLine(p: DataProgress): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const of = p.total !== undefined ? ` of ${n(p.total)}` : "";
  const pct = p.total ? ` (${Math.floor((100 * p.rows) / p.total)}%)` : "";
  const tables = p.tables !== undefined ? `, table ${p.tablesDone + 1} of ${p.tables}` : "";
  return `${p.kind} ${p.table}: ${n(p.rows)}${of} rows${pct}, ${n(p.rate)} rows/s${tables}`;
}

const PREFLIGHT_WORD: { [S in PreflightStatus]: [Colour, string] } = {
  ok: ["green", "ok"],
  failed: ["red", "failed"],
  "not-checked": ["magenta", "not checked"],
  deferred: ["yellow", "checked when needed"],
};

/** An event with control characters escaped in its text fields (itself when there are none). */
function escapeEvent(e: RunEvent): RunEvent {
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(e)) {
    if (typeof v !== "string" || !hasControls(v)) continue;
    (copy ??= { ...e })[k] = escapeControls(v);
  }
  if (e.type === "rollback-started" && e.steps.some(hasControls)) (copy ??= { ...e }).steps = e.steps.map(escapeControls);
  return (copy as RunEvent | undefined) ?? e;
}

function colourDiff(diff: string, c: (name: Colour, s: string) => string): string {
  return diff
    .split("\n")
    .map((l) => (l.startsWith("+") && !l.startsWith("+++") ? c("green", l) : l.startsWith("-") && !l.startsWith("---") ? c("red", l) : l.startsWith("@@") ? c("cyan", l) : l))
    .map((l) => `    ${l}`)
    .join("\n");
}
