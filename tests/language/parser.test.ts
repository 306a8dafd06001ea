// The parser and CST → AST (language/parser.ts, language/to-ast.ts): every construct of
// the grammar parses to the expected AST shape, spans point at the right text, and the
// LANGUAGE.md running example parses to the expected structure.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kebabId, type FileAst, type Section, type Step } from "../../language/ast.js";
import { getGrammar, parseSource, RunbookParser } from "../../language/parser.js";
import { lex } from "../../language/tokens.js";
import type { CstNode, IToken } from "chevrotain";
import { streamingToAst, toAst } from "../../language/to-ast.js";
import { brokenGoldenFiles, FIXTURES, fixtureFiles, I, N, noSpans, readBothWays, S, SP } from "./parse-helpers.js";

const HEAD = 'runbook "t" version "1.0.0"\n';

function fileAst(text: string, file = "t.rb"): FileAst {
  const p = parseSource(file, text);
  expect(p.diagnostics).toEqual([]);
  const r = toAst(p.cst, file, { text });
  expect(r.diagnostics).toEqual([]);
  return r.ast;
}
const stepOf = (ast: FileAst, i = 0) => ast.items[i] as Step;
const stmt = (src: string) => stepOf(fileAst(`${HEAD}step "s" {\n  ${src}\n}\n`)).body[0];
const cond = (src: string) => stepOf(fileAst(`${HEAD}step "s" when ${src} {\n  note "x"\n}\n`)).when;
const decl = (src: string) => fileAst(HEAD + src).decls[0];
const text = (src: string, span: { offset: number; length: number }) => src.slice(span.offset, span.offset + span.length);

const str = (value: string) => ({ kind: "value", value: S(value) });
const name = (...path: string[]) => ({ kind: "name", path: path.map(N) });
const env = { kind: "env" };
const dur = (text: string, ms: number) => ({ kind: "duration", text, ms });
const num = (value: number, text = String(value)) => ({ kind: "number", value, text });

describe("parser: grammar validation", () => {
  it("has no ambiguities or other grammar definition errors", () => {
    expect(() => new RunbookParser({ validate: true })).not.toThrow();
  });

  it("records the grammar Chevrotain's way and its own way alike", () => {
    const usual = new RunbookParser({ recovery: false, recording: "chevrotain" });
    const ours = new RunbookParser({ recovery: false });
    expect(ours.getSerializedGastProductions()).toEqual(usual.getSerializedGastProductions());
    expect(JSON.stringify(ours.getSerializedGastProductions()).length).toBeGreaterThan(10_000);
    // Neither keeps a recording method of its own, and ours parses.
    for (const p of [usual, ours]) expect(Object.keys(p).filter((k) => /^(CONSUME|SUBRULE|OR|OPTION|MANY)\d*$/.test(k))).toEqual([]);
    ours.input = lex(`${HEAD}step "s" {\n  run "x"\n}\n`).tokens;
    expect(ours.file()).toBeDefined();
    expect(ours.errors).toEqual([]);
  });
});

describe("parser: header", () => {
  it("reads name, version, description and owner", () => {
    const ast = fileAst('runbook "haiti-release" version "3.2.0"\ndescription "D"\nowner "ops"\n');
    expect(noSpans(ast.header)).toEqual({ name: S("haiti-release"), version: S("3.2.0"), description: S("D"), owner: S("ops") });
  });
  it("accepts a bare name", () => {
    expect(noSpans(fileAst('runbook release version "1.0.0"\n').header?.name)).toEqual(S("release"));
  });
  it("keeps the version text for the checker", () => {
    expect(noSpans(fileAst('runbook "x" version "not-semver"\n').header?.version)).toEqual(S("not-semver"));
  });
  it("reads `default env`", () => {
    expect(noSpans(fileAst(`${HEAD}default env dev\n`).defaultEnv)).toEqual(N("dev"));
  });
  it("reads includes", () => {
    expect(noSpans(fileAst(`${HEAD}include "lib/a.rb"\n`).includes)).toEqual([{ kind: "include", path: S("lib/a.rb") }]);
  });
  it("an empty file has no header and nothing else", () => {
    expect(noSpans(fileAst(""))).toEqual({ kind: "file", includes: [], decls: [], envs: [], items: [] });
  });
});

