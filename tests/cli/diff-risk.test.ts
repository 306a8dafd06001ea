// The risks `runbook diff` calls out (docs/review.md), each from a real change in a
// git repository: listed first under "Risk", exit 5 unless --accept-risk; a
// protection removed does not hide a destructive step added in the same change;
// what was already there, or has an undo, is no risk.

import { describe, expect, it } from "vitest";
import { cli, type CliBuilder } from "../support/cli.js";
import { commitAll, initRepo } from "../support/git.js";

const BASE = `runbook "app" version "1.0.0"
var appdir = "/srv/app"
secret token = env "APP_TOKEN"
database appdb = sqlite "app.sqlite"

env dev {
  var appdir = "/srv/dev"
}
env prod {
  protected
  confirm "Sign-off for this release?"
}

step "Deploy" {
  confirm "Deploy now?"
  run "deploy \${appdir} --token \${token}"
  undo "rollback \${appdir}"
}
`;

/** A repository with BASE committed and `edit` applied to the working tree's copy. */
function change(edit: (src: string) => string): CliBuilder {
  const c = cli().file("app.rb", BASE);
  initRepo(c.dir);
  commitAll(c.dir, "base");
  return c.file("app.rb", edit(BASE));
}

const bump = (s: string) => s.replace('version "1.0.0"', 'version "1.1.0"');

