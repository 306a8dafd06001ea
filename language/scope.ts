// Env scope evaluation, shared by the checker (check.ts) and the runtime planner:
// which env a run uses, which declaration is in force for each name in that env,
// what every param and var evaluates to, what a `${…}` refers to, and the static
// truth of a condition (decided from the source alone, or "probe" when only a run
// can tell).
//
// Value semantics (the language reference documents the same rules):
// - A string interpolates its `${…}` parts; a number, boolean or duration becomes
//   its text (`42`, `3.5`, `true`, `30s`); a list becomes its items' texts joined
//   by single spaces (`["a", "b"]` → `a b`).
// - Where a list is expected (the right side of `in`, the left side of `contains`
//   when that side is a list), a list literal gives its items, and any other
//   value is split on whitespace; a name declared with a list value gives back
//   its items as declared (items with spaces stay whole), unless `--set` gave it
//   another value, which is split on whitespace.
// - Builtins: `${env}` is the current env's name; `${run.id}`, `${run.user}` and
//   `${run.started}` (ISO 8601 time the run started) are known only while running
//   and come in through `builtins` (`{ "run.id": "…" }`).
// - `${prod.home}` reads env prod's value of the param or var `home` (as declared,
//   `--set` applies only to the env being run).
// - In resolveValues a reference that can't become text (a secret, host or
//   database, a run value without builtins, a cycle; all errors the checker
//   reports) stays in the value as written, e.g. `${run.id}`.
//
// Comparisons (evalStatic):
// - `==` / `!=` compare numerically when both sides are numbers, as lengths of
//   time when both are durations (`90s == 1m30s`), else as strings.
// - `<  <=  >  >=` compare numerically when both sides are numbers, as lengths of
//   time when both are durations (`30s < 1m`), as versions when both are
//   versions (`1.10.0 > 1.9.2`, `v2.0 > 1.5`, a pre-release sorts before its
//   release), else as strings (code-unit order).
// - `contains`: membership when the left side is a list, else substring.
// - `matches`: the right side is a JavaScript regular expression, unanchored.
// - `in`: membership in the right side taken as a list.
// - A bare value is false when it is "", "false" or "0" (the number 0 and
//   `false` included), true otherwise; a list is true when it has items.

import { assertNever } from "./assert.js";
import type { Runbook, Decl, EnvBlock, StringLit, InterpPart, Cond, CompareOp, ListLit, Literal, NameRef, Value } from "./ast.js";
import { messages } from "./messages.js";
import { durationMs } from "./strings.js";

/** The run values that `${run.x}` can read. */
export const RUN_BUILTINS = ["run.id", "run.user", "run.started"] as const;
/** `${host.name}` (the member as written: `app@w1.example.org`, an ssh-config alias), `${host.address}` (without user and port), `${host.user}` (the login user, "" when not written). */
export const HOST_VALUES = ["name", "address", "user"] as const;

/** The env of a runbook without env blocks. */
export const IMPLICIT_ENV = "default";

/** Names of the declared envs, in source order. */
export function envNames(rb: Runbook): string[] {
  const seen = new Set<string>();
  for (const e of rb.envs) seen.add(e.name.name);
  return [...seen];
}

/** The envs a run can use: the declared ones, or the implicit `default` one. */
export function runnableEnvs(rb: Runbook): string[] {
  const names = envNames(rb);
  return names.length ? names : [IMPLICIT_ENV];
}

/** The env to use: requested, else `default env`, else the only env; else an error message. A runbook without env blocks has one implicit env named "default". */
export function selectEnv(rb: Runbook, requested?: string): { env: string } | { error: string } {
  const names = runnableEnvs(rb);
  if (requested !== undefined) {
    if (names.includes(requested)) return { env: requested };
    return { error: messages.unknownEnvRequested(requested, envNames(rb)) };
  }
  if (rb.defaultEnv) {
    const d = rb.defaultEnv.name;
    if (names.includes(d)) return { env: d };
    return { error: messages.unknownEnvRequested(d, envNames(rb)) };
  }
  if (names.length === 1) return { env: names[0]! };
  return { error: messages.noEnvChosen(names) };
}