describe("parser: declarations", () => {
  it.each([
    ['param revision = "r547"', { kind: "param", name: N("revision"), value: S("r547") }],
    ["param count = 3", { kind: "param", name: N("count"), value: num(3) }],
    ["param ratio = 2.5", { kind: "param", name: N("ratio"), value: num(2.5) }],
    ["param ratio = 1.0", { kind: "param", name: N("ratio"), value: num(1, "1.0") }],
    ["param code = 007", { kind: "param", name: N("code"), value: num(7, "007") }],
    ["param grace = 30s", { kind: "param", name: N("grace"), value: dur("30s", 30_000) }],
    ["param dry = true", { kind: "param", name: N("dry"), value: { kind: "bool", value: true } }],
    ["param dry = false", { kind: "param", name: N("dry"), value: { kind: "bool", value: false } }],
    ['var home = "/home/haiti"', { kind: "var", name: N("home"), value: S("/home/haiti") }],
    ['var web2py = "${home}/web2py"', { kind: "var", name: N("web2py"), value: SP(I("home"), "/web2py") }],
    ['var l = ["a", "b",]', { kind: "var", name: N("l"), value: { kind: "list", items: [S("a"), S("b")] } }],
    ["var l = []", { kind: "var", name: N("l"), value: { kind: "list", items: [] } }],
    ['var l = [1, [2, "x"]]', { kind: "var", name: N("l"), value: { kind: "list", items: [num(1), { kind: "list", items: [num(2), S("x")] }] } }],
    ['secret pw = env "HAITI_DB_PASSWORD"', { kind: "secret", name: N("pw"), source: "env", ref: S("HAITI_DB_PASSWORD") }],
    ['secret pw = file "~/.haiti/pw"', { kind: "secret", name: N("pw"), source: "file", ref: S("~/.haiti/pw") }],
    ['host portal = "haiti@haiti.sahanapy.org"', { kind: "host", name: N("portal"), value: S("haiti@haiti.sahanapy.org") }],
    [
      'host workers = ["app@w1", "app@w2"]',
      { kind: "host", name: N("workers"), value: { kind: "list", items: [S("app@w1"), S("app@w2")] } },
    ],
    [
      'database appdb = sqlite "${home}/storage.sqlite"',
      { kind: "database", name: N("appdb"), value: { engine: "sqlite", path: SP(I("home"), "/storage.sqlite") } },
    ],
    [
      'database appdb = sqlite "db.sqlite" on portal',
      { kind: "database", name: N("appdb"), value: { engine: "sqlite", path: S("db.sqlite"), on: N("portal") } },
    ],
    [
      'database appdb = mysql "mysql://u@127.0.0.1/db"',
      { kind: "database", name: N("appdb"), value: { engine: "mysql", url: S("mysql://u@127.0.0.1/db") } },
    ],
    [
      'database appdb = mysql "mysql://u@h/db" password pw via portal',
      { kind: "database", name: N("appdb"), value: { engine: "mysql", url: S("mysql://u@h/db"), password: N("pw"), via: N("portal") } },
    ],
    [
      'database appdb = mysql "mysql://u@h/db" via portal',
      { kind: "database", name: N("appdb"), value: { engine: "mysql", url: S("mysql://u@h/db"), via: N("portal") } },
    ],
  ])("%s", (src, expected) => {
    expect(noSpans(decl(src))).toEqual(expected);
  });

  it("keeps declarations in source order", () => {
    const ast = fileAst(`${HEAD}var b = "1"\nparam a = "2"\nhost h = "x@y"\nvar c = "3"\n`);
    expect(ast.decls.map((d) => d.name.name)).toEqual(["b", "a", "h", "c"]);
  });
});

