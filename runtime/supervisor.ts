// The supervisor of a step's command: what makes a command run to its end exactly
// once across a crash of the runbook process. The command is wrapped in a short
// POSIX sh script (nothing to install on a host) that, in a private folder (0700;
// beside the journal locally, ~/.cache/runbook/exec on a host):
// - writes ID.start (its pid, process group, exec id; one short write) before the command starts;
// - runs the command, in a subshell of its own (evalCommand), with its output going to
//   ID.out and ID.err (so a dropped runner, pipe or channel cannot end it);
// - once the command has ended, appends `exit STATUS` to ID.start (one short printf: a
//   line without its end is no end), after its output is in the files, and exits with
//   that status.
// Locally (recordScript) the wrapper does only that, and Node reads the output files
// as they grow (file-tail.ts). On a host (superviseScript) the command runs in the
// background of the wrapper's process group, its end recorded there, and the wrapper
// follows ID.out and ID.err to its own stdout and stderr, so the runner reads the
// output as it comes: where GNU tail is found (tailProbeScript, once per host and run)
// by two `tail --pid` while the wrapper waits on the command (tailFollow), elsewhere
// by a polling loop (pollFollow).
// After a crash, `resume` reads these files (stateScript): ended -> the outcome is
// taken from them and the command is not run again; running -> followed
// (followScript) or ended; never started -> run. The files of a step are removed
// once the journal holds its outcome: locally at once (fs), on a host by a later
// wrapper there, FORGET_BATCH steps at a time, or at the run's end (forgetScript).
// Files older than STATUS_RETENTION_DAYS are removed at the start of a run locally
// (cleanStaleLocal) and, on a host, when the run first asks about its tail there.
// The command text is one quoted word of the script, to `eval`; its values stay in the
// environment (command-values.ts), never in the text.

import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
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
import { makeDirs } from "./make-dirs.js";

/** Status files older than this are stale (their run is long over) and removed. */
export const STATUS_RETENTION_DAYS = 30;

/** Forgotten commands on a host whose files one of its wrappers removes together. */
const FORGET_BATCH = 16;

/** How long a host may take to say whether its `tail` will do (tailProbeScript). */
const TAIL_PROBE_TIMEOUT_MS = 10_000;

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
 * Reads the recorded end into $rc (fails without one): the `exit STATUS` line appended
 * to the start file by one short printf (RECORD_END). A line without its end (the writer
 * died in between) is no end: `read` fails on it.
 */
const READ_END = `{ rc=; _x=; while read -r _k _v; do [ "$_k" = exit ] && rc=$_v && _x=1; done; [ -n "$_x" ]; } 2>/dev/null < "$f.start"`;

/** How a wrapper on a host follows the output files: GNU tail waiting on the command (tailProbeScript said so), or the plain polling loop. */
export type FollowWay = "tail" | "poll";

/**
 * The plain way to follow the output files until the command has ended: in the wrapper,
 * until its background job ($c) is gone, then exits with that job's status (also when
 * its end could not be recorded); elsewhere, until its end is recorded (then exits
 * with the recorded status) or nothing of its process group ($pg) is left without it
 * (exit 125).
 */
function pollFollow(inWrapper: boolean): string {
  const alive = inWrapper ? `kill -0 "$c" 2>/dev/null` : `[ -n "$pg" ] && kill -0 "-$pg" 2>/dev/null`;
  const last = inWrapper
    ? [`wait "$c"; rc=$?`, `_rc=$rc; ${READ_END} || ${END_UNRECORDED}`, `exit "$_rc"`]
    : [`${READ_END} || exit 125`, `exit "$rc"`];
  return [
    `exec 4< "$f.out" 5< "$f.err" || exit 125`,
    `n=0; t=0.005`,
    `while :; do`,
    `  fin=; ${READ_END} && fin=1`,
    `  { ${alive}; } || fin=1`,
    `  ${PUMP}`,
    `  [ -n "$fin" ] && break`,
    // Very quick once (most commands are short), quick a while, then five rounds a second.
    `  if [ "$n" -lt 25 ]; then n=$((n + 1)); sleep "$t" 2>/dev/null || sleep 1; t=0.02; else sleep 0.2 2>/dev/null || sleep 1; fi`,
    `done`,
    ...last,
  ].join("\n");
}

/** How often a GNU tail looks whether the command is gone when nothing woke it (inotify missing, as on NFS, or the wake-up lost). */
const TAIL_CHECK_SECONDS = "0.02";

