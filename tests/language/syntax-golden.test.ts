// Syntax error golden files: each tests/language/golden/syntax/*.rb is compiled and its
// diagnostics rendered as text must equal the *.expected file beside it. Regenerate
// with UPDATE_GOLDEN=1 (then review the diff). Files under golden/syntax/lib/ are only
// included by the others.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../language/compile.js";
import { renderDiagnostics } from "../../language/diagnostics.js";
import { golden } from "../support/golden.js";
import { GOLDEN_SYNTAX } from "./parse-helpers.js";

const cases = readdirSync(GOLDEN_SYNTAX)
  .filter((f) => f.endsWith(".rb"))
  .sort();

describe("syntax error golden files", () => {
  it("has the required cases", () => {
    for (const name of [
      "missing-string-after-run",
      "missing-brace",
      "unterminated-string",
      "unexpected-character",
      "bad-duration",
      "two-errors",
      "missing-header",
      "bad-interpolation",
      "missing-include",
      "include-cycle",
    ]) {
      expect(cases).toContain(`${name}.rb`);
    }
  });

  it.each(cases)("%s", (name) => {
    // Paths in messages are relative to the golden directory, so the output is stable.
    const r = compile(name, undefined, { readFile: (p) => readFileSync(join(GOLDEN_SYNTAX, p), "utf8"), check: false });
    const out = renderDiagnostics(r.diagnostics, "text", { sources: r.sources });
    const expectedFile = join(GOLDEN_SYNTAX, name.replace(/\.rb$/, ".expected"));
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.runbook).toBeUndefined();
    golden(expectedFile, out);
  });
});
