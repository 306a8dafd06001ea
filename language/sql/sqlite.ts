// SQLite's dialect: `"…"` and `[…]` names, `?NNN :name @name $name` parameters,
// no implicit commits, rowid order for tables without a key.

import type { SqlDialect } from "./dialect.js";

export const sqlite: SqlDialect = {
  label: "SQLite",
  backslashEscapes: false,
  doubleQuote: "name",
  brackets: true,
  hashComment: false,
  dashCommentNeedsSpace: false,
  executableComments: false,
  namedParams: true,
  commitsImplicitly: () => false,
  // `'…'` with `'` doubled. NUL cannot stand inside an SQLite literal, and the
  // sqlite3 program (which writes to a database on another host) drops a CR at
  // the end of each line it reads, so those two characters are spliced in with
  // char(): `('a'||char(13)||'b')`.
  quoteString(value) {
    if (!/[\0\r]/.test(value)) return "'" + value.replace(/'/g, "''") + "'";
    const parts = value.split(/([\0\r])/).map((p, i) => (i % 2 === 1 ? `char(${p.charCodeAt(0)})` : "'" + p.replace(/'/g, "''") + "'"));
    return "(" + parts.filter((p) => p !== "''").join("||") + ")";
  },
  quoteName: (name) => '"' + name.replace(/"/g, '""') + '"',
  fractionLiteral: (value) => String(value),
  infinityLiteral: (positive) => (positive ? "9e999" : "-9e999"),
  // Every SQLite table without a primary key has a rowid (WITHOUT ROWID needs a key).
  rowOrderColumn: "_rowid_",
  parentTablesSql: 'SELECT DISTINCT "table" AS parent FROM pragma_foreign_key_list(?)',
  blobEncoding: "tagged",
  floatIsSingle: false,
  charDropsTrailingSpaces: false,
  yearType: undefined,
};
