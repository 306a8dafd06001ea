// A Plan is what a run will do, as plain data (JSON-serialisable, no functions,
// no secrets): the planner builds it from a checked runbook, an env and the
// inputs; `runbook plan` renders it, and `run`, `run --dry-run` and `resume` walk
// it. Secrets stay references ({ secret: name }) that only a driver resolves, at
// the last moment; rendering a Text shows them as `***`.

import type { Span } from "../language/span.js";
import type { SecretSource } from "../language/ast.js";
import { assertNever } from "../language/assert.js";
import type { ValueContext } from "../language/value-placement.js";
import type { Engine } from "../language/sql/index.js";
import { shellQuote } from "./quote.js";
import type { SourceDigest } from "./events.js";

/** What a Text is used as: shell code, SQL of an engine, or plain text (a path, a message, an edit's text). */
export type Quoting = "shell" | "sql-sqlite" | "sql-mysql" | "none";

/**
 * A secret's value in plain text (an edit's replacement, an `exists` path, a name
 * compared in a condition) or spliced into code by `${raw …}`: filled in only by
 * the executor, at the last moment.
 */
export interface SecretPart {
  secret: string;
}

/**
 * A value in a command or SQL. The code holds only `ref`, a reference to it (a shell
 * variable or a bound parameter: language/value-placement.ts); the value itself
 * travels apart from the code and can never be read as code.
 */
export interface BoundPart {
  /** What stands in the code: `"${__rb_1}"`, `${__rb_1}`, `'"${__rb_1}"'` or `?`. */
  ref: string;
  /** The `${…}` as written (`home`, `prod.home`), for messages. */
  name: string;
  /**
   * Where it stands, so that it is shown to people as that place would have to
   * hold it (how it is shown only: it never runs that way).
   */
  context: ValueContext;
  /** A param's, var's or builtin's value; absent for a secret. */
  value?: string;
  /** A secret's name: its value is read at the last moment and shown as `***`. */
  secret?: string;
  /** A value known only while the step runs (filled in by the executor, then `value` or `secret`). */
  late?: LateValue;
}

/**
 * A value known only while a step runs: the member of the step's host it runs on
 * (`${host.name}`), or a value an earlier step captured (`into NAME`). The executor
 * fills it in (runtime/late-values.ts) before the text is used; until then it shows
 * as what it is (`<host.name>`, `<revision: known after step x>`).
 */
export type LateValue =
  /** `host.name`, `host.address`, `host.user`, or a value the group's members each have of their own (`host.role`). */
  | { kind: "host"; member: string }
  | { kind: "captured"; name: string; step: string; secret: boolean };

/** A late value in plain text (an edit's text, a name compared in a condition). */
export interface LatePart {
  late: LateValue;
}

/**
 * Text with every non-secret value already resolved. Plain strings are literal text
 * (code, in a command or SQL); SecretParts and BoundParts are holes.
 */
export type Text = (string | SecretPart | BoundPart | LatePart)[];

export function isBound(p: Text[number]): p is BoundPart {
  return typeof p !== "string" && "ref" in p;
}

/** A late value in plain text (a BoundPart may carry `late` too: it is code's reference, never this). */
export function isLate(p: Text[number]): p is LatePart {
  return typeof p !== "string" && "late" in p && !("ref" in p);
}

/** How a late value shows until it is known. */
export function showLate(v: LateValue): string {
  switch (v.kind) {
    case "host":
      return `<host.${v.member}>`;
    case "captured":
      return `<${v.name}: known after step ${v.step}>`;
    default:
      return assertNever(v);
  }
}

export type PlanValue = string | number | boolean | PlanValue[];

/** A condition with every static value resolved; probes stay to be evaluated at run time. */
export type PlanCond =
  | { kind: "and" | "or"; left: PlanCond; right: PlanCond }
  | { kind: "not"; operand: PlanCond }
  | { kind: "compare"; op: "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches" | "in"; left: PlanOperand; right: PlanOperand }
  | { kind: "value"; value: PlanOperand };

export type PlanOperand =
  | { kind: "literal"; value: PlanValue }
  /** A string with a secret in it (`"${token}"`, or the name `token`): filled in only when evaluated. */
  | { kind: "text"; text: Text }
  | { kind: "succeeds"; command: Text; host?: string }
  | { kind: "output"; command: Text; host?: string }
  | { kind: "exists"; path: Text; host?: string }
  | { kind: "query"; db: string; sql: Text };

export interface PlanReplace {
  old: Text;
  new: Text;
  all: boolean;
}

/** `into [secret] NAME`: what a `run` prints (trimmed) or a `sql` query's first value becomes, for later steps. */
export interface Capture {
  name: string;
  secret: boolean;
}

