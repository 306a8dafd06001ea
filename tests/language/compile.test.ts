// compile() (language/compile.ts): includes are resolved relative to the including file
// and spliced at the include's place; missing files, cycles and double includes are
// diagnostics at the include; the main file needs its header; warnings still give a
// runbook; nothing throws.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allSteps, type Section } from "../../language/ast.js";
import { compile, compileSource } from "../../language/compile.js";
import { renderDiagnostics, renderText } from "../../language/diagnostics.js";
import { FIXTURES, ROOT } from "./parse-helpers.js";

const HEAD = 'runbook "t" version "1.0.0"\n';

/** An in-memory file system for includes. */
const memFs = (files: Record<string, string>) => (p: string) => {
  if (!(p in files)) throw new Error(`ENOENT ${p}`);
  return files[p]!;
};
const messages = (r: { diagnostics: { message: string }[] }) => r.diagnostics.map((d) => d.message);

describe("compile: includes", () => {
  const files = {
    "main.rb": `${HEAD}var a = "1"\ninclude "lib/x.rb"\nvar z = "2"\nstep "First" { }\nfinally {\n  step "Main off" { }\n}\n`,
    "lib/x.rb": `var b = "1"\ninclude "y.rb"\nenv dev {\n}\nsection "From x" {\n  step "X" { }\n}\nfinally {\n  step "X off" { }\n}\n`,
    "lib/y.rb": `var c = "1"\nstep "Y" { }\n`,
  };

  it("splices declarations, envs, sections, steps and finally steps at the include's place", () => {
    const r = compile("main.rb", undefined, { readFile: memFs(files), check: false });
    expect(r.diagnostics).toEqual([]);
    const rb = r.runbook!;
    expect(rb.decls.map((d) => d.name.name)).toEqual(["a", "b", "c", "z"]);
    expect(rb.envs.map((e) => e.name.name)).toEqual(["dev"]);
    expect(rb.items.map((i) => (i.kind === "section" ? `section:${i.steps.map((s) => s.id)}` : i.id))).toEqual([
      "y",
      "section:x",
      "first",
    ]);
    expect(rb.finally?.steps.map((s) => s.id)).toEqual(["x-off", "main-off"]);
    expect(allSteps(rb).map((s) => s.id)).toEqual(["y", "x", "first", "x-off", "main-off"]);
  });

  it("lists every file read, main first, and keeps spans in their own file", () => {
    const r = compile("main.rb", undefined, { readFile: memFs(files), check: false });
    expect(r.runbook!.sources.map((s) => s.file)).toEqual(["main.rb", "lib/x.rb", "lib/y.rb"]);
    expect([...r.sources.keys()]).toEqual(["main.rb", "lib/x.rb", "lib/y.rb"]);
    const y = r.runbook!.items[0]!;
    expect(y.span).toMatchObject({ file: "lib/y.rb", line: 2, column: 1 });
    expect(r.runbook!.file).toBe("main.rb");
  });

  it("records the resolved path of an include", () => {
    const p = `${HEAD}include "lib/y.rb"\n`;
    const r = compile("main.rb", p, { readFile: memFs(files), check: false });
    expect(r.diagnostics).toEqual([]);
    expect(r.runbook!.decls.map((d) => d.name.name)).toEqual(["c"]);
  });

  it.each([
    ["a missing include", { "main.rb": `${HEAD}include "nope.rb"\n` }, "include-missing", "cannot read included file `nope.rb`", 2],
    [
      "an include cycle",
      { "main.rb": `${HEAD}include "a.rb"\n`, "a.rb": `include "main.rb"\n` },
      "include-cycle",
      "include cycle: `main.rb` → `a.rb` → `main.rb`",
      1,
    ],
    ["a file including itself", { "main.rb": `${HEAD}include "main.rb"\n` }, "include-cycle", "include cycle: `main.rb` → `main.rb`", 2],
    [
      "a file included twice",
      { "main.rb": `${HEAD}include "a.rb"\ninclude "a.rb"\n`, "a.rb": `var x = "1"\n` },
      "include",
      "`a.rb` is already included",
      3,
    ],
    ["an interpolated path", { "main.rb": `${HEAD}include "\${dir}/a.rb"\n` }, "include", "an include path cannot contain `${…}`", 2],
  ])("reports %s at the include", (_name, fs, code, message, line) => {
    const r = compile("main.rb", undefined, { readFile: memFs(fs), check: false });
    expect(r.runbook).toBeUndefined();
    expect(r.diagnostics).toMatchObject([{ severity: "error", code, message, span: { line } }]);
  });

  it("reports syntax errors inside an included file with that file's name", () => {
    const r = compile("main.rb", undefined, { readFile: memFs({ "main.rb": `${HEAD}include "a.rb"\n`, "a.rb": 'step "x" {\n  run\n}\n' }) });
    expect(r.diagnostics).toMatchObject([{ message: "expected a string after `run`", span: { file: "a.rb", line: 2, column: 6 } }]);
    expect(r.sources.get("a.rb")).toContain("run");
  });

  it("ignores an included file's header with a warning, and refuses its default env", () => {
    const r = compile("main.rb", undefined, {
      readFile: memFs({ "main.rb": `${HEAD}include "a.rb"\n`, "a.rb": `runbook "a" version "1.0.0"\nowner "x"\ndefault env dev\n` }),
      check: false,
    });
    expect(r.diagnostics.map((d) => [d.severity, d.message])).toEqual([
      ["warning", "`runbook` in an included file is ignored: only the main file's header counts"],
      ["warning", "`owner` in an included file is ignored: only the main file's header counts"],
      ["error", "`default env` belongs in the main file, not in an included one"],
    ]);
  });

  it("a whole runbook can be included: its header is ignored, its steps spliced in", () => {
    const r = compile("main.rb", undefined, {
      readFile: memFs({ "main.rb": `${HEAD}include "other.rb"\nstep "Mine" { run "true" }\n`, "other.rb": `runbook "other" version "2.0.0"\nstep "Theirs" { run "true" }\n` }),
    });
    expect(r.runbook?.header.name).toEqual(expect.objectContaining({ parts: [expect.objectContaining({ value: "t" })] }));
    expect(allSteps(r.runbook!).map((s) => s.id)).toEqual(["theirs", "mine"]);
    expect(r.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
  });

  it("resolves includes relative to the including file on disk", () => {
    const r = compile(join("tests", "fixtures", "all-constructs.rb"), undefined, { readFile: (p) => readFileSync(join(ROOT, p), "utf8") });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.runbook!.sources.map((s) => s.file)).toEqual([join("tests", "fixtures", "all-constructs.rb"), join("tests", "fixtures", "lib", "maintenance.rb")]);
    expect((r.runbook!.items[0] as Section).steps[0]!.id).toBe("maintenance-on");
  });
});

