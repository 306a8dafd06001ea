// Tests of the formatter (language/format.ts, rules in docs/formatting.md): one
// table of input → canonical output per layout rule, broken input left alone, the
// running example, and the properties that must hold for every runbook in the
// repository and for random runbooks: idempotent, same AST, same tokens, same
// comments in the same order.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { hasErrors } from "../../language/diagnostics.js";
import { format } from "../../language/format.js";
import { parseSource } from "../../language/parser.js";
import { toAst } from "../../language/to-ast.js";
import { lexAll } from "../../language/tokens.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const lines = (...ls: string[]) => `${ls.join("\n")}\n`;
const fmt = (text: string) => {
  const r = format(text, "t.rb");
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.output;
};

/** `input` formats to `expected`, which is already canonical. */
function expectLayout(input: string, expected: string) {
  expect(fmt(input)).toBe(expected);
  expect(fmt(expected)).toBe(expected);
}

// ---------------------------------------------------------------- helpers for the properties

const isSpan = (v: unknown): boolean =>
  typeof v === "object" && v !== null && "offset" in v && "line" in v && "column" in v && "length" in v && "file" in v;

/** A deep copy of an AST without spans and source texts, for comparison. */
function stripSpans(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripSpans);
  if (v instanceof Map) return stripSpans(Object.fromEntries(v));
  if (typeof v !== "object" || v === null) return v;
  if (isSpan(v)) return "<span>";
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "sources") continue;
    out[k] = stripSpans(x);
  }
  return out;
}

/**
 * The AST of one file (no includes, no checker) and what building it reported (a
 * file may parse and still have AST-level errors, e.g. a second `finally`).
 */
function fileAst(text: string): unknown {
  const parsed = parseSource("t.rb", text);
  const { ast, diagnostics } = toAst(parsed.cst, "t.rb", { text });
  return stripSpans({ ast, diagnostics: [...parsed.diagnostics, ...diagnostics].map((d) => [d.severity, d.code, d.message]) });
}

/** Non-whitespace tokens (type and text) and comments (without trailing blanks). */
function tokenStream(text: string): { tokens: string[]; comments: string[] } {
  const lexed = lexAll(text);
  return {
    tokens: lexed.tokens.map((t) => `${t.tokenType.name} ${t.image}`),
    comments: (lexed.groups.comments ?? []).map((t) => t.image.replace(/[ \t]+$/, "")),
  };
}

/** Every property the formatter promises, for one input that parses. */
function expectFormatProperties(text: string, file = "t.rb", readFile?: (p: string) => string): string {
  const first = format(text, file);
  expect(hasErrors(first.diagnostics)).toBe(false);
  const out = first.output;
  // idempotent
  expect(format(out, file).output).toBe(out);
  // same AST of the file
  expect(fileAst(out)).toEqual(fileAst(text));
  // same tokens, same comments in the same order
  expect(tokenStream(out)).toEqual(tokenStream(text));
  // the whole runbook (includes spliced) means the same, when it compiles
  const options = { check: false, ...(readFile ? { readFile } : {}) };
  const before = compileSource(text, file, options);
  if (before.runbook) {
    const after = compileSource(out, file, options);
    expect(stripSpans(after.runbook)).toEqual(stripSpans(before.runbook));
  }
  // layout basics
  expect(out === "" || out.endsWith("\n")).toBe(true);
  expect(out.endsWith("\n\n")).toBe(false);
  expect(out.startsWith("\n")).toBe(false);
  const crInStrings = lexAll(text).tokens.some((t) => t.image.includes("\r"));
  expect(out.includes("\r")).toBe(crInStrings);
  // no trailing blanks outside """ strings
  const outsideTriple = out.replace(/"""[\s\S]*?"""/g, '""""""');
  expect(outsideTriple).not.toMatch(/[ \t]$/m);
  return out;
}

// ---------------------------------------------------------------- the rules, one table each

const H = 'runbook "t" version "1"';

