// Exactly once across crashes (issue 19): a real `runbook` process killed with
// SIGKILL at random moments, then resumed (`resume --yes --force --still-running
// follow`), again and again: the run completes, every step ends, and no step's
// command runs to its end twice, locally and on a real sshd host. Also: a kill
// exactly between a command's end and the journal's write (a test hook pauses
// there), a kill during a step's output (its output is shown after resume), and a
// kill while a step waits on a confirmation (at a terminal, through `script`).
// The kills tried and landed are printed for the report.

import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openJournal } from "../../runtime/journal/index.js";
import { cli, type CliBuilder } from "../support/cli.js";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";

const SLOW = 600_000;
const STEPS = 20;
const RUN_ID = /run (\d{8}-\d{6}-[0-9a-f]{4})/;

function runbook(name: string, logPath: string, on: string): string {
  const lines = [`runbook "${name}" version "1.0.0"`];
  if (on) lines.push(on);
  for (let n = 1; n <= STEPS; n++) {
    const sleep = (0.1 + ((n * 7) % 3) * 0.1).toFixed(1);
    lines.push(`step "Step ${n}" as s${n}${on ? " on box" : ""} { run "echo start-${n} >> ${logPath}; sleep ${sleep}; echo end-${n} >> ${logPath}" }`);
  }
  return lines.join("\n") + "\n";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

async function stepsOf(c: CliBuilder, runId: string): Promise<string[]> {
  const j = await openJournal(c.journalPath);
  try {
    return (await j.getSteps(runId)).map((s) => `${s.stepId}:${s.status}`);
  } finally {
    await j.close();
  }
}

function counts(log: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of log.split("\n").filter(Boolean)) m.set(line, (m.get(line) ?? 0) + 1);
  return m;
}

interface KillReport {
  tried: number;
  landed: number;
  /** Landed while a step's command ran (its start in the log, not its end). */
  midCommand: number;
}

/**
 * Runs the runbook, killing the runner (then each resume) with SIGKILL after a random
 * time, `kills` times; then resumes until the run completes. Returns the kills.
 */
async function killAtRandom(c: CliBuilder, file: string, kills: number, log: () => string, env: NodeJS.ProcessEnv = {}): Promise<{ runId: string; report: KillReport; last: string }> {
  const report: KillReport = { tried: 0, landed: 0, midCommand: 0 };
  const first = cli(c.dir).env(env).args("run", file, "--no-tui").spawn();
  await first.waitFor(RUN_ID);
  const runId = RUN_ID.exec(first.stdout())![1]!;
  let done = false;
  let last = "";
  // Killed a random moment after this process has started a step (or at once after its start-up).
  const attempt = async (p: ReturnType<CliBuilder["spawn"]>, afterMs: number) => {
    const ended = await Promise.race([
      p.exited.then(() => true),
      p.waitFor(/\] started: /).then(
        () => sleep(afterMs).then(() => false),
        () => true,
      ),
    ]);
    report.tried++;
    if (!ended) {
      p.kill("SIGKILL");
      report.landed++;
      const lines = log().trim().split("\n");
      if (lines[lines.length - 1]?.startsWith("start-")) report.midCommand++;
    }
    const r = await p.exited;
    if (ended && r.code === 0) {
      done = true;
      last = r.stdout;
    }
  };
  await attempt(first, between(0, 1500));
  for (let i = 1; i < kills && !done; i++) {
    const p = cli(c.dir).env(env).args("resume", runId, "--yes", "--force", "--still-running", "follow", "--no-tui").spawn();
    await attempt(p, between(0, 1500));
  }
  for (let i = 0; i < 5 && !done; i++) {
    const r = await cli(c.dir).env(env).args("resume", runId, "--yes", "--force", "--still-running", "follow", "--no-tui").run();
    if (r.code === 0) {
      done = true;
      last = r.stdout;
    } else last = `${r.stdout}\n${r.stderr}`;
  }
  expect(done, last).toBe(true);
  return { runId, report, last };
}

function expectExactlyOnce(log: string): void {
  const seen = counts(log);
  for (let n = 1; n <= STEPS; n++) {
    expect(seen.get(`end-${n}`), `end-${n} in\n${log}`).toBe(1);
    expect(seen.get(`start-${n}`), `start-${n} in\n${log}`).toBe(1);
  }
}

const allOk = Array.from({ length: STEPS }, (_, i) => `s${i + 1}:ok`);
const totals: KillReport = { tried: 0, landed: 0, midCommand: 0 };

