// The supervisor of a step's command: what makes a command run to its end exactly
// once across a crash of the runbook process. The command is wrapped in a short
// POSIX sh script (nothing to install on a host) that, in a private folder (0700;
// beside the journal locally, ~/.cache/runbook/exec on a host):
// - writes ID.start (its pid, process group, exec id; one short write) before the command starts;
// - runs the command with its output going to ID.out and ID.err (so a dropped runner,
//   pipe or channel cannot end it);
// - once the command has ended, writes ID.end (its exit status) atomically (a temp
//   file, then mv), after its output is in the files, and exits with that status.
// Locally (recordScript) the wrapper does only that, and Node reads the output files
// as they grow (file-tail.ts). On a host (superviseScript) the command runs in the
// background of the wrapper's process group and the wrapper follows ID.out and ID.err
// to its own stdout and stderr, so the runner reads the output as it comes.
// After a crash, `resume` reads these files (stateScript): ended -> the outcome is
// taken from them and the command is not run again; running -> followed
// (followScript) or ended; never started -> run. The files of a step are removed
// once the journal holds its outcome (fs locally, forgetScript on a host); files older
// than STATUS_RETENTION_DAYS are removed at the start of a run locally (cleanStaleLocal)
// and, on a host, after the first command a run wraps there.
// The command text is passed quoted as one word to `sh -c`; its values stay in the
// environment (command-values.ts), never in the text.

import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { assertNever } from "../language/assert.js";
import { DriverError, type ExecOptions, type ExecResult, type HostDriver } from "./drivers/driver.js";
import { FileTail } from "./file-tail.js";
import {
  supervisedEndedText,
  supervisedFollowedText,
  supervisedFollowText,
  supervisedUnreadableText,
  supervisedVanishedText,
} from "./journal-errors.js";
import type { Journal } from "./journal/index.js";
import { shellQuote } from "./quote.js";

/** Status files older than this are stale (their run is long over) and removed. */
export const STATUS_RETENTION_DAYS = 30;

/** The folder on a host, as a shell expression (private to the login user). */
export const REMOTE_STATUS_DIR = '"$HOME/.cache/runbook/exec"';

/** Locally: beside a SQLite journal file; for a MySQL journal, runbook's own state folder. */
export function localStatusDir(journalKind: Journal["kind"], journalLocation: string, stateDir: string): string {
  return journalKind === "sqlite" && journalLocation !== ":memory:" ? path.join(path.dirname(path.resolve(journalLocation)), "exec") : path.join(stateDir, "exec");
}

/** The id of one command of a run: the same on resume (run, step, host, n-th command of the step). */
export function execKey(runId: string, stepId: string, target: string, n: number): string {
  const h = createHash("sha256").update(`${stepId}\0${target}`).digest("hex").slice(0, 16);
  return `${runPrefix(runId)}${h}-${n}`;
}

/** What the ids of a run's commands start with. */
function runPrefix(runId: string): string {
  return `${runId.replace(/[^A-Za-z0-9-]/g, "_")}-`;
}

/** The shell word of a folder: a local path quoted, or the host's expression as it is. */
export function dirWord(dir: string): string {
  return dir.startsWith('"$HOME') ? dir : shellQuote(dir);
}

/**
 * Prints what was added to the output files since the last round: read through file
 * descriptors 4 and 5 held open on them, whose offsets `cat` moves on (so nothing is
 * printed twice, and a file removed meanwhile is still read). A file still there and
 * empty (the usual stderr) costs no `cat`.
 */
const PUMP = `{ [ ! -f "$f.out" ] || [ -s "$f.out" ]; } && cat <&4; { [ ! -f "$f.err" ] || [ -s "$f.err" ]; } && cat <&5 >&2`;

/**
 * Follows the output files until the command has ended: in the wrapper, until its
 * background job ($c) is gone, then exits with that job's status (also when its end
 * could not be recorded); elsewhere, until $f.end exists (then exits with the recorded
 * status) or nothing of its process group ($pg) is left without it (exit 125).
 */
