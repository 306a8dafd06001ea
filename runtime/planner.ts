// The planner: a checked Runbook + an env + inputs (--set, run id) → a Plan, plain
// data with every value resolved. A `${…}` in a command or SQL becomes a BoundPart:
// the code holds a reference (a shell variable, a bound parameter) and the value
// stays apart from it (`${raw …}` is spliced in as code); secrets stay references
// that only the executor resolves, at the last moment (a secret in a condition
// stays a `text` operand). Building a plan touches no host, database or secret.

import { createHash } from "node:crypto";
import { dirname, relative } from "node:path";
import type {
  Cond,
  DatabaseDecl,
  Decl,
  HostDecl,
  InterpPart,
  Into,
  ListLit,
  Literal,
  Runbook,
  Section,
  Step,
  Stmt,
  StringLit,
  Value,
} from "../language/ast.js";
import { allSteps } from "../language/ast.js";

/** A literal's value as text (a list: its items joined by spaces, as a list reads in a string). */
function literalText(v: PlanValue): string {
  return Array.isArray(v) ? v.map(literalText).join(" ") : String(v);
}
import { checkSets as checkSetNames, envScope, evalStatic, nameOperand, resolveInterp, resolveValues, setValue, ValueTooLargeError, type EnvScope } from "../language/scope.js";
import type { Span } from "../language/span.js";
import { messages } from "../language/messages.js";
import { assertNever } from "../language/assert.js";
import { DEFAULT_APPROVAL_AGE_MS } from "../language/ast.js";
import type { SourceDigest } from "./events.js";
import { piecesOf, placeShellValues, placeSqlValues } from "../language/value-placement.js";
import type { Engine } from "../language/sql/index.js";
import { showText, type Action, type BoundPart, type Capture, type LateValue, type Plan, type PlanCond, type PlanGuard, type PlanOperand, type PlannedDatabase, type PlannedHost, type PlannedStep, type PlanValue, type Quoting, type Text } from "./plan.js";

export interface PlanOptions {
  env: string;
  /** `--set NAME=VALUE`: params only. */
  sets?: Record<string, string>;
  /** The run's id for `${run.id}`; absent in `runbook plan` (shown as `<run.id>`). */
  runId?: string;
  /** Extra builtins (`run.user`, `run.started`…). */
  builtins?: Record<string, string>;
  /** `env` is another env than the run's (a sync's source): a plain --set reaches only its top-level params. */
  otherEnv?: boolean;
}

export type PlanResult = { plan: Plan } | { error: string };

const MUTATING = new Set<Stmt["kind"]>(["run", "edit", "upload", "download", "sql", "import", "sync"]);

/** A hash of every source file that went into the runbook (includes resolved). */
export function sourceHash(rb: Runbook): string {
  const h = createHash("sha256");
  const base = dirname(rb.file);
  for (const s of rb.sources) h.update(`${relative(base, s.file)}\0${s.text}\0`);
  return h.digest("hex");
}

/** Each file's sha256 by its path relative to the main file's folder: the runbook, its includes, its allowed_signers. */
export function sourceDigests(rb: Runbook): SourceDigest[] {
  const base = dirname(rb.file);
  const files = [...rb.sources, ...(rb.signers ? [rb.signers] : [])];
  return files.map((s) => ({ path: relative(base, s.file).split("\\").join("/"), sha256: createHash("sha256").update(s.text).digest("hex") }));
}

function sourceText(rb: Runbook, span: Span): string {
  const text = rb.sources.find((s) => s.file === span.file)?.text;
  return text ? text.slice(span.offset, span.offset + span.length) : "";
}

class PlanBuilder {
  readonly scope: EnvScope;
  readonly values: Map<string, string>;
  readonly builtins: Record<string, string>;
  /** Names captured with `into`, with the step that captures each. */
  private readonly captures = new Map<string, { step: string; secret: boolean }>();
  private readonly dbEngine = new Map<string, Engine>();

