// Runs tied to the reviewed commit, in real git repositories: `run` records the
// commit of the runbook and whether its files (includes too) differ from it (the
// run-started event, the plain log, the journal: `show`, `history`), and `show`
// tells whether the files on disk are still those that ran;
// `--require-commit SHA` refuses a runbook (with its includes) that is not that
// commit's; a protected env refuses uncommitted changes unless --allow-dirty.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, type CliBuilder } from "../support/cli.js";
import { commitAll, initRepo } from "../support/git.js";

const MAIN = `runbook "tied" version "1.0.0"
include "lib/values.rb"

env dev {
}
env prod {
  protected
}

step "Say" {
  note "greeting is \${greeting}"
}
`;

function repo(): { c: CliBuilder; first: string } {
  const c = cli().file("ops/main.rb", MAIN).file("ops/lib/values.rb", 'var greeting = "hello"\n');
  initRepo(c.dir);
  return { c, first: commitAll(c.dir, "reviewed") };
}

function started(stdout: string): { git?: { commit: string; dirty: boolean } } {
  const line = stdout.split("\n").find((l) => l.includes('"run-started"'));
  if (!line) throw new Error(`no run-started event in:\n${stdout}`);
  return JSON.parse(line) as { git?: { commit: string; dirty: boolean } };
}

const runIdOf = (stdout: string) => (JSON.parse(stdout.split("\n")[0]!) as { runId: string }).runId;

