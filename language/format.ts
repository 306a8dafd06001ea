// The formatter: one canonical layout for runbook source (`runbook fmt`).
// It works from the lexer's token stream (tokens + comments, the whitespace
// between them only tells where the author broke lines), so every comment and
// every string is printed exactly as written and the sequence of non-whitespace
// tokens never changes. The parser (and the string decoder) is used only to
// refuse input that does not lex or parse cleanly: then the diagnostics come
// back and the text is returned untouched. `cli/commands/fmt.ts` calls it; the
// layout rules are written down in docs/formatting.md.

import type { IToken, TokenType } from "chevrotain";
import { hasErrors, type Diagnostic } from "./diagnostics.js";
import { parseSource } from "./parser.js";
import { SourceText } from "./span.js";
import { STATEMENT_KINDS, STATEMENTS } from "./statements.js";
import { decodeString } from "./strings.js";
import {
  Comma,
  Dot,
  EqEq,
  Equals,
  Gt,
  GtEq,
  Identifier,
  Kw,
  LBrace,
  LBracket,
  LParen,
  Lt,
  LtEq,
  NotEq,
  RBrace,
  RBracket,
  RParen,
  StringLiteral,
  TripleString,
} from "./tokens.js";

export interface FormatResult {
  /** The canonical text; exactly the input when the input has errors. */
  output: string;
  /** Lexer and parser diagnostics; when any is an error, `output === text`. */
  diagnostics: Diagnostic[];
}

/** Formats runbook source. Never throws on bad input and never formats broken input. */
export function format(text: string, file = "<input>"): FormatResult {
  const parsed = parseSource(file, text);
  const diagnostics = [...parsed.diagnostics];
  // The parser takes any string token; what is inside one (escapes, `${…}`) is
  // checked when it is decoded. Broken interpolations are errors, unknown escapes
  // warnings. (Errors that need the AST, such as a second `finally`, are left to
  // `runbook check`: formatting cannot make them worse.)
  if (!hasErrors(diagnostics)) {
    const src = new SourceText(file, text);
    for (const tok of parsed.tokens) {
      if (tok.tokenType === StringLiteral || tok.tokenType === TripleString) decodeString(tok, src, diagnostics);
    }
  }
  if (hasErrors(diagnostics)) return { output: text, diagnostics };
  return { output: layout(text, parsed.tokens, parsed.comments), diagnostics };
}

// ---------------------------------------------------------------- grammar facts

/** What kind of top-level item each statement keyword starts (for blank lines). */
const TOP_KIND: Record<string, string> = {
  runbook: "header",
  description: "header",
  owner: "header",
  default: "header",
  include: "decl",
  param: "decl",
  var: "decl",
  secret: "decl",
  host: "decl",
  database: "decl",
  env: "env",
  section: "section",
  step: "step",
  finally: "finally",
};

/**
 * Keywords that begin a statement (the grammar is newline-insensitive, so the
 * formatter decides where lines break from these). Contextual exceptions are in
 * `isStart`: `env` starts a statement only as `env NAME {`; `timeout` written
 * on the line of a `wait` (that has none yet) is the wait's clause; `run` is a
 * value after `require`, `when`, an operator…; and `KEYWORD.` is a member
 * reference (`run.id`), not a statement.
 */
const STATEMENT_KEYWORDS: ReadonlySet<string> = new Set([
  ...Object.keys(TOP_KIND),
  "protected",
  "approvals",
  "replace",
  ...STATEMENT_KINDS.map((k) => STATEMENTS[k].keyword),
]);

/** Token types after which a keyword is read as a value, not as a statement. */
const VALUE_BEFORE: ReadonlySet<TokenType> = new Set([
  Kw.require,
  Kw.until,
  Kw.when,
  Kw.unless,
  Kw.not,
  Kw.and,
  Kw.or,
  Kw.contains,
  Kw.matches,
  Kw.in,
  LParen,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
]);

