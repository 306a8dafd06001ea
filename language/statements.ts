// The statements table: one entry per statement kind of a step (ast.ts `Stmt`), with what
// the parts of the language ask of a kind: the words that begin it, the CST rule that
// parses it (parser.ts's block alternatives and to-ast.ts's builders are keyed by it), its
// form (messages), whether it changes state (check.ts: `missing-undo`), whether it is a
// step option (once per step, not inside `undo { }`) and where secrets may go. Typed
// `{ [K in StmtKind]: StatementInfo<K> }`, so a kind added to `Stmt` without an entry
// does not compile (docs/development.md: adding a statement).

import type { Stmt } from "./ast.js";
import type { Keyword } from "./tokens.js";

export type StmtKind = Stmt["kind"];
export type StmtOf<K extends StmtKind> = Extract<Stmt, { kind: K }>;

/** A place that holds code a secret may be passed to (bound, never spliced): check.ts's `CODE_PLACES`. */
export type SecretPlace = "command" | "sql" | "edit";

export interface StatementInfo<K extends StmtKind> {
  /** The keyword that begins it. */
  keyword: Keyword;
  /** The words that begin it, as written ("allow failure"). */
  words: string;
  /** The parser rule of the statement (parser.ts), which to-ast.ts builds from. */
  rule: `${string}Stmt`;
  /** How it is written, for messages and docs. */
  form: string;
  /** Running it changes state on a host or a database (a step with one wants an `undo` in a protected env). */
  changesState: boolean;
  /** A step option (at most one of each per step, none inside `undo { }`): its name in messages. */
  option?: string;
  /** The fields where `${secret}` may go, and the kind of code they hold; everywhere else a secret is refused or masked. */
  secretsIn: { readonly [F in Exclude<keyof StmtOf<K>, "kind" | "span">]?: SecretPlace };
}

export type StatementTable = { readonly [K in StmtKind]: StatementInfo<K> };

/** Every statement of a step, in the order messages list them. */
export const STATEMENTS: StatementTable = {
  require: { keyword: "require", words: "require", rule: "requireStmt", form: 'require COND [else "why"]', changesState: false, secretsIn: {} },
  confirm: { keyword: "confirm", words: "confirm", rule: "confirmStmt", form: 'confirm "question"', changesState: false, secretsIn: {} },
  manual: { keyword: "manual", words: "manual", rule: "manualStmt", form: 'manual "instructions"', changesState: false, secretsIn: {} },
  run: { keyword: "run", words: "run", rule: "runStmt", form: 'run "command" [as USER] [into [secret] NAME]', changesState: true, secretsIn: { command: "command" } },
  edit: { keyword: "edit", words: "edit", rule: "editStmt", form: 'edit "path" { replace [all] "old" with "new" … }', changesState: false, secretsIn: { replaces: "edit" } },
  upload: { keyword: "upload", words: "upload", rule: "uploadStmt", form: 'upload [template] "local" to "remote"', changesState: true, secretsIn: {} },
  download: { keyword: "download", words: "download", rule: "downloadStmt", form: 'download "remote" to "local"', changesState: false, secretsIn: {} },
  sql: { keyword: "sql", words: "sql", rule: "sqlStmt", form: 'sql DB "statements" [into [secret] NAME]', changesState: true, secretsIn: { text: "sql" } },
  export: { keyword: "export", words: "export", rule: "exportStmt", form: 'export DB [tables [...]] to "path" [format csv|web2py]', changesState: false, secretsIn: {} },
  import: { keyword: "import", words: "import", rule: "importStmt", form: 'import DB from "path"', changesState: true, secretsIn: {} },
  sync: { keyword: "sync", words: "sync", rule: "syncStmt", form: "sync DB from ENV.DB [tables [...]]", changesState: true, secretsIn: {} },
  wait: { keyword: "wait", words: "wait", rule: "waitStmt", form: "wait until COND [every D] [timeout D]", changesState: false, secretsIn: {} },
  note: { keyword: "note", words: "note", rule: "noteStmt", form: 'note "text"', changesState: false, secretsIn: {} },
  undo: { keyword: "undo", words: "undo", rule: "undoStmt", form: 'undo "command" | undo { statements }', changesState: false, option: "undo", secretsIn: { command: "command" } },
  timeout: { keyword: "timeout", words: "timeout", rule: "timeoutStmt", form: "timeout D", changesState: false, option: "timeout", secretsIn: {} },
  retry: { keyword: "retry", words: "retry", rule: "retryStmt", form: "retry N [every D]", changesState: false, option: "retry", secretsIn: {} },
  "allow-failure": { keyword: "allow", words: "allow failure", rule: "allowFailureStmt", form: "allow failure", changesState: false, option: "allow failure", secretsIn: {} },
  parallel: { keyword: "parallel", words: "parallel", rule: "parallelStmt", form: "parallel N", changesState: false, option: "parallel", secretsIn: {} },
};

export const STATEMENT_KINDS = Object.keys(STATEMENTS) as StmtKind[];
