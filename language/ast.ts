// The typed AST of a runbook: what to-ast.ts builds from the CST, what check.ts
// validates and what the planner reads. Every node carries the Span of its source
// text; names that diagnostics point at carry their own span too.

import type { Span } from "./span.js";

export interface Node {
  span: Span;
}

/** An identifier as written, with its own span. */
export interface Ident extends Node {
  name: string;
}

// ---------------------------------------------------------------- strings

/** Literal text inside a string, escapes already decoded. */
export interface TextPart extends Node {
  kind: "text";
  value: string;
}

/** `${a.b}` or `${raw a}` inside a string. `path` is ["a", "b"]. */
export interface InterpPart extends Node {
  kind: "interp";
  path: string[];
  raw: boolean;
}

export interface StringLit extends Node {
  kind: "string";
  parts: (TextPart | InterpPart)[];
  /** `"""…"""` (the value already has common indentation removed). */
  triple: boolean;
}

// ---------------------------------------------------------------- values

export interface NumberLit extends Node {
  kind: "number";
  value: number;
  /** As written (`1.0`, `007`): the text a number becomes when it is interpolated. */
  text?: string;
}

export interface DurationLit extends Node {
  kind: "duration";
  /** Milliseconds. */
  ms: number;
  /** As written: `30s`. */
  text: string;
}

export interface BoolLit extends Node {
  kind: "bool";
  value: boolean;
}

export interface ListLit extends Node {
  kind: "list";
  items: Literal[];
}

export type Literal = StringLit | NumberLit | DurationLit | BoolLit | ListLit;

/** A name in a condition: `revision`, `prod.home`, `run.id`. `env` alone is EnvRef. */
export interface NameRef extends Node {
  kind: "name";
  path: Ident[];
}

/** The keyword `env` used as a value: the current environment's name. */
export interface EnvRef extends Node {
  kind: "env";
}

export interface SucceedsProbe extends Node {
  kind: "succeeds";
  command: StringLit;
  on?: Ident;
}

export interface OutputProbe extends Node {
  kind: "output";
  command: StringLit;
  on?: Ident;
}

export interface ExistsProbe extends Node {
  kind: "exists";
  path: StringLit;
  on?: Ident;
}

export interface QueryProbe extends Node {
  kind: "query";
  db: Ident;
  sql: StringLit;
}

export type Probe = SucceedsProbe | OutputProbe | ExistsProbe | QueryProbe;
export type Value = Literal | NameRef | EnvRef | Probe;

// ---------------------------------------------------------------- conditions

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches" | "in";

export interface BinaryCond extends Node {
  kind: "and" | "or";
  left: Cond;
  right: Cond;
}

export interface NotCond extends Node {
  kind: "not";
  operand: Cond;
}

export interface CompareCond extends Node {
  kind: "compare";
  op: CompareOp;
  opSpan: Span;
  left: Value;
  right: Value;
}

/** A bare value used as a condition (true when truthy / the probe holds). */
export interface ValueCond extends Node {
  kind: "value";
  value: Value;
}

/** `( COND )`, kept so the formatter can print what was written. */
export interface GroupCond extends Node {
  kind: "group";
  inner: Cond;
}

export type Cond = BinaryCond | NotCond | CompareCond | ValueCond | GroupCond;

// ---------------------------------------------------------------- declarations

export interface ParamDecl extends Node {
  kind: "param";
  name: Ident;
  value: Literal;
}

export interface VarDecl extends Node {
  kind: "var";
  name: Ident;
  value: Literal;
}

/** Where a secret's value comes from. */
export type SecretSource = "env" | "file" | "command";

export interface SecretDecl extends Node {
  kind: "secret";
  name: Ident;
  source: SecretSource;
  /** The environment variable's name, the file's path, or the command run locally to print it. */
  ref: StringLit;
}

/** `host NAME = local`: the machine running the runbook, as if the steps on it had no `on`. */
export interface LocalHost extends Node {
  kind: "local";
}

/** A group member's own values: `"app@w1" { role = "primary" }`, read in a step as `${host.role}`. */
export interface MemberValues {
  values: { name: Ident; value: Literal; span: Span }[];
}

export interface HostDecl extends Node {
  kind: "host";
  name: Ident;
  /** One target, a group (a list of targets; `members` holds each one's own values, by index), or the local machine. */
  value: StringLit | (ListLit & { members?: MemberValues[] }) | LocalHost;
}

