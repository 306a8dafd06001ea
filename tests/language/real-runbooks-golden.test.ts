// Golden files of what real runbooks need (issue 17, part 2) through the whole front end:
// tests/language/golden/real-runbooks/<name>.rb compiled (parser, checker) and its
// diagnostics rendered as text must equal <name>.expected beside it, and the formatter
// keeps the new forms (`into [secret] NAME`, `upload template`, `= command "…"`, a group
// member's own values) as they are, so formatting twice changes nothing. Regenerate with
// `UPDATE_GOLDEN=1 npx vitest run tests/language/real-runbooks-golden`; a missing golden
// file fails under CI=true.

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { renderDiagnostics } from "../../language/diagnostics.js";
import { format } from "../../language/format.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden", "real-runbooks");
const update = process.env.UPDATE_GOLDEN === "1";
const cases = readdirSync(dir).filter((f) => f.endsWith(".rb")).sort();

function golden(file: string, actual: string): void {
  if (!existsSync(file)) {
    if (process.env.CI === "true") throw new Error(`missing golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(file, actual);
  } else if (update) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, "utf8"));
}

describe("real runbooks: golden diagnostics", () => {
  it("has the valid runbook and the misuses", () => {
    expect(cases).toEqual(["misuse.rb", "valid.rb"]);
  });

  it.each(cases)("%s", (file) => {
    const text = readFileSync(path.join(dir, file), "utf8");
    const result = compileSource(text, file);
    const rendered = renderDiagnostics(result.diagnostics, "text", { sources: result.sources });
    golden(path.join(dir, file.replace(/\.rb$/, ".expected")), rendered);
    expect(result.diagnostics.filter((d) => d.code === "syntax")).toEqual([]);
    if (file === "valid.rb") expect(result.diagnostics).toEqual([]);
  });

  it.each(cases)("%s formats to a fixed point that means the same", (file) => {
    const text = readFileSync(path.join(dir, file), "utf8");
    const first = format(text);
    expect(first.diagnostics).toEqual([]);
    const once = first.output;
    expect(format(once).output).toBe(once);
    for (const line of ["into revision_before", "into secret session_key", 'upload template "app.conf.tpl" to', 'command "pass show prod/api"', '"app@w1.example.org" { role = "primary" weight = 3 },']) {
      if (text.includes(line)) expect(once).toContain(line);
    }
    const codes = (src: string) => compileSource(src, file).diagnostics.map((d) => `${d.code} ${d.message}`);
    expect(codes(once)).toEqual(codes(text));
  });
});