describe("risks in runbook diff", () => {
  it("a protection removed: listed first under Risk, exit 5 with the reason on stderr", async () => {
    const c = change((s) => bump(s).replace("  protected\n", ""));
    const r = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/^runbook diff HEAD:app\.rb → app\.rb\nversion 1\.0\.0 → 1\.1\.0\n\nRisk \(1\):\n {2}! protection removed: env prod: no longer protected\n\nChanges:\n/);
    expect(r.stderr).toBe("runbook: 1 risk found: exit 5 (give --accept-risk once a reviewer has accepted it)\n");
    const accepted = await c.args("diff", "HEAD:app.rb", "app.rb", "--accept-risk").run();
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toBe("");
    expect(accepted.stdout).toBe(r.stdout);
  });

  it("a protection removed does not hide a destructive step added with no undo (in every env)", async () => {
    const c = change((s) => bump(s).replace("  protected\n", "") + '\nstep "Purge sessions" {\n  run "rm -rf ${appdir}/sessions/*"\n}\n');
    const check = await c.args("check", "app.rb").run();
    expect(check.code).toBe(0); // the checker has no protected env to warn about any more…
    const r = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.code).toBe(5); // …the diff still sees both
    const risk = r.stdout.slice(r.stdout.indexOf("Risk"), r.stdout.indexOf("Changes:"));
    expect(risk).toBe(
      [
        "Risk (3):",
        "  ! protection removed: env prod: no longer protected",
        "  ! destructive change without undo: step purge-sessions: $ rm -rf /srv/dev/sessions/* (no undo) — in env dev",
        "  ! destructive change without undo: step purge-sessions: $ rm -rf /srv/app/sessions/* (no undo) — in env prod",
        "",
        "",
      ].join("\n"),
    );
    expect(r.stdout).toContain(
      ['+ added step purge-sessions', '    +step "Purge sessions" {', '    +  run "rm -rf ${appdir}/sessions/*"', "    +}"].join("\n"),
    );
  });

  it("an env's confirmation removed, and a step's", async () => {
    const c = change((s) => bump(s).replace('  confirm "Sign-off for this release?"\n', "").replace('  confirm "Deploy now?"\n', ""));
    const r = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('  ! confirmation removed: env prod: confirm "Sign-off for this release?" removed\n');
    expect(r.stdout).toContain('  ! confirmation removed: step deploy: confirm "Deploy now?" removed — in envs dev, prod\n');
  });

  it("an undo removed", async () => {
    const c = change((s) => bump(s).replace('  undo "rollback ${appdir}"\n', ""));
    const r = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.code).toBe(5);
    expect(r.stdout).toContain("  ! undo removed: step deploy: its undo was removed — in envs dev, prod\n");
  });

  it("destructive SQL (DELETE without WHERE, DROP) and a sync added with no undo; secrets stay ***", async () => {
    const c = change(
      (s) =>
        bump(s) +
        '\nstep "Clean" {\n  sql appdb "DELETE FROM sessions; DROP TABLE old_users"\n}\nstep "Copy" when env == "dev" {\n  sync appdb from prod.appdb\n}\nstep "Wipe" {\n  run "wipe --really --token ${token} && rm -r /tmp/x"\n}\n',
    );
    const r = await c.env({ APP_TOKEN: "s3cr3t-token-value" }).args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.code).toBe(5);
    expect(r.stdout).toContain("destructive change without undo: step clean: sql appdb: DELETE without WHERE (DELETE FROM sessions; DROP TABLE old_users) (no undo) — in envs dev, prod");
    expect(r.stdout).toContain("destructive change without undo: step clean: sql appdb: DROP (DELETE FROM sessions; DROP TABLE old_users) (no undo) — in envs dev, prod");
    expect(r.stdout).toContain("destructive change without undo: step copy: sync appdb from prod.appdb (no undo) — in env dev");
    expect(r.stdout).toContain("destructive change without undo: step wipe: $ wipe --really --token *** && rm -r /tmp/x (no undo) — in envs dev, prod");
    expect(r.stdout).not.toContain("s3cr3t");
  });

  it("a host or database of a protected env pointing elsewhere (not of an unprotected one)", async () => {
    const base = BASE.replace('database appdb = sqlite "app.sqlite"\n', 'database appdb = sqlite "app.sqlite"\nhost web = "deploy@web1.example.org"\n');
    const c = cli().file("app.rb", base);
    initRepo(c.dir);
    commitAll(c.dir, "base");
    c.file("app.rb", bump(base).replace('sqlite "app.sqlite"', 'sqlite "other.sqlite"').replace("web1.example.org", "web9.example.org"));
    const r = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(
      [
        "Risk (2):",
        "  ! protected target changed: env prod: host web deploy@web1.example.org → deploy@web9.example.org",
        "  ! protected target changed: env prod: database appdb sqlite app.sqlite → sqlite other.sqlite",
        "",
      ].join("\n"),
    );
    expect(r.stdout).not.toContain("env dev: host");
  });

  it("no risk: a destructive command that has an undo, one that was already there, a protection added", async () => {
    const c = change(
      (s) =>
        bump(s)
          .replace("env dev {\n", "env dev {\n  protected\n")
          .replace('run "deploy ${appdir} --token ${token}"', 'run "deploy ${appdir} --token ${token} && rm -rf ${appdir}/cache"') +
        '\nstep "Rotate" {\n  run "rm -rf ${appdir}/old"\n  undo "restore ${appdir}/old"\n}\n',
    );
    const r = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(r.stdout).not.toContain("Risk");
    expect(r.stdout).toContain("~ changed env dev: now protected");
    expect(r.code).toBe(0);
    // Already there on the base side: a step that keeps its destructive command (and still has no undo) is no risk.
    const purge = (extra: string) => `\nstep "Purge" {\n  run "rm -rf /srv/tmp"\n${extra}}\n`;
    c.file("app.rb", BASE + purge(""));
    commitAll(c.dir, "a purge step without undo");
    c.file("app.rb", bump(BASE) + purge('  note "purged"\n'));
    const again = await c.args("diff", "HEAD:app.rb", "app.rb").run();
    expect(again.stdout).toContain("~ changed step purge");
    expect(again.stdout).not.toContain("Risk");
    expect(again.code).toBe(0);
  });

  it("markdown: the Risk section comes before the changes", async () => {
    const c = change((s) => bump(s).replace("  protected\n", ""));
    const r = await c.args("diff", "HEAD:app.rb", "app.rb", "--format", "markdown", "--accept-risk").run();
    expect(r.code).toBe(0);
    const risk = r.stdout.indexOf("### Risk");
    expect(risk).toBeGreaterThan(0);
    expect(r.stdout.indexOf("### Changed")).toBeGreaterThan(risk);
    expect(r.stdout).toContain("- ⚠️ **protection removed**: `env prod: no longer protected`\n");
  });
});
