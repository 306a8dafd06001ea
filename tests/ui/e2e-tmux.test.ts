// End-to-end: the real `runbook run` in a real pseudo-terminal (tmux), driven by
// key presses through a whole run (a confirmation answered, a failure retried
// after its cause was fixed, a finish with exit 0), checked on the screen and
// then in the journal. Also: a crash while the UI is up leaves the terminal
// usable, and a second Ctrl-C exits with its message on the normal screen; issue
// 16's terminal dry run, `a`/`b` asking first, resume after kill -9, a failure's
// whole text at 80 columns, and a protected env's name pasted with its Enter.
// (Words are sent with send-keys -l: tmux reads a bare "end" as the End key.)
// tmux missing: skipped with a message, except under CI=true (fails).
// The CLI is built to dist/ (npx tsc -p tsconfig.build.json) in the setup.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { alive } from "../support/process.js";
import { TAIL_FLUSH_MS } from "../../cli/run-session.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CI = process.env.CI === "true";
const HAVE_TMUX = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
const SOCKET = `runbook-ui-e2e-${process.pid}`;
// RUNBOOK_BIN: run another build of the CLI (not built here), e.g. one bundled elsewhere.
const BIN = process.env.RUNBOOK_BIN ?? join(ROOT, "bin/runbook.js");

