// MySQL's (and MariaDB's) dialect: backslash escapes, `"…"` strings, `#` and
// `-- ` comments, `/*! … */` executable comments, DDL that commits by itself.

import type { SqlDialect } from "./dialect.js";

/** MySQL statements that cause an implicit commit (the DDL and account statements). */
const IMPLICIT_COMMIT = new Set(["CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOCK", "UNLOCK", "ANALYZE", "OPTIMIZE", "REPAIR", "INSTALL", "UNINSTALL"]);

const ESCAPES: Record<string, string> = {
  "\0": "\\0",
  "\n": "\\n",
  "\r": "\\r",
  "\x1a": "\\Z",
  "\\": "\\\\",
  "'": "''",
};

export const mysql: SqlDialect = {
  label: "MySQL",
  backslashEscapes: true,
  doubleQuote: "string",
  brackets: false,
  hashComment: true,
  dashCommentNeedsSpace: true,
  executableComments: true,
  namedParams: false,
  // CREATE TEMPORARY TABLE and DROP TEMPORARY TABLE do not commit.
  commitsImplicitly: (words) => IMPLICIT_COMMIT.has(words[0] ?? "") && words[1] !== "TEMPORARY",
  // `'…'` with `'` doubled and `\`, NUL, `\n`, `\r` and `\x1a` escaped with a
  // backslash, as mysql_real_escape_string does (the MySQL driver turns
  // NO_BACKSLASH_ESCAPES off for its session, so backslash escapes always hold).
  quoteString: (value) => "'" + value.replace(/[\0\n\r\x1a\\']/g, (c) => ESCAPES[c]!) + "'",
  quoteName: (name) => "`" + name.replace(/`/g, "``") + "`",
  // MySQL reads 0.3 as an exact DECIMAL and rounds it again into a DOUBLE; an
  // exponent makes it an approximate literal, read with strtod.
  fractionLiteral: (value) => value.toExponential(),
  infinityLiteral: () => undefined,
  rowOrderColumn: undefined,
  parentTablesSql:
    "SELECT DISTINCT REFERENCED_TABLE_NAME AS parent FROM information_schema.KEY_COLUMN_USAGE " +
    "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL",
  blobEncoding: "base64",
  floatIsSingle: true,
  charDropsTrailingSpaces: true,
  yearType: /^\s*year\b/i,
};
