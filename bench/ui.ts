// The Ink UI under a flood: a step printing 100 MB (1,000,000 lines of 100
// characters) run through the interactive UI in a real pseudo-terminal (tmux,
// 120x40), beside the same run with `--no-tui >/dev/null`, in the same session.
// Prints the step's time in both (from the journal) and the ratio, each process's
// wall time, the UI process's peak RSS (VmHWM from /proc), and how long a key
// press takes to show on the screen while the output streams.
// Goals: within 1.5x, RSS < 250 MB, key press < 200 ms.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// RUNBOOK_BIN: measure another build of the CLI (e.g. one bundled elsewhere).
const BIN = process.env.RUNBOOK_BIN ?? join(ROOT, "bin/runbook.js");

const RUNBOOK = `runbook "ui-bench" version "1.0.0"

step "Print 100 MB" {
  run "head -c 100000000 /dev/zero | tr '\\\\0' x | fold -w 100"
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

/** The duration of the 100 MB step, from the journal. */
function stepMs(dir: string, db: string): number {
  const history = execFileSync("node", [BIN, "history", "--json", "--state", db], { cwd: dir, encoding: "utf8" });
  const id = (JSON.parse(history) as { id: string }[])[0]?.id;
  if (!id) throw new Error(`no run in ${db}`);
  const shown = JSON.parse(execFileSync("node", [BIN, "show", id, "--json", "--state", db], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })) as {
    run: { status: string };
    steps: { stepId: string; status: string; startedAt: string; finishedAt: string }[];
  };
  if (shown.run.status !== "succeeded") throw new Error(`run ${id} ${shown.run.status}`);
  const s = shown.steps.find((x) => x.stepId === "print-100-mb");
  if (!s) throw new Error("no print-100-mb step in the journal");
  return Date.parse(s.finishedAt) - Date.parse(s.startedAt);
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
  return { stepMs: stepMs(dir, db), wallMs, rssMb };
}

async function throughUi(dir: string): Promise<{ stepMs: number; wallMs: number; rssMb: number; keyMs: number[] }> {
  const db = join(dir, "ui.db");
  const socket = `runbook-ui-bench-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const pidFile = join(dir, "ui.pid");
  const command = `echo $$ > ui.pid; exec env -u NODE_ENV -u CI node ${BIN} run rb.rb --state ${db}`;
  tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "40", "-c", dir, `sh -c '${command}'; echo "RUNBOOK-EXIT=$?"; sleep 3600`);
  const screen = () => tmux("capture-pane", "-p", "-t", "bench");
  const waitFor = async (text: string | RegExp, timeout = 600_000) => {
    const t0 = Date.now();
    for (;;) {
      const s = screen();
      if (typeof text === "string" ? s.includes(text) : text.test(s)) return s;
      if (s.includes("RUNBOOK-EXIT=") && !String(text).includes("RUNBOOK-EXIT")) throw new Error(`the UI run ended early:\n${s}`);
      if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${String(text)}:\n${s}`);
      await sleep(20);
    }
  };
  try {
    let pid: number | undefined;
    const rss = watchRss(() => {
      if (pid === undefined && existsSync(pidFile)) pid = Number(readFileSync(pidFile, "utf8").trim()) || undefined;
      return pid;
    });
    await waitFor("Next step: Print 100 MB");
    const t = performance.now();
    tmux("send-keys", "-t", "bench", "c");
    // Key presses while the output streams: ↓ selects the next step, ↑ comes back.
    await waitFor(/Output\s+\d{4,} lines/);
    const keyMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [key, shows] of [
        ["Down", "Steps  2/2"],
        ["Up", "Steps  1/2"],
      ] as const) {
        const k0 = performance.now();
        tmux("send-keys", "-t", "bench", key);
        const s = await waitFor(new RegExp(`${shows}|RUNBOOK-EXIT=|Step failed`), 30_000);
        if (!s.includes(shows)) break;
        keyMs.push(performance.now() - k0);
      }
      if (screen().includes("RUNBOOK-EXIT=")) break;
      await sleep(200);
    }
    const end = await waitFor("RUNBOOK-EXIT=");
    const wallMs = performance.now() - t;
    const rssMb = rss.stop();
    if (!end.includes("RUNBOOK-EXIT=0")) throw new Error(`the UI run failed:\n${end}`);
    return { stepMs: stepMs(dir, db), wallMs, rssMb, keyMs };
  } finally {
    spawnSync("tmux", ["-L", socket, "kill-server"]);
  }
}

export async function benchUi(): Promise<void> {
  if (spawnSync("tmux", ["-V"]).status !== 0) throw new Error("tmux is not installed");
  if (!existsSync(join(ROOT, "dist/cli/ui/run-ui.js")) || process.env.RUNBOOK_BENCH_BUILD !== "0") {
    spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
  }
  const dir = mkdtempSync(join(tmpdir(), "runbook-bench-ui-"));
  try {
    writeFileSync(join(dir, "rb.rb"), RUNBOOK);
    const plain = await baseline(dir);
    const ui = await throughUi(dir);
    const sorted = [...ui.keyMs].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : NaN;
    const worst = sorted.length ? sorted[sorted.length - 1]! : NaN;
    const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log("a step printing 100 MB (1,000,000 lines), Ink UI in tmux 120x40 vs --no-tui >/dev/null");
    console.log(`  step, --no-tui:  ${f(plain.stepMs)}   (process ${f(plain.wallMs)}, peak RSS ${plain.rssMb.toFixed(0)} MB)`);
    console.log(`  step, UI:        ${f(ui.stepMs)}   (from 'c' to exit ${f(ui.wallMs)})`);
    console.log(`  ratio: ${(ui.stepMs / plain.stepMs).toFixed(2)}x (goal: <= 1.5x)`);
    console.log(`  UI peak RSS: ${ui.rssMb.toFixed(0)} MB (goal: < 250 MB)`);
    console.log(`  key press while streaming (${ui.keyMs.length} presses, tmux round trip included): median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms (goal: < 200 ms)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
