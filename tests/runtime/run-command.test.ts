// End to end: `runbook run` and `runbook resume` through the CLI, in temp
// directories with a real shell. Most cases call main() in-process (stdin is not
// a terminal); signals, kill -9 and a lock held by another process use a real
// child process.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { openJournal } from "../../runtime/journal/index.js";
import { cli } from "../support/cli.js";
import { treeHash } from "./helpers.js";
import { alive } from "../support/process.js";

const SLOW = 300_000; // real processes start through tsx: slow on a busy machine

const release = `runbook "release" version "1.2.0"
param rev = "r547"
section "Prepare" {
  step "Write version" {
    run "echo \${rev} > version.txt"
    undo "rm -f version.txt"
  }
  step "Configure" {
    edit "config.py" { replace "migrate = False" with "migrate = True" }
  }
}
section "Deploy" {
  step "Deploy" {
    run "echo deploying \${rev}; cat version.txt; echo deployed >> log.txt"
    undo "echo undeployed >> log.txt"
  }
}
finally {
  step "Report" { run "echo report >> log.txt" }
}
`;

describe("runbook run", () => {
  it("runs a multi-step runbook: plain log with step ids, journal, exit 0", async () => {
    const c = cli().file("r.rb", release).file("config.py", "migrate = False\n");
    const r = await c.args("run", "r.rb", "--no-tui", "--set", "rev=r600").run();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.dir, "version.txt"), "utf8")).toBe("r600\n");
    expect(readFileSync(join(r.dir, "config.py"), "utf8")).toBe("migrate = True\n");
    expect(readFileSync(join(r.dir, "log.txt"), "utf8")).toBe("deployed\nreport\n");
    // The date and zone once, on their own line; then the time of day on each line.
    expect(r.stdout).toMatch(/^-- \d{4}-\d\d-\d\d, times in UTC[-+\d:]* --\n\d\d:\d\d:\d\d run /);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d \[write-version\] started/m);
    expect(r.stdout).toMatch(/\[deploy\] local \| deploying r600$/m);
    expect(r.stdout).toMatch(/\[deploy\] ok/);
    expect(r.stdout).toMatch(/run \d{8}-\d{6}-[0-9a-f]{4} succeeded/);
    expect(r.stdout).toMatch(/steps: 4 ok/);

    const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r.stdout)![1]!;
    const journal = await openJournal(c.journalPath);
    try {
      const run = await journal.getRun(runId);
      expect(run).toMatchObject({ status: "succeeded", exitCode: 0, env: "default", params: { rev: "r600" }, dryRun: false });
      const steps = await journal.getSteps(runId);
      expect(steps.map((s) => `${s.stepId}:${s.status}`)).toEqual(["write-version:ok", "configure:ok", "deploy:ok", "report:ok"]);
      expect(steps.find((s) => s.stepId === "deploy")!.outputTail).toContain("deploying r600");
    } finally {
      await journal.close();
    }
  });

  it("--json prints one JSON object per event, each with the run id and step id", async () => {
    const c = cli().file("r.rb", release).file("config.py", "migrate = False\n");
    const r = await c.args("run", "r.rb", "--json").run();
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; runId: string; stepId: string | null });
    const types = new Set(events.map((e) => e.type));
    for (const t of ["run-started", "step-started", "output", "step-finished", "run-finished"]) expect(types.has(t)).toBe(true);
    for (const e of events) {
      expect(e.runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
      expect(e).toHaveProperty("stepId");
    }
    expect(events.find((e) => e.type === "step-started")!.stepId).toBe("write-version");
  });

  it("a failed step stops the run, finally still runs, exit 1", async () => {
    const c = cli().file("r.rb", release).file("config.py", "migrate = maybe\n");
    const r = await c.args("run", "r.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[configure\] failed: cannot edit config.py on this machine: "migrate = False" is not in config.py/);
    expect(r.stderr).toMatch(/step configure failed/);
    expect(readFileSync(join(r.dir, "log.txt"), "utf8")).toBe("report\n");
  });

  it("--on-failure rollback undoes completed steps in reverse order, then finally", async () => {
    const src = release.replace('echo deployed >> log.txt"', 'echo deployed >> log.txt; exit 1"');
    const c = cli().file("r.rb", src).file("config.py", "migrate = False\n");
    const r = await c.args("run", "r.rb", "--no-tui", "--on-failure", "rollback").run();
    expect(r.code).toBe(1);
    expect(readFileSync(join(r.dir, "log.txt"), "utf8")).toBe("deployed\nreport\n");
    expect(existsSync(join(r.dir, "version.txt"))).toBe(false);
    expect(readFileSync(join(r.dir, "config.py"), "utf8")).toBe("migrate = False\n");
    const order = [...r.stdout.matchAll(/\[([a-z-]+)\] undone/g)].map((m) => m[1]);
    expect(order).toEqual(["configure", "write-version"]);
  });

  it("a value with shell syntax given with --set stays one word", async () => {
    const src = `runbook "q" version "1.0.0"\nparam msg = "x"\nstep "Echo" as echo { run "printf '[%s]' \${msg}" }\n`;
    const r = await cli().file("q.rb", src).args("run", "q.rb", "--no-tui", "--set", "msg='; touch pwned #").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("['; touch pwned #]");
    expect(existsSync(join(r.dir, "pwned"))).toBe(false);
  });

  it("an unanswerable confirmation fails at once with exit 3, naming the step and the flag", async () => {
    const src = `runbook "c" version "1.0.0"\nstep "Ask" as ask { confirm "Is the migration plan reviewed?" }\nstep "After" { run "touch after" }\n`;
    const r = await cli().file("c.rb", src).args("run", "c.rb", "--no-tui").run();
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/step ask .*Is the migration plan reviewed\?.*--yes/);
    expect(existsSync(join(r.dir, "after"))).toBe(false);
    const yes = await cli(r.dir).args("run", "c.rb", "--no-tui", "--yes").run();
    expect(yes.code).toBe(0);
    expect(existsSync(join(r.dir, "after"))).toBe(true);
  });

  it("in a protected env --yes does not answer; --approve does", async () => {
    const src = `runbook "p" version "1.0.0"\nenv prod {\n  protected\n  confirm "Signed off?"\n}\nstep "Ask" as ask { confirm "Go?" }\n`;
    const c = cli().file("p.rb", src);
    const no = await c.args("run", "p.rb", "--no-tui", "--yes").run();
    expect(no.code).toBe(3);
    expect(no.stderr).toMatch(/--approve env/);
    const half = await c.args("run", "p.rb", "--no-tui", "--approve", "env").run();
    expect(half.code).toBe(3);
    expect(half.stderr).toMatch(/--approve ask/);
    const ok = await c.args("run", "p.rb", "--no-tui", "--approve", "env", "--approve", "ask").run();
    expect(ok.code).toBe(0);
  });

  it.each([
    ["an unknown env", ["--env", "nope"], 2, /nope/],
    ["an unknown param", ["--set", "nope=1"], 2, /no param `nope`/],
    ["a var", ["--set", "home=/x"], 2, /is a var/],
    ["an unknown --from step", ["--from", "nope"], 2, /no step `nope`/],
  ])("%s is a usage error", async (_n, extra, code, message) => {
    const src = `runbook "u" version "1.0.0"\nparam rev = "1"\nvar home = "/h"\nstep "A" { run "true" }\n`;
    const r = await cli().file("u.rb", src).args("run", "u.rb", "--no-tui", ...extra).run();
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it("a runbook with errors is not run: diagnostics, exit 1", async () => {
    const r = await cli().file("bad.rb", `runbook "b" version "1.0.0"\nstep "A" { run "touch a" on }\n`).args("run", "bad.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.rb:2:\d+/);
    expect(existsSync(join(r.dir, "a"))).toBe(false);
  });

  it("a missing file is a usage error", async () => {
    const r = await cli().args("run", "missing.rb", "--no-tui").run();
    expect(r.code).toBe(2);
  });
});

describe("the plain log on stdout", () => {
  it("shows a step's output before the question that follows it, and what comes after the answer after it", async () => {
    const src = `runbook "q" version "1.0.0"
step "Ask" as ask {
  run "printf 'before the question\\nsecond line\\n'"
  confirm "Go on?"
  run "echo after the answer"
}
`;
    // stdout and stderr in one transcript, in the order they were written; stdin a terminal that answers the prompt.
    const transcript: { stream: string; text: string }[] = [];
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stream = (name: "stdout" | "stderr") =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          transcript.push({ stream: name, text: chunk.toString() });
          if (name === "stderr" && chunk.toString().includes("Go on? [y/n]")) stdin.write("y\n");
          cb();
        },
      });
    const r = await cli().file("q.rb", src).args("run", "q.rb", "--no-tui").run({ stdin, stdout: stream("stdout"), stderr: stream("stderr") });
    expect(r.code).toBe(0);
    const at = (stream: string, text: string) => {
      const i = transcript.findIndex((w) => w.stream === stream && w.text.includes(text));
      expect(i, `${stream} never had ${JSON.stringify(text)}: ${JSON.stringify(transcript)}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const prompt = at("stderr", "[ask] Go on? [y/n]");
    expect(at("stdout", "[ask] local | before the question\n")).toBeLessThan(prompt);
    expect(at("stdout", "[ask] local | second line\n")).toBeLessThan(prompt);
    expect(at("stdout", "[ask] confirm: Go on? → yes (operator)")).toBeGreaterThan(prompt);
    expect(at("stdout", "[ask] local | after the answer\n")).toBeGreaterThan(prompt);
  });

  it("Ctrl-C at a terminal prompt interrupts that step (not 'nobody can answer'), and finally runs uninterrupted", async () => {
    const src = `runbook "q" version "1.0.0"
step "Ask" as ask { confirm "Go on?" }
step "Next" as next { run "touch next" }
finally {
  step "Cleanup" as cleanup { run "sleep 0.3; echo cleaned > cleaned.txt" }
}
`;
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    let err = "";
    const stderr = new Writable({
      write(chunk: Buffer, _enc, cb) {
        err += chunk.toString();
        if (chunk.toString().includes("Go on? [y/n]")) stdin.write("\u0003"); // Ctrl-C, as a terminal in raw mode sends it
        cb();
      },
    });
    let out = "";
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const c = cli().file("q.rb", src);
    const r = await c.args("run", "q.rb", "--no-tui").run({ stdin, stdout, stderr });
    expect(r.code).toBe(3);
    expect(out).toMatch(/\[ask\] interrupted/);
    expect(out).toMatch(/\[cleanup\] ok/);
    expect(out + err).not.toMatch(/nobody can answer/);
    expect(readFileSync(join(c.dir, "cleaned.txt"), "utf8")).toBe("cleaned\n");
    expect(existsSync(join(c.dir, "next"))).toBe(false);
    expect(err).toMatch(/runbook: resume it with `runbook resume \S+`/);
  });

  it("a stdout that stops taking output (EPIPE) is reported once; the run goes on and is journaled", async () => {
    let writes = 0;
    const stdout = new Writable({
      write(_chunk, _enc, cb) {
        writes++;
        cb(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const src = `runbook "p" version "1.0.0"\nstep "One" as one { run "seq 1 1000" }\nstep "Two" as two { run "touch two" }\n`;
    const c = cli().file("p.rb", src);
    const r = await c.args("run", "p.rb", "--no-tui").run({ stdout });
    expect(r.code).toBe(0);
    expect(existsSync(join(c.dir, "two"))).toBe(true);
    expect(writes).toBe(1);
    const runId = /runbook show (\S+)`/.exec(r.stderr)?.[1];
    expect(r.stderr.match(/cannot write to stdout any more \(write EPIPE\); the run goes on/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const journal = await openJournal(c.journalPath);
    try {
      expect(await journal.getRun(runId!)).toMatchObject({ status: "succeeded" });
    } finally {
      await journal.close();
    }
  });
});

describe("secrets never leak", () => {
  it("a secret's value is in no output, no NDJSON, no journal byte", async () => {
    const secret = "Hx7-very-secret-Pw";
    const src = `runbook "s" version "1.0.0"
secret pw = env "APP_PASSWORD"
step "Use" as use {
  run "echo using \${pw}; echo \\"pw=\${pw}\\" >&2; printf 'half=Hx7-very'; sleep 0.2; printf -- '-secret-Pw\\n'"
}
step "Fail" as fail {
  run "echo failing with \${pw}; exit 3"
}
`;
    const c = cli().file("s.rb", src).env({ APP_PASSWORD: secret });
    for (const mode of [["--json"], ["--no-tui"]]) {
      const r = await c.args("run", "s.rb", ...mode).run();
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("***");
      expect(r.stdout).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
    const dry = await c.args("run", "s.rb", "--no-tui", "--dry-run").run();
    expect(dry.stdout).toContain("echo using ***");
    expect(dry.stdout + dry.stderr).not.toContain(secret);
    for (const f of ["journal.db", "journal.db-wal", "journal.db-shm"]) {
      const p = join(c.dir, f);
      if (existsSync(p)) expect(readFileSync(p).includes(Buffer.from(secret))).toBe(false);
    }
    expect(readFileSync(c.journalPath).includes(Buffer.from("using ***"))).toBe(true);
  });

  it("a missing file secret is read when first needed: the step that needs it fails, saying where it was looked for", async () => {
    const src = `runbook "s" version "1.0.0"\nsecret pw = file "~/.app/pw"\nstep "A" { run "touch a" }\nstep "B" { run "echo \${pw}" }\n`;
    const r = await cli().file("s.rb", src).args("run", "s.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/step b failed: secret pw is not set: file ~\/\.app\/pw \(.*\/\.app\/pw\) does not exist/);
    expect(existsSync(join(r.dir, "a"))).toBe(true);
  });

  it("a file secret written by an earlier step of the run is read when its step needs it", async () => {
    const src = `runbook "s" version "1.0.0"\nsecret token = file "token.txt"\nstep "Fetch" { run "printf 'fetched-%s' T0ken > token.txt" }\nstep "Use" { run "printf %s \${token} > seen.txt; echo used \${token}" }\n`;
    const r = await cli().file("s.rb", src).args("run", "s.rb", "--no-tui").run();
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.dir, "seen.txt"), "utf8")).toBe("fetched-T0ken");
    expect(r.stdout).toContain("used ***");
    expect(r.stdout).not.toContain("fetched-T0ken");
  });

  it("a missing environment-variable secret that a certain step needs stops the run before any step", async () => {
    const src = `runbook "s" version "1.0.0"\nsecret pw = env "RUNBOOK_TEST_UNSET_PW"\nstep "A" { run "touch a" }\nstep "B" { run "echo \${pw}" }\n`;
    const r = await cli().file("s.rb", src).args("run", "s.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/secret pw is not set: environment variable RUNBOOK_TEST_UNSET_PW is not set; nothing was run/);
    expect(existsSync(join(r.dir, "a"))).toBe(false);
  });

  it("a step that a probe skips never needs its secrets", async () => {
    const src = `runbook "s" version "1.0.0"\nsecret pw = env "RUNBOOK_TEST_UNSET_PW"\nstep "A" { run "touch a" }\nstep "B" when succeeds "false" { run "echo \${pw}" }\n`;
    const r = await cli().file("s.rb", src).args("run", "s.rb", "--no-tui").run();
    expect(r.code).toBe(0);
    expect(existsSync(join(r.dir, "a"))).toBe(true);
  });
});

describe("dry run", () => {
  it("leaves the filesystem byte for byte unchanged and shows what it would do", async () => {
    const state = mkdtempSync(join(tmpdir(), "runbook-state-"));
    const c = cli().file("r.rb", release).file("config.py", "migrate = False\n").env({ RUNBOOK_STATE: join(state, "journal.db") });
    const before = treeHash(c.dir);
    const r = await c.args("run", "r.rb", "--no-tui", "--dry-run").run();
    expect(treeHash(c.dir)).toBe(before);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("would run: $ echo r547 > version.txt");
    expect(r.stdout).toMatch(/would edit config.py:[\s\S]*-migrate = False[\s\S]*\+migrate = True/);
    expect(r.stdout).toMatch(/dry run: would run: 1 checked, 0 failed, 0 not verified \(steps: 4 ok\)\n$/);
    const journal = await openJournal(join(state, "journal.db"));
    try {
      const [run] = await journal.listRuns();
      expect(run).toMatchObject({ dryRun: true, status: "succeeded" });
    } finally {
      await journal.close();
    }
  });
});

describe("with a real process", () => {
  it.each([
    ["Ctrl-C (SIGINT)", "SIGINT"],
    ["SIGTERM", "SIGTERM"],
    ["a hang-up (SIGHUP, the terminal closed)", "SIGHUP"],
  ] as const)(
    "%s stops the running step, never leaving it running unseen, runs finally, exit 3",
    async (_name, signal) => {
      const src = `runbook "i" version "1.0.0"
step "Long" as long { run "sleep 60 & echo $! > sleep.pid; echo long-started; wait" }
step "Next" { run "touch next" }
finally {
  step "Cleanup" as cleanup { run "echo cleaned > cleaned.txt" }
}
`;
      const p = cli().file("i.rb", src).args("run", "i.rb", "--no-tui").spawn();
      await p.waitFor(/local \| long-started/);
      p.kill(signal);
      const r = await p.exited;
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/\[long\] interrupted/);
      expect(readFileSync(join(p.dir, "cleaned.txt"), "utf8")).toBe("cleaned\n");
      expect(existsSync(join(p.dir, "next"))).toBe(false);
      expect(alive(Number(readFileSync(join(p.dir, "sleep.pid"), "utf8")))).toBe(false);
    },
    SLOW,
  );

  it(
    "a second Ctrl-C exits at once (exit 3), saying so and how to resume",
    async () => {
      const src = `runbook "i2" version "1.0.0"
step "Long" as long { run "echo long-started; sleep 60" }
finally {
  step "Cleanup" as cleanup { run "echo $$ > cleanup.pid; echo cleaning-up; sleep 60" }
}
`;
      const p = cli().file("i2.rb", src).args("run", "i2.rb", "--no-tui").spawn();
      await p.waitFor(/local \| long-started/);
      p.kill("SIGINT");
      await p.waitFor(/local \| cleaning-up/);
      p.kill("SIGINT");
      const r = await p.exited;
      try {
        process.kill(-Number(readFileSync(join(p.dir, "cleanup.pid"), "utf8")), "SIGKILL");
      } catch {
        /* gone */
      }
      expect(r.code).toBe(3);
      const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r.stdout)![1]!;
      expect(r.stderr).toContain(`runbook: interrupted again: exiting now\nrunbook: resume it with \`runbook resume ${runId}\`\n`);
    },
    SLOW,
  );

  it(
    "kill -9 in the middle of a step, then resume: the step is reported interrupted and rerun with --yes",
    async () => {
      const src = `runbook "k" version "1.0.0"
step "First" as first { run "echo first >> log.txt" }
step "Second" as second { run "echo $$ > second.pid; echo second-start >> log.txt; echo second-running; while [ ! -f go ]; do sleep 0.1; done; echo second-done >> log.txt" }
step "Third" as third { run "echo third >> log.txt" }
`;
      const c = cli().file("k.rb", src);
      const p = c.args("run", "k.rb", "--no-tui").spawn();
      await p.waitFor(/local \| second-running/);
      p.kill("SIGKILL");
      await p.exited;
      // The step's own process group (its supervisor's, runtime/supervisor.ts) outlives a kill -9 of runbook: end it too.
      try {
        const stat = readFileSync(`/proc/${Number(readFileSync(join(c.dir, "second.pid"), "utf8"))}/stat`, "utf8");
        process.kill(-Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]), "SIGKILL");
      } catch {
        /* gone */
      }
      const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(p.stdout())![1]!;

      // Twice without an answer: the step stays interrupted until someone decides.
      for (let i = 0; i < 2; i++) {
        const asked = await cli(c.dir).args("resume", runId, "--no-tui").run();
        expect(asked.code).toBe(3);
        expect(asked.stderr).toMatch(/step second \('Second'\) was interrupted/);
        expect(asked.stderr).toMatch(/--yes/);
      }
      expect(readFileSync(join(c.dir, "log.txt"), "utf8")).toBe("first\nsecond-start\n");

      writeFileSync(join(c.dir, "go"), "");
      const resumed = await cli(c.dir).args("resume", runId, "--no-tui", "--yes").run();
      expect(resumed.code).toBe(0);
      expect(readFileSync(join(c.dir, "log.txt"), "utf8")).toBe("first\nsecond-start\nsecond-start\nsecond-done\nthird\n");
      const journal = await openJournal(c.journalPath);
      try {
        expect(await journal.getRun(runId)).toMatchObject({ status: "succeeded" });
        expect((await journal.getSteps(runId)).map((s) => `${s.stepId}:${s.status}`)).toEqual(["first:ok", "second:ok", "third:ok"]);
      } finally {
        await journal.close();
      }
    },
    SLOW,
  );

  it(
    "a second run of the same runbook and env is refused with exit 4, naming the holder",
    async () => {
      const { c, first } = await startHolding();
      const second = await cli(c.dir).args("run", "l.rb", "--no-tui").run();
      expect(second.code).toBe(4);
      expect(second.stderr).toMatch(new RegExp(`locked in env default by run \\S+: \\S+ on \\S+ \\(pid ${first.proc.pid}\\) since \\d{4}-`));
      expect(second.stderr).toMatch(/runbook unlock l\.rb --env default/);
      writeFileSync(join(c.dir, "go"), "");
      expect((await first.exited).code).toBe(0);
    },
    SLOW,
  );
});

