// The TextMate grammar of editors/vscode against a real TextMate tokenizer
// (vscode-textmate with the Oniguruma regex engine, as VS Code runs it): the tokens of
// tests/fixtures/all-constructs.rb, every construct of the language, against a golden
// file, and every keyword of the lexer scoped as a keyword.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";
import { beforeAll, describe, expect, it } from "vitest";
import { KEYWORDS } from "../../language/tokens.js";
import { golden } from "../support/golden.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const GRAMMAR = join(ROOT, "editors/vscode/syntaxes/runbook.tmLanguage.json");
const require = createRequire(import.meta.url);

let grammar: textmate.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope) => (scope === "source.runbook" ? textmate.parseRawGrammar(readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null),
  });
  grammar = (await registry.loadGrammar("source.runbook"))!;
});

/** Each token of `text` with its innermost scopes (the root scope left out), line by line. */
function tokenize(text: string): { line: number; text: string; scopes: string[] }[] {
  const out: { line: number; text: string; scopes: string[] }[] = [];
  let state = textmate.INITIAL;
  text.split("\n").forEach((line, i) => {
    const r = grammar.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const piece = line.slice(t.startIndex, t.endIndex);
      if (piece.trim() === "") continue;
      out.push({ line: i + 1, text: piece, scopes: t.scopes.slice(1) });
    }
    state = r.ruleStack;
  });
  return out;
}

describe("the TextMate grammar", () => {
  it("tokenizes every construct as the golden file says", () => {
    const tokens = tokenize(readFileSync(join(ROOT, "tests/fixtures/all-constructs.rb"), "utf8"));
    const text = tokens.map((t) => `${t.line}\t${JSON.stringify(t.text)}\t${t.scopes.join(" ") || "-"}`).join("\n");
    golden(join(ROOT, "tests/editors/golden/all-constructs.tokens.txt"), `${text}\n`);
  });

  it("scopes the parts that matter", () => {
    const tokens = tokenize(`step "Go" as go_on on portal when env == "dev" {\n  run "cd \${raw home}/x \\" # not a comment"  # a comment\n  timeout 1h30m\n}`);
    const scopeOf = (text: string) => tokens.find((t) => t.text === text)?.scopes.at(-1);
    expect(scopeOf("step")).toBe("keyword.other.declaration.runbook");
    expect(scopeOf("go_on")).toBe("entity.name.function.step.runbook");
    expect(scopeOf("portal")).toBe("variable.other.runbook");
    expect(scopeOf("==")).toBe("keyword.operator.runbook");
    expect(scopeOf("raw")).toBe("storage.modifier.raw.runbook");
    expect(scopeOf("home")).toBe("variable.other.interpolated.runbook");
    expect(scopeOf('\\"')).toBe("constant.character.escape.runbook");
    expect(scopeOf(" # not a comment")).toBe("string.quoted.double.runbook");
    expect(scopeOf("# a comment")).toBe("comment.line.number-sign.runbook");
    expect(scopeOf("1h30m")).toBe("constant.numeric.duration.runbook");
  });

  it("scopes every keyword of the lexer as a keyword, an operator or a constant", () => {
    for (const kw of KEYWORDS) {
      const [token] = tokenize(kw);
      expect(token?.scopes.at(-1), kw).toMatch(/^(keyword|constant\.language)\./);
    }
  });
});