describe("format: lines and indentation", () => {
  it.each([
    [
      "two spaces per block level",
      lines('section "S" {', 'step "a" {', 'run "x"', "undo {", 'run "y"', "}", "}", "}"),
      lines('section "S" {', '  step "a" {', '    run "x"', "    undo {", '      run "y"', "    }", "  }", "}"),
    ],
    [
      "statements written on one line are split",
      lines('step "a" { run "x" undo "y" timeout 5m }'),
      lines('step "a" {', '  run "x"', '  undo "y"', "  timeout 5m", "}"),
    ],
    [
      "a statement spread over lines is joined",
      lines('step "a"', "  on web", '  when env == "x"', "{", '  run "x"', "    as", "    root", "}"),
      lines('step "a" on web when env == "x" {', '  run "x" as root', "}"),
    ],
    ["the header is one line", lines("runbook", '"t"', "   version", '"1"'), lines(H)],
    [
      "header lines are split",
      lines(`${H} description "d" owner "o" default env dev`),
      lines(H, 'description "d"', 'owner "o"', "default env dev"),
    ],
    ["an empty block is {}", lines('step "a" {', "", "}", 'step "b" on h {   }'), lines('step "a" {}', 'step "b" on h {}')],
    [
      "an edit block and its replaces",
      lines('step "a" { edit "f" { replace "x" with "y" replace all', '"p" with "q" } }'),
      lines('step "a" {', '  edit "f" {', '    replace "x" with "y"', '    replace all "p" with "q"', "  }", "}"),
    ],
    [
      "env blocks: protected, confirm and overrides",
      lines("env prod { protected confirm \"sure?\" var home = \"/p\" }"),
      lines("env prod {", "  protected", '  confirm "sure?"', '  var home = "/p"', "}"),
    ],
    [
      "finally holds steps",
      lines('finally { step "a" { note "x" } step "b" { note "y" } }'),
      lines("finally {", '  step "a" {', '    note "x"', "  }", '  step "b" {', '    note "y"', "  }", "}"),
    ],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });
});

describe("format: spaces within a line", () => {
  it.each([
    [
      "brackets, parens, commas and dots",
      lines('step "a" when not(env=="x"or env  in [ "a" ,"b" ]) { sync db from prod . db tables [ "t1","t2" ] }'),
      lines('step "a" when not (env == "x" or env in ["a", "b"]) {', '  sync db from prod.db tables ["t1", "t2"]', "}"),
    ],
    [
      "nested parens and operators",
      lines('step "a" {', 'require ( ( x>=1 )and(y<2) ) or not  exists "/p"   on  h else "why"', "}"),
      lines('step "a" {', '  require ((x >= 1) and (y < 2)) or not exists "/p" on h else "why"', "}"),
    ],
    [
      "members: run.id and env.name",
      lines('step "a" when run . id != "" and prod.home contains "x" {', "wait until query db \"select 1\" == 1", "}"),
      lines('step "a" when run.id != "" and prod.home contains "x" {', '  wait until query db "select 1" == 1', "}"),
    ],
    [
      "tabs, trailing blanks, CRLF, no final newline",
      `\r\n\r\n${H}   \r\nowner\t"o"\t`,
      lines(H, 'owner "o"'),
    ],
    ["lone CR line ends", `${H}\rowner "o"\r\r\rdefault env dev`, lines(H, 'owner "o"', "", "default env dev")],
    ["an empty file stays empty", "", ""],
    ["a file of whitespace becomes empty", "\n\n   \n\t", ""],
    ["a file of comments", "\n# hi  \n\n\n# there", lines("# hi", "", "# there")],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });
});

describe("format: aligned declarations", () => {
  it.each([
    [
      "a run at top level lines up its = signs",
      lines('param branch = "haiti"', 'var home = "/h"', 'secret db_password = env "P"', 'host web = "w"', 'database db = sqlite "d"'),
      lines(
        'param branch       = "haiti"',
        'var home           = "/h"',
        'secret db_password = env "P"',
        'host web           = "w"',
        'database db        = sqlite "d"',
      ),
    ],
    [
      "author's padding is replaced",
      lines('param   a    =    1', 'var   bb=2'),
      lines("param a = 1", "var bb  = 2"),
    ],
    [
      "a blank line ends a run",
      lines("param a = 1", "param bbbb = 2", "", "var c = 3", "var dd = 4"),
      lines("param a    = 1", "param bbbb = 2", "", "var c  = 3", "var dd = 4"),
    ],
    [
      "a comment line ends a run, a trailing comment does not",
      lines("param a = 1 # one", "param bbbb = 2", "# more", "var c = 3", "var dd = 4"),
      lines("param a    = 1 # one", "param bbbb = 2", "# more", "var c  = 3", "var dd = 4"),
    ],
    [
      "another statement ends a run",
      lines("param a = 1", 'include "x.rb"', "param bbbb = 2", "var c = 3"),
      lines("param a = 1", 'include "x.rb"', "param bbbb = 2", "var c      = 3"),
    ],
    [
      "env blocks align on their own",
      lines('var home = 1', "env dev {", 'var home = 2', 'host portal = "p"', "protected", "var x = 4", "}"),
      lines("var home = 1", "", "env dev {", "  var home    = 2", '  host portal = "p"', "  protected", "  var x = 4", "}"),
    ],
    [
      "a multi-line list stays in its run",
      lines('host web = [ "a",', '"b" ]', "var longer_name = 1"),
      lines("host web        = [", '  "a",', '  "b"', "]", "var longer_name = 1"),
    ],
    [
      "a declaration whose = is on a continuation line is not aligned",
      lines("param a = 1", "param bb # why", "= 2", "param ccc = 3"),
      lines("param a = 1", "param bb # why", "    = 2", "param ccc = 3"),
    ],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });
});

