// Source positions. Every AST node and every diagnostic carries a Span so that
// errors, plans and the journal can point back at the exact runbook text.
//
// The parser makes spans by the hundred thousand for a large runbook, and most are never
// looked at. So the spans of a parsed file (`SourceText.span`) hold only where they start
// and how long they are; the line and the column are worked out from the file's line starts
// when something reads them (a diagnostic, a plan), and a span serializes to JSON with all
// five fields. Any plain object with the five fields is a Span too.

export interface Span {
  /** Path of the file as given to the compiler (relative paths stay relative). */
  readonly file: string;
  /** 0-based character offset into the file's text. */
  readonly offset: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in characters. */
  readonly column: number;
  /** Length in characters (0 for a point, e.g. end of file). */
  readonly length: number;
}

/** A file's text and where its lines start: the spans made from it find their line when asked. */
export class SourceText {
  /** Offsets at which lines start; built on first use. */
  private starts?: Int32Array;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  /** The span of `length` characters at `offset` (NaN for a token that recovery invented). */
  span(offset: number, length: number): Span {
    return new TextSpan(this, offset, length);
  }

  /** The 0-based index of the line holding `offset`. */
  private lineIndex(offset: number): number {
    const starts = (this.starts ??= lineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  lineAt(offset: number): number {
    return Number.isNaN(offset) ? NaN : this.lineIndex(offset) + 1;
  }

  columnAt(offset: number): number {
    if (Number.isNaN(offset)) return NaN;
    const i = this.lineIndex(offset);
    return offset - this.starts![i]! + 1;
  }
}

/** Line breaks as the lexer counts them: `\n`, `\r\n` and a lone `\r`. */
function lineStarts(text: string): Int32Array {
  const starts: number[] = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return Int32Array.from(starts);
}

class TextSpan implements Span {
  readonly #src: SourceText;

  constructor(
    src: SourceText,
    readonly offset: number,
    readonly length: number,
  ) {
    this.#src = src;
  }

  // (The guards are for copies made with this prototype, e.g. by a test library's diff.)
  get file(): string {
    return #src in this ? this.#src.file : "";
  }

  get line(): number {
    return #src in this ? this.#src.lineAt(this.offset) : NaN;
  }

  get column(): number {
    return #src in this ? this.#src.columnAt(this.offset) : NaN;
  }

  /** A span of the same file. */
  at(offset: number, length: number): Span {
    return new TextSpan(this.#src, offset, length);
  }

  toJSON(): Span {
    return plainSpan(this);
  }
}

/** Whether `x` is a span made by a SourceText (its line and column are worked out when read). */
export function isTextSpan(x: unknown): x is Span {
  return x instanceof TextSpan;
}

/** A span as a plain object with its five fields (for copies and comparisons). */
export function plainSpan(s: Span): Span {
  return { file: s.file, offset: s.offset, line: s.line, column: s.column, length: s.length };
}

/** `span` moved to `offset` with `length` (same file), e.g. a keyword within a longer span. */
export function respan(span: Span, offset: number, length: number): Span {
  if (span instanceof TextSpan) return span.at(offset, length);
  // A plain span knows only its own line: `offset` is taken to be on it.
  return { file: span.file, offset, line: span.line, column: span.column + (offset - span.offset), length };
}

export const NO_SPAN: Span = { file: "<none>", offset: 0, line: 1, column: 1, length: 0 };
