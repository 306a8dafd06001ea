// The checker: every semantic error and warning of a parsed runbook, found in one
// pass over the typed AST (compile.ts runs it after to-ast.ts). Each diagnostic
// points at the exact span of the offending token and has a stable code:
//
// errors
//   unknown-name          `${x}`, a condition's name, `password x`: nothing declared
//   unknown-host          `on X`, probe `on X`, `via X`, sqlite `on X`
//   unknown-database      `sql X`, `query X`, `export X`, `import X`, `sync X from E.Y`
//   unknown-env           `sync … from E.db`, `default env E`, `env == "E"`, `${E.name}`
//   undeclared-override   an env block overrides a name not declared at top level
//   override-kind         an env block overrides a name as another kind (a host as a var)
//   duplicate-declaration a name declared twice at top level, or twice in one env block
//   duplicate-env         two env blocks with one name
//   duplicate-step-id     two steps with one id (at the second, a note at the first)
//   duplicate-option      two `timeout`/`retry`/`parallel`/`allow failure`/`undo` in a step
//   misplaced-statement   a step option or `undo` inside `undo { … }`
//   interpolation-cycle   values that interpolate each other, in some env
//   bad-semver            the header's version is not MAJOR.MINOR.PATCH[-pre][+build]
//   bad-duration          a zero duration (`timeout 0s`, `every 0s`)
//   bad-count             `retry`/`parallel` not a whole number ≥ 1
//   bad-regex             `matches "…"` with an invalid regular expression
//   bad-format            `export … format X` other than csv or web2py
//   allowed-signers       the allowed_signers file beside a runbook with `approvals` is missing or malformed
//   unknown-group         `approvals N from "G"`: no key in allowed_signers signs for G
//   bad-value             a malformed host target, MySQL URL (or one holding a password), empty group, non-string table
//   wrong-kind            a name of the wrong kind: `sql portal`, `on appdb`,
//                         `password home`, a host or database where a value is needed
//   secret-exposed        a secret where its value would be needed as plain text (see below)
//   query-not-read-only   a `query` probe whose SQL writes (probes are read-only)
//   sync-into-protected   a `sync` in a step that can run in a protected env
//   sync-from-self        `sync X from E.X` in a step that can run in env E
//   value-too-large       a param's or var's value would be over 1 MB once interpolated (scope.ts)
// warnings
//   parallel-without-group `parallel N` on a step whose host is not a group in any env
//   missing-undo          a mutating step (a statement statements.ts marks `changesState`:
//                         run, upload, sql, import, sync; an edit undoes itself) without
//                         `undo` that can run in a protected env
//                         (steps of `finally` are cleanup and are not rolled back)
//   destructive-sql       DROP, TRUNCATE, or DELETE/UPDATE without WHERE in a `sql`
//                         statement with no `confirm` before it in the same step
//   secret-exposed        a secret in text that is only shown: it shows as `***`
//   raw-input             `${raw x}` in a command or SQL where x can come from outside the
//                         runbook: a param (`--set`), a secret, or a var made from one
//
// Where secrets may go: `${secret}` is allowed in commands (`run`, `undo`,
// `succeeds`, `output`), SQL (`sql`, `query`) and `edit` replacements; these are
// redacted wherever they are shown. In text that is only shown (titles, notes,
// confirmations, manual instructions, `require … else`, the description and owner)
// it shows as `***`, with a `secret-exposed` warning. Everywhere else (paths,
// conditions, table names, the runbook's name and the values of declarations, where
// its value would be needed as plain text) it is a `secret-exposed` error.
// A host or database may be interpolated into commands and texts (as its name), but
// not into a declaration's value; declarations' values interpolate params, vars,
// `env`, `run.*` (`run.id`, `run.user`, `run.started`) and `${otherenv.name}`.
//
// Whether a step "can run" in an env is decided statically with evalStatic on its
// `when`/`unless`; a condition that depends on a probe or a run-time value can run.
// Params count as run-time values here, since `--set` can change them (a guard
// `when target != "prod"` on a param does not keep a `sync` out of prod).
// The checker is linear in the size of the runbook: every lookup goes through maps
// built once, and "did you mean" suggestions are computed only for errors.

import type {
  Cond,
  Decl,
  DurationLit,
  EnvBlock,
  Ident,
  InterpPart,
  ListLit,
  Literal,
  NumberLit,
  Runbook,
  SqlStmt,
  Step,
  SyncStmt,
  Stmt,
  StringLit,
  TextPart,
  Value,
  Into,
} from "./ast.js";
import { ALLOWED_SIGNERS_FILE, allSteps, literalInterps, literalText } from "./ast.js";
import { allGroups, groupMembers, parseAllowedSigners } from "./allowed-signers.js";
import { sortDiagnostics, type Diagnostic, type Severity } from "./diagnostics.js";
import { messages } from "./messages.js";
import { commitsImplicitly, FILE_ACCESS_WORDS, splitStatements, statementWords, type SqlWord } from "./sql/lexer.js";
import type { Engine } from "./sql/index.js";
import { maskUrlPasswords, urlHasPassword } from "./url-password.js";
import { mysqlUrlTls } from "./mysql-url.js";
import { isSimpleShell, piecesOf, placeShellValues, placeSqlValues, type Placement } from "./value-placement.js";
import { envScope, evalStatic, HOST_VALUES, MAX_VALUE_LENGTH, oversizedValue, resolveValues, RUN_BUILTINS, runnableEnvs, type EnvScope } from "./scope.js";
import type { Span } from "./span.js";
import { assertNever } from "./assert.js";
import { STATEMENT_KINDS, STATEMENTS, type SecretPlace, type StatementInfo, type StmtKind } from "./statements.js";

type Kind = Decl["kind"];

/** Where a string is used, for what may be interpolated into it. */
interface Place {
  /** Secrets may be interpolated (the place is redacted when shown). */
  secrets: boolean;
  /** Text that is only shown: a secret is allowed and shows as `***` (with a warning). */
  masked?: boolean;
  /** A declaration's value: only params, vars and builtins. */
  value?: boolean;
  /** "a note", "a path": for messages. */
  what: string;
}