describe("format: blank lines", () => {
  it.each([
    [
      "several blank lines become one; steps keep the author's choice",
      lines('section "S" {', 'step "a" {}', "", "", "", 'step "b" {}', 'step "c" {}', "}"),
      lines('section "S" {', '  step "a" {}', "", '  step "b" {}', '  step "c" {}', "}"),
    ],
    [
      "no blank line after { or before }",
      lines('step "a" {', "", "", 'run "x"', "", 'run "y"', "", "}"),
      lines('step "a" {', '  run "x"', "", '  run "y"', "}"),
    ],
    [
      "blank lines inside a statement are dropped",
      lines('step "a" {', "run", "", '"x"', "", "as root", "}"),
      lines('step "a" {', '  run "x" as root', "}"),
    ],
    [
      "exactly one blank line between top-level kinds",
      lines(H, "param a = 1", "env dev {}", 'section "S" {}', 'step "t" {}', "finally {}"),
      lines(H, "", "param a = 1", "", "env dev {}", "", 'section "S" {}', "", 'step "t" {}', "", "finally {}"),
    ],
    [
      "env blocks, top-level steps and declarations keep the author's choice",
      lines("env a {}", "env b {}", "", "", "env c {}", 'step "x" {}', 'step "y" {}', "", 'step "z" {}'),
      lines("env a {}", "env b {}", "", "env c {}", "", 'step "x" {}', 'step "y" {}', "", 'step "z" {}'),
    ],
    [
      "sections are always separated",
      lines('section "A" {}', 'section "B" {}', "", "", 'section "C" {}'),
      lines('section "A" {}', "", 'section "B" {}', "", 'section "C" {}'),
    ],
    [
      "the blank line goes before the comments of the next item",
      lines("param a = 1", "# Environments", "# (two of them)", "env dev {}"),
      lines("param a = 1", "", "# Environments", "# (two of them)", "env dev {}"),
    ],
    [
      "a blank line the author put among the comments is enough",
      lines("param a = 1", "# about a", "", "# Environments", "env dev {}"),
      lines("param a = 1", "# about a", "", "# Environments", "env dev {}"),
    ],
    [
      "no blank line at the start of the file",
      lines("", "", "# header comment", "", H),
      lines("# header comment", "", H),
    ],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });
});

describe("format: comments", () => {
  it.each([
    [
      "own-line comments are indented to their level, also before }",
      lines("# top", 'section "S" {', "# before the step", 'step "a" {', '        # first', 'run "x"', "# last", "}", "      # end of section", "}"),
      lines("# top", 'section "S" {', "  # before the step", '  step "a" {', "    # first", '    run "x"', "    # last", "  }", "  # end of section", "}"),
    ],
    [
      "a trailing comment stays, one space after the code, trailing blanks removed",
      lines('step "a" {', 'run "x"      #   slow   ', "}     # done"),
      lines('step "a" {', '  run "x" #   slow', "} # done"),
    ],
    [
      "a comment after { stays on the { line",
      lines('step "a" {   # why', 'run "x" }'),
      lines('step "a" { # why', '  run "x"', "}"),
    ],
    [
      "a comment inside a statement keeps the rest on a continuation line",
      lines('step "a" {', 'run "x" # why', "as root", "}"),
      lines('step "a" {', '  run "x" # why', "      as root", "}"),
    ],
    [
      "an own-line comment inside a statement is indented as a continuation",
      lines('step "a"', "# the host", "on h {}"),
      lines('step "a"', "    # the host", "    on h {}"),
    ],
    [
      "# inside strings is not a comment",
      lines('step "a" { note "a # b \\"c\\"" }'),
      lines('step "a" {', '  note "a # b \\"c\\""', "}"),
    ],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });
});