/** kill -9 of a runner started with spawn(), counted; the run id it printed. */
async function killRunner(p: { kill(signal: NodeJS.Signals): void; exited: Promise<unknown>; stdout(): string }): Promise<string> {
  p.kill("SIGKILL");
  await p.exited;
  totals.tried++;
  totals.landed++;
  return RUN_ID.exec(p.stdout())![1]!;
}

afterAll(() => {
  // The number of kills, for the closing note of issue 19.
  console.log(`exactly-once: ${totals.landed} kills landed of ${totals.tried} tried, ${totals.midCommand} while a step's command ran`);
});

describe("exactly once across kill -9 of the runner (local)", () => {
  it(
    "20 steps, killed at random moments several times per run: completes, every step ended, no command ran to its end twice",
    async () => {
      for (let round = 0; round < 2; round++) {
        const c = cli().file("k.rb", runbook("k", "log", ""));
        const { runId, report } = await killAtRandom(c, "k.rb", 6, () => (existsSync(join(c.dir, "log")) ? readFileSync(join(c.dir, "log"), "utf8") : ""));
        totals.tried += report.tried;
        totals.landed += report.landed;
        totals.midCommand += report.midCommand;
        expectExactlyOnce(readFileSync(join(c.dir, "log"), "utf8"));
        expect(await stepsOf(c, runId)).toEqual(allOk);
        // The status files go once the journal has the outcomes.
        expect(readdirSync(join(c.dir, "exec"))).toEqual([]);
      }
    },
    SLOW,
  );

  it(
    "killed exactly between a command's end and the journal's write: resume takes the outcome from the status file",
    async () => {
      const src = `runbook "p" version "1.0.0"
step "One" as one { run "echo ran >> log; echo the-output" }
step "Two" as two { run "echo two >> log" }
`;
      const c = cli().file("p.rb", src);
      const paused = join(c.dir, "paused");
      const p = cli(c.dir).env({ RUNBOOK_TEST_PAUSE_AFTER_CHANGE: paused }).args("run", "p.rb", "--no-tui").spawn();
      for (let i = 0; i < 600 && !existsSync(paused); i++) await sleep(50);
      expect(existsSync(paused)).toBe(true);
      const runId = await killRunner(p);
      expect(await stepsOf(c, runId)).toEqual(["one:interrupted"]);

      const r = await cli(c.dir).args("resume", runId, "--yes", "--no-tui").run();
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\[one\] note: its command ran to its end before the run stopped \(exit status 0\): not run again; its output and status come from its status file/);
      expect(r.stdout).toMatch(/\[one\] local \| the-output/);
      expect(readFileSync(join(c.dir, "log"), "utf8")).toBe("ran\ntwo\n");
      expect(await stepsOf(c, runId)).toEqual(["one:ok", "two:ok"]);
      // `show` has it too (the notes are journaled).
      const shown = await cli(c.dir).args("show", runId).run();
      expect(shown.stdout).toMatch(/ran to its end before the run stopped/);
    },
    SLOW,
  );

  it(
    "an edit killed between its rename and the journal's write: resume sees the file holds its result, and does not edit again",
    async () => {
      const src = `runbook "e" version "1.0.0"
step "Bump" as bump { edit "conf.txt" { replace "version=1" with "version=2" } }
`;
      const c = cli().file("e.rb", src).file("conf.txt", "name=x\nversion=1\n");
      const paused = join(c.dir, "paused");
      const p = cli(c.dir).env({ RUNBOOK_TEST_PAUSE_AFTER_CHANGE: paused }).args("run", "e.rb", "--no-tui").spawn();
      for (let i = 0; i < 600 && !existsSync(paused); i++) await sleep(50);
      expect(existsSync(paused)).toBe(true);
      const runId = await killRunner(p);
      expect(readFileSync(join(c.dir, "conf.txt"), "utf8")).toBe("name=x\nversion=2\n");
      expect(await stepsOf(c, runId)).toEqual(["bump:interrupted"]);

      const r = await cli(c.dir).args("resume", runId, "--yes", "--no-tui").run();
      expect(r.stdout).toMatch(/\[bump\] note: conf\.txt already holds what this edit wrote before the run stopped: not edited again/);
      expect(r.code).toBe(0);
      expect(readFileSync(join(c.dir, "conf.txt"), "utf8")).toBe("name=x\nversion=2\n");
      expect(await stepsOf(c, runId)).toEqual(["bump:ok"]);
    },
    SLOW,
  );

  it(
    "killed during a step's output: after resume its output is shown, the command ran once",
    async () => {
      const src = `runbook "o" version "1.0.0"
step "Talk" as talk { run "echo begin >> log; i=1; while [ $i -le 30 ]; do echo line-$i; i=$((i+1)); sleep 0.05; done; echo end >> log; exit 3" }
`;
      const c = cli().file("o.rb", src);
      const p = cli(c.dir).args("run", "o.rb", "--no-tui").spawn();
      await p.waitFor(/local \| line-3\n/);
      const runId = await killRunner(p);
      expect(p.stdout()).not.toMatch(/line-30/);

      const r = await cli(c.dir).args("resume", runId, "--yes", "--still-running", "follow", "--no-tui").run();
      expect(r.stderr).toMatch(/following it: its output is shown from its output file until it ends/);
      for (let i = 1; i <= 30; i++) expect(r.stdout).toContain(`local | line-${i}\n`);
      // Its exit status is the command's, from its status file.
      expect(r.stdout).toMatch(/\[talk\] failed: the command exited with status 3/);
      expect(readFileSync(join(c.dir, "log"), "utf8")).toBe("begin\nend\n");
      expect(await stepsOf(c, runId)).toEqual(["talk:failed"]);
    },
    SLOW,
  );

  it(
    "killed while a step waits on a confirmation (at a terminal): the resume asks again; each command ran once",
    async () => {
      const src = `runbook "q" version "1.0.0"
step "One" as one { run "echo one >> log" }
step "Two" as two {
  confirm "Go on with two?"
  run "echo two >> log"
}
`;
      const c = cli().file("q.rb", src);
      const root = join(import.meta.dirname, "..", "..");
      const tsx = pathToFileURL(join(root, "node_modules/tsx/dist/esm/index.mjs")).href;
      const bin = join(root, "tests/support/runbook-bin.ts");
      // `script` gives the runner a terminal; exec makes node its child.
      const term = spawn("script", ["-qfec", `exec '${process.execPath}' --import '${tsx}' '${bin}' run q.rb --no-tui`, "/dev/null"], {
        cwd: c.dir,
        env: { ...process.env, RUNBOOK_STATE: c.journalPath, HOME: c.dir, NO_COLOR: "1" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      term.stdout.on("data", (b: Buffer) => (out += b.toString()));
      for (let i = 0; i < 1200 && !/Go on with two\?/.test(out); i++) await sleep(50);
      expect(out).toMatch(/Go on with two\?/);
      const runner = Number(readFileSync(`/proc/${term.pid}/task/${term.pid}/children`, "utf8").trim().split(/\s+/)[0]);
      process.kill(runner, "SIGKILL");
      totals.tried++;
      totals.landed++;
      await new Promise((r) => term.on("close", r));
      const runId = RUN_ID.exec(out)![1]!;
      expect(readFileSync(join(c.dir, "log"), "utf8")).toBe("one\n");

      const r = await cli(c.dir).args("resume", runId, "--yes", "--no-tui").run();
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Go on with two\?/);
      expect(readFileSync(join(c.dir, "log"), "utf8")).toBe("one\ntwo\n");
      expect(await stepsOf(c, runId)).toEqual(["one:ok", "two:ok"]);
    },
    SLOW,
  );
});

const sshdReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshdReason === null, sshdReason ?? undefined);

describe.skipIf(!sshd)("exactly once across kill -9 of the runner (on a host)", () => {
  let h: SshTestHosts;
  beforeAll(async () => {
    h = await startSshHosts(1);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it(
    "20 steps on a host, killed at random moments several times: completes, every step ended, no command ran to its end twice",
    async () => {
      const d = `${h.remoteDir}/x1-${Date.now()}`;
      const src = runbook("kr", `${d}/log`, `host box = "${h.hosts[0]!.target}"`).replace(`step "Step 1" as s1 on box { run "`, `step "Step 1" as s1 on box { run "mkdir -p ${d}; `);
      const c = cli().file("kr.rb", src);
      const { runId, report } = await killAtRandom(c, "kr.rb", 6, () => (existsSync(`${d}/log`) ? readFileSync(`${d}/log`, "utf8") : ""), { HOME: h.home });
      totals.tried += report.tried;
      totals.landed += report.landed;
      totals.midCommand += report.midCommand;
      expectExactlyOnce(readFileSync(`${d}/log`, "utf8"));
      expect(await stepsOf(c, runId)).toEqual(allOk);
    },
    SLOW,
  );
});