const COMMAND: Place = { secrets: true, what: "a command" };
const SQL: Place = { secrets: true, what: "SQL" };
const EDIT: Place = { secrets: true, what: "an edit" };
const textPlaces = new Map<string, Place>();
const shownPlaces = new Map<string, Place>();
/** A place where text is shown (secrets not allowed). */
const text = (what: string): Place => {
  let p = textPlaces.get(what);
  if (!p) {
    p = { secrets: false, what };
    textPlaces.set(what, p);
  }
  return p;
};
/** A place where text is only shown: a secret there shows as `***`. */
const shown = (what: string): Place => {
  let p = shownPlaces.get(what);
  if (!p) {
    p = { secrets: false, masked: true, what };
    shownPlaces.set(what, p);
  }
  return p;
};
const PATH = text("a path");
const USER = text("the user of `run … as`");
const CONDITION = text("a condition");
/** A string or name compared in a condition: a secret is filled in when it is evaluated, never shown. */
const CONDITION_TEXT: Place = { secrets: true, what: "a condition" };
/** The path of `exists`: a probe, like a command (a secret is filled in when it runs). */
const EXISTS_PATH: Place = { secrets: true, what: "a path" };
const valuePlace = (kind: Kind): Place => ({ secrets: false, value: true, what: `a ${kind}'s value` });

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** `user@address[:port]`, or an ssh config alias; IPv6 in brackets. */
const HOST_TARGET = /^(?:[^\s@:/]+@)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const MYSQL_URL = /^mysql:\/\/[^\s/]+(?:\/[^\s/?]*)?(?:\?\S*)?$/;
const EXPORT_FORMATS = new Set(["csv", "web2py"]);
/** The code places a secret may go (statements.ts `secretsIn` names them). */
const CODE_PLACES: { [P in SecretPlace]: Place } = { command: COMMAND, sql: SQL, edit: EDIT };
/** The place of a statement's field: code where the statements table lets secrets go, else `otherwise`. */
function placeOf<K extends StmtKind>(kind: K, field: keyof StatementInfo<K>["secretsIn"], otherwise: Place): Place {
  const code = STATEMENTS[kind].secretsIn[field];
  return code ? CODE_PLACES[code] : otherwise;
}
const RUN_COMMAND = placeOf("run", "command", text("a command"));
const UNDO_COMMAND = placeOf("undo", "command", text("a command"));
const SQL_TEXT = placeOf("sql", "text", text("SQL"));
const EDIT_TEXT = placeOf("edit", "replaces", text("an edit"));
/** A bit for each step option, to see a repeated one without making a set per step. */
const OPTION_BIT: Partial<Record<StmtKind, number>> = Object.fromEntries(
  STATEMENT_KINDS.filter((k) => STATEMENTS[k].option !== undefined).map((kind, i) => [kind, 1 << i]),
);

/** Every semantic error and warning of a runbook, sorted by position. */
export function check(rb: Runbook): Diagnostic[] {
  return sortDiagnostics(new Checker(rb).run());
}

// ---------------------------------------------------------------- suggestions

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps), capped at max+1. */
export function editDistance(a: string, b: string, max = 2): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = a.length;
  const m = b.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/** The closest candidate within distance 2 (1 for names of up to 3 characters), if any. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const max = name.length <= 3 ? 1 : 2;
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of candidates) {
    if (c === name) continue;
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase(), max);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

// ---------------------------------------------------------------- SQL scanning

/**
 * The words of each statement of an SQL text (split at `;`), upper-cased, outside
 * string literals, quoted names and comments (sql-lexer.ts; MySQL's `/*! … *\/` is code).
 */
export function sqlStatements(sql: string, dialect: Engine = "mysql"): SqlWord[][] {
  return splitStatements(sql, dialect).map((st) => statementWords(sql, st));
}

/** Destructive operations in an SQL text: DROP, TRUNCATE, and DELETE or UPDATE without WHERE. */
export function destructiveSql(sql: string, dialect: Engine = "mysql"): { what: string; index: number; length: number }[] {
  const found: { what: string; index: number; length: number }[] = [];
  for (const words of sqlStatements(sql, dialect)) {
    const first = words[0]!;
    if ((first.word === "DELETE" || first.word === "UPDATE") && !words.some((w) => w.word === "WHERE")) {
      found.push({ what: `\`${first.word}\` without \`WHERE\``, index: first.index, length: first.word.length });
    }
    for (const w of words) {
      if (w.word === "DROP" || w.word === "TRUNCATE") {
        found.push({ what: `\`${w.word}\``, index: w.index, length: w.word.length });
        break;
      }
    }
  }
  return found;
}

const WRITING_SQL = new Set([
  "INSERT", "UPDATE", "DELETE", "DROP", "TRUNCATE", "ALTER", "CREATE", "REPLACE", "GRANT", "REVOKE", "RENAME", "MERGE", "ATTACH", "DETACH", "VACUUM", "LOCK", "CALL",
]);

const WRITING_ANYWHERE = new Set(["INSERT", "DELETE", "DROP", "TRUNCATE"]);
const FILE_ACCESS = FILE_ACCESS_WORDS;
/** Quick tests before scanning: most SQL has none of these words. */
const DESTRUCTIVE_HINT = /drop|truncate|delete|update/i;
const WRITING_HINT = new RegExp([...WRITING_SQL, ...FILE_ACCESS].join("|"), "i");

// ---------------------------------------------------------------- the checker

interface EnvContext {
  scope: EnvScope;
  values: Map<string, string>;
}

class Checker {
  private readonly diags: Diagnostic[] = [];
  /** Top-level declarations (the first of duplicates). */
  private readonly top = new Map<string, Decl>();
  /** Env blocks (the first of duplicates). */
  private readonly envs = new Map<string, EnvBlock>();
  /** Envs a run can use: the declared ones, else `default`. */
  private readonly runnable: string[];
  private readonly protectedEnvs: string[];
  private readonly envContexts = new Map<string, EnvContext>();
  private readonly scopes = new Map<string, EnvScope>();
  /** The `sync` statements of the step being checked (its body and undo). */
  private readonly syncs: SyncStmt[] = [];
  private readonly sourceText = new Map<string, string>();
  private readonly suggestions = new Map<string, string | undefined>();
  /** Values captured with `into NAME`, by name (the first of duplicates), with where they are captured. */
  private readonly captures = new Map<string, { into: Into; stepId: string; index: number; stmt: number }>();
  /**
   * The step being checked: its run-order index, whether its `when`/`unless` is being
   * checked (per-step values cannot go there), and which statement of its body (its
   * `undo` runs after all of them).
   */
  private current: { step: Step; index: number; guard: boolean; stmt: number } | undefined;

  constructor(private readonly rb: Runbook) {
    for (const s of rb.sources) this.sourceText.set(s.file, s.text);
    this.runnable = runnableEnvs(rb);
    this.protectedEnvs = [];
  }

  run(): Diagnostic[] {
    const rb = this.rb;
    this.declarations();
    this.header();
    this.envBlocks();
    if (rb.defaultEnv) this.envName(rb.defaultEnv.name, rb.defaultEnv.span);
    for (const d of rb.decls) this.declValue(d);
    for (const e of rb.envs) for (const d of e.overrides) this.declValue(d);
    for (const e of rb.envs) for (const c of e.confirms) this.string(c.question, shown("a confirmation"));
    this.approvals();
    this.cycles();
    this.valueSizes();
    for (const b of this.envs.values()) if (b.protected) this.protectedEnvs.push(b.name.name);
    for (const item of rb.items) if (item.kind === "section") this.string(item.title, shown("a section title"));
    const ids = new Map<string, Step>();
    const finallySteps = new Set(rb.finally?.steps ?? []);
    this.collectCaptures();
    let index = 0;
    for (const step of allSteps(rb)) {
      this.current = { step, index: index++, guard: false, stmt: -1 };
      const first = ids.get(step.id);
      if (first) {
        this.error("duplicate-step-id", step.idSpan, messages.duplicateStepId(step.id), [
          messages.firstAt("used", this.where(first.idSpan, step.idSpan)),
          messages.stepIdHint,
        ]);
      } else ids.set(step.id, step);
      this.step(step, finallySteps.has(step));
    }
    this.current = undefined;
    return this.diags;
  }

