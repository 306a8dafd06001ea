// The lexer: Chevrotain token types for the runbook language. `lex` is what the
// compiler and formatter use: comments kept in their own token group (not passed to
// the parser), whitespace skipped, positions of token starts only. `lexAll` keeps
// whitespace too (a "ws" group), so that the images of all tokens joined give back
// the source text exactly. Keywords are not matched by the lexer: every word is an
// Identifier and `lex` retypes the reserved ones afterwards with one map lookup
// (trying ~70 keyword patterns at every word was most of the lexing time).

import { createToken, Lexer, type ILexingResult, type TokenType } from "chevrotain";

// Every token says which characters it can start with (`start_chars_hint`) and whether it
// can span lines (`line_breaks`): Chevrotain otherwise works both out by parsing each
// pattern with its regexp parser when the lexer is built, which `runbook check` waits for
// on every start.
const LETTERS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"];
const DIGITS = [..."0123456789"];
const QUOTE = ['"'];

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, line_breaks: false, start_chars_hint: LETTERS });

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED, line_breaks: true, start_chars_hint: [" ", "\t", "\r", "\n"] });
const KeptWhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: "ws", line_breaks: true, start_chars_hint: [" ", "\t", "\r", "\n"] });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n\r]*/, group: "comments", line_breaks: false, start_chars_hint: ["#"] });

/** Category of every string token (parser.ts consumes `AnyString`; the image tells which kind). */
export const AnyString = createToken({ name: "AnyString", pattern: Lexer.NA, label: "a string" });

/**
 * One-line strings are matched by these regular expressions (unrolled, so quick and
 * unambiguous). V8 runs them with a backtracking stack that a string of millions of
 * escapes overflows ("Maximum call stack size exceeded"); a text whose lexing overflows is
 * lexed again by a lexer that matches strings with `scanString`, a loop with no limit
 * (`loopLexer`). tests/language/lexer.test.ts checks that both lex alike.
 */
const STRING = /"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"/;
const UNTERMINATED_STRING = /"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*\\?/;

/**
 * Where the one-line string starting at `offset` (a `"`) ends: after its closing quote
 * (`closed`), or where it stops without one (at a line end or the end of the text, or after
 * a backslash with nothing to escape there): what STRING and UNTERMINATED_STRING match.
 */
export function scanString(text: string, offset: number): { end: number; closed: boolean } {
  const n = text.length;
  let i = offset + 1;
  for (;;) {
    if (i >= n) return { end: i, closed: false };
    const c = text.charCodeAt(i);
    if (c === 34) return { end: i + 1, closed: true };
    if (c === 10 || c === 13) return { end: i, closed: false };
    if (c === 92) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : -1;
      // `\.`: a backslash escapes any character but a line terminator
      if (next === -1 || next === 10 || next === 13 || next === 0x2028 || next === 0x2029) return { end: i + 1, closed: false };
      i += 2;
    } else i++;
  }
}

/** The loop lexer's matchers of StringLiteral (`closed`) and UnterminatedString. */
function stringMatch(text: string, offset: number, closed: boolean): [string] | null {
  // (Chevrotain's own checks call it without an offset, on any text.)
  offset |= 0;
  if (text.charCodeAt(offset) !== 34) return null;
  const r = scanString(text, offset);
  return r.closed === closed ? [text.slice(offset, r.end)] : null;
}

