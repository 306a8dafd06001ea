// `runbook lsp` driven over stdio by a real LSP client: initialize, open, change,
// diagnostics (the same codes and spans as `runbook check`), definition, references,
// hover per env, rename across an include, formatting, symbols, completion.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../language/compile.js";
import { format } from "../../language/format.js";
import { fileUri, LspClient } from "./client.js";

const MAIN = `runbook "lsp" version "1.0.0"
default env dev

include "lib.rb"

var home = "/home/haiti"
var app = "\${home}/web2py"
secret token = env "LSP_TOKEN"
host portal = "app@portal.example.org"

env dev {
  var home = "/home/haiti-dev"
}
env uat {
  var home = "/home/haiti-uat"
}
env prod {
  protected
  var home = "/home/haiti-prod"
  host portal = "app@\${home}.example.org"
}

section "Deploy" {
  step "Pull the code" as pull on portal {
    run "cd \${app} && bzr pull && echo \${home}"
    run "curl -H \${token} http://x"
    undo "echo undone"
  }
}
`;

const LIB = `step "Check home" as check_home on portal {
  run "test -d \${home}"
  undo "echo undone"
}
`;

interface Position {
  line: number;
  character: number;
}
interface Range {
  start: Position;
  end: Position;
}
interface Location {
  uri: string;
  range: Range;
}
interface TextEdit {
  range: Range;
  newText: string;
}

/** The position of the `nth` occurrence of `needle` in `text` (plus `delta` characters). */
function positionOf(text: string, needle: string, nth = 0, delta = 0): Position {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`${needle} not found`);
  const before = text.slice(0, at + delta);
  const lines = before.split("\n");
  return { line: lines.length - 1, character: lines[lines.length - 1]!.length };
}

