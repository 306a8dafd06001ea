// Helpers for the parser / compile tests: fixture files and AST shapes without spans.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSource } from "../../language/parser.js";
import { streamingToAst, toAst } from "../../language/to-ast.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(ROOT, "tests", "fixtures");
export const GOLDEN_SYNTAX = join(ROOT, "tests", "language", "golden", "syntax");

/** The broken files of the syntax golden tests, as [golden/syntax/NAME.rb, text]. */
export function brokenGoldenFiles(): [string, string][] {
  return readdirSync(GOLDEN_SYNTAX)
    .filter((f) => f.endsWith(".rb"))
    .map((f): [string, string] => [`golden/syntax/${f}`, readFileSync(join(GOLDEN_SYNTAX, f), "utf8")]);
}

const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

/**
 * A file read whole (toAst on the whole CST) and read in pieces of at least `pieceSize`
 * characters as compile reads a large one: diagnostics and AST (as JSON) of each, and whether
 * it was in fact read in pieces.
 */
export function readBothWays(file: string, text: string, pieceSize: number) {
  const whole = parseSource(file, text);
  const builder = streamingToAst(file, text);
  const pieces = parseSource(file, text, { onItem: builder.onItem, pieceSize });
  return {
    whole: { diagnostics: whole.diagnostics, ast: json(toAst(whole.cst, file, { text })) },
    pieces: { diagnostics: pieces.diagnostics, ast: json(builder.finish(pieces.cst)) },
    inPieces: pieces.tokens.length === 0,
  };
}

/**
 * The valid runbook fixtures of the language tests — tests/fixtures/*.rb and
 * tests/fixtures/lib/*.rb (other folders belong to other test suites) — as
 * [path relative to the repo, text].
 */
export function fixtureFiles(): [string, string][] {
  const out: [string, string][] = [];
  for (const dir of [FIXTURES, join(FIXTURES, "lib")]) {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isFile() && e.name.endsWith(".rb")) out.push([relative(ROOT, p), readFileSync(p, "utf8")]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

/** A copy of an AST value without `span`, `opSpan`, `idSpan` (for shape comparisons). */
export function noSpans<T>(x: T): T {
  if (Array.isArray(x)) return x.map(noSpans) as T;
  if (x && typeof x === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (k !== "span" && k !== "opSpan" && k !== "idSpan" && k !== "protected") out[k] = noSpans(v);
    if ("protected" in x) out.protected = true;
    return out as T;
  }
  return x;
}

/** A plain string literal's shape. */
export const S = (value: string, triple = false) => ({ kind: "string", parts: value ? [{ kind: "text", value }] : [], triple });
/** An interpolation part's shape. */
export const I = (path: string, raw = false) => ({ kind: "interp", path: path.split("."), raw });
/** A string made of parts. */
export const SP = (...parts: (string | ReturnType<typeof I>)[]) => ({
  kind: "string",
  parts: parts.map((p) => (typeof p === "string" ? { kind: "text", value: p } : p)),
  triple: false,
});
export const N = (name: string) => ({ name });