export interface SqliteDb extends Node {
  engine: "sqlite";
  path: StringLit;
  on?: Ident;
}

export interface MysqlDb extends Node {
  engine: "mysql";
  url: StringLit;
  password?: Ident;
  via?: Ident;
}

export interface DatabaseDecl extends Node {
  kind: "database";
  name: Ident;
  value: SqliteDb | MysqlDb;
}

export type Decl = ParamDecl | VarDecl | SecretDecl | HostDecl | DatabaseDecl;

export interface IncludeDecl extends Node {
  kind: "include";
  path: StringLit;
  /** The resolved path of the included file (set by compile). */
  resolved?: string;
}

export interface EnvBlock extends Node {
  kind: "env";
  name: Ident;
  /** Span of the `protected` keyword when present. */
  protected?: Span;
  confirms: ConfirmStmt[];
  /** `approvals N from "group" [within D]`: signed sign-off before the first step (runtime/approvals.ts). */
  approvals?: ApprovalsStmt;
  overrides: Decl[];
}

export interface ApprovalsStmt extends Node {
  kind: "approvals";
  count: NumberLit;
  group: StringLit;
  /** How old a signature may be (default: DEFAULT_APPROVAL_AGE). */
  within?: DurationLit;
}

/** How old an approval's signature may be when `within` is not given: 24 hours. */
export const DEFAULT_APPROVAL_AGE_MS = 24 * 60 * 60 * 1000;

/** The allowed-signers file beside the main runbook file (read when an env requires approvals). */
export const ALLOWED_SIGNERS_FILE = "allowed_signers";

// ---------------------------------------------------------------- statements

export interface RequireStmt extends Node {
  kind: "require";
  cond: Cond;
  else?: StringLit;
}

export interface ConfirmStmt extends Node {
  kind: "confirm";
  question: StringLit;
}

export interface ManualStmt extends Node {
  kind: "manual";
  text: StringLit;
}

/** `into [secret] NAME`: a value captured for later steps. */
export interface Into extends Node {
  name: Ident;
  /** `into secret NAME`: never shown, logged or journaled. */
  secret: boolean;
}

export interface RunStmt extends Node {
  kind: "run";
  command: StringLit;
  /** `into NAME`: its trimmed stdout becomes a value for later steps. */
  into?: Into;
  /** The user: a name as written, or a string with `${…}` (a value, e.g. per env). */
  as?: Ident | StringLit;
}

export interface Replace extends Node {
  all: boolean;
  old: StringLit;
  new: StringLit;
}

export interface EditStmt extends Node {
  kind: "edit";
  path: StringLit;
  replaces: Replace[];
}

export interface UploadStmt extends Node {
  kind: "upload";
  /** `upload template …`: the local file's `${…}` are filled in (as text, no quoting) before it is written. */
  template?: boolean;
  from: StringLit;
  to: StringLit;
}

export interface DownloadStmt extends Node {
  kind: "download";
  from: StringLit;
  to: StringLit;
}

export interface SqlStmt extends Node {
  kind: "sql";
  db: Ident;
  text: StringLit;
  /** `into NAME`: a read-only query whose first column of the first row becomes a value for later steps. */
  into?: Into;
}

export interface ExportStmt extends Node {
  kind: "export";
  db: Ident;
  tables?: ListLit;
  to: StringLit;
  format?: Ident; // csv | web2py
}

export interface ImportStmt extends Node {
  kind: "import";
  db: Ident;
  from: StringLit;
}

export interface SyncStmt extends Node {
  kind: "sync";
  db: Ident;
  fromEnv: Ident;
  fromDb: Ident;
  tables?: ListLit;
}

export interface WaitStmt extends Node {
  kind: "wait";
  cond: Cond;
  every?: DurationLit;
  timeout?: DurationLit;
}

export interface NoteStmt extends Node {
  kind: "note";
  text: StringLit;
}

export interface UndoStmt extends Node {
  kind: "undo";
  /** `undo "command"` */
  command?: StringLit;
  /** `undo { statements }` */
  body?: Stmt[];
}

export interface TimeoutStmt extends Node {
  kind: "timeout";
  duration: DurationLit;
}

export interface RetryStmt extends Node {
  kind: "retry";
  count: NumberLit;
  every?: DurationLit;
}

export interface AllowFailureStmt extends Node {
  kind: "allow-failure";
}