export interface EnvScope {
  env: string;
  protected: boolean;
  block?: EnvBlock;
  /** The declaration in force for each name in this env (env override, else top level). */
  decls: Map<string, Decl>;
}

/** Runbook of each scope made by envScope, so evalStatic can read other envs' values. */
const scopeRunbook = new WeakMap<EnvScope, Runbook>();

/**
 * The scope of env `env`. Top-level declarations first (the first of duplicates
 * wins), then the env block's overrides of names declared at top level (an
 * override of an undeclared name is ignored here; the checker reports it). An
 * env without a block (the implicit `default`) has the top-level declarations.
 */
export function envScope(rb: Runbook, env: string): EnvScope {
  const decls = new Map<string, Decl>();
  for (const d of rb.decls) if (!decls.has(d.name.name)) decls.set(d.name.name, d);
  const block = rb.envs.find((e) => e.name.name === env);
  if (block) {
    const overridden = new Set<string>();
    for (const d of block.overrides) {
      const name = d.name.name;
      if (!decls.has(name) || overridden.has(name)) continue;
      overridden.add(name);
      decls.set(name, d);
    }
  }
  const scope: EnvScope = { env, protected: block?.protected !== undefined, ...(block ? { block } : {}), decls };
  scopeRunbook.set(scope, rb);
  return scope;
}

/** What a `${…}` resolves to. */
export type Resolved =
  | { kind: "text"; value: string } // param/var/env/run.* values, already fully interpolated
  | { kind: "secret"; name: string }
  | { kind: "host"; name: string }
  | { kind: "database"; name: string }
  | { kind: "unknown"; reason: string };

/** `${a.b}` / `${raw a}` as written. */
export function interpSource(part: InterpPart): string {
  return `\${${part.raw ? "raw " : ""}${part.path.join(".")}}`;
}

/** A piece of a value: text as it is, or the value of a param or var (`source`, as written, when it has none). */
type ValuePiece = string | { env: string; name: string; source: string };

/**
 * Works out param/var values across envs with memoisation and a guard against cycles (a
 * reference met again while being computed stays as written), depth first with a stack
 * of its own, so a chain of vars of any length is fine. What it makes of each value is
 * up to `fold`: the text (resolveValues), or only its length (valueLengths), from the
 * same walk, so the two always agree.
 */
class ValueWalk<T> {
  private readonly scopes = new Map<string, EnvScope>();
  private readonly done = new Map<string, T>();
  private readonly active = new Set<string>();
  private readonly envSet: Set<string>;

  constructor(
    readonly rb: Runbook,
    readonly mainEnv: string,
    readonly sets: Record<string, string>,
    readonly builtins: Record<string, string>,
    private readonly fold: { of: (text: string) => T; join: (a: T, b: T) => T; empty: T },
    /** Called when a value takes in another value (keys `env\u0000name`). */
    private readonly onRef?: (from: string, to: string) => void,
    /** mainEnv is not the run's env either (another env's values). */
    readonly otherEnvs = false,
  ) {
    this.envSet = new Set(envNames(rb));
  }

  scope(env: string): EnvScope {
    let s = this.scopes.get(env);
    if (!s) {
      s = envScope(this.rb, env);
      this.scopes.set(env, s);
    }
    return s;
  }

  /** Every value worked out so far, keyed `env\u0000name`, in the order they were finished. */
  get values(): ReadonlyMap<string, T> {
    return this.done;
  }

  private isValue(env: string, name: string): boolean {
    const d = this.scope(env).decls.get(name);
    return d !== undefined && (d.kind === "param" || d.kind === "var");
  }