  constructor(
    readonly rb: Runbook,
    readonly options: PlanOptions,
  ) {
    this.builtins = { env: options.env, "run.id": options.runId ?? "<run.id>", ...options.builtins };
    this.scope = envScope(rb, options.env);
    this.values = resolveValues(rb, options.env, { sets: options.sets, builtins: this.builtins, otherEnv: options.otherEnv });
    for (const d of this.scope.decls.values()) if (d.kind === "database") this.dbEngine.set(d.name.name, d.value.engine);
    for (const step of allSteps(rb)) {
      for (const b of step.body) {
        if ((b.kind === "run" || b.kind === "sql") && b.into && !this.captures.has(b.into.name.name)) this.captures.set(b.into.name.name, { step: step.id, secret: b.into.secret });
      }
    }
  }

  /**
   * Interpolate a string; `quoting` says what it is. In plain text each value is
   * filled in (a secret stays a SecretPart). In a command or SQL no value enters the
   * code: each `${…}` becomes a BoundPart whose reference the code holds, placed by
   * the same grammar the checker used (language/value-placement.ts); `${raw …}` is
   * spliced in as code, and the placement is made again with it in.
   */
  text(s: StringLit, quoting: Quoting): Text {
    const out: Text = [];
    const push = (piece: string) => {
      if (typeof out[out.length - 1] === "string") out[out.length - 1] += piece;
      else out.push(piece);
    };
    const resolved = s.parts.map((p) => (p.kind === "text" ? undefined : this.resolve(p)));
    if (quoting === "none") {
      s.parts.forEach((p, i) => {
        const r = resolved[i];
        if (p.kind === "text") push(p.value);
        else if (r!.kind === "secret") out.push({ secret: r!.name });
        else if (r!.kind === "late") out.push({ late: r!.late });
        else push(r!.value);
      });
      return out;
    }
    // A raw secret is placed as a plain word: its value is read only when it runs.
    const pieces = piecesOf(s, (p) => {
      const r = resolved[s.parts.indexOf(p)]!;
      return r.kind === "text" ? r.value : "x";
    });
    const placement = quoting === "shell" ? placeShellValues(pieces) : placeSqlValues(pieces, quoting === "sql-mysql" ? "mysql" : "sqlite");
    if (!placement.ok) {
      const values = s.parts.filter((p): p is InterpPart => p.kind === "interp" && !p.raw);
      const part = placement.value !== undefined ? values[placement.value] : undefined;
      const span = part?.span ?? s.span;
      const message = part
        ? messages.valuePlacement(part.path.join("."), placement.problem, placement.detail)
        : messages.commandPlacement(placement.problem, placement.detail);
      throw new PlanError(`${span.file}:${span.line}:${span.column}: ${message}`);
    }
    let v = 0;
    s.parts.forEach((p, i) => {
      const r = resolved[i];
      if (p.kind === "text") push(p.value);
      else if (p.raw) {
        if (r!.kind === "secret") out.push({ secret: r!.name });
        else if (r!.kind === "late") throw new PlanError(`${p.span.file}:${p.span.line}:${p.span.column}: ${messages.rawLateValue(p.path.join("."))}`);
        else push(r!.value);
      } else {
        const part: BoundPart = { ref: placement.placed.refs[v]!, name: p.path.join("."), context: placement.placed.contexts[v]! };
        v++;
        if (r!.kind === "secret") part.secret = r!.name;
        else if (r!.kind === "late") part.late = r!.late;
        else part.value = r!.value;
        out.push(part);
      }
    });
    return out;
  }

  /** Plain text (messages, paths): secrets can only appear as `***`. */
  plain(s: StringLit): string {
    return showText(this.text(s, "none"));
  }

