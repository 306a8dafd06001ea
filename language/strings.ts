// String literals: decodes the image of a string token (`"…"` or `"""…"""`) into the
// StringLit of ast.ts — escapes decoded, triple-quoted text dedented, and split into
// literal text and `${…}` interpolations, each part with its exact span in the source so
// that a diagnostic can point at `${hme}` itself. Used by to-ast.ts; bad escapes and bad
// interpolations become diagnostics, never exceptions.

import type { InterpPart, StringLit, TextPart } from "./ast.js";
import type { Diagnostic } from "./diagnostics.js";
import { messages } from "./messages.js";
import type { SourceText, Span } from "./span.js";

// The nodes of a decoded string. A large runbook has a few of them for every step, most of
// its AST: each keeps where it is in its file and makes its span when `span` is read, rather
// than holding a Span object of its own. `span` is not an own property, so they serialize
// through `toJSON` (with the span, in the order of a plain node) and tests compare them by
// that (tests/support/setup.ts). Nothing may spread one (`{ ...part }` loses the span).
// The three repeat their location fields rather than extend a common base class: a
// derived constructor measured a few percent slower on the parse benchmark.

/** Literal text of a string, escapes decoded. */
export class ParsedText implements TextPart {
  readonly kind = "text" as const;
  readonly #src: SourceText;
  readonly #offset: number;
  readonly #length: number;

  constructor(
    readonly value: string,
    src: SourceText,
    offset: number,
    length: number,
  ) {
    this.#src = src;
    this.#offset = offset;
    this.#length = length;
  }

  get span(): Span {
    return this.#src.span(this.#offset, this.#length);
  }

  toJSON(): TextPart {
    return { kind: this.kind, value: this.value, span: this.span };
  }
}

/** `${a.b}` or `${raw a}` in a string. */
export class ParsedInterp implements InterpPart {
  readonly kind = "interp" as const;
  readonly #src: SourceText;
  readonly #offset: number;
  readonly #length: number;

  constructor(
    readonly path: string[],
    readonly raw: boolean,
    src: SourceText,
    offset: number,
    length: number,
  ) {
    this.#src = src;
    this.#offset = offset;
    this.#length = length;
  }

  get span(): Span {
    return this.#src.span(this.#offset, this.#length);
  }

  toJSON(): InterpPart {
    return { kind: this.kind, path: this.path, raw: this.raw, span: this.span };
  }
}

/** A string literal: its parts, and whether it was triple-quoted. */
export class ParsedString implements StringLit {
  readonly kind = "string" as const;
  readonly #src: SourceText;
  readonly #offset: number;
  readonly #length: number;

  constructor(
    readonly parts: (TextPart | InterpPart)[],
    readonly triple: boolean,
    src: SourceText,
    offset: number,
    length: number,
  ) {
    this.#src = src;
    this.#offset = offset;
    this.#length = length;
  }

  get span(): Span {
    return this.#src.span(this.#offset, this.#length);
  }

  toJSON(): StringLit {
    return { kind: this.kind, parts: this.parts, triple: this.triple, span: this.span };
  }
}

/**
 * The path of `${name}`, one frozen array per name: a runbook names the same few variables
 * in thousands of strings, and every node of the AST stays in memory as long as it does.
 */
const singleNames = new Map<string, string[]>();
function sharedPath(path: string[]): string[] {
  if (path.length !== 1) return path;
  const name = path[0]!;
  let shared = singleNames.get(name);
  if (shared === undefined) {
    if (singleNames.size >= 10_000) singleNames.clear(); // a bound for a long-lived process
    shared = Object.freeze([name]) as string[];
    singleNames.set(name, shared);
  }
  return shared;
}

/** Whether `x` is one of the nodes above (tests compare them as plain nodes). */
export function isParsedStringNode(x: unknown): x is { toJSON(): unknown } {
  return x instanceof ParsedText || x instanceof ParsedInterp || x instanceof ParsedString;
}

/** Where a string token starts: chevrotain's IToken fields. */
export interface StringTokenLike {
  image: string;
  startOffset: number;
}

const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentChar = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isBlank = (c: number) => c === 32 || c === 9;

/** Decodes a string token. `terminated` is false for an unterminated string (already reported). */
export function decodeString(tok: StringTokenLike, src: SourceText, diagnostics: Diagnostic[], terminated = true): StringLit {
  const img = tok.image;
  const at = tok.startOffset;
  const triple = img.startsWith('"""');
  if (!triple && img.indexOf("\\") < 0 && img.indexOf("${") < 0) {
    // The common case: plain text on one line.
    const end = terminated && img.length >= 2 ? img.length - 1 : img.length;
    if (end <= 1) return new ParsedString([], triple, src, at, img.length);
    return new ParsedString([new ParsedText(img.slice(1, end), src, at + 1, end - 1)], triple, src, at, img.length);
  }
  if (!triple && img.indexOf("\\") < 0) {
    const parts = interpolatedLine(img, src, at, terminated);
    if (parts) return new ParsedString(parts, triple, src, at, img.length);
  }
  return new Decoder(img, src, at, triple, diagnostics).decode(terminated);
}