function follow(inWrapper: boolean): string {
  const alive = inWrapper ? `kill -0 "$c" 2>/dev/null` : `[ -n "$pg" ] && kill -0 "-$pg" 2>/dev/null`;
  const last = inWrapper
    ? [
        `wait "$c"; rc=$?`,
        `[ -f "$f.end" ] || ${END_UNRECORDED}`,
        `exit "$rc"`,
      ]
    : [`rc=; { read -r _ rc; } < "$f.end"`, `exit "\${rc:-125}"`];
  return [
    `exec 4< "$f.out" 5< "$f.err" || exit 125`,
    `n=0; t=0.005`,
    `while :; do`,
    `  fin=; [ -f "$f.end" ] && fin=1`,
    `  { ${alive}; } || fin=1`,
    `  ${PUMP}`,
    `  [ -n "$fin" ] && break`,
    // Very quick once (most commands are short), quick a while, then five rounds a second.
    `  if [ "$n" -lt 25 ]; then n=$((n + 1)); sleep "$t" 2>/dev/null || sleep 1; t=0.02; else sleep 0.2 2>/dev/null || sleep 1; fi`,
    `done`,
    ...(inWrapper ? [] : [`[ -f "$f.end" ] || exit 125`]),
    ...last,
  ].join("\n");
}

/** The process group of the shell running this: its leader's field of /proc, else ps. */
const PGID = `pg=; { read -r _l < /proc/$$/stat && set -- \${_l##*) } && pg=$3; } 2>/dev/null; [ -n "$pg" ] || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')`;

/** Makes the folder and empty output files; when that fails the command runs as before, unsupervised, and says so on stderr. */
function prepare(command: string, dir: string, id: string): string[] {
  return [
    `umask 077`,
    `d=${dirWord(dir)}; f="$d/${id}"`,
    `if { [ -d "$d" ] || mkdir -p "$d"; } 2>/dev/null && { [ ! -f "$f.end" ] || rm -f "$f.end"; } && : > "$f.out" && : > "$f.err"; then :; else`,
    `  echo "runbook: cannot keep this command's status in $d: it runs without it (a crash of runbook may run it twice)" >&2`,
    `  exec sh -c ${shellQuote(command)}`,
    `fi`,
    PGID,
    // One short write: a start file without its last line was never followed by the command (stateScript).
    `printf 'pid %s\\npgid %s\\nexec %s\\n' $$ "$pg" ${id} > "$f.start" || exit 125`,
  ];
}

/** Records the end; without it, says so on stderr. */
const RECORD_END = `{ printf 'exit %s\\n' "$rc" > "$f.end.tmp" && mv -f "$f.end.tmp" "$f.end"; } 2>/dev/null`;
const END_UNRECORDED = `echo "runbook: warning: this command's end could not be recorded in $d: were runbook to die now, a resume could not tell that it ran" >&2`;

/**
 * The wrapper around `command` that follows its output itself (on a host, through the
 * login shell; locally when Node cannot follow the files). With `sweep`, files past the
 * retention are removed after the command's end is recorded (off the command's time).
 */
export function superviseScript(command: string, dir: string, id: string, sweep = false): string {
  const stale = sweep ? ` find "$d" -type f -mtime +${STATUS_RETENTION_DAYS} -exec rm -f {} + 2>/dev/null;` : "";
  return [
    ...prepare(command, dir, id),
    `exec 3<&0`,
    `{ sh -c ${shellQuote(command)} <&3 >> "$f.out" 2>> "$f.err" 3<&-; rc=$?; ${RECORD_END};${stale} exit "$rc"; } > /dev/null 2>&1 &`,
    `c=$!`,
    `exec 3<&-`,
    follow(true),
  ].join("\n");
}

/**
 * The local wrapper around `command`: records its start and end, its output going to
 * the files (which Node follows); prints nothing of its own but a warning. Nothing of
 * it writes to the runner's pipes while the command runs, so a runner killed meanwhile
 * does not end it (it leads a process group of its own: local.ts).
 */
export function recordScript(command: string, dir: string, id: string): string {
  return [...prepare(command, dir, id), `sh -c ${shellQuote(command)} >> "$f.out" 2>> "$f.err"; rc=$?`, `${RECORD_END} || ${END_UNRECORDED}`, `exit "$rc"`].join("\n");
}