/**
 * Speed trick (a host whose `tail` is GNU coreutils', probed once per host and run:
 * tailProbeScript): instead of the polling loop, whose rounds each fork `sleep` (and
 * `cat`), one `tail --pid` per output file copies what is written as it is written
 * (inotify), while the wrapper itself sleeps in `wait` on the command. Once the command
 * has ended, the wrapper truncates the (always empty) $d/wake that both tails also
 * follow (one for the folder, made when missing: a wake-up meant for another command
 * costs a tail one look at its pid): they wake at once, find the command gone, and
 * exit once they have read their
 * file to its end (tail reads a file again after setting its watch, and before exiting
 * on a gone --pid; tests/runtime/supervisor.test.ts compares this way with the plain one).
 * Without the wake-up they still end within TAIL_CHECK_SECONDS of the command. The
 * wrapper exits with the command's status without waiting for the tails (a process
 * that used inotify takes milliseconds to be torn down after it has closed its output):
 * sshd reads the channel's pipes to their end after the shell has exited, and the
 * runner's exec ends when the channel closes, so what the tails print still arrives
 * (tests/runtime/run-ssh.test.ts). `true`, not `:`: a failed redirection of a special
 * builtin ends dash.
 */
function tailFollow(): string {
  const tail = (file: string) => `tail -q -c +1 -f --pid="$c" -s ${TAIL_CHECK_SECONDS} "$f.${file}" "$d/wake"`;
  return [
    `[ -f "$d/wake" ] || true 2>/dev/null > "$d/wake"`,
    `${tail("out")} 2>/dev/null &`,
    `${tail("err")} >&2 2>/dev/null &`,
    `wait "$c"; _rc=$?`,
    `true 2>/dev/null > "$d/wake"`,
    `${READ_END} || ${END_UNRECORDED}`,
    `exit "$_rc"`,
  ].join("\n");
}

/**
 * Prints `tail ok` when this host's `tail` follows files the way tailFollow needs: GNU
 * options, and ending, with the file printed whole, for a process already gone. With
 * `sweep`, also removes the status files past the retention (once per host and run).
 */
export function tailProbeScript(dir: string, sweep: boolean): string {
  const tail = `tail -q -c +1 -f --pid="$c" -s ${TAIL_CHECK_SECONDS} "$p.a" "$p.b" 2>/dev/null < /dev/null`;
  return [
    `umask 077`,
    `d=${dirWord(dir)}`,
    `{ [ -d "$d" ] || mkdir -p "$d"; } 2>/dev/null || exit 0`,
    // In the background, off the answer's time (and its channel).
    ...(sweep ? [`find "$d" -type f -mtime +${STATUS_RETENTION_DAYS} -exec rm -f {} + < /dev/null > /dev/null 2>&1 &`] : []),
    `p="$d/probe-$$"`,
    `printf 'tail ok\\n' 2>/dev/null > "$p.a" || exit 0`,
    `true 2>/dev/null > "$p.b" || exit 0`,
    `(exit 0) & c=$!; wait "$c"`,
    `${tail}; rm -f "$p.a" "$p.b"`,
  ].join("\n");
}

/** What tailProbeScript printed, as the way to follow. */
export function parseTailProbe(stdout: string): FollowWay {
  return stdout === "tail ok\n" ? "tail" : "poll";
}

/**
 * The command, run by the shell running the wrapper as if it were that shell's whole
 * script (as `sh -c COMMAND` locally, the login shell's `-c` on a host): its text one
 * quoted word to `eval` (values stay in the environment: command-values.ts), the
 * wrapper's variables and positional parameters gone first. In a subshell of the
 * wrapper, this costs a fork where a new shell would cost an exec too.
 */
function evalCommand(command: string): string {
  return `unset d f pg _l; set --; eval ${shellQuote(command)}`;
}

/** The process group of the shell running this: its leader's field of /proc, else ps. */
const PGID = `pg=; { read -r _l < /proc/$$/stat && set -- \${_l##*) } && pg=$3; } 2>/dev/null; [ -n "$pg" ] || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')`;

/**
 * Makes the folder and these empty files (the output files, unless Node made them);
 * when that fails the command runs as
 * before, unsupervised, and says so on stderr. `true >`, not `: >`: a failed
 * redirection of `:` ends dash.
 */
function prepare(command: string, dir: string, id: string, files: readonly string[]): string[] {
  const make = files.map((ext) => ` && true > "$f.${ext}"`).join("");
  return [
    `umask 077`,
    `d=${dirWord(dir)}; f="$d/${id}"`,
    // An earlier start file of this id goes first: its end would be taken for this command's.
    `if { { [ -d "$d" ] || mkdir -p "$d"; } && { [ ! -f "$f.start" ] || rm -f "$f.start"; }${make}; } 2>/dev/null; then :; else`,
    `  echo "runbook: cannot keep this command's status in $d: it runs without it (a crash of runbook may run it twice)" >&2`,
    `  ${evalCommand(command)}`,
    `fi`,
    PGID,
    // One short write: a start file without its exec line was never followed by the command (stateScript).
    `printf 'pid %s\\npgid %s\\nexec %s\\n' $$ "$pg" ${id} > "$f.start" || exit 125`,
  ];
}