  /** Every `into NAME`: a name of its own, not a declaration's, a builtin's or another capture's. */
  private collectCaptures(): void {
    let index = 0;
    for (const step of allSteps(this.rb)) {
      const body = [...step.body, ...step.body.flatMap((s) => (s.kind === "undo" ? (s.body ?? []) : []))];
      for (const s of body) {
        if ((s.kind !== "run" && s.kind !== "sql") || !s.into) continue;
        const into = s.into;
        const name = into.name.name;
        if (s.kind === "sql") this.readOnly(s.text, true);
        if (step.body.indexOf(s) < 0) {
          this.error("misplaced-statement", into.span, messages.captureInUndo);
          continue;
        }
        const decl = this.top.get(name);
        const prev = this.captures.get(name);
        if (decl || prev || name === "env" || name === "run" || name === "host") {
          const first = decl?.name.span ?? prev?.into.name.span;
          this.error("duplicate-declaration", into.name.span, messages.duplicateCapture(name), first ? [messages.firstAt("declared", this.where(first, into.name.span))] : [messages.reservedCapture]);
          continue;
        }
        this.captures.set(name, { into, stepId: step.id, index, stmt: step.body.indexOf(s) });
      }
      index++;
    }
  }

  /** A captured value or a `host.…` value: known only while a step runs, so it goes where a secret may (commands, SQL, edits, conditions). */
  private lateValue(name: string, span: Span, place: Place, what: string): void {
    if (this.current?.guard) {
      this.error("wrong-kind", span, messages.lateInGuard(name, what));
      return;
    }
    if (!place.secrets) this.error("wrong-kind", span, messages.lateValuePlace(name, what, place.what), [messages.lateValuePlaces]);
  }

  // ---------------------------------------------------------------- reporting

  private report(severity: Severity, code: string, span: Span, message: string, notes?: (string | undefined)[]): void {
    const n = (notes ?? []).filter((x): x is string => x !== undefined);
    this.diags.push({ severity, code, message, span, ...(n.length ? { notes: n } : {}) });
  }

  private error(code: string, span: Span, message: string, notes?: (string | undefined)[]): void {
    this.report("error", code, span, message, notes);
  }

  private warn(code: string, span: Span, message: string, notes?: (string | undefined)[]): void {
    this.report("warning", code, span, message, notes);
  }

  /** "line 3", or "lib.rb:3" when in another file than `from`. */
  private where(span: Span, from: Span): string {
    return span.file === from.file ? `line ${span.line}` : `${span.file}:${span.line}`;
  }

  private suggest(name: string, pool: string, candidates: () => Iterable<string>): string | undefined {
    const key = `${pool}\u0000${name}`;
    if (!this.suggestions.has(key)) this.suggestions.set(key, closest(name, candidates()));
    const s = this.suggestions.get(key);
    return s === undefined ? undefined : messages.didYouMean(s);
  }

  private namesOfKind(...kinds: Kind[]): string[] {
    const out: string[] = [];
    for (const [name, d] of this.top) if (kinds.includes(d.kind)) out.push(name);
    return out;
  }

  // ---------------------------------------------------------------- header and declarations

  private header(): void {
    const h = this.rb.header;
    this.string(h.name, text("the runbook's name"));
    const v = literalText(h.version);
    if (v === undefined || !SEMVER.test(v)) {
      this.error("bad-semver", h.version.span, messages.badSemver(v ?? this.source(h.version.span)), [messages.semverHint]);
    }
    if (h.description) this.string(h.description, shown("the description"));
    if (h.owner) this.string(h.owner, shown("the owner"));
  }

  private source(span: Span): string {
    const t = this.sourceText.get(span.file);
    return t ? t.slice(span.offset, span.offset + span.length) : "";
  }

  private declarations(): void {
    for (const d of this.rb.decls) {
      const name = d.name.name;
      const first = this.top.get(name);
      if (first) {
        this.error("duplicate-declaration", d.name.span, messages.duplicateDecl(name), [
          messages.firstAt("declared", this.where(first.name.span, d.name.span)),
        ]);
      } else this.top.set(name, d);
    }
  }

  private envBlocks(): void {
    for (const e of this.rb.envs) {
      const name = e.name.name;
      const first = this.envs.get(name);
      if (first) {
        this.error("duplicate-env", e.name.span, messages.duplicateEnv(name), [
          messages.firstAt("declared", this.where(first.name.span, e.name.span)),
        ]);
      } else this.envs.set(name, e);
      const seen = new Map<string, Decl>();
      for (const d of e.overrides) {
        const n = d.name.name;
        const top = this.top.get(n);
        const prev = seen.get(n);
        if (prev) {
          this.error("duplicate-declaration", d.name.span, messages.duplicateOverride(name, n), [
            messages.firstAt("overridden", this.where(prev.name.span, d.name.span)),
          ]);
          continue;
        }
        seen.set(n, d);
        if (!top) {
          this.error("undeclared-override", d.name.span, messages.undeclaredOverride(name, n), [
            this.suggest(n, "decl", () => this.top.keys()),
            messages.declareFirst(d.kind, n),
          ]);
        } else if (top.kind !== d.kind) {
          this.error("override-kind", d.name.span, messages.overrideKind(name, n, d.kind, top.kind), [
            messages.firstAt("declared", this.where(top.name.span, d.name.span)),
          ]);
        }
      }
    }
  }

  /**
   * `approvals N from "group"`: the allowed-signers file beside the runbook must be
   * there and well-formed (its problems are reported at their own line), the group
   * must be in it with at least N members.
   */
  private approvals(): void {
    const stmts = this.rb.envs.flatMap((e) => (e.approvals ? [e.approvals] : []));
    if (stmts.length === 0) return;
    const file = this.rb.signers;
    const parsed = file ? parseAllowedSigners(file.text) : undefined;
    if (file && parsed) {
      const lineStarts = [0];
      for (let i = 0; i < file.text.length; i++) if (file.text[i] === "\n") lineStarts.push(i + 1);
      for (const p of parsed.problems) {
        const offset = (lineStarts[p.line - 1] ?? 0) + p.column - 1;
        this.error("allowed-signers", { file: file.file, offset, line: p.line, column: p.column, length: Math.max(1, p.length) }, p.message);
      }
    }
    for (const a of stmts) {
      this.count(a.count, "approvals");
      if (a.within) this.duration(a.within, "within");
      const group = literalText(a.group);
      if (group === undefined) {
        this.error("bad-value", a.group.span, messages.noInterpolationIn("an approval group"));
        continue;
      }
      if (group === "") {
        this.error("bad-value", a.group.span, messages.emptyApprovalGroup());
        continue;
      }
      if (!parsed) {
        const why = this.rb.signersUnreadable;
        this.error("allowed-signers", a.span, why === "directory" ? messages.allowedSignersIsDirectory(this.signersPath()) : messages.noAllowedSigners(this.signersPath()));
        continue;
      }
      const members = groupMembers(parsed, group);
      if (members.length === 0) {
        this.error("unknown-group", a.group.span, messages.unknownApprovalGroup(group, file!.file), [
          this.suggest(group, "approval-group", () => allGroups(parsed)),
        ]);
      } else if (Number.isInteger(a.count.value) && a.count.value > members.length) {
        this.error("bad-count", a.count.span, messages.tooFewApprovers(a.count.value, group, members));
      }
    }
  }

  private signersPath(): string {
    const dir = this.rb.file.includes("/") ? this.rb.file.slice(0, this.rb.file.lastIndexOf("/") + 1) : "";
    return `${dir}${ALLOWED_SIGNERS_FILE}`;
  }