export interface ParallelStmt extends Node {
  kind: "parallel";
  count: NumberLit;
}

export type Stmt =
  | RequireStmt
  | ConfirmStmt
  | ManualStmt
  | RunStmt
  | EditStmt
  | UploadStmt
  | DownloadStmt
  | SqlStmt
  | ExportStmt
  | ImportStmt
  | SyncStmt
  | WaitStmt
  | NoteStmt
  | UndoStmt
  | TimeoutStmt
  | RetryStmt
  | AllowFailureStmt
  | ParallelStmt;

// ---------------------------------------------------------------- steps

export interface Step extends Node {
  kind: "step";
  title: StringLit;
  /** `as id` when given, else the title in kebab-case. */
  id: string;
  /** Span of the `as id` identifier, or of the title. */
  idSpan: Span;
  on?: Ident;
  when?: Cond;
  unless?: Cond;
  body: Stmt[];
}

export interface Section extends Node {
  kind: "section";
  title: StringLit;
  steps: Step[];
}

export interface FinallyBlock extends Node {
  kind: "finally";
  steps: Step[];
}

export interface Header extends Node {
  name: StringLit;
  version: StringLit;
  description?: StringLit;
  owner?: StringLit;
}

/** One parsed file, before includes are spliced. */
export interface FileAst extends Node {
  kind: "file";
  header?: Header;
  defaultEnv?: Ident;
  includes: IncludeDecl[];
  decls: Decl[];
  envs: EnvBlock[];
  /** Sections and top-level steps, in source order. */
  items: (Section | Step)[];
  finally?: FinallyBlock;
}

/** A whole runbook: the main file with its includes spliced in. */
export interface Runbook extends Node {
  kind: "runbook";
  /** The main file's path. */
  file: string;
  header: Header;
  defaultEnv?: Ident;
  decls: Decl[];
  envs: EnvBlock[];
  items: (Section | Step)[];
  finally?: FinallyBlock;
  /** Every file that went into it (main first), with its text, for diagnostics and the source hash. */
  sources: { file: string; text: string }[];
  /** The allowed-signers file beside the main file, when an env requires approvals (absent: not there). */
  signers?: { file: string; text: string };
  /** Why the allowed-signers file could not be read, when it is there but is not a file. */
  signersUnreadable?: "directory";
}

/** Evaluates a string's parts to plain text when every part is literal text; else undefined. */
/** Every `${…}` of a literal, list items included (a stack of its own: lists may nest deep). */
export function literalInterps(value: Literal): InterpPart[] {
  const out: InterpPart[] = [];
  const items: Literal[] = [value];
  while (items.length > 0) {
    const l = items.pop()!;
    if (l.kind === "list") items.push(...l.items);
    if (l.kind !== "string") continue;
    for (const p of l.parts) if (p.kind === "interp") out.push(p);
  }
  return out;
}

export function literalText(s: StringLit): string | undefined {
  let out = "";
  for (const p of s.parts) {
    if (p.kind !== "text") return undefined;
    out += p.value;
  }
  return out;
}

/** All steps of a runbook in run order: sections and top-level steps, then finally. */
export function allSteps(rb: Pick<Runbook, "items" | "finally">): Step[] {
  const out: Step[] = [];
  for (const item of rb.items) {
    if (item.kind === "section") out.push(...item.steps);
    else out.push(item);
  }
  if (rb.finally) out.push(...rb.finally.steps);
  return out;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** The default step id: the title in kebab-case ("Maintenance mode on" → "maintenance-mode-on"). */
export function kebabId(title: string): string {
  const plain = (NON_ASCII.test(title) ? title.normalize("NFKD").replace(/[\u0300-\u036f]/g, "") : title).toLowerCase();
  // Runs of [a-z0-9] joined by "-": what replace(/[^a-z0-9]+/g, "-") and trimming "-" give.
  // Built with one join, so the id is a flat string (ids are hashed as map keys).
  const runs: string[] = [];
  let run = -1;
  for (let i = 0; i < plain.length; i++) {
    const c = plain.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (run < 0) run = i;
    } else if (run >= 0) {
      runs.push(plain.slice(run, i));
      run = -1;
    }
  }
  if (run >= 0) runs.push(run === 0 ? plain : plain.slice(run));
  return runs.length === 0 ? "step" : runs.length === 1 ? runs[0]! : runs.join("-");
}
