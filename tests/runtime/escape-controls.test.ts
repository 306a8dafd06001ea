// The one escaping of terminal control characters that every view uses: what each
// control becomes, the fast path against the plain way (one character at a time),
// plain data escaped in depth, and JSON that holds the raw text with no control
// character a terminal would act on.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeControls, escapeControlsIn, escapeControlsPlain, hasControls, toTerminalJson } from "../../runtime/views/escape-controls.js";

/** Every character a terminal acts on, but newline and tab. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

describe("escapeControls", () => {
  it.each([
    ["plain text", "plain text"],
    ["\u001b]0;pwned\u0007", "\\e]0;pwned\\a"],
    ["\u001b[2J\u001b[H", "\\e[2J\\e[H"],
    ["\u001b]0;title\u001b\\", "\\e]0;title\\e\\"],
    ["a\tb\nc", "a\tb\nc"],
    ["safe\rrm -rf /", "safe\\rrm -rf /"],
    ["nul\u0000bs\u0008vt\u000bff\u000c", "nul\\0bs\\bvt\\vff\\f"],
    ["\u0001\u001f\u007f", "\\x01\\x1f\\x7f"],
    ["c1 csi\u009b2J nel\u0085", "c1 csi\\x9b2J nel\\x85"],
    ["é ü 日本 \u00a0", "é ü 日本 \u00a0"],
  ])("%j shows as %j", (raw, shown) => {
    expect(escapeControls(raw)).toBe(shown);
    expect(escapeControlsPlain(raw)).toBe(shown);
    expect(hasControls(raw)).toBe(raw !== shown);
  });

  it("gives the same text as the plain way, for any text (the fast path is only a shortcut)", () => {
    const controlish = fc.constantFrom("\u001b", "\u0007", "\r", "\n", "\t", "\u0000", "\u007f", "\u009b", "\u0085", "\u00a0", "x", "\\", "日");
    const text = fc.oneof(fc.string({ unit: "binary" }), fc.array(controlish).map((a) => a.join("")));
    fc.assert(
      fc.property(text, (s) => {
        const shown = escapeControls(s);
        expect(shown).toBe(escapeControlsPlain(s));
        expect(shown).not.toMatch(RAW_CONTROL);
        // Text without controls is handed back as it is.
        if (!RAW_CONTROL.test(s)) expect(shown).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it("escapes every string of plain data in depth, and hands back what needs nothing", () => {
    const clean = { a: "x", b: ["y", { c: "z" }], n: 1, t: true, u: null };
    expect(escapeControlsIn(clean)).toBe(clean);
    const dirty = { title: "t\u001b[2J", steps: [{ id: "s", output: "o\u0007" }], count: 2, fine: { a: "b" } };
    const shown = escapeControlsIn(dirty);
    expect(shown).toEqual({ title: "t\\e[2J", steps: [{ id: "s", output: "o\\a" }], count: 2, fine: { a: "b" } });
    expect(shown.fine).toBe(dirty.fine);
    expect(dirty.title).toBe("t\u001b[2J"); // not changed in place
  });
});

describe("toTerminalJson", () => {
  it("is the same JSON (the raw text comes back) with no control character a terminal would act on", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary" }), fc.string({ unit: "binary" })), (value) => {
        const json = toTerminalJson(value, 2);
        expect(JSON.parse(json)).toEqual(value);
        expect(json.replaceAll("\n", "")).not.toMatch(RAW_CONTROL);
      }),
      { numRuns: 500 },
    );
  });

  it("writes C1 controls and DEL as \\u escapes", () => {
    expect(toTerminalJson({ t: "\u009b2J\u007f\u001b]0;x\u0007" })).toBe('{"t":"\\u009b2J\\u007f\\u001b]0;x\\u0007"}');
  });
});