const KEYWORD_TYPES: ReadonlySet<TokenType> = new Set(Object.values(Kw));

/** Declarations whose `=` signs are aligned in runs. */
const DECL_KEYWORDS: ReadonlySet<string> = new Set(["param", "var", "secret", "host", "database"]);

/** Top-level kinds that always get exactly one blank line before them. */
function needsBlank(prev: string, next: string): boolean {
  return prev !== next || next === "section" || next === "finally";
}

const INDENT = 2;
/** Continuation lines of a statement: two levels, so they stand out from a block's body. */
const CONTINUATION = 2 * INDENT;

// ---------------------------------------------------------------- layout

interface Line {
  /** Indentation in spaces. */
  indent: number;
  /** The line's text after the indentation. */
  text: string;
  /** How many tokens (and comments) the line holds. */
  count: number;
  /** A blank line comes before this one. */
  blank: boolean;
  /** The statement this line belongs to; -1 for a comment between statements. */
  stmt: number;
  /** First line of a param/var/secret/host/database statement. */
  declStart: boolean;
  /** For aligned declarations: where ` =` starts in `text` (the width of `keyword name`); else -1. */
  alignAt: number;
}

interface OpenList {
  /** Index of the `[` item. */
  open: number;
  /** The author broke the list over lines: one item per line. */
  multiline: boolean;
  itemIndent: number;
  closeIndent: number;
}

interface Statement {
  id: number;
  word: string;
  indent: number;
  /** A `wait` statement that already has its `timeout` clause. */
  waitTimeout: boolean;
}

/** Line breaks in text[from, to) (only whitespace lies there): `\n`, `\r\n` or a lone `\r`. */
function countBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === 10) n++;
    else if (c === 13 && text.charCodeAt(k + 1) !== 10) n++;
  }
  return n;
}