  /**
   * A name that must be an env, as an identifier or a string literal.
   */
  private envName(name: string, span: Span): boolean {
    if (this.runnable.includes(name)) return true;
    const names = [...this.envs.keys()];
    this.error("unknown-env", span, messages.unknownEnv(name), [
      this.suggest(name, "env", () => this.runnable),
      messages.envsAre(names),
    ]);
    return false;
  }

  private declValue(d: Decl): void {
    const place = valuePlace(d.kind);
    switch (d.kind) {
      case "param":
      case "var":
        this.literal(d.value, place);
        return;
      case "secret":
        if (d.source === "command") {
          const interp = d.ref.parts.find((p) => p.kind === "interp");
          if (interp) this.error("bad-value", interp.span, messages.secretCommandValue, [messages.secretCommandValueHint]);
        }
        this.string(d.ref, place);
        return;
      case "host": {
        if (d.value.kind === "local") return;
        if (d.value.kind === "string") this.hostTarget(d.value, place);
        else {
          if (d.value.items.length === 0) this.error("bad-value", d.value.span, messages.emptyGroup);
          for (const item of d.value.items) {
            if (item.kind === "string") this.hostTarget(item, place);
            else this.error("bad-value", item.span, messages.notAString("a host group's member"));
          }
          for (const m of d.value.members ?? []) {
            const seen = new Map<string, Span>();
            for (const v of m.values) {
              const first = seen.get(v.name.name);
              if ((HOST_VALUES as readonly string[]).includes(v.name.name)) this.error("duplicate-declaration", v.name.span, messages.memberValueBuiltin(v.name.name));
              else if (first) this.error("duplicate-declaration", v.name.span, messages.duplicateMemberValue(v.name.name), [messages.firstAt("given", this.where(first, v.name.span))]);
              else seen.set(v.name.name, v.name.span);
              this.literal(v.value, place);
            }
          }
        }
        return;
      }
      case "database": {
        const db = d.value;
        if (db.engine === "sqlite") {
          this.string(db.path, place);
          if (db.on) this.hostRef(db.on);
        } else {
          this.string(db.url, place);
          const url = literalText(db.url);
          if (url !== undefined && urlHasPassword(url)) this.error("bad-value", db.url.span, messages.mysqlUrlPassword(maskUrlPasswords(url)));
          else if (url !== undefined && !MYSQL_URL.test(url)) this.error("bad-value", db.url.span, messages.badMysqlUrl(url));
          else if (url !== undefined) {
            const tls = mysqlUrlTls(url.includes("?") ? url.slice(url.indexOf("?")) : "");
            if ("problem" in tls) this.error("bad-value", db.url.span, messages.badMysqlUrlOption(tls.problem));
          }
          if (db.password) this.secretRef(db.password);
          if (db.via) this.hostRef(db.via);
        }
        return;
      }
      default:
        return assertNever(d, "declaration");
    }
  }

  private hostTarget(s: StringLit, place: Place): void {
    this.string(s, place);
    const t = literalText(s);
    if (t !== undefined && !HOST_TARGET.test(t)) this.error("bad-value", s.span, messages.badHostTarget(t));
  }

  // ---------------------------------------------------------------- references

  /** Whether `id` names a top-level declaration of kind `expected`; reports unknown or wrong-kind names. */
  private ref(id: Ident, expected: Kind, unknownCode: string, unknown: (n: string) => string): boolean {
    const d = this.top.get(id.name);
    if (!d) {
      this.error(unknownCode, id.span, unknown(id.name), [this.suggest(id.name, expected, () => this.namesOfKind(expected))]);
      return false;
    }
    if (d.kind !== expected) {
      this.error("wrong-kind", id.span, messages.wrongKind(id.name, d.kind, expected));
      return false;
    }
    return true;
  }

  private hostRef(id: Ident): boolean {
    return this.ref(id, "host", "unknown-host", messages.unknownHost);
  }

  private dbRef(id: Ident): boolean {
    return this.ref(id, "database", "unknown-database", messages.unknownDatabase);
  }

  private secretRef(id: Ident): boolean {
    return this.ref(id, "secret", "unknown-name", messages.unknownSecret);
  }

  /** Checks a name used as a value (`${…}` or a condition's name); errors point at the offending identifier when there are idents, else at `whole`. */
  private name(path: string[], idents: Ident[] | undefined, whole: Span, place: Place): void {
    const at = (i: number): Span => idents?.[i]?.span ?? whole;
    if (path.length === 1) {
      const n = path[0]!;
      if (n === "env") return;
      const d = this.top.get(n);
      const captured = d ? undefined : this.captures.get(n);
      if (captured) {
        const cur = this.current;
        // Later steps, and in its own step the statements after it and its `undo`.
        const after = cur !== undefined && (cur.index > captured.index || (cur.index === captured.index && cur.stmt > captured.stmt));
        if (!after) {
          this.error("unknown-name", at(0), messages.capturedTooEarly(n, captured.stepId, cur?.step.id, cur?.index === captured.index), [messages.capturedTooEarlyHint]);
          return;
        }
        this.lateValue(n, at(0), place, messages.capturedBy(captured.stepId));
        return;
      }
      if (!d) {
        this.error("unknown-name", at(0), messages.unknownName(n), [
          this.suggest(n, "name", () => [...this.top.keys(), "env"]),
        ]);
        return;
      }
      this.kindInPlace(n, d.kind, at(0), place);
      return;
    }
    const shown = path.join(".");
    if (path.length === 2) {
      const [a, b] = path as [string, string];
      if (a === "run") {
        if (!(RUN_BUILTINS as readonly string[]).includes(shown)) {
          this.error("unknown-name", at(1), messages.unknownRunMember(b), [
            this.suggest(shown, "run", () => RUN_BUILTINS),
            messages.runMembersAre(RUN_BUILTINS),
          ]);
        }
        return;
      }
      if (a === "env") {
        this.error("unknown-name", at(1), messages.noMembers("env", "builtin", b));
        return;
      }
      if (a === "host") {
        this.hostValue(b, at(1), place);
        return;
      }
      if (this.envs.has(a)) {
        const d = this.top.get(b);
        if (!d) {
          this.error("unknown-name", at(1), messages.unknownEnvMember(a, b), [
            this.suggest(b, "value", () => this.namesOfKind("param", "var")),
          ]);
        } else if (d.kind !== "param" && d.kind !== "var") {
          this.error("wrong-kind", at(1), messages.otherEnvKind(a, b, d.kind));
        }
        return;
      }
      const d = this.top.get(a);
      if (d) {
        this.error("unknown-name", at(1), messages.noMembers(a, d.kind, b));
        return;
      }
      this.error("unknown-env", at(0), messages.unknownEnv(a), [
        this.suggest(a, "env-or-run", () => [...this.envs.keys(), "run"]),
        messages.envsAre([...this.envs.keys()]),
      ]);
      return;
    }
    this.error("unknown-name", whole, messages.tooManyParts(shown));
  }

  /** `host.name`, `host.address`, `host.user`: the member of the step's host the step runs on. */
  private hostValue(member: string, span: Span, place: Place): void {
    const on = this.current?.step.on;
    if (!on) {
      this.error("unknown-name", span, messages.hostValueWithoutHost(member), [messages.hostValueWithoutHostHint]);
      return;
    }
    if (!(HOST_VALUES as readonly string[]).includes(member)) {
      // A member's own value: every member of the step's host has it, in every env.
      const missing = this.runnable.find((env) => !this.memberValues(on.name, env).has(member));
      if (missing !== undefined) {
        this.error("unknown-name", span, messages.unknownHostValue(member, on.name, this.runnable.length > 1 ? missing : undefined), [
          messages.hostValuesAre(HOST_VALUES),
          messages.memberValuesHint,
        ]);
        return;
      }
    }
    this.lateValue(`host.${member}`, span, place, messages.hostValueWhat);
  }