  /** The value of param/var `name` in `env`; undefined when it is not one. */
  value(env: string, name: string): T | undefined {
    if (!this.isValue(env, name)) return undefined;
    const rootKey = `${env}\u0000${name}`;
    const known = this.done.get(rootKey);
    if (known !== undefined) return known;
    interface Frame {
      key: string;
      pieces: ValuePiece[];
      i: number;
      acc: T;
    }
    const begin = (e: string, n: string, key: string): Frame | undefined => {
      const decl = this.scope(e).decls.get(n)!;
      if (decl.kind === "param") {
        // A plain --set reaches another env only where it keeps the top-level value.
        const plain = !(this.otherEnvs || e !== this.mainEnv) || this.rb.decls.includes(decl);
        const set = setValue(this.sets, e, n, plain);
        if (set !== undefined) {
          this.done.set(key, this.fold.of(set));
          return undefined;
        }
      }
      this.active.add(key);
      return { key, pieces: this.pieces(e, (decl as Extract<Decl, { kind: "param" | "var" }>).value, []), i: 0, acc: this.fold.empty };
    };
    const first = begin(env, name, rootKey);
    if (!first) return this.done.get(rootKey);
    const stack: Frame[] = [first];
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      let deeper: Frame | undefined;
      while (f.i < f.pieces.length && !deeper) {
        const p = f.pieces[f.i]!;
        if (typeof p === "string") {
          f.acc = this.fold.join(f.acc, this.fold.of(p));
          f.i++;
          continue;
        }
        const key = `${p.env}\u0000${p.name}`;
        const v = this.done.get(key);
        if (v !== undefined) {
          f.acc = this.fold.join(f.acc, v);
          this.onRef?.(f.key, key);
          f.i++;
        } else if (this.active.has(key)) {
          // a cycle: the reference stays as written
          f.acc = this.fold.join(f.acc, this.fold.of(p.source));
          f.i++;
        } else deeper = begin(p.env, p.name, key); // undefined: a --set value, done now; taken on the next turn
      }
      if (deeper) {
        stack.push(deeper);
        continue;
      }
      stack.pop();
      this.active.delete(f.key);
      this.done.set(f.key, f.acc);
    }
    return this.done.get(rootKey);
  }

  /** A literal as pieces: list items joined by single spaces, `${…}` of a param or var left to resolve. */
  private pieces(env: string, l: Literal, out: ValuePiece[]): ValuePiece[] {
    switch (l.kind) {
      case "string":
        for (const p of l.parts) out.push(p.kind === "text" ? p.value : this.interp(env, p));
        return out;
      case "number":
        out.push(l.text ?? String(l.value));
        return out;
      case "duration":
        out.push(l.text);
        return out;
      case "bool":
        out.push(l.value ? "true" : "false");
        return out;
      case "list":
        for (let i = 0; i < l.items.length; i++) {
          if (i > 0) out.push(" ");
          this.pieces(env, l.items[i]!, out); // lists nest at most MAX_NESTING deep (parser.ts)
        }
        return out;
      default:
        return assertNever(l, "literal");
    }
  }

  /** What `${…}` in env stands for: text, or a param or var to resolve. */
  private interp(env: string, p: InterpPart): ValuePiece {
    const path = p.path;
    const source = interpSource(p);
    if (path.length === 1) {
      if (path[0] === "env") return env;
      return this.isValue(env, path[0]!) ? { env, name: path[0]!, source } : source;
    }
    if (path.length === 2) {
      const key = `${path[0]}.${path[1]}`;
      if (path[0] === "run") return Object.prototype.hasOwnProperty.call(this.builtins, key) ? this.builtins[key]! : source;
      if (this.envSet.has(path[0]!) && this.isValue(path[0]!, path[1]!)) return { env: path[0]!, name: path[1]!, source };
    }
    return source;
  }
}

const TEXT = { of: (s: string) => s, join: (a: string, b: string) => a + b, empty: "" };
const LENGTH = { of: (s: string) => s.length, join: (a: number, b: number) => a + b, empty: 0 };

/**
 * Resolve every param and var of env to text (their values interpolate others: no cycles), with `sets` (--set NAME=VALUE) overriding params. `builtins` gives `env` and `run.*` (e.g. { "run.id": "…" }); `${prod.home}` reads another env's value.
 * A value longer than MAX_VALUE_LENGTH throws a ValueTooLargeError, found from the lengths before any text is made.
 */
export function resolveValues(
  rb: Runbook,
  env: string,
  options?: {
    sets?: Record<string, string>;
    builtins?: Record<string, string>;
    /** env is not the run's env (another env's values): a plain --set reaches only its top-level params (setValue). */
    otherEnv?: boolean;
  },
): Map<string, string> {
  const big = oversizedValue(rb, env, options);
  if (big) throw new ValueTooLargeError(big, env);
  const r = new ValueWalk(rb, env, options?.sets ?? {}, options?.builtins ?? {}, TEXT, undefined, options?.otherEnv ?? false);
  const out = new Map<string, string>();
  for (const [name, decl] of r.scope(env).decls) {
    if (decl.kind !== "param" && decl.kind !== "var") continue;
    out.set(name, r.value(env, name) ?? "");
  }
  return out;
}

