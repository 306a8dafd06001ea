// Secrets: read when first needed (an environment variable, a file, or what a local
// command prints: runtime/secret-command.ts), never
// stored in a Plan (which holds { secret: name } references only). The executor
// calls requireAll(plan) before any step runs so a missing secret stops the run
// before it changes anything; at the last moment materialize() fills secrets into
// plain text, and bind() gives a command's or SQL's values (secrets read then)
// apart from its code. Every value read is announced to listeners so
// runtime/redact.ts can mask it.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { assertNever } from "../language/assert.js";
import { handlerOf } from "./actions/index.js";
import { runSecretCommand } from "./secret-command.js";
import { lateValueMissing } from "./secret-wording.js";
import { isBound, isLate, type Action, type Plan, type PlannedDatabase, type PlannedSecret, type PlannedStep, type PlanCond, type PlanOperand, type Text } from "./plan.js";

/** A secret that is declared but cannot be read: the message says where it was looked for. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

export interface SecretStoreOptions {
  /** Environment variables (`env "NAME"` secrets); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Directory relative `file "path"` secrets are read from; defaults to process.cwd(). */
  cwd?: string;
  /** Home directory for `~`; defaults to $HOME, else os.homedir(). */
  home?: string;
}

type Lookup = { ok: true; value: string } | { ok: false; error: string };

