// `runbook review [BASE] [HEAD]` in a real repository with a pull-request branch:
// the runbooks that changed or whose includes changed (not those changed only on
// the base branch after the branch point), new and deleted runbooks, the summary,
// the Risk section first, the per-env diff, the head side's check diagnostics; JSON;
// the exit codes (1 errors, 5 risk, --accept-risk); the size limit's cut.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cli, type CliBuilder } from "../support/cli.js";
import { commitAll, git, initRepo } from "../support/git.js";
import { golden } from "../support/golden.js";

const here = dirname(fileURLToPath(import.meta.url));

const APP = `# The app's release.
runbook "app" version "1.0.0"
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

const OTHER = `runbook "other" version "1.0.0"
step "Hello" {
  note "hello"
}
`;

const OLD = `runbook "old" version "2.0.0"
step "Bye" {
  note "bye"
}
`;

/** main: app (with its include), other, old. The branch `pr`: the include changed, a new runbook, old deleted; main moves on after. */
function pullRequest(): CliBuilder {
  const c = cli()
    .file("runbooks/app.rb", APP)
    .file("runbooks/lib/common.rb", 'var appdir = "/srv/app"\n')
    .file("runbooks/other.rb", OTHER)
    .file("runbooks/old.rb", OLD)
    .file("README.md", "ops\n");
  initRepo(c.dir);
  commitAll(c.dir, "base");
  git(c.dir, "checkout", "-q", "-b", "pr");
  c.file("runbooks/lib/common.rb", 'var appdir = "/srv/app2"\n\nstep "Purge sessions" {\n  run "rm -rf ${appdir}/sessions/*"\n}\n');
  c.file("runbooks/new.rb", 'runbook "fresh" version "0.1.0"\nstep "Hi" {\n  note "hi"\n}\n');
  git(c.dir, "rm", "-q", "runbooks/old.rb");
  commitAll(c.dir, "pr");
  git(c.dir, "checkout", "-q", "main");
  c.file("runbooks/other.rb", OTHER.replace('note "hello"', 'note "hello again"'));
  commitAll(c.dir, "main moves on");
  git(c.dir, "checkout", "-q", "pr");
  return c;
}

describe("runbook review", () => {
  it("reviews what the pull request changed since the merge base, includes resolved (golden)", async () => {
    const c = pullRequest();
    const r = await cli(join(c.dir, "runbooks")).args("review", "main").run();
    expect(r.code).toBe(5);
    expect(r.stderr).toBe("runbook: 2 risks found: exit 5 (give --accept-risk once a reviewer has accepted them)\n");
    const md = r.stdout;
    expect(md.startsWith("<!-- runbook-review -->\n## Runbook review\n")).toBe(true);
    expect(md).toContain("3 runbooks changed, 2 risks, 0 errors, 1 warning.");
    // Reviewed: app (its include changed), new, old (deleted); not other (changed on main only).
    expect(md).toContain("| `runbooks/app.rb` | ⚠️ version not bumped | dev +1 −0 ~0<br>prod +1 −0 ~1 | 2 | ⚠️ 1 warning |");
    expect(md).toContain("| `runbooks/new.rb` | new (0.1.0) | default +1 −0 ~0 | 0 | ok |");
    expect(md).toContain("| `runbooks/old.rb` | deleted | default +0 −1 ~0 | 0 | ok |");
    expect(md).not.toContain("other.rb");
    // The Risk section comes before any runbook's section.
    const risk = md.indexOf("### Risk");
    expect(risk).toBeGreaterThan(0);
    expect(risk).toBeLessThan(md.indexOf("### `runbooks/app.rb`"));
    expect(md).toContain("- `runbooks/app.rb`: ⚠️ **destructive change without undo**: `step purge-sessions: $ rm -rf /srv/app2/sessions/* (no undo)` — in env prod");
    // The head side's check: the prod step without undo.
    expect(md).toMatch(/- ⚠️ warning `missing-undo` `runbooks\/lib\/common\.rb:3:6`: /);
    golden(join(here, "golden/review.md"), md);
    // The same from the repository root, and with --base.
    const fromRoot = await c.args("review", "--base", "main", "--accept-risk").run();
    expect(fromRoot.code).toBe(0);
    expect(fromRoot.stdout).toBe(md);
  });

  it("defaults: BASE is main (no origin here), HEAD is HEAD; a revision git does not know is a usage error", async () => {
    const c = pullRequest();
    const r = await c.args("review", "--accept-risk").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("`main` (merge base `");
    const bad = await c.args("review", "nosuch").run();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("runbook: review: nosuch is neither a revision git knows nor a path (use -- before paths that do not exist)\n");
    const badBase = await c.args("review", "--base", "nosuch").run();
    expect(badBase.code).toBe(2);
    expect(badBase.stderr).toBe("runbook: review: git knows no revision `nosuch`\n");
  });

  it("PATH… limits the review to the runbooks under it; -- marks paths; --fail-on errors lets risks pass", async () => {
    const c = pullRequest();
    const one = await c.args("review", "main", "HEAD", "runbooks/new.rb").run();
    expect(one.code).toBe(0); // the risky app.rb is not under it
    expect(one.stdout).toContain("1 runbook changed, 0 risks");
    expect(one.stdout).toContain("| `runbooks/new.rb` |");
    const folder = await cli(join(c.dir, "runbooks")).args("review", "--base", "main", ".").run();
    expect(folder.stdout).toContain("3 runbooks changed");
    const gone = await c.args("review", "main", "--", "runbooks/old.rb").run();
    expect(gone.stdout).toContain("1 runbook changed, 0 risks");
    expect(gone.stdout).toContain("| `runbooks/old.rb` | deleted |");
    const bad = await c.args("review", "main", "runbooks/nope.rb").run();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("runbook: review: runbooks/nope.rb is neither a revision git knows nor a path (use -- before paths that do not exist)\n");
    const failOnErrors = await c.args("review", "main", "--fail-on", "errors").run();
    expect(failOnErrors.code).toBe(0);
    expect(failOnErrors.stdout).toContain("### Risk\n\n- `runbooks/app.rb`: ⚠️ **destructive change without undo**");
    expect((await c.args("review", "main", "--fail-on", "risk").run()).code).toBe(5);
  });

  it("no runbook changed: says so and exits 0", async () => {
    const c = pullRequest();
    c.file("README.md", "ops, more\n");
    commitAll(c.dir, "docs only");
    const r = await c.args("review", "pr~1", "HEAD").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0 runbooks changed, 0 risks, 0 errors, 0 warnings.\n\nNo runbook changed.\n");
  });

  it("head-side errors: listed with file and line, exit 1", async () => {
    const c = pullRequest();
    c.file("runbooks/new.rb", 'runbook "fresh" version "0.1.0"\nstep "Hi" {\n  note ${nope}\n}\n');
    commitAll(c.dir, "broken");
    const r = await c.args("review", "main").run();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("| `runbooks/new.rb` | has errors | — | — | ❌ 1 error |");
    expect(r.stdout).toMatch(/- ❌ error `syntax` `runbooks\/new\.rb:3:8`: /);
  });

  it("--format json: the runbooks with their changes, risks and diagnostics", async () => {
    const c = pullRequest();
    const r = await c.args("review", "main", "--format", "json").run();
    expect(r.code).toBe(5);
    const j = JSON.parse(r.stdout) as {
      base: string;
      runbooks: { path: string; changes?: { status: string; risks: { kind: string; envs: string[] }[]; counts: unknown[] }; diagnostics: { file: string; code: string; line: number }[] }[];
    };
    expect(j.base).toBe("main");
    expect(j.runbooks.map((r) => [r.path, r.changes?.status])).toEqual([
      ["runbooks/app.rb", "changed"],
      ["runbooks/new.rb", "new"],
      ["runbooks/old.rb", "deleted"],
    ]);
    expect(j.runbooks[0]!.changes!.risks.map((k) => [k.kind, k.envs])).toEqual([
      ["destructive-without-undo", ["dev"]],
      ["destructive-without-undo", ["prod"]],
    ]);
    expect(j.runbooks[0]!.diagnostics).toEqual([expect.objectContaining({ file: "runbooks/lib/common.rb", code: "missing-undo", line: 3 })]);
  });

  it("--format github: annotations at the file and line of each diagnostic and risk; the markdown added to $GITHUB_STEP_SUMMARY", async () => {
    const c = pullRequest();
    const summary = join(c.dir, "step-summary.md");
    writeFileSync(summary, "earlier step\n");
    const r = await c.env({ GITHUB_STEP_SUMMARY: summary }).args("review", "main", "--format", "github").run();
    expect(r.code).toBe(5);
    expect(r.stdout).toBe(
      [
        "::error file=runbooks/lib/common.rb,line=3,col=1::destructive change without undo: step purge-sessions: $ rm -rf /srv/dev/sessions/* (no undo) — in env dev",
        "::error file=runbooks/lib/common.rb,line=3,col=1::destructive change without undo: step purge-sessions: $ rm -rf /srv/app2/sessions/* (no undo) — in env prod",
        "::warning file=runbooks/lib/common.rb,line=3,col=6::step `purge-sessions` makes changes but has no `undo`, and it can run in protected env `prod`%0Aadd `undo \"command\"` or `undo { … }` so that a rollback can revert it",
        "",
      ].join("\n"),
    );
    const markdown = (await c.env({ GITHUB_STEP_SUMMARY: "" }).args("review", "main").run()).stdout;
    expect(readFileSync(summary, "utf8")).toBe(`earlier step\n${markdown}`);
    // Accepted risks are warnings, and the exit is 0.
    const accepted = await c.env({ GITHUB_STEP_SUMMARY: "" }).args("review", "main", "--format", "github", "--accept-risk").run();
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("::warning file=runbooks/lib/common.rb,line=3,col=1::destructive change without undo");
    // An env's risk is at its env block.
    c.file("runbooks/app.rb", APP.replace("  protected\n", ""));
    commitAll(c.dir, "unprotect");
    const env = await c.args("review", "main", "--format", "github").run();
    expect(env.stdout).toContain("::error file=runbooks/app.rb,line=8,col=1::protection removed: env prod: no longer protected\n");
  });

  it("stays under the size limit: whole runbook sections left out, with a note; the summary and risks stay", async () => {
    const c = pullRequest();
    const r = await c.args("review", "main", "--max-chars", "2500").run();
    expect(r.code).toBe(5);
    expect(r.stdout.length).toBeLessThanOrEqual(2500);
    expect(r.stdout).toContain("### Risk");
    expect(r.stdout).toContain("| `runbooks/old.rb` | deleted |");
    expect(r.stdout).toMatch(/> ✂️ Cut to stay under GitHub's comment size limit: \d runbook sections? not shown \(/);
    const full = await c.args("review", "main").run();
    expect(full.stdout).not.toContain("✂️");
    expect(full.stdout.length).toBeGreaterThan(2500);
  });
});
