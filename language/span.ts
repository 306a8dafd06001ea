// Source positions. Every AST node and every diagnostic carries a Span so that
// errors, plans and the journal can point back at the exact runbook text.

export interface Span {
  /** Path of the file as given to the compiler (relative paths stay relative). */
  file: string;
  /** 0-based character offset into the file's text. */
  offset: number;
  /** 1-based line. */
  line: number;
  /** 1-based column, counted in characters. */
  column: number;
  /** Length in characters (0 for a point, e.g. end of file). */
  length: number;
}

export function spanBetween(first: Span, last: Span): Span {
  return {
    file: first.file,
    offset: first.offset,
    line: first.line,
    column: first.column,
    length: Math.max(0, last.offset + last.length - first.offset),
  };
}

export const NO_SPAN: Span = { file: "<none>", offset: 0, line: 1, column: 1, length: 0 };