describe("compile: header", () => {
  it("a main file without a header is an error", () => {
    const r = compileSource('step "x" { }\n', "m.rb");
    expect(r.runbook).toBeUndefined();
    expect(r.diagnostics).toMatchObject([{ code: "missing-header", span: { file: "m.rb", line: 1, column: 1 } }]);
  });
  it("the header must come first", () => {
    const r = compileSource(`var x = "1"\n${HEAD}`, "m.rb", { check: false });
    expect(r.diagnostics).toMatchObject([{ code: "header-position", span: { line: 2, column: 1, length: 7 } }]);
  });
  it("a second header is an error", () => {
    const r = compileSource(`${HEAD}${HEAD}`, "m.rb", { check: false });
    expect(messages(r)).toEqual(["`runbook` is given twice"]);
  });
  it.each([
    ["description", `${HEAD}description "a"\ndescription "b"\n`],
    ["owner", `${HEAD}owner "a"\nowner "b"\n`],
    ["default env", `${HEAD}default env a\ndefault env b\n`],
  ])("a second %s is an error", (what, src) => {
    expect(messages(compileSource(src, "m.rb", { check: false }))).toEqual([`\`${what}\` is given twice`]);
  });
  it("a second finally block is an error", () => {
    const r = compileSource(`${HEAD}finally { }\nfinally { }\n`, "m.rb", { check: false });
    expect(r.diagnostics).toMatchObject([{ span: { line: 3, column: 1, length: 7 } }]);
  });
});

