// Spans made by a SourceText (language/span.ts) work out their line and column from the
// file's line starts when read: they must give the positions the lexer gives its tokens,
// and serialize and compare as plain five-field spans.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { plainSpan, respan, SourceText } from "../../language/span.js";
import { lexAll } from "../../language/tokens.js";
import { fixtureFiles } from "./parse-helpers.js";

/** Every token's span beside the position the lexer gave it. */
function positions(text: string) {
  const src = new SourceText("f.rb", text);
  const r = lexAll(text);
  const toks = [...r.tokens, ...Object.values(r.groups).flat()];
  return toks.map((t) => {
    const s = src.span(t.startOffset, t.image.length);
    return { got: [t.startOffset, s.line, s.column], want: [t.startOffset, t.startLine, t.startColumn] };
  });
}

describe("spans: line and column worked out on demand", () => {
  it.each(fixtureFiles())("match the lexer's token positions in %s", (_file, text) => {
    for (const { got, want } of positions(text)) expect(got).toEqual(want);
  });

  it("match the lexer's positions with any mix of \\n, \\r\\n and lone \\r", () => {
    const piece = fc.constantFrom("step", " ", "\n", "\r\n", "\r", '"a\nb"', '"""\n  x\r\n  y\n"""', "# note\r", "\t", "x");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        for (const { got, want } of positions(pieces.join(""))) expect(got).toEqual(want);
      }),
    );
  });

  it.each([
    ["", 0, 1, 1],
    ["ab\ncd", 3, 2, 1],
    ["ab\ncd", 4, 2, 2],
    ["ab\r\ncd", 4, 2, 1],
    ["ab\rcd", 3, 2, 1],
    ["a\n\n\nb", 4, 4, 1],
    ["ab\ncd", 5, 2, 3],
  ])("%j at offset %i is line %i, column %i", (text, offset, line, column) => {
    const s = new SourceText("f.rb", text).span(offset, 1);
    expect([s.line, s.column]).toEqual([line, column]);
  });

  it("a span recovery invented (NaN offset) has no line or column", () => {
    const s = new SourceText("f.rb", "x").span(NaN, 0);
    expect([s.line, s.column]).toEqual([NaN, NaN]);
  });

  it("serializes with all five fields, in order", () => {
    const s = new SourceText("dir/f.rb", "one\ntwo three").span(8, 5);
    expect(JSON.stringify(s)).toBe('{"file":"dir/f.rb","offset":8,"line":2,"column":5,"length":5}');
    expect(plainSpan(s)).toEqual({ file: "dir/f.rb", offset: 8, line: 2, column: 5, length: 5 });
  });

  it("compares as a plain span in tests (line and column included)", () => {
    const s = new SourceText("f.rb", "one\ntwo").span(4, 3);
    expect(s).toEqual({ file: "f.rb", offset: 4, line: 2, column: 1, length: 3 });
    expect(s).not.toEqual({ file: "f.rb", offset: 4, line: 1, column: 1, length: 3 });
    expect(s).not.toEqual(new SourceText("g.rb", "one\ntwo").span(4, 3));
  });

  it.each([
    ["a span of a SourceText", new SourceText("f.rb", "ab\ncdef").span(3, 4)],
    ["a plain span", { file: "f.rb", offset: 3, line: 2, column: 1, length: 4 }],
  ])("respan moves %s within its line", (_what, s) => {
    expect(respan(s, 5, 2)).toEqual({ file: "f.rb", offset: 5, line: 2, column: 3, length: 2 });
  });
});