  private resolve(part: InterpPart): { kind: "text"; value: string } | { kind: "secret"; name: string } | { kind: "late"; late: LateValue } {
    const late = this.late(part.path);
    if (late) return { kind: "late", late };
    const r = resolveInterp(part, this.scope, this.values, this.rb, this.builtins, this.options.sets);
    if (r.kind === "text" || r.kind === "secret") return r;
    if (r.kind === "host" || r.kind === "database") return { kind: "text", value: r.name };
    throw new PlanError(`${part.span.file}:${part.span.line}:${part.span.column}: cannot resolve \`\${${part.path.join(".")}}\`: ${r.reason}`);
  }

  /** `host.name` and the like, or a name an earlier step captures with `into`: known only while a step runs. */
  private late(path: readonly string[]): LateValue | undefined {
    if (path.length === 2 && path[0] === "host") return { kind: "host", member: path[1]! };
    if (path.length !== 1 || this.scope.decls.has(path[0]!)) return undefined;
    const c = this.captures.get(path[0]!);
    return c ? { kind: "captured", name: path[0]!, step: c.step, secret: c.secret } : undefined;
  }

  literal(l: Literal): PlanValue {
    switch (l.kind) {
      case "string":
        return this.plain(l);
      case "number":
        return l.value;
      case "duration":
        return l.text;
      case "bool":
        return l.value;
      case "list":
        return l.items.map((i) => this.literal(i));
    }
  }

  stringList(list: ListLit | undefined): string[] | undefined {
    return list?.items.map((i) => String(this.literal(i)));
  }

  operand(v: Value, host: string | undefined): PlanOperand {
    switch (v.kind) {
      case "env":
        return { kind: "literal", value: this.options.env };
      case "name": {
        const key = v.path.map((p) => p.name).join(".");
        const fake: InterpPart = { kind: "interp", path: v.path.map((p) => p.name), raw: true, span: v.span };
        const r = this.resolve(fake);
        if (r.kind === "secret") return { kind: "text", text: [{ secret: r.name }] };
        if (r.kind === "late") return { kind: "text", text: [{ late: r.late }] };
        if (r.kind !== "text") return { kind: "literal", value: `<${key}>` };
        // A list-valued param or var stays a list (`contains`, `in` read its items).
        const o = nameOperand(v, this.scope, this.values, { rb: this.rb, builtins: this.builtins });
        return { kind: "literal", value: o?.list ?? r.value };
      }
      case "succeeds":
      case "output":
        return { kind: v.kind, command: this.text(v.command, "shell"), host: v.on ? this.remote(v.on.name) : host };
      case "exists":
        return { kind: "exists", path: this.text(v.path, "none"), host: v.on ? this.remote(v.on.name) : host };
      case "query":
        return { kind: "query", db: v.db.name, sql: this.text(v.sql, this.sqlQuoting(v.db.name)) };
      case "string": {
        const text = this.text(v, "none");
        // With a secret in it, it stays a Text that only the executor fills in.
        if (text.some((p) => typeof p !== "string")) return { kind: "text", text };
        return { kind: "literal", value: text.join("") };
      }
      default:
        return { kind: "literal", value: this.literal(v) };
    }
  }

  cond(c: Cond, host: string | undefined): PlanCond {
    switch (c.kind) {
      case "and":
      case "or":
        return { kind: c.kind, left: this.cond(c.left, host), right: this.cond(c.right, host) };
      case "not":
        return { kind: "not", operand: this.cond(c.operand, host) };
      case "group":
        return this.cond(c.inner, host);
      case "compare":
        return { kind: "compare", op: c.op, left: this.operand(c.left, host), right: this.operand(c.right, host) };
      case "value":
        return { kind: "value", value: this.operand(c.value, host) };
    }
  }

  /** A capture; refused on a host group, whose members would each give a value. */
  private into(i: Into, host: string | undefined): Capture {
    const d = host === undefined ? undefined : this.scope.decls.get(host);
    if (d?.kind === "host" && d.value.kind === "list") {
      throw new PlanError(`${i.span.file}:${i.span.line}:${i.span.column}: ${messages.captureOnGroup(i.name.name, host!, this.options.env)}`);
    }
    return { name: i.name.name, secret: i.secret };
  }

