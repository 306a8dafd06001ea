// maskUrlPasswords, the one function that hides a URL's password wherever a URL
// reaches a message, a diagnostic, a plan or the journal: as a table, then end to
// end through the command line (--state, check, plan) and against MariaDB.
import { describe, expect, it } from "vitest";
import { maskUrlPasswords, urlHasPassword } from "../../language/url-password.js";
import { cli } from "../support/cli.js";
import { MARIADB_HOST, MARIADB_PORT, requireMariadb } from "../support/mariadb.js";

describe("maskUrlPasswords", () => {
  it.each([
    ["a plain password", "mysql://u:hunter2@h:1/db", "mysql://u:***@h:1/db"],
    ["a password holding /", "mysql://u:pass/word@h/db", "mysql://u:***@h/db"],
    ["a password holding @", "postgres://u:p@ss@h/db", "postgres://u:***@h/db"],
    ["a password holding # and ?", "mysql://u:a#b?c@h/db", "mysql://u:***@h/db"],
    ["a percent-encoded one", "mysql://u:p%40w@h", "mysql://u:***@h"],
    ["any scheme", "ftp://u:pw@files.example.org/x", "ftp://u:***@files.example.org/x"],
    ["inside a message", "runbook: --state mysql://alice:hunter2@h:1/db: bad", "runbook: --state mysql://alice:***@h:1/db: bad"],
    ["quoted", "see 'mysql://a:b1@c/d' and `x://y:z@w`", "see 'mysql://a:***@c/d' and `x://y:***@w`"],
    ["two URLs", "a://u:p1@h b://v:p2@k", "a://u:***@h b://v:***@k"],
    ["a user that holds @ (the last @ ends the user part)", "mysql://u@x:pw@h/db", "mysql://u@x:***@h/db"],
    ["no password", "mysql://u@h/db", "mysql://u@h/db"],
    ["an empty password", "mysql://u:@h/db", "mysql://u:@h/db"],
    ["a port, no user", "https://h:8443/path", "https://h:8443/path"],
    ["a file URL", "file:///tmp/x", "file:///tmp/x"],
    ["already masked", "mysql://u:***@h/db", "mysql://u:***@h/db"],
    ["no URL", "plain text: a:b@c", "plain text: a:b@c"],
    ["a pattern in a hint", "expected mysql://user[:password]@host[:port]/db", "expected mysql://user[:password]@host[:port]/db"],
    ["a runbook's ${name} (a reference, not a value)", "mysql://app:${db_password}@h/app", "mysql://app:${db_password}@h/app"],
    ["an IPv6 host", "mysql://u:pw9@[::1]:3306/db", "mysql://u:***@[::1]:3306/db"],
  ])("%s", (_what, text, expected) => {
    expect(maskUrlPasswords(text)).toBe(expected);
    expect(urlHasPassword(text)).toBe(text !== expected);
  });
});