export class SecretStore {
  private readonly decls = new Map<string, PlannedSecret>();
  private readonly cache = new Map<string, string>();
  private readonly listeners: ((value: string) => void)[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly cwd: string;
  private readonly home: string;

  constructor(secrets: readonly PlannedSecret[], options: SecretStoreOptions = {}) {
    for (const s of secrets) this.decls.set(s.name, s);
    this.env = options.env ?? process.env;
    this.cwd = options.cwd ?? process.cwd();
    this.home = options.home ?? this.env.HOME ?? homedir();
  }

  /** Called with each secret value as it is read (and with those already read). */
  onValue(listener: (value: string) => void): void {
    this.listeners.push(listener);
    for (const v of this.cache.values()) listener(v);
  }

  /** Every secret value read so far. */
  values(): string[] {
    return [...this.cache.values()];
  }

  /** Where a secret is looked for, in words ("environment variable HAITI_DB_PASSWORD"). */
  describe(name: string): string {
    const d = this.decls.get(name);
    if (!d) return `an undeclared secret`;
    return d.source === "env" ? `environment variable ${d.ref}` : d.source === "command" ? `command ${d.ref}` : `file ${d.ref}`;
  }

  private expand(path: string): string {
    let p = path;
    if (p === "~") p = this.home;
    else if (p.startsWith("~/")) p = join(this.home, p.slice(2));
    return isAbsolute(p) ? p : resolve(this.cwd, p);
  }

  private lookup(name: string): Lookup {
    const cached = this.cache.get(name);
    if (cached !== undefined) return { ok: true, value: cached };
    const d = this.decls.get(name);
    if (!d) return { ok: false, error: `secret ${name} is not declared` };
    let value: string;
    if (d.source === "env") {
      const v = this.env[d.ref];
      if (v === undefined) return { ok: false, error: `secret ${name} is not set: environment variable ${d.ref} is not set` };
      value = v;
    } else if (d.source === "command") {
      const r = runSecretCommand(name, d.ref, { cwd: this.cwd, env: this.env });
      if (!r.ok) return r;
      value = r.value;
    } else {
      const path = this.expand(d.ref);
      try {
        value = readFileSync(path, "utf8").replace(/\r?\n$/, "");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read (permission denied)" : `cannot be read (${code ?? String(e)})`;
        const where = path === d.ref ? d.ref : `${d.ref} (${path})`;
        return { ok: false, error: `secret ${name} is not set: file ${where} ${why}` };
      }
    }
    this.cache.set(name, value);
    for (const l of this.listeners) l(value);
    return { ok: true, value };
  }

  /** The secret's value; throws SecretError naming where it was looked for. */
  get(name: string): string {
    const r = this.lookup(name);
    if (!r.ok) throw new SecretError(r.error);
    return r.value;
  }

  has(name: string): boolean {
    return this.lookup(name).ok;
  }

  /** The messages for every secret the plan uses that cannot be read (empty when all can). */
  missing(plan: Plan): string[] {
    return this.unreadable(secretsUsed(plan));
  }

  /**
   * What a run must refuse to start without: the environment-variable secrets that steps
   * certain to run need (selected, not done, no run-time guard). An environment variable
   * cannot appear later, so such a run would fail anyway, after changing things. Every
   * other secret is read when first needed: a file may be written by an earlier step, and
   * a step that a probe skips never needs its secrets.
   */
  missingBeforeStart(plan: Plan, steps: readonly PlannedStep[]): string[] {
    const certain = steps.filter((s) => !s.guards.some((g) => g.static === "probe"));
    const used = secretsUsed(plan, certain, { undo: false });
    return this.unreadable(used.filter((name) => this.decls.get(name)?.source === "env"));
  }

  private unreadable(names: string[]): string[] {
    const out: string[] = [];
    for (const name of names) {
      const r = this.lookup(name);
      if (!r.ok) out.push(r.error);
    }
    return out;
  }

  /** Reads every secret the plan uses, before any step runs; throws SecretError listing the missing ones. */
  requireAll(plan: Plan): void {
    const missing = this.missing(plan);
    if (missing.length === 1) throw new SecretError(missing[0]!);
    if (missing.length > 1) throw new SecretError(`${missing.length} secrets are not set:\n  ${missing.join("\n  ")}`);
  }

  /**
   * A value captured with `into secret NAME`: from now on a secret like the declared
   * ones (masked everywhere, never journaled).
   */
  capture(name: string, value: string): void {
    this.cache.set(name, value);
    for (const l of this.listeners) l(value);
  }

  /** Plain text (an edit's text, a path, a name in a condition) with its secrets filled in. */
  materialize(text: Text): string {
    return text
      .map((p) => {
        if (typeof p === "string") return p;
        if (isLate(p)) throw new SecretError(lateValueMissing(p.late));
        if (isBound(p)) throw new Error(`internal error: a value bound into code (\${${p.name}}) in plain text`);
        return this.get(p.secret);
      })
      .join("");
  }

  /**
   * A command or SQL as it runs: the code with each value's reference (and each
   * `${raw secret}` spliced in), and the values in order, secrets read now. The
   * values go to the driver apart from the code.
   */
  bind(text: Text): { code: string; values: string[] } {
    let code = "";
    const values: string[] = [];
    for (const p of text) {
      if (typeof p === "string") code += p;
      else if (isLate(p)) throw new SecretError(lateValueMissing(p.late));
      else if (!isBound(p)) code += this.get(p.secret);
      else {
        if (p.value === undefined && p.secret === undefined && p.late) throw new SecretError(lateValueMissing(p.late));
        code += p.ref;
        values.push(p.secret !== undefined ? this.get(p.secret) : p.value!);
      }
    }
    return { code, values };
  }
}

// ---------------------------------------------------------------- which secrets a plan uses

/** The secrets a text reads, by name. */
export function secretsOfText(text: Text): string[] {
  const out = new Set<string>();
  textSecrets(text, out);
  return [...out];
}

function textSecrets(text: Text, out: Set<string>): void {
  for (const p of text) if (typeof p !== "string" && !isLate(p) && p.secret !== undefined) out.add(p.secret);
}

function operandSecrets(o: PlanOperand, out: Set<string>, dbs: Set<string>): void {
  if (o.kind === "text") textSecrets(o.text, out);
  else if (o.kind === "succeeds" || o.kind === "output") textSecrets(o.command, out);
  else if (o.kind === "exists") textSecrets(o.path, out);
  else if (o.kind === "query") {
    textSecrets(o.sql, out);
    dbs.add(o.db);
  }
}

function condSecrets(c: PlanCond, out: Set<string>, dbs: Set<string>): void {
  switch (c.kind) {
    case "and":
    case "or":
      condSecrets(c.left, out, dbs);
      condSecrets(c.right, out, dbs);
      break;
    case "not":
      condSecrets(c.operand, out, dbs);
      break;
    case "compare":
      operandSecrets(c.left, out, dbs);
      operandSecrets(c.right, out, dbs);
      break;
    case "value":
      operandSecrets(c.value, out, dbs);
      break;
    default:
      assertNever(c);
  }
}

function actionSecrets(a: Action, out: Set<string>, dbs: Set<string>, foreign: Set<string>): void {
  handlerOf(a).secrets(a, {
    text: (t) => textSecrets(t, out),
    cond: (c) => condSecrets(c, out, dbs),
    db: (name) => dbs.add(name),
    foreign: (key) => foreign.add(key),
  });
}

/** The secrets the steps that may run use: in commands, SQL, probes, and database passwords. */
export function secretsUsed(plan: Plan, steps: readonly PlannedStep[] = plan.steps, options: { undo?: boolean } = {}): string[] {
  const out = new Set<string>();
  const dbs = new Set<string>();
  const foreign = new Set<string>();
  for (const step of steps) {
    if (step.skip !== undefined) continue;
    for (const g of step.guards) condSecrets(g.cond, out, dbs);
    for (const a of options.undo === false ? step.actions : [...step.actions, ...step.undo]) actionSecrets(a, out, dbs, foreign);
  }
  const dbSecret = (d: PlannedDatabase | undefined) => {
    if (d && d.engine === "mysql" && d.passwordSecret) out.add(d.passwordSecret);
  };
  for (const db of dbs) dbSecret(plan.databases[db]);
  for (const key of foreign) dbSecret(plan.foreignDatabases[key]);
  return [...out];
}
