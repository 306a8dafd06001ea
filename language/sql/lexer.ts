// The one SQL tokenizer. Every part of runbook that needs to know where SQL text
// has its strings, quoted names, comments and statement ends reads it from here:
// the checker (where a `${…}` stands, destructive and writing statements), the
// planner (values become bound parameters), the executor (one statement at a
// time, in one transaction) and the dry run's descriptions. Each engine's
// SqlDialect (sqlite.ts, mysql.ts) holds what differs: MySQL's backslash
// escapes, `"…"` strings, `#` and `-- ` comments and `/*! … */` executable comments; SQLite's `"…"` and `[…]`
// names and `?NNN :name @name $name` parameters.
//
// A token never decides whether a value is code: values are bound parameters, so
// a tokenizer that disagreed with the server could only make a statement fail.

import { DIALECTS, type Engine } from "./index.js";

export type SqlTokenKind =
  | "space"
  | "comment" // `-- …`, `# …` (MySQL), `/* … */`
  | "exec-open" // MySQL `/*!NNNNN` or `/*M!NNNNN`: what follows is code, up to `exec-close`
  | "exec-close"
  | "string" // '…', and "…" in MySQL
  | "name" // a quoted name: `…`, and "…" or […] in SQLite
  | "word" // a bare name or keyword (letters, digits, `_`, `$`)
  | "number"
  | "param" // `?`, and SQLite's `?NNN`, `:name`, `@name`, `$name`
  | "semicolon"
  | "punct";

export interface SqlToken {
  kind: SqlTokenKind;
  start: number;
  end: number;
  /** Inside a MySQL executable comment. */
  inExec?: boolean;
  /** A string, name or comment that runs to the end of the text. */
  unterminated?: boolean;
}

const isWordStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
const isWordPart = (c: number) => isWordStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** The tokens of an SQL text, in order, covering every character. */
export function lexSql(sql: string, engine: Engine): SqlToken[] {
  const d = DIALECTS[engine];
  const out: SqlToken[] = [];
  const n = sql.length;
  let i = 0;
  let inExec = false;
  const push = (kind: SqlTokenKind, start: number, end: number, unterminated = false) => {
    const t: SqlToken = { kind, start, end };
    if (inExec) t.inExec = true;
    if (unterminated) t.unterminated = true;
    out.push(t);
  };
  /** The end of a quoted run opened at `i` by `close` (doubling it escapes it); -1 when unterminated. */
  const quoted = (from: number, close: string, escapes: boolean): number => {
    let j = from + 1;
    while (j < n) {
      const c = sql[j]!;
      if (escapes && c === "\\") j += 2;
      else if (c === close) {
        if (close !== "]" && sql[j + 1] === close) j += 2;
        else return j + 1;
      } else j++;
    }
    return -1;
  };
  while (i < n) {
    const c = sql[i]!;
    const code = sql.charCodeAt(i);
    const start = i;
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
      while (i < n && /[ \t\n\r\f\v]/.test(sql[i]!)) i++;
      push("space", start, i);
    } else if (inExec && c === "*" && sql[i + 1] === "/") {
      i += 2;
      push("exec-close", start, i);
      inExec = false;
    } else if (c === "/" && sql[i + 1] === "*") {
      const exec = d.executableComments && (sql[i + 2] === "!" || (sql[i + 2] === "M" && sql[i + 3] === "!"));
      if (exec && !inExec) {
        i += sql[i + 2] === "!" ? 3 : 4;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
        push("exec-open", start, i);
        inExec = true;
        continue;
      }
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? n : close + 2;
      push("comment", start, i, close < 0);
    } else if (c === "-" && sql[i + 1] === "-" && (!d.dashCommentNeedsSpace || i + 2 >= n || sql.charCodeAt(i + 2) <= 32)) {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? n : nl;
      push("comment", start, i);
    } else if (c === "#" && d.hashComment) {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? n : nl;
      push("comment", start, i);
    } else if (c === "'" || c === '"' || c === "`" || (c === "[" && d.brackets)) {
      const close = c === "[" ? "]" : c;
      const escapes = d.backslashEscapes && c !== "`";
      const end = quoted(i, close, escapes);
      i = end < 0 ? n : end;
      const kind: SqlTokenKind = c === "'" || (c === '"' && d.doubleQuote === "string") ? "string" : "name";
      push(kind, start, i, end < 0);
    } else if (c === ";") {
      i++;
      push("semicolon", start, i);
    } else if (c === "?") {
      i++;
      if (d.namedParams) while (i < n && isDigit(sql.charCodeAt(i))) i++;
      push("param", start, i);
    } else if (d.namedParams && (c === ":" || c === "@" || c === "$") && i + 1 < n && isWordPart(sql.charCodeAt(i + 1))) {
      i++;
      while (i < n && isWordPart(sql.charCodeAt(i))) i++;
      push("param", start, i);
    } else if (isDigit(code) || (c === "." && isDigit(sql.charCodeAt(i + 1)))) {
      while (i < n && (isWordPart(sql.charCodeAt(i)) || sql[i] === ".")) i++;
      push("number", start, i);
    } else if (isWordStart(code)) {
      while (i < n && isWordPart(sql.charCodeAt(i))) i++;
      push("word", start, i);
    } else {
      i++;
      push("punct", start, i);
    }
  }
  return out;
}