/**
 * The parts of a one-line string with interpolations and no escapes (a command, usually);
 * undefined when an interpolation is bad, for the Decoder to report.
 */
function interpolatedLine(img: string, src: SourceText, base: number, terminated: boolean): (TextPart | InterpPart)[] | undefined {
  const end = terminated && img.length >= 2 ? img.length - 1 : img.length;
  const parts: (TextPart | InterpPart)[] = [];
  let i = 1;
  while (i < end) {
    const j = img.indexOf("${", i);
    const stop = j < 0 || j + 1 >= end ? end : j;
    if (stop > i) parts.push(new ParsedText(img.slice(i, stop), src, base + i, stop - i));
    if (stop === end) break;
    const res = parseInterp(img, j, end);
    if (!res.ok) return undefined;
    parts.push(new ParsedInterp(sharedPath(res.path), res.raw, src, base + j, res.end - j));
    i = res.end;
  }
  return parts.slice();
}

/** `decodeString` without its shortcuts (tests compare the two). */
export function decodeStringInFull(tok: StringTokenLike, src: SourceText, diagnostics: Diagnostic[], terminated = true): StringLit {
  const triple = tok.image.startsWith('"""');
  return new Decoder(tok.image, src, tok.startOffset, triple, diagnostics).decode(terminated);
}

/** The general case: escapes, interpolations, triple-quoted text. */
class Decoder {
  private readonly parts: (TextPart | InterpPart)[] = [];
  private text = "";
  private tStart = -1;
  private tEnd = -1;

  constructor(
    private readonly img: string,
    private readonly src: SourceText,
    private readonly base: number,
    private readonly triple: boolean,
    private readonly diagnostics: Diagnostic[],
  ) {}

  /** The span of `length` characters at index `i` of the image. */
  private spanAt(i: number, length: number): Span {
    return this.src.span(this.base + i, length);
  }

  private addText(s: string, from: number, to: number) {
    if (this.tStart < 0) this.tStart = from;
    this.text += s;
    this.tEnd = to;
  }

  private flush() {
    if (this.tStart >= 0) {
      this.parts.push(new ParsedText(this.text, this.src, this.base + this.tStart, Math.max(0, this.tEnd - this.tStart)));
      this.text = "";
      this.tStart = -1;
    }
  }

  private blank(s: number, e: number): boolean {
    for (let k = s; k < e; k++) if (!isBlank(this.img.charCodeAt(k))) return false;
    return true;
  }

  /** The source ranges [start, end) whose text makes up the value, joined by "\n". */
  private ranges(terminated: boolean): [number, number][] {
    const img = this.img;
    if (!this.triple) return [[Math.min(1, img.length), terminated && img.length >= 2 ? img.length - 1 : img.length]];
    const start = 3;
    const end = terminated && img.length >= 6 && img.endsWith('"""') ? img.length - 3 : img.length;
    const lines: [number, number][] = [];
    let ls = start;
    for (let k = start; k < end; k++) {
      if (img.charCodeAt(k) === 10) {
        lines.push([ls, k > ls && img.charCodeAt(k - 1) === 13 ? k - 1 : k]);
        ls = k + 1;
      }
    }
    lines.push([ls, end]);
    // First and last blank lines dropped, common indentation removed.
    if (lines.length > 1 && this.blank(...lines[0]!)) lines.shift();
    if (lines.length > 1 && this.blank(...lines[lines.length - 1]!)) lines.pop();
    let indent = Infinity;
    for (const [s, e] of lines) {
      if (this.blank(s, e)) continue;
      let k = s;
      while (k < e && isBlank(img.charCodeAt(k))) k++;
      indent = Math.min(indent, k - s);
    }
    if (!Number.isFinite(indent)) indent = 0;
    return lines.map(([s, e]) => (this.blank(s, e) ? [e, e] : [s + indent, e]));
  }