/** `runbook run l.rb` in a process of its own, its one step running until a file `go` appears. */
async function startHolding() {
  const src = `runbook "hold" version "1.0.0"\nstep "Hold" as hold { run "echo holding; while [ ! -f go ]; do sleep 0.1; done" }\n`;
  const c = cli().file("l.rb", src);
  const first = c.args("run", "l.rb", "--no-tui").spawn();
  await first.waitFor(/local \| holding/);
  return { c, first };
}

describe("with a real process: the command line", () => {
  it(
    "plan to a reader that has gone away (`| head`) ends quietly: no stack trace, its own exit code",
    async () => {
      const p = cli().file("r.rb", release).args("plan", "r.rb", "--format", "json").spawn();
      p.proc.stdout!.destroy();
      const r = await p.exited;
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
      expect(r.code).toBe(0);
    },
    SLOW,
  );

  it(
    "resume of a run that is still going is refused (exit 4), without calling its running step interrupted",
    async () => {
      const { c, first } = await startHolding();
      const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(first.stdout())![1]!;
      const resumed = await cli(c.dir).args("resume", runId, "--no-tui", "--yes").run();
      writeFileSync(join(c.dir, "go"), "");
      expect(resumed.code).toBe(4);
      expect(resumed.stderr).toMatch(new RegExp(`locked in env default by run ${runId}: .* \\(pid ${first.proc.pid}\\)`));
      expect(resumed.stderr).not.toMatch(/interrupted/);
      expect((await first.exited).code).toBe(0);
    },
    SLOW,
  );
});

