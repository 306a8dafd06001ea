// The statements table (language/statements.ts) against what reads it: the grammar's
// block alternatives, to-ast's builders, the checker's missing-undo / step options /
// secrets, the parser's "a step holds statements" note and the formatter. A kind left
// out of the table does not compile (the @ts-expect-error below fails tsc if it did).

import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { format } from "../../language/format.js";
import { getGrammar } from "../../language/parser.js";
import { STATEMENT_KINDS, STATEMENTS, type StatementTable, type StmtKind } from "../../language/statements.js";

const { parallel: _parallel, ...withoutParallel } = STATEMENTS;
// @ts-expect-error a table without `parallel` is not a StatementTable
const missingKind: StatementTable = withoutParallel;
void [_parallel, missingKind];

/** One statement of each kind, as written in a step on host `web` with database `db`. */
const SAMPLES: { [K in StmtKind]: string } = {
  require: 'require env == "dev" else "dev only"',
  confirm: 'confirm "go?"',
  manual: 'manual "do it by hand"',
  run: 'run "echo hi"',
  edit: 'edit "/etc/x.conf" {\n    replace "a" with "b"\n  }',
  upload: 'upload "a.txt" to "/tmp/a.txt"',
  download: 'download "/tmp/a.txt" to "a.txt"',
  sql: 'sql db "UPDATE t SET a = 1 WHERE id = 2"',
  export: 'export db to "out.csv"',
  import: 'import db from "in.sql"',
  sync: "sync db from prod.db",
  wait: 'wait until succeeds "true" every 1s timeout 5s',
  note: 'note "hello"',
  undo: 'undo "echo undo"',
  timeout: "timeout 5m",
  retry: "retry 2 every 1s",
  "allow-failure": "allow failure",
  parallel: "parallel 2",
};

const runbookWith = (body: string, protectedProd = true, header = "") =>
  [
    'runbook "t" version "1.0.0"',
    "default env dev",
    "",
    'var x       = "0"',
    'host web    = "u@h.example.org"',
    'database db = sqlite "/tmp/db.sqlite" on web',
    "",
    "env dev {",
    '  var x = "1"',
    "}",
    "",
    `env prod {${protectedProd ? "\n  protected" : '\n  var x = "2"'}`,
    "}",
    "",
    `step "s" on web${header} {`,
    `  ${body}`,
    "}",
    "",
  ].join("\n");

const rules = () => getGrammar() as unknown as { name: string }[];

describe("the statements table", () => {
  it("names a grammar rule for each kind, and the block's alternatives are those rules in the table's order", () => {
    const names = new Set(rules().map((r) => r.name));
    for (const k of STATEMENT_KINDS) expect(names.has(STATEMENTS[k].rule), k).toBe(true);
    const block = JSON.stringify(rules().find((r) => r.name === "block"));
    const referenced = [...block.matchAll(/"type":"NonTerminal","name":"(\w+Stmt)"/g)].map((m) => m[1]);
    expect(referenced).toEqual(STATEMENT_KINDS.map((k) => STATEMENTS[k].rule));
  });

  it.each(STATEMENT_KINDS)("%s: its sample parses to one statement of that kind, formats as itself and begins with its keyword", (kind) => {
    const src = runbookWith(SAMPLES[kind], false, ' when env == "dev"');
    const r = compileSource(src, "t.rb");
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const step = r.runbook!.items.find((i) => i.kind === "step")!;
    expect(step.kind === "step" && step.body.map((s) => s.kind)).toEqual([kind]);
    expect(SAMPLES[kind].startsWith(STATEMENTS[kind].words)).toBe(true);
    expect(format(src, "t.rb").output).toBe(src);
  });

  it.each(STATEMENT_KINDS)("%s: missing-undo in a protected env exactly when the table says it changes state", (kind) => {
    const codes = compileSource(runbookWith(SAMPLES[kind]), "t.rb").diagnostics.map((d) => d.code);
    expect(codes.includes("missing-undo")).toBe(STATEMENTS[kind].changesState);
  });

  it.each(STATEMENT_KINDS)("%s: twice in a step is a duplicate-option error exactly when the table makes it a step option", (kind) => {
    const codes = compileSource(runbookWith(`${SAMPLES[kind]}\n  ${SAMPLES[kind]}`, false), "t.rb").diagnostics.map((d) => d.code);
    expect(codes.includes("duplicate-option")).toBe(STATEMENTS[kind].option !== undefined);
  });

  it("the note of an unknown statement lists the table's words, in order", () => {
    const r = compileSource(runbookWith("frobnicate"), "t.rb");
    const note = r.diagnostics.flatMap((d) => d.notes ?? []).find((n) => n.startsWith("a step holds statements"));
    expect(note).toBe(`a step holds statements: ${STATEMENT_KINDS.map((k) => `\`${STATEMENTS[k].words}\``).join(", ")}`);
  });

  it.each([
    ["run", 'run "echo ${token}"', true],
    ["undo", 'undo "echo ${token}"', true],
    ["sql", 'sql db "UPDATE t SET a = ${token} WHERE id = 1"', true],
    ["edit", 'edit "/etc/x" {\n    replace "a" with "${token}"\n  }', true],
    ["upload (a path)", 'upload "a" to "/tmp/${token}"', false],
  ] as const)("a secret in %s: allowed exactly where the table's secretsIn says", (_, body, allowed) => {
    const src = runbookWith(body, false).replace("host web", 'secret token = env "TOKEN"\nhost web');
    const errors = compileSource(src, "t.rb").diagnostics.filter((d) => d.severity === "error");
    expect(errors.length === 0).toBe(allowed);
  });
});
