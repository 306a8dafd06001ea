// The parser's error messages: Chevrotain's recognition exceptions rewritten into
// plain-word diagnostics ("expected a string after `run`"). The parser's
// errorMessageProvider (`errorProvider`) leaves an index in each message and keeps what
// Chevrotain knew (`ErrorInfo`); `explain` reads it back when parser.ts's `parseSource`
// reports the errors. Wording lives in messages.ts; statements are named by the
// statements table (statements.ts).

import { EOF, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import type { Diagnostic } from "./diagnostics.js";
import { messages } from "./messages.js";
import type { SourceText, Span } from "./span.js";
import { STATEMENT_KINDS, STATEMENTS } from "./statements.js";
import * as T from "./tokens.js";

const { Kw } = T;

// ---------------------------------------------------------------- error info side channel

/** What Chevrotain knew when it built an error message; the message itself is `#index`. */
interface ErrorInfo {
  kind: "mismatch" | "no-viable" | "early-exit" | "not-all";
  expected: TokenType[];
  previous?: IToken;
}

let errorInfos: ErrorInfo[] = [];

/** Forgets the error infos of the file just parsed. */
export function resetErrorInfos(): void {
  errorInfos = [];
}

const firstTokens = (paths: TokenType[][]): TokenType[] => paths.map((p) => p[0]).filter((t): t is TokenType => t !== undefined);

export const errorProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, previous }) => `#${errorInfos.push({ kind: "mismatch", expected: [expected], previous }) - 1}`,
  buildNotAllInputParsedMessage: () => `#${errorInfos.push({ kind: "not-all", expected: [EOF] }) - 1}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, previous }) =>
    `#${errorInfos.push({ kind: "no-viable", expected: expectedPathsPerAlt.flatMap(firstTokens), previous }) - 1}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, previous }) =>
    `#${errorInfos.push({ kind: "early-exit", expected: firstTokens(expectedIterationPaths), previous }) - 1}`,
};

// ---------------------------------------------------------------- error rewriting

/** Invisible or control characters as `U+00A0`, so a message never prints them raw. */
export function printable(text: string): string {
  return [...text]
    .map((ch) => {
      const c = ch.codePointAt(0)!;
      const invisible = c < 32 || (c >= 0x7f && c <= 0xa0) || c === 0xad || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) || c === 0xfeff;
      return invisible ? `U+${c.toString(16).toUpperCase().padStart(4, "0")}` : ch;
    })
    .join("");
}

export const valid = (n: number | undefined): n is number => typeof n === "number" && !Number.isNaN(n);

/** The span of a real token (not one inserted by recovery). */
export function tokenSpan(src: SourceText, tok: IToken): Span {
  return src.span(tok.startOffset, tok.image.length);
}

/** The offset just after a token. */
export const endOffset = (tok: IToken): number => tok.startOffset + tok.image.length;

/** Whether a line ends between two offsets of a text (false when either is not a real offset). */
export function lineBreakBetween(text: string, from: number, to: number): boolean {
  if (!valid(from) || !valid(to)) return false;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === 10 || c === 13) return true;
  }
  return false;
}

const STRING_TYPES = new Set<TokenType>([T.AnyString, T.StringLiteral, T.TripleString, T.UnterminatedString, T.UnterminatedTripleString]);
const PUNCT: Map<TokenType, string> = new Map([
  [T.EqEq, "=="],
  [T.NotEq, "!="],
  [T.LtEq, "<="],
  [T.GtEq, ">="],
  [T.Lt, "<"],
  [T.Gt, ">"],
  [T.Equals, "="],
  [T.LBrace, "{"],
  [T.RBrace, "}"],
  [T.LBracket, "["],
  [T.RBracket, "]"],
  [T.LParen, "("],
  [T.RParen, ")"],
  [T.Comma, ","],
  [T.Dot, "."],
]);
const KW_BY_TYPE = new Map<TokenType, string>(Object.entries(Kw).map(([w, t]) => [t, w]));