describe("format: strings and lists", () => {
  it.each([
    [
      "triple-quoted strings are kept byte for byte",
      lines('step "a" {', 'run   """', "      cd /tmp   ", "        make", '  """   as root', 'sql db """SELECT 1"""', "}"),
      lines('step "a" {', '  run """', "      cd /tmp   ", "        make", '  """ as root', '  sql db """SELECT 1"""', "}"),
    ],
    [
      "a one-line list stays on one line",
      lines('host web = [ "a" ,  "b" ]'),
      lines('host web = ["a", "b"]'),
    ],
    [
      "a list broken over lines gets one item per line",
      lines('host web = ["a",', '"b", "c"]'),
      lines("host web = [", '  "a",', '  "b",', '  "c"', "]"),
    ],
    [
      "trailing comma and comments in a multi-line list are kept",
      lines('var xs = [ # the list', '"a", # first', "# second:", '"b",', "]"),
      lines("var xs = [ # the list", '  "a", # first', "  # second:", '  "b",', "]"),
    ],
    [
      "nested lists: only the broken ones are spread",
      lines('var xs = [["a", "b"], [', '"c"]]'),
      lines("var xs = [", '  ["a", "b"],', "  [", '    "c"', "  ]", "]"),
    ],
    [
      "a multi-line list inside a step",
      lines('step "a" {', "export db tables [", '"t1", "t2"] to "f.csv"', "}"),
      lines('step "a" {', "  export db tables [", '    "t1",', '    "t2"', '  ] to "f.csv"', "}"),
    ],
    ["empty lists", lines("var a = [ ]", "var b = [", "]"), lines("var a = []", "var b = []")],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });
});

describe("format: where the grammar reads line breaks or keywords as values", () => {
  it.each([
    [
      "a wait's every/timeout on its line stay there",
      lines('step "a" {', 'wait until succeeds "x" every 5s timeout 2m', "}"),
      lines('step "a" {', '  wait until succeeds "x" every 5s timeout 2m', "}"),
    ],
    [
      "timeout on the next line is the step's timeout, and stays a statement",
      lines('step "a" {', 'wait until succeeds "x"', "timeout 2m", "}"),
      lines('step "a" {', '  wait until succeeds "x"', "  timeout 2m", "}"),
    ],
    [
      "a second timeout on the wait's line is a statement",
      lines('step "a" {', 'wait until x timeout 1m timeout 2m', "}"),
      lines('step "a" {', "  wait until x timeout 1m", "  timeout 2m", "}"),
    ],
    [
      "env as a value and as a secret's source",
      lines("default env dev", 'secret s = env "S"', 'step "a" when env == "dev" or not env { note "x" }', "env dev {}"),
      lines("default env dev", "", 'secret s = env "S"', "", 'step "a" when env == "dev" or not env {', '  note "x"', "}", "", "env dev {}"),
    ],
    [
      "run as a value",
      lines('step "a" { require run.id != "" require x == run run "y" }'),
      lines('step "a" {', '  require run.id != ""', "  require x == run", '  run "y"', "}"),
    ],
  ])("%s", (_name, input, expected) => {
    expectLayout(input, expected);
  });

  it("keeps the meaning of the wait cases", () => {
    for (const text of [
      lines('step "a" {', 'wait until succeeds "x"', "timeout 2m", "}"),
      lines('step "a" {', 'wait until succeeds "x" timeout 2m', "}"),
      lines('step "a" {', 'wait until x # c', "timeout 2m", "}"),
      lines('step "a" {', 'wait until output """', "  x", '""" every 1s', "timeout 2m", "}"),
    ]) {
      expectFormatProperties(text);
    }
  });
});

describe("format: diagnostics", () => {
  it("formats input that has only warnings, and returns them", () => {
    const r = format(lines(H, 'param   a = "\\q"'), "w.rb");
    expect(r.output).toBe(lines(H, "", 'param a = "\\q"'));
    expect(r.diagnostics.map((d) => [d.severity, d.code, d.span.file])).toEqual([["warning", "unknown-escape", "w.rb"]]);
  });

  it("formats a file whose only errors need the AST (a second finally): check reports them", () => {
    const text = lines(H, "finally {}", "finally   {}");
    const r = format(text);
    expect(r.diagnostics).toEqual([]);
    expect(r.output).toBe(lines(H, "", "finally {}", "", "finally {}"));
    expectFormatProperties(text);
  });
});

