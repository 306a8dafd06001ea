// String literals: decodes the image of a string token (`"…"` or `"""…"""`) into the
// StringLit of ast.ts — escapes decoded, triple-quoted text dedented, and split into
// literal text and `${…}` interpolations, each part with its exact span in the source so
// that a diagnostic can point at `${hme}` itself. Used by to-ast.ts; bad escapes and bad
// interpolations become diagnostics, never exceptions.

import type { InterpPart, StringLit, TextPart } from "./ast.js";
import type { Diagnostic } from "./diagnostics.js";
import { messages } from "./messages.js";
import type { Span } from "./span.js";

/** Where a string token starts: chevrotain's IToken fields. */
export interface StringTokenLike {
  image: string;
  startOffset: number;
  startLine?: number;
  startColumn?: number;
}

const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentChar = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isBlank = (c: number) => c === 32 || c === 9;

/** Decodes a string token. `terminated` is false for an unterminated string (already reported). */
export function decodeString(tok: StringTokenLike, file: string, diagnostics: Diagnostic[], terminated = true): StringLit {
  const img = tok.image;
  const triple = img.startsWith('"""');
  const base = tok.startOffset;
  const line0 = tok.startLine ?? 1;
  const col0 = tok.startColumn ?? 1;

  // Map an index inside the image to a span. Single-line strings are cheap; triple strings
  // find the line by scanning for newlines before the index.
  let nlIndex: number[] | undefined;
  const spanAt = (i: number, length: number): Span => {
    if (!triple) return { file, offset: base + i, line: line0, column: col0 + i, length };
    if (!nlIndex) {
      nlIndex = [];
      for (let k = 0; k < img.length; k++) if (img.charCodeAt(k) === 10) nlIndex.push(k);
    }
    let ln = 0;
    while (ln < nlIndex.length && nlIndex[ln]! < i) ln++;
    const column = ln === 0 ? col0 + i : i - nlIndex[ln - 1]!;
    return { file, offset: base + i, line: line0 + ln, column, length };
  };
  const wholeSpan: Span = { file, offset: base, line: line0, column: col0, length: img.length };

  // The source ranges [start, end) whose text makes up the value, joined by "\n".
  const ranges: [number, number][] = [];
  if (!triple) {
    const end = terminated && img.length >= 2 ? img.length - 1 : img.length;
    ranges.push([Math.min(1, img.length), end]);
  } else {
    const start = 3;
    const end = terminated && img.length >= 6 && img.endsWith('"""') ? img.length - 3 : img.length;
    // Split into lines, each as [start, end) without its line break.
    const lines: [number, number][] = [];
    let ls = start;
    for (let k = start; k < end; k++) {
      if (img.charCodeAt(k) === 10) {
        lines.push([ls, k > ls && img.charCodeAt(k - 1) === 13 ? k - 1 : k]);
        ls = k + 1;
      }
    }
    lines.push([ls, end]);
    const blank = ([s, e]: [number, number]) => {
      for (let k = s; k < e; k++) if (!isBlank(img.charCodeAt(k))) return false;
      return true;
    };
    if (lines.length > 1 && blank(lines[0]!)) lines.shift();
    if (lines.length > 1 && blank(lines[lines.length - 1]!)) lines.pop();
    let indent = Infinity;
    for (const l of lines) {
      if (blank(l)) continue;
      let k = l[0];
      while (k < l[1] && isBlank(img.charCodeAt(k))) k++;
      indent = Math.min(indent, k - l[0]);
    }
    if (!Number.isFinite(indent)) indent = 0;
    for (const l of lines) ranges.push(blank(l) ? [l[1], l[1]] : [l[0] + indent, l[1]]);
  }

  const parts: (TextPart | InterpPart)[] = [];
  let text = "";
  let tStart = -1;
  let tEnd = -1;
  const addText = (s: string, from: number, to: number) => {
    if (tStart < 0) tStart = from;
    text += s;
    tEnd = to;
  };
  const flush = () => {
    if (tStart >= 0) {
      parts.push({ kind: "text", value: text, span: spanAt(tStart, Math.max(0, tEnd - tStart)) });
      text = "";
      tStart = -1;
    }
  };

  for (let r = 0; r < ranges.length; r++) {
    const [rs, re] = ranges[r]!;
    if (r > 0) {
      // The line break between two kept lines of a triple string.
      const prevEnd = ranges[r - 1]![1];
      addText("\n", prevEnd, prevEnd + 1);
    }
    let i = rs;
    while (i < re) {
      // Copy a run of plain characters at once.
      let j = i;
      while (j < re) {
        const c = img.charCodeAt(j);
        if (c === 92 /* \ */ || (c === 36 /* $ */ && img.charCodeAt(j + 1) === 123 && j + 1 < re)) break;
        j++;
      }
      if (j > i) {
        addText(img.slice(i, j), i, j);
        i = j;
        continue;
      }
      const c = img.charCodeAt(i);
      if (c === 92) {
        if (i + 1 >= re) {
          addText("\\", i, i + 1);
          i++;
          continue;
        }
        const e = img[i + 1]!;
        const decoded = e === '"' ? '"' : e === "\\" ? "\\" : e === "n" ? "\n" : e === "t" ? "\t" : e === "$" ? "$" : undefined;
        if (decoded === undefined) {
          diagnostics.push({
            severity: "warning",
            code: "unknown-escape",
            message: messages.unknownEscape(`\\${e}`),
            span: spanAt(i, 2),
            notes: [messages.unknownEscapeNote()],
          });
          addText(`\\${e}`, i, i + 2);
        } else addText(decoded, i, i + 2);
        i += 2;
        continue;
      }
      // `${`
      const r2 = parseInterp(img, i, re);
      if (r2.ok) {
        flush();
        parts.push({ kind: "interp", path: r2.path, raw: r2.raw, span: spanAt(i, r2.end - i) });
      } else {
        diagnostics.push({ severity: "error", code: "bad-interpolation", message: r2.message, span: spanAt(i, r2.end - i) });
      }
      i = r2.end;
    }
  }
  flush();
  return { kind: "string", parts, triple, span: wholeSpan };
}