export type Action =
  | { kind: "require"; cond: PlanCond; source: string; else?: string; span: Span }
  | { kind: "confirm"; question: string; span: Span }
  | { kind: "manual"; text: string; span: Span }
  | { kind: "run"; command: Text; as?: string; into?: Capture; span: Span }
  | { kind: "edit"; path: string; replaces: PlanReplace[]; span: Span }
  /** `template`: the local file's `${…}` are filled in when it runs (runtime/template.ts); undone by restoring the old file. */
  | { kind: "upload"; from: string; to: string; template?: true; span: Span }
  | { kind: "download"; from: string; to: string; span: Span }
  /** `line`: where the SQL text's first line stands in the runbook, for naming a failing statement. */
  | { kind: "sql"; db: string; engine: Engine; sql: Text; line: number; into?: Capture; span: Span }
  | { kind: "export"; db: string; tables?: string[]; to: string; format: "csv" | "web2py"; span: Span }
  | { kind: "import"; db: string; from: string; span: Span }
  | { kind: "sync"; db: string; fromEnv: string; fromDb: string; tables?: string[]; span: Span }
  | { kind: "wait"; cond: PlanCond; source: string; everyMs: number; timeoutMs?: number; span: Span }
  | { kind: "note"; text: string; span: Span };

/** A step's `when`/`unless`, decided statically where it can be. */
export interface PlanGuard {
  kind: "when" | "unless";
  /** The condition as written in the runbook. */
  source: string;
  /** true/false when known from the source alone; "probe" when it needs a probe at run time. */
  static: boolean | "probe";
  cond: PlanCond;
}

export interface PlannedStep {
  id: string;
  title: string;
  section?: string;
  /** "main" steps, or the `finally` block. */
  phase: "main" | "finally";
  /** The host name from `on`, absent for the local machine. */
  host?: string;
  guards: PlanGuard[];
  /** Statically known not to run in this env, with the reason ("when env == \"uat\" is false"). */
  skip?: string;
  actions: Action[];
  /** `undo "cmd"` / `undo { … }`; empty when there is none. Edits undo themselves. */
  undo: Action[];
  timeoutMs?: number;
  retry?: { count: number; everyMs: number };
  allowFailure: boolean;
  /** For host groups: how many members at once (default 1). */
  parallel: number;
  /** The step changes something (run, edit, upload, download, sql, import, sync). */
  mutating: boolean;
  span: Span;
}

export interface PlannedHost {
  name: string;
  /** `user@address[:port]` or an ssh-config alias; several for a group; none for `local`. */
  targets: string[];
  group: boolean;
  /** A group's members' own values (`"app@w1" { role = "primary" }`), by member (the order of targets). */
  values?: Record<string, string>[];
  /** `host NAME = local`: this machine. No step, probe or database of the plan names it (the planner makes them local), so nothing connects to it. */
  local?: true;
}

export type PlannedDatabase =
  | { name: string; engine: "sqlite"; path: string; host?: string }
  | { name: string; engine: "mysql"; url: string; passwordSecret?: string; via?: string };

export interface PlannedSecret {
  name: string;
  source: SecretSource;
  /** The variable's name, the file's path or the command (never the value). */
  ref: string;
}

export interface Plan {
  /** Bumped when the shape changes; the journal stores plans. */
  schema: 2;
  runbook: {
    name: string;
    version: string;
    file: string;
    description?: string;
    owner?: string;
    sourceHash: string;
    /** Set by `runbook run` when the runbook is in a git repository: HEAD's commit, and whether any of its source files differs from it. */
    git?: { commit: string; dirty: boolean };
    /** Each source file's sha256 (main, includes, allowed_signers): present when the env requires approvals. */
    sources?: SourceDigest[];
  };
  /** `approvals N from "group"`: signed sign-off before the first step (approvals.ts). */
  approvals?: PlannedApprovals;
  env: string;
  protected: boolean;
  /** The env block's own confirmations, asked once before the first step. */
  envConfirms: string[];
  /** Every param and var with its value in this env (secrets are not here). */
  values: Record<string, string>;
  /** The params and vars whose value differs from the top-level default. */
  overridden: string[];
  secrets: PlannedSecret[];
  hosts: Record<string, PlannedHost>;
  databases: Record<string, PlannedDatabase>;
  /** Main steps then finally steps, in run order. */
  steps: PlannedStep[];
  /** Other envs' databases that `sync … from ENV.DB` reads, keyed "env.db". */
  foreignDatabases: Record<string, PlannedDatabase & { env: string }>;
}

export interface PlannedApprovals {
  count: number;
  group: string;
  /** How old a signature may be. */
  maxAgeMs: number;
}

/**
 * Render a Text for people: each value where its `${…}` stood, quoted as the
 * command or SQL would have to hold it (a display only: values are never spliced
 * into what runs), and secrets as `***`.
 */
export function showText(text: Text): string {
  return text.map(showPart).join("");
}

function showPart(p: Text[number]): string {
  if (typeof p === "string") return p;
  if (isLate(p)) return p.late.kind === "captured" && p.late.secret ? "***" : showLate(p.late);
  if (!isBound(p)) return "***";
  if (p.late && p.value === undefined && p.secret === undefined) return p.late.kind === "captured" && p.late.secret ? "***" : showLate(p.late);
  if (p.value === undefined) return "***";
  switch (p.context) {
    case "word":
      return shellQuote(p.value);
    case "single":
      return p.value.replace(/'/g, `'\\''`);
    case "double":
      return p.value.replace(/[\\"$`]/g, "\\$&");
    case "heredoc":
      return p.value.replace(/[\\$`]/g, "\\$&");
    case "sql":
      return "'" + p.value.replace(/'/g, "''") + "'";
    default:
      return assertNever(p.context);
  }
}
