// kill -9 of `runbook run` leaves the running step's command going in its own
// process group; `resume` must find it and never start the step next to it. With
// a real runbook process (killed with SIGKILL) and a real shell: without an
// answer the resume stops (exit 3) and names the command; --still-running end
// ends its process group first; wait waits for it to end; go-on goes on without
// starting that step again. On a host (a real sshd) the command is found by its
// RUNBOOK_EXEC_ID and ended there.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openJournal } from "../../runtime/journal/index.js";
import { cli, type CliBuilder } from "../support/cli.js";
import { alive } from "../support/process.js";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";

const SLOW = 300_000; // a real runbook process starts through tsx: slow on a busy machine

const src = `runbook "k" version "1.0.0"
step "First" as first { run "echo first >> log.txt" }
step "Second" as second { run "echo $$ > second.pid; echo second-start >> log.txt; echo second-running; while [ ! -f go ]; do sleep 0.05; done; echo second-done >> log.txt" }
step "Third" as third { run "echo third >> log.txt" }
`;

const leftovers: number[] = [];
afterEach(() => {
  for (const pgid of leftovers.splice(0)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

/** `runbook run k.rb` killed with SIGKILL while step second runs; its command keeps running. */
async function killedInSecond(): Promise<{ c: CliBuilder; runId: string; pgid: number }> {
  const c = cli().file("k.rb", src);
  const p = c.args("run", "k.rb", "--no-tui").spawn();
  await p.waitFor(/local \| second-running/);
  p.kill("SIGKILL");
  await p.exited;
  // The command runs under its supervisor (runtime/supervisor.ts): the group is the supervisor's.
  const pid = Number(readFileSync(join(c.dir, "second.pid"), "utf8"));
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  leftovers.push(pgid);
  expect(alive(pgid)).toBe(true);
  return { c, runId: /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(p.stdout())![1]!, pgid };
}

const log = (c: CliBuilder) => readFileSync(join(c.dir, "log.txt"), "utf8");

async function stepsOf(c: CliBuilder, runId: string): Promise<string[]> {
  const j = await openJournal(c.journalPath);
  try {
    return (await j.getSteps(runId)).map((s) => `${s.stepId}:${s.status}`);
  } finally {
    await j.close();
  }
}

describe("resume after kill -9 while the step's command still runs", () => {
  it(
    "says so, and without an answer (no terminal, no flag) starts nothing: exit 3, resumable",
    async () => {
      const { c, runId, pgid } = await killedInSecond();
      for (let i = 0; i < 2; i++) {
        // Once in a process of its own (so that its lock is stale after it), once in-process.
        const r = i === 0 ? await cli(c.dir).args("resume", runId, "--no-tui", "--yes").spawn().exited : await cli(c.dir).args("resume", runId, "--no-tui", "--yes").run();
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`runbook: the command of step second (process group ${pgid}, started `);
        expect(r.stderr).toMatch(/\) is still running on \S+\n/);
        expect(r.stderr).toMatch(/nobody can choose here \(no terminal\) what to do: pass --still-running follow, wait, end or go-on/);
        expect(log(c)).toBe("first\nsecond-start\n");
        expect(alive(pgid)).toBe(true);
        if (i === 1) break;
        // Nor can the lock be cleared for a new run to start next to it.
        const unlock = await cli(c.dir).args("unlock", "k.rb", "--env", "default").run();
        expect(unlock.code).toBe(4);
        expect(unlock.stderr).toMatch(new RegExp(`not clearing the lock on k in env default: its run is gone, but the command of step second \\(process group ${pgid}, .*\\) is still running .*\`runbook resume ${runId}\` can wait for it or end it`));
        const second = await cli(c.dir).args("run", "k.rb", "--no-tui").run();
        expect(second.code).toBe(4);
      }
      expect(log(c)).toBe("first\nsecond-start\n");
    },
    SLOW,
  );

  it(
    "--still-running end: ends its process group; the step reruns only when asked to (--yes)",
    async () => {
      const { c, runId, pgid } = await killedInSecond();
      const r = await cli(c.dir).args("resume", runId, "--no-tui", "--still-running", "end").run();
      expect(r.stderr).toMatch(/ending it \(TERM to its process group, then KILL\)/);
      expect(r.stderr).toMatch(/the command of step second \(process group \d+, .*\) is not running any more/);
      expect(alive(pgid)).toBe(false);
      // Ended, not finished: the step is interrupted, and without --yes nobody says to rerun it.
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/step second \('Second'\) was interrupted/);
      expect(log(c)).toBe("first\nsecond-start\n");

      writeFileSync(join(c.dir, "go"), "");
      const again = await cli(c.dir).args("resume", runId, "--no-tui", "--yes").run();
      expect(again.stderr).not.toMatch(/still running/);
      expect(again.code).toBe(0);
      expect(log(c)).toBe("first\nsecond-start\nsecond-start\nsecond-done\nthird\n");
      expect(await stepsOf(c, runId)).toEqual(["first:ok", "second:ok", "third:ok"]);
    },
    SLOW,
  );

  it(
    "at a terminal it asks: `end` ends it, then the step's rerun is asked for too",
    async () => {
      const { c, runId, pgid } = await killedInSecond();
      const stdin = Object.assign(new PassThrough(), { isTTY: true });
      let err = "";
      const stderr = new Writable({
        write(chunk: Buffer, _enc, cb) {
          err += chunk.toString();
          if (chunk.toString().includes("[follow/wait/end/go-on]")) stdin.write("end\n");
          if (chunk.toString().includes("Run it again? [y/n]")) stdin.write("n\n");
          cb();
        },
      });
      const r = await cli(c.dir).args("resume", runId, "--no-tui").run({ stdin, stderr });
      expect(err).toMatch(/is still running on \S+\n.*Follow its output until it ends, wait for it to end, end it now, or go on without running its step again\? \[follow\/wait\/end\/go-on\]/s);
      expect(r.code).toBe(0);
      expect(alive(pgid)).toBe(false);
      expect(log(c)).toBe("first\nsecond-start\nthird\n");
      expect(await stepsOf(c, runId)).toEqual(["first:ok", "second:skipped", "third:ok"]);
    },
    SLOW,
  );

  it(
    "--still-running wait: waits for it to end, then takes its outcome from its status file (not run again) and goes on",
    async () => {
      const { c, runId, pgid } = await killedInSecond();
      const resumed = cli(c.dir).args("resume", runId, "--no-tui", "--yes", "--still-running", "wait").run();
      await new Promise((r) => setTimeout(r, 1500));
      // Still waiting: nothing new has run.
      expect(log(c)).toBe("first\nsecond-start\n");
      writeFileSync(join(c.dir, "go"), "");
      const r = await resumed;
      expect(r.stderr).toMatch(/waiting for it to end/);
      expect(r.code).toBe(0);
      expect(alive(pgid)).toBe(false);
      // The earlier attempt ran to its end once; the step's outcome is its.
      expect(r.stdout).toMatch(/\[second\] note: its command ran to its end before the run stopped \(exit status 0\): not run again/);
      expect(r.stdout).toMatch(/local \| second-running/);
      expect(log(c)).toBe("first\nsecond-start\nsecond-done\nthird\n");
      expect(await stepsOf(c, runId)).toEqual(["first:ok", "second:ok", "third:ok"]);
    },
    SLOW,
  );

  it(
    "--still-running go-on: the step is not started again (journaled skipped, saying why); the next ones run",
    async () => {
      const { c, runId, pgid } = await killedInSecond();
      const r = await cli(c.dir).args("resume", runId, "--no-tui", "--yes", "--still-running", "go-on").run();
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`\\[second\\] skipped: not started again: its earlier attempt \\(process group ${pgid}\\) was still running`));
      expect(log(c)).toBe("first\nsecond-start\nthird\n");
      expect(alive(pgid)).toBe(true);
      expect(await stepsOf(c, runId)).toEqual(["first:ok", "second:skipped", "third:ok"]);
    },
    SLOW,
  );
});

const sshdReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshdReason === null, sshdReason ?? undefined);

describe.skipIf(!sshd)("resume after kill -9 while the step's command still runs on a host", () => {
  let h: SshTestHosts;
  beforeAll(async () => {
    h = await startSshHosts(1, { sudo: true });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it(
    "finds it by its exec id, says so, and ends it (--still-running end) before anything runs again",
    async () => {
      const d = `${h.remoteDir}/k9-${Date.now()}`;
      const remote = `runbook "kr" version "1.0.0"
host box = "${h.hosts[0]!.target}"
step "First" as first on box { run "mkdir -p ${d} && echo first >> ${d}/log.txt" }
step "Second" as second on box { run "echo $$ > ${d}/second.pid; echo second-start >> ${d}/log.txt; echo second-running; while [ ! -f ${d}/go ]; do sleep 0.05; done; echo second-done >> ${d}/log.txt" }
step "Third" as third on box { run "echo third >> ${d}/log.txt" }
`;
      const c = cli().file("kr.rb", remote).env({ HOME: h.home });
      const p = c.args("run", "kr.rb", "--no-tui").spawn();
      await p.waitFor(/box \| second-running/);
      p.kill("SIGKILL");
      await p.exited;
      const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(p.stdout())![1]!;
      const pid = Number(readFileSync(`${d}/second.pid`, "utf8"));
      leftovers.push(pid);
      const remoteLog = () => readFileSync(`${d}/log.txt`, "utf8");
      // The host's command outlives the runbook process (sshd gives it no signal).
      expect(alive(pid)).toBe(true);

      const asked = await cli(c.dir).env({ HOME: h.home }).args("resume", runId, "--no-tui", "--yes").run();
      expect(asked.code).toBe(3);
      expect(asked.stderr).toMatch(/the command of step second \(on box, exec id [0-9a-z]+, started \S+\) is still running\n/);
      expect(remoteLog()).toBe("first\nsecond-start\n");

      const ended = await cli(c.dir).env({ HOME: h.home }).args("resume", runId, "--no-tui", "--still-running", "end").run();
      expect(ended.stderr).toMatch(/the command of step second \(on box, exec id [0-9a-z]+, .*\) is not running any more/);
      expect(alive(pid)).toBe(false);
      expect(ended.code).toBe(3); // interrupted: rerun only with --yes
      writeFileSync(`${d}/go`, "");
      const again = await cli(c.dir).env({ HOME: h.home }).args("resume", runId, "--no-tui", "--yes").run();
      expect(again.code).toBe(0);
      expect(remoteLog()).toBe("first\nsecond-start\nsecond-start\nsecond-done\nthird\n");
    },
    SLOW,
  );

  it(
    "run through sudo (as another user): found by its process group as that user, and ended there",
    async () => {
      const d = `/tmp/runbook-k9-sudo-${process.pid}-${Date.now()}`;
      const remote = `runbook "ks" version "1.0.0"
host box = "${h.hosts[0]!.target}"
step "Second" as second on box { run "mkdir -p ${d}; echo $$ > ${d}/second.pid; echo second-running; while [ ! -f ${d}/go ]; do sleep 0.05; done" as "nobody" }
`;
      const c = cli().file("ks.rb", remote).env({ HOME: h.home });
      const p = c.args("run", "ks.rb", "--no-tui").spawn();
      await p.waitFor(/box \| second-running/);
      p.kill("SIGKILL");
      await p.exited;
      const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(p.stdout())![1]!;
      const pid = Number(readFileSync(`${d}/second.pid`, "utf8"));
      leftovers.push(Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2]));
      expect(alive(pid)).toBe(true);

      const asked = await cli(c.dir).env({ HOME: h.home }).args("resume", runId, "--no-tui", "--yes").run();
      expect(asked.code).toBe(3);
      expect(asked.stderr).toMatch(/the command of step second \(on box, process group \d+ as nobody, started \S+\) is still running\n/);
      const ended = await cli(c.dir).env({ HOME: h.home }).args("resume", runId, "--no-tui", "--still-running", "end").run();
      expect(ended.stderr).toMatch(/is not running any more/);
      expect(alive(pid)).toBe(false);
      // Ended, not finished: interrupted, and not rerun without --yes.
      expect(ended.code).toBe(3);
      expect(ended.stderr).toMatch(/step second \('Second'\) was interrupted/);
      rmSync(d, { recursive: true, force: true });
    },
    SLOW,
  );
});
