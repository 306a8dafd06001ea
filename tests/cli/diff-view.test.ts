// How `runbook diff` shows steps: an added or removed step as one whole block of its
// source (every line marked, indented as in the file, whatever its section's
// indentation), a changed step as a marked diff of its source and of what it runs
// in each env (values filled in, secrets ***). Golden text and markdown of a change
// to the bundled Haiti release, in a real git repository.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { commitAll, initRepo } from "../support/git.js";
import { golden } from "../support/golden.js";

const here = dirname(fileURLToPath(import.meta.url));
const HAITI = readFileSync(join(here, "../../runbooks/haiti-release.rb"), "utf8");
/** The release's steps, which haiti-release.rb includes: the change is in both files. */
const LIB = readFileSync(join(here, "../../runbooks/lib/haiti-release.rb"), "utf8");

function haitiChanged(): { main: string; lib: string } {
  let main = HAITI.replace('version "1.1.0"', 'version "1.2.0"');
  main = main.replace('  var url        = "http://logistics.sahanapy.org/test/"', '  var url        = "http://logistics.sahanapy.org/uat/"');
  let lib = LIB.replace("${bzr} pull --overwrite -r ${revision} ${branch}", "${bzr} pull --quiet --overwrite -r ${revision} ${branch}");
  lib = lib.replace(
    '  step "Export database" {',
    '  step "Clear the cache" on portal {\n    run "rm -rf ${appdir}/cache/*"\n    undo "true"\n  }\n\n  step "Export database" {',
  );
  if (main === HAITI || lib === LIB) throw new Error("the change did not apply");
  return { main, lib };
}

function repo() {
  const c = cli().file("runbooks/haiti-release.rb", HAITI).file("runbooks/lib/haiti-release.rb", LIB);
  initRepo(c.dir);
  commitAll(c.dir, "1.1.0");
  const changed = haitiChanged();
  return c.file("runbooks/haiti-release.rb", changed.main).file("runbooks/lib/haiti-release.rb", changed.lib);
}

describe("runbook diff: blocks and what runs per env", () => {
  it("an added step in a section is one block, every line marked +, indented as a step on its own", async () => {
    const r = await repo().args("diff", "HEAD:runbooks/haiti-release.rb", "runbooks/haiti-release.rb").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      [
        "+ added step clear-the-cache",
        '    +step "Clear the cache" on portal {',
        '    +  run "rm -rf ${appdir}/cache/*"',
        '    +  undo "true"',
        "    +}",
        "  as it would run in env dev:",
        "    +clear-the-cache on portal: Clear the cache",
        "    +  $ rm -rf /home/haiti-dev/web2py/applications/dev/cache/*",
        "    +  undo: $ true",
      ].join("\n"),
    );
  });

  it("a changed step: its source as a marked diff, and the command per env with its values", async () => {
    const r = await repo().args("diff", "HEAD:runbooks/haiti-release.rb", "runbooks/haiti-release.rb").run();
    const at = r.stdout.indexOf("~ changed step pull-the-haiti-branch");
    expect(at).toBeGreaterThan(0);
    const block = r.stdout.slice(at, r.stdout.indexOf("\n~ ", at + 1) === -1 ? undefined : r.stdout.indexOf("\n~ ", at + 1));
    expect(block).toContain('    -  run "cd ${appdir} && ${bzr} pull --overwrite -r ${revision} ${branch}"\n    +  run "cd ${appdir} && ${bzr} pull --quiet --overwrite -r ${revision} ${branch}"');
    expect(block).toContain("  as it would run in env dev:\n");
    expect(block).toContain("    -  $ cd /home/haiti-dev/web2py/applications/dev && bzr pull --overwrite -r 547 lp:sahana-haiti\n");
    expect(block).toContain("    +  $ cd /home/haiti/web2py/applications/prod && bzr pull --quiet --overwrite -r 547 lp:sahana-haiti\n");
    // A value changed in one env only changes that env's resolved step.
    const site = r.stdout.slice(r.stdout.indexOf("~ changed step check-the-site-answers"));
    expect(site).toMatch(/^~ changed step check-the-site-answers\n {2}as it would run in env uat:\n/);
  });

  it("secrets in what runs show as ***", async () => {
    const c = cli().file("s.rb", 'runbook "s" version "1.0.0"\nsecret key = env "KEY"\nstep "Call" {\n  run "call --key ${key}"\n}\n');
    initRepo(c.dir);
    commitAll(c.dir, "s");
    c.file("s.rb", 'runbook "s" version "1.0.1"\nsecret key = env "KEY"\nstep "Call" {\n  run "call --verbose --key ${key}"\n}\n');
    const r = await c.env({ KEY: "the-key-value-123" }).args("diff", "HEAD:s.rb", "s.rb").run();
    expect(r.stdout).toContain("    -  $ call --key ***\n    +  $ call --verbose --key ***\n");
    expect(r.stdout).not.toContain("the-key-value-123");
  });

  it("golden: text and markdown of a change to the Haiti release", async () => {
    const c = repo();
    const text = await c.args("diff", "HEAD:runbooks/haiti-release.rb", "runbooks/haiti-release.rb").run();
    golden(join(here, "golden/haiti-release.diff.txt"), text.stdout);
    const md = await c.args("diff", "HEAD:runbooks/haiti-release.rb", "runbooks/haiti-release.rb", "--format", "markdown").run();
    golden(join(here, "golden/haiti-release.diff.md"), md.stdout);
    expect(md.stdout).toContain("<details><summary>as it would run in");
  });
});