describe("runbook resume", () => {
  it("continues a failed run from the failed step; refuses a changed runbook unless --force", async () => {
    const src = `runbook "r" version "1.0.0"
step "A" as a { run "echo a >> log.txt" }
step "B" as b { run "echo b >> log.txt; [ -f fixed ]" }
step "C" as c { run "echo c >> log.txt" }
`;
    const c = cli().file("r.rb", src);
    const r1 = await c.args("run", "r.rb", "--no-tui").run();
    expect(r1.code).toBe(1);
    const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r1.stdout)![1]!;
    expect(r1.stderr).toContain(`runbook: resume it with \`runbook resume ${runId}\``);
    expect((r1.stdout + r1.stderr).match(/runbook resume/g)).toHaveLength(1);

    writeFileSync(join(c.dir, "fixed"), "");
    c.file("r.rb", src.replace('echo c >> log.txt"', 'echo C >> log.txt"'));
    const refused = await cli(c.dir).args("resume", runId, "--no-tui").run();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/changed since run .* started.*--force/);

    c.file("r.rb", src);
    const resumed = await cli(c.dir).args("resume", runId, "--no-tui").run();
    expect(resumed.code).toBe(0);
    expect(readFileSync(join(c.dir, "log.txt"), "utf8")).toBe("a\nb\nb\nc\n");

    const again = await cli(c.dir).args("resume", runId, "--no-tui").run();
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already succeeded/);
  });

  it("warns when a newer run of the same runbook and env has succeeded since (issue 16)", async () => {
    const src = `runbook "r" version "1.0.0"
step "A" as a { run "echo a >> log.txt" }
step "B" as b { run "[ -f fixed ]" }
`;
    const c = cli().file("r.rb", src);
    const r1 = await c.args("run", "r.rb", "--no-tui").run();
    expect(r1.code).toBe(1);
    const old = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r1.stdout)![1]!;
    // Before any newer run: no warning.
    writeFileSync(join(c.dir, "fixed"), "");
    const r2 = await cli(c.dir).args("run", "r.rb", "--no-tui").run();
    expect(r2.code).toBe(0);
    const newer = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r2.stdout)![1]!;
    const resumed = await cli(c.dir).args("resume", old, "--no-tui").run();
    expect(resumed.stderr).toContain(`runbook: warning: run ${newer} of r in env default started after run ${old} and succeeded`);
  });

  it("show prints a finally step's note once after the run was resumed (its finally ran twice); issue 16)", async () => {
    const src = `runbook "r" version "1.0.0"
step "B" as b { run "[ -f fixed ]" }
finally {
  step "Clean up" as cleanup { note "cleaned up" }
  step "Report" as report { note "report \${run.id}" }
}
`;
    const c = cli().file("r.rb", src);
    const r1 = await c.args("run", "r.rb", "--no-tui").run();
    expect(r1.code).toBe(1);
    const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r1.stdout)![1]!;
    writeFileSync(join(c.dir, "fixed"), "");
    const resumed = await cli(c.dir).args("resume", runId, "--no-tui").run();
    expect(resumed.code).toBe(0);
    const journal = await openJournal(join(c.dir, "journal.db"));
    const notes = await journal.getNotes(runId);
    await journal.close();
    // The journal has each time the finally steps ran.
    expect(notes.filter((n) => n.stepId === "cleanup")).toHaveLength(2);
    const shown = await cli(c.dir).args("show", runId).run();
    expect(shown.code).toBe(0);
    expect(shown.stdout.match(/note: cleaned up/g)).toHaveLength(1);
    expect(shown.stdout.match(/note: report /g)).toHaveLength(1);
    expect(shown.stdout).toMatch(/ok\s+cleanup\s+"Clean up"\n.*\n\s+note: cleaned up\n\s+ok\s+report/);
  });

  it("an unknown run id is a usage error", async () => {
    const r = await cli().args("resume", "nope", "--no-tui").run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no run nope/);
  });
});

