// `secret NAME = command "…"`: the command runs on this machine at first use, and its
// output is used and never shown: not in the plan, the plain log, NDJSON, a dry run or
// any byte of the journal. A failing command names the secret and the command, not
// what it printed.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, type CliBuilder } from "../support/cli.js";

function journalBytes(c: CliBuilder): Buffer {
  return Buffer.concat(["journal.db", "journal.db-wal"].map((f) => join(c.dir, f)).filter(existsSync).map((p) => readFileSync(p)));
}

describe("a secret from a command", () => {
  const value = `tok-${randomBytes(12).toString("hex")}`;
  const src = `runbook "s" version "1.0.0"
secret token = command "cat vault/token.txt; echo 'noise on stderr' >&2"
step "Use it" as use {
  run "test \\"\${token}\\" = \\"$(cat vault/token.txt)\\" && echo \${token} && touch used"
}
step "Write it" as write {
  edit "app.conf" { replace "TOKEN" with "\${token}" }
}
`;
  const runbook = () => cli().file("s.rb", src).file("vault/token.txt", `${value}\n`).file("app.conf", "key = TOKEN\n");

  it("is absent from the plan, which names the command", async () => {
    const c = runbook();
    const r = await c.args("plan", "s.rb").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`token from command "cat vault/token.txt; echo 'noise on stderr' >&2"`);
    expect(r.stdout + r.stderr).not.toContain(value);
  });

  it.each([
    ["the plain log", ["--no-tui"]],
    ["NDJSON", ["--json"]],
    ["a dry run", ["--no-tui", "--dry-run"]],
  ])("is used, and absent from %s and the journal", async (_where, flags) => {
    const c = runbook();
    const r = await c.args("run", "s.rb", ...flags).run();
    expect(r.code).toBe(0);
    const shown = r.stdout + r.stderr;
    expect(shown).not.toContain(value);
    expect(shown).not.toContain("noise on stderr");
    expect(journalBytes(c).includes(Buffer.from(value))).toBe(false);
    const dry = flags.includes("--dry-run");
    expect(existsSync(join(c.dir, "used"))).toBe(!dry);
    expect(readFileSync(join(c.dir, "app.conf"), "utf8")).toBe(dry ? "key = TOKEN\n" : `key = ${value}\n`);
    if (!dry) expect(shown).toContain("***");
  });

  it("a failing command fails before the first step, naming the secret and the command but not its output", async () => {
    const c = cli().file("s.rb", `runbook "s" version "1.0.0"\nsecret token = command "echo half-secret-output; exit 3"\nstep "Use" as use { run "echo \${token} > out" }\n`);
    const r = await c.args("run", "s.rb", "--no-tui").run();
    expect(r.code).not.toBe(0);
    const shown = r.stdout + r.stderr;
    expect(shown).toContain(`secret token is not set: command "echo half-secret-output; exit 3" exited with status 3`);
    expect(shown).not.toMatch(/^half-secret-output/m);
    expect(existsSync(join(c.dir, "out"))).toBe(false);
  });

  it("a ${…} in the command is an error of the checker", async () => {
    const c = cli().file("s.rb", `runbook "s" version "1.0.0"\nvar name = "prod/db"\nsecret token = command "pass show \${name}"\nstep "Use" { run "echo \${token}" }\n`);
    const r = await c.args("check", "s.rb").run();
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/s\.rb:3:35: error: a secret.s command cannot hold/);
  });
});
