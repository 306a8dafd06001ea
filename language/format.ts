// The formatter: one canonical layout for runbook source (`runbook fmt`).
// It works from the lexer's token stream (tokens + comments, the whitespace
// between them only tells where the author broke lines), so every comment and
// every string is printed exactly as written and the sequence of non-whitespace
// tokens never changes. The parser (and the string decoder) is used only to
// refuse input that does not lex or parse cleanly: then the diagnostics come
// back and the text is returned untouched. `cli/commands/fmt.ts` calls it; the
// layout rules are written down in docs/formatting.md.

import type { IToken } from "chevrotain";
import { hasErrors, type Diagnostic } from "./diagnostics.js";
import { parseSource } from "./parser.js";
import { decodeString } from "./strings.js";
import { StringLiteral, TripleString } from "./tokens.js";

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
    for (const tok of parsed.tokens) {
      if (tok.tokenType === StringLiteral || tok.tokenType === TripleString) decodeString(tok, file, diagnostics);
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
  "require",
  "confirm",
  "manual",
  "run",
  "edit",
  "replace",
  "upload",
  "download",
  "sql",
  "export",
  "import",
  "sync",
  "wait",
  "note",
  "undo",
  "timeout",
  "retry",
  "allow",
  "parallel",
]);

/** Token types after which a keyword is read as a value, not as a statement. */
const VALUE_BEFORE: ReadonlySet<string> = new Set([
  "Kw_require",
  "Kw_until",
  "Kw_when",
  "Kw_unless",
  "Kw_not",
  "Kw_and",
  "Kw_or",
  "Kw_contains",
  "Kw_matches",
  "Kw_in",
  "LParen",
  "EqEq",
  "NotEq",
  "LtEq",
  "GtEq",
  "Lt",
  "Gt",
]);

/** Declarations whose `=` signs are aligned in runs. */
const DECL_KEYWORDS: ReadonlySet<string> = new Set(["param", "var", "secret", "host", "database"]);

/** Top-level kinds that always get exactly one blank line before them. */
function needsBlank(prev: string, next: string): boolean {
  return prev !== next || next === "section" || next === "finally";
}

const INDENT = 2;
/** Continuation lines of a statement: two levels, so they stand out from a block's body. */
const CONTINUATION = 2 * INDENT;

// ---------------------------------------------------------------- tokens

interface Item {
  comment: boolean;
  /** The token's text as written (comments without trailing blanks). */
  image: string;
  /** Token type name: "Identifier", "LBrace", "Kw_step", … ("Comment" for comments). */
  type: string;
  /** The keyword, when the token is one. */
  word: string | undefined;
  /** Line breaks in the whitespace before this item. */
  breaks: number;
}

function countBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === 10) n++;
    else if (c === 13 && text.charCodeAt(k + 1) !== 10) n++;
  }
  return n;
}

/** Tokens and comments merged in source order. */
function items(text: string, toks: readonly IToken[], coms: readonly IToken[]): Item[] {
  const out: Item[] = new Array(toks.length + coms.length);
  let a = 0;
  let b = 0;
  let prevEnd = 0;
  for (let k = 0; k < out.length; k++) {
    const takeComment = b < coms.length && (a >= toks.length || coms[b].startOffset < toks[a].startOffset);
    const t = takeComment ? coms[b++] : toks[a++];
    const type = t.tokenType.name;
    out[k] = {
      comment: takeComment,
      image: takeComment ? t.image.replace(/[ \t]+$/, "") : t.image,
      type,
      word: type.startsWith("Kw_") ? t.image : undefined,
      breaks: countBreaks(text, prevEnd, t.startOffset),
    };
    prevEnd = t.startOffset + t.image.length;
  }
  return out;
}

// ---------------------------------------------------------------- layout

