// What the language server knows about one runbook: its diagnostics (the same
// compile and check as `runbook check`), and, built when first asked, an index of
// every name it declares and uses (vars, params, secrets, hosts, databases, envs,
// steps, includes) with the span of each, across its includes. Definition,
// references, rename, hover and completion all read that index.

import * as path from "node:path";
import type { Decl, InterpPart, Ident, Literal, Runbook } from "../../language/ast.js";
import { allSteps } from "../../language/ast.js";
import { assertNever } from "../../language/assert.js";
import { check } from "../../language/check.js";
import { compile } from "../../language/compile.js";
import { hasErrors, type Diagnostic } from "../../language/diagnostics.js";
import { envScope, interpSource, resolveValues, runnableEnvs, RUN_BUILTINS } from "../../language/scope.js";

export type SymbolKind = "param" | "var" | "secret" | "host" | "database" | "env" | "step" | "include";

/** One place a name is written: its declaration (`def`) or a use. */
export interface Occurrence {
  kind: SymbolKind;
  /** Identity across the runbook: `decl:home`, `env:prod`, `step:deploy`, `include:/abs/lib.rb`. */
  key: string;
  name: string;
  file: string;
  offset: number;
  length: number;
  def: boolean;
}

export interface Analysis {
  file: string;
  diagnostics: Diagnostic[];
  /** The AST (present when the file parses, even when the checker found errors). */
  runbook?: Runbook;
  /** Every file's text, main first. */
  sources: Map<string, string>;
}

/** Compile and check, keeping the AST when only the checker complained (navigation needs it). */
export function analyze(file: string, text: string, readFile: (p: string) => string): Analysis {
  const parsed = compile(file, text, { readFile, check: false });
  const diagnostics = [...parsed.diagnostics];
  const runbook = parsed.runbook;
  if (runbook && !hasErrors(diagnostics)) {
    try {
      diagnostics.push(...check(runbook));
    } catch (e) {
      diagnostics.push({ severity: "error", code: "internal", message: e instanceof Error ? e.message : String(e), span: { file, offset: 0, line: 1, column: 1, length: 0 } });
    }
  }
  return { file, diagnostics, sources: parsed.sources, ...(runbook ? { runbook } : {}) };
}

/** Ident-valued fields of the AST that name something, and what they name. */
const IDENT_FIELDS: Record<string, SymbolKind | "decl"> = {
  on: "host",
  via: "host",
  password: "secret",
  db: "database",
  fromDb: "database",
  fromEnv: "env",
  defaultEnv: "env",
};

const INCLUDE_LINE = /^[ \t]*include[ \t]+"([^"\n]*)"/gm;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;

/** The names of a runbook and where each is written. */
export class SymbolIndex {
  readonly occurrences: Occurrence[] = [];
  private readonly declKinds = new Map<string, SymbolKind>();
  private readonly envSet = new Set<string>();
  private valuesByEnv?: Map<string, Map<string, string>>;

  constructor(
    readonly runbook: Runbook,
    readonly sources: Map<string, string>,
  ) {
    for (const d of runbook.decls) if (!this.declKinds.has(d.name.name)) this.declKinds.set(d.name.name, d.kind);
    for (const e of runbook.envs) this.envSet.add(e.name.name);
    for (const d of runbook.decls) this.add(d.kind, `decl:${d.name.name}`, d.name, true);
    for (const e of runbook.envs) {
      this.add("env", `env:${e.name.name}`, e.name, true);
      for (const d of e.overrides) this.add(d.kind, `decl:${d.name.name}`, d.name, false);
    }
    for (const s of allSteps(runbook)) {
      const explicit = sources.get(s.idSpan.file)?.charAt(s.idSpan.offset) !== '"';
      if (explicit) this.occurrences.push({ kind: "step", key: `step:${s.id}`, name: s.id, file: s.idSpan.file, offset: s.idSpan.offset, length: s.idSpan.length, def: true });
      else this.occurrences.push({ kind: "step", key: `step:${s.id}`, name: s.id, file: s.title.span.file, offset: s.title.span.offset, length: s.title.span.length, def: true });
    }
    this.walk(runbook);
    for (const [file, text] of sources) {
      for (const m of text.matchAll(INCLUDE_LINE)) {
        const rel = m[1]!;
        const resolved = path.isAbsolute(rel) ? path.normalize(rel) : path.normalize(path.join(path.dirname(file), rel));
        const at = m.index! + m[0].length - rel.length - 1;
        this.occurrences.push({ kind: "include", key: `include:${path.resolve(resolved)}`, name: resolved, file, offset: at, length: rel.length, def: false });
      }
    }
  }

  /** The kind of a declared name (the first declaration of it), if any. */
  declKind(name: string): SymbolKind | undefined {
    return this.declKinds.get(name);
  }

  envNames(): string[] {
    return [...this.envSet];
  }

  private add(kind: SymbolKind, key: string, id: Ident, def: boolean): void {
    this.occurrences.push({ kind, key, name: id.name, file: id.span.file, offset: id.span.offset, length: id.span.length, def });
  }