/** Records the end (one short write: READ_END takes an incomplete line for none); without it, says so on stderr. */
const RECORD_END = `{ printf 'exit %s\\n' "$rc" >> "$f.start"; } 2>/dev/null`;
const END_UNRECORDED = `echo "runbook: warning: this command's end could not be recorded in $d: were runbook to die now, a resume could not tell that it ran" >&2`;

export interface WrapOptions {
  /** How the wrapper follows the output files; "poll" unless the host was probed (tailProbeScript). */
  follow?: FollowWay;
  /** Finished commands (their outcome journaled) whose files go, in the background, while this one runs. */
  forget?: readonly string[];
}

/**
 * The wrapper around `command` that follows its output itself (on a host, through the
 * login shell; locally when Node cannot follow the files). The command runs in the
 * background of the wrapper's process group, its end recorded there (so the wrapper
 * going does not lose it).
 */
export function superviseScript(command: string, dir: string, id: string, o: WrapOptions = {}): string {
  const follow = o.follow ?? "poll";
  const forget = o.forget?.length ? [`{ ${removeFiles(dir, o.forget)}; } < /dev/null > /dev/null 2>&1 &`] : [];
  return [
    ...prepare(command, dir, id, ["out", "err"]),
    `exec 3<&0`,
    `{ ( ${evalCommand(command)} ) <&3 >> "$f.out" 2>> "$f.err" 3<&-; rc=$?; ${RECORD_END}; exit "$rc"; } > /dev/null 2>&1 &`,
    `c=$!`,
    `exec 3<&-`,
    ...forget,
    followScriptOf(follow),
  ].join("\n");
}

function followScriptOf(way: FollowWay): string {
  switch (way) {
    case "tail":
      return tailFollow();
    case "poll":
      return pollFollow(true);
    default:
      return assertNever(way);
  }
}

/**
 * The local wrapper around `command`: records its start and end, its output going to
 * the files (which Node follows); prints nothing of its own but a warning. Nothing of
 * it writes to the runner's pipes while the command runs, so a runner killed meanwhile
 * does not end it (it leads a process group of its own: local.ts).
 * The command runs in a subshell (evalCommand): `$$` is the wrapper's pid, the process
 * group leader runbook started, as it was before there was a supervisor.
 */
export function recordScript(command: string, dir: string, id: string): string {
  return [
    // The output files are Node's (openOutputs), made before it starts this.
    ...prepare(command, dir, id, []),
    `( ${evalCommand(command)} ) >> "$f.out" 2>> "$f.err"; rc=$?`,
    `${RECORD_END} || ${END_UNRECORDED}`,
    `exit "$rc"`,
  ].join("\n");
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
    `pg=; x=; e=; [ -f "$f.start" ] && while read -r k v; do case $k in pgid) pg=$v ;; exec) x=1 ;; exit) rc=$v; e=1 ;; esac; done < "$f.start"`,
    `if [ -n "$e" ]; then echo "end $rc"; exit 0; fi`,
    // No start file, or one whose write did not complete: the command never started.
    `[ -n "$x" ] || { echo none; exit 0; }`,
    `if [ -n "$pg" ] && kill -0 "-$pg" 2>/dev/null; then echo "running $pg"; exit 0; fi`,
    `if ${READ_END}; then echo "end $rc"; else echo "vanished $pg"; fi`,
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
  return [`d=${dirWord(dir)}; f="$d/${id}"`, `pg=; while read -r k v; do [ "$k" = pgid ] && pg=$v; done < "$f.start"`, pollFollow(false)].join("\n");
}

/** The files a supervised command leaves, by extension. */
const STATUS_FILES = ["start", "out", "err"] as const;

/** `rm -f` of the files of these commands, a hundred commands a line (far below the length a command line may have). */
function removeFiles(dir: string, ids: readonly string[]): string {
  const d = dirWord(dir);
  const lines: string[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    lines.push(`rm -f ${ids.slice(i, i + 100).flatMap((id) => STATUS_FILES.map((ext) => `${d}/${id}.${ext}`)).join(" ")}`);
  }
  return lines.join("\n");
}

/** Removes the files of these commands (the journal holds their outcome now). */
export function forgetScript(dir: string, ids: readonly string[]): string {
  return removeFiles(dir, ids);
}

/**
 * Locally, before the wrapper starts: no earlier start file of this id (its end would
 * be taken for this command's once the output files are emptied), and empty output
 * files held open and followed (a file removed while the command runs is still read to
 * its end). The folder is made when it is missing.
 */