describe("compile: results", () => {
  it("compiles the running example with the checker (warnings allowed)", () => {
    const text = readFileSync(join(FIXTURES, "haiti-example.rb"), "utf8");
    const r = compileSource(text, "haiti-example.rb");
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.runbook?.header.name.parts).toMatchObject([{ value: "haiti-release" }]);
    expect(r.runbook?.sources).toEqual([{ file: "haiti-example.rb", text }]);
    expect(r.sources.get("haiti-example.rb")).toBe(text);
  });
  it("gives no runbook when there are errors", () => {
    const r = compileSource(`${HEAD}step "x" { run }\n`);
    expect(r.runbook).toBeUndefined();
    expect(r.diagnostics[0]?.span.file).toBe("<input>");
  });
  it("reads the main file with readFile when no text is given, and reports a missing one", () => {
    expect(compile("m.rb", undefined, { readFile: memFs({ "m.rb": HEAD }), check: false }).runbook).toBeDefined();
    const r = compile("gone.rb", undefined, { readFile: memFs({}) });
    expect(r.diagnostics).toMatchObject([{ code: "io", message: "cannot read `gone.rb`", span: { line: 1, column: 1 } }]);
  });
  it("reports absurdly deep nesting as a syntax error, not a crash", () => {
    const r = compileSource(`${HEAD}step "a" when ${"(".repeat(5000)}x${")".repeat(5000)} { }\n`, "m.rb");
    // at the `(` that goes past MAX_NESTING, not at the top of the file
    expect(r.diagnostics).toMatchObject([{ code: "syntax", message: expect.stringContaining("nested more than 100 levels deep"), span: { column: 115 } }]);
  });
  it.each(["", "\u0000", "}}}}", "step", '"', '"""', "${", "runbook", "# only a comment"])("never throws: %j", (src) => {
    expect(() => compileSource(src)).not.toThrow();
  });
});

describe("rendering: the source line under the message", () => {
  it.each([
    ["\\n", "\n"],
    ["\\r\\n", "\r\n"],
    ["a lone \\r", "\r"],
  ])("lines ended by %s show the line of the error", (_name, nl) => {
    const text = [HEAD.trimEnd(), 'step "a" {', '  run "x"', "  nope 1", "}", ""].join(nl);
    const r = compileSource(text, "t.rb");
    const out = renderText(r.diagnostics, { sources: r.sources });
    expect(out).toContain("t.rb:4:3: error:");
    expect(out).toContain("4 |   nope 1\n");
    expect(out).toContain("  |   ^^^^\n");
  });
});

describe("rendering: --format github", () => {
  it("prints one `::error file=…,line=…,col=…::message` line per diagnostic, notes escaped into it", () => {
    const text = `${HEAD}var home = "/h"\nstep "a" {\n  run "ls \${hme}"\n}\n`;
    const r = compileSource(text, "dir/t,1.rb");
    expect(renderDiagnostics(r.diagnostics, "github", { sources: r.sources })).toBe(
      "::error file=dir/t%2C1.rb,line=4,col=11::unknown name `hme`%0Adid you mean `home`?",
    );
  });
});

describe("compile: message wording", () => {
  it("a backquote in a message is quoted so it reads as one character, never as ``` ``` ```", () => {
    const r = compileSource('runbook "t" version "1.0.0"\nstep "S" {\n  run `echo`\n}\n', "/virtual/bt.rb");
    const messages = r.diagnostics.map((d) => d.message);
    expect(messages).toContain("unexpected character '`'");
    expect(messages.join("\n")).not.toContain("```");
  });
});
