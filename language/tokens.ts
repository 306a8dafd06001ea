// The lexer: Chevrotain token types for the runbook language. `lex` is what the
// compiler and formatter use: comments kept in their own token group (not passed to
// the parser), whitespace skipped, positions of token starts only. `lexAll` keeps
// whitespace too (a "ws" group), so that the images of all tokens joined give back
// the source text exactly. Keywords are not matched by the lexer: every word is an
// Identifier and `lex` retypes the reserved ones afterwards with one map lookup
// (trying ~70 keyword patterns at every word was most of the lexing time).

import { createToken, Lexer, type ILexingResult, type TokenType } from "chevrotain";

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED, line_breaks: true });
const KeptWhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: "ws", line_breaks: true });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n\r]*/, group: "comments" });

/** Category of every string token (parser.ts consumes `AnyString`; the image tells which kind). */
export const AnyString = createToken({ name: "AnyString", pattern: Lexer.NA, label: "a string" });

// `"""…"""` before `"…"`. A string never spans a line unless it is triple-quoted.
export const TripleString = createToken({ name: "TripleString", pattern: /"""[\s\S]*?"""/, line_breaks: true, categories: [AnyString] });
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"(?:[^"\\\n\r]|\\.)*"/, categories: [AnyString] });
// Unterminated strings (to the end of the file / line): still strings for the parser, so one missing
// quote is one diagnostic ("unterminated string", reported by parser.ts), not a cascade.
export const UnterminatedTripleString = createToken({ name: "UnterminatedTripleString", pattern: /"""[\s\S]*/, line_breaks: true, categories: [AnyString] });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n\r]|\\.)*\\?/, categories: [AnyString] });

// Durations before numbers: `500ms 30s 10m 2h`, also compound `1h30m`.
export const Duration = createToken({ name: "Duration", pattern: /(?:\d+(?:ms|s|m|h|d))+(?![A-Za-z0-9_])/ });
export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /\d+(?:\.\d+)?(?![A-Za-z_])/ });
// A word starting with a digit that is neither a number nor a duration (`10min`, `1.5h`, `3x`): one
// token, so the parser can say "expected a duration like `30s` or `10m`" about the whole word.
export const BadNumber = createToken({ name: "BadNumber", pattern: /\d[\d.]*[A-Za-z_][A-Za-z0-9_.]*/ });

export const EqEq = createToken({ name: "EqEq", pattern: /==/ });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/ });
export const LtEq = createToken({ name: "LtEq", pattern: /<=/ });
export const GtEq = createToken({ name: "GtEq", pattern: />=/ });
export const Lt = createToken({ name: "Lt", pattern: /</ });
export const Gt = createToken({ name: "Gt", pattern: />/ });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/ });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Dot = createToken({ name: "Dot", pattern: /\./ });

/** Reserved words, in the order the grammar reads best. Each is its own token type. */
export const KEYWORDS = [
  "runbook", "version", "description", "owner", "default", "include",
  "param", "var", "secret", "host", "database", "sqlite", "mysql", "password", "via", "file",
  "env", "protected",
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

const RunbookLexer = new Lexer(lexerTokens, { ensureOptimizations: true, positionTracking: "onlyStart" });
let fullLexer: Lexer | undefined;

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

/** The tokens of a text for the parser, with comments in `groups.comments`. */
export function lex(text: string): ILexingResult {
  return retypeKeywords(RunbookLexer.tokenize(text));
}

/** `lex`, keeping whitespace too (`groups.ws`): all images joined give back the text. */
export function lexAll(text: string): ILexingResult {
  fullLexer ??= new Lexer([KeptWhiteSpace, ...lexerTokens.slice(1)], { ensureOptimizations: true, positionTracking: "onlyStart" });
  return retypeKeywords(fullLexer.tokenize(text));
}

export function isKeyword(word: string): word is Keyword {
  return (KEYWORDS as readonly string[]).includes(word);
}