// Slow, busy machines: generous waits, never a timed assertion.
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A tmux session running `command` in a 120x40 terminal (or `size`); the pane stays after the command ends. */
function session(name: string, cwd: string, command: string, env: Record<string, string> = {}, size: [number, number] = [120, 40]) {
  const envs = Object.entries(env).map(([k, v]) => `${k}=${q(v)}`).join(" ");
  // The tmux server inherits vitest's environment; the command gets a user's.
  const unset = ["NODE_ENV", "VITEST", "VITEST_MODE", "VITEST_POOL_ID", "VITEST_WORKER_ID", "TEST"].map((v) => `-u ${v}`).join(" ");
  tmux("new-session", "-d", "-s", name, "-x", String(size[0]), "-y", String(size[1]), "-c", cwd, `env ${unset} ${envs} sh -c ${q(command)}; echo "RUNBOOK-EXIT=$?"; sleep 3600`);
  const screen = () => tmux("capture-pane", "-p", "-t", name);
  return {
    screen,
    /** The screen with the lines the terminal broke (too wide for it) joined again. */
    joined: () => tmux("capture-pane", "-p", "-J", "-t", name),
    keys: (...keys: string[]) => tmux("send-keys", "-t", name, ...keys),
    /** Text as typed (or pasted: one write to the terminal), no key names. */
    literal: (text: string) => tmux("send-keys", "-t", name, "-l", text),
    alternateScreen: () => tmux("display", "-p", "-t", name, "#{alternate_on}").trim() === "1",
    async waitFor(check: string | RegExp, timeout = 240_000): Promise<string> {
      const t0 = Date.now();
      let last = "";
      for (;;) {
        last = screen();
        if (typeof check === "string" ? last.includes(check) : check.test(last)) return last;
        const noUi = /runbook: the interactive UI could not start \([^)]*\)/.exec(last.replace(/\n/g, ""));
        if (noUi) throw new Error(`the run command fell back to the plain log: ${noUi[0]}`);
        if (/RUNBOOK-EXIT=/.test(last) && !(typeof check === "string" ? check.includes("RUNBOOK-EXIT") : check.source.includes("RUNBOOK-EXIT")))
          throw new Error(`the command ended before ${String(check)} showed; screen:\n${last}`);
        if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${String(check)}; screen:\n${last}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

const RUNBOOK = `runbook "ui-e2e" version "1.0.0"

env dev {
}

section "Prepare" {
  step "Say hello" {
    run "echo hello from the runbook"
  }
  step "Ask" {
    confirm "Ready to go on?"
  }
}

section "Work" {
  step "Needs flag" {
    run "test -f flag && echo flag found"
  }
  step "Done" {
    run "echo all done"
  }
}
`;

if (!HAVE_TMUX) {
  if (CI) {
    it("needs tmux under CI", () => {
      throw new Error("tmux is not installed: the UI's end-to-end tests need it (CI=true)");
    });
  } else {
    console.warn("SKIPPED tests/ui/e2e-tmux.test.ts: tmux is not installed (apt-get install tmux)");
    it.skip("the UI end to end in tmux (tmux is not installed)", () => {});
  }
} else {
  afterAll(() => {
    spawnSync("tmux", ["-L", SOCKET, "kill-server"]);
  });

  describe("the terminal is restored", () => {
    it("after a crash while the UI is up", async () => {
      const tsx = join(ROOT, "node_modules/tsx/dist/esm/index.mjs");
      // From the project's folder, so tsx reads tsconfig.json (JSX settings).
      const s = session("crash", ROOT, `node --import ${q(tsx)} ${q(join(ROOT, "tests/ui/fixtures/crash-ui.ts"))}; stty -a | tr ' ' '\\n' | grep icanon`);
      await s.waitFor("Next step: Doomed step");
      expect(s.alternateScreen()).toBe(true);
      s.keys("x");
      const after = await s.waitFor("RUNBOOK-EXIT=");
      expect(s.alternateScreen()).toBe(false);
      expect(after).toContain("boom: the run crashed while the UI was up");
      // Out of raw mode: canonical input is back on.
      expect(after).toMatch(/^icanon$/m);
    });
  });

  describe("runbook run in a terminal", () => {
    let ready: string | undefined;

    beforeAll(() => {
      if (process.env.RUNBOOK_BIN) return;
      // Build the CLI as the package does (npm run build: tsc, then the esbuild
      // bundle that bin/runbook.js prefers). Others' work in progress may leave type
      // errors, which do not stop tsc from writing dist/.
      spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
      const needed = ["dist/cli/main.js", "dist/cli/commands/run.js", "dist/cli/ui/run-ui.js"];
      const missing = needed.filter((f) => !existsSync(join(ROOT, f)));
      if (missing.length > 0) {
        ready = `the CLI is not built (${missing.join(", ")} missing)`;
        return;
      }
      if (existsSync(join(ROOT, "scripts/bundle.mjs"))) {
        const b = spawnSync("node", ["scripts/bundle.mjs"], { cwd: ROOT, encoding: "utf8" });
        if (b.status !== 0) throw new Error(`bundling the CLI failed: ${b.stderr}`);
      }
    });

    /** A fresh directory and journal for one run; the test is skipped (failed under CI) when the CLI is not built. */
    const newRunDir = (ctx: { skip(): never }) => {
      if (ready !== undefined) {
        if (CI) throw new Error(ready);
        console.warn(`SKIPPED the UI's end-to-end run: ${ready}`);
        ctx.skip();
      }
      const dir = mkdtempSync(join(tmpdir(), "runbook-ui-e2e-"));
      return { dir, db: join(dir, "journal.db") };
    };

    it("step-through: a confirmation, a failure retried after its cause is fixed, exit 0, all journaled", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(join(dir, "rb.rb"), RUNBOOK);
      const bin = BIN;
      const s = session("run", dir, `node ${q(bin)} run rb.rb --env dev --state ${q(db)}`, { HOME: dir });

      let f = await s.waitFor("Next step: Say hello");
      expect(s.alternateScreen()).toBe(true);
      expect(f).toContain("ui-e2e 1.0.0");
      expect(f).toContain("env dev");
      expect(f).toContain("$ echo hello from the runbook");
      expect(f).toMatch(/0\/4 steps/);
      s.keys("Enter");

      f = await s.waitFor("Next step: Ask");
      expect(f).toMatch(/✔ Say hello/);
      s.keys("Enter");

      f = await s.waitFor(/Confirm\s+Ask/);
      expect(f).toContain("Ready to go on?");
      s.keys("y");

      f = await s.waitFor("Next step: Needs flag");
      s.keys("Enter");

      f = await s.waitFor("Step failed: Needs flag");
      expect(f).toMatch(/r retry\s+s skip\s+b roll back\s+a abort/);
      expect(f).toMatch(/✘ Needs flag/);
      expect(existsSync(join(dir, "flag"))).toBe(false);
      writeFileSync(join(dir, "flag"), "");
      s.keys("r");

      // The retry runs at once; then the last step is asked about.
      f = await s.waitFor("Next step: Done");
      expect(f).toMatch(/✔ Needs flag/);
      s.keys("Enter");

      f = await s.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=0");
      expect(s.alternateScreen()).toBe(false);
      // The summary on the normal screen.
      expect(f).toMatch(/✔ say-hello\s+Say hello\s+ok/);
      expect(f).toMatch(/✔ needs-flag\s+Needs flag\s+ok/);
      const runId = /Run (\S+) succeeded/.exec(f)?.[1];
      expect(runId).toBeDefined();
      expect(f).not.toContain("Resume with");

      // The journal agrees.
      const shown = execFileSync("node", [bin, "show", runId!, "--json", "--state", db], { cwd: dir, encoding: "utf8", env: { ...process.env, HOME: dir } });
      const j = JSON.parse(shown) as {
        run: { status: string };
        steps: { stepId: string; status: string; attempt: number; outputTail: string }[];
        confirmations: { kind: string; stepId?: string; question: string; answer: string; by: string }[];
      };
      expect(j.run.status).toBe("succeeded");
      const steps = Object.fromEntries(j.steps.map((st) => [st.stepId, st]));
      expect(Object.keys(steps).sort()).toEqual(["ask", "done", "needs-flag", "say-hello"]);
      for (const st of Object.values(steps)) expect(st.status).toBe("ok");
      expect(steps["needs-flag"]!.attempt).toBe(2);
      expect(steps["needs-flag"]!.outputTail).toContain("flag found");
      expect(steps["say-hello"]!.outputTail).toContain("hello from the runbook");
      expect(j.confirmations).toEqual([
        expect.objectContaining({ kind: "confirm", question: "Ready to go on?", answer: "yes" }),
        expect.objectContaining({ kind: "failure-choice", stepId: "needs-flag", answer: "retry" }),
      ]);
      rmSync(dir, { recursive: true, force: true });
    });

    it("a dry run shows what each step would do and stays until the operator leaves; `show` has the same lines", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-dry" version "1.0.0"\nvar appdir = "${dir}/app"\nstep "Prepare" {\n  confirm "Is the window open?"\n  run "mkdir -p \${appdir}\\necho made-\${appdir}"\n}\nstep "Deploy" when exists "\${appdir}/../rb.rb" {\n  run "echo deploying to \${appdir}"\n}\n`,
      );
      const s = session("dry", dir, `node ${q(BIN)} run rb.rb --dry-run --state ${q(db)}`, { HOME: dir });
      let f = await s.waitFor("Dry run finished");
      expect(s.alternateScreen()).toBe(true);
      expect(f).toContain("verdict: would run");
      // The screen stays: the operator reads each step.
      s.keys("Up");
      f = await s.waitFor(/\[true, runs\] when exists/);
      expect(f).toContain(`echo deploying to ${dir}/app`);
      expect(f).not.toContain("${appdir}/../rb.rb");
      s.keys("Up");
      f = await s.waitFor("Is the window open?");
      expect(f).toContain(`mkdir -p ${dir}/app`);
      expect(f).toMatch(/^.*│\s+echo made-/m); // the command's second line, as a line of its own
      expect(existsSync(join(dir, "app"))).toBe(false);
      s.keys("q");
      f = await s.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=0");
      expect(s.alternateScreen()).toBe(false);
      expect(f).toMatch(/Dry run \S+: would run/);
      const runId = /Dry run (\S+): would run/.exec(f)![1]!;
      const shown = execFileSync("node", [BIN, "show", runId, "--state", db], { cwd: dir, encoding: "utf8", env: { ...process.env, HOME: dir } });
      expect(shown).toContain(`would run: $ mkdir -p ${dir}/app`);
      expect(shown).toContain(`when exists "${dir}/app/../rb.rb": true, runs`);
      expect(shown).toContain("Is the window open?");
      expect(existsSync(join(dir, "app"))).toBe(false);
      rmSync(dir, { recursive: true, force: true });
    });

    it("a and b ask first; b lists its undos in order, and runs them only after y", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-keys" version "1.0.0"\nstep "Make a" as make_a {\n  run "touch a"\n  undo "rm a; echo undid-a >> undo.log"\n}\nstep "Make b" as make_b {\n  run "touch b"\n  undo "rm b; echo undid-b >> undo.log"\n}\nstep "Break" as brk { run "exit 3" }\nfinally {\n  step "Tidy" { run "echo tidy > tidy.txt" }\n}\n`,
      );
      const s = session("keys", dir, `node ${q(BIN)} run rb.rb --state ${q(db)}`, { HOME: dir });
      await s.waitFor("Next step: Make a");
      // a at "Next step" asks; n goes back, nothing happened.
      s.keys("a");
      let f = await s.waitFor("Abort?");
      expect(f).toMatch(/y yes, abort\s+n no, go back/);
      s.keys("n");
      f = await s.waitFor(/Next step: Make a[\s\S]*Enter run it/);
      expect(f).not.toContain("Abort?");
      s.keys("c");
      f = await s.waitFor("Step failed: Break");
      s.keys("b");
      f = await s.waitFor("Roll back?");
      expect(f).toMatch(/1\. Make b \(make_b\): \$ rm b; echo undid-b >> undo\.log/);
      expect(f).toMatch(/2\. Make a \(make_a\): \$ rm a; echo undid-a >> undo\.log/);
      expect(existsSync(join(dir, "undo.log"))).toBe(false);
      s.keys("n");
      f = await s.waitFor(/Step failed: Break[\s\S]*r retry/);
      expect(f).not.toContain("Roll back?");
      expect(existsSync(join(dir, "undo.log"))).toBe(false);
      s.keys("b");
      await s.waitFor("Roll back?");
      s.keys("y");
      // The undos ran (in that order); then the finally step, asked about as every step.
      await s.waitFor("Next step: Tidy");
      expect(readFileSync(join(dir, "undo.log"), "utf8")).toBe("undid-b\nundid-a\n");
      s.keys("Enter");
      f = await s.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=1");
      expect(readFileSync(join(dir, "tidy.txt"), "utf8")).toBe("tidy\n");
      rmSync(dir, { recursive: true, force: true });
    });

    it("resume after kill -9: the steps done shown done, the interrupted one asked about first, then rerun; show had its output", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-resume" version "1.0.0"\nstep "First" as first { run "echo first-done" }\nstep "Long" as long { run "echo long-$((6*7)); [ -f resumed ] || sleep 600" }\nstep "Last" as last { run "echo last > last.txt" }\n`,
      );
      const s = session("kill9", dir, `echo $$ > run.pid; exec node ${q(BIN)} run rb.rb --state ${q(db)}`, { HOME: dir });
      await s.waitFor("Next step: First");
      s.keys("c");
      await s.waitFor("long-42");
      // The documented bound: output printed TAIL_FLUSH_MS before a crash is in the journal.
      await new Promise((r) => setTimeout(r, 2 * TAIL_FLUSH_MS));
      process.kill(Number(readFileSync(join(dir, "run.pid"), "utf8")), "SIGKILL");
      const runId = (JSON.parse(execFileSync("node", [BIN, "history", "--json", "--state", db], { cwd: dir, encoding: "utf8" })) as { id: string }[])[0]!.id;
      // The output printed before the crash is in the journal.
      const shown = execFileSync("node", [BIN, "show", runId, "--state", db], { cwd: dir, encoding: "utf8" });
      expect(shown).toMatch(/interrupted +long[\s\S]*output:\n +long-42/);
      tmux("kill-session", "-t", "kill9");
      writeFileSync(join(dir, "resumed"), "");

      const r = session("resume", dir, `node ${q(BIN)} resume ${runId} --state ${q(db)}`, { HOME: dir });
      // Its command still runs (sleep 600): end it.
      await r.waitFor("[follow/wait/end/go-on]");
      r.literal("end");
      r.keys("Enter");
      let f = await r.waitFor("Interrupted: Long");
      // Before anything else: no "Next step" for it first; First done, with its earlier time; the header counts it.
      expect(f).not.toContain("Next step");
      expect(f).toMatch(/✔ First\s+\d+ms/);
      expect(f).toMatch(/⚠ Long/);
      expect(f).toMatch(/1\/3 steps/);
      expect(f).toContain("Run it again?");
      r.keys("y");
      f = await r.waitFor("Next step: Last");
      expect(f).toMatch(/✔ Long/);
      r.keys("Enter");
      f = await r.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=0");
      expect(f).toMatch(/✔ first\s+First\s+ok\s+\S+\s+\(earlier run\)/);
      expect(f).toMatch(/✔ long\s+Long\s+ok/);
      expect(readFileSync(join(dir, "last.txt"), "utf8")).toBe("last\n");
      rmSync(dir, { recursive: true, force: true });
    });

    it("at 80 columns a failure's whole reason is read in the box, the detail pane (on the failed step) and the summary", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-failure" version "1.0.0"\nstep "Prepare" as prepare { run "echo preparing" }\nstep "Wait for the site" as wait_site {\n  wait until exists "${dir}/a-file-that-never-comes/with-a-long-name/so-that-the-reason-is-long" every 1s timeout 2s\n}\nstep "After" as after { run "echo after" }\n`,
      );
      const s = session("failure80", dir, `node ${q(BIN)} run rb.rb --state ${q(db)}`, { HOME: dir }, [80, 24]);
      await s.waitFor("Next step: Prepare");
      s.keys("Enter");
      await s.waitFor("Next step: Wait for the site");
      s.keys("Enter");
      // The operator looks at the first step while the wait runs.
      s.keys("Up");
      let f = await s.waitFor("Step failed: Wait for the site");
      const joined = f.replace(/[│╭╮╰╯─]/g, " ").replace(/\s+/g, " ");
      expect(joined.split("still did not hold after 2s").length - 1).toBeGreaterThanOrEqual(2);
      expect(f).toMatch(/^✘ Wait for the site {2}wait_site/m); // the detail pane moved to the failed step
      expect(f).not.toMatch(/still did not…|hold af…/);
      s.keys("a");
      f = await s.waitFor("Abort?");
      expect(f.replace(/[│╭╮╰╯─]/g, " ").replace(/\s+/g, " ")).toContain("nothing is rolled back; its finally steps still run.");
      s.keys("y");
      f = await s.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=1");
      const whole = s.joined();
      const summary = whole.slice(whole.indexOf("ui-e2e-failure 1.0.0"), whole.indexOf("RUNBOOK-EXIT="));
      // Nothing wider than the terminal (lines it broke are joined here): the reason wrapped under its row, whole.
      // (Not the command to copy, kept whole on one line, nor the stderr line after the summary.)
      expect(summary.split("\n").filter((l) => l.length > 80 && !/^(runbook: |Resume with: )/.test(l))).toEqual([]);
      expect(summary).toMatch(/✘ wait_site\s+Wait for the site\s+failed\s+\d/);
      expect(summary.replace(/\s+/g, "")).toContain(`exists"${dir}/a-file-that-never-comes/with-a-long-name/so-that-the-reason-is-long"stilldidnotholdafter2s`.replace(/\s+/g, ""));
      rmSync(dir, { recursive: true, force: true });
    });

    it("a protected env's name pasted with its Enter, in one piece, answers its confirmation", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-paste" version "1.0.0"\nenv dev {}\nenv prod {\n  protected\n}\nstep "Touch" as touch {\n  confirm "Touch prod?"\n  run "touch touched"\n  undo "rm -f touched"\n}\n`,
      );
      const s = session("paste", dir, `node ${q(BIN)} run rb.rb --env prod --state ${q(db)}`, { HOME: dir });
      await s.waitFor("Next step: Touch");
      s.keys("Enter");
      let f = await s.waitFor(/Confirm in protected env\s+prod/);
      expect(f).toContain("Touch prod?");
      s.literal("prod\r");
      f = await s.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=0");
      expect(existsSync(join(dir, "touched"))).toBe(true);
      rmSync(dir, { recursive: true, force: true });
    });

    it("the terminal closing (SIGHUP) stops the running step and runs finally; nothing waits for an answer", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-hangup" version "1.0.0"\nstep "Long" { run "sleep 600 & echo $! > sleep.pid; echo long-$((6*7)); wait" }\nfinally {\n  step "Cleanup" { run "echo cleaned > cleaned.txt" }\n  step "Ask" {\n    confirm "Is the site back?"\n    run "touch asked"\n  }\n}\n`,
      );
      const s = session("hangup", dir, `echo $$ > run.pid; exec node ${q(BIN)} run rb.rb --state ${q(db)}`, { HOME: dir });
      await s.waitFor("Next step: Long");
      s.keys("c");
      await s.waitFor("long-42"); // the output, not the command in the step's preview
      const pid = Number(readFileSync(join(dir, "run.pid"), "utf8"));
      tmux("kill-session", "-t", "hangup");
      for (let i = 0; alive(pid) && i < 1200; i++) await new Promise((r) => setTimeout(r, 200)); // a hang fails below
      expect(alive(pid)).toBe(false);
      expect(alive(Number(readFileSync(join(dir, "sleep.pid"), "utf8")))).toBe(false);
      expect(readFileSync(join(dir, "cleaned.txt"), "utf8")).toBe("cleaned\n");
      expect(existsSync(join(dir, "asked"))).toBe(false);
      const history = execFileSync("node", [BIN, "history", "--json", "--state", db], { cwd: dir, encoding: "utf8", env: { ...process.env, HOME: dir } });
      expect((JSON.parse(history) as { status: string }[])[0]?.status).not.toBe("running");
      rmSync(dir, { recursive: true, force: true });
    });

    it("a second Ctrl-C exits at once and says so on the normal screen, with how to resume", async (ctx) => {
      const { dir, db } = newRunDir(ctx);
      writeFileSync(
        join(dir, "rb.rb"),
        `runbook "ui-e2e-ctrl-c" version "1.0.0"\nstep "Long" { run "echo long-$((6*7)); sleep 600" }\nfinally {\n  step "Cleanup" { run "echo cleaning up; sleep 600" }\n}\n`,
      );
      const s = session("ctrl-c", dir, `node ${q(BIN)} run rb.rb --state ${q(db)}`, { HOME: dir });
      await s.waitFor("Next step: Long");
      s.keys("c");
      await s.waitFor("long-42"); // the output, not the command in the step's preview
      s.keys("C-c");
      // The first one: the UI says what happens; the run goes on to its finally step.
      await s.waitFor("Interrupted: stopping the running step");
      expect(s.alternateScreen()).toBe(true);
      s.keys("C-c");
      const f = await s.waitFor("RUNBOOK-EXIT=");
      expect(f).toContain("RUNBOOK-EXIT=3");
      expect(s.alternateScreen()).toBe(false);
      expect(f).toContain("runbook: interrupted again: exiting now");
      // With the --state it was given (issue 16).
      const runId = /runbook resume (\S+) --state (\S+)`/.exec(f)?.[1];
      expect(runId).toBeDefined();
      expect(f.replace(/\n/g, "")).toContain(`--state ${db}\``);
      const history = execFileSync("node", [BIN, "history", "--json", "--state", db], { cwd: dir, encoding: "utf8", env: { ...process.env, HOME: dir } });
      expect((JSON.parse(history) as { id: string }[]).map((r) => r.id)).toEqual([runId]);
      rmSync(dir, { recursive: true, force: true });
    });
  });
}