describe("parser: env blocks", () => {
  it("reads protected, confirm and overrides in order", () => {
    const ast = fileAst(
      `${HEAD}env prod {\n  protected\n  confirm "Signed off?"\n  var home = "/p"\n  host portal = "a@b"\n  database db = sqlite "x"\n}\nenv dev {\n}\n`,
    );
    expect(noSpans(ast.envs)).toEqual([
      {
        kind: "env",
        name: N("prod"),
        protected: true,
        confirms: [{ kind: "confirm", question: S("Signed off?") }],
        overrides: [
          { kind: "var", name: N("home"), value: S("/p") },
          { kind: "host", name: N("portal"), value: S("a@b") },
          { kind: "database", name: N("db"), value: { engine: "sqlite", path: S("x") } },
        ],
      },
      { kind: "env", name: N("dev"), confirms: [], overrides: [] },
    ]);
    expect(text(`${HEAD}env prod {\n  protected`, ast.envs[0]!.protected!)).toBe("protected");
  });
});

describe("parser: step statements", () => {
  it.each([
    ["require exists \"/f\"", { kind: "require", cond: { kind: "value", value: { kind: "exists", path: S("/f") } } }],
    ['require x else "why"', { kind: "require", cond: { kind: "value", value: name("x") }, else: S("why") }],
    ['confirm "Sure?"', { kind: "confirm", question: S("Sure?") }],
    ['manual "Do it"', { kind: "manual", text: S("Do it") }],
    ['run "ls -l"', { kind: "run", command: S("ls -l") }],
    ['run "ls" as root', { kind: "run", command: S("ls"), as: N("root") }],
    ['run "ls" as "www-data"', { kind: "run", command: S("ls"), as: N("www-data") }],
    [
      'edit "/etc/x" {\n    replace "a" with "b"\n    replace all "c" with "d"\n  }',
      {
        kind: "edit",
        path: S("/etc/x"),
        replaces: [
          { all: false, old: S("a"), new: S("b") },
          { all: true, old: S("c"), new: S("d") },
        ],
      },
    ],
    ['edit "/etc/x" { }', { kind: "edit", path: S("/etc/x"), replaces: [] }],
    ['upload "a" to "b"', { kind: "upload", from: S("a"), to: S("b") }],
    ['download "a" to "b"', { kind: "download", from: S("a"), to: S("b") }],
    ['sql appdb "delete from t"', { kind: "sql", db: N("appdb"), text: S("delete from t") }],
    ['export appdb to "b.csv"', { kind: "export", db: N("appdb"), to: S("b.csv") }],
    [
      'export appdb tables ["a", "b"] to "b.csv" format web2py',
      { kind: "export", db: N("appdb"), tables: { kind: "list", items: [S("a"), S("b")] }, to: S("b.csv"), format: N("web2py") },
    ],
    ['export appdb to "b.csv" format csv', { kind: "export", db: N("appdb"), to: S("b.csv"), format: N("csv") }],
    ['import appdb from "b.csv"', { kind: "import", db: N("appdb"), from: S("b.csv") }],
    ["sync appdb from prod.appdb", { kind: "sync", db: N("appdb"), fromEnv: N("prod"), fromDb: N("appdb") }],
    [
      'sync appdb from prod.other tables ["t"]',
      { kind: "sync", db: N("appdb"), fromEnv: N("prod"), fromDb: N("other"), tables: { kind: "list", items: [S("t")] } },
    ],
    ["wait until ready", { kind: "wait", cond: { kind: "value", value: name("ready") } }],
    [
      'wait until succeeds "curl x" every 5s timeout 2m',
      { kind: "wait", cond: { kind: "value", value: { kind: "succeeds", command: S("curl x") } }, every: dur("5s", 5000), timeout: dur("2m", 120_000) },
    ],
    ["wait until ready timeout 1m", { kind: "wait", cond: { kind: "value", value: name("ready") }, timeout: dur("1m", 60_000) }],
    [
      "wait until ready timeout 2m every 5s",
      { kind: "wait", cond: { kind: "value", value: name("ready") }, every: dur("5s", 5000), timeout: dur("2m", 120_000) },
    ],
    ['note "hello ${env}"', { kind: "note", text: SP("hello ", I("env")) }],
    ['undo "rm x"', { kind: "undo", command: S("rm x") }],
    [
      'undo {\n    run "a"\n    note "b"\n  }',
      { kind: "undo", body: [{ kind: "run", command: S("a") }, { kind: "note", text: S("b") }] },
    ],
    ["timeout 30m", { kind: "timeout", duration: dur("30m", 1_800_000) }],
    ["timeout 500ms", { kind: "timeout", duration: dur("500ms", 500) }],
    ["timeout 1h30m", { kind: "timeout", duration: dur("1h30m", 5_400_000) }],
    ["retry 3", { kind: "retry", count: num(3) }],
    ["retry 3 every 10s", { kind: "retry", count: num(3), every: dur("10s", 10_000) }],
    ["allow failure", { kind: "allow-failure" }],
    ["parallel 4", { kind: "parallel", count: num(4) }],
  ])("%s", (src, expected) => {
    expect(noSpans(stmt(src))).toEqual(expected);
  });

  it("a `timeout` on the next line after `wait` is the step's own", () => {
    const body = stepOf(fileAst(`${HEAD}step "s" {\n  wait until ready\n  timeout 5m\n}\n`)).body;
    expect(noSpans(body)).toEqual([
      { kind: "wait", cond: { kind: "value", value: name("ready") } },
      { kind: "timeout", duration: dur("5m", 300_000) },
    ]);
  });

  it("keeps statements in source order", () => {
    const body = stepOf(fileAst(`${HEAD}step "s" {\n  run "a"\n  note "b"\n  run "c"\n  confirm "d"\n  run "e"\n}\n`)).body;
    expect(body.map((s) => s.kind)).toEqual(["run", "note", "run", "confirm", "run"]);
  });

  it("statements need no newlines between them", () => {
    const body = stepOf(fileAst(`${HEAD}step "s" { run "a" note "b" timeout 5m }`)).body;
    expect(body.map((s) => s.kind)).toEqual(["run", "note", "timeout"]);
  });
});

