// The plain log: one line per event, with the time of day (HH:MM:SS, local time)
// and the step id, for `run --no-tui` and for output that is not a terminal (CI
// logs, pipes). The date and the time zone are on a line of their own, at the start
// and again whenever they change (a run past midnight). An event of several lines
// (a multi-line command, SQL, a diff) is one entry: its first line carries the
// prefix, the rest are indented under it. Command output is shown line by line,
// each line prefixed with the step id and host; a partial line is held until its
// newline or until its step (or host) finishes.
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

/**
 * Times of day for the log's lines: `stamp(iso)` is "14:05:09" in local time,
 * preceded (once) by the date line when the date or the zone differs from the last
 * one shown. A time that does not parse is shown as it is.
 */
export function logClock(): (iso: string) => { time: string; dateLine?: string } {
  let shownDay: string | undefined;
  let lastSecond = NaN;
  let last = "";
  /** "2026-12-07T14:05:09" of the last UTC time read ("…Z", as events have it): the same second needs no parsing. */
  let lastKey: string | undefined;
  return (iso) => {
    if (lastKey !== undefined && iso.length === 24 && iso.startsWith(lastKey) && iso.endsWith("Z")) return { time: last };
    lastKey = iso.length === 24 && iso.endsWith("Z") ? iso.slice(0, 19) : undefined;
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return { time: iso };
    const second = Math.floor(t / 1000);
    // Within the second just shown: the same time, on the day just shown.
    if (second === lastSecond) return { time: last };
    const d = new Date(t);
    const day = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}, times in ${zoneName(d.getTimezoneOffset())}`;
    lastSecond = second;
    last = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    if (day === shownDay) return { time: last };
    shownDay = day;
    return { time: last, dateLine: `-- ${day} --` };
  };
}

const two = (n: number) => String(n).padStart(2, "0");

/** "UTC", "UTC+01:00", "UTC-05:30" for a Date's getTimezoneOffset(). */
function zoneName(offsetMinutes: number): string {
  if (offsetMinutes === 0) return "UTC";
  const east = -offsetMinutes;
  const a = Math.abs(east);
  return `UTC${east > 0 ? "+" : "-"}${two(Math.floor(a / 60))}:${two(a % 60)}`;
}

export function createPlainLog(out: TextOut, options: PlainLogOptions = {}): RunEventListener & { flush(): void } {
  const color = options.color ?? false;
  const c = (name: Colour, s: string) => (color ? `\u001b[${codes[name]}m${s}\u001b[0m` : s);
  const clock = logClock();
  /** The time of day for a line, after the date line when the date changed. */
  const stamp = (iso: string) => {
    const { time, dateLine } = clock(iso);
    return { head: dateLine === undefined ? "" : `${c("dim", dateLine)}\n`, time };
  };
  /** Partial output lines, by step, host and stream. */
  const partial = new Map<string, { time: string; stepId: string; host?: string; stream: "stdout" | "stderr"; text: string }>();
  let dryRun = false;
  /** When each step's last progress line was written (or its first progress came). */
  const lastProgress = new Map<string, number>();

  /**
   * One event: its first line after the prefix, any further lines indented under
   * its text (by `indent` more columns), so that a multi-line command reads as one.
   */
  const write = (iso: string, stepId: string | undefined, text: string, indent = 0) => {
    const { head, time } = stamp(iso);
    const prefix = `${c("dim", time)}${stepId !== undefined ? ` ${c("cyan", `[${stepId}]`)}` : ""} `;
    const nl = text.indexOf("\n");
    if (nl < 0) {
      out.write(`${head}${prefix}${text}\n`);
      return;
    }
    const under = " ".repeat(time.length + (stepId !== undefined ? stepId.length + 3 : 0) + 1 + indent);
    const rest = text.slice(nl + 1).split("\n").map((l) => (l === "" ? "" : `${under}${l}`));
    out.write(`${head}${prefix}${text.slice(0, nl)}\n${rest.join("\n")}\n`);
  };
  const outputPrefix = (iso: string, stepId: string, host: string | undefined, stream: "stdout" | "stderr") => {
    const { head, time } = stamp(iso);
    return { head, prefix: `${c("dim", time)} ${c("cyan", `[${stepId}]`)} ${c("blue", host ?? "local")} ${stream === "stderr" ? c("yellow", "!") : c("dim", "|")} ` };
  };
  /**
   * Whole lines of output (text ends with a newline), each with the prefix and without one
   * trailing \r, control characters escaped: one string.
   */
  const outputLines = ({ head, prefix }: { head: string; prefix: string }, text: string) => {
    let s = head;
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
      case "action": {
        // A command's further lines line up under its first, after the "$ ".
        const first = e.description.slice(0, (e.description.indexOf("\n") + 1 || e.description.length + 1) - 1);
        const dollar = e.kind === "run" ? first.indexOf("$ ") : -1;
        const indent = (e.host ? e.host.length + 1 : 0) + (dollar >= 0 ? dollar + 2 : 2);
        write(e.time, e.stepId, `${e.host ? `${c("blue", e.host)} ` : ""}${e.description}`, indent);
        break;
      }
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
        write(e.time, e.stepId, `${e.host ? `${c("blue", e.host)} ` : ""}${dryRun ? "would edit" : "edited"} ${e.path}:\n${colourDiff(e.diff.replace(/\n$/, ""), c)}`, 2);
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
        // The time the step's questions waited for an answer is not in its own time: said apart.
        const waited = e.waitedMs !== undefined && e.waitedMs >= 1000 ? `, waited ${ms(e.waitedMs)} for an answer` : "";
        const took =
          e.status === "skipped" || e.status === "rolled-back" ? "" : reason || code ? ` (${ms(e.durationMs)}${waited})` : ` in ${ms(e.durationMs)}${waited}`;
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
      case "approval":
        write(e.time, e.stepId, e.status === "verified" ? `${c("green", "approved")} by ${e.approver} (signed ${e.signedAt})` : `${c("red", "approval refused")}: ${e.approver} (signed ${e.signedAt}): ${e.reason ?? ""}`);
        break;
      case "approval-waiting":
        write(e.time, e.stepId, approvalWaitingLines(e).join("\n"));
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

/** What an approver needs, as the plain log and the UI's summary print it. */
export function approvalWaitingLines(e: Extract<RunEvent, { type: "approval-waiting" }>): string[] {
  return [
    `waiting for approval: ${e.count} from "${e.group}" before step ${e.stepId}${e.approvedBy.length > 0 ? `; approved by ${e.approvedBy.join(", ")}` : ""}`,
    `  run id:      ${e.runId}`,
    ...e.sources.map((d) => `  sha256:      ${d.sha256}  ${d.path}`),
    `  plan digest: ${e.planDigest}`,
    `  an approver: runbook approve ${e.runId}  (with this run's journal, --state), then here: runbook resume ${e.runId}`,
    `  without a shared journal: runbook show ${e.runId} --approval-request > request.json; the approver:`,
    `    runbook approve --request request.json --out approval.json; then here: runbook resume ${e.runId} --approval approval.json`,
  ];
}

/** The plain log writes a data step's progress at most this often. */
export const PROGRESS_EVERY_MS = 5000;

/** "sync person: 120,000 of 1,000,000 rows (12%), 85,000 rows/s, table 2 of 3"; "sync person, read back to verify: …" */
export function progressLine(p: DataProgress): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const of = p.total !== undefined ? ` of ${n(p.total)}` : "";
  const pct = p.total ? ` (${Math.floor((100 * p.rows) / p.total)}%)` : "";
  const tables = p.tables !== undefined ? `, table ${p.tablesDone + 1} of ${p.tables}` : "";
  return `${p.kind} ${p.table}${p.verifying ? ", read back to verify" : ""}: ${n(p.rows)}${of} rows${pct}, ${n(p.rate)} rows/s${tables}`;
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
    .join("\n");
}