function applyEdits(text: string, edits: TextEdit[]): string {
  const lines = text.split("\n");
  const offset = (p: Position) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

describe("runbook lsp over stdio", () => {
  const dir = mkdtempSync(join(tmpdir(), "runbook-lsp-"));
  const mainPath = join(dir, "main.rb");
  const libPath = join(dir, "lib.rb");
  const mainUri = fileUri(mainPath);
  const libUri = fileUri(libPath);
  let client: LspClient;

  beforeAll(async () => {
    writeFileSync(mainPath, MAIN);
    writeFileSync(libPath, LIB);
    client = new LspClient("source", dir, { LSP_TOKEN: "s3cr3t-value" });
    const init = await client.initialize(fileUri(dir));
    expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true, renameProvider: { prepareProvider: true } });
    await client.open(mainUri, MAIN, 1);
  });

  afterAll(async () => {
    expect(await client.close()).toBe(0);
  });

  it("publishes the diagnostics of `check` on open, and again after a change", async () => {
    const first = await client.diagnostics(mainUri, 1);
    expect(first.diagnostics).toEqual([]);

    // A typo, typed: `${home}` becomes `${hme}` in the step's command.
    const at = positionOf(MAIN, "echo ${home}", 0, "echo ${".length);
    await client.change(mainUri, 2, [{ range: { start: at, end: { line: at.line, character: at.character + 4 } }, text: "hme" }]);
    const second = await client.diagnostics(mainUri, 2);
    const changed = MAIN.replace("echo ${home}", "echo ${hme}");
    const expected = compile(mainPath, changed).diagnostics.filter((d) => d.span.file === mainPath);
    expect(expected.length).toBeGreaterThan(0);
    expect(second.diagnostics.map((d) => ({ code: d.code, line: d.range.start.line + 1, column: d.range.start.character + 1, length: d.range.end.character - d.range.start.character }))).toEqual(
      expected.map((d) => ({ code: d.code, line: d.span.line, column: d.span.column, length: d.span.length })),
    );
    expect(second.diagnostics.map((d) => d.code)).toContain("unknown-name");

    // Typed back: no diagnostics.
    await client.change(mainUri, 3, [{ text: MAIN }]);
    expect((await client.diagnostics(mainUri, 3)).diagnostics).toEqual([]);
  });

  it("goes from a use of a var to its declaration, and finds its uses in an include", async () => {
    const def = await client.request<Location[]>("textDocument/definition", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "echo ${home}", 0, "echo ${h".length) });
    expect(def).toEqual([{ uri: mainUri, range: { start: positionOf(MAIN, "var home", 0, 4), end: positionOf(MAIN, "var home", 0, 8) } }]);

    const refs = await client.request<Location[]>("textDocument/references", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "var home", 0, 5), context: { includeDeclaration: false } });
    expect(refs.map((r) => r.uri).sort()).toEqual([libUri, ...Array(6).fill(mainUri)].sort());
    expect(refs).toContainEqual({ uri: libUri, range: { start: positionOf(LIB, "${home}", 0, 2), end: positionOf(LIB, "${home}", 0, 6) } });

    const host = await client.request<Location[]>("textDocument/definition", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "on portal", 0, 4) });
    expect(host).toEqual([{ uri: mainUri, range: { start: positionOf(MAIN, "host portal", 0, 5), end: positionOf(MAIN, "host portal", 0, 11) } }]);

    // From the include itself, open beside the runbook that includes it: no missing-header, and its names lead back.
    await client.open(libUri, LIB, 1);
    expect((await client.diagnostics(libUri, 1)).diagnostics).toEqual([]);
    const fromLib = await client.request<Location[]>("textDocument/definition", { textDocument: { uri: libUri }, position: positionOf(LIB, "${home}", 0, 3) });
    expect(fromLib).toEqual(def);

    const inc = await client.request<Location>("textDocument/definition", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "lib.rb", 0, 1) });
    expect(inc.uri).toBe(libUri);
  });

  it("shows a var's value in each env on hover, and never a secret's", async () => {
    const hover = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "${app}", 0, 3) });
    expect(hover.contents.value).toContain("`dev`: `/home/haiti-dev/web2py`");
    expect(hover.contents.value).toContain("`uat`: `/home/haiti-uat/web2py`");
    expect(hover.contents.value).toContain("`prod`: `/home/haiti-prod/web2py`");

    const host = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "on portal", 0, 4) });
    expect(host.contents.value).toContain("`dev`: `app@portal.example.org`");
    expect(host.contents.value).toContain("`prod`: `app@/home/haiti-prod.example.org`");

    const secret = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "${token}", 0, 3) });
    expect(secret.contents.value).toContain("`prod`: secret");
    expect(secret.contents.value).toContain("LSP_TOKEN");
    expect(secret.contents.value).not.toContain("s3cr3t-value");
  });

  it("renames a var across the runbook and its include, and a step id", async () => {
    const edit = await client.request<{ changes: Record<string, TextEdit[]> }>("textDocument/rename", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "${home}", 0, 3), newName: "root" });
    expect(Object.keys(edit.changes).sort()).toEqual([libUri, mainUri].sort());
    const main2 = applyEdits(MAIN, edit.changes[mainUri]!);
    const lib2 = applyEdits(LIB, edit.changes[libUri]!);
    expect(main2).not.toMatch(/var home|\$\{home\}/);
    expect(main2.match(/var root/g)).toHaveLength(4);
    expect(main2).toContain('host portal = "app@${root}.example.org"');
    expect(lib2).toContain("${root}");
    const recompiled = compile(mainPath, main2, { readFile: (p) => (p === libPath ? lib2 : readFileSync(p, "utf8")) });
    expect(recompiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);

    const refused = client.request("textDocument/rename", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "${home}", 0, 3), newName: "app" });
    await expect(refused).rejects.toThrow(/already declared/);

    const step = await client.request<{ changes: Record<string, TextEdit[]> }>("textDocument/rename", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "as pull", 0, 4), newName: "fetch_code" });
    expect(applyEdits(MAIN, step.changes[mainUri]!)).toContain(`step "Pull the code" as fetch_code on portal`);
  });

  it("formats as `runbook fmt` does", async () => {
    const messy = MAIN.replace('var home = "/home/haiti"', 'var     home   =   "/home/haiti"');
    await client.change(mainUri, 4, [{ text: messy }]);
    await client.diagnostics(mainUri, 4);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", { textDocument: { uri: mainUri }, options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toHaveLength(1);
    expect(applyEdits(messy, edits)).toBe(format(messy, mainPath).output);
    await client.change(mainUri, 5, [{ text: MAIN }]);
    await client.diagnostics(mainUri, 5);
  });

  it("lists sections and steps as symbols, and completes names in scope", async () => {
    const symbols = await client.request<{ name: string; children?: { name: string }[] }[]>("textDocument/documentSymbol", { textDocument: { uri: mainUri } });
    const section = symbols.find((s) => s.name === "Deploy");
    expect(section?.children?.map((c) => c.name)).toEqual(["pull"]);
    expect(symbols.map((s) => s.name)).toEqual(expect.arrayContaining(["home", "app", "token", "portal", "env prod"]));

    const inside = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "${app}", 0, 2) });
    expect(inside.map((c) => c.label)).toEqual(expect.arrayContaining(["home", "app", "token", "prod", "env"]));
    const hosts = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri: mainUri }, position: positionOf(MAIN, "on portal {", 0, 3) });
    expect(hosts.map((c) => c.label)).toEqual(["portal"]);
  });
});