describe("the command line as CLI.md has it", () => {
  it.each([
    ["no command at all", [], /Usage: runbook/],
    ["--limit that is not a number", ["history", "--limit", "abc"], /--limit <n>.*'abc' is invalid/],
    ["--limit 0", ["history", "--limit", "0"], /'0' is invalid/],
  ])("%s is a usage error (exit 2)", async (_n, argv, message) => {
    const r = await cli().args(...argv).run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it.each([
    ["run", ["run", "r.rb", "--no-tui", "--state", "mysq://root@127.0.0.1/journal"]],
    ["history", ["history", "--state", "postgres://db.example.org/journal"]],
    ["show", ["show", "x", "--state", "postgres://db.example.org/journal"]],
  ])("%s: a --state URL of a kind the journal cannot use is a usage error, not a local file", async (_n, argv) => {
    const c = cli().file("r.rb", `runbook "r" version "1.0.0"\nstep "A" { run "touch a" }\n`);
    const r = await c.args(...argv).run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--state \S+: a journal is a SQLite file \(a path\) or mysql:\/\/user@host\/database/);
    expect(existsSync(join(c.dir, "a"))).toBe(false);
    expect(existsSync(join(c.dir, "mysq:"))).toBe(false);
    expect(existsSync(join(c.dir, "postgres:"))).toBe(false);
  });

  it("run --state with a relative path keeps the journal there, and history reads it from the same path", async () => {
    const c = cli().file("r.rb", `runbook "r" version "1.0.0"\nstep "A" { run "true" }\n`);
    const r = await c.args("run", "r.rb", "--no-tui", "--state", "team/journal.db").run();
    expect(r.code).toBe(0);
    expect(existsSync(join(c.dir, "team/journal.db"))).toBe(true);
    const h = await cli(c.dir).args("history", "--state", "team/journal.db", "--json").run();
    expect(JSON.parse(h.stdout)).toHaveLength(1);
  });

  it("--from and --only that leave nothing to run are a usage error", async () => {
    const src = `runbook "s" version "1.0.0"\nstep "A" as a { run "touch a" }\nstep "B" as b { run "touch b" }\n`;
    const c = cli().file("s.rb", src);
    const r = await c.args("run", "s.rb", "--no-tui", "--from", "b", "--only", "a").run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--only a comes before --from b: nothing would run/);
    const ok = await c.args("run", "s.rb", "--no-tui", "--from", "a", "--only", "b").run();
    expect(ok.code).toBe(0);
    expect(existsSync(join(c.dir, "a"))).toBe(false);
    expect(existsSync(join(c.dir, "b"))).toBe(true);
  });

  it("unlock: an env the runbook does not have is a usage error; a known env without a lock is fine", async () => {
    const c = cli().file("u.rb", `runbook "u" version "1.0.0"\nenv staging {}\nenv production {}\nstep "A" { run "true" }\n`);
    const typo = await c.args("unlock", "u.rb", "--env", "prodution").run();
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown env `prodution`.*staging, production/);
    const none = await c.args("unlock", "u.rb", "--env", "production").run();
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/No lock on u in env production/);
  });

  it("diff: errors name the file as it was given, with line, column and caret", async () => {
    const c = cli()
      .file("v1.rb", `runbook "d" version "1.0.0"\nstep "A" { run "true" }\n`)
      .file("v2.rb", `runbook "d" version "1.1.0"\nstep "A" { run }\n`);
    const r = await c.args("diff", "v1.rb", "v2.rb").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^v2\.rb:2:16: error: /);
    expect(r.stderr).toContain("2 | step \"A\" { run }\n");
    expect(r.stderr).not.toContain(c.dir);
  });

  it("run: errors name the file as it was given, also outside the working directory", async () => {
    const c = cli().file("rb/bad.rb", `runbook "b" version "1.0.0"\nstep "A" { run }\n`).file("work/.keep", "");
    const r = await cli(join(c.dir, "work")).args("run", "../rb/bad.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\.\.\/rb\/bad\.rb:2:16: error: /);
    const abs = await cli(join(c.dir, "work")).args("run", join(c.dir, "rb/bad.rb"), "--no-tui").run();
    expect(abs.stderr.startsWith(`${join(c.dir, "rb/bad.rb")}:2:16: error: `)).toBe(true);
  });
});
