// Helpers for the parser / compile tests: fixture files and AST shapes without spans.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(ROOT, "tests", "fixtures");
export const GOLDEN_SYNTAX = join(ROOT, "tests", "language", "golden", "syntax");

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
