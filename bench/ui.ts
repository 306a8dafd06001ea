// The Ink UI under a flood: a step printing 100 MB (1,000,000 lines of 100
// characters) run through the interactive UI in a real pseudo-terminal (tmux,
// 120x40), beside the same run with `--no-tui >/dev/null`, in the same session.
// Prints the step's time in both (from the journal) and the ratio, each process's
// wall time, the UI process's peak RSS (VmHWM from /proc), and how long a key
// press takes to show on the screen while the output streams.
// Goals: within 1.5x, RSS < 250 MB, key press < 200 ms.
//
// Key presses are timed from the moment tmux is told to send the key to the
// moment tmux's own copy of the screen shows its effect: ↓ (the step list says
// "Steps 2/2"), ↑ ("Steps 1/2"), PgUp (the output pane says "lines up"), End (it
// no longer does). The screen is read through one tmux control-mode client
// (`tmux -C`), re-read as soon as the pane receives output, so reading it costs no
// process per look and adds no polling interval. Only presses made while the step
// ran count (its end is taken from the journal); a press whose effect had not
// shown by the time the step ended counts as a miss, at the time it waited.
// Two sets of presses:
// - during the 100 MB step itself (about a second on a quiet machine: some
//   twenty presses);
// - during a step flooding output for a fixed time (`yes`, as fast as the pipe
//   goes, for FLOOD_SECONDS), for enough samples to give a median and a p95.