// ---------------------------------------------------------------- value sizes

/**
 * The longest a param's or var's value may be, in characters (1 MB). Each `${…}` copies
 * a whole value in, so a few vars that interpolate others twice make a value of gigabytes
 * (28 self-doubling vars: 512 MB), which would take seconds to build and then fail.
 */
export const MAX_VALUE_LENGTH = 1024 * 1024;

/** A value over MAX_VALUE_LENGTH: the declaration in force, and how long its value would be. */
export interface OversizedValue {
  decl: Decl;
  length: number;
  /** The value came from `--set`. */
  fromSet: boolean;
}

export class ValueTooLargeError extends Error {
  constructor(
    readonly value: OversizedValue,
    readonly env: string,
  ) {
    const s = value.decl.name.span;
    super(`${s.file}:${s.line}:${s.column}: ${messages.valueTooLarge(value.decl.kind, value.decl.name.name, value.length, env, MAX_VALUE_LENGTH, value.fromSet)}`);
  }
}

/**
 * How long every param and var of `env` would be once resolved (what resolveValues makes,
 * character for character: the same walk, adding lengths where it joins text), so no
 * text is built. Lengths of the other envs' values read through `${prod.x}` are
 * included; keys are `env\u0000name`, in the order they were worked out (what a value
 * takes in before it). `refs`: the values each value takes in.
 */
export function valueLengths(
  rb: Runbook,
  env: string,
  options?: { sets?: Record<string, string>; builtins?: Record<string, string>; otherEnv?: boolean },
): { lengths: ReadonlyMap<string, number>; refs: Map<string, string[]> } {
  const refs = new Map<string, string[]>();
  const onRef = (from: string, to: string) => {
    const list = refs.get(from);
    if (list) list.push(to);
    else refs.set(from, [to]);
  };
  const walk = new ValueWalk(rb, env, options?.sets ?? {}, options?.builtins ?? {}, LENGTH, onRef, options?.otherEnv ?? false);
  for (const [name, decl] of walk.scope(env).decls) if (decl.kind === "param" || decl.kind === "var") walk.value(env, name);
  return { lengths: walk.values, refs };
}

/**
 * The first param or var of `env` (in the order their lengths are worked out, what a
 * value interpolates before it) whose value would be longer than MAX_VALUE_LENGTH while
 * none of the values it interpolates is: where a value becomes too large. Undefined when every value is within the limit.
 */
export function oversizedValue(
  rb: Runbook,
  env: string,
  options?: { sets?: Record<string, string>; builtins?: Record<string, string>; otherEnv?: boolean },
): OversizedValue | undefined {
  const { lengths, refs } = valueLengths(rb, env, options);
  let first: string | undefined;
  let root: string | undefined;
  for (const [k, n] of lengths) {
    if (n <= MAX_VALUE_LENGTH) continue;
    first ??= k;
    if (!(refs.get(k) ?? []).some((r) => lengths.get(r)! > MAX_VALUE_LENGTH)) {
      root = k;
      break;
    }
  }
  const k = root ?? first;
  if (k === undefined) return undefined;
  const [e, name] = k.split("\u0000") as [string, string];
  const decl = envScope(rb, e).decls.get(name)!;
  const sets = options?.sets ?? {};
  return { decl, length: lengths.get(k)!, fromSet: e === env && decl.kind === "param" && Object.prototype.hasOwnProperty.call(sets, name) };
}

/** Problems with `--set NAME=VALUE` options: names that are not declared params. One message each. */

/**
 * The value `--set` gives param `name` in `env`. `--set ENV.NAME=VALUE` sets it in
 * that env, which may be another env the run reads (`${prod.home}`, `sync … from
 * prod.appdb`). `--set NAME=VALUE` sets it in the run's env, and in another env
 * where that env keeps the top-level value (`plain`): an env that gives the param a
 * value of its own keeps it (`--set dbfile=…` on a dev run must not turn prod's
 * database into dev's). ENV.NAME wins over NAME.
 */
