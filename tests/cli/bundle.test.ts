// scripts/bundle.mjs: the patch of Chevrotain's lexer that the bundles carry (its character
// table is worked out when asked, not filled at start-up) applies to the installed Chevrotain
// and gives the table's value for every character code.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a JavaScript build script without type declarations
import { patchCharIndex } from "../../scripts/bundle.mjs";

const patch = patchCharIndex as (source: string) => string | undefined;
const chevrotain = dirname(createRequire(import.meta.url).resolve("chevrotain"));
const lexerJs = readFileSync(join(chevrotain, "scan", "lexer.js"), "utf8");

/** `charCodeToOptimizedIndex` of a lexer.js text, after its `initCharCodeToOptimizedIndexMap` ran. */
function indexOf(source: string): (code: number) => number {
  const fn = (name: string) => {
    const m = new RegExp(`function ${name}\\([^)]*\\) \\{(?:\\}|[\\s\\S]*?\\n\\})`).exec(source);
    if (!m) throw new Error(`no ${name} in lexer.js`);
    return m[0];
  };
  const body = `let charCodeToOptimizedIdxMap = []; const minOptimizationVal = 256; const isEmpty = (a) => a.length === 0;
    ${fn("charCodeToOptimizedIndex")} ${fn("initCharCodeToOptimizedIndexMap")}
    initCharCodeToOptimizedIndexMap(); return charCodeToOptimizedIndex;`;
  return new Function(body)() as (code: number) => number;
}

describe("the bundles' patch of Chevrotain's character table", () => {
  it("applies to the installed Chevrotain and leaves no table to fill", () => {
    const patched = patch(lexerJs);
    expect(patched).toBeDefined();
    expect(lexerJs).toContain("new Array(65536)");
    expect(patched).not.toContain("new Array(65536)");
  });

  it("gives what the table held, for every character code", () => {
    const before = indexOf(lexerJs);
    const after = indexOf(patch(lexerJs)!);
    const differ: number[] = [];
    for (let c = 0; c < 65536; c++) if (after(c) !== before(c)) differ.push(c);
    expect(differ).toEqual([]);
    expect(after(0x263a)).toBe(255 + Math.floor(0x263a / 255));
  });

  it.each([
    ["another table size", lexerJs.replace("new Array(65536)", "new Array(1 << 16)")],
    ["another lookup", lexerJs.replace(": charCodeToOptimizedIdxMap[charCode];", ": charCodeToOptimizedIdxMap[charCode] | 0;")],
  ])("leaves a lexer.js with %s as it is", (_what, source) => {
    expect(patch(source)).toBeUndefined();
  });
});