// `"""…"""` before `"…"`. A string never spans a line unless it is triple-quoted.
export const TripleString = createToken({ name: "TripleString", pattern: /"""[\s\S]*?"""/, line_breaks: true, categories: [AnyString], start_chars_hint: QUOTE });
export const StringLiteral = createToken({ name: "StringLiteral", pattern: STRING, categories: [AnyString], line_breaks: false, start_chars_hint: QUOTE });
// Unterminated strings (to the end of the file / line): still strings for the parser, so one missing
// quote is one diagnostic ("unterminated string", reported by parser.ts), not a cascade.
export const UnterminatedTripleString = createToken({ name: "UnterminatedTripleString", pattern: /"""[\s\S]*/, line_breaks: true, categories: [AnyString], start_chars_hint: QUOTE });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: UNTERMINATED_STRING, categories: [AnyString], line_breaks: false, start_chars_hint: QUOTE });

// Durations before numbers: `500ms 30s 10m 2h`, also compound `1h30m`.
export const Duration = createToken({ name: "Duration", pattern: /(?:\d+(?:ms|s|m|h|d))+(?![A-Za-z0-9_])/, line_breaks: false, start_chars_hint: DIGITS });
export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /\d+(?:\.\d+)?(?![A-Za-z_])/, line_breaks: false, start_chars_hint: DIGITS });
// A word starting with a digit that is neither a number nor a duration (`10min`, `1.5h`, `3x`): one
// token, so the parser can say "expected a duration like `30s` or `10m`" about the whole word.
export const BadNumber = createToken({ name: "BadNumber", pattern: /\d[\d.]*[A-Za-z_][A-Za-z0-9_.]*/, line_breaks: false, start_chars_hint: DIGITS });

// Single characters as strings: Chevrotain compares one char code for them (no regexp) and
// the image is the pattern itself (no substring).
export const EqEq = createToken({ name: "EqEq", pattern: /==/, line_breaks: false, start_chars_hint: ["="] });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/, line_breaks: false, start_chars_hint: ["!"] });
export const LtEq = createToken({ name: "LtEq", pattern: /<=/, line_breaks: false, start_chars_hint: ["<"] });
export const GtEq = createToken({ name: "GtEq", pattern: />=/, line_breaks: false, start_chars_hint: [">"] });
export const Lt = createToken({ name: "Lt", pattern: "<", line_breaks: false, start_chars_hint: ["<"] });
export const Gt = createToken({ name: "Gt", pattern: ">", line_breaks: false, start_chars_hint: [">"] });
export const Equals = createToken({ name: "Equals", pattern: "=", line_breaks: false, start_chars_hint: ["="] });
export const LBrace = createToken({ name: "LBrace", pattern: "{", line_breaks: false, start_chars_hint: ["{"] });
export const RBrace = createToken({ name: "RBrace", pattern: "}", line_breaks: false, start_chars_hint: ["}"] });
export const LBracket = createToken({ name: "LBracket", pattern: "[", line_breaks: false, start_chars_hint: ["["] });
export const RBracket = createToken({ name: "RBracket", pattern: "]", line_breaks: false, start_chars_hint: ["]"] });
export const LParen = createToken({ name: "LParen", pattern: "(", line_breaks: false, start_chars_hint: ["("] });
export const RParen = createToken({ name: "RParen", pattern: ")", line_breaks: false, start_chars_hint: [")"] });
export const Comma = createToken({ name: "Comma", pattern: ",", line_breaks: false, start_chars_hint: [","] });
export const Dot = createToken({ name: "Dot", pattern: ".", line_breaks: false, start_chars_hint: ["."] });

/** Reserved words, in the order the grammar reads best. Each is its own token type. */
export const KEYWORDS = [
  "runbook", "version", "description", "owner", "default", "include",
  "param", "var", "secret", "host", "database", "sqlite", "mysql", "password", "via", "file",
  "env", "protected", "approvals", "within",
  "section", "step", "as", "on", "when", "unless", "finally",
  "require", "else", "confirm", "manual", "run", "edit", "replace", "all", "with",
  "upload", "download", "to", "sql", "export", "tables", "format", "import", "from", "sync",
  "wait", "until", "every", "timeout", "note", "undo", "retry", "allow", "failure", "parallel",
  "succeeds", "output", "exists", "query",
  "and", "or", "not", "contains", "matches", "in", "true", "false",
] as const;

export type Keyword = (typeof KEYWORDS)[number];

/** Token type of each keyword, e.g. `Kw.step` (the parser's; the lexer yields Identifier). */
export const Kw = Object.fromEntries(
  KEYWORDS.map((word) => [word, createToken({ name: `Kw_${word}`, pattern: Lexer.NA, label: `\`${word}\`` })]),
) as Record<Keyword, TokenType>;

const keywordOf = new Map<string, TokenType>(KEYWORDS.map((w) => [w, Kw[w]]));

/** The lexer's token types, whitespace first (the parser's vocabulary adds the keywords). */
const lexerTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  TripleString,
  UnterminatedTripleString,
  StringLiteral,
  UnterminatedString,
  Duration,
  BadNumber,
  NumberLiteral,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Equals,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Dot,
  Identifier,
  AnyString,
];

/** Every token type the parser may see. */
export const allTokens: TokenType[] = [...lexerTokens, ...Object.values(Kw)];

/**
 * The token definitions are validated once by tests (tests/language/lexer.test.ts), not on
 * every start. The parser's tokens carry offsets only: spans work out lines when read
 * (span.ts). `lexAll` (the formatter's and the tests') keeps start lines and columns.
 */
export const LEXER_CONFIG = { ensureOptimizations: true, positionTracking: "onlyOffset", skipValidations: true } as const;
const FULL_LEXER_CONFIG = { ...LEXER_CONFIG, positionTracking: "onlyStart" } as const;

const RunbookLexer = new Lexer(lexerTokens, LEXER_CONFIG);
let fullLexer: Lexer | undefined;

/** The tokens of `lexAll`: the parser's, whitespace kept. */
export function fullLexerTokens(): TokenType[] {
  return [KeptWhiteSpace, ...lexerTokens.slice(1)];
}

/** The tokens of `lex` (the parser's vocabulary adds the keywords). */
export function lexerTokenTypes(): TokenType[] {
  return [...lexerTokens];
}

/** Turns reserved words lexed as identifiers into their keyword tokens. */
function retypeKeywords(result: ILexingResult): ILexingResult {
  for (const tok of result.tokens) {
    if (tok.tokenType !== Identifier) continue;
    const kw = keywordOf.get(tok.image);
    if (kw) {
      tok.tokenType = kw;
      tok.tokenTypeIdx = kw.tokenTypeIdx!;
    }
  }
  return result;
}

/**
 * A lexer of `tokens` whose one-line strings are matched by `scanString` instead of STRING
 * and UNTERMINATED_STRING (the same token types: Chevrotain reads the patterns when it
 * builds a lexer, so they are swapped for that moment only).
 */
function loopLexer(tokens: TokenType[], config: ConstructorParameters<typeof Lexer>[1]): Lexer {
  const patterns = [StringLiteral.PATTERN, UnterminatedString.PATTERN] as const;
  StringLiteral.PATTERN = { exec: (text: string, offset: number) => stringMatch(text, offset, true) };
  UnterminatedString.PATTERN = { exec: (text: string, offset: number) => stringMatch(text, offset, false) };
  try {
    return new Lexer(tokens, config);
  } finally {
    [StringLiteral.PATTERN, UnterminatedString.PATTERN] = patterns;
  }
}

let loopRunbookLexer: Lexer | undefined;
let loopFullLexer: Lexer | undefined;

/** `quick`'s tokens, or `loop`'s when a string overflows the regular expressions (see STRING). */
function tokenize(quick: Lexer, loop: () => Lexer, text: string): ILexingResult {
  try {
    return quick.tokenize(text);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return loop().tokenize(text);
  }
}

const loopRunbook = () => (loopRunbookLexer ??= loopLexer(lexerTokens, LEXER_CONFIG));

/** The tokens of a text for the parser, with comments in `groups.comments`. */
export function lex(text: string): ILexingResult {
  return retypeKeywords(tokenize(RunbookLexer, loopRunbook, text));
}

/** `lex` by the lexer that matches strings with a loop (what `lex` falls back on): tests compare the two. */
export function lexWithLoops(text: string): ILexingResult {
  return retypeKeywords(loopRunbook().tokenize(text));
}

/** `lex`, keeping whitespace too (`groups.ws`): all images joined give back the text. */
export function lexAll(text: string): ILexingResult {
  fullLexer ??= new Lexer(fullLexerTokens(), FULL_LEXER_CONFIG);
  return retypeKeywords(tokenize(fullLexer, () => (loopFullLexer ??= loopLexer(fullLexerTokens(), FULL_LEXER_CONFIG)), text));
}

export function isKeyword(word: string): word is Keyword {
  return (KEYWORDS as readonly string[]).includes(word);
}
