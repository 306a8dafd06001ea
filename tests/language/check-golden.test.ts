// Golden tests of the checker through the whole front end: each
// tests/language/golden/check/<rule>.rb is compiled (parser, includes, checker) and its
// diagnostics rendered as text must equal <rule>.expected beside it. Regenerate with
// `UPDATE_GOLDEN=1 npx vitest run tests/language/check-golden`; review the diff.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { renderDiagnostics } from "../../language/diagnostics.js";
import { golden } from "../support/golden.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden", "check");
const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".rb") && !f.startsWith("lib-"))
  .sort();

/** The rendered diagnostics of one golden runbook, with paths relative to the golden folder. */
function render(file: string): { text: string; codes: string[]; errors: string[] } {
  const text = readFileSync(path.join(dir, file), "utf8");
  const result = compileSource(text, file, { readFile: (p) => readFileSync(path.join(dir, p), "utf8") });
  return {
    text: renderDiagnostics(result.diagnostics, "text", { sources: result.sources }),
    codes: result.diagnostics.map((d) => d.code),
    errors: result.diagnostics.filter((d) => d.severity === "error").map((d) => d.code),
  };
}

describe("checker golden files", () => {
  it("has one golden file per rule", () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases)("%s", (file) => {
    const expectedFile = path.join(dir, file.replace(/\.rb$/, ".expected"));
    const { text, codes, errors } = render(file);
    // the file's name is the rule it is about; the language's running example has no errors
    const rule = file.replace(/\.rb$/, "");
    if (rule === "haiti-example") expect(errors).toEqual([]);
    else expect(codes).toContain(rule);
    // and no syntax errors hide the checker
    expect(codes.filter((c) => c === "syntax")).toEqual([]);
    golden(expectedFile, text);
  });
});
