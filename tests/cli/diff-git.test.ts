// `runbook diff` on git revisions, in real repositories made in temp folders: each
// side compiled with its includes read from the same revision (a change only in an
// included file shows), REV:PATH resolved as git resolves it (from the repository
// root; `REV:./PATH` from the working directory), a runbook new in the change
// diffed as all added and a deleted one as all removed.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { commitAll, initRepo } from "../support/git.js";

const MAIN = `runbook "app" version "1.0.0"
include "lib/common.rb"

env dev {
  var appdir = "/srv/dev"
}
env prod {
  protected
  confirm "Sign-off?"
}

section "Deploy" {
  step "Deploy" {
    run "deploy \${appdir}"
    undo "rollback \${appdir}"
  }
}
`;

const COMMON_V1 = `var appdir = "/srv/app"
`;

const COMMON_V2 = `var appdir = "/srv/app2"

step "Restart" {
  run "systemctl restart app"
  undo "systemctl restart app"
}
`;

function repo() {
  const c = cli().file("main.rb", MAIN).file("lib/common.rb", COMMON_V1);
  initRepo(c.dir);
  commitAll(c.dir, "v1");
  return c;
}

describe("runbook diff with git revisions", () => {
  it("sees a change made only in an included file (working tree against HEAD)", async () => {
    const c = repo();
    c.file("lib/common.rb", COMMON_V2);
    const r = await c.args("diff", "HEAD:main.rb", "main.rb").run();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("no changes");
    expect(r.stdout).toContain('~ changed var appdir: var appdir = "/srv/app"  →  var appdir = "/srv/app2"');
    expect(r.stdout).toContain("+ added step restart");
    // The deploy step's source did not change, but what it runs in prod did (the value comes from the include).
    expect(r.stdout).toContain("~ changed step deploy\n  as it would run in env prod:\n     deploy: Deploy\n    -  $ deploy /srv/app\n");
    expect(r.stdout).not.toMatch(/as it would run in envs? dev[^\n]*\n {5}deploy/);
  });

  it("reads both sides' includes from their own revisions, not from the working tree", async () => {
    const c = repo();
    c.file("lib/common.rb", COMMON_V2);
    commitAll(c.dir, "v2");
    c.file("lib/common.rb", 'var appdir = "/srv/working-tree"\n');
    const r = await c.args("diff", "HEAD~1:main.rb", "HEAD:main.rb").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('var appdir = "/srv/app"  →  var appdir = "/srv/app2"');
    expect(r.stdout).not.toContain("working-tree");
    const same = await c.args("diff", "HEAD:main.rb", "HEAD:main.rb").run();
    expect(same.stdout).toContain("no changes");
  });

  it("takes REV:PATH from the repository root, and REV:./PATH from the working directory, as git does", async () => {
    const c = cli().file("ops/x.rb", 'runbook "x" version "1.0.0"\nstep "A" {\n  note "a"\n}\n');
    initRepo(c.dir);
    commitAll(c.dir, "x");
    writeFileSync(join(c.dir, "ops/x.rb"), 'runbook "x" version "1.1.0"\nstep "A" {\n  note "a"\n}\nstep "B" {\n  note "b"\n}\n');
    const sub = cli(join(c.dir, "ops"));
    const fromRoot = await sub.args("diff", "HEAD:ops/x.rb", "x.rb").run();
    expect(fromRoot.stderr).toBe("");
    expect(fromRoot.stdout).toContain("version 1.0.0 → 1.1.0");
    expect(fromRoot.stdout).toContain("+ added step b");
    const fromHere = await sub.args("diff", "HEAD:./x.rb", "x.rb").run();
    expect(fromHere.stdout).toBe(fromRoot.stdout.replace("HEAD:ops/x.rb", "HEAD:./x.rb"));
    // The old behaviour (relative to the working directory) would look for ops/ops/x.rb: a runbook absent there.
    const wrong = await sub.args("diff", "HEAD:x.rb", "x.rb").run();
    expect(wrong.stdout).toContain("new runbook x 1.1.0");
  });

  it("diffs a runbook new in the change as all added, and a deleted one as all removed", async () => {
    const c = repo();
    c.file("new.rb", 'runbook "fresh" version "0.1.0"\nstep "Hello" {\n  note "hi"\n}\n');
    const added = await c.args("diff", "HEAD:new.rb", "new.rb").run();
    expect(added.code).toBe(0);
    expect(added.stdout).toBe(
      [
        "runbook diff HEAD:new.rb → new.rb",
        "new runbook fresh 0.1.0",
        "",
        "Changes:",
        "+ added step hello",
        '    +step "Hello" {',
        '    +  note "hi"',
        "    +}",
        "  as it would run in env default:",
        "    +hello: Hello",
        "    +  note: hi",
        "",
        "Steps per env (added, removed, changed):",
        "  default: +1 -0 ~0",
        "",
      ].join("\n"),
    );
    commitAll(c.dir, "new");
    c.file("other.rb", "");
    const removed = await c.args("diff", "HEAD:new.rb", "HEAD:gone.rb").run();
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain("runbook fresh 0.1.0 deleted");
    expect(removed.stdout).toContain('- removed step hello\n    -step "Hello" {\n    -  note "hi"\n    -}\n');
  });

  it("is a usage error for an unknown revision, and for a side that neither revision has", async () => {
    const c = repo();
    const bad = await c.args("diff", "nosuchrev:main.rb", "main.rb").run();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("runbook: nosuchrev:main.rb: not a file, and git knows no revision `nosuchrev`\n");
    const neither = await c.args("diff", "HEAD:none.rb", "HEAD:none.rb").run();
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("neither side has the runbook");
  });

  it("names an included file of a revision as REV:PATH in its diagnostics", async () => {
    const c = repo();
    c.file("lib/common.rb", "var appdir = \n");
    commitAll(c.dir, "broken");
    const r = await c.args("diff", "HEAD~1:main.rb", "HEAD:main.rb").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^HEAD:lib\/common\.rb:1:/m);
  });
});
