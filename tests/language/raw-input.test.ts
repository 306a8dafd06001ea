// `${raw x}` of a value that can come from outside the runbook (a param, which
// `--set` changes; a secret; a var made from either, in any env) in a command or
// SQL: a `raw-input` warning at the `${…}`. Raw values written in the runbook itself,
// builtins, and raw where nothing is quoted anyway, draw none.

import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";

const HEAD = [
  'runbook "r" version "1.0.0"',
  'param branch = "main"',
  'param table = "orders"',
  'var home = "/srv"',
  'var fixed = "${home}/app"',
  'var made = "x-${branch}"',
  'var madeTwice = "${made}/y"',
  'var overridden = "plain"',
  'var other = "${prod.branch}"',
  'secret token = env "TOKEN"',
  'database db = sqlite "/tmp/r.sqlite"',
  "env dev {}",
  'env prod { var overridden = "${branch}" }',
].join("\n");

function rawWarnings(body: string): { code: string; at: string; message: string }[] {
  const src = `${HEAD}\nstep "S" {\n  ${body}\n}\n`;
  const r = compileSource(src, "r.rb");
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.diagnostics
    .filter((d) => d.code === "raw-input")
    .map((d) => ({ code: d.code, at: src.slice(d.span.offset, d.span.offset + d.span.length), message: d.message }));
}

describe("raw-input", () => {
  it.each([
    ['run "git checkout ${raw branch}"', "${raw branch}"],
    ['run "curl -H ${raw token}"', "${raw token}"],
    ['run "cd ${raw made}"', "${raw made}"],
    ['run "cd ${raw madeTwice}"', "${raw madeTwice}"],
    ['run "echo ${raw overridden}"', "${raw overridden}"], // a param only in env prod's override
    ['run "echo ${raw other}"', "${raw other}"], // another env's param
    ['run "echo ${raw prod.branch}"', "${raw prod.branch}"],
    ['undo "git checkout ${raw branch}"', "${raw branch}"],
    ['sql db "SELECT * FROM ${raw table}"', "${raw table}"],
    ['require succeeds "test -d ${raw branch}"', "${raw branch}"],
    ['require output "echo ${raw branch}" == "x"', "${raw branch}"],
    ['require query db "SELECT count(*) FROM ${raw table}" == "0"', "${raw table}"],
  ])("%s warns at %s", (body, at) => {
    const found = rawWarnings(body);
    expect(found.map((f) => f.at)).toEqual([at]);
  });

  it.each([
    ['run "cd ${raw home}"'],
    ['run "cd ${raw fixed}"'],
    ['run "echo ${raw env} ${raw run.id}"'],
    ['run "git checkout ${branch}"'], // quoted: no warning
    ['sql db "SELECT * FROM t WHERE name = ${table}"'],
    ['note "branch ${raw branch}"'], // shown as text, nothing is quoted there
  ])("%s draws none", (body) => {
    expect(rawWarnings(body)).toEqual([]);
  });

  it("says what the value is and where it comes from", () => {
    expect(rawWarnings('run "git checkout ${raw branch}"')[0]!.message).toBe(
      "`${raw branch}` inserts param `branch`, which `--set` can change, into a command unquoted: a value from outside the runbook can become shell syntax",
    );
    expect(rawWarnings('sql db "SELECT * FROM ${raw madeTwice}"')[0]!.message).toBe(
      "`${raw madeTwice}` inserts var `madeTwice`, made from `made`, into SQL unquoted: a value from outside the runbook can become SQL",
    );
  });

  it("follows a long chain of vars without recursion", () => {
    const vars = Array.from({ length: 20_000 }, (_, i) => `var v${i + 1} = "\${v${i}}"`).join("\n");
    const src = `runbook "r" version "1.0.0"\nparam v0 = "a"\n${vars}\nstep "S" {\n  run "echo \${raw v20000}"\n}\n`;
    const r = compileSource(src, "r.rb");
    expect(r.diagnostics.map((d) => d.code)).toContain("raw-input");
  });
});