export function setValue(sets: Record<string, string> | undefined, env: string, name: string, plain = true): string | undefined {
  if (!sets) return undefined;
  const own = `${env}.${name}`;
  if (Object.prototype.hasOwnProperty.call(sets, own)) return sets[own];
  if (plain && Object.prototype.hasOwnProperty.call(sets, name)) return sets[name];
  return undefined;
}

/** Problems with `--set NAME=VALUE` / `--set ENV.NAME=VALUE` options: names that are not declared params. One message each. */
export function checkSets(rb: Runbook, sets: Record<string, string>, env?: string): string[] {
  const scope = envScope(rb, env ?? runnableEnvs(rb)[0]!);
  const envs = envNames(rb);
  const errors: string[] = [];
  for (const key of Object.keys(sets)) {
    const dot = key.indexOf(".");
    const inEnv = dot > 0 ? key.slice(0, dot) : undefined;
    if (inEnv !== undefined && !envs.includes(inEnv)) {
      errors.push(messages.setUnknownEnv(key, inEnv, envs));
      continue;
    }
    const name = inEnv === undefined ? key : key.slice(dot + 1);
    const d = (inEnv === undefined ? scope : envScope(rb, inEnv)).decls.get(name);
    if (!d) errors.push(messages.setUnknown(key, name));
    else if (d.kind !== "param") errors.push(messages.setNotParam(key, d.kind, name));
  }
  return errors;
}

/** Other envs' values, cached per runbook, env and builtins. */
const otherEnvValues = new WeakMap<Runbook, Map<string, Map<string, string>>>();

function valuesOf(rb: Runbook, env: string, builtins: Record<string, string> | undefined, sets?: Record<string, string>): Map<string, string> {
  let byKey = otherEnvValues.get(rb);
  if (!byKey) {
    byKey = new Map();
    otherEnvValues.set(rb, byKey);
  }
  const key = `${env}\u0000${JSON.stringify(builtins ?? {})}\u0000${JSON.stringify(sets ?? {})}`;
  let v = byKey.get(key);
  if (!v) {
    v = resolveValues(rb, env, { builtins: builtins ?? {}, sets, otherEnv: true });
    byKey.set(key, v);
  }
  return v;
}

export function resolveInterp(
  part: InterpPart,
  scope: EnvScope,
  values: Map<string, string>,
  rb: Runbook,
  builtins?: Record<string, string>,
  /** `--set` of the run: they reach other envs' values too (setValue). */
  sets?: Record<string, string>,
): Resolved {
  const path = part.path;
  const shown = path.join(".");
  if (path.length === 1) {
    const name = path[0]!;
    if (name === "env") return { kind: "text", value: scope.env };
    const decl = scope.decls.get(name);
    if (!decl) {
      if (builtins && Object.prototype.hasOwnProperty.call(builtins, name)) return { kind: "text", value: builtins[name]! };
      return { kind: "unknown", reason: messages.unknownName(name) };
    }
    switch (decl.kind) {
      case "param":
      case "var": {
        const v = values.get(name);
        return v === undefined ? { kind: "unknown", reason: messages.noValue(name) } : { kind: "text", value: v };
      }
      case "secret":
        return { kind: "secret", name };
      case "host":
        return { kind: "host", name };
      case "database":
        return { kind: "database", name };
      default:
        return assertNever(decl, "declaration");
    }
  }
  if (path.length === 2) {
    const [a, b] = path as [string, string];
    if (a === "run") {
      if (builtins && Object.prototype.hasOwnProperty.call(builtins, shown)) return { kind: "text", value: builtins[shown]! };
      if ((RUN_BUILTINS as readonly string[]).includes(shown)) return { kind: "unknown", reason: messages.runValueNotYet(shown) };
      return { kind: "unknown", reason: messages.unknownRunMember(b) };
    }
    if (a === "env") return { kind: "unknown", reason: messages.noMembers("env", "builtin", b) };
    if (rb.envs.some((e) => e.name.name === a)) {
      if (a === scope.env) {
        const decl = scope.decls.get(b);
        if (decl && (decl.kind === "param" || decl.kind === "var")) {
          const v = values.get(b);
          if (v !== undefined) return { kind: "text", value: v };
        }
      }
      const other = envScope(rb, a);
      const decl = other.decls.get(b);
      if (!decl) return { kind: "unknown", reason: messages.unknownEnvMember(a, b) };
      if (decl.kind !== "param" && decl.kind !== "var") return { kind: "unknown", reason: messages.otherEnvKind(a, b, decl.kind) };
      const v = valuesOf(rb, a, builtins, sets).get(b);
      return v === undefined ? { kind: "unknown", reason: messages.noValue(shown) } : { kind: "text", value: v };
    }
    if (scope.decls.has(a)) return { kind: "unknown", reason: messages.noMembers(a, scope.decls.get(a)!.kind, b) };
    return { kind: "unknown", reason: messages.unknownEnv(a) };
  }
  return { kind: "unknown", reason: messages.tooManyParts(shown) };
}