  /** The values every member of host `name` has of its own in `env` (none for a single host or `local`). */
  private memberValues(name: string, env: string): Set<string> {
    const d = this.env(env).scope.decls.get(name);
    if (d?.kind !== "host" || d.value.kind !== "list" || !d.value.members) return new Set();
    const members = d.value.members;
    let common: Set<string> | undefined;
    for (let i = 0; i < d.value.items.length; i++) {
      const names = new Set((members[i]?.values ?? []).map((v) => v.name.name));
      common = common === undefined ? names : new Set([...common].filter((n) => names.has(n)));
    }
    return common ?? new Set();
  }

  private kindInPlace(name: string, kind: Kind, span: Span, place: Place): void {
    if (kind === "param" || kind === "var") return;
    if (kind === "secret") {
      if (place.secrets) return;
      if (place.masked) {
        this.warn("secret-exposed", span, messages.secretMasked(name, place.what), [messages.secretMaskedHint]);
        return;
      }
      this.error("secret-exposed", span, messages.secretExposed(name, place.what), [
        place.value ? messages.passwordHint : messages.secretPlaces,
      ]);
      return;
    }
    if (place.value || place === CONDITION || place === CONDITION_TEXT) this.error("wrong-kind", span, messages.notAValue(name, kind, place.what), [messages.valueKinds]);
  }

  private string(s: StringLit, place: Place): void {
    for (const p of s.parts) {
      if (p.kind !== "interp") continue;
      this.name(p.path, undefined, p.span, place);
      if (p.raw && (p.path[0] === "host" || (p.path.length === 1 && !this.top.has(p.path[0]!) && this.captures.has(p.path[0]!)))) {
        this.error("unsafe-interpolation", p.span, messages.rawLateValue(p.path.join(".")));
      }
    }
    if (place === COMMAND || place === SQL) this.rawInputs(s, place);
  }

  // ---------------------------------------------------------------- value sizes

  /** Envs in which a value would be over MAX_VALUE_LENGTH (their values are never built). */
  private readonly oversized = new Set<string>();

  /** A value over MAX_VALUE_LENGTH in some env: a `value-too-large` error at its declaration, once per declaration. */
  private valueSizes(): void {
    const reported = new Set<Decl>();
    for (const env of this.runnable) {
      const big = oversizedValue(this.rb, env);
      if (!big) continue;
      this.oversized.add(env);
      if (reported.has(big.decl)) continue;
      reported.add(big.decl);
      this.error("value-too-large", big.decl.name.span, messages.valueTooLarge(big.decl.kind, big.decl.name.name, big.length, env, MAX_VALUE_LENGTH, false), [
        messages.valueTooLargeNote(),
      ]);
    }
  }

  // ---------------------------------------------------------------- raw values from outside

  /** Names whose value can come from outside the runbook (see `outsideNames`), worked out once. */
  private outside?: Map<string, OutsideSource>;

  /** `${raw x}` in a command or SQL, where x can come from outside: a `raw-input` warning. */
  private rawInputs(s: StringLit, place: Place): void {
    for (const p of s.parts) {
      if (p.kind !== "interp" || !p.raw) continue;
      this.outside ??= outsideNames(this.rb);
      // `${x}`, or `${otherenv.x}`: the name is the last part.
      const name = p.path.length === 1 ? p.path[0]! : p.path.length === 2 && this.envs.has(p.path[0]!) ? p.path[1]! : undefined;
      const why = name === undefined ? undefined : this.outside.get(name);
      if (why === undefined) continue;
      this.warn("raw-input", p.span, messages.rawInput(p.path.join("."), why, place.what), [messages.rawInputHint]);
    }
  }

  private literal(l: Literal, place: Place): void {
    if (l.kind === "string") this.string(l, place);
    else if (l.kind === "list") for (const i of l.items) this.literal(i, place);
  }

  // ---------------------------------------------------------------- interpolation cycles

  private cycles(): void {
    const envSet = new Set(this.envs.keys());
    const declId = new Map<Decl, number>();
    const scopeOf = (env: string) => this.scopeOf(env);
    type Node = { env: string; name: string; decl: Decl };
    interface Edge {
      to: string;
      part: InterpPart;
    }
    const nodes = new Map<string, Node>();
    const edges = new Map<string, Edge[]>();
    const key = (env: string, name: string) => `${env}\u0000${name}`;
    const node = (env: string, name: string): string | undefined => {
      const k = key(env, name);
      if (nodes.has(k)) return k;
      const d = scopeOf(env).decls.get(name);
      if (!d || (d.kind !== "param" && d.kind !== "var")) return undefined;
      if (!declId.has(d)) declId.set(d, declId.size);
      nodes.set(k, { env, name, decl: d });
      return k;
    };
    const edgesOf = (k: string): Edge[] => {
      let out = edges.get(k);
      if (out) return out;
      out = [];
      const n = nodes.get(k)!;
      const visit = (l: Literal) => {
        if (l.kind === "list") l.items.forEach(visit);
        if (l.kind !== "string") return;
        for (const p of l.parts) {
          if (p.kind !== "interp") continue;
          let to: string | undefined;
          if (p.path.length === 1) to = node(n.env, p.path[0]!);
          else if (p.path.length === 2 && envSet.has(p.path[0]!)) to = node(p.path[0]!, p.path[1]!);
          if (to) out!.push({ to, part: p });
        }
      };
      if (n.decl.kind === "param" || n.decl.kind === "var") visit(n.decl.value);
      edges.set(k, out);
      return out;
    };

    const found = new Map<string, { chain: Node[]; parts: InterpPart[]; envs: Set<string> }>();
    const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
    for (const env of this.runnable) {
      for (const [name, d] of scopeOf(env).decls) {
        if (d.kind !== "param" && d.kind !== "var") continue;
        const start = node(env, name)!;
        if (state.has(start)) continue;
        // iterative depth-first search; a back edge closes a cycle
        const stack: { k: string; i: number; via?: InterpPart }[] = [{ k: start, i: 0 }];
        state.set(start, 1);
        while (stack.length) {
          const top = stack[stack.length - 1]!;
          const es = edgesOf(top.k);
          if (top.i >= es.length) {
            state.set(top.k, 2);
            stack.pop();
            continue;
          }
          const e = es[top.i++]!;
          const st = state.get(e.to);
          if (st === undefined) {
            state.set(e.to, 1);
            stack.push({ k: e.to, i: 0, via: e.part });
          } else if (st === 1) {
            const from = stack.findIndex((f) => f.k === e.to);
            const frames = stack.slice(from);
            const chain = frames.map((f) => nodes.get(f.k)!);
            const parts = [...frames.slice(1).map((f) => f.via!), e.part];
            const ck = chain
              .map((c) => declId.get(c.decl)!)
              .sort((x, y) => x - y)
              .join(",");
            const prev = found.get(ck);
            if (prev) for (const c of chain) prev.envs.add(c.env);
            else found.set(ck, { chain, parts, envs: new Set(chain.map((c) => c.env)) });
          }
        }
      }
    }

    for (const { chain, parts, envs } of found.values()) {
      // start the chain at the declaration that comes first in the source
      let s = 0;
      for (let i = 1; i < chain.length; i++) {
        const a = chain[i]!.decl.name.span;
        const b = chain[s]!.decl.name.span;
        if (a.file < b.file || (a.file === b.file && a.offset < b.offset)) s = i;
      }
      const ordered = [...chain.slice(s), ...chain.slice(0, s)];
      const crossEnv = new Set(chain.map((c) => c.env)).size > 1;
      const label = (c: Node) => (crossEnv ? `${c.env}.${c.name}` : c.name);
      const names = [...ordered.map(label), label(ordered[0]!)];
      const all = this.runnable.every((e) => envs.has(e));
      this.error(
        "interpolation-cycle",
        parts[s]!.span,
        messages.interpolationCycle(names),
        all || crossEnv ? [] : [messages.inEnvs(this.runnable.filter((e) => envs.has(e)))],
      );
    }
  }

