import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { shellJoin, shellQuote } from "../../runtime/quote.js";

const dir = mkdtempSync(join(tmpdir(), "runbook-quote-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What /bin/sh makes of `printf %s WORD`: the word as the shell sees it. */
function shellSees(word: string): string {
  return execFileSync("/bin/sh", ["-c", `printf '%s' ${word}`], { cwd: dir, encoding: "utf8" });
}

describe("shellQuote", () => {
  it.each([
    ["plain", "r547"],
    ["path", "/home/haiti/web2py"],
    ["empty", ""],
    ["spaces", "a b  c"],
    ["injection", "'; touch pwned #"],
    ["double injection", '"; touch pwned; echo "'],
    ["command substitution", "$(touch pwned)"],
    ["backticks", "`touch pwned`"],
    ["variables", "$HOME ${PATH}"],
    ["glob", "*"],
    ["newline", "line1\nline2"],
    ["single quotes", "it's 'quoted'"],
    ["backslashes", "a\\b\\\\c"],
    ["leading dash", "-rf"],
    ["tilde", "~/x"],
    ["unicode", "Port-au-Prince é ✓"],
    ["semicolon and ampersand", "a;b&&c||d|e>f<g"],
  ])("%s stays one word", (_name, value) => {
    expect(shellSees(shellQuote(value))).toBe(value);
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it.each([
    ["r547", "r547"],
    ["/a/b.c", "/a/b.c"],
    ["a b", "'a b'"],
    ["it's", "'it'\\''s'"],
    ["", "''"],
  ])("%j quotes as %j", (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  it("joins several words", () => {
    const words = ["a b", "'; touch pwned #", ""];
    const out = execFileSync("/bin/sh", ["-c", `for w in ${shellJoin(words)}; do printf '[%s]' "$w"; done`], { cwd: dir, encoding: "utf8" });
    expect(out).toBe("[a b]['; touch pwned #][]");
  });
});