describe("runs tied to a git commit", () => {
  it("records the commit and a clean tree; show and history print it", async () => {
    const { c, first } = repo();
    const r = await c.args("run", "ops/main.rb", "--env", "dev", "--json").run();
    expect(r.code).toBe(0);
    expect(started(r.stdout).git).toEqual({ commit: first, dirty: false });
    const id = runIdOf(r.stdout);
    const show = await c.args("show", id).run();
    expect(show.stdout).toContain(`  commit     ${first} (clean)\n`);
    const history = await c.args("history").run();
    expect(history.stdout.split("\n")[0]).toMatch(/DURATION\s+COMMIT$/);
    expect(history.stdout.split("\n")[1]).toMatch(new RegExp(`\\s${first.slice(0, 12)}$`));
    const json = JSON.parse((await c.args("history", "--json").run()).stdout) as { git: unknown }[];
    expect(json[0]!.git).toEqual({ commit: first, dirty: false });
    const plain = await c.args("run", "ops/main.rb", "--env", "dev", "--no-tui").run();
    expect(plain.stdout).toContain(`in env dev from commit ${first.slice(0, 12)}, 1 step`);
  });

  it("a change not committed, in an included file too, makes the run dirty", async () => {
    const { c, first } = repo();
    c.file("ops/lib/values.rb", 'var greeting = "hi"\n');
    const r = await c.args("run", "ops/main.rb", "--env", "dev", "--json").run();
    expect(r.code).toBe(0);
    expect(started(r.stdout).git).toEqual({ commit: first, dirty: true });
    const show = await c.args("show", runIdOf(r.stdout)).run();
    expect(show.stdout).toContain(`  commit     ${first} with uncommitted changes\n`);
    expect((await c.args("history").run()).stdout.split("\n")[1]).toMatch(new RegExp(`\\s${first.slice(0, 12)}\\+$`));
    // A file of the repository that is not part of the runbook does not count.
    c.file("ops/lib/values.rb", 'var greeting = "hello"\n').file("README.md", "changed\n");
    const clean = await c.args("run", "ops/main.rb", "--env", "dev", "--json").run();
    expect(started(clean.stdout).git).toEqual({ commit: first, dirty: false });
  });

  it("show tells whether the files on disk (includes too) are still the ones that ran", async () => {
    const { c } = repo();
    const r = await c.args("run", "ops/main.rb", "--env", "dev", "--json").run();
    const id = runIdOf(r.stdout);
    expect((await c.args("show", id).run()).stdout).toContain("  on disk    the same files as the run\n");
    c.file("ops/lib/values.rb", 'var greeting = "changed"\n');
    expect((await c.args("show", id).run()).stdout).toContain("  on disk    changed since the run (the runbook or a file it includes)\n");
    expect((JSON.parse((await c.args("show", id, "--json").run()).stdout) as { sourceOnDisk: string }).sourceOnDisk).toBe("changed");
    c.file("ops/lib/values.rb", 'var greeting = "hello"\n');
    expect((await c.args("show", id).run()).stdout).toContain("  on disk    the same files as the run\n");
    rmSync(join(c.dir, "ops/main.rb"));
    expect((await c.args("show", id).run()).stdout).toContain("  on disk    the runbook is not there any more\n");
  });

  it("a resumed run says which commit its files come from now", async () => {
    const c = cli().file("r.rb", 'runbook "r" version "1.0.0"\nstep "Wait for the flag" {\n  run "test -f flag"\n}\n');
    initRepo(c.dir);
    const commit = commitAll(c.dir, "r");
    const failed = await c.args("run", "r.rb", "--json").run();
    expect(failed.code).toBe(1);
    c.file("flag", "");
    const resumed = await c.args("resume", runIdOf(failed.stdout), "--json").run();
    expect(resumed.code).toBe(0);
    expect(started(resumed.stdout).git).toEqual({ commit, dirty: false });
  });

  it("outside a repository: nothing recorded, and show says so", async () => {
    const c = cli().file("main.rb", 'runbook "t" version "1.0.0"\nstep "S" {\n  note "x"\n}\n');
    const r = await c.args("run", "main.rb", "--json").run();
    expect(r.code).toBe(0);
    expect(started(r.stdout).git).toBeUndefined();
    expect((await c.args("show", runIdOf(r.stdout)).run()).stdout).toContain("  commit     (not in a git repository)\n");
  });

  it("--require-commit: runs the reviewed commit's runbook, refuses one whose include changed since", async () => {
    const { c, first } = repo();
    const ok = await c.args("run", "ops/main.rb", "--env", "dev", "--require-commit", first.slice(0, 10), "--json").run();
    expect(ok.code).toBe(0);
    c.file("ops/lib/values.rb", 'var greeting = "changed after the review"\n');
    const second = commitAll(c.dir, "after the review");
    const refused = await c.args("run", "ops/main.rb", "--env", "dev", "--require-commit", first, "--json").run();
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toBe(
      `runbook: --require-commit ${first}: ops/main.rb (with its includes) is not the runbook of that commit; refusing to run what was not reviewed\n`,
    );
    expect((await c.args("run", "ops/main.rb", "--env", "dev", "--require-commit", second, "--json").run()).code).toBe(0);
    const unknown = await c.args("run", "ops/main.rb", "--env", "dev", "--require-commit", "0000000", "--json").run();
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("runbook: --require-commit 0000000: git knows no such commit\n");
  });

  it("--require-commit: a runbook that commit does not have is refused", async () => {
    const { c, first } = repo();
    c.file("ops/new.rb", 'runbook "n" version "1.0.0"\nstep "S" {\n  note "x"\n}\n');
    const r = await c.args("run", "ops/new.rb", "--require-commit", first).run();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`runbook: --require-commit ${first}: ops/new.rb is not in that commit\n`);
  });

  it("a protected env refuses uncommitted changes unless --allow-dirty; a dry run goes on", async () => {
    const { c } = repo();
    expect((await c.args("run", "ops/main.rb", "--env", "prod", "--json").run()).code).toBe(0);
    c.file("ops/main.rb", MAIN.replace('note "greeting', 'note "changed: greeting'));
    const refused = await c.args("run", "ops/main.rb", "--env", "prod", "--json").run();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("env prod is protected: a protected env runs only what was committed (and reviewed); commit them, or give --allow-dirty\n");
    expect((await c.args("run", "ops/main.rb", "--env", "prod", "--json", "--dry-run", "--no-probe").run()).stderr).not.toContain("--allow-dirty");
    expect((await c.args("run", "ops/main.rb", "--env", "dev", "--json").run()).code).toBe(0);
    const allowed = await c.args("run", "ops/main.rb", "--env", "prod", "--allow-dirty", "--json").run();
    expect(allowed.code).toBe(0);
    expect(started(allowed.stdout).git?.dirty).toBe(true);
  });
});
