// Small builders of typed AST nodes for the checker and scope tests, so they do not
// depend on the parser. Every node gets its own span (a fresh line), so a test can
// assert that a diagnostic points at exactly that node: `expect(d.span).toBe(x.span)`.

import type {
  BinaryCond,
  CompareCond,
  CompareOp,
  Cond,
  DatabaseDecl,
  Decl,
  DurationLit,
  EnvBlock,
  HostDecl,
  Ident,
  InterpPart,
  ListLit,
  Literal,
  NameRef,
  NumberLit,
  ParamDecl,
  Runbook,
  Section,
  SecretDecl,
  Step,
  Stmt,
  StringLit,
  TextPart,
  Value,
  VarDecl,
} from "../../language/ast.js";
import { kebabId } from "../../language/ast.js";
import type { Span } from "../../language/span.js";

let line = 1;
export function sp(length = 1): Span {
  const l = line++;
  return { file: "t.rb", offset: l * 1000, line: l, column: 1, length };
}

export const id = (name: string): Ident => ({ name, span: sp(name.length) });

/** A string; `${a.b}` and `${raw a}` become interpolation parts. */
export function str(text: string): StringLit {
  const parts: (TextPart | InterpPart)[] = [];
  const re = /\$\{(raw\s+)?([^}]*)\}/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) parts.push({ kind: "text", value: text.slice(last, m.index), span: sp(m.index - last) });
    parts.push({ kind: "interp", path: m[2]!.trim().split("."), raw: !!m[1], span: sp(m[0].length) });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ kind: "text", value: text.slice(last), span: sp(text.length - last) });
  return { kind: "string", parts, triple: false, span: sp(text.length + 2) };
}

/** The interpolation parts of a string, in order. */
export const interps = (s: StringLit): InterpPart[] => s.parts.filter((p): p is InterpPart => p.kind === "interp");

export const num = (value: number): NumberLit => ({ kind: "number", value, span: sp() });
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export function dur(text: string): DurationLit {
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT[m[2]!]!;
  return { kind: "duration", ms, text, span: sp(text.length) };
}
export const bool = (value: boolean): Literal => ({ kind: "bool", value, span: sp() });
export const list = (...items: (Literal | string)[]): ListLit => ({
  kind: "list",
  items: items.map((i) => (typeof i === "string" ? str(i) : i)),
  span: sp(),
});
const lit = (v: Literal | string): Literal => (typeof v === "string" ? str(v) : v);

// ---------------------------------------------------------------- declarations

export const param = (name: string, value: Literal | string): ParamDecl => ({ kind: "param", name: id(name), value: lit(value), span: sp() });
export const vr = (name: string, value: Literal | string): VarDecl => ({ kind: "var", name: id(name), value: lit(value), span: sp() });
export const secret = (name: string, ref = name.toUpperCase()): SecretDecl => ({ kind: "secret", name: id(name), source: "env", ref: str(ref), span: sp() });
export const host = (name: string, value: string | string[] | ListLit): HostDecl => ({
  kind: "host",
  name: id(name),
  value: typeof value === "string" ? str(value) : Array.isArray(value) ? list(...value) : value,
  span: sp(),
});
export const sqlite = (name: string, path: string, on?: string): DatabaseDecl => ({
  kind: "database",
  name: id(name),
  value: { engine: "sqlite", path: str(path), ...(on ? { on: id(on) } : {}), span: sp() },
  span: sp(),
});
export const mysql = (name: string, url: string, opts: { password?: string; via?: string } = {}): DatabaseDecl => ({
  kind: "database",
  name: id(name),
  value: {
    engine: "mysql",
    url: str(url),
    ...(opts.password ? { password: id(opts.password) } : {}),
    ...(opts.via ? { via: id(opts.via) } : {}),
    span: sp(),
  },
  span: sp(),
});

export function env(name: string, opts: { protected?: boolean; overrides?: Decl[]; confirms?: string[] } = {}): EnvBlock {
  return {
    kind: "env",
    name: id(name),
    ...(opts.protected ? { protected: sp(9) } : {}),
    confirms: (opts.confirms ?? []).map((q) => ({ kind: "confirm", question: str(q), span: sp() })),
    overrides: opts.overrides ?? [],
    span: sp(),
  };
}

// ---------------------------------------------------------------- conditions