describe("parser: step headers, sections, finally", () => {
  it.each([
    ['step "Disable system crontab" { }', { id: "disable-system-crontab" }],
    ['step "Maintenance mode on" as maint_on { }', { id: "maint_on" }],
    ['step "X" as "x-1" { }', { id: "x-1" }],
    ['step "Déployer l\'app!" { }', { id: "deployer-l-app" }],
    ['step "Deploy ${app} now" { }', { id: "deploy-app-now" }],
    ['step "S" on portal { }', { on: N("portal") }],
    ['step "S" when env == "uat" { }', { when: { kind: "compare", op: "==", left: env, right: S("uat") } }],
    ['step "S" unless exists "/x" { }', { unless: { kind: "value", value: { kind: "exists", path: S("/x") } } }],
    [
      'step "S" as s on h when a unless b { }',
      { id: "s", on: N("h"), when: { kind: "value", value: name("a") }, unless: { kind: "value", value: name("b") } },
    ],
    [
      'step "S" when exists "/x" on portal { }',
      { when: { kind: "value", value: { kind: "exists", path: S("/x"), on: N("portal") } } },
    ],
  ])("%s", (src, expected) => {
    expect(noSpans(stepOf(fileAst(HEAD + src)))).toMatchObject(expected);
  });

  it("reads sections, top-level steps and finally in order", () => {
    const ast = fileAst(
      `${HEAD}step "First" { }\nsection "Backup" {\n  step "A" { }\n  step "B" { }\n}\nstep "Last" { }\nfinally {\n  step "Off" { }\n}\n`,
    );
    expect(ast.items.map((i) => (i.kind === "section" ? `section:${i.steps.map((s) => s.id)}` : i.id))).toEqual([
      "first",
      "section:a,b",
      "last",
    ]);
    expect(ast.finally?.steps.map((s) => s.id)).toEqual(["off"]);
    expect(noSpans((ast.items[1] as Section).title)).toEqual(S("Backup"));
  });
});

