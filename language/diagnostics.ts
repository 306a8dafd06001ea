// The one Diagnostic type and the one renderer. Every error or warning about a
// runbook (lexer, parser, checker, include resolution) is a Diagnostic with the
// exact span of the offending text; `render*` turns a list of them into text
// (FILE:LINE:COLUMN, message, the source line, a caret under the whole token),
// JSON or GitHub annotations. Message wording lives in messages.ts.

import type { Span } from "./span.js";
import { maskUrlPasswords } from "./url-password.js";

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  /** Stable kebab-case code, e.g. "unknown-name", "syntax". */
  code: string;
  message: string;
  span: Span;
  /** Extra lines shown under the caret ("did you mean `home`?"). */
  notes?: string[];
}

export type DiagnosticFormat = "text" | "json" | "github";

export interface RenderOptions {
  /** The text of each file, by the path used in spans. */
  sources: Map<string, string>;
  color?: boolean;
}

const ansi = (code: string, on: boolean) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Sort by file, then position; errors before warnings at the same place. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.span.file.localeCompare(b.span.file) ||
      a.span.offset - b.span.offset ||
      (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1),
  );
}

/** `FILE:LINE:COLUMN: error: message`, the source line, and a caret under the span. */
export function renderText(diagnostics: readonly Diagnostic[], options: RenderOptions): string {
  const color = options.color ?? false;
  const red = ansi("1;31", color);
  const yellow = ansi("1;33", color);
  const bold = ansi("1", color);
  const blue = ansi("1;34", color);
  const out: string[] = [];
  for (const d of diagnostics) {
    const { file, line, column } = d.span;
    const sev = d.severity === "error" ? red("error") : yellow("warning");
    out.push(`${bold(`${file}:${line}:${column}`)}: ${sev}: ${d.message}`);
    const text = options.sources.get(file);
    const srcLine = text === undefined ? undefined : sourceLine(text, d.span);
    if (srcLine !== undefined) {
      const gutter = String(line);
      const pad = " ".repeat(gutter.length);
      // A URL's password in the line is shown as *** (a caret after it moves left by what that saved).
      const plainLine = srcLine.replace(/\t/g, " ");
      const lineText = maskUrlPasswords(plainLine);
      let start = Math.min(column - 1, plainLine.length);
      if (lineText !== plainLine) {
        let same = 0;
        while (same < lineText.length && lineText[same] === plainLine[same]) same++;
        if (start > same) start = Math.max(same, start - (plainLine.length - lineText.length));
        start = Math.min(start, lineText.length);
      }
      const width = Math.max(1, Math.min(d.span.length, lineText.length - start) || 1);
      out.push(`${blue(`${pad} |`)}`);
      out.push(`${blue(`${gutter} |`)} ${lineText}`);
      out.push(`${blue(`${pad} |`)} ${" ".repeat(start)}${(d.severity === "error" ? red : yellow)("^".repeat(width))}`);
      for (const n of d.notes ?? []) out.push(`${blue(`${pad} =`)} ${n}`);
    } else {
      for (const n of d.notes ?? []) out.push(`  = ${n}`);
    }
    out.push("");
  }
  return out.join("\n");
}

/**
 * The source line a span starts on, found from its offset (line breaks as the lexer counts
 * them: \n, \r\n and a lone \r); by its line number when the offset is not in the text.
 */
function sourceLine(text: string, span: Span): string | undefined {
  const at = span.offset;
  if (!Number.isInteger(at) || at < 0 || at > text.length) return text.split(/\r\n|\r|\n/)[span.line - 1];
  const start = Math.max(text.lastIndexOf("\n", at - 1), text.lastIndexOf("\r", at - 1)) + 1;
  let end = at;
  while (end < text.length && text[end] !== "\n" && text[end] !== "\r") end++;
  return text.slice(start, end);
}

export function renderJson(diagnostics: readonly Diagnostic[]): string {
  return JSON.stringify(
    diagnostics.map((d) => ({
      file: d.span.file,
      line: d.span.line,
      column: d.span.column,
      length: d.span.length,
      severity: d.severity,
      code: d.code,
      message: d.message,
      ...(d.notes?.length ? { notes: d.notes } : {}),
    })),
    null,
    2,
  );
}

const ghEscape = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const ghProp = (s: string) => ghEscape(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** `::error file=…,line=…,col=…::message` lines for pull-request checks. */
export function renderGithub(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map((d) => {
      const msg = [d.message, ...(d.notes ?? [])].join("\n");
      return `::${d.severity} file=${ghProp(d.span.file)},line=${d.span.line},col=${d.span.column}::${ghEscape(msg)}`;
    })
    .join("\n");
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], format: DiagnosticFormat, options: RenderOptions): string {
  const sorted = sortDiagnostics(diagnostics);
  if (format === "json") return renderJson(sorted);
  if (format === "github") return renderGithub(sorted);
  return renderText(sorted, options);
}

/** "1 error, 2 warnings" */
export function summarize(diagnostics: readonly Diagnostic[]): string {
  const e = diagnostics.filter((d) => d.severity === "error").length;
  const w = diagnostics.length - e;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return [plural(e, "error"), ...(w ? [plural(w, "warning")] : [])].join(", ");
}