  // ---------------------------------------------------------------- steps

  /**
   * The scope of an env and the values that the source alone fixes there: a param
   * can be changed with `--set`, and a value using a param, a run value (`run.id`)
   * or a cycle is known only when running, so these are left out and conditions
   * on them count as "can run".
   */
  private env(env: string): EnvContext {
    let c = this.envContexts.get(env);
    if (!c) {
      const scope = this.scopeOf(env);
      const all = this.oversized.has(env) ? new Map<string, string>() : resolveValues(this.rb, env);
      const values = new Map<string, string>();
      const memo = new Map<string, boolean>();
      for (const [name, v] of all) if (this.fixed(env, name, env, memo)) values.set(name, v);
      c = { scope, values };
      this.envContexts.set(env, c);
    }
    return c;
  }

  /**
   * Whether the value of `name` in `env` is fixed by the source when running in `mainEnv`:
   * a var (or another env's param) whose `${…}` are all `env` or fixed values. Depth first
   * with a stack of its own (a chain of vars may be of any length); a cycle is not fixed.
   */
  private fixed(env: string, name: string, mainEnv: string, memo: Map<string, boolean>): boolean {
    const rootKey = `${env}\u0000${name}`;
    /** The values a value takes in, or false when something in it is not fixed. */
    const depsOf = (e: string, n: string): string[] | false => {
      const decl = this.scopeOf(e).decls.get(n);
      if (!decl || (decl.kind !== "param" && decl.kind !== "var") || (decl.kind === "param" && e === mainEnv)) return false;
      const deps: string[] = [];
      for (const { path } of literalInterps(decl.value)) {
        if (path.length === 1 && path[0] === "env") continue;
        if (path.length === 1) deps.push(`${e}\u0000${path[0]}`);
        else if (path.length === 2 && this.envs.has(path[0]!)) deps.push(`${path[0]}\u0000${path[1]}`);
        else return false;
      }
      return deps;
    };
    const visiting = new Set<string>();
    const stack: { key: string; deps: string[]; i: number }[] = [];
    const enter = (key: string): void => {
      const [e, n] = key.split("\u0000") as [string, string];
      const deps = depsOf(e, n);
      if (deps === false) memo.set(key, false);
      else {
        visiting.add(key);
        stack.push({ key, deps, i: 0 });
      }
    };
    if (!memo.has(rootKey)) enter(rootKey);
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      let result: boolean | undefined;
      while (result === undefined && f.i < f.deps.length) {
        const d = f.deps[f.i]!;
        const known = memo.get(d);
        if (known === true) f.i++;
        else if (known === false || visiting.has(d)) result = false;
        else {
          enter(d);
          break;
        }
      }
      if (stack[stack.length - 1] !== f) continue; // went deeper
      if (result === undefined && f.i < f.deps.length) continue; // a dependency just turned out false: look again
      stack.pop();
      visiting.delete(f.key);
      memo.set(f.key, result ?? true);
    }
    return memo.get(rootKey)!;
  }

  private scopeOf(env: string): EnvScope {
    let s = this.scopes.get(env);
    if (!s) {
      s = envScope(this.rb, env);
      this.scopes.set(env, s);
    }
    return s;
  }

  /**
   * Envs in which a step's `when`/`unless` does not rule it out statically, and the protected
   * ones among them. Steps often share a condition (`when env != "prod"`): the same source
   * text gives the same answer, so it is worked out once per text.
   */
  private canRunIn(step: Step): { envs: string[]; protectedEnvs: string[] } {
    if (!step.when && !step.unless) return (this.always ??= this.withProtected(this.runnable));
    // (The usual key is the `when` text alone: a slice of the source, hashed as it is.)
    const key = !step.unless ? this.textOf(step.when) : `${this.textOf(step.when)}\u0000${this.textOf(step.unless)}`;
    const memo = key !== "" && key !== "\u0000"; // "": no source text at hand
    let r = memo ? this.canRunByText.get(key) : undefined;
    if (!r) {
      const envs: string[] = [];
      for (const env of this.runnable) {
        const { scope, values } = this.env(env);
        const w = step.when ? evalStatic(step.when, scope, values) : true;
        const u = step.unless ? evalStatic(step.unless, scope, values) : false;
        if (w !== false && u !== true) envs.push(env);
      }
      r = this.withProtected(envs);
      if (memo) this.canRunByText.set(key, r);
    }
    return r;
  }

  private always?: { envs: string[]; protectedEnvs: string[] };
  private readonly canRunByText = new Map<string, { envs: string[]; protectedEnvs: string[] }>();

  private withProtected(envs: string[]): { envs: string[]; protectedEnvs: string[] } {
    return { envs, protectedEnvs: envs.filter((e) => this.protectedEnvs.includes(e)) };
  }

  /** The source text of a node ("" when there is none, or the source is not at hand). */
  private textOf(node: { span: Span } | undefined): string {
    if (!node) return "";
    const text = this.sourceText.get(node.span.file);
    return text === undefined ? "" : text.slice(node.span.offset, node.span.offset + node.span.length);
  }

  private step(step: Step, inFinally: boolean): void {
    this.string(step.title, shown("a step title"));
    if (step.on) this.hostRef(step.on);
    if (this.current) this.current.guard = true;
    if (step.when) this.cond(step.when);
    if (step.unless) this.cond(step.unless);
    if (this.current) this.current.guard = false;

    let options = 0; // OPTION_BIT of the options seen so far
    let confirmed = false;
    const syncs = this.syncs;
    syncs.length = 0;
    let mutating = false;
    let hasUndo = false;
    for (const s of step.body) {
      const bit = OPTION_BIT[s.kind];
      if (bit !== undefined) {
        if (options & bit) this.error("duplicate-option", s.span, messages.duplicateOption(STATEMENTS[s.kind].option!));
        options |= bit;
      }
      if (s.kind === "confirm") confirmed = true;
      if (s.kind === "undo") hasUndo = true;
      if (STATEMENTS[s.kind].changesState) mutating = true;
      if (s.kind === "sql" && !confirmed) this.destructive(s);
      if (s.kind === "parallel") this.parallel(step, s.span);
      if (this.current) this.current.stmt = s.kind === "undo" ? step.body.length : step.body.indexOf(s);
      this.stmt(s, false);
    }

    const needsEnvs = syncs.length > 0 || (mutating && !hasUndo && !inFinally && this.protectedEnvs.length > 0);
    if (!needsEnvs) return;
    const { envs: canRun, protectedEnvs: prot } = this.canRunIn(step);
    for (const stmt of syncs) {
      if (prot.length) this.error("sync-into-protected", stmt.span, messages.syncIntoProtected(stmt.db.name, prot), [messages.syncGuardHint(prot)]);
      if (stmt.db.name === stmt.fromDb.name && canRun.includes(stmt.fromEnv.name)) {
        this.error("sync-from-self", stmt.fromEnv.span, messages.syncFromSelf(stmt.db.name, [stmt.fromEnv.name]));
      }
    }
    if (mutating && !hasUndo && !inFinally && prot.length) {
      this.warn("missing-undo", step.title.span, messages.missingUndo(step.id, prot), [messages.missingUndoHint]);
    }
  }

  private parallel(step: Step, span: Span): void {
    if (!step.on) {
      this.warn("parallel-without-group", span, messages.parallelLocal);
      return;
    }
    const name = step.on.name;
    const top = this.top.get(name);
    if (!top || top.kind !== "host") return; // reported as unknown-host / wrong-kind
    if (top.value.kind === "list") return;
    for (const b of this.envs.values()) {
      for (const d of b.overrides) if (d.kind === "host" && d.name.name === name && d.value.kind === "list") return;
    }
    this.warn("parallel-without-group", span, messages.parallelNoGroup(name));
  }

  private stmt(s: Stmt, inUndo: boolean): void {
    const option = STATEMENTS[s.kind].option;
    if (inUndo && option) this.error("misplaced-statement", s.span, messages.misplacedInUndo(option));
    switch (s.kind) {
      case "require":
        this.cond(s.cond);
        if (s.else) this.string(s.else, shown("a `require` message"));
        return;
      case "confirm":
        this.string(s.question, shown("a confirmation"));
        return;
      case "manual":
        this.string(s.text, shown("manual instructions"));
        return;
      case "note":
        this.string(s.text, shown("a note"));
        return;
      case "run":
        this.string(s.command, RUN_COMMAND);
        this.shellValues(s.command);
        if (s.as && "kind" in s.as) this.string(s.as, USER);
        return;
      case "edit":
        this.string(s.path, PATH);
        for (const r of s.replaces) {
          this.string(r.old, EDIT_TEXT);
          this.string(r.new, EDIT_TEXT);
        }
        return;
      case "upload":
      case "download":
        this.string(s.from, PATH);
        this.string(s.to, PATH);
        return;
      case "sql":
        if (this.dbRef(s.db)) {
          this.sqlValues(s.text, s.db.name);
          this.implicitCommits(s);
        }
        this.string(s.text, SQL_TEXT);
        return;
      case "export":
        this.dbRef(s.db);
        if (s.tables) this.tables(s.tables);
        this.string(s.to, PATH);
        if (s.format && !EXPORT_FORMATS.has(s.format.name)) this.error("bad-format", s.format.span, messages.badFormat(s.format.name));
        return;
      case "import":
        this.dbRef(s.db);
        this.string(s.from, PATH);
        return;
      case "sync":
        this.dbRef(s.db);
        this.envName(s.fromEnv.name, s.fromEnv.span);
        this.dbRef(s.fromDb);
        if (s.tables) this.tables(s.tables);
        this.syncs.push(s);
        return;
      case "wait":
        this.cond(s.cond);
        if (s.every) this.duration(s.every, "every");
        if (s.timeout) this.duration(s.timeout, "timeout");
        return;
      case "undo":
        if (s.command) {
          this.string(s.command, UNDO_COMMAND);
          this.shellValues(s.command);
        }
        for (const b of s.body ?? []) this.stmt(b, true);
        return;
      case "timeout":
        this.duration(s.duration, "timeout");
        return;
      case "retry":
        this.count(s.count, "retry");
        if (s.every) this.duration(s.every, "every");
        return;
      case "parallel":
        this.count(s.count, "parallel");
        return;
      case "allow-failure":
        return;
      default:
        return assertNever(s, "statement");
    }
  }

  private tables(list: ListLit): void {
    for (const t of list.items) {
      if (t.kind !== "string") this.error("bad-value", t.span, messages.notAString("a table name"));
      else this.string(t, text("a table name"));
    }
  }

  private duration(d: DurationLit, keyword: string): void {
    if (!(d.ms > 0)) this.error("bad-duration", d.span, messages.zeroDuration(keyword));
  }

  private count(n: NumberLit, keyword: string): void {
    if (!Number.isInteger(n.value) || n.value < 1) {
      this.error("bad-count", n.span, messages.badCount(keyword, this.source(n.span) || String(n.value)));
    }
  }

  // ---------------------------------------------------------------- conditions

  private cond(c: Cond): void {
    switch (c.kind) {
      case "and":
      case "or":
        this.cond(c.left);
        this.cond(c.right);
        return;
      case "not":
        this.cond(c.operand);
        return;
      case "group":
        this.cond(c.inner);
        return;
      case "value":
        this.value(c.value);
        return;
      case "compare": {
        this.value(c.left);
        this.value(c.right);
        if (c.op === "==" || c.op === "!=") {
          if (c.left.kind === "env") this.envLiteral(c.right);
          if (c.right.kind === "env") this.envLiteral(c.left);
        } else if (c.op === "in" && c.left.kind === "env") this.envLiteral(c.right);
        if (c.op === "matches" && c.right.kind === "string") {
          const re = literalText(c.right);
          if (re !== undefined) {
            try {
              new RegExp(re);
            } catch (e) {
              const why = (e instanceof Error ? e.message : String(e)).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
              this.error("bad-regex", c.right.span, messages.badRegex(why));
            }
          }
        }
        return;
      }
      default:
        return assertNever(c, "condition");
    }
  }

  /** A literal compared with `env` must name an env (a typo would make the step never run). */
  private envLiteral(v: Value): void {
    if (v.kind === "string") {
      const t = literalText(v);
      if (t !== undefined) this.envName(t, v.span);
    } else if (v.kind === "list") {
      for (const i of v.items) this.envLiteral(i);
    }
  }

  private value(v: Value): void {
    switch (v.kind) {
      case "env":
      case "number":
      case "bool":
      case "duration":
        return;
      case "string":
        this.literal(v, CONDITION_TEXT);
        return;
      case "list":
        this.literal(v, CONDITION);
        return;
      case "name":
        this.name(
          v.path.map((i) => i.name),
          v.path,
          v.span,
          CONDITION_TEXT,
        );
        return;
      case "succeeds":
      case "output":
        this.string(v.command, COMMAND);
        this.shellValues(v.command);
        if (v.on) this.hostRef(v.on);
        return;
      case "exists":
        this.string(v.path, EXISTS_PATH);
        if (v.on) this.hostRef(v.on);
        return;
      case "query":
        if (this.dbRef(v.db)) this.sqlValues(v.sql, v.db.name);
        this.string(v.sql, SQL);
        this.readOnly(v.sql);
        return;
      default:
        return assertNever(v, "value");
    }
  }

  // ---------------------------------------------------------------- where values stand

  /** A command's values must each stand where a shell variable reference is sound (value-placement.ts). */
  private shellValues(s: StringLit): void {
    if (!s.parts.some((p) => p.kind === "interp" && !p.raw) || isSimpleShell(s)) return;
    this.placement(s, placeShellValues(piecesOf(s)));
  }

  /** SQL values become bound parameters: each must stand outside strings, names and comments, for every engine the database has. */
  private sqlValues(s: StringLit, db: string): void {
    if (!s.parts.some((p) => p.kind === "interp")) return;
    for (const engine of this.engines(db)) if (!this.placement(s, placeSqlValues(piecesOf(s), engine))) return;
  }

  /** The engines a database has across the envs a run can use. */
  private engines(db: string): Set<Engine> {
    const engines = new Set<Engine>();
    for (const env of this.runnable.length > 0 ? this.runnable : [undefined]) {
      const d = env === undefined ? this.top.get(db) : this.scopeOf(env).decls.get(db);
      if (d?.kind === "database") engines.add(d.value.engine);
    }
    return engines;
  }

  /**
   * A statement that MySQL commits at once (DDL) among others of one `sql`: the
   * transaction cannot take it, nor what came before it, back.
   */
  private implicitCommits(s: SqlStmt): void {
    if (!this.engines(s.db.name).has("mysql")) return;
    const { sql, at } = this.sqlText(s.text);
    const statements = splitStatements(sql, "mysql");
    if (statements.length < 2) return;
    for (const st of statements) {
      if (!commitsImplicitly(sql, st, "mysql")) continue;
      const first = statementWords(sql, st)[0]!;
      this.warn("implicit-commit", this.sqlSpan(s.text, at, first.index, first.word.length), messages.implicitCommit(first.word, statements.length), [messages.implicitCommitHint]);
    }
  }

  /** Reports a placement's problem at the value it concerns; false when there was one. */
  private placement(s: StringLit, r: Placement): boolean {
    if (r.ok) return true;
    const values = s.parts.filter((p): p is InterpPart => p.kind === "interp" && !p.raw);
    const part = r.value !== undefined ? values[r.value] : undefined;
    if (part) this.error("unsafe-interpolation", part.span, messages.valuePlacement(part.path.join("."), r.problem, r.detail), [messages.valuePlacementFix(r.problem)]);
    else this.error("unsafe-interpolation", s.span, messages.commandPlacement(r.problem, r.detail), [messages.valuePlacementFix(r.problem)]);
    return false;
  }

  // ---------------------------------------------------------------- SQL

  /** The SQL text with each `${…}` as a placeholder, and where each text part starts in it. */
  private sqlText(s: StringLit): { sql: string; at: { start: number; part: TextPart }[] } {
    let sql = "";
    const at: { start: number; part: TextPart }[] = [];
    for (const p of s.parts) {
      if (p.kind === "text") {
        at.push({ start: sql.length, part: p });
        sql += p.value;
      } else sql += p.raw ? "x" : "?";
    }
    return { sql, at };
  }

  /** The span of `length` characters at `index` of an SQL text, or the whole string when it can't be mapped exactly. */
  private sqlSpan(s: StringLit, map: { start: number; part: TextPart }[], index: number, length: number): Span {
    let seg: { start: number; part: TextPart } | undefined;
    for (const m of map) if (m.start <= index && index + length <= m.start + m.part.value.length) seg = m;
    if (!seg) return s.span;
    const part = seg.part;
    const k = index - seg.start;
    const src = this.sourceText.get(part.span.file)?.slice(part.span.offset, part.span.offset + part.span.length);
    if (src === undefined) return s.span;
    let offsetInSrc: number | undefined;
    if (src === part.value) offsetInSrc = k;
    else {
      // escapes or removed indentation: find the same occurrence of the word in the source
      const word = part.value.slice(k, k + length);
      const re = new RegExp(`(?<![A-Za-z0-9_$])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9_$])`, "gi");
      const inValue = [...part.value.matchAll(re)].map((m) => m.index);
      const inSrc = [...src.matchAll(re)].map((m) => m.index);
      const nth = inValue.indexOf(k);
      if (nth < 0 || inValue.length !== inSrc.length) return s.span;
      offsetInSrc = inSrc[nth];
    }
    if (offsetInSrc === undefined) return s.span;
    const before = src.slice(0, offsetInSrc);
    const nl = before.lastIndexOf("\n");
    const lines = nl < 0 ? 0 : before.split("\n").length - 1;
    return {
      file: part.span.file,
      offset: part.span.offset + offsetInSrc,
      line: part.span.line + lines,
      column: nl < 0 ? part.span.column + offsetInSrc : offsetInSrc - nl,
      length,
    };
  }

  private destructive(s: SqlStmt): void {
    if (!s.text.parts.some((p) => p.kind === "text" && DESTRUCTIVE_HINT.test(p.value))) return;
    const { sql, at } = this.sqlText(s.text);
    for (const d of destructiveSql(sql)) {
      this.warn("destructive-sql", this.sqlSpan(s.text, at, d.index, d.length), messages.destructiveSql(d.what), [messages.destructiveSqlHint]);
    }
  }

  private readOnly(s: StringLit, capture = false): void {
    if (!s.parts.some((p) => p.kind === "text" && WRITING_HINT.test(p.value))) return;
    const { sql, at } = this.sqlText(s);
    for (const words of sqlStatements(sql)) {
      // a writing statement, or a write inside one (`WITH … DELETE`); `SELECT … FOR UPDATE` only locks
      const w = WRITING_SQL.has(words[0]!.word)
        ? words[0]
        : words.find((x, i) => WRITING_ANYWHERE.has(x.word) || FILE_ACCESS.has(x.word) || (x.word === "UPDATE" && words[i - 1]?.word !== "FOR"));
      if (w) {
        this.error("query-not-read-only", this.sqlSpan(s, at, w.index, w.word.length), messages.queryNotReadOnly(w.word, capture));
        return;
      }
    }
  }
}