describe("format: broken input is left alone", () => {
  it.each([
    ["an unclosed block", lines(H, 'step "a" {', 'run "x"')],
    ["a lexer error", lines(H, 'step "a" as bad-id {}')],
    ["an unterminated string", lines(H, 'param a = "x')],
    ["a bad interpolation", lines(H, 'param a = "${}"')],
    ["a misplaced statement", lines(H, 'run "x"')],
    ["every on the next line", lines('step "a" {', "wait until x", "every 5s", "}")],
  ])("%s", (_name, input) => {
    const r = format(input, "bad.rb");
    expect(hasErrors(r.diagnostics)).toBe(true);
    expect(r.output).toBe(input);
    expect(r.diagnostics.every((d) => d.span.file === "bad.rb")).toBe(true);
  });
});

// ---------------------------------------------------------------- the running example

describe("format: the running example", () => {
  const dir = join(root, "tests", "fixtures", "fmt");
  const messy = readFileSync(join(dir, "haiti-messy.rb"), "utf8");
  const expected = readFileSync(join(dir, "haiti-messy.expected.rb"), "utf8");

  it("formats the messy copy into the canonical form", () => {
    expect(fmt(messy)).toBe(expected);
    expectFormatProperties(messy);
  });

  it("the canonical form is the example in docs/language.md, but for the alignment of =", () => {
    const doc = readFileSync(join(root, "docs", "language.md"), "utf8");
    const example = /## The running example[\s\S]*?```\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const unpad = (s: string) => s.replace(/^( *)(param|var|secret|host|database) +(\w+) +=/gm, "$1$2 $3 =");
    expect(unpad(expected)).toBe(unpad(example!));
    expect(fmt(example!)).toBe(expected);
  });
});

// ---------------------------------------------------------------- every runbook in the repository

function runbookFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...runbookFiles(p));
    else if (name.endsWith(".rb") || name.endsWith(".runbook")) out.push(p);
  }
  return out;
}

describe("format: every runbook under runbooks/ and tests/fixtures/", () => {
  const files = [...runbookFiles(join(root, "runbooks")), ...runbookFiles(join(root, "tests", "fixtures"))];

  it("finds runbooks to format", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((f) => [relative(root, f), f]))("%s", (_name, path) => {
    const text = readFileSync(path, "utf8");
    const r = format(text, path);
    if (hasErrors(r.diagnostics)) {
      // A fixture that is broken on purpose: never formatted.
      expect(r.output).toBe(text);
      return;
    }
    expectFormatProperties(text, path);
  });
});

// ---------------------------------------------------------------- random runbooks

/** A piece of source: tokens; `glue` tokens must stay on the line of the token before them. */
type Tok = string | { glue: string };
type Piece = Tok[];

const name = fc.constantFrom("home", "app", "web", "db", "portal", "x", "long_name_here");
const str = fc.constantFrom('"a"', '"/home/${home}/x"', '"with # hash"', '"esc \\" \\\\ \\n"', '"${raw app}"', '""', '"${prod.home}"');
const triple = fc.constantFrom('"""\n    line one\n      ${home}\n    """', '"""one line"""', '"""\n\tSELECT 1;\n  """');
const plainStr = str.filter((s) => !s.includes("${"));
const stringLit = fc.oneof({ weight: 4, arbitrary: str }, { weight: 1, arbitrary: triple });
const duration = fc.constantFrom("500ms", "30s", "10m", "2h", "1h30m");
const number = fc.constantFrom("0", "42", "3.5");
const scalar: fc.Arbitrary<Piece> = fc.oneof(
  stringLit.map((s) => [s]),
  number.map((n) => [n]),
  duration.map((d) => [d]),
  fc.constantFrom("true", "false").map((b): Piece => [b]),
);
const list = (item: fc.Arbitrary<Piece>): fc.Arbitrary<Piece> =>
  fc
    .tuple(fc.array(item, { maxLength: 4 }), fc.boolean())
    .map(([items, trailing]) => ["[", ...items.flatMap((it, i) => (i === 0 ? it : [",", ...it])), ...(trailing && items.length > 0 ? [","] : []), "]"]);