describe("no URL password in any message of the command line", () => {
  const runbook = (url: string) => `runbook "m" version "1.0.0"\ndatabase d = mysql "${url}"\nstep "S" { sql d "SELECT 1" }\n`;

  it.each([
    ["history", "mysql://u:pass/word-9x@127.0.0.1:1/db", 2],
    ["history", "mysql://u:Pw-secret-9x@127.0.0.1:1/db", 1],
    ["history", "ftp://u:Pw-secret-9x@127.0.0.1/j", 2],
    ["history", "postgres://u:Pw-secret-9x@127.0.0.1/j", 2],
    ["unlock", "mysql://u:Pw-secret-9x@127.0.0.1:1/", 2],
  ])("`%s --state %s`: exit %d, the password nowhere", async (command, state, code) => {
    const c = cli().file("m.rb", runbook("mysql://u@127.0.0.1:1/db"));
    const args = command === "unlock" ? ["unlock", "m.rb", "--env", "default", "--state", state] : [command, "--state", state];
    const r = await c.args(...args).run();
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(/:\*\*\*@/);
    for (const secret of ["word-9x", "Pw-secret-9x"]) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it("$RUNBOOK_STATE with a password, refused as another scheme, does not show it", async () => {
    const r = await cli().env({ RUNBOOK_STATE: "ftp://u:Pw-secret-9x@127.0.0.1/j" }).args("history").run();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ftp://u:***@127.0.0.1/j");
    expect(r.stderr).not.toContain("Pw-secret-9x");
  });

  it.each([
    ["a password", "mysql://u:Pw-secret-9x@127.0.0.1/db"],
    ["a password holding /", "mysql://u:pass/word-9x@127.0.0.1/db"],
  ])("`check` refuses a MySQL URL holding %s, and its message and source line hide it", async (_what, url) => {
    for (const format of ["text", "json", "github"]) {
      const r = await cli().file("m.rb", runbook(url)).args("check", "m.rb", "--format", format).run();
      expect(r.code).toBe(1);
      const shown = r.stdout + r.stderr;
      expect(shown).toContain("holds a password");
      expect(shown).toContain("password SECRET");
      for (const secret of ["word-9x", "Pw-secret-9x"]) expect(shown).not.toContain(secret);
    }
    const text = await cli().file("m.rb", runbook(url)).args("check", "m.rb").run();
    // The caret still starts under the URL's opening quote.
    const lines = text.stderr.split("\n");
    const src = lines.findIndex((l) => l.includes('database d = mysql "'));
    expect(lines[src]).toContain("mysql://u:***@127.0.0.1/db");
    expect(lines[src + 1].indexOf("^")).toBe(lines[src].indexOf('"mysql'));
  });

  it("`plan` shows no password of a URL built from a --set value, in any format", async () => {
    const src = `runbook "m" version "1.0.0"\nparam dburl = "mysql://u@127.0.0.1/db"\ndatabase d = mysql "\${dburl}"\nstep "S" { sql d "SELECT 1" }\nstep "T" { run "curl -s https://ci:Tok-secret-9x@example.invalid/x" }\n`;
    for (const format of ["text", "markdown", "json"]) {
      const r = await cli().file("m.rb", src).args("plan", "m.rb", "--format", format, "--set", "dburl=mysql://u:Pw-secret-9x@127.0.0.1/db").run();
      expect(r.code).toBe(0);
      const shown = r.stdout + r.stderr;
      expect(shown).toContain(":***@");
      for (const secret of ["Tok-secret-9x", "Pw-secret-9x"]) expect(shown).not.toContain(secret);
    }
  });
});

it("a run with a URL param holding a password: its messages, `history` and `show` (text, JSON) hide it", async () => {
  const src = `runbook "m" version "1.0.0"\nparam dburl = "mysql://u@127.0.0.1/db"\ndatabase d = mysql "\${dburl}"\nstep "S" { sql d "SELECT 1" }\n`;
  const c = cli().file("m.rb", src);
  const run = await c.args("run", "m.rb", "--no-tui", "--set", "dburl=mysql://u:Pw-secret-9x@127.0.0.1:1/db").run();
  expect(run.code).toBe(1);
  expect(run.stdout + run.stderr).toContain("mysql://u:***@127.0.0.1:1/db holds a password");
  const history = await c.args("history", "--json").run();
  const id = (JSON.parse(history.stdout) as { id: string }[])[0]!.id;
  const shown = [run, history, await c.args("show", id).run(), await c.args("show", id, "--json").run()];
  expect(shown[2]!.stdout).toContain("dburl=mysql://u:***@127.0.0.1:1/db");
  for (const r of shown) expect(r.stdout + r.stderr).not.toContain("Pw-secret-9x");
});

const mariadb = await requireMariadb();

describe.runIf(mariadb)("no URL password in MariaDB's refusals", () => {
  it("--state with a wrong password for root: refused by the server, the password nowhere", async () => {
    const state = `mysql://root:Pw-secret-9x@${MARIADB_HOST}:${MARIADB_PORT}/runbook_no_such_db`;
    const r = await cli().args("history", "--state", state).run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`mysql://root:***@${MARIADB_HOST}:${MARIADB_PORT}/`);
    expect(r.stderr).not.toContain("Pw-secret-9x");
  });
});