// ---------------------------------------------------------------- static evaluation

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const VERSION = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function isNumeric(s: string): boolean {
  return NUMBER.test(s.trim());
}

const PLAIN_DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?$/;

/**
 * Two numbers' order, exactly where both are written without an exponent (a
 * database hands back 9007199254740993, or a DECIMAL's 0.1000000000000000001, which
 * a double cannot tell from its neighbour); by their double values otherwise.
 */
function compareNumbers(a: string, b: string): number {
  const x = PLAIN_DECIMAL.exec(a.trim());
  const y = PLAIN_DECIMAL.exec(b.trim());
  if (!x || !y) return Math.sign(Number(a) - Number(b));
  const norm = (m: RegExpExecArray) => {
    const int = (m[2] ?? "").replace(/^0+/, "");
    const frac = (m[3] ?? "").replace(/0+$/, "");
    return { neg: m[1] === "-" && (int !== "" || frac !== ""), int, frac };
  };
  const p = norm(x);
  const q = norm(y);
  if (p.neg !== q.neg) return p.neg ? -1 : 1;
  const magnitude = compareMagnitudes(p, q);
  return p.neg ? -magnitude : magnitude;
}

/** Two decimals' digits (no leading zeros in `int`, no trailing ones in `frac`) by size. */
function compareMagnitudes(p: { int: string; frac: string }, q: { int: string; frac: string }): number {
  if (p.int.length !== q.int.length) return Math.sign(p.int.length - q.int.length);
  if (p.int !== q.int) return p.int < q.int ? -1 : 1;
  const n = Math.max(p.frac.length, q.frac.length);
  const f = p.frac.padEnd(n, "0");
  const g = q.frac.padEnd(n, "0");
  return f === g ? 0 : f < g ? -1 : 1;
}