const literal: fc.Arbitrary<Piece> = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: list(fc.oneof(scalar, list(scalar))) });

const probe: fc.Arbitrary<Piece> = fc.oneof(
  fc.tuple(fc.constantFrom("succeeds", "output", "exists"), stringLit, fc.option(name, { nil: undefined })).map(([p, s, on]) => [p, s, ...(on ? ["on", on] : [])]),
  fc.tuple(name, stringLit).map(([db, s]) => ["query", db, s]),
);
const value: fc.Arbitrary<Piece> = fc.oneof(
  literal,
  name.map((n) => [n]),
  fc.tuple(name, name).map(([a, b]) => [a, ".", b]),
  fc.constant<Piece>(["env"]),
  fc.constant<Piece>(["run", ".", "id"]),
  probe,
);
const op = fc.constantFrom("==", "!=", "<", "<=", ">", ">=", "contains", "matches", "in");
const cond: fc.Arbitrary<Piece> = fc.letrec<{ cond: Piece }>((tie) => ({
  cond: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    value,
    fc.tuple(value, op, value).map(([a, o, b]) => [...a, o, ...b]),
    tie("cond").map((c) => ["not", ...c]),
    tie("cond").map((c) => ["(", ...c, ")"]),
    fc.tuple(tie("cond"), fc.constantFrom("and", "or"), tie("cond")).map(([a, o, b]) => [...a, o, ...b]),
  ),
})).cond;

const opt = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const simpleStmt: fc.Arbitrary<Piece> = fc.oneof(
  fc.tuple(cond, opt(stringLit)).map(([c, why]) => ["require", ...c, ...(why ? ["else", why] : [])]),
  stringLit.map((s) => ["confirm", s]),
  stringLit.map((s) => ["manual", s]),
  stringLit.map((s) => ["note", s]),
  fc.tuple(stringLit, opt(fc.oneof(name, plainStr))).map(([s, u]) => ["run", s, ...(u ? ["as", u] : [])]),
  fc
    .array(fc.tuple(fc.boolean(), stringLit, stringLit), { maxLength: 3 })
    .chain((rs) => stringLit.map((p) => ["edit", p, "{", ...rs.flatMap(([all, a, b]) => ["replace", ...(all ? ["all"] : []), a, "with", b]), "}"])),
  fc.tuple(fc.constantFrom("upload", "download"), stringLit, stringLit).map(([w, a, b]) => [w, a, "to", b]),
  fc.tuple(name, stringLit).map(([db, s]) => ["sql", db, s]),
  fc
    .tuple(name, opt(list(str.map((s) => [s]))), stringLit, opt(fc.constantFrom("csv", "web2py")))
    .map(([db, t, to, f]) => ["export", db, ...(t ? ["tables", ...t] : []), "to", to, ...(f ? ["format", f] : [])]),
  fc.tuple(name, stringLit).map(([db, s]) => ["import", db, "from", s]),
  fc.tuple(name, name, name, opt(list(str.map((s) => [s])))).map(([db, e, d, t]) => ["sync", db, "from", e, ".", d, ...(t ? ["tables", ...t] : [])]),
  fc
    .tuple(cond, opt(duration), opt(duration))
    .map(([c, every, timeout]): Piece => ["wait", "until", ...c, ...(every ? [{ glue: "every" }, every] : []), ...(timeout ? [{ glue: "timeout" }, timeout] : [])]),
  stringLit.map((s) => ["undo", s]),
  duration.map((d) => ["timeout", d]),
  fc.tuple(fc.constantFrom("1", "3"), opt(duration)).map(([n, d]) => ["retry", n, ...(d ? ["every", d] : [])]),
  fc.constant<Piece>(["allow", "failure"]),
  fc.constantFrom("1", "4").map((n) => ["parallel", n]),
);
const stmt: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 6, arbitrary: simpleStmt },
  { weight: 1, arbitrary: fc.array(simpleStmt, { maxLength: 3 }).map((b) => ["undo", "{", ...b.flat(), "}"]) },
);
const step: fc.Arbitrary<Piece> = fc
  .tuple(stringLit.filter((s) => !s.includes("${")), opt(fc.oneof(name, plainStr)), opt(name), opt(cond), opt(cond), fc.array(stmt, { maxLength: 5 }))
  .map(([title, id, on, when, unless, body]) => [
    "step",
    title,
    ...(id ? ["as", id] : []),
    ...(on ? ["on", on] : []),
    ...(when ? ["when", ...when] : []),
    ...(unless ? ["unless", ...unless] : []),
    "{",
    ...body.flat(),
    "}",
  ]);
