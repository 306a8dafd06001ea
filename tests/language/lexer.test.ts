// The lexer (language/tokens.ts): token kinds, keyword/identifier boundaries, numbers and
// durations, strings, and the invariant the formatter relies on — the images of all
// tokens, whitespace and comments joined give back the source exactly.

import { describe, expect, it } from "vitest";
import { createToken, Lexer, type IToken } from "chevrotain";
import fc from "fast-check";
import { fullLexerTokens, LEXER_CONFIG, lex as lexText, lexAll, lexerTokenTypes, lexWithLoops, scanString } from "../../language/tokens.js";
import { fixtureFiles } from "./parse-helpers.js";

const lex = (text: string) => {
  const r = lexText(text);
  return { kinds: r.tokens.map((t) => `${t.tokenType.name}:${t.image}`), errors: r.errors };
};

describe("lexer", () => {
  // The shipped lexer skips Chevrotain's definition checks to start faster; they run here.
  it.each([
    ["lex", lexerTokenTypes()],
    ["lexAll", fullLexerTokens()],
  ])("the token definitions of %s pass Chevrotain's checks", (_name, tokens) => {
    const checked = new Lexer(tokens, { ...LEXER_CONFIG, skipValidations: false });
    expect(checked.lexerDefinitionErrors).toEqual([]);
    expect((checked as unknown as { lexerDefinitionWarning: unknown[] }).lexerDefinitionWarning).toEqual([]);
  });

  // The hints (`start_chars_hint`, `line_breaks`) must not change what is lexed: the same
  // patterns without them, analysed by Chevrotain, give the same tokens and positions.
  const unhinted = new Lexer(
    fullLexerTokens().map((t) =>
      createToken({ name: t.name, pattern: t.PATTERN as RegExp, ...(t.GROUP ? { group: t.GROUP } : {}), ...(t.LINE_BREAKS ? { line_breaks: true } : {}) }),
    ),
    { positionTracking: "onlyStart" },
  );
  const positions = (r: { tokens: IToken[]; groups: Record<string, IToken[]> }) =>
    [...r.tokens, ...Object.values(r.groups).flat()].map((t) => `${t.image}@${t.startOffset}:${t.startLine}:${t.startColumn}`).sort();
  it.each([...fixtureFiles(), ["line ends", 'step "a"\r\n{\r  run "x\ry"\n  # c\r\n  note """\r\n  t\r\n  """\n}\r']])(
    "the hints change nothing: %s",
    (_name, text) => {
      const hinted = lexAll(text);
      const plain = unhinted.tokenize(text);
      expect(hinted.errors.map((e) => e.offset)).toEqual(plain.errors.map((e) => e.offset));
      expect(positions(hinted)).toEqual(positions(plain));
    },
  );

  it.each([
    ["keyword", "step", ["Kw_step:step"]],
    ["identifier with keyword prefix", "stepper", ["Identifier:stepper"]],
    ["keyword `in` vs `include` vs `index`", "in include index", ["Kw_in:in", "Kw_include:include", "Identifier:index"]],
    ["identifier with underscore and digits", "_db2_name", ["Identifier:_db2_name"]],
    ["string", '"hello"', ['StringLiteral:"hello"']],
    ["string with escapes", '"a\\"b\\\\c"', ['StringLiteral:"a\\"b\\\\c"']],
    ["empty string", '""', ['StringLiteral:""']],
    ["triple string", '"""\n  a\n"""', ['TripleString:"""\n  a\n"""']],
    ["unterminated string", '"abc\nx', ['UnterminatedString:"abc', "Identifier:x"]],
    ["unterminated triple string", '"""abc\nx', ['UnterminatedTripleString:"""abc\nx']],
    ["integer", "42", ["NumberLiteral:42"]],
    ["decimal", "3.5", ["NumberLiteral:3.5"]],
    ["milliseconds", "500ms", ["Duration:500ms"]],
    ["seconds minutes hours days", "30s 10m 2h 1d", ["Duration:30s", "Duration:10m", "Duration:2h", "Duration:1d"]],
    ["compound duration", "1h30m", ["Duration:1h30m"]],
    ["bad duration unit", "10min", ["BadNumber:10min"]],
    ["fractional duration", "1.5h", ["BadNumber:1.5h"]],
    ["operators", "== != <= >= < > =", ["EqEq:==", "NotEq:!=", "LtEq:<=", "GtEq:>=", "Lt:<", "Gt:>", "Equals:="]],
    ["punctuation", "{}[](),.", ["LBrace:{", "RBrace:}", "LBracket:[", "RBracket:]", "LParen:(", "RParen:)", "Comma:,", "Dot:."]],
    ["member access", "prod.appdb", ["Identifier:prod", "Dot:.", "Identifier:appdb"]],
    ["comment is not a token", "run # a comment\n", ["Kw_run:run"]],
    ["booleans", "true false", ["Kw_true:true", "Kw_false:false"]],
  ])("%s", (_name, text, expected) => {
    const r = lex(text);
    expect(r.errors).toEqual([]);
    expect(r.kinds).toEqual(expected);
  });

  it.each([
    ["@", 0, 1],
    ["run @@ x", 4, 2],
    ["x = 'a'", 4, 1],
  ])("reports an unexpected character in %j", (text, offset, length) => {
    const r = lex(text);
    expect(r.errors[0]).toMatchObject({ offset, length });
  });

  it("lexAll tracks lines and columns; the parser's lexer only offsets (spans find lines)", () => {
    const text = 'step "a" {\n  run "x"\n}';
    const run = lexAll(text).tokens.find((t) => t.image === "run")!;
    expect([run.startLine, run.startColumn, run.startOffset]).toEqual([2, 3, 13]);
    const fast = lexText(text).tokens.find((t) => t.image === "run")!;
    expect([fast.startLine, fast.startColumn, fast.startOffset]).toEqual([undefined, undefined, 13]);
  });

  it.each(fixtureFiles())("token images joined give back the source: %s", (_file, text) => {
    const r = lexAll(text);
    expect(r.errors).toEqual([]);
    const all = [...r.tokens, ...(r.groups.ws ?? []), ...(r.groups.comments ?? [])].sort((a, b) => a.startOffset - b.startOffset);
    expect(all.map((t) => t.image).join("")).toBe(text);
  });

  it.each(fixtureFiles())("the parser's tokens are those of the full lexing without whitespace: %s", (_file, text) => {
    const kinds = (r: ReturnType<typeof lexAll>) => r.tokens.map((t) => [t.tokenType.name, t.image, t.startOffset]);
    const fast = lexText(text);
    const full = lexAll(text);
    expect(kinds(fast)).toEqual(kinds(full));
    expect(fast.groups.ws).toBeUndefined();
    expect(fast.groups.comments?.map((t) => t.image)).toEqual(full.groups.comments?.map((t) => t.image));
  });

  // One-line strings are matched by regular expressions, and by a loop (scanString) when a
  // string overflows V8's backtracking stack: the loop matches what the regular expressions
  // (today's and the ones before them) match, and both lexers give the same tokens.
  it("matches one-line strings as the regular expressions do, by the loop too", () => {
    const closedRe = /"(?:[^"\\\n\r]|\\.)*"/y;
    const openRe = /"(?:[^"\\\n\r]|\\.)*\\?/y;
    const piece = fc.constantFrom('"', "\\", "\n", "\r", "a", " ", "\u2028", "\u2029", "é", "\ud83d\ude00", "$", "{");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = `"${pieces.join("")}`;
        closedRe.lastIndex = 0;
        openRe.lastIndex = 0;
        const closed = closedRe.exec(text);
        const r = scanString(text, 0);
        const expected = closed ? { end: closed[0].length, closed: true } : { end: openRe.exec(text)![0].length, closed: false };
        expect(r).toEqual(expected);
        const kinds = (r: ReturnType<typeof lexText>) => [r.tokens.map((t) => [t.tokenType.name, t.image, t.startOffset]), r.errors.map((e) => e.offset)];
        expect(kinds(lexWithLoops(text))).toEqual(kinds(lexText(text)));
        if (text.startsWith('"""')) return; // a triple-quoted string
        const tok = lexText(text).tokens[0]!;
        expect([tok.tokenType.name, tok.image.length]).toEqual([expected.closed ? "StringLiteral" : "UnterminatedString", expected.end]);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ["a 9 MB string", `"${"x".repeat(9_000_000)}"`, "StringLiteral", 9_000_002],
    ["a 9 MB string of escapes", `"${"\\n".repeat(4_500_000)}"`, "StringLiteral", 9_000_002],
    ["a 9 MB unterminated string", `"${"x".repeat(9_000_000)}`, "UnterminatedString", 9_000_001],
    ["a 9 MB unterminated string of escapes", `"${"\\n".repeat(4_500_000)}`, "UnterminatedString", 9_000_001],
  ])("lexes %s as one token", (_name, text, kind, length) => {
    const r = lexText(text);
    expect(r.errors).toEqual([]);
    expect(r.tokens.map((t) => [t.tokenType.name, t.image.length])).toEqual([[kind, length]]);
  });

  it.each(fixtureFiles())("the lexer that matches strings with a loop gives the same tokens: %s", (_file, text) => {
    const kinds = (r: ReturnType<typeof lexText>) => r.tokens.map((t) => [t.tokenType.name, t.image, t.startOffset]);
    expect(kinds(lexWithLoops(text))).toEqual(kinds(lexText(text)));
  });
});