type InterpResult = { ok: true; path: string[]; raw: boolean; end: number } | { ok: false; message: string; end: number };

/** Parses `${ [raw] a.b.c }` starting at `i` (the `$`); `re` ends the range (a line). */
function parseInterp(img: string, i: number, re: number): InterpResult {
  const close = img.indexOf("}", i + 2);
  const closeEnd = close >= 0 && close < re ? close + 1 : -1;
  const fail = (message: string): InterpResult => ({ ok: false, message, end: closeEnd > 0 ? closeEnd : re });
  if (closeEnd < 0) return { ok: false, message: messages.unclosedInterpolation(), end: re };
  const whole = img.slice(i, closeEnd);
  let j = i + 2;
  const skip = () => {
    while (j < re && isBlank(img.charCodeAt(j))) j++;
  };
  const ident = (): string | undefined => {
    if (j >= re || !isIdentStart(img.charCodeAt(j))) return undefined;
    const s = j;
    while (j < re && isIdentChar(img.charCodeAt(j))) j++;
    return img.slice(s, j);
  };
  skip();
  if (img.charCodeAt(j) === 125) return fail(messages.emptyInterpolation());
  let raw = false;
  let first = ident();
  if (first === undefined) return fail(messages.badInterpolation(whole, "a name", "${"));
  if (first === "raw" && isBlank(img.charCodeAt(j))) {
    skip();
    if (img.charCodeAt(j) !== 125) {
      raw = true;
      first = ident();
      if (first === undefined) return fail(messages.badInterpolation(whole, "a name", "raw"));
    }
  }
  const path = [first];
  for (;;) {
    skip();
    const c = img.charCodeAt(j);
    if (c === 125) return { ok: true, path, raw, end: j + 1 };
    if (c === 46) {
      j++;
      skip();
      const m = ident();
      if (m === undefined) return fail(messages.badInterpolation(whole, "a name", "."));
      path.push(m);
      continue;
    }
    return fail(messages.badInterpolation(whole, "`.` or `}`", path[path.length - 1]!));
  }
}

/** `30s` → 30000; compound `1h30m` too. NaN when the text is not a duration. */
export function durationMs(text: string): number {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : unit === "h" ? 3_600_000 : 86_400_000);
    at = re.lastIndex;
  }
  return at === text.length && at > 0 ? total : NaN;
}