/** Compare two versions (`1.10.0`, `v2`, `1.0.0-rc.1`); undefined when either is not one. */
export function compareVersions(a: string, b: string): number | undefined {
  const ma = VERSION.exec(a.trim());
  const mb = VERSION.exec(b.trim());
  if (!ma || !mb) return undefined;
  const na = ma[1]!.split(".").map(Number);
  const nb = mb[1]!.split(".").map(Number);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? 0) - (nb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  const pa = ma[2];
  const pb = mb[2];
  if (pa === undefined && pb === undefined) return 0;
  if (pa === undefined) return 1; // a release sorts after its pre-releases
  if (pb === undefined) return -1;
  const ia = pa.split(".");
  const ib = pb.split(".");
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const x = ia[i];
    const y = ib[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (xn !== yn) return xn ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

/** A duration's milliseconds (`30s`, `1h30m`), or undefined when the text is not one. */
function durationOf(s: string): number | undefined {
  const t = s.trim();
  if (!DURATION.test(t)) return undefined;
  const ms = durationMs(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `a < b` style ordering: numeric, then durations, then versions, then strings. */
export function compareOrdered(a: string, b: string): number {
  if (isNumeric(a) && isNumeric(b)) return compareNumbers(a, b);
  const da = durationOf(a);
  const db = da === undefined ? undefined : durationOf(b);
  if (da !== undefined && db !== undefined) return Math.sign(da - db);
  const v = compareVersions(a, b);
  if (v !== undefined) return v;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `==`: numeric when both sides are numbers, by length when both are durations (`90s == 1m30s`), else string equality. */
export function valuesEqual(a: string, b: string): boolean {
  if (a === b) return true;
  if (isNumeric(a) && isNumeric(b)) return compareNumbers(a, b) === 0;
  const da = durationOf(a);
  if (da !== undefined && da === durationOf(b)) return true;
  return false;
}

/** A value's truth when used alone as a condition. */
export function truthy(text: string): boolean {
  return text !== "" && text !== "false" && text !== "0";
}

/** A known operand: its text, and its items when it is a list. */
export interface StaticOperand {
  text: string;
  list?: string[];
}

/** Splits a value used as a list: list values' items, else the text split on whitespace. */
function asList(o: StaticOperand): string[] {
  if (o.list) return o.list;
  return o.text.split(/\s+/).filter((s) => s !== "");
}

export interface StaticContext {
  /** The runbook, for `prod.home` operands (found automatically for scopes made by envScope). */
  rb?: Runbook;
  /** `run.*` values, when known. */
  builtins?: Record<string, string>;
  /** `--set` of the run, for other envs' values. */
  sets?: Record<string, string>;
}

/** Static truth of a condition in env: true/false when the source alone decides it (env comparisons, param/var values), "probe" when it depends on a probe (succeeds/output/exists/query) or on run-time values. */
export function evalStatic(
  cond: Cond,
  scope: EnvScope,
  values: Map<string, string>,
  context?: StaticContext,
): boolean | "probe" {
  return new StaticEvaluator(scope, values, context?.rb ?? scopeRunbook.get(scope), context?.builtins, context?.sets).cond(cond);
}

/** Three-valued evaluation of a condition; `undefined` operands are not known statically. */
class StaticEvaluator {
  constructor(
    readonly scope: EnvScope,
    readonly values: Map<string, string>,
    readonly rb: Runbook | undefined,
    readonly builtins: Record<string, string> | undefined,
    readonly sets?: Record<string, string>,
  ) {}

  cond(c: Cond): boolean | "probe" {
    switch (c.kind) {
      case "group":
        return this.cond(c.inner);
      case "not": {
        const r = this.cond(c.operand);
        return r === "probe" ? r : !r;
      }
      case "and": {
        const l = this.cond(c.left);
        if (l === false) return false;
        const r = this.cond(c.right);
        if (r === false) return false;
        return l === true && r === true ? true : "probe";
      }
      case "or": {
        const l = this.cond(c.left);
        if (l === true) return true;
        const r = this.cond(c.right);
        if (r === true) return true;
        return l === false && r === false ? false : "probe";
      }
      case "value": {
        const v = c.value;
        if (v.kind === "bool") return v.value;
        if (v.kind === "number") return v.value !== 0;
        if (v.kind === "list") return v.items.length > 0;
        const o = this.operand(v);
        if (o === undefined) return "probe";
        return o.list ? o.list.length > 0 : truthy(o.text);
      }
      case "compare": {
        const l = this.operand(c.left);
        if (!l) return "probe";
        const r = this.operand(c.right);
        if (!r) return "probe";
        return compareOperands(c.op, l, r);
      }
      default:
        return assertNever(c, "condition");
    }
  }

  private resolve(p: InterpPart): Resolved {
    if (this.rb) return resolveInterp(p, this.scope, this.values, this.rb, this.builtins, this.sets);
    if (p.path.length === 1) {
      if (p.path[0] === "env") return { kind: "text", value: this.scope.env };
      const v = this.values.get(p.path[0]!);
      if (v !== undefined) return { kind: "text", value: v };
    }
    return { kind: "unknown", reason: "" };
  }

  private str(s: StringLit): string | undefined {
    let out = "";
    for (const p of s.parts) {
      if (p.kind === "text") out += p.value;
      else {
        const r = this.resolve(p);
        if (r.kind !== "text") return undefined;
        out += r.value;
      }
    }
    return out;
  }

  private literal(l: Literal): StaticOperand | undefined {
    switch (l.kind) {
      case "string": {
        const t = this.str(l);
        return t === undefined ? undefined : { text: t };
      }
      case "list": {
        const items: string[] = [];
        for (const i of l.items) {
          const o = this.literal(i);
          if (!o) return undefined;
          items.push(o.text);
        }
        return { text: items.join(" "), list: items };
      }
      case "number":
        return { text: l.text ?? String(l.value) };
      case "duration":
        return { text: l.text };
      case "bool":
        return { text: l.value ? "true" : "false" };
      default:
        return assertNever(l, "literal");
    }
  }

  name(v: NameRef): StaticOperand | undefined {
    if (v.path.length === 1) {
      const name = v.path[0]!.name;
      const decl = this.scope.decls.get(name);
      const t = this.values.get(name);
      if (!decl || (decl.kind !== "param" && decl.kind !== "var") || t === undefined) return undefined;
      return decl.value.kind === "list" ? this.listOperand(decl.value, t) : { text: t };
    }
    if (!this.rb) return undefined;
    const part: InterpPart = { kind: "interp", path: v.path.map((i) => i.name), raw: false, span: v.span };
    const r = this.resolve(part);
    if (r.kind !== "text") return undefined;
    const [a, b] = v.path.map((i) => i.name) as [string, string];
    if (v.path.length === 2 && this.rb.envs.some((e) => e.name.name === a)) {
      // `prod.items`: a list in that env keeps its items.
      const same = a === this.scope.env;
      const scope = same ? this.scope : envScope(this.rb, a);
      const decl = scope.decls.get(b);
      if (decl && (decl.kind === "param" || decl.kind === "var") && decl.value.kind === "list") {
        const other = same ? this : new StaticEvaluator(scope, valuesOf(this.rb, a, this.builtins, this.sets), this.rb, this.builtins, this.sets);
        return other.listOperand(decl.value, r.value);
      }
    }
    return { text: r.value };
  }

  /**
   * A list-valued param or var whose value is `text`: its items as declared, or, when
   * the text is not those items (a `--set` gave the param another value), the text
   * split on whitespace.
   */
  private listOperand(list: ListLit, text: string): StaticOperand {
    const items: string[] = [];
    for (const i of list.items) {
      const o = this.literal(i);
      if (!o) return { text, list: asList({ text }) };
      items.push(o.text);
    }
    if (items.join(" ") !== text) return { text, list: asList({ text }) };
    return { text, list: items };
  }

  private operand(v: Value): StaticOperand | undefined {
    switch (v.kind) {
      case "env":
        return { text: this.scope.env };
      case "name":
        return this.name(v);
      case "succeeds":
      case "output":
      case "exists":
      case "query":
        return undefined;
      case "string":
      case "list":
      case "number":
      case "duration":
      case "bool":
        return this.literal(v);
      default:
        return assertNever(v, "value");
    }
  }
}

/**
 * A name used as a condition operand (`items`, `prod.home`, `run.id`): its text, and
 * its items when it is declared with a list value. Undefined when the source alone
 * does not know it (a probe-like run-time value, a secret, a host, an unknown name).
 */
export function nameOperand(v: NameRef, scope: EnvScope, values: Map<string, string>, context?: StaticContext): StaticOperand | undefined {
  return new StaticEvaluator(scope, values, context?.rb ?? scopeRunbook.get(scope), context?.builtins).name(v);
}

/** One comparison semantics for conditions, decided statically here and at run time by the executor; "probe" for an invalid regex. */
export function compareOperands(op: CompareOp, l: StaticOperand, r: StaticOperand): boolean | "probe" {
  switch (op) {
    case "==":
      return valuesEqual(l.text, r.text);
    case "!=":
      return !valuesEqual(l.text, r.text);
    case "<":
      return compareOrdered(l.text, r.text) < 0;
    case "<=":
      return compareOrdered(l.text, r.text) <= 0;
    case ">":
      return compareOrdered(l.text, r.text) > 0;
    case ">=":
      return compareOrdered(l.text, r.text) >= 0;
    case "contains":
      return l.list ? l.list.some((i) => valuesEqual(i, r.text)) : l.text.includes(r.text);
    case "matches":
      try {
        return new RegExp(r.text).test(l.text);
      } catch {
        return "probe";
      }
    case "in":
      return asList(r).some((i) => valuesEqual(i, l.text));
    default:
      return assertNever(op, "operator");
  }
}