  /** A use of NAME (a declared thing, or an env), as the field it is in expects. */
  private use(expected: SymbolKind | "decl", id: Ident): void {
    if (expected === "env") {
      if (this.envSet.has(id.name)) this.add("env", `env:${id.name}`, id, false);
      return;
    }
    const kind = this.declKinds.get(id.name);
    if (kind) this.add(kind, `decl:${id.name}`, id, false);
  }

  /** A path of names (`home`, `prod.home`) written at these spans. */
  private usePath(names: Ident[]): void {
    const [first, second] = names;
    if (!first) return;
    if (names.length === 2 && second && this.envSet.has(first.name) && first.name !== "run") {
      this.use("env", first);
      this.use("decl", second);
    } else if (names.length === 1) this.use("decl", first);
  }

  /** `${a.b}`: the names inside, each with its own span. */
  private interp(p: InterpPart): void {
    const span = p.span;
    const text = this.sources.get(span.file)?.slice(span.offset, span.offset + span.length);
    if (!text) return;
    const ids: Ident[] = [];
    for (const m of text.slice(2).matchAll(IDENT)) {
      if (p.raw && ids.length === 0 && m[0] === "raw" && m.index === text.slice(2).search(/\S/)) continue;
      ids.push({ name: m[0], span: { file: span.file, offset: span.offset + 2 + m.index!, line: 0, column: 0, length: m[0].length } });
      if (ids.length === p.path.length) break;
    }
    if (ids.length === p.path.length && p.path[0] !== "run") this.usePath(ids);
  }

  /** Every use of a name anywhere in the AST, found by shape (NameRef, `${…}`, Ident fields). */
  private walk(root: unknown): void {
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const node = stack.pop();
      if (Array.isArray(node)) {
        for (const x of node) stack.push(x);
        continue;
      }
      if (typeof node !== "object" || node === null) continue;
      const o = node as Record<string, unknown>;
      if (o.kind === "name" && Array.isArray(o.path)) {
        if ((o.path as Ident[])[0]?.name !== "run") this.usePath(o.path as Ident[]);
        continue;
      }
      if (o.kind === "interp") {
        this.interp(node as InterpPart);
        continue;
      }
      for (const [k, v] of Object.entries(o)) {
        if (k === "sources" || k === "span" || k === "idSpan" || k === "opSpan" || k === "name" || k === "as" || k === "format") continue;
        const expected = IDENT_FIELDS[k];
        if (expected && isIdent(v)) this.use(expected, v);
        else if (typeof v === "object" && v !== null) stack.push(v);
      }
    }
  }

  /** The occurrence written at `offset` of `file`, if any. */
  at(file: string, offset: number): Occurrence | undefined {
    return this.occurrences.find((o) => o.file === file && offset >= o.offset && offset <= o.offset + o.length);
  }

  all(key: string): Occurrence[] {
    return this.occurrences.filter((o) => o.key === key);
  }

  /** Every param's and var's value in env (computed once per env). */
  private values(env: string): Map<string, string> {
    const all = (this.valuesByEnv ??= new Map());
    let map = all.get(env);
    if (!map) {
      try {
        map = resolveValues(this.runbook, env, { otherEnv: true });
      } catch {
        map = new Map(); // a value too large to show
      }
      all.set(env, map);
    }
    return map;
  }

  /** Each env's value of param or var `name` (secrets are never read). */
  valuesOf(name: string): { env: string; value: string }[] {
    return runnableEnvs(this.runbook).map((env) => ({ env, value: this.values(env).get(name) ?? "" }));
  }

  /** The declaration of `name` in force in each env. */
  declsOf(name: string): { env: string; decl: Decl | undefined }[] {
    return runnableEnvs(this.runbook).map((env) => ({ env, decl: envScope(this.runbook, env).decls.get(name) }));
  }

  /** A literal's text in env, its `${…}` filled in with that env's values (secrets stay as written). */
  shown(lit: Literal, env: string): string {
    switch (lit.kind) {
      case "string": {
        const values = this.values(env);
        return lit.parts
          .map((p) => (p.kind === "text" ? p.value : p.path.length === 1 && p.path[0] === "env" ? env : p.path.length === 1 ? (values.get(p.path[0]!) ?? interpSource(p)) : interpSource(p)))
          .join("");
      }
      case "number":
        return lit.text ?? String(lit.value);
      case "duration":
        return lit.text;
      case "bool":
        return String(lit.value);
      case "list":
        return lit.items.map((i) => this.shown(i, env)).join(", ");
      default:
        return assertNever(lit);
    }
  }

  /** Names a `${…}` can read, for completion. */
  interpolatable(): string[] {
    return [...[...this.declKinds.keys()], ...RUN_BUILTINS, "env"];
  }
}

function isIdent(v: unknown): v is Ident {
  return typeof v === "object" && v !== null && typeof (v as Ident).name === "string" && !("kind" in v) && "span" in v;
}
