// compile() turns an internal exception (here: a checker that throws) into an
// "internal" diagnostic at 1:1 instead of a stack trace.

import { describe, expect, it, vi } from "vitest";

vi.mock("../../language/check.js", () => ({
  check: () => {
    throw new Error("boom");
  },
}));

const { compileSource } = await import("../../language/compile.js");

describe("compile: internal errors", () => {
  it("become a diagnostic", () => {
    const r = compileSource('runbook "t" version "1.0.0"\n', "m.rb");
    expect(r.runbook).toBeUndefined();
    expect(r.diagnostics).toEqual([
      { severity: "error", code: "internal", message: "internal error: boom", span: { file: "m.rb", offset: 0, line: 1, column: 1, length: 0 } },
    ]);
  });
});
