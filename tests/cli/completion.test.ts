// `runbook completion bash|zsh|fish` and the `runbook __complete` it calls: the bash
// script loaded in a real bash (`complete -p`), then COMP_WORDS/COMP_CWORD set as bash
// sets them and the completion function run, its COMPREPLY read back: commands,
// flags, flag choices, env names and step ids from the runbook, run ids from the journal.

import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/esm/index.mjs")).href;
const BIN = join(ROOT, "tests/support/runbook-bin.ts");

const RUNBOOK = `runbook "c" version "1.0.0"
default env dev
env dev {}
env staging {}
step "Say hello" as hello {
  note "hello"
}
step "Say bye" {
  note "bye"
}
`;

/** `runbook` on the PATH of a test's shell: the CLI from source. */
function binOnPath(dir: string): string {
  const binDir = join(dir, "bin");
  mkdirSync(binDir, { recursive: true });
  writeFileSync(join(binDir, "runbook"), `#!/bin/sh\nexec "${process.execPath}" --import "${TSX}" "${BIN}" "$@"\n`);
  chmodSync(join(binDir, "runbook"), 0o755);
  return binDir;
}

// A shell that is missing skips its test here; under CI=true (.ci/run installs zsh and fish) it is a failure.
const has = (shell: string) => spawnSync(shell, ["-c", "exit 0"]).status === 0 || process.env.CI === "true";

describe("runbook completion", () => {
  it("prints a script for each shell that asks runbook __complete", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await cli().args("completion", shell).run();
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("runbook __complete");
    }
    expect((await cli().args("completion", "tcsh").run()).code).toBe(2);
  });

  it("completes commands, flags, choices, envs, step ids and run ids under bash", async () => {
    const c = cli().file("r.rb", RUNBOOK);
    const ran = await c.args("run", "r.rb", "--yes", "--no-tui").run();
    expect(ran.code, ran.stderr).toBe(0);
    const history = await cli(c.dir).args("history", "--json").run();
    const runId = (JSON.parse(history.stdout) as { id: string }[])[0]!.id;

    const script = (await cli(c.dir).args("completion", "bash").run()).stdout;
    // `runbook` on the PATH: the CLI from source.
    const binDir = binOnPath(c.dir);
    writeFileSync(join(c.dir, "completion.bash"), script);

    const cases: [string[], number][] = [
      [["runbook", "hi"], 1],
      [["runbook", "run", "r.rb", "--e"], 3],
      [["runbook", "run", "r.rb", "--env", ""], 4],
      [["runbook", "run", "r.rb", "--from", ""], 4],
      [["runbook", "plan", "r.rb", "--format", ""], 4],
      [["runbook", "show", ""], 2],
      [["runbook", "check", ""], 2],
    ];
    const lines = [
      "source ./completion.bash",
      "complete -p runbook",
      ...cases.map(([words, cword]) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${cword}; COMPREPLY=(); _runbook_complete; echo "[\${COMPREPLY[*]}]"`),
    ];
    const r = spawnSync("bash", ["--norc", "--noprofile", "-c", lines.join("\n")], {
      cwd: c.dir,
      env: { ...c.fullEnv(), PATH: `${binDir}:${process.env.PATH}` },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trim().split("\n");
    expect(out[0]).toMatch(/^complete .*-F _runbook_complete runbook$/);
    expect(out.slice(1)).toEqual([
      "[history]",
      "[--env]",
      "[dev staging]",
      "[hello say-bye]",
      "[text markdown json]",
      `[${runId}]`,
      "[]",
    ]);
  }, 180_000);

  it("completes a word from what it starts with, through compgen's rules", async () => {
    const c = cli().file("r.rb", RUNBOOK);
    const r = await cli(c.dir).args("__complete", "4", "runbook", "run", "r.rb", "--env", "st").run();
    expect(r.stdout).toBe("staging\n");
    const flags = await cli(c.dir).args("__complete", "3", "runbook", "plan", "r.rb", "--").run();
    expect(flags.stdout.split("\n").filter(Boolean)).toEqual(expect.arrayContaining(["--env", "--set", "--format"]));
    // compgen over what __complete gives for a command with nothing typed yet
    const words = (await cli(c.dir).args("__complete", "1", "runbook", "").run()).stdout.trim().split("\n");
    const compgen = spawnSync("bash", ["--norc", "-c", `compgen -W "${words.join(" ")}" -- re`], { encoding: "utf8" });
    expect(compgen.stdout.trim().split("\n").sort()).toEqual(["resume", "review"]);
  });

  it.skipIf(!has("fish"))("completes under fish (complete -C)", async () => {
    const c = cli().file("r.rb", RUNBOOK);
    writeFileSync(join(c.dir, "completion.fish"), (await cli(c.dir).args("completion", "fish").run()).stdout);
    const binDir = binOnPath(c.dir);
    const r = spawnSync("fish", ["--no-config", "-c", "source completion.fish; complete -C 'runbook run r.rb --env '; echo ---; complete -C 'runbook run r.rb --fr'; echo ---; complete -C 'runbook check r.'"], {
      cwd: c.dir,
      env: { ...c.fullEnv(), PATH: `${binDir}:${process.env.PATH}` },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const [envs, flags, files] = r.stdout.split("---\n");
    expect(envs!.trim().split("\n").map((l) => l.split("\t")[0]).sort()).toEqual(["dev", "staging"]);
    expect(flags!.trim().split("\n").map((l) => l.split("\t")[0])).toContain("--from");
    expect(files!.trim()).toBe("r.rb"); // nothing of runbook's own: file names
  }, 120_000);

  it.skipIf(!has("zsh"))("registers its function with zsh's completion system", async () => {
    const c = cli();
    writeFileSync(join(c.dir, "completion.zsh"), (await cli(c.dir).args("completion", "zsh").run()).stdout);
    const r = spawnSync("zsh", ["-f", "-c", "autoload -U compinit && compinit -u -D && source ./completion.zsh && print -r -- $_comps[runbook]"], {
      cwd: c.dir,
      env: c.fullEnv(),
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("_runbook_complete");
    expect(spawnSync("zsh", ["-n", "completion.zsh"], { cwd: c.dir }).status).toBe(0);
  });
});