async function openOutputs(dir: string, id: string, o: ExecOptions): Promise<FileTail> {
  const f = path.join(dir, id);
  await fs.unlink(`${f}.start`).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
  });
  const openBoth = async (): Promise<[FileHandle, FileHandle]> => {
    const [out, err] = await Promise.allSettled([fs.open(`${f}.out`, "w+", 0o600), fs.open(`${f}.err`, "w+", 0o600)]);
    if (out.status === "fulfilled" && err.status === "fulfilled") return [out.value, err.value];
    await Promise.all([out, err].map((r) => (r.status === "fulfilled" ? r.value.close().catch(() => undefined) : undefined)));
    throw (out.status === "rejected" ? out : (err as PromiseRejectedResult)).reason;
  };
  const [out, err] = await openBoth().catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
    await makeDirs(dir, 0o700);
    return openBoth();
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
  /** Per host: how its wrappers follow the output, probed once (with the removal of its stale files). */
  private readonly followWays = new Map<HostDriver, Promise<FollowWay>>();
  /** Per host: finished commands whose files its next wrapper removes (or the last forget()). */
  private readonly toForget = new Map<HostDriver, { dir: string; ids: string[] }>();

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

  /**
   * The following wrapper of a command (superviseScript); once FORGET_BATCH commands
   * of this host are forgotten, it also removes their files (one `rm` for many steps).
   */
  wrap(command: string, s: Supervised, follow: FollowWay = "poll"): string {
    const queued = this.toForget.get(s.driver);
    let forget: string[] = [];
    // A step run again has the same ids: the files of this id are this command's now, not to be removed.
    if (queued) queued.ids = queued.ids.filter((id) => id !== s.id);
    if (queued?.dir === s.dir && queued.ids.length >= FORGET_BATCH) {
      this.toForget.delete(s.driver);
      forget = queued.ids;
    }
    return superviseScript(command, s.dir, s.id, { follow, forget });
  }

  /**
   * Runs a step's command: as it is without supervision; on a host under the following
   * wrapper (GNU tail following the output when the host has it); locally under
   * recordScript while Node follows the output files itself (the following wrapper when
   * it cannot open them).
   */
  async exec(driver: HostDriver, command: string, s: Supervised | undefined, options: ExecOptions): Promise<ExecResult> {
    if (s === undefined) return driver.exec(command, options);
    if (driver.local !== true || s.dir !== this.o.statusDir) {
      const follow = await this.followWay(s, options.signal);
      return driver.exec(this.wrap(command, s, follow), options);
    }
    const tail = await openOutputs(s.dir, s.id, options).catch(() => undefined);
    if (tail === undefined) return driver.exec(this.wrap(command, s), options);
    try {
      return await driver.exec(recordScript(command, s.dir, s.id), options);
    } finally {
      await tail.stop();
    }
  }

  /** How wrappers on this host follow the output: asked once per run (tailProbeScript, which also removes the stale files there). */
  private followWay(s: Supervised, signal: AbortSignal | undefined): Promise<FollowWay> {
    const known = this.followWays.get(s.driver);
    if (known) return known;
    let out = "";
    const asked = s.driver
      .exec(tailProbeScript(s.dir, true), { onStdout: (c) => (out += c), timeoutMs: TAIL_PROBE_TIMEOUT_MS, ...(signal ? { signal } : {}) })
      .then(
        (r) => {
          // Not answered (the run ended it): the plain way for now, asked again by the next command.
          if (r.aborted) this.followWays.delete(s.driver);
          return r.exitCode === 0 ? parseTailProbe(out) : "poll";
        },
        () => {
          // The connection failing: asked again by the next command.
          this.followWays.delete(s.driver);
          return "poll" as const;
        },
      );
    this.followWays.set(s.driver, asked);
    return asked;
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
    await makeDirs(path.dirname(marker), 0o700);
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
    this.toForget.clear();
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

  /**
   * Once the journal has written what came before (its check passed): the files of
   * finished steps go; locally at once, on a host with a later wrapper there (no round
   * trip of their own: wrap), or, with `last` (the run is over), by one command per host.
   */
  async forget(last = false): Promise<void> {
    const local: string[] = this.localDone.splice(0);
    for (const file of local) this.localFiles.delete(file);
    for (const s of this.done.splice(0)) {
      if (s.dir === this.o.statusDir) {
        for (const ext of STATUS_FILES) local.push(path.join(s.dir, `${s.id}.${ext}`));
        continue;
      }
      const queued = this.toForget.get(s.driver);
      if (queued && queued.dir === s.dir) queued.ids.push(s.id);
      else this.toForget.set(s.driver, { dir: s.dir, ids: [s.id] });
    }
    await Promise.all(local.map((file) => fs.unlink(file).catch(() => undefined)));
    if (!last) return;
    const hosts = [...this.toForget];
    this.toForget.clear();
    // Left behind when this fails: removed once older than the retention.
    for (const [driver, q] of hosts) await driver.exec(forgetScript(q.dir, q.ids), { timeoutMs: 30_000 }).catch(() => undefined);
  }
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