  decode(terminated: boolean): StringLit {
    const img = this.img;
    const ranges = this.ranges(terminated);
    for (let r = 0; r < ranges.length; r++) {
      const [rs, re] = ranges[r]!;
      if (r > 0) {
        // The line break between two kept lines of a triple string.
        const prevEnd = ranges[r - 1]![1];
        this.addText("\n", prevEnd, prevEnd + 1);
      }
      let i = rs;
      while (i < re) {
        // Copy a run of plain characters at once.
        let j = i;
        while (j < re) {
          const c = img.charCodeAt(j);
          if (c === 92 /* \ */ || (c === 36 /* $ */ && j + 1 < re && img.charCodeAt(j + 1) === 123)) break;
          j++;
        }
        if (j > i) {
          this.addText(img.slice(i, j), i, j);
          i = j;
          continue;
        }
        if (img.charCodeAt(i) === 92) {
          i = this.escape(i, re);
          continue;
        }
        const res = parseInterp(img, i, re);
        if (res.ok) {
          this.flush();
          this.parts.push(new ParsedInterp(sharedPath(res.path), res.raw, this.src, this.base + i, res.end - i));
        } else {
          this.diagnostics.push({ severity: "error", code: "bad-interpolation", message: res.message, span: this.spanAt(i, res.end - i) });
        }
        i = res.end;
      }
    }
    this.flush();
    // A copy of the exact length: the array grown by push has room for 16 parts, and the
    // AST keeps it for as long as the runbook is in use.
    return new ParsedString(this.parts.slice(), this.triple, this.src, this.base, this.img.length);
  }

  /** Decodes the escape at `i`; returns the index after it. */
  private escape(i: number, re: number): number {
    const img = this.img;
    if (i + 1 >= re) {
      this.addText("\\", i, i + 1);
      return i + 1;
    }
    const e = img[i + 1]!;
    const decoded = e === '"' ? '"' : e === "\\" ? "\\" : e === "n" ? "\n" : e === "t" ? "\t" : e === "$" ? "$" : undefined;
    if (decoded === undefined) {
      this.diagnostics.push({
        severity: "warning",
        code: "unknown-escape",
        message: messages.unknownEscape(`\\${e}`),
        span: this.spanAt(i, 2),
        notes: [messages.unknownEscapeNote()],
      });
      this.addText(`\\${e}`, i, i + 2);
    } else this.addText(decoded, i, i + 2);
    return i + 2;
  }
}

type InterpResult = { ok: true; path: string[]; raw: boolean; end: number } | { ok: false; message: string; end: number };

const skipBlanks = (img: string, j: number, re: number) => {
  while (j < re && isBlank(img.charCodeAt(j))) j++;
  return j;
};
const identEnd = (img: string, j: number, re: number) => {
  if (j >= re || !isIdentStart(img.charCodeAt(j))) return j;
  j++;
  while (j < re && isIdentChar(img.charCodeAt(j))) j++;
  return j;
};

/** Parses `${ [raw] a.b.c }` starting at `i` (the `$`); `re` ends the range (a line). */
function parseInterp(img: string, i: number, re: number): InterpResult {
  const close = img.indexOf("}", i + 2);
  if (close < 0 || close >= re) return { ok: false, message: messages.unclosedInterpolation(), end: re };
  const end = close + 1;
  const bad = (what: string, after: string): InterpResult => ({ ok: false, message: messages.badInterpolation(img.slice(i, end), what, after), end });
  let j = skipBlanks(img, i + 2, re);
  if (j === close) return { ok: false, message: messages.emptyInterpolation(), end };
  let raw = false;
  let e = identEnd(img, j, re);
  if (e === j) return bad("a name", "${");
  let first = img.slice(j, e);
  j = e;
  if (first === "raw" && isBlank(img.charCodeAt(j))) {
    j = skipBlanks(img, j, re);
    if (j !== close) {
      raw = true;
      e = identEnd(img, j, re);
      if (e === j) return bad("a name", "raw");
      first = img.slice(j, e);
      j = e;
    }
  }
  const path = [first];
  for (;;) {
    j = skipBlanks(img, j, re);
    const c = img.charCodeAt(j);
    if (j === close) return { ok: true, path, raw, end };
    if (c !== 46 /* . */) return bad("`.` or `}`", path[path.length - 1]!);
    j = skipBlanks(img, j + 1, re);
    e = identEnd(img, j, re);
    if (e === j) return bad("a name", ".");
    path.push(img.slice(j, e));
    j = e;
  }
}

/** `30s` → 30000; compound `1h30m` too. NaN when the text is not a duration. */
export function durationMs(text: string): number {
  let total = 0;
  let i = 0;
  if (text.length === 0) return NaN;
  while (i < text.length) {
    let n = 0;
    const start = i;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + (c - 48);
    if (i === start) return NaN;
    const u = text.charCodeAt(i);
    if (u === 109 /* m */ && text.charCodeAt(i + 1) === 115 /* s */) {
      total += n;
      i += 2;
    } else if (u === 115 /* s */) {
      total += n * 1000;
      i++;
    } else if (u === 109) {
      total += n * 60_000;
      i++;
    } else if (u === 104 /* h */) {
      total += n * 3_600_000;
      i++;
    } else if (u === 100 /* d */) {
      total += n * 86_400_000;
      i++;
    } else return NaN;
  }
  return total;
}