describe("parser: default step ids", () => {
  // kebabId skips Unicode normalization for ASCII titles; the result must not change.
  const slowKebab = (t: string) =>
    t.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "step";

  it("the ASCII fast path gives the same id as the normalizing one", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "grapheme" })), (t) => {
        expect(kebabId(t)).toBe(slowKebab(t));
      }),
    );
  });

  it.each([
    ["", "step"],
    ["---", "step"],
    ["Déjà vu", "deja-vu"],
    ["A  B", "a-b"],
    ["x_y", "x-y"],
    ["Step 1: go!", "step-1-go"],
    ["ÄÖÜ", "aou"],
  ])("%j → %j", (title, id) => {
    expect(kebabId(title)).toBe(id);
  });
});

describe("parser: conditions", () => {
  it.each([
    ["x", { kind: "value", value: name("x") }],
    ["prod.home", { kind: "value", value: name("prod", "home") }],
    ["run.id", { kind: "value", value: name("run", "id") }],
    ["env", { kind: "value", value: env }],
    ["true", { kind: "value", value: { kind: "bool", value: true } }],
    ['a == "x"', { kind: "compare", op: "==", left: name("a"), right: S("x") }],
    ["a != 1", { kind: "compare", op: "!=", left: name("a"), right: num(1) }],
    ["a < 1", { kind: "compare", op: "<", left: name("a"), right: num(1) }],
    ["a <= 1", { kind: "compare", op: "<=", left: name("a"), right: num(1) }],
    ["a > 1", { kind: "compare", op: ">", left: name("a"), right: num(1) }],
    ["a >= 1", { kind: "compare", op: ">=", left: name("a"), right: num(1) }],
    ['a contains "x"', { kind: "compare", op: "contains", left: name("a"), right: S("x") }],
    ['a matches "^r[0-9]+$"', { kind: "compare", op: "matches", left: name("a"), right: S("^r[0-9]+$") }],
    [
      'env in ["dev", "uat"]',
      { kind: "compare", op: "in", left: env, right: { kind: "list", items: [S("dev"), S("uat")] } },
    ],
    ['succeeds "test -f x"', { kind: "value", value: { kind: "succeeds", command: S("test -f x") } }],
    ['succeeds "x" on other', { kind: "value", value: { kind: "succeeds", command: S("x"), on: N("other") } }],
    ['output "uname" == "Linux"', { kind: "compare", op: "==", left: { kind: "output", command: S("uname") }, right: S("Linux") }],
    ['output "uname" on h', { kind: "value", value: { kind: "output", command: S("uname"), on: N("h") } }],
    ['exists "/x"', { kind: "value", value: { kind: "exists", path: S("/x") } }],
    [
      'query appdb "select count(*) from t" > 0',
      { kind: "compare", op: ">", left: { kind: "query", db: N("appdb"), sql: S("select count(*) from t") }, right: num(0) },
    ],
    ["not a", { kind: "not", operand: { kind: "value", value: name("a") } }],
    ["not not a", { kind: "not", operand: { kind: "not", operand: { kind: "value", value: name("a") } } }],
    ['not a == "x"', { kind: "not", operand: { kind: "compare", op: "==", left: name("a"), right: S("x") } }],
    ["(a)", { kind: "group", inner: { kind: "value", value: name("a") } }],
    ["a and b", { kind: "and", left: { kind: "value", value: name("a") }, right: { kind: "value", value: name("b") } }],
    ["a or b", { kind: "or", left: { kind: "value", value: name("a") }, right: { kind: "value", value: name("b") } }],
    [
      "a or b and c",
      {
        kind: "or",
        left: { kind: "value", value: name("a") },
        right: { kind: "and", left: { kind: "value", value: name("b") }, right: { kind: "value", value: name("c") } },
      },
    ],
    [
      "a and b or c",
      {
        kind: "or",
        left: { kind: "and", left: { kind: "value", value: name("a") }, right: { kind: "value", value: name("b") } },
        right: { kind: "value", value: name("c") },
      },
    ],
    [
      "a and b and c",
      {
        kind: "and",
        left: { kind: "and", left: { kind: "value", value: name("a") }, right: { kind: "value", value: name("b") } },
        right: { kind: "value", value: name("c") },
      },
    ],
    [
      "not a and b",
      { kind: "and", left: { kind: "not", operand: { kind: "value", value: name("a") } }, right: { kind: "value", value: name("b") } },
    ],
    [
      "(a or b) and c",
      {
        kind: "and",
        left: { kind: "group", inner: { kind: "or", left: { kind: "value", value: name("a") }, right: { kind: "value", value: name("b") } } },
        right: { kind: "value", value: name("c") },
      },
    ],
  ])("%s", (src, expected) => {
    expect(noSpans(cond(src))).toEqual(expected);
  });
  it("a bare string is a value condition", () => {
    expect(noSpans(cond('"x"'))).toEqual(str("x"));
  });
});