const STATEMENT_TYPES = new Set<TokenType>(STATEMENT_KINDS.map((k) => Kw[STATEMENTS[k].keyword]));
const STATEMENT_WORDS = STATEMENT_KINDS.map((k) => STATEMENTS[k].words);
const TOP_TYPES = new Set<TokenType>(
  (["runbook", "description", "owner", "default", "include", "param", "var", "secret", "host", "database", "env", "section", "step", "finally"] as const).map((w) => Kw[w]),
);
const VALUE_TYPES = new Set<TokenType>([
  T.AnyString, T.NumberLiteral, T.Duration, Kw.true, Kw.false, T.LBracket, T.Identifier, Kw.run, Kw.env,
  Kw.succeeds, Kw.output, Kw.exists, Kw.query,
]);
const LITERAL_TYPES = new Set<TokenType>([T.AnyString, T.NumberLiteral, T.Duration, Kw.true, Kw.false, T.LBracket]);
const OP_TYPES = new Set<TokenType>([T.EqEq, T.NotEq, T.LtEq, T.GtEq, T.Lt, T.Gt, Kw.contains, Kw.matches, Kw.in]);
const DURATION_WORDS = "a duration like `30s` or `10m`";
const VALUE_END_TYPES = new Set<TokenType>([T.Identifier, T.NumberLiteral, T.Duration, Kw.true, Kw.false, Kw.env, T.RBracket, T.RParen]);
const DECL_RULES = new Set(["paramDecl", "varDecl", "secretDecl", "hostDecl", "databaseDecl", "header", "defaultEnv", "include"]);

/** A token type in plain words: "a string", "`{`", "`run`". */
function describeType(tt: TokenType): string {
  if (STRING_TYPES.has(tt)) return "a string";
  if (tt === T.Identifier) return "a name";
  if (tt === T.NumberLiteral) return "a number";
  if (tt === T.Duration) return DURATION_WORDS;
  if (tt === EOF) return "the end of the file";
  if (tt === T.LBracket) return "a list";
  const kw = KW_BY_TYPE.get(tt);
  if (kw) return `\`${kw}\``;
  const p = PUNCT.get(tt);
  if (p) return `\`${p}\``;
  return tt.name;
}