  sqlQuoting(db: string): Quoting {
    return this.dbEngine.get(db) === "mysql" ? "sql-mysql" : "sql-sqlite";
  }

  actions(body: Stmt[], host: string | undefined, step: Partial<PlannedStep>): Action[] {
    const out: Action[] = [];
    for (const s of body) {
      const span = s.span;
      switch (s.kind) {
        case "require":
          out.push({ kind: "require", cond: this.cond(s.cond, host), source: sourceText(this.rb, s.cond.span), else: s.else && this.plain(s.else), span });
          break;
        case "confirm":
          out.push({ kind: "confirm", question: this.plain(s.question), span });
          break;
        case "manual":
          out.push({ kind: "manual", text: this.plain(s.text), span });
          break;
        case "run":
          out.push({
            kind: "run",
            command: this.text(s.command, "shell"),
            ...(s.as ? { as: "kind" in s.as ? this.plain(s.as) : s.as.name } : {}),
            ...(s.into ? { into: this.into(s.into, host) } : {}),
            span,
          });
          break;
        case "edit":
          out.push({
            kind: "edit",
            path: this.plain(s.path),
            replaces: s.replaces.map((r) => ({ old: this.text(r.old, "none"), new: this.text(r.new, "none"), all: r.all })),
            span,
          });
          break;
        case "upload":
          out.push({ kind: "upload", from: this.plain(s.from), to: this.plain(s.to), ...(s.template ? { template: true as const } : {}), span });
          break;
        case "download":
          out.push({ kind: "download", from: this.plain(s.from), to: this.plain(s.to), span });
          break;
        case "sql":
          out.push({
            kind: "sql",
            db: s.db.name,
            engine: this.dbEngine.get(s.db.name) ?? "sqlite",
            sql: this.text(s.text, this.sqlQuoting(s.db.name)),
            line: s.text.span.line + (s.text.triple ? 1 : 0),
            ...(s.into ? { into: this.into(s.into, host) } : {}),
            span,
          });
          break;
        case "export":
          out.push({
            kind: "export",
            db: s.db.name,
            ...(s.tables ? { tables: this.stringList(s.tables) } : {}),
            to: this.plain(s.to),
            format: s.format?.name === "web2py" ? "web2py" : "csv",
            span,
          });
          break;
        case "import":
          out.push({ kind: "import", db: s.db.name, from: this.plain(s.from), span });
          break;
        case "sync":
          out.push({
            kind: "sync",
            db: s.db.name,
            fromEnv: s.fromEnv.name,
            fromDb: s.fromDb.name,
            ...(s.tables ? { tables: this.stringList(s.tables) } : {}),
            span,
          });
          break;
        case "wait":
          out.push({
            kind: "wait",
            cond: this.cond(s.cond, host),
            source: sourceText(this.rb, s.cond.span),
            everyMs: s.every?.ms ?? 5000,
            ...(s.timeout ? { timeoutMs: s.timeout.ms } : {}),
            span,
          });
          break;
        case "note":
          out.push({ kind: "note", text: this.plain(s.text), span });
          break;
        case "undo":
          step.undo = s.command ? [{ kind: "run", command: this.text(s.command, "shell"), span }] : this.actions(s.body ?? [], host, {});
          break;
        case "timeout":
          step.timeoutMs = s.duration.ms;
          break;
        case "retry":
          step.retry = { count: s.count.value, everyMs: s.every?.ms ?? 0 };
          break;
        case "allow-failure":
          step.allowFailure = true;
          break;
        case "parallel":
          step.parallel = s.count.value;
          break;
      }
    }
    return out;
  }

