// String literals (language/strings.ts): escapes, triple-quoted dedent, interpolation
// parts with exact spans, and bad interpolation / escape diagnostics.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../language/diagnostics.js";
import { SourceText } from "../../language/span.js";
import { decodeString, decodeStringInFull, durationMs } from "../../language/strings.js";
import { I, noSpans, SP } from "./parse-helpers.js";

const decode = (image: string, terminated = true) => {
  const diagnostics: Diagnostic[] = [];
  // The string starts at offset 10, line 2, column 5.
  const lit = decodeString({ image, startOffset: 10 }, new SourceText("f.rb", `12345\nabcd${image}`), diagnostics, terminated);
  return { lit, diagnostics };
};
const value = (image: string) => {
  const { lit, diagnostics } = decode(image);
  expect(diagnostics).toEqual([]);
  return lit.parts.map((p) => (p.kind === "text" ? p.value : `<${p.raw ? "raw " : ""}${p.path.join(".")}>`)).join("");
};

describe("strings: escapes", () => {
  it.each([
    ['"plain"', "plain"],
    ['""', ""],
    ['"a\\"b"', 'a"b'],
    ['"back\\\\slash"', "back\\slash"],
    ['"line\\nbreak"', "line\nbreak"],
    ['"tab\\there"', "tab\there"],
    ['"cost \\${x}"', "cost ${x}"],
    ['"$HOME and $1"', "$HOME and $1"],
    ['"a $ {b}"', "a $ {b}"],
  ])("%s", (image, expected) => {
    expect(value(image)).toBe(expected);
  });

  it("warns about an unknown escape and keeps it as written", () => {
    const { lit, diagnostics } = decode('"a\\.b"');
    expect(lit.parts).toMatchObject([{ kind: "text", value: "a\\.b" }]);
    expect(diagnostics).toMatchObject([{ severity: "warning", code: "unknown-escape", span: { offset: 12, column: 7, length: 2 } }]);
  });
});

describe("strings: triple-quoted", () => {
  it.each([
    ['"""one line"""', "one line"],
    ['"""\n    a\n      b\n    c\n    """', "a\n  b\nc"],
    ['"""\n\ta\n\tb\n"""', "a\nb"],
    ['"""\n  a\n\n  b\n"""', "a\n\nb"],
    ['"""\r\n  a\r\n  b\r\n"""', "a\nb"],
    ['"""\n  "quoted" ${x}\n"""', '"quoted" <x>'],
    ['"""\n  a\n  """', "a"],
    ['"""a\n  b"""', "a\n  b"],
  ])("%j", (image, expected) => {
    expect(value(image)).toBe(expected);
  });

  it("spans of parts on later lines have their own line and column", () => {
    const image = '"""\n    run ${cmd}\n    """';
    const { lit } = decode(image);
    const interp = lit.parts.find((p) => p.kind === "interp")!;
    expect(interp.span).toMatchObject({ line: 3, column: 9, length: 6, offset: 10 + image.indexOf("${cmd}") });
  });
});

describe("strings: interpolation", () => {
  it.each([
    ['"${a}"', [I("a")]],
    ['"x ${a.b} y"', ["x ", I("a.b"), " y"]],
    ['"${run.id}"', [I("run.id")]],
    ['"${raw a}"', [I("a", true)]],
    ['"${ raw  a.b }"', [I("a.b", true)]],
    ['"${raw}"', [I("raw")]],
    ['"${a}${b}"', [I("a"), I("b")]],
    ['"${env}-${run.id}.csv"', [I("env"), "-", I("run.id"), ".csv"]],
  ])("%s", (image, parts) => {
    const { lit, diagnostics } = decode(image);
    expect(diagnostics).toEqual([]);
    expect(noSpans(lit)).toEqual(SP(...(parts as (string | ReturnType<typeof I>)[])));
  });

  it("gives each part its exact span", () => {
    const { lit } = decode('"ab ${hme} cd"');
    // the token starts at offset 10, column 5
    expect(lit.parts.map((p) => [p.span.offset, p.span.column, p.span.length])).toEqual([
      [11, 6, 3],
      [14, 9, 6],
      [20, 15, 3],
    ]);
    expect(lit.span).toMatchObject({ offset: 10, line: 2, column: 5, length: 14 });
  });

  it.each([
    ['"${}"', "empty `${}`: put a name inside, like `${home}`", 1, 3],
    ['"${a b}"', "bad interpolation `${a b}`: expected `.` or `}` after `a`", 1, 6],
    ['"${1x}"', "bad interpolation `${1x}`: expected a name after `${`", 1, 5],
    ['"${a.}"', "bad interpolation `${a.}`: expected a name after `.`", 1, 5],
    ['"${raw 1}"', "bad interpolation `${raw 1}`: expected a name after `raw`", 1, 8],
    ['"x ${a"', "unclosed `${` in string: expected `}`", 3, 3],
  ])("%s is a diagnostic", (image, message, at, length) => {
    const { diagnostics } = decode(image);
    expect(diagnostics).toEqual([
      { severity: "error", code: "bad-interpolation", message, span: { file: "f.rb", offset: 10 + at, line: 2, column: 5 + at, length } },
    ]);
  });

  it.each([
    ["the one-line shortcut", '"${home}/a ${home}"', '"b ${home}"'],
    ["the full decoder", '"${home}\\n${home}"', '"""\n  ${home}\n"""'],
  ])("an interpolation of one name shares its frozen path with every other of that name (%s)", (_how, one, other) => {
    const paths = [...decode(one).lit.parts, ...decode(other).lit.parts].flatMap((p) => (p.kind === "interp" ? [p.path] : []));
    expect(paths).toHaveLength(3);
    expect(paths[0]).toEqual(["home"]);
    expect(new Set(paths).size).toBe(1);
    expect(Object.isFrozen(paths[0])).toBe(true);
    expect(decode('"${home.x}"').lit.parts[0]).toMatchObject({ path: ["home", "x"] });
  });

  it("an unterminated string keeps its text", () => {
    expect(decode('"abc', false).lit.parts).toMatchObject([{ kind: "text", value: "abc" }]);
    expect(decode('"""abc\n  def', false).lit.parts).toMatchObject([{ kind: "text", value: "abc\n  def" }]);
  });
});

describe("strings: the shortcuts", () => {
  // decodeString takes shortcuts for one-line strings without escapes; they must give what
  // the full decoder gives: the same parts, spans and diagnostics.
  const piece = fc.constantFrom("a", " ", "x y", "${a}", "${ a.b }", "${raw c}", "${", "}", "$", "${}", "${1}", "${a.}", "\\n", "\\q", '\\"', "é", "\t");
  const image = fc.tuple(fc.array(piece, { maxLength: 8 }), fc.boolean()).map(([ps, closed]) => `"${ps.join("")}${closed ? '"' : ""}`);

  it("give the full decoder's result", () => {
    fc.assert(
      fc.property(image, fc.boolean(), (img, terminated) => {
        const src = new SourceText("f.rb", `x = ${img}`);
        const tok = { image: img, startOffset: 4 };
        const fast: Diagnostic[] = [];
        const full: Diagnostic[] = [];
        expect(decodeString(tok, src, fast, terminated)).toEqual(decodeStringInFull(tok, src, full, terminated));
        expect(fast).toEqual(full);
      }),
    );
  });
});

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
  ])("%s", (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });
  it("is NaN for text that is not a duration", () => {
    expect(durationMs("10min")).toBeNaN();
    expect(durationMs("")).toBeNaN();
  });
});
