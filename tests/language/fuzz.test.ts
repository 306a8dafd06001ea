// Property test: random mutations of the fixture runbooks (characters and whole tokens
// deleted, inserted, swapped or duplicated) never make `compile` throw or report an
// internal error, and every diagnostic's span lies inside its file's text, with the
// line and column that its offset has; and a mutated runbook read in pieces (as compile
// reads a large file) gives what it gives read whole.

import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../language/compile.js";
import type { Diagnostic } from "../../language/diagnostics.js";
import { lexAll } from "../../language/tokens.js";
import { fixtureFiles, readBothWays, ROOT } from "./parse-helpers.js";

const FRAGMENTS = [
  '"', '"""', "{", "}", "(", ")", "[", "]", ",", ".", "=", "==", "!=", "<", "$", "${", "${a", "${}", "\\", "\n", "\r\n", "\r", " ",
  "\t", "#", "@", "'", "é", "😀", "step", "run", "section", "env", "when", "unless", "not", "and", "or", "timeout", "10m", "10min",
  "42", "3.5", "x", "as", "on", "finally", "undo", "include \"x.rb\"", "include \"lib/maintenance.rb\"", "runbook", "version",
  'step "s" { }', "replace all", "tables [", "\u0000",
];

type Mutation =
  | { kind: "delete"; at: number; len: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "swap"; a: number; b: number }
  | { kind: "token"; at: number; op: "delete" | "duplicate" | "move"; to: number }
  | { kind: "truncate"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4 })) }),
  fc.record({ kind: fc.constant("swap" as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant("token" as const), at: fc.nat(), op: fc.constantFrom("delete" as const, "duplicate" as const, "move" as const), to: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

function apply(text: string, m: Mutation): string {
  const n = text.length;
  if (m.kind === "delete") {
    const at = m.at % (n + 1);
    return text.slice(0, at) + text.slice(at + m.len);
  }
  if (m.kind === "insert") {
    const at = m.at % (n + 1);
    return text.slice(0, at) + m.text + text.slice(at);
  }
  if (m.kind === "truncate") return text.slice(0, m.at % (n + 1));
  if (m.kind === "swap") {
    if (n < 2) return text;
    const [a, b] = [m.a % n, m.b % n].sort((x, y) => x - y) as [number, number];
    if (a === b) return text;
    return text.slice(0, a) + text[b] + text.slice(a + 1, b) + text[a] + text.slice(b + 1);
  }
  const tokens = lexAll(text).tokens;
  if (tokens.length === 0) return text;
  const t = tokens[m.at % tokens.length]!;
  const start = t.startOffset;
  const end = start + t.image.length;
  if (m.op === "delete") return text.slice(0, start) + text.slice(end);
  if (m.op === "duplicate") return text.slice(0, end) + " " + t.image + text.slice(end);
  const without = text.slice(0, start) + text.slice(end);
  const to = m.to % (without.length + 1);
  return without.slice(0, to) + " " + t.image + " " + without.slice(to);
}

/** Line and column of an offset, counting \n, \r\n and a lone \r as line breaks (as the lexer does). */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function checkSpans(diagnostics: Diagnostic[], sources: Map<string, string>) {
  for (const d of diagnostics) {
    expect(d.code, d.message).not.toBe("internal");
    const text = sources.get(d.span.file);
    expect(text, `file of ${JSON.stringify(d)}`).toBeDefined();
    const { offset, length } = d.span;
    expect(Number.isInteger(offset) && Number.isInteger(length), JSON.stringify(d)).toBe(true);
    expect(offset >= 0 && length >= 0 && offset + length <= text!.length, JSON.stringify(d)).toBe(true);
    expect({ line: d.span.line, column: d.span.column }, JSON.stringify(d)).toEqual(position(text!, offset));
  }
}

const fixtures = fixtureFiles();
const fixtureText = new Map(fixtures);
const readFile = (p: string) => {
  const t = fixtureText.get(p) ?? fixtureText.get(join("tests", "fixtures", p));
  if (t !== undefined) return t;
  return readFileSync(join(ROOT, p), "utf8");
};

describe("fuzz: mutated runbooks", () => {
  it.each(fixtures)("compile never throws and spans stay inside the text: %s", (file, text) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const mutated = ms.reduce(apply, text);
        const r = compile(file, mutated, { readFile });
        expect(r.sources.get(file)).toBe(mutated);
        checkSpans(r.diagnostics, r.sources);
        if (r.runbook) expect(r.diagnostics.every((d) => d.severity === "warning")).toBe(true);
      }),
      { numRuns: 120 },
    );
  }, 180_000);

  it.each(fixtures)("read in pieces, a mutated runbook gives what it gives read whole: %s", (file, text) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const { whole, pieces } = readBothWays(file, ms.reduce(apply, text), 1);
        expect(pieces).toEqual(whole);
      }),
      { numRuns: 120 },
    );
  }, 180_000);

  it("line and column checks agree with the lexer on the unmutated fixtures", () => {
    for (const [, text] of fixtures) {
      for (const t of lexAll(text).tokens) {
        expect(position(text, t.startOffset)).toEqual({ line: t.startLine, column: t.startColumn });
      }
    }
  });
});