describe("parser: spans", () => {
  const src = `${HEAD}section "Backup" {\n  step "Disable crontab" as dc on portal when env == "uat" {\n    run "crontab -r" as root\n    undo "crontab x"\n  }\n}\n`;
  const ast = fileAst(src);
  const section = ast.items[0] as Section;
  const step = section.steps[0]!;

  it("nodes span their whole source text", () => {
    expect(text(src, section.span)).toMatch(/^section "Backup" \{[\s\S]*\}$/);
    expect(text(src, step.span)).toMatch(/^step "Disable crontab"[\s\S]*undo "crontab x"\n {2}\}$/);
    expect(text(src, step.body[0]!.span)).toBe('run "crontab -r" as root');
    expect(text(src, step.when!.span)).toBe('env == "uat"');
  });
  it("identifiers span their token", () => {
    expect(text(src, step.on!.span)).toBe("portal");
    expect(text(src, step.idSpan)).toBe("dc");
    const run = step.body[0]!;
    expect(run.kind === "run" && text(src, run.as!.span)).toBe("root");
  });
  it("has 1-based lines and columns", () => {
    expect(step.on!.span).toMatchObject({ line: 3, column: 35 });
    expect(step.when!.kind === "compare" && text(src, step.when!.opSpan)).toBe("==");
  });
  it("string parts point at their text and their `${…}`", () => {
    const s2 = `${HEAD}var x = "a \${hme} b"\n`;
    const d = fileAst(s2).decls[0]!;
    if (d.kind !== "var" || d.value.kind !== "string") throw new Error("shape");
    expect(d.value.parts.map((p) => text(s2, p.span))).toEqual(["a ", "${hme}", " b"]);
    expect(text(s2, d.value.span)).toBe('"a ${hme} b"');
  });
});