/** What the files say of a command: ended (with its status), running, never started, or gone without its end recorded. */
export type SupervisedState =
  | { kind: "none" }
  | { kind: "running"; pgid: number | null }
  | { kind: "ended"; exitCode: number }
  | { kind: "vanished"; pgid: number | null };

/** Prints `end RC`, `running PGID`, `vanished PGID` or `none`. */
export function stateScript(dir: string, id: string): string {
  return [
    `d=${dirWord(dir)}; f="$d/${id}"`,
    `if [ -f "$f.end" ]; then echo "end $(sed -n 's/^exit //p' "$f.end")"; exit 0; fi`,
    `pg=; x=; [ -f "$f.start" ] && while read -r k v; do case $k in pgid) pg=$v ;; exec) x=1 ;; esac; done < "$f.start"`,
    // No start file, or one whose write did not complete: the command never started.
    `[ -n "$x" ] || { echo none; exit 0; }`,
    `if [ -n "$pg" ] && kill -0 "-$pg" 2>/dev/null; then echo "running $pg"; exit 0; fi`,
    `if [ -f "$f.end" ]; then echo "end $(sed -n 's/^exit //p' "$f.end")"; else echo "vanished $pg"; fi`,
  ].join("\n");
}

export function parseState(stdout: string): SupervisedState | undefined {
  const m = /^(end|running|vanished|none) ?(-?\d*)\s*$/m.exec(stdout);
  if (!m) return undefined;
  const n = m[2] !== undefined && m[2] !== "" ? Number(m[2]) : null;
  switch (m[1]) {
    case "end":
      return n === null ? undefined : { kind: "ended", exitCode: n };
    case "running":
      return { kind: "running", pgid: n };
    case "vanished":
      return { kind: "vanished", pgid: n };
    default:
      return { kind: "none" };
  }
}

/** Streams a command's output files from the start until it ends; exits with its status (125: gone without one). */
export function followScript(dir: string, id: string): string {
  return [`d=${dirWord(dir)}; f="$d/${id}"`, `pg=; while read -r k v; do [ "$k" = pgid ] && pg=$v; done < "$f.start"`, follow(false)].join("\n");
}

/** The files a supervised command leaves, by extension. */
const STATUS_FILES = ["start", "end", "out", "err"] as const;

/** Removes the files of these commands (the journal holds their outcome now). */
export function forgetScript(dir: string, ids: readonly string[]): string {
  const d = dirWord(dir);
  return ids.map((id) => `rm -f ${STATUS_FILES.map((ext) => `${d}/${id}.${ext}`).join(" ")}`).join("\n");
}

/**
 * Locally, before the wrapper starts: the folder, no end file, and empty output files
 * held open and followed (a file removed while the command runs is still read to its end).
 */
async function openOutputs(dir: string, id: string, o: ExecOptions): Promise<FileTail> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const f = path.join(dir, id);
  await fs.unlink(`${f}.end`).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
  });
  const out = await fs.open(`${f}.out`, "w+", 0o600);
  const err = await fs.open(`${f}.err`, "w+", 0o600).catch(async (e: unknown) => {
    await out.close();
    throw e;
  });
  return new FileTail([
    { fh: out, emit: o.onStdout },
    { fh: err, emit: o.onStderr },
  ]);
}