import { spawn, spawnSync, execFileSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// RUNBOOK_BIN: measure another build of the CLI (e.g. one bundled elsewhere).
const BIN = process.env.RUNBOOK_BIN ?? join(ROOT, "bin/runbook.js");
// RUNBOOK_BENCH_FLOOD_SECONDS: flood for longer, to see that memory stays flat (30 s: 200 MB here).
const FLOOD_SECONDS = Number(process.env.RUNBOOK_BENCH_FLOOD_SECONDS ?? 6);
const FLOOD_SAMPLES = 40;

const RUNBOOK = `runbook "ui-bench" version "1.0.0"

step "Print 100 MB" {
  run "head -c 100000000 /dev/zero | tr '\\\\0' x | fold -w 100"
}

step "After" {
  run "echo after"
}
`;

const LINE = "0123456789".repeat(10);
const FLOOD = `runbook "ui-bench-keys" version "1.0.0"

step "Flood" {
  run "timeout ${FLOOD_SECONDS} yes ${LINE} || true"
}

step "After" {
  run "echo after"
}
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set size of a live process, in MB (VmHWM), or undefined once it is gone. */
function peakRssMb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Polls a process's VmHWM until it exits; the last value read is the peak (to within one poll). */
function watchRss(pid: () => number | undefined): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    const p = pid();
    if (p === undefined) return;
    const v = peakRssMb(p);
    if (v !== undefined && v > peak) peak = v;
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** A step's start and end (ms since the epoch), from the journal. */
function stepTimes(dir: string, db: string, stepId: string): { startedAt: number; finishedAt: number } {
  const history = execFileSync("node", [BIN, "history", "--json", "--state", db], { cwd: dir, encoding: "utf8" });
  const id = (JSON.parse(history) as { id: string }[])[0]?.id;
  if (!id) throw new Error(`no run in ${db}`);
  const shown = JSON.parse(execFileSync("node", [BIN, "show", id, "--json", "--state", db], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })) as {
    run: { status: string };
    steps: { stepId: string; status: string; startedAt: string; finishedAt: string }[];
  };
  if (shown.run.status !== "succeeded") throw new Error(`run ${id} ${shown.run.status}`);
  const s = shown.steps.find((x) => x.stepId === stepId);
  if (!s) throw new Error(`no ${stepId} step in the journal`);
  return { startedAt: Date.parse(s.startedAt), finishedAt: Date.parse(s.finishedAt) };
}

function stepMs(dir: string, db: string, stepId: string): number {
  const t = stepTimes(dir, db, stepId);
  return t.finishedAt - t.startedAt;
}

async function baseline(dir: string): Promise<{ stepMs: number; wallMs: number; rssMb: number }> {
  const db = join(dir, "plain.db");
  const devNull = openSync("/dev/null", "w");
  const t = performance.now();
  const env = { ...process.env };
  delete env.NODE_ENV;
  const child = spawn("node", [BIN, "run", "rb.rb", "--no-tui", "--state", db], { cwd: dir, stdio: ["ignore", devNull, "pipe"], env });
  const rss = watchRss(() => child.pid);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  const wallMs = performance.now() - t;
  const rssMb = rss.stop();
  closeSync(devNull);
  if (code !== 0) throw new Error(`runbook run --no-tui exited ${code}: ${err}`);
  return { stepMs: stepMs(dir, db, "print-100-mb"), wallMs, rssMb };
}

/**
 * A tmux session (120x40) running one command, read and driven through a single
 * control-mode client: `capture()` asks tmux for the screen, `changed()` resolves
 * when the pane next receives output.
 */
class TmuxSession {
  private readonly client: ChildProcessWithoutNullStreams;
  private readonly replies: ((lines: string[]) => void)[] = [];
  private block: string[] | undefined;
  private partial = "";
  private waiters: (() => void)[] = [];
  private exited = false;

  constructor(
    private readonly socket: string,
    cwd: string,
    command: string,
  ) {
    execFileSync("tmux", ["-L", socket, "new-session", "-d", "-s", "bench", "-x", "120", "-y", "40", "-c", cwd, command]);
    this.client = spawn("tmux", ["-L", socket, "-C", "attach-session", "-t", "bench"], { stdio: ["pipe", "pipe", "pipe"] });
    this.client.stdout.setEncoding("utf8");
    this.client.stdout.on("data", (d: string) => this.read(d));
    this.client.on("exit", () => {
      this.exited = true;
      this.wake();
    });
  }

  private read(data: string): void {
    const lines = (this.partial + data).split("\n");
    this.partial = lines.pop()!;
    for (const line of lines) {
      if (this.block !== undefined) {
        if (line.startsWith("%end ") || line.startsWith("%error ")) {
          const done = this.block;
          this.block = undefined;
          this.replies.shift()?.(done);
        } else this.block.push(line);
      } else if (line.startsWith("%begin ")) this.block = [];
      else if (line.startsWith("%output ")) this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private command(cmd: string): Promise<string[]> {
    if (this.exited) return Promise.reject(new Error("the tmux control client ended"));
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.client.stdin.write(cmd + "\n");
    });
  }

  /** The screen as tmux holds it now. */
  async capture(): Promise<string> {
    return (await this.command("capture-pane -p -t bench")).join("\n");
  }

  /** Sends one key (tmux's name for it); resolves once tmux has taken it. */
  async key(name: string): Promise<void> {
    await this.command(`send-keys -t bench ${name}`);
  }

  /** Resolves when the pane receives output, or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The first screen for which `check` holds. */
  async waitFor(check: (screen: string) => boolean, what: string, timeout = 600_000): Promise<string> {
    const t0 = performance.now();
    for (;;) {
      const changed = this.changed(100);
      const s = await this.capture();
      if (check(s)) return s;
      if (s.includes("RUNBOOK-EXIT=") && !what.includes("RUNBOOK-EXIT")) throw new Error(`the UI run ended before ${what}:\n${s}`);
      if (performance.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}:\n${s}`);
      await changed;
    }
  }

  close(): void {
    this.client.stdin.end();
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

/**
 * A whole frame is on the screen: Ink erases and redraws the frame top to bottom,
 * so tmux may be read halfway through; the footer is its last line.
 */
const wholeFrame = (s: string) => s.includes("Ctrl-C interrupt");

/** What a key does to the screen, so its effect can be seen. */
const PRESSES: { key: string; shows: (s: string) => boolean }[] = [
  { key: "Down", shows: (s) => /Steps\s+2\/2/.test(s) },
  { key: "Up", shows: (s) => /Steps\s+1\/2/.test(s) },
  { key: "PageUp", shows: (s) => /↑ \d+ lines up/.test(s) },
  { key: "End", shows: (s) => /Output\s+\d+ lines/.test(s) && !/↑ \d+ lines up/.test(s) },
];

interface Press {
  /** Date.now() when the key was sent. */
  at: number;
  /** Until its effect showed, or (shown: false) until the screen showed the step finished instead. */
  ms: number;
  shown: boolean;
}

/**
 * Presses keys while the step runs, one after another (each after the previous one
 * showed, plus a pause of 20-80 ms so presses fall anywhere between frames).
 * Stops after `max` presses, or once the screen shows the step finished (the
 * progress says 1/2 steps) or a key whose effect had not shown by then.
 */
async function pressWhileRunning(tmux: TmuxSession, max: number): Promise<Press[]> {
  const finished = (s: string) => /[12]\/2 steps/.test(s) || s.includes("RUNBOOK-EXIT=");
  const presses: Press[] = [];
  for (let i = 0; presses.length < max; i = (i + 1) % PRESSES.length) {
    const p = PRESSES[i]!;
    const at = Date.now();
    const t0 = performance.now();
    await tmux.key(p.key);
    const shows = (x: string) => wholeFrame(x) && p.shows(x);
    const s = await tmux.waitFor((x) => shows(x) || finished(x), `the effect of ${p.key}`, 60_000);
    presses.push({ at, ms: performance.now() - t0, shown: shows(s) });
    if (!shows(s) || finished(s)) break;
    await sleep(20 + Math.random() * 60);
  }
  return presses;
}

/**
 * The presses made while the step ran (from the journal: a screen read mid-frame
 * may lack the header, so the screen alone cannot say). A press whose effect never
 * showed before the step ended counts as a miss, with the time it went unanswered
 * (a lower bound) as its latency, unless it came in the step's last 200 ms.
 */
function whileRunning(presses: Press[], finishedAt: number): { ms: number[]; missed: number } {
  const ms: number[] = [];
  let missed = 0;
  for (const k of presses) {
    if (k.shown && k.at <= finishedAt) ms.push(k.ms);
    else if (!k.shown && k.at < finishedAt - 200) {
      ms.push(k.ms);
      missed++;
    }
  }
  return { ms, missed };
}

async function throughUi(
  dir: string,
  file: string,
  title: string,
  stepId: string,
  maxKeys: number,
): Promise<{ stepMs: number; wallMs: number; rssMb: number; keys: { ms: number[]; missed: number } }> {
  const db = join(dir, `${stepId}.db`);
  const pidFile = join(dir, `${stepId}.pid`);
  const command = `echo $$ > ${pidFile}; exec env -u NODE_ENV -u CI node ${BIN} run ${file} --state ${db}`;
  const tmux = new TmuxSession(`runbook-ui-bench-${process.pid}-${stepId}`, dir, `sh -c '${command}'; echo "RUNBOOK-EXIT=$?"; sleep 3600`);
  try {
    let pid: number | undefined;
    const rss = watchRss(() => {
      if (pid === undefined && existsSync(pidFile)) pid = Number(readFileSync(pidFile, "utf8").trim()) || undefined;
      return pid;
    });
    await tmux.waitFor((s) => s.includes(`Next step: ${title}`), `Next step: ${title}`);
    const t = performance.now();
    await tmux.key("c");
    await tmux.waitFor((s) => /Output\s+\d{4,} lines/.test(s), "output");
    const presses = await pressWhileRunning(tmux, maxKeys);
    const end = await tmux.waitFor((s) => s.includes("RUNBOOK-EXIT="), "RUNBOOK-EXIT");
    const wallMs = performance.now() - t;
    const rssMb = rss.stop();
    if (!end.includes("RUNBOOK-EXIT=0")) throw new Error(`the UI run failed:\n${end}`);
    const step = stepTimes(dir, db, stepId);
    return { stepMs: step.finishedAt - step.startedAt, wallMs, rssMb, keys: whileRunning(presses, step.finishedAt) };
  } finally {
    tmux.close();
  }
}

/** The q-quantile (nearest rank) of sorted values. */
const quantile = (sorted: number[], q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;

function stats({ ms, missed }: { ms: number[]; missed: number }): string {
  if (ms.length === 0) return "no press was made while the step ran";
  const s = [...ms].sort((a, b) => a - b);
  const f = (x: number) => `${x.toFixed(0)} ms`;
  const miss = missed > 0 ? ` (${missed} not answered before the step ended, counted at the time they waited)` : "";
  return `${s.length} presses: median ${f(quantile(s, 0.5))}, p95 ${f(quantile(s, 0.95))}, worst ${f(s[s.length - 1]!)}${miss}`;
}

export async function benchUi(): Promise<void> {
  if (spawnSync("tmux", ["-V"]).status !== 0) throw new Error("tmux is not installed");
  if (!existsSync(join(ROOT, "dist/bundle/main.js")) || (process.env.RUNBOOK_BENCH_BUILD !== "0" && !process.env.RUNBOOK_BIN)) {
    // bin/runbook.js runs the bundle: build it as the package does (tsc, then esbuild).
    const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
    if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}${b.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "runbook-bench-ui-"));
  try {
    writeFileSync(join(dir, "rb.rb"), RUNBOOK);
    writeFileSync(join(dir, "flood.rb"), FLOOD);
    const plain = await baseline(dir);
    const ui = await throughUi(dir, "rb.rb", "Print 100 MB", "print-100-mb", 100);
    const flood = await throughUi(dir, "flood.rb", "Flood", "flood", FLOOD_SAMPLES);
    const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log("a step printing 100 MB (1,000,000 lines), Ink UI in tmux 120x40 vs --no-tui >/dev/null");
    console.log(`  step, --no-tui:  ${f(plain.stepMs)}   (process ${f(plain.wallMs)}, peak RSS ${plain.rssMb.toFixed(0)} MB)`);
    console.log(`  step, UI:        ${f(ui.stepMs)}   (from 'c' to exit ${f(ui.wallMs)}, keys pressed throughout)`);
    console.log(`  ratio: ${(ui.stepMs / plain.stepMs).toFixed(2)}x (goal: <= 1.5x)`);
    console.log(`  UI peak RSS: ${ui.rssMb.toFixed(0)} MB; flooding for ${FLOOD_SECONDS} s: ${flood.rssMb.toFixed(0)} MB (goal: < 250 MB)`);
    console.log("  key press until its effect is on tmux's screen (↓ ↑ PgUp End in turn; only while the step runs):");
    console.log(`    while the 100 MB step streams:  ${stats(ui.keys)}`);
    console.log(`    while \`yes\` floods (${f(flood.stepMs)}):  ${stats(flood.keys)}`);
    console.log(`    all:                            ${stats({ ms: [...ui.keys.ms, ...flood.keys.ms], missed: ui.keys.missed + flood.keys.missed })} (goal: < 200 ms)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
