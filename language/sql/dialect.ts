// What differs between SQL engines, as data and small functions: how their text
// is tokenized, how runbook quotes the names and values it writes itself, what
// commits by itself, how a table is read in a stable order, and how declared
// column types map to the values runbook compares. One object per engine
// (sqlite.ts, mysql.ts), looked up by its Engine name in index.ts.

/** How the tokenizer (lexer.ts) reads an engine's SQL. */
export interface SqlLexing {
  /** `\` escapes the next character inside '…' and "…". */
  backslashEscapes: boolean;
  /** What "…" is. */
  doubleQuote: "string" | "name";
  /** `[name]` is a quoted name. */
  brackets: boolean;
  /** `#` starts a comment. */
  hashComment: boolean;
  /** `--` starts a comment only when a space or control character follows. */
  dashCommentNeedsSpace: boolean;
  /** `/*!` and `/*M!` hold code. */
  executableComments: boolean;
  /** `:name`, `@name`, `$name` and `?NNN` are parameters. */
  namedParams: boolean;
}

export interface SqlDialect extends SqlLexing {
  /** The engine's name in messages. */
  label: string;
  /** A statement (by its first words, upper-cased) that the engine commits by itself, before and after it. */
  commitsImplicitly(words: readonly string[]): boolean;
  /** A string as one SQL string literal, quotes included. */
  quoteString(value: string): string;
  /** A table or column name, quoted (the name holds no NUL). */
  quoteName(name: string): string;
  /** A finite, non-integer number as a literal the engine reads back exactly. */
  fractionLiteral(value: number): string;
  /** ±Infinity as a literal, or undefined when the engine cannot store it. */
  infinityLiteral(positive: boolean): string | undefined;
  /** The column a table without a primary key is read in order by (SQLite's rowid); none: as it comes. */
  rowOrderColumn: string | undefined;
  /** The tables a table's foreign keys reference (`?` is the table; column `parent`). */
  parentTablesSql: string;
  /** How an export file writes a blob column (SQLite's blobs may hold text: tagged). */
  blobEncoding: "tagged" | "base64";
  /** A declared FLOAT (no precision given) holds a single-precision value. */
  floatIsSingle: boolean;
  /** A declared CHAR drops trailing spaces. */
  charDropsTrailingSpaces: boolean;
  /** A column type taking the text '0' as another year than the number 0 (MySQL's YEAR: 2000 and 0000): its values are sent as numbers. */
  yearType: RegExp | undefined;
}