// ---------------------------------------------------------------- values from outside

/** Why a name's value can come from outside the runbook: it is a param or a secret, or a var made from one. */
export type OutsideSource = { kind: "param" } | { kind: "secret" } | { kind: "var"; from: string };

/**
 * The params and secrets (in any env), and the vars whose value interpolates one of them
 * in any env, directly or through other vars. A walk from the params and secrets along
 * "is interpolated by" edges: linear in the declarations, with no recursion.
 */
export function outsideNames(rb: Runbook): Map<string, OutsideSource> {
  const envNames = new Set(rb.envs.map((e) => e.name.name));
  const decls = [...rb.decls, ...rb.envs.flatMap((e) => e.overrides)];
  const out = new Map<string, OutsideSource>();
  /** name → the vars whose value interpolates it. */
  const usedBy = new Map<string, string[]>();
  const queue: string[] = [];
  for (const d of decls) {
    const name = d.name.name;
    if (d.kind === "param" || d.kind === "secret") {
      if (!out.has(name)) {
        out.set(name, d.kind === "param" ? { kind: "param" } : { kind: "secret" });
        queue.push(name);
      }
      continue;
    }
    if (d.kind !== "var") continue;
    for (const { path } of literalInterps(d.value)) {
      const from = path.length === 1 ? path[0]! : path.length === 2 && envNames.has(path[0]!) ? path[1]! : undefined;
      if (from === undefined) continue;
      const users = usedBy.get(from);
      if (users) users.push(name);
      else usedBy.set(from, [name]);
    }
  }
  while (queue.length > 0) {
    const from = queue.pop()!;
    for (const user of usedBy.get(from) ?? []) {
      if (out.has(user)) continue;
      out.set(user, { kind: "var", from });
      queue.push(user);
    }
  }
  return out;
}