/** A set of expected token types in plain words: "a string or a list", "a condition". */
function describeExpected(types: TokenType[]): string {
  const set = new Set(types);
  const words: string[] = [];
  const has = (s: Set<TokenType>, min: number) => [...s].filter((t) => set.has(t)).length >= min;
  const drop = (s: Set<TokenType>) => s.forEach((t) => set.delete(t));
  if (has(TOP_TYPES, 5)) {
    drop(TOP_TYPES);
    words.push("a declaration, `env`, `section`, `step` or `finally`");
  }
  if (has(STATEMENT_TYPES, 5)) {
    drop(STATEMENT_TYPES);
    words.push("a statement");
  }
  if (has(VALUE_TYPES, 6)) {
    const cond = set.has(Kw.not) || set.has(T.LParen);
    drop(VALUE_TYPES);
    set.delete(Kw.not);
    set.delete(T.LParen);
    words.push(cond ? "a condition" : "a value");
  } else if (has(LITERAL_TYPES, 5)) {
    drop(LITERAL_TYPES);
    words.push("a value");
  }
  if (has(OP_TYPES, 5)) {
    drop(OP_TYPES);
    words.push("a comparison like `==`");
  }
  for (const t of set) {
    const w = describeType(t);
    if (!words.includes(w)) words.push(w);
  }
  if (words.length <= 1) return words[0] ?? "something else";
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** The previous token as the "after …" part of a message. */
function describePrevious(prev: IToken | undefined): string | undefined {
  if (!prev || prev.tokenType === EOF || !valid(prev.startOffset) || prev.image === "") return undefined;
  const tt = prev.tokenType;
  if (STRING_TYPES.has(tt)) return prev.image.length <= 24 && !prev.image.includes("\n") ? `\`${prev.image}\`` : "the string";
  return `\`${prev.image}\``;
}

/** What the parser was reading, for "unexpected X in …". */
const BLOCK_OF: Record<string, string> = {
  block: "a step",
  section: "a section",
  finallyBlock: "the `finally` block",
  envBlock: "an env block",
  editStmt: "an `edit` block",
};

export function describeActual(tok: IToken): string {
  const tt = tok.tokenType;
  if (tt === EOF) return "end of file";
  if (STRING_TYPES.has(tt)) return "string";
  if (tt === T.Identifier) return `name \`${tok.image}\``;
  return `\`${tok.image}\``;
}

/** Rewrites one Chevrotain exception into a Diagnostic in plain words. */
export function explain(src: SourceText, e: IRecognitionException, tokens: IToken[]): Diagnostic | undefined {
  const id = /^#(\d+)$/.exec(e.message);
  const info = id ? errorInfos[Number(id[1])] : undefined;
  const stack = e.context?.ruleStack ?? [];
  const rule = stack[stack.length - 1] ?? "file";
  const parent = stack[stack.length - 2];
  const actual: IToken = e.token;
  const atEof = !actual || actual.tokenType === EOF || !valid(actual.startOffset);
  const prev: IToken | undefined =
    (e as { previousToken?: IToken }).previousToken ?? info?.previous ?? (atEof ? tokens[tokens.length - 1] : undefined);
  const expected = info?.expected ?? [];
  const notes: string[] = [];

  const at = (pointAfterPrev: boolean): Span => {
    const prevOk = prev && valid(prev.startOffset) && prev.tokenType !== EOF;
    if (prevOk && (atEof || (pointAfterPrev && lineBreakBetween(src.text, endOffset(prev), actual.startOffset)))) return src.span(endOffset(prev), 0);
    if (!atEof) return tokenSpan(src, actual);
    return src.span(0, 0);
  };
  const diag = (message: string, span: Span): Diagnostic => ({
    severity: "error",
    code: "syntax",
    message,
    span,
    ...(notes.length ? { notes } : {}),
  });

  // `when env = "prod"`: a single `=` right after a value of a condition.
  const afterValue = !!prev && (VALUE_END_TYPES.has(prev.tokenType) || STRING_TYPES.has(prev.tokenType)) && !DECL_RULES.has(rule);
  if (!atEof && actual.tokenType === T.Equals && afterValue && !expected.includes(T.Equals)) {
    notes.push(messages.compareNote());
    return diag(messages.unexpected("`=`"), tokenSpan(src, actual));
  }
  // `host NAME = …`: a string, a list, or the one word a host can be.
  if (rule === "hostDecl" && prev?.tokenType === T.Equals && expected.includes(T.Identifier)) {
    return diag(messages.badHostValue(describeActual(actual)), atEof ? at(true) : tokenSpan(src, actual));
  }
  // `secret NAME = …`: `env`, `file`, or the one word a secret's source can be besides them.
  if (rule === "secretDecl" && prev?.tokenType === T.Equals && expected.includes(T.Identifier)) {
    return diag(messages.badSecretSource(), atEof ? at(true) : tokenSpan(src, actual));
  }
  const what = describeExpected(expected);
  if (what.includes(DURATION_WORDS)) notes.push(messages.durationNote());

  // Stray input at the top level (or redundant input after the file).
  if (info?.kind === "not-all" || (expected.length === 1 && expected[0] === EOF)) {
    if (atEof) return undefined;
    if (actual.tokenType !== T.RBrace) notes.push(messages.topLevelNote());
    return diag(messages.unexpected(describeActual(actual)), tokenSpan(src, actual));
  }

  // A block's statements ended at something that is neither a statement nor `}`.
  if (expected.length === 1 && expected[0] === T.RBrace && BLOCK_OF[rule] && info?.kind === "mismatch") {
    if (atEof) return diag(messages.unclosedBlock(BLOCK_OF[rule]!), at(true));
    if (rule === "block" && actual.tokenType === T.Identifier) {
      notes.push(messages.statementsNote(STATEMENT_WORDS));
      return diag(messages.unknownStatement(actual.image), tokenSpan(src, actual));
    }
    if (rule === "block") notes.push(messages.statementsNote(STATEMENT_WORDS));
    else if (rule === "section" || rule === "finallyBlock") notes.push(messages.sectionNote());
    else if (rule === "envBlock") notes.push(messages.envBlockNote());
    return diag(messages.unexpectedIn(describeActual(actual), BLOCK_OF[rule]!), tokenSpan(src, actual));
  }

  // A step header not followed by its body.
  if (rule === "block" && parent === "step" && expected.length === 1 && expected[0] === T.LBrace) {
    return diag(messages.expected("`{`", "the step header"), at(true));
  }

  // `param version = …`: a keyword where a name was expected.
  if (!atEof && expected.includes(T.Identifier) && actual.tokenType !== T.Identifier && T.isKeyword(actual.image)) {
    notes.push(messages.reservedWordNote(actual.image));
  }
  const after = describePrevious(prev);
  return diag(messages.expected(what, after), at(true));
}