interface Line {
  /** Indentation in spaces. */
  indent: number;
  /** The line's text in pieces, each with the space before it. */
  parts: string[];
  /** A blank line comes before this one. */
  blank: boolean;
  /** The statement this line belongs to; -1 for a comment between statements. */
  stmt: number;
  /** First line of a param/var/secret/host/database statement. */
  declStart: boolean;
  /** For aligned declarations: index in `parts` of the ` =` piece and the width before it. */
  align: { index: number; head: number } | undefined;
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

/** The canonical layout of `text`, given its tokens and comments (the text parses). */
function layout(text: string, tokens: readonly IToken[], comments: readonly IToken[]): string {
  const its = items(text, tokens, comments);
  const n = its.length;

  // Next non-comment item after each item (-1 at the end).
  const nextSig = new Int32Array(n);
  for (let k = n - 1, next = -1; k >= 0; k--) {
    nextSig[k] = next;
    if (!its[k].comment) next = k;
  }
  // Which lists the author broke over lines (a line break anywhere inside,
  // including inside a nested list).
  const multiline = new Uint8Array(n);
  {
    const stack: number[] = [];
    for (let k = 0; k < n; k++) {
      const it = its[k];
      if (stack.length > 0 && it.breaks > 0) multiline[stack[stack.length - 1]] = 1;
      if (it.type === "LBracket") stack.push(k);
      else if (it.type === "RBracket" && stack.length > 0) {
        const open = stack.pop()!;
        if (multiline[open] && stack.length > 0) multiline[stack[stack.length - 1]] = 1;
      }
    }
  }

  const lines: Line[] = [];
  let cur: Line | undefined;
  /** The next token must start a new line (after `{`, `}`, a comment, …). */
  let breakNext = false;
  /** The last line opened a block: no blank line may follow it. */
  let justOpened = false;
  let depth = 0;
  let stmtCount = 0;
  let stmt: Statement = { id: 0, word: "", indent: 0, waitTimeout: false };
  const lists: OpenList[] = [];
  let prevTok = -1;
  let prevTopKind: string | undefined;
  /** First line (a comment) after the previous top-level item, if any. */
  let gapStart = -1;

  const newLine = (indent: number, stmtId: number, blank: boolean): Line => {
    const line: Line = { indent, parts: [], blank: blank && lines.length > 0 && !justOpened, stmt: stmtId, declStart: false, align: undefined };
    lines.push(line);
    cur = line;
    breakNext = false;
    justOpened = false;
    return line;
  };

  const isStart = (k: number): boolean => {
    const w = its[k].word;
    if (w === undefined || !STATEMENT_KEYWORDS.has(w)) return false;
    const next = nextSig[k];
    if (next >= 0 && its[next].type === "Dot") return false;
    if (w === "env") {
      if (next < 0 || its[next].type !== "Identifier") return false;
      const after = nextSig[next];
      return after >= 0 && its[after].type === "LBrace";
    }
    // The parser reads a wait's `timeout` only on the line of what precedes it.
    if (w === "timeout" && stmt.word === "wait" && !stmt.waitTimeout && its[k].breaks === 0) return false;
    // `run` is also a value (`require run == …` reads the built-in `run`).
    if (w === "run" && prevTok >= 0 && VALUE_BEFORE.has(its[prevTok].type)) return false;
    return true;
  };

  const topList = (): OpenList | undefined => lists[lists.length - 1];

  for (let k = 0; k < n; k++) {
    const it = its[k];

    // ------------------------------------------------------------ comments
    if (it.comment) {
      if (cur !== undefined && cur.parts.length > 0 && it.breaks === 0 && lines.length > 0) {
        cur.parts.push(` ${it.image}`);
        breakNext = true;
        continue;
      }
      const list = topList();
      let indent: number;
      let stmtId: number;
      let between = false;
      if (list?.multiline) {
        indent = list.itemIndent;
        stmtId = stmt.id;
      } else {
        const next = nextSig[k];
        const prevType = prevTok >= 0 ? its[prevTok].type : "";
        between =
          prevTok < 0 ||
          next < 0 ||
          prevType === "LBrace" ||
          prevType === "RBrace" ||
          its[next].type === "RBrace" ||
          isStart(next);
        indent = between ? depth * INDENT : stmt.indent + CONTINUATION;
        stmtId = between ? -1 : stmt.id;
      }
      const line = newLine(indent, stmtId, between && it.breaks >= 2);
      line.parts.push(it.image);
      if (between && depth === 0 && prevTopKind !== undefined && gapStart < 0) gapStart = lines.length - 1;
      breakNext = true;
      continue;
    }

    // ------------------------------------------------------------ tokens
    const type = it.type;

    if (type === "RBrace") {
      depth = Math.max(0, depth - 1);
      const id = ++stmtCount;
      justOpened = false;
      const line = newLine(depth * INDENT, id, false);
      line.parts.push("}");
      stmt = { id, word: "}", indent: depth * INDENT, waitTimeout: false };
      breakNext = true;
      prevTok = k;
      continue;
    }

    const list = topList();
    if (type === "RBracket" && list?.multiline) {
      lists.pop();
      if (prevTok === list.open && k === list.open + 1 && cur !== undefined && !breakNext) cur.parts.push("]");
      else newLine(list.closeIndent, stmt.id, false).parts.push("]");
      prevTok = k;
      continue;
    }

    let line: Line;
    if (isStart(k)) {
      const word = it.word!;
      stmt = { id: ++stmtCount, word, indent: depth * INDENT, waitTimeout: false };
      line = newLine(depth * INDENT, stmt.id, it.breaks >= 2);
      line.declStart = DECL_KEYWORDS.has(word);
      if (depth === 0) {
        const kind = TOP_KIND[word] ?? word;
        if (prevTopKind !== undefined && needsBlank(prevTopKind, kind)) {
          const from = gapStart >= 0 ? gapStart : lines.length - 1;
          let has = false;
          for (let j = from; j < lines.length && !has; j++) has = lines[j].blank;
          if (!has) lines[from].blank = true;
        }
        prevTopKind = kind;
        gapStart = -1;
      }
    } else if (list?.multiline && (prevTok === list.open || its[prevTok].type === "Comma")) {
      line = newLine(list.itemIndent, stmt.id, false);
    } else if (cur === undefined || breakNext) {
      line = newLine(list?.multiline ? list.itemIndent : stmt.indent + CONTINUATION, stmt.id, false);
    } else {
      line = cur;
    }

    if (it.word === "timeout" && stmt.word === "wait") stmt.waitTimeout = true;

    if (line.parts.length === 0) {
      line.parts.push(it.image);
    } else {
      const prevType = its[prevTok].type;
      const tight =
        prevType === "LBracket" ||
        prevType === "LParen" ||
        prevType === "Dot" ||
        type === "RBracket" ||
        type === "RParen" ||
        type === "Comma" ||
        type === "Dot";
      if (
        type === "Equals" &&
        line.declStart &&
        line.parts.length === 2 &&
        line.align === undefined &&
        prevType === "Identifier"
      ) {
        line.align = { index: 2, head: line.parts[0].length + line.parts[1].length };
      }
      line.parts.push(tight ? it.image : ` ${it.image}`);
    }
    prevTok = k;

    if (type === "LBrace") {
      // `{}`: an empty block (nothing, not even a comment, inside) stays on the line.
      if (k + 1 < n && its[k + 1].type === "RBrace") {
        line.parts[line.parts.length - 1] += "}";
        k++;
        prevTok = k;
        breakNext = true;
        continue;
      }
      depth++;
      breakNext = true;
      justOpened = true;
    } else if (type === "LBracket") {
      lists.push({ open: k, multiline: multiline[k] === 1, itemIndent: line.indent + INDENT, closeIndent: line.indent });
    } else if (type === "RBracket") {
      lists.pop();
    }
  }

  alignDeclarations(lines);

  if (lines.length === 0) return "";
  const out: string[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    if (line.blank && k > 0) out.push("");
    out.push(" ".repeat(line.indent) + line.parts.join(""));
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
      for (const l of run) width = Math.max(width, l.align!.head);
      for (const l of run) {
        const pad = width - l.align!.head;
        if (pad > 0) l.parts[l.align!.index] = " ".repeat(pad) + l.parts[l.align!.index];
      }
    }
    run = [];
  };
  for (const line of lines) {
    if (line.declStart) {
      if (line.blank || (run.length > 0 && run[0].indent !== line.indent)) flush();
      if (line.align) run.push(line);
      else flush();
      lastDecl = line.stmt;
    } else if (line.stmt !== lastDecl || line.stmt === -1 || line.blank) {
      flush();
      lastDecl = -1;
    }
  }
  flush();
}