export const envRef = (): Value => ({ kind: "env", span: sp(3) });
export const nameRef = (path: string): NameRef => ({ kind: "name", path: path.split(".").map(id), span: sp(path.length) });
/** A value: strings stay strings, `@name` is a name reference, `@env` the current env. */
export function val(v: Value | string | number | boolean): Value {
  if (typeof v === "number") return num(v);
  if (typeof v === "boolean") return bool(v) as Value;
  if (typeof v !== "string") return v;
  if (v === "@env") return envRef();
  if (v.startsWith("@")) return nameRef(v.slice(1));
  return str(v);
}
export const cmp = (left: Value | string | number | boolean, op: CompareOp, right: Value | string | number | boolean): CompareCond => ({
  kind: "compare",
  op,
  opSpan: sp(op.length),
  left: val(left),
  right: val(right),
  span: sp(),
});
export const and = (left: Cond, right: Cond): BinaryCond => ({ kind: "and", left, right, span: sp() });
export const or = (left: Cond, right: Cond): BinaryCond => ({ kind: "or", left, right, span: sp() });
export const not = (operand: Cond): Cond => ({ kind: "not", operand, span: sp() });
export const group = (inner: Cond): Cond => ({ kind: "group", inner, span: sp() });
export const is = (v: Value | string | number | boolean): Cond => ({ kind: "value", value: val(v), span: sp() });
export const succeeds = (command: string, on?: string): Value => ({ kind: "succeeds", command: str(command), ...(on ? { on: id(on) } : {}), span: sp() });
export const exists = (path: string, on?: string): Value => ({ kind: "exists", path: str(path), ...(on ? { on: id(on) } : {}), span: sp() });
export const output = (command: string, on?: string): Value => ({ kind: "output", command: str(command), ...(on ? { on: id(on) } : {}), span: sp() });
export const query = (db: string, sql: string): Value => ({ kind: "query", db: id(db), sql: str(sql), span: sp() });

// ---------------------------------------------------------------- statements

export const run = (command: string): Stmt => ({ kind: "run", command: str(command), span: sp() });
export const undo = (command: string | Stmt[]): Stmt =>
  typeof command === "string" ? { kind: "undo", command: str(command), span: sp() } : { kind: "undo", body: command, span: sp() };
export const sql = (db: string, text: string): Stmt => ({ kind: "sql", db: id(db), text: str(text), span: sp() });
export const confirm = (question: string): Stmt => ({ kind: "confirm", question: str(question), span: sp() });
export const note = (text: string): Stmt => ({ kind: "note", text: str(text), span: sp() });
export const manual = (text: string): Stmt => ({ kind: "manual", text: str(text), span: sp() });
export const require_ = (cond: Cond, why?: string): Stmt => ({ kind: "require", cond, ...(why ? { else: str(why) } : {}), span: sp() });
export const sync = (db: string, fromEnv: string, fromDb: string): Stmt => ({ kind: "sync", db: id(db), fromEnv: id(fromEnv), fromDb: id(fromDb), span: sp() });
export const exportDb = (db: string, to: string, format?: string, tables?: ListLit): Stmt => ({
  kind: "export",
  db: id(db),
  to: str(to),
  ...(format ? { format: id(format) } : {}),
  ...(tables ? { tables } : {}),
  span: sp(),
});
export const importDb = (db: string, from: string): Stmt => ({ kind: "import", db: id(db), from: str(from), span: sp() });
export const upload = (from: string, to: string): Stmt => ({ kind: "upload", from: str(from), to: str(to), span: sp() });
export const download = (from: string, to: string): Stmt => ({ kind: "download", from: str(from), to: str(to), span: sp() });
export const edit = (path: string, ...replaces: [string, string][]): Stmt => ({
  kind: "edit",
  path: str(path),
  replaces: replaces.map(([o, n]) => ({ all: false, old: str(o), new: str(n), span: sp() })),
  span: sp(),
});
export const wait = (cond: Cond, every?: string, timeout?: string): Stmt => ({
  kind: "wait",
  cond,
  ...(every ? { every: dur(every) } : {}),
  ...(timeout ? { timeout: dur(timeout) } : {}),
  span: sp(),
});
export const timeout = (d: string): Stmt => ({ kind: "timeout", duration: dur(d), span: sp() });
export const retry = (n: number, every?: string): Stmt => ({ kind: "retry", count: num(n), ...(every ? { every: dur(every) } : {}), span: sp() });
export const parallel = (n: number): Stmt => ({ kind: "parallel", count: num(n), span: sp() });
export const allowFailure = (): Stmt => ({ kind: "allow-failure", span: sp() });

export function step(
  title: string,
  opts: { as?: string; on?: string; when?: Cond; unless?: Cond } = {},
  ...body: Stmt[]
): Step {
  const t = str(title);
  const asId = opts.as ? id(opts.as) : undefined;
  return {
    kind: "step",
    title: t,
    id: asId?.name ?? kebabId(title),
    idSpan: asId?.span ?? t.span,
    ...(opts.on ? { on: id(opts.on) } : {}),
    ...(opts.when ? { when: opts.when } : {}),
    ...(opts.unless ? { unless: opts.unless } : {}),
    body,
    span: sp(),
  };
}

export const section = (title: string, ...steps: Step[]): Section => ({ kind: "section", title: str(title), steps, span: sp() });

export function runbook(opts: {
  version?: string;
  decls?: Decl[];
  envs?: EnvBlock[];
  items?: (Section | Step)[];
  finally?: Step[];
  defaultEnv?: string;
  description?: string;
}): Runbook {
  return {
    kind: "runbook",
    file: "t.rb",
    header: {
      name: str("test"),
      version: str(opts.version ?? "1.0.0"),
      ...(opts.description ? { description: str(opts.description) } : {}),
      span: sp(),
    },
    ...(opts.defaultEnv ? { defaultEnv: id(opts.defaultEnv) } : {}),
    decls: opts.decls ?? [],
    envs: opts.envs ?? [],
    items: opts.items ?? [],
    ...(opts.finally ? { finally: { kind: "finally", steps: opts.finally, span: sp() } } : {}),
    sources: [],
    span: sp(),
  };
}