describe("parser: the LANGUAGE.md running example", () => {
  const src = readFileSync(join(FIXTURES, "haiti-example.rb"), "utf8");
  const ast = fileAst(src, "haiti-example.rb");

  it("has the header", () => {
    expect(noSpans(ast.header)).toEqual({
      name: S("haiti-release"),
      version: S("1.0.0"),
      description: S("Haiti portal: pull the Haiti branch onto an instance, migrate its data"),
      owner: S("release-group"),
    });
    expect(ast.defaultEnv?.name).toBe("dev");
  });
  it("has the declarations", () => {
    expect(ast.decls.map((d) => `${d.kind} ${d.name.name}`)).toEqual([
      "param branch",
      "var home",
      "var app",
      "var web2py",
      "host portal",
      "secret test_db_password",
      "secret dev_db_password",
      "database appdb",
    ]);
    expect(noSpans(ast.decls[7])).toEqual({
      kind: "database",
      name: N("appdb"),
      value: { engine: "sqlite", path: SP(I("web2py"), "/applications/", I("app"), "/databases/storage.sqlite"), on: N("portal") },
    });
  });
  it("has the envs", () => {
    expect(ast.envs.map((e) => [e.name.name, !!e.protected, e.confirms.length, e.overrides.map((o) => o.name.name)])).toEqual([
      ["dev", false, 0, ["home", "app", "portal", "appdb"]],
      ["uat", false, 0, ["home", "app", "portal", "appdb"]],
      ["prod", true, 1, []],
    ]);
  });
  it("has the sections and steps", () => {
    expect(
      ast.items.map((s) => (s.kind === "section" ? [s.title.parts[0]?.kind === "text" && s.title.parts[0].value, s.steps.map((st) => st.id)] : s.id)),
    ).toEqual([
      ["Prepare", ["inform-testers", "sync-data-from-prod", "review-the-data-migration-plan"]],
      ["Backup", ["disable-system-crontab", "maintenance-mode-on", "export-database"]],
      ["Deploy and migrate", ["pull-the-haiti-branch", "migrate-the-database", "freeze-the-schema-again"]],
    ]);
    expect(ast.finally?.steps.map((s) => s.id)).toEqual(["maintenance-mode-off", "re-enable-system-crontab"]);
  });
  it("has the statements of each step", () => {
    const kinds = ast.items.flatMap((s) => (s.kind === "section" ? s.steps : [s])).map((s) => s.body.map((b) => b.kind).join(","));
    expect(kinds).toEqual(["manual", "sync", "confirm", "run,undo", "require,run,undo", "export", "run", "edit,run,timeout", "edit"]);
    const migrate = (ast.items[2] as Section).steps[1]!;
    expect(noSpans(migrate.body[0])).toEqual({
      kind: "edit",
      path: SP(I("web2py"), "/applications/", I("app"), "/models/00_db.py"),
      replaces: [{ all: false, old: S("migrate = False"), new: S("migrate = True") }],
    });
    expect(noSpans(migrate.body[2])).toEqual({ kind: "timeout", duration: dur("30m", 1_800_000) });
    const exp = (ast.items[1] as Section).steps[2]!.body[0];
    expect(noSpans(exp)).toEqual({
      kind: "export",
      db: N("appdb"),
      to: SP("backups/", I("env"), "-", I("run.id"), ".csv"),
      format: N("web2py"),
    });
  });
});

describe("to-ast while parsing (streamingToAst, what compile uses)", () => {
  const broken = brokenGoldenFiles();

  it.each([...fixtureFiles(), ...broken])("gives the AST and diagnostics of toAst on the whole CST: %s", (file, text) => {
    const whole = parseSource(file, text);
    const expected = toAst(whole.cst, file, { text });
    const builder = streamingToAst(file, text);
    const streamed = parseSource(file, text, { onItem: builder.onItem });
    expect(streamed.diagnostics).toEqual(whole.diagnostics);
    expect(JSON.parse(JSON.stringify(builder.finish(streamed.cst)))).toEqual(JSON.parse(JSON.stringify(expected)));
  });
});

describe("a large file read in pieces (parseInPieces, what compile does past 32 KB)", () => {
  const broken = brokenGoldenFiles();

  // A piece ends at the first line-initial `}` past `pieceSize` characters: with 1, at every one.
  it.each([...fixtureFiles(), ...broken])("gives what the whole file gives, cut at every line-initial `}`: %s", (file, text) => {
    const { whole, pieces, inPieces } = readBothWays(file, text, 1);
    expect(pieces).toEqual(whole);
    // Read whole only when it is one piece or has a syntax error.
    const cut = text.indexOf("\n}", 1);
    expect(inPieces).toBe(cut >= 0 && cut + 2 < text.length && whole.diagnostics.length === 0);
  });

  const big = (steps: number, extra = "") => {
    const out = [HEAD, 'host web = "app@127.0.0.1"', "env prod {", "  protected", "}", extra];
    for (let i = 0; i < steps; i++) {
      if (i % 10 === 0) out.push(`# a comment with a brace } and a quote " in it, ${i}`, `section "Part ${i}" {`);
      out.push(`  step "Step ${i}" on web when env != "prod" {`, `    run "echo \\"${i}\\" > /tmp/\${env}-${i}"`, "    timeout 10m", "  }");
      if (i % 10 === 9) out.push("}");
    }
    out.push('step "Last" {', '  note """', "    a note with a line", "}", '    that starts with a brace', '  """', "}", "");
    return out.join("\n");
  };

  it("reads a large valid file in pieces and builds the same AST", () => {
    const text = big(400);
    expect(text.length).toBeGreaterThan(4 * 8192);
    const r = readBothWays("big.rb", text, 8192);
    expect(r.inPieces).toBe(true);
    expect(r.pieces.diagnostics).toEqual([]);
    expect(r.pieces).toEqual(r.whole);
  });

  it("reads a file whole when a piece would end inside a `\"\"\"` string", () => {
    const text = big(40);
    const r = readBothWays("big.rb", text, text.indexOf("a note with a line"));
    expect(r.inPieces).toBe(false);
    expect(r.pieces.diagnostics).toEqual([]);
    expect(r.pieces).toEqual(r.whole);
  });

  it.each([
    ["a syntax error in the last piece", (t: string) => t.replace('step "Step 390"', 'step Step 390')],
    ["an unterminated string in the middle", (t: string) => t.replace('"Step 200"', '"Step 200')],
    ["a character the lexer does not know", (t: string) => t.replace('"Step 300" on', '"Step 300" @ on')],
    ["a `}` too many at the top level", (t: string) => t.replace('section "Part 100" {', 'section "Part 100" {\n}\n}')],
  ])("with %s, reports exactly what the whole file reports", (_, spoil) => {
    const text = spoil(big(400));
    const r = readBothWays("big.rb", text, 8192);
    expect(r.inPieces).toBe(false);
    expect(r.whole.diagnostics.length).toBeGreaterThan(0);
    expect(r.pieces).toEqual(r.whole);
  });
});

