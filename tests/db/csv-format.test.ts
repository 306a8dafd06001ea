// The CSV writer and reader, and values as web2py's exporter writes them. The
// expected texts are what Python 3's csv module and repr() produce (checked
// against CPython when these tables were written).

import { describe, expect, it } from "vitest";
import { cellText, CsvReader, csvRow, pyFloatRepr, type CsvRecord } from "../../runtime/data.js";

describe("csvRow (Python csv.writer, QUOTE_MINIMAL)", () => {
  it.each([
    [["a", "b"], "a,b\r\n"],
    [["a,b", "c"], '"a,b",c\r\n'],
    [['say "hi"'], '"say ""hi"""\r\n'],
    [["l1\nl2"], '"l1\nl2"\r\n'],
    [["cr\r"], '"cr\r"\r\n'],
    [[" spaced ", "\ttab"], " spaced ,\ttab\r\n"],
    [["", ""], ",\r\n"],
    [[""], '""\r\n'],
    [["<NULL>", "x"], "<NULL>,x\r\n"],
    [["Zoë 日本 🐕"], "Zoë 日本 🐕\r\n"],
    [["'single'"], "'single'\r\n"],
  ])("%j → %j", (fields, expected) => {
    expect(csvRow(fields)).toBe(expected);
  });

  it("writes empty strings quoted when NULLs are empty fields (one-table CSV)", () => {
    expect(csvRow(["", "a", ""], true)).toBe('"",a,""\r\n');
  });
});

function readAll(text: string, cuts: number[] = []): CsvRecord[] {
  const r = new CsvReader();
  const out: CsvRecord[] = [];
  let from = 0;
  for (const c of [...cuts, text.length]) {
    out.push(...r.push(text.slice(from, c)));
    from = c;
  }
  out.push(...r.end());
  return out;
}

describe("CsvReader", () => {
  it.each([
    ["a,b\r\nc,d\r\n", [["a", "b"], ["c", "d"]]],
    ["a,b\nc,d", [["a", "b"], ["c", "d"]]],
    ["a\rb\r", [["a"], ["b"]]],
    ['"a,b","say ""hi"""\r\n', [["a,b", 'say "hi"']]],
    ['"l1\r\nl2",x\r\n', [["l1\r\nl2", "x"]]],
    ['"ab"c,d\r\n', [["abc", "d"]]],
    ['a"b,c\r\n', [['a"b', "c"]]],
    [",\r\n", [["", ""]]],
    ["a\r\n\r\nb\r\n", [["a"], [""], ["b"]]],
    ["", []],
    ["x", [["x"]]],
  ])("%j", (text, expected) => {
    expect(readAll(text).map((r) => r.fields)).toEqual(expected);
  });

  it("tells quoted empty fields from unquoted ones", () => {
    const [rec] = readAll('"",,x\r\n');
    expect(rec!.fields).toEqual(["", "", "x"]);
    expect(rec!.quoted).toEqual([true, false, false]);
  });

  it("gives the line each record starts on", () => {
    expect(readAll('a\r\n"b\r\nc"\r\nd\r\n').map((r) => r.line)).toEqual([1, 2, 4]);
  });

  it("reads the same whatever the chunk boundaries", () => {
    const text = 'TABLE t\r\nt.a,t.b\r\n"x\r\n""y""",z\r\n\r\n\r\nEND';
    const whole = JSON.stringify(readAll(text));
    const differ: string[] = [];
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 3) {
        if (JSON.stringify(readAll(text, [i, j])) !== whole) differ.push(`${i},${j}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it("refuses a quoted field that is never closed (a cut-short file)", () => {
    expect(() => readAll('a,"b\r\nc')).toThrow(/line 1: a quoted field is never closed/);
  });

  it("reads back what csvRow writes", () => {
    const rows = [["a,b", 'q"q', "l1\r\nl2", ""], ["", "", "", ""], [" x ", "\t", "🐕", "<NULL>"]];
    const text = rows.map((r) => csvRow(r)).join("");
    expect(readAll(text).map((r) => r.fields)).toEqual(rows);
  });
});

describe("pyFloatRepr (Python repr of a float)", () => {
  it.each([
    [1.5, "1.5"],
    [3, "3.0"],
    [-0.1, "-0.1"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1e-4, "0.0001"],
    [1e-5, "1e-05"],
    [0.00012345, "0.00012345"],
    [1e15, "1000000000000000.0"],
    [1e16, "1e+16"],
    [12345678901234567, "1.2345678901234568e+16"],
    [1e22, "1e+22"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [1234567.125, "1234567.125"],
    [Number.POSITIVE_INFINITY, "inf"],
    [Number.NEGATIVE_INFINITY, "-inf"],
    [Number.NaN, "nan"],
    // the edges of the plain-digits fast path (checked against Python 3's repr)
    [1e-4, "0.0001"],
    [9.999999999999999e-5, "9.999999999999999e-05"],
    [1e16, "1e+16"],
    [9999999999999998, "9999999999999998.0"],
    [123456789012345.6, "123456789012345.6"],
    [-0.014474274527144632, "-0.014474274527144632"],
  ])("%s → %s", (n, expected) => {
    expect(pyFloatRepr(n)).toBe(expected);
  });
});

describe("cellText (values as web2py's exporter writes them)", () => {
  it.each([
    ["text", undefined, "text"],
    [42, { type: "INTEGER" }, "42"],
    [42, { type: "DOUBLE" }, "42.0"],
    [2.5, { type: "NUMERIC(10,2)" }, "2.50"], // its declared scale, as web2py writes it
    [2.5, { type: "NUMERIC" }, "2.5"],
    [1e-7, { type: "int(11)" }, "1e-07"],
    [3, { type: "double" }, "3.0"],
    [9007199254740993n, { type: "BIGINT" }, "9007199254740993"],
    [true, undefined, "True"],
    [false, undefined, "False"],
    [Buffer.from([0, 255, 16]), { type: "BLOB" }, "AP8Q"],
    [Buffer.from("aGVsbG8=", "latin1"), { type: "longblob" }, "aGVsbG8="],
    [Buffer.from("not base64!", "latin1"), { type: "longblob" }, "bm90IGJhc2U2NCE="],
    [new Date("2010-01-12T13:45:00.500Z"), undefined, "2010-01-12 13:45:00"],
  ] as const)("%s (%j) → %s", (value, column, expected) => {
    expect(cellText(value, column)).toBe(expected);
  });
});