const decl: fc.Arbitrary<Piece> = fc.oneof(
  fc.tuple(fc.constantFrom("param", "var"), name, literal).map(([k, n, v]) => [k, n, "=", ...v]),
  fc.tuple(name, fc.constantFrom("env", "file"), str).map(([n, s, r]) => ["secret", n, "=", s, r]),
  fc.tuple(name, fc.oneof(str.map((s) => [s]), list(str.map((s) => [s])))).map(([n, v]) => ["host", n, "=", ...v]),
  fc.tuple(name, str, opt(name)).map(([n, p, on]) => ["database", n, "=", "sqlite", p, ...(on ? ["on", on] : [])]),
  fc.tuple(name, str, opt(name), opt(name)).map(([n, u, pw, via]) => ["database", n, "=", "mysql", u, ...(pw ? ["password", pw] : []), ...(via ? ["via", via] : [])]),
);
const envBlock: fc.Arbitrary<Piece> = fc
  .tuple(name, fc.array(fc.oneof(decl, str.map((s) => ["confirm", s])), { maxLength: 4 }), fc.nat(4), fc.boolean())
  .map(([n, body, at, prot]) => {
    const items = body.slice();
    if (prot) items.splice(Math.min(at, items.length), 0, ["protected"]);
    return ["env", n, "{", ...items.flat(), "}"];
  });
const section: fc.Arbitrary<Piece> = fc.tuple(str, fc.array(step, { maxLength: 3 })).map(([t, steps]) => ["section", t, "{", ...steps.flat(), "}"]);
const topItem: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 3, arbitrary: decl },
  { weight: 1, arbitrary: envBlock },
  { weight: 2, arbitrary: section },
  { weight: 2, arbitrary: step },
);
const runbook: fc.Arbitrary<Piece> = fc
  .tuple(
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.array(topItem, { maxLength: 8 }),
    opt(fc.array(step, { maxLength: 2 })),
  )
  .map(([desc, owner, dflt, items, fin]) => [
    "runbook",
    '"r"',
    "version",
    '"1.0.0"',
    ...(desc ? ["description", '"d"'] : []),
    ...(owner ? ["owner", '"o"'] : []),
    ...(dflt ? ["default", "env", "dev"] : []),
    ...items.flat(),
    ...(fin ? ["finally", "{", ...fin.flat(), "}"] : []),
  ]);

/** Whitespace (with comments and blank lines) that may stand between two tokens. */
const separator = fc.oneof(
  { weight: 20, arbitrary: fc.constant(" ") },
  { weight: 2, arbitrary: fc.constantFrom("  ", "\t", " \t ") },
  { weight: 4, arbitrary: fc.constantFrom("\n", "\n  ", "\r\n", "\n\t\t") },
  { weight: 2, arbitrary: fc.constantFrom("\n\n", "\n  \n\n   ", "\n\n\n") },
  { weight: 1, arbitrary: fc.constantFrom(" # trailing\n", "  #x   \n  ", "\n# own line\n", "\n\n  # spaced  \n\n", "\n#\n#\n") },
);
const sameLineSeparator = fc.constantFrom(" ", "  ", "\t");

/** A runbook's source: the tokens of `runbook` joined by random separators. */
const source: fc.Arbitrary<string> = runbook.chain((toks) =>
  fc
    .tuple(
      fc.array(separator, { minLength: toks.length + 1, maxLength: toks.length + 1 }),
      fc.array(sameLineSeparator, { minLength: toks.length, maxLength: toks.length }),
    )
    .map(([seps, same]) => {
      const out: string[] = [seps[0]!];
      toks.forEach((t, i) => {
        if (typeof t === "string") out.push(t, seps[i + 1]!);
        else {
          // the separator before a glued token must not break the line
          out[out.length - 1] = same[i]!;
          out.push(t.glue, seps[i + 1]!);
        }
      });
      return out.join("");
    }),
);

describe("format: random runbooks", () => {
  it("is idempotent and keeps the AST, the tokens and the comments", () => {
    fc.assert(
      fc.property(source, (text) => {
        expectFormatProperties(text, "t.rb", () => "");
      }),
      { numRuns: 200 },
    );
  }, 180_000);
});