/** Tokens that are neither space nor comment: what the server reads as the statement. */
export function isCode(t: SqlToken): boolean {
  return t.kind !== "space" && t.kind !== "comment";
}

export interface SqlStatement {
  /** The statement's text, without the `;` that ends it, trimmed. */
  text: string;
  /** Where `text` starts and ends in the whole SQL. */
  start: number;
  end: number;
  /** Its tokens (offsets in the whole SQL). */
  tokens: SqlToken[];
}

/**
 * The statements of an SQL text, split at `;` outside strings, names and comments.
 * The body of a `CREATE TRIGGER` (BEGIN … END) stays whole. A statement of
 * comments only is dropped.
 */
export function splitStatements(sql: string, engine: Engine, tokens: SqlToken[] = lexSql(sql, engine)): SqlStatement[] {
  const out: SqlStatement[] = [];
  let current: SqlToken[] = [];
  let words: string[] = [];
  /** In a CREATE TRIGGER: BEGIN … END (and CASE … END) nesting, where `;` does not end it. */
  let trigger = false;
  let depth = 0;
  const flush = () => {
    if (current.some(isCode)) {
      const first = current.find((t) => t.kind !== "space")!;
      let k = current.length - 1;
      while (current[k]!.kind === "space") k--;
      const last = current[k]!;
      out.push({ text: sql.slice(first.start, last.end), start: first.start, end: last.end, tokens: current });
    }
    current = [];
    words = [];
    trigger = false;
    depth = 0;
  };
  for (const t of tokens) {
    if (t.kind === "semicolon" && !t.inExec && depth === 0) {
      flush();
      continue;
    }
    current.push(t);
    if (t.kind !== "word") continue;
    const w = sql.slice(t.start, t.end).toUpperCase();
    words.push(w);
    if (w === "TRIGGER" && words[0] === "CREATE") trigger = true;
    else if (trigger && (w === "BEGIN" || w === "CASE")) depth++;
    else if (trigger && w === "END" && depth > 0) depth--;
  }
  flush();
  return out;
}

export interface SqlWord {
  /** Upper-cased. */
  word: string;
  /** Where it starts in the text that was read. */
  index: number;
}

/** The bare words of a statement, upper-cased: keywords and names outside strings, names and comments. */
export function statementWords(sql: string, st: SqlStatement): SqlWord[] {
  return st.tokens.filter((t) => t.kind === "word").map((t) => ({ word: sql.slice(t.start, t.end).toUpperCase(), index: t.start }));
}

/** Words that make a read write a file on the database server, or read one. */
export const FILE_ACCESS_WORDS: ReadonlySet<string> = new Set(["OUTFILE", "DUMPFILE", "LOAD_FILE"]);

/** The first word of the SQL (code, MySQL executable comments included) that reads or writes a server file, if any. */
export function fileAccessWord(sql: string, engine: Engine): string | undefined {
  for (const t of lexSql(sql, engine)) {
    if (t.kind !== "word") continue;
    const w = sql.slice(t.start, t.end).toUpperCase();
    if (FILE_ACCESS_WORDS.has(w)) return w;
  }
  return undefined;
}

/** Whether the engine commits this statement by itself (MySQL DDL): it cannot be rolled back. */
export function commitsImplicitly(sql: string, st: SqlStatement, engine: Engine): boolean {
  return DIALECTS[engine].commitsImplicitly(statementWords(sql, st).slice(0, 2).map((w) => w.word));
}

export interface StatementWithParams {
  /** The statement's text (no `;`). */
  text: string;
  /** Where it starts in the whole SQL. */
  start: number;
  /** The values of its `?`, in order. */
  params: string[];
}

/**
 * SQL whose `?` are bound to `params` in order, cut into its statements, each with
 * the values of its own `?`. Throws when the counts differ: the placement made one
 * `?` per value, so they cannot unless the SQL was changed after it.
 */
export function statementsWithParams(sql: string, params: readonly string[], engine: Engine): StatementWithParams[] {
  let next = 0;
  const out = splitStatements(sql, engine).map((st) => {
    const count = st.tokens.filter((t) => t.kind === "param").length;
    const own = params.slice(next, next + count);
    next += count;
    return { text: st.text, start: st.start, params: own };
  });
  if (next !== params.length) throw new Error(`internal error: the SQL has ${next} parameters for ${params.length} values`);
  return out;
}

/** The statements of a multi-statement SQL text that the engine commits by itself (MySQL DDL among others). */
export function implicitCommitStatements(sql: string, engine: Engine): SqlStatement[] {
  const statements = splitStatements(sql, engine);
  return statements.length < 2 ? [] : statements.filter((st) => commitsImplicitly(sql, st, engine));
}