/** Locally, at the start of a run: files older than the retention are removed. */
export async function cleanStaleLocal(dir: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const limit = now - STATUS_RETENTION_DAYS * 86_400_000;
  for (const n of names) {
    const p = path.join(dir, n);
    const st = await fs.stat(p).catch(() => null);
    if (st?.isFile() && st.mtimeMs < limit) {
      await fs.unlink(p).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------
// The executor's side: which commands are supervised, what an earlier attempt
// left, and removing the files of finished steps.

/** One supervised command: where its files are, on which driver. */
export interface Supervised {
  driver: HostDriver;
  dir: string;
  id: string;
}

export interface SupervisionOptions {
  runId: string;
  /** The local folder; without it nothing is supervised (a run without a journal). */
  statusDir?: string;
  /** Resume: steps that were running when the run stopped (their commands' files are read first). */
  interrupted?: ReadonlySet<string>;
  /** Says what was found of an earlier attempt (a note event). */
  note: (stepId: string, hostLabel: string | undefined, text: string) => void;
}

export interface FollowHandlers {
  onStdout: (chunk: string) => void;
  onStderr: (chunk: string) => void;
  signal: AbortSignal;
}

export class Supervision {
  private readonly seq = new Map<string, number>();
  private readonly byStep = new Map<string, Supervised[]>();
  private readonly done: Supervised[] = [];
  private readonly seen = new Map<HostDriver, string>();
  /** Local marker files (edits), by step; those of finished steps go at forget(). */
  private readonly localFiles = new Map<string, string>();
  private readonly localDone: string[] = [];
  /** Hosts whose stale status files a wrapper of this run has removed. */
  private readonly staleSwept = new Set<HostDriver>();

  constructor(private readonly o: SupervisionOptions) {}

  /** The n-th command of a step on a host; undefined when it runs unsupervised (no folder; `as USER`, whose files would not be ours). */
  next(stepId: string, driver: HostDriver, hostLabel: string | undefined, asUser: string | undefined, local: boolean): Supervised | undefined {
    if (this.o.statusDir === undefined || asUser !== undefined) return undefined;
    const key = `${stepId}\0${hostLabel ?? ""}`;
    const n = (this.seq.get(key) ?? 0) + 1;
    this.seq.set(key, n);
    const s = { driver, dir: local ? this.o.statusDir : REMOTE_STATUS_DIR, id: execKey(this.o.runId, stepId, hostLabel ?? "", n) };
    this.seen.set(driver, s.dir);
    const list = this.byStep.get(stepId) ?? [];
    list.push(s);
    this.byStep.set(stepId, list);
    return s;
  }

  /** The following wrapper of a command (superviseScript); the first a run wraps on a host also removes that host's stale files. */
  wrap(command: string, s: Supervised): string {
    const sweep = s.dir !== this.o.statusDir && !this.staleSwept.has(s.driver);
    if (sweep) this.staleSwept.add(s.driver);
    return superviseScript(command, s.dir, s.id, sweep);
  }

  /**
   * Runs a step's command: as it is without supervision; on a host under the following
   * wrapper; locally under recordScript while Node follows the output files itself
   * (the following wrapper when it cannot open them).
   */
  async exec(driver: HostDriver, command: string, s: Supervised | undefined, options: ExecOptions): Promise<ExecResult> {
    if (s === undefined) return driver.exec(command, options);
    if (driver.local !== true || s.dir !== this.o.statusDir) return driver.exec(this.wrap(command, s), options);
    const tail = await openOutputs(s.dir, s.id, options).catch(() => undefined);
    if (tail === undefined) return driver.exec(this.wrap(command, s), options);
    try {
      return await driver.exec(recordScript(command, s.dir, s.id), options);
    } finally {
      await tail.stop();
    }
  }

  /**
   * Resume: what an earlier attempt of this command left. Ended: its output and status
   * come from its files (it is not run again); running: followed until it ends; gone
   * without an end, or never started: undefined (run it).
   */
  async earlier(stepId: string, hostLabel: string | undefined, s: Supervised, h: FollowHandlers): Promise<ExecResult | undefined> {
    if (!this.o.interrupted?.has(stepId)) return undefined;
    const state = await this.state(s);
    switch (state.kind) {
      case "none":
        return undefined;
      case "vanished":
        this.o.note(stepId, hostLabel, supervisedVanishedText());
        return undefined;
      case "ended":
      case "running": {
        this.o.note(stepId, hostLabel, state.kind === "ended" ? supervisedEndedText(state.exitCode) : supervisedFollowText());
        const res = await s.driver.exec(followScript(s.dir, s.id), { onStdout: h.onStdout, onStderr: h.onStderr, signal: h.signal });
        if (res.exitCode === 125 && !res.aborted && (await this.state(s)).kind === "vanished") {
          this.o.note(stepId, hostLabel, supervisedVanishedText());
          return undefined;
        }
        if (state.kind === "running" && !res.aborted) this.o.note(stepId, hostLabel, supervisedFollowedText(res.exitCode));
        return res;
      }
      default:
        return assertNever(state);
    }
  }

  private async state(s: Supervised): Promise<SupervisedState> {
    let out = "";
    const r = await s.driver.exec(stateScript(s.dir, s.id), { onStdout: (c) => (out += c), timeoutMs: 30_000 });
    const st = parseState(out);
    if (r.exitCode !== 0 || !st) throw new DriverError(supervisedUnreadableText(s.driver.label, r.exitCode), "supervisor");
    return st;
  }

  /**
   * An edit's marker (a local file beside the status files): written, synced, before the
   * edit's rename, holding the sha256 of what the file will hold. Undefined without a folder.
   */
  editMarker(stepId: string, hostLabel: string | undefined): string | undefined {
    if (this.o.statusDir === undefined) return undefined;
    const key = `${stepId}\0${hostLabel ?? ""}\0edit`;
    const n = (this.seq.get(key) ?? 0) + 1;
    this.seq.set(key, n);
    const file = path.join(this.o.statusDir, `${execKey(this.o.runId, stepId, hostLabel ?? "", n)}.edit`);
    this.localFiles.set(file, stepId);
    return file;
  }

  /** Resume: whether the file already holds what the edit's earlier attempt wrote (its rename happened before the crash). */
  async editApplied(stepId: string, marker: string, current: Buffer): Promise<boolean> {
    if (!this.o.interrupted?.has(stepId)) return false;
    const want = await fs.readFile(marker, "utf8").catch(() => undefined);
    return want !== undefined && want.trim() === sha256(current);
  }

  async markEdit(marker: string, after: Buffer): Promise<void> {
    await fs.mkdir(path.dirname(marker), { recursive: true, mode: 0o700 });
    const tmp = `${marker}.tmp`;
    const fh = await fs.open(tmp, "w", 0o600);
    try {
      await fh.writeFile(`${sha256(after)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, marker);
  }

  /** The step's outcome is on its way to the journal: its files go at the next forget(). */
  stepFinished(stepId: string): void {
    const list = this.byStep.get(stepId) ?? [];
    this.byStep.delete(stepId);
    for (const k of [...this.seq.keys()]) if (k.startsWith(`${stepId}\0`)) this.seq.delete(k);
    this.done.push(...list);
    for (const [file, step] of this.localFiles) if (step === stepId) this.localDone.push(file);
  }

  /** The run has succeeded and its journal has it all: every file of its commands goes, here and on the hosts used. */
  async sweep(): Promise<void> {
    this.done.splice(0);
    const prefix = runPrefix(this.o.runId);
    if (this.o.statusDir !== undefined) {
      const names = await fs.readdir(this.o.statusDir).catch(() => [] as string[]);
      for (const n of names) if (n.startsWith(prefix)) await fs.unlink(path.join(this.o.statusDir, n)).catch(() => undefined);
    }
    for (const [driver, dir] of this.seen) {
      if (dir === this.o.statusDir) continue;
      await driver.exec(`rm -f ${dirWord(dir)}/${prefix}*`, { timeoutMs: 30_000 }).catch(() => undefined);
    }
  }

  /** Once the journal has written what came before (its check passed): removes the files of finished steps. */
  async forget(): Promise<void> {
    for (const file of this.localDone.splice(0)) {
      this.localFiles.delete(file);
      await fs.unlink(file).catch(() => undefined);
    }
    const batch = this.done.splice(0);
    const groups = new Map<HostDriver, Map<string, string[]>>();
    for (const s of batch) {
      const dirs = groups.get(s.driver) ?? new Map<string, string[]>();
      dirs.set(s.dir, [...(dirs.get(s.dir) ?? []), s.id]);
      groups.set(s.driver, dirs);
    }
    for (const [driver, dirs] of groups) {
      for (const [dir, ids] of dirs) {
        if (dir === this.o.statusDir) {
          for (const id of ids) for (const ext of STATUS_FILES) await fs.unlink(path.join(dir, `${id}.${ext}`)).catch(() => undefined);
          continue;
        }
        // Left behind when this fails: removed once older than the retention.
        await driver.exec(forgetScript(dir, ids), { timeoutMs: 30_000 }).catch(() => undefined);
      }
    }
  }
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