describe("the first-set lookahead (lookahead.ts) decides as Chevrotain's LL(k) strategy", () => {
  const ours = new RunbookParser({ recovery: false });
  const theirs = new RunbookParser({ recovery: false, lookahead: "chevrotain" });
  const shape = (n: CstNode | IToken): unknown =>
    "image" in n ? `${n.tokenType.name}@${n.startOffset}` : { name: n.name, children: Object.fromEntries(Object.entries(n.children).map(([k, v]) => [k, v.map(shape)])) };
  const parseWith = (p: RunbookParser, tokens: IToken[]) => {
    p.input = tokens;
    const cst = p.file();
    return { cst: cst && shape(cst), errors: p.errors.map((e) => `${e.name}@${e.token.startOffset}`) };
  };
  const files = fixtureFiles();

  it.each(files)("same tree: %s", (_file, text) => {
    const tokens = lex(text).tokens;
    const a = parseWith(ours, tokens);
    expect(a.errors).toEqual([]);
    expect(a).toEqual(parseWith(theirs, tokens));
  });

  it("same trees and errors when tokens are deleted, repeated or moved", () => {
    const op = fc.record({ kind: fc.constantFrom("delete", "repeat", "move"), at: fc.nat(), to: fc.nat() });
    fc.assert(
      fc.property(fc.nat(files.length - 1), fc.array(op, { minLength: 1, maxLength: 4 }), (f, ops) => {
        const tokens = [...lex(files[f]![1]).tokens];
        for (const { kind, at, to } of ops) {
          const i = at % tokens.length;
          const [tok] = kind === "repeat" ? [tokens[i]!] : tokens.splice(i, 1);
          if (kind !== "delete") tokens.splice(to % (tokens.length + 1), 0, tok!);
        }
        expect(parseWith(ours, tokens)).toEqual(parseWith(theirs, tokens));
      }),
      { numRuns: 300 },
    );
  });
});

describe("the CST's children are plain objects (parser.ts)", () => {
  it("so no key a child can have (rule name, label, token name) is an Object.prototype member", () => {
    const keys = new Set<string>();
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) return x.forEach(walk);
      if (!x || typeof x !== "object") return;
      const p = x as { type?: string; name?: string; label?: string; terminalLabel?: string; definition?: unknown };
      if (p.type === "Rule" && p.name) keys.add(p.name);
      if (p.type === "NonTerminal") keys.add(p.label ?? p.name!);
      if (p.type === "Terminal") keys.add(p.terminalLabel ?? p.name!);
      walk(p.definition);
    };
    walk(getGrammar());
    expect(keys.size).toBeGreaterThan(50);
    expect([...keys].filter((k) => k in Object.prototype)).toEqual([]);
  });
});