  step(s: Step, section: string | undefined, phase: "main" | "finally"): PlannedStep {
    const host = this.remote(s.on?.name);
    const guards: PlanGuard[] = [];
    let skip: string | undefined;
    for (const [kind, cond] of [
      ["when", s.when],
      ["unless", s.unless],
    ] as const) {
      if (!cond) continue;
      const source = sourceText(this.rb, cond.span);
      const value = evalStatic(cond, this.scope, this.values, { sets: this.options.sets });
      guards.push({ kind, source, static: value, cond: this.cond(cond, host) });
      if (skip === undefined && value !== "probe" && value === (kind === "unless")) {
        skip = `${kind} ${source} is ${value} in env ${this.options.env}`;
      }
    }
    const planned: PlannedStep = {
      id: s.id,
      title: this.plain(s.title),
      ...(section !== undefined ? { section } : {}),
      phase,
      ...(host ? { host } : {}),
      guards,
      ...(skip ? { skip } : {}),
      actions: [],
      undo: [],
      allowFailure: false,
      parallel: 1,
      mutating: s.body.some((b) => MUTATING.has(b.kind)),
      span: s.span,
    };
    planned.actions = this.actions(s.body, host, planned);
    return planned;
  }

  /** The host a step, probe or database on `name` reaches: none (this machine) for a `local` host. */
  remote(name: string | undefined): string | undefined {
    if (name === undefined) return undefined;
    const d = this.scope.decls.get(name);
    return d?.kind === "host" && d.value.kind === "local" ? undefined : name;
  }

  /** The plan of a host (`local`: this machine, shown in plans, never reached). */
  host(d: HostDecl): PlannedHost {
    switch (d.value.kind) {
      case "local":
        return { name: d.name.name, targets: [], group: false, local: true };
      case "list": {
        const members = d.value.members;
        const values = members && d.value.items.map((_, i) => Object.fromEntries((members[i]?.values ?? []).map((v) => [v.name.name, literalText(this.literal(v.value))])));
        return { name: d.name.name, targets: d.value.items.map((i) => String(this.literal(i))), group: true, ...(values ? { values } : {}) };
      }
      case "string":
        return { name: d.name.name, targets: [this.plain(d.value)], group: false };
      default:
        return assertNever(d.value);
    }
  }

  database(d: DatabaseDecl): PlannedDatabase {
    const v = d.value;
    if (v.engine === "sqlite") {
      const on = this.remote(v.on?.name);
      return { name: d.name.name, engine: "sqlite", path: this.plain(v.path), ...(on ? { host: on } : {}) };
    }
    const via = this.remote(v.via?.name);
    return {
      name: d.name.name,
      engine: "mysql",
      url: this.plain(v.url),
      ...(v.password ? { passwordSecret: v.password.name } : {}),
      ...(via ? { via } : {}),
    };
  }

