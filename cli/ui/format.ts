// Small text helpers shared by the Ink UI and its plain summary: durations,
// status glyphs, and making a step's raw output safe to draw in one terminal row.

import type { PreflightStatus, StepStatus } from "../../runtime/events.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";

/** 320ms, 12.3s, 2m05s, 1h02m. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** What a step's time depends on (a StepView is one). */
export interface TimedStep {
  status: StepStatus;
  startedAt?: number;
  durationMs?: number;
  /** Only notes (or nothing) to do: it takes no time worth showing. */
  noteOnly?: boolean;
}

/**
 * A step's time, from its start to its end (the operator's answers left out): the
 * running clock while it runs; nothing for a step not run, skipped or with only notes.
 */
export function stepTime(v: TimedStep, now = Date.now()): string {
  if (v.status === "running") return v.startedAt !== undefined && !v.noteOnly ? formatDuration(now - v.startedAt) : "";
  if (v.status === "pending" || v.status === "skipped" || v.noteOnly || v.durationMs === undefined) return "";
  return formatDuration(v.durationMs);
}

/** "waited 20.2s for you": the time a step's questions waited, shown apart from its own. */
export function waitText(waitedMs: number | undefined): string {
  return waitedMs !== undefined && waitedMs >= 1000 ? `waited ${formatDuration(waitedMs)} for you` : "";
}

/** 00:42, 12:03, 1:02:03: a running clock. */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export const GLYPH: Record<Exclude<StepStatus, "running">, string> = {
  pending: "○",
  ok: "✔",
  failed: "✘",
  skipped: "↷",
  interrupted: "⚠",
  "rolled-back": "↺",
};

export const STATUS_COLOR: Record<StepStatus, string> = {
  pending: "gray",
  running: "cyan",
  ok: "green",
  failed: "red",
  skipped: "yellow",
  interrupted: "magenta",
  "rolled-back": "blue",
};

export const STATUS_WORD: Record<StepStatus, string> = {
  pending: "not run",
  running: "running",
  ok: "ok",
  failed: "failed",
  skipped: "skipped",
  interrupted: "interrupted",
  "rolled-back": "rolled back",
};

/** `runbook resume ID` with the --state it needs (the one the run was given), quoted for a shell. */
export function resumeCommand(runId: string, state?: string): string {
  const q = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return `runbook resume ${runId}${state !== undefined ? ` --state ${q(state)}` : ""}`;
}

/** The header while `a` or `b` waits for its y/n. */
export const CONFIRM_KEY_WORD: Record<"abort" | "rollback", string> = { abort: "abort?", rollback: "roll back?" };

export const PREFLIGHT_ABOUT = "every host, sudo user, database, secret and file the run can touch, reached once before the first step";

/** The preflight's row in the step list: a first phase, before any step. */
export const PREFLIGHT_TITLE = (targets: number) => `Preflight: reach ${targets} target${targets === 1 ? "" : "s"}`;

export const PREFLIGHT_GLYPH: { [S in PreflightStatus]: string } = {
  ok: "✔",
  failed: "✘",
  "not-checked": "?",
  deferred: "…",
};

export const PREFLIGHT_WORD: { [S in PreflightStatus]: string } = {
  ok: "ok",
  failed: "failed",
  "not-checked": "not checked",
  deferred: "checked when needed",
};

/** "3 ok, 1 failed" (ok always, the others when there are any). */
export function preflightCounts(counts: Record<PreflightStatus, number>): string {
  return (Object.keys(PREFLIGHT_WORD) as PreflightStatus[])
    .filter((k) => k === "ok" || counts[k] > 0)
    .map((k) => `${counts[k]} ${PREFLIGHT_WORD[k]}`)
    .join(", ");
}

/**
 * One line of a step's output made safe for one terminal row: a carriage return
 * keeps what was drawn last (progress bars), tabs expanded, every other control
 * character (escape sequences included) shown escaped (`\e]0;title\a`:
 * escape-controls.ts). Very long lines are cut before the work.
 */
export function sanitizeLine(line: string, max = 1000): string {
  // A line rewritten with \r (a progress bar) shows its last version, taken before
  // the line is cut: a long one must not show an early, half-cut update.
  if (line.includes("\r")) {
    let end = line.length;
    while (end > 0 && line.charCodeAt(end - 1) === 13) end--;
    line = line.slice(line.lastIndexOf("\r", end - 1) + 1, end);
  }
  if (line.length > max * 4) line = line.slice(0, max * 4);
  if (line.includes("\t")) {
    let out = "";
    for (const ch of line) out += ch === "\t" ? " ".repeat(8 - (out.length % 8)) : ch;
    line = out;
  }
  line = escapeControls(line);
  return line.length > max ? line.slice(0, max) : line;
}

/** Columns a code point takes: 2 for East Asian wide and most emoji, else 1 (0 for combining marks). */
export function charWidth(cp: number): number {
  if (cp < 0x300) return 1;
  if (cp <= 0x36f) return 0;
  if (cp < 0x1100) return 1;
  if (
    cp <= 0x115f ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

/** Columns a string takes (no escape sequences expected). */
export function displayWidth(s: string): number {
  let w = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x300) w++;
    else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      w += charWidth(cp);
    }
  }
  return w;
}

/** Cut to `width` columns, ending in … when cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  if (s.length <= width && !/[^\u0000-\u02ff]/.test(s)) return s;
  if (displayWidth(s) <= width) return s;
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + "…";
}

/**
 * Text wrapped to `width` columns: at spaces where it can, else mid-word; its own
 * line breaks kept; nothing dropped (a failure's reason is read whole).
 * Control characters are shown escaped first, as Lines draws them.
 */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const para of escapeControls(text.replace(/\n+$/, "")).split("\n")) {
    let line = "";
    let lineW = 0;
    for (const word of para.split(/(?<= )/)) {
      let rest = word;
      for (;;) {
        const rw = displayWidth(rest);
        if (lineW + rw <= w || (lineW + displayWidth(rest.trimEnd()) <= w)) {
          line += rest;
          lineW += rw;
          break;
        }
        if (lineW > 0 && rw <= w) {
          out.push(line.trimEnd());
          line = "";
          lineW = 0;
          continue;
        }
        // A word longer than the line: cut it.
        let cut = "";
        let cw = 0;
        for (const ch of rest) {
          const c = charWidth(ch.codePointAt(0)!);
          if (lineW + cw + c > w) break;
          cut += ch;
          cw += c;
        }
        if (cut === "" && lineW === 0) cut = Array.from(rest)[0]!;
        out.push((line + cut).trimEnd());
        line = "";
        lineW = 0;
        rest = rest.slice(cut.length);
        if (rest === "") break;
      }
    }
    out.push(line.trimEnd());
  }
  return out;
}

export function pad(s: string, width: number): string {
  const n = displayWidth(s);
  return n >= width ? s : s + " ".repeat(width - n);
}
