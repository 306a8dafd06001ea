// `runbook history [FILE] [--env NAME] [--json] [--state URL]`: the runs in the
// journal, newest first, as a table (or a JSON array). With FILE, only that
// runbook's runs (its name read from the file's header). Also home to the small
// helpers `show` and `unlock` share: opening the journal a command names, reading
// a runbook's name cheaply, and formatting times and durations.

import { escapeControls, escapeControlsIn, toTerminalJson } from "../../runtime/views/escape-controls.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { maskUrlPasswords } from "../../language/url-password.js";
import { Exit, UsageError, useColor, type CliIO } from "../io.js";
import { withJournalReported } from "../journal-access.js";
import { describeLocation, type RunRecord } from "../../runtime/journal/index.js";

export interface HistoryOptions {
  env?: string;
  json?: boolean;
  state?: string;
  /** How many runs, newest first (default: 50 in the table, all with --json). */
  limit?: number;
}

const DEFAULT_TABLE_LIMIT = 50;

export async function historyCommand(file: string | undefined, opts: HistoryOptions, io: CliIO): Promise<number> {
  return withJournalReported(io, opts.state, async (journal) => {
    const runbook = file !== undefined ? runbookNameFromFile(file, io.cwd) : undefined;
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit <= 0)) {
      throw new UsageError(`--limit must be a positive whole number, not ${opts.limit}`);
    }
    const limit = opts.limit ?? (opts.json ? undefined : DEFAULT_TABLE_LIMIT);
    // One more than shown, to know whether there are more.
    const runs = await journal.listRuns({ runbook, env: opts.env, limit: limit === undefined ? undefined : limit + 1 });
    const more = limit !== undefined && runs.length > limit;
    const shown = more ? runs.slice(0, limit) : runs;
    // Who approved what, when: for runs in an env that requires approvals, each verdict the run gave.
    const approvals = new Map<string, { approver: string; signedAt: string; status: string; stepId: string }[]>();
    for (const r of shown) {
      if (!r.plan.approvals) continue;
      const rows = (await journal.getApprovals(r.id)).filter((a) => a.kind === "verified" || a.kind === "refused");
      approvals.set(r.id, rows.map((a) => ({ approver: a.approver ?? "?", signedAt: a.time, status: a.kind, stepId: a.stepId })));
    }

    if (opts.json) {
      // Params are kept as given (resume needs them); a URL's password in one is not shown.
      const summaries = shown.map((r) => ({ ...runSummary(r), ...(approvals.has(r.id) ? { approvals: approvals.get(r.id) } : {}) }));
      io.stdout.write(maskUrlPasswords(`${toTerminalJson(summaries, 2)}\n`));
      return Exit.ok;
    }
    if (shown.length === 0) {
      const what = [runbook && `of ${runbook}`, opts.env && `in env ${opts.env}`].filter(Boolean).join(" ");
      io.stdout.write(`No runs${what ? ` ${what}` : ""} in the journal ${journal.location}.\n`);
      return Exit.ok;
    }
    const color = useColor(io);
    const now = Date.now();
    const header = ["RUN", "RUNBOOK", "VERSION", "ENV", "STATUS", "BY", "STARTED", "DURATION", "COMMIT"];
    // Control characters in the journal's text are shown escaped.
    const rows = escapeControlsIn(shown).map((r) => [
      r.id,
      r.runbook,
      r.version,
      r.env,
      statusText(r),
      `${r.user}@${r.machine}`,
      formatTime(r.startedAt),
      runDuration(r, now),
      commitText(r.plan.runbook.git, true),
    ]);
    io.stdout.write(
      renderTable(header, rows, (col, text, row) => (col === 4 && color ? colorStatus(shown[row].status, text) : text)),
    );
    if (more) io.stdout.write(`(the ${limit} most recent runs; --limit N shows more)\n`);
    const approved = [...approvals].flatMap(([id, list]) => list.filter((a) => a.status === "verified").map((a) => `  ${id}: approved by ${a.approver} before ${a.stepId} (signed ${formatTime(a.signedAt)})`));
    if (approved.length > 0) io.stdout.write(escapeControls(`Approvals:\n${approved.join("\n")}`) + "\n");
    return Exit.ok;
  });
}

/** What `history --json` prints for a run: everything but the plan. */
export function runSummary(r: RunRecord): Record<string, unknown> {
  const { plan: _plan, ...rest } = r;
  const durationMs = r.finishedAt !== undefined ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : undefined;
  return { ...rest, git: r.plan.runbook.git ?? null, ...(durationMs !== undefined && !Number.isNaN(durationMs) ? { durationMs } : {}) };
}

export function statusText(r: Pick<RunRecord, "status" | "dryRun">): string {
  return r.dryRun ? `${r.status} (dry run)` : r.status;
}

// ---------------------------------------------------------------------------
// Shared by show and unlock


/** The `--state` part of a suggested command line (password masked), or "" for the default journal. */
export function stateFlag(state: string | undefined): string {
  if (state === undefined || state.trim() === "") return "";
  const shown = describeLocation(state.trim());
  return ` --state ${/^[A-Za-z0-9_@%+=:,./~-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`}`;
}

/**
 * The runbook's name from its header (`runbook "NAME" version "…"`, the first
 * statement), read with a regular expression: no parse, no includes. Missing file
 * or header: a UsageError.
 */
export function runbookNameFromFile(file: string, cwd: string): string {
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `${file}: no such file` : `${file}: ${(err as Error).message}`);
  }
  text = text.replace(/^\uFEFF/, "");
  const first = /^(?:[ \t\r]*(?:#[^\n]*)?\n)*[ \t\r]*runbook[ \t\r\n]+"((?:[^"\\\n]|\\.)*)"/.exec(text);
  const anywhere = first ?? /^[ \t]*runbook[ \t]+"((?:[^"\\\n]|\\.)*)"/m.exec(text);
  if (!anywhere) throw new UsageError(`${file}: no \`runbook "NAME" version "…"\` header, so it names no runbook`);
  return anywhere[1].replace(/\\(["\\$nt])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

/** Local time, to the second: `2025-03-01 14:05:09`. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `350ms`, `12.3s`, `4m 05s`, `2h 03m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function runDuration(r: RunRecord, now: number): string {
  const start = Date.parse(r.startedAt);
  if (r.finishedAt !== undefined) return formatDuration(Date.parse(r.finishedAt) - start);
  if (r.status === "running") return `${formatDuration(now - start)} so far`;
  return "-";
}

const STATUS_COLORS: Record<string, string> = {
  succeeded: "32",
  ok: "32",
  failed: "31",
  aborted: "33",
  interrupted: "33",
  running: "36",
};

export function colorStatus(status: string, text: string): string {
  const code = STATUS_COLORS[status];
  return code ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Left-aligned columns two spaces apart; `decorate` may colour a padded cell. */
export function renderTable(
  header: string[],
  rows: string[][],
  decorate: (col: number, text: string, row: number) => string = (_c, t) => t,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], row: number | undefined) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]);
        return row === undefined ? padded : decorate(i, padded, row);
      })
      .join("  ")
      .trimEnd();
  return [line(header, undefined), ...rows.map((r, i) => line(r, i))].join("\n") + "\n";
}

/** The git commit a run's runbook came from, in words (show, history). */
export function commitText(git: { commit: string; dirty: boolean } | undefined, short = false): string {
  if (!git) return short ? "-" : "(not in a git repository)";
  const id = short ? git.commit.slice(0, 12) : git.commit;
  return git.dirty ? `${id}${short ? "+" : " with uncommitted changes"}` : `${id}${short ? "" : " (clean)"}`;
}