  build(): Plan {
    const rb = this.rb;
    const steps: PlannedStep[] = [];
    for (const item of rb.items) {
      if (item.kind === "section") {
        const title = this.plain((item as Section).title);
        for (const s of item.steps) steps.push(this.step(s, title, "main"));
      } else steps.push(this.step(item, undefined, "main"));
    }
    for (const s of rb.finally?.steps ?? []) steps.push(this.step(s, "finally", "finally"));

    const hosts: Record<string, PlannedHost> = {};
    const databases: Record<string, PlannedDatabase> = {};
    const secrets: Plan["secrets"] = [];
    for (const d of this.scope.decls.values()) {
      if (d.kind === "host") hosts[d.name.name] = this.host(d);
      else if (d.kind === "database") databases[d.name.name] = this.database(d);
      else if (d.kind === "secret") secrets.push({ name: d.name.name, source: d.source, ref: this.plain(d.ref) });
    }

    const foreignDatabases: Plan["foreignDatabases"] = {};
    for (const step of steps) {
      if (step.skip !== undefined) continue; // never runs in this env: its source is not needed
      for (const a of [...step.actions, ...step.undo]) {
        if (a.kind !== "sync") continue;
        const key = `${a.fromEnv}.${a.fromDb}`;
        if (foreignDatabases[key]) continue;
        // The run's --set reach the source env's values too (setValue).
        const other = new PlanBuilder(rb, { ...this.options, env: a.fromEnv, otherEnv: true });
        const decl = other.scope.decls.get(a.fromDb);
        if (decl?.kind === "database") {
          const db = other.database(decl);
          // A foreign database's host and secret are that env's; record them under distinct names.
          foreignDatabases[key] = { ...db, env: a.fromEnv };
          if (db.engine === "sqlite" && db.host) {
            const hostDecl = other.scope.decls.get(db.host);
            if (hostDecl?.kind === "host") hosts[`${a.fromEnv}.${db.host}`] = { ...other.host(hostDecl), name: `${a.fromEnv}.${db.host}` };
          }
          if (db.engine === "mysql" && db.via) {
            const hostDecl = other.scope.decls.get(db.via);
            if (hostDecl?.kind === "host") hosts[`${a.fromEnv}.${db.via}`] = { ...other.host(hostDecl), name: `${a.fromEnv}.${db.via}` };
          }
          if (db.engine === "mysql" && db.passwordSecret && !secrets.some((s) => s.name === db.passwordSecret)) {
            const sd = other.scope.decls.get(db.passwordSecret);
            if (sd?.kind === "secret") secrets.push({ name: sd.name.name, source: sd.source, ref: other.plain(sd.ref) });
          }
        }
      }
    }

    const values: Record<string, string> = {};
    const overridden: string[] = [];
    const topLevel = new Map<string, Decl>(rb.decls.map((d) => [d.name.name, d]));
    for (const [name, decl] of this.scope.decls) {
      if (decl.kind !== "param" && decl.kind !== "var") continue;
      const v = this.values.get(name);
      if (v !== undefined) values[name] = v;
      if (topLevel.get(name) !== decl || (decl.kind === "param" && setValue(this.options.sets, this.options.env, name, !this.options.otherEnv || topLevel.get(name) === decl) !== undefined)) overridden.push(name);
    }

    const header = rb.header;
    const approvals = this.scope.block?.approvals;
    return {
      schema: 2,
      runbook: {
        name: this.plain(header.name),
        version: this.plain(header.version),
        file: rb.file,
        ...(header.description ? { description: this.plain(header.description) } : {}),
        ...(header.owner ? { owner: this.plain(header.owner) } : {}),
        sourceHash: sourceHash(rb),
        ...(approvals ? { sources: sourceDigests(rb) } : {}),
      },
      env: this.options.env,
      protected: this.scope.protected,
      envConfirms: (this.scope.block?.confirms ?? []).map((c) => this.plain(c.question)),
      ...(approvals
        ? { approvals: { count: approvals.count.value, group: this.plain(approvals.group), maxAgeMs: approvals.within?.ms ?? DEFAULT_APPROVAL_AGE_MS } }
        : {}),
      values,
      overridden,
      secrets,
      hosts,
      databases,
      steps,
      foreignDatabases,
    };
  }
}

class PlanError extends Error {}

/** Unknown `--set` names are an error: a typo must not silently do nothing. */
export function checkSets(rb: Runbook, sets: Record<string, string>, env?: string): string | undefined {
  return checkSetNames(rb, sets, env)[0];
}

/** Parse `NAME=VALUE` pairs from --set. */
export function parseSets(pairs: string[]): { sets: Record<string, string> } | { error: string } {
  const sets: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return { error: `--set ${pair}: expected NAME=VALUE` };
    sets[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { sets };
}

export function buildPlan(rb: Runbook, options: PlanOptions): PlanResult {
  const bad = checkSets(rb, options.sets ?? {}, options.env);
  if (bad) return { error: bad };
  try {
    return { plan: new PlanBuilder(rb, options).build() };
  } catch (err) {
    if (err instanceof PlanError || err instanceof ValueTooLargeError) return { error: err.message };
    throw err;
  }
}