/** The canonical layout of `text`, given its tokens and comments (the text parses). */
function layout(text: string, tokens: readonly IToken[], comments: readonly IToken[]): string {
  // Tokens and comments merged in source order, with the line breaks before each.
  const n = tokens.length + comments.length;
  const its: IToken[] = new Array(n);
  const isComment = new Uint8Array(n);
  const breaks = new Int32Array(n);
  for (let k = 0, a = 0, b = 0, prevEnd = 0; k < n; k++) {
    const takeComment = b < comments.length && (a >= tokens.length || comments[b]!.startOffset < tokens[a]!.startOffset);
    const t = takeComment ? comments[b++]! : tokens[a++]!;
    its[k] = t;
    isComment[k] = takeComment ? 1 : 0;
    breaks[k] = countBreaks(text, prevEnd, t.startOffset);
    prevEnd = t.startOffset + t.image.length;
  }
  const typeOf = (k: number): TokenType => its[k]!.tokenType;
  const wordOf = (k: number): string | undefined => (KEYWORD_TYPES.has(its[k]!.tokenType) ? its[k]!.image : undefined);

  // Next non-comment item after each item (-1 at the end).
  const nextSig = new Int32Array(n);
  for (let k = n - 1, next = -1; k >= 0; k--) {
    nextSig[k] = next;
    if (!isComment[k]) next = k;
  }
  // Which lists the author broke over lines (a line break anywhere inside,
  // including inside a nested list).
  const multiline = new Uint8Array(n);
  {
    const stack: number[] = [];
    for (let k = 0; k < n; k++) {
      if (stack.length > 0 && breaks[k]! > 0) multiline[stack[stack.length - 1]!] = 1;
      const tt = typeOf(k);
      if (tt === LBracket) stack.push(k);
      else if (tt === RBracket && stack.length > 0) {
        const open = stack.pop()!;
        if (multiline[open] && stack.length > 0) multiline[stack[stack.length - 1]!] = 1;
      }
    }
  }

  const lines: Line[] = [];
  let cur: Line | undefined;
  /** The next token must start a new line (after `{`, `}`, a comment, …). */
  let breakNext = false;
  /** The last line opened a block: no blank line may follow it. */
  let justOpened = false;
  /** `{` opened inside a list (a group member's own values), not yet closed. */
  let inlineBraces = 0;
  let depth = 0;
  let stmtCount = 0;
  let stmt: Statement = { id: 0, word: "", indent: 0, waitTimeout: false };
  const lists: OpenList[] = [];
  let prevTok = -1;
  let prevTopKind: string | undefined;
  /** First line (a comment) after the previous top-level item, if any. */
  let gapStart = -1;

  const newLine = (indent: number, stmtId: number, blank: boolean, first: string): Line => {
    const line: Line = {
      indent,
      text: first,
      count: 1,
      blank: blank && lines.length > 0 && !justOpened,
      stmt: stmtId,
      declStart: false,
      alignAt: -1,
    };
    lines.push(line);
    cur = line;
    breakNext = false;
    justOpened = false;
    return line;
  };

  const isStart = (k: number): boolean => {
    const w = wordOf(k);
    if (w === undefined || !STATEMENT_KEYWORDS.has(w)) return false;
    const next = nextSig[k]!;
    if (next >= 0 && typeOf(next) === Dot) return false;
    if (w === "env") {
      if (next < 0 || typeOf(next) !== Identifier) return false;
      const after = nextSig[next]!;
      return after >= 0 && typeOf(after) === LBrace;
    }
    // The parser reads a wait's `timeout` only on the line of what precedes it.
    if (w === "timeout" && stmt.word === "wait" && !stmt.waitTimeout && breaks[k] === 0) return false;
    // `run` is also a value (`require run == …` reads the built-in `run`).
    if (w === "run" && prevTok >= 0 && VALUE_BEFORE.has(typeOf(prevTok))) return false;
    // `run "…" into secret NAME`: the capture's `secret`, not a declaration.
    if (w === "secret" && prevTok >= 0 && its[prevTok]!.image === "into") return false;
    return true;
  };

  for (let k = 0; k < n; k++) {
    const tok = its[k]!;

    // ------------------------------------------------------------ comments
    if (isComment[k]) {
      const image = tok.image.replace(/[ \t]+$/, "");
      if (cur !== undefined && breaks[k] === 0) {
        cur.text += ` ${image}`;
        cur.count++;
        breakNext = true;
        continue;
      }
      const list = lists[lists.length - 1];
      let indent: number;
      let stmtId: number;
      let between = false;
      if (list?.multiline) {
        indent = list.itemIndent;
        stmtId = stmt.id;
      } else {
        const next = nextSig[k]!;
        const prevType = prevTok >= 0 ? typeOf(prevTok) : undefined;
        between = prevTok < 0 || next < 0 || prevType === LBrace || prevType === RBrace || typeOf(next) === RBrace || isStart(next);
        indent = between ? depth * INDENT : stmt.indent + CONTINUATION;
        stmtId = between ? -1 : stmt.id;
      }
      newLine(indent, stmtId, between && breaks[k]! >= 2, image);
      if (between && depth === 0 && prevTopKind !== undefined && gapStart < 0) gapStart = lines.length - 1;
      breakNext = true;
      continue;
    }

    // ------------------------------------------------------------ tokens
    const type = tok.tokenType;

    // A group member's own values (`"app@w1" { role = "primary" }`) stay on the member's line.
    if (type === RBrace && inlineBraces > 0 && cur !== undefined) {
      inlineBraces--;
      cur.text += " }";
      cur.count++;
      prevTok = k;
      continue;
    }
    if (type === RBrace) {
      depth = Math.max(0, depth - 1);
      const id = ++stmtCount;
      justOpened = false;
      newLine(depth * INDENT, id, false, "}");
      stmt = { id, word: "}", indent: depth * INDENT, waitTimeout: false };
      breakNext = true;
      prevTok = k;
      continue;
    }

    const list = lists[lists.length - 1];
    if (type === RBracket && list?.multiline) {
      lists.pop();
      if (k === list.open + 1 && cur !== undefined && !breakNext) {
        cur.text += "]"; // `[]`
        cur.count++;
      } else newLine(list.closeIndent, stmt.id, false, "]");
      prevTok = k;
      continue;
    }

    let line: Line;
    if (isStart(k)) {
      const word = tok.image;
      stmt = { id: ++stmtCount, word, indent: depth * INDENT, waitTimeout: false };
      line = newLine(depth * INDENT, stmt.id, breaks[k]! >= 2, word);
      line.declStart = DECL_KEYWORDS.has(word);
      if (depth === 0) {
        const kind = TOP_KIND[word] ?? word;
        if (prevTopKind !== undefined && needsBlank(prevTopKind, kind)) {
          const from = gapStart >= 0 ? gapStart : lines.length - 1;
          let has = false;
          for (let j = from; j < lines.length && !has; j++) has = lines[j]!.blank;
          if (!has) lines[from]!.blank = true;
        }
        prevTopKind = kind;
        gapStart = -1;
      }
    } else if (list?.multiline && (prevTok === list.open || typeOf(prevTok) === Comma)) {
      line = newLine(list.itemIndent, stmt.id, false, tok.image);
    } else if (cur === undefined || breakNext) {
      line = newLine(list?.multiline ? list.itemIndent : stmt.indent + CONTINUATION, stmt.id, false, tok.image);
    } else {
      line = cur;
      const prevType = typeOf(prevTok);
      const tight =
        prevType === LBracket || prevType === LParen || prevType === Dot || type === RBracket || type === RParen || type === Comma || type === Dot;
      if (type === Equals && line.declStart && line.count === 2 && prevType === Identifier) line.alignAt = line.text.length;
      line.text += tight ? tok.image : ` ${tok.image}`;
      line.count++;
    }
    prevTok = k;

    if (type === Kw.timeout && stmt.word === "wait") stmt.waitTimeout = true;

    if (type === LBrace && lists.length > 0) {
      inlineBraces++;
    } else if (type === LBrace) {
      // `{}`: an empty block (nothing, not even a comment, inside) stays on the line.
      if (k + 1 < n && typeOf(k + 1) === RBrace && !isComment[k + 1]) {
        line.text += "}";
        line.count++;
        prevTok = ++k;
        breakNext = true;
        continue;
      }
      depth++;
      breakNext = true;
      justOpened = true;
    } else if (type === LBracket) {
      lists.push({ open: k, multiline: multiline[k] === 1, itemIndent: line.indent + INDENT, closeIndent: line.indent });
    } else if (type === RBracket) {
      lists.pop();
    }
  }

  alignDeclarations(lines);

  if (lines.length === 0) return "";
  const out: string[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    if (line.blank && k > 0) out.push("");
    out.push(line.indent > 0 ? " ".repeat(line.indent) + line.text : line.text);
  }
  out.push("");
  return out.join("\n");
}

/**
 * Pads the names of consecutive declarations at the same level so their `=`
 * signs line up. A run ends at a blank line, a comment line, any other
 * statement, or a declaration whose `=` is not on its first line.
 */
function alignDeclarations(lines: Line[]): void {
  let run: Line[] = [];
  let lastDecl = -1;
  const flush = () => {
    if (run.length > 1) {
      let width = 0;
      for (const l of run) width = Math.max(width, l.alignAt);
      for (const l of run) {
        if (l.alignAt < width) l.text = l.text.slice(0, l.alignAt) + " ".repeat(width - l.alignAt) + l.text.slice(l.alignAt);
      }
    }
    run = [];
  };
  for (const line of lines) {
    if (line.declStart) {
      if (line.blank || (run.length > 0 && run[0]!.indent !== line.indent)) flush();
      if (line.alignAt >= 0) run.push(line);
      else flush();
      lastDecl = line.stmt;
    } else if (line.stmt !== lastDecl || line.stmt === -1 || line.blank) {
      flush();
      lastDecl = -1;
    }
  }
  flush();
}
