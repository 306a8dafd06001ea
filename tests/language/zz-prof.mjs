var __defProp = Object.defineProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// tests/language/zz-prof.ts
import { readFileSync as readFileSync2 } from "node:fs";

// language/compile.ts
import { readFileSync } from "node:fs";
import * as path from "node:path";

// language/ast.ts
function literalText(s) {
  let out = "";
  for (const p of s.parts) {
    if (p.kind !== "text") return void 0;
    out += p.value;
  }
  return out;
}
function allSteps(rb) {
  const out = [];
  for (const item of rb.items) {
    if (item.kind === "section") out.push(...item.steps);
    else out.push(item);
  }
  if (rb.finally) out.push(...rb.finally.steps);
  return out;
}
function kebabId(title) {
  return title.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "step";
}

// language/diagnostics.ts
function hasErrors(diagnostics) {
  return diagnostics.some((d) => d.severity === "error");
}
function sortDiagnostics(diagnostics) {
  return [...diagnostics].sort(
    (a, b) => a.span.file.localeCompare(b.span.file) || a.span.offset - b.span.offset || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1)
  );
}

// language/messages.ts
var q = (s) => `\`${s}\``;
var messages = {
  // ---------------------------------------------------------------- lexer / parser
  unexpectedCharacter: (text2) => `unexpected character${[...text2].length > 1 ? "s" : ""} ${q(text2)}`,
  singleQuoteNote: () => `strings are written in double quotes: "\u2026"`,
  unterminatedString: () => "unterminated string",
  unterminatedStringNote: () => `close it with \`"\` on the same line; text over several lines goes in """\u2026"""`,
  unterminatedTripleString: () => `unterminated string: the \`"""\` is never closed`,
  /** "expected a string after `run`" */
  expected: (what, after) => after ? `expected ${what} after ${after}` : `expected ${what}`,
  /** "unexpected `}`" */
  unexpected: (what) => `unexpected ${what}`,
  unexpectedIn: (what, where) => `unexpected ${what} in ${where}`,
  unknownStatement: (word) => `unknown statement ${q(word)}`,
  expectedNote: (what) => `expected ${what}`,
  statementsNote: () => "a step holds statements: `require`, `confirm`, `manual`, `run`, `edit`, `upload`, `download`, `sql`, `export`, `import`, `sync`, `wait`, `note`, `undo`, `timeout`, `retry`, `allow failure`, `parallel`",
  sectionNote: () => 'a section holds steps: `step "Title" { \u2026 }`',
  envBlockNote: () => 'an env block holds `protected`, `confirm "\u2026"` and overrides like `var home = "\u2026"`',
  topLevelNote: () => "expected a declaration (`param`, `var`, `secret`, `host`, `database`), `include`, `env`, `section`, `step` or `finally`",
  compareNote: () => "to compare two values, write `==`",
  durationNote: () => "a duration is a whole number with a unit: `500ms`, `30s`, `10m`, `2h`, `1d`",
  unclosedBlock: (what) => `expected \`}\` to close ${what} before the end of the file`,
  missingHeader: () => 'missing header: a runbook starts with `runbook "NAME" version "1.0.0"`',
  headerNotFirst: () => "the header `runbook NAME version SEMVER` must be the first statement",
  headerInInclude: (word) => `an included file has no header: ${q(word)} belongs in the main file`,
  duplicate: (what) => `${q(what)} is given twice`,
  duplicateFinally: () => "a file has one `finally` block: move these steps into the first one",
  defaultEnvInInclude: () => "`default env` belongs in the main file, not in an included one",
  emptyInterpolation: () => "empty `${}`: put a name inside, like `${home}`",
  badInterpolation: (text2, what, after) => `bad interpolation ${q(text2)}: expected ${what} after ${q(after)}`,
  unclosedInterpolation: () => "unclosed `${` in string: expected `}`",
  unknownEscape: (esc) => `unknown escape ${q(esc)} is kept as written`,
  unknownEscapeNote: () => 'the escapes are \\" \\\\ \\n \\t \\$; write \\\\ for a backslash',
  noInterpolationIn: (what) => `${what} cannot contain \`\${\u2026}\``,
  exportFormat: (name) => `unknown export format ${q(name)}: expected \`csv\` or \`web2py\``,
  internal: (message) => `internal error: ${message}`,
  cannotRead: (file) => `cannot read ${q(file)}`,
  // ---------------------------------------------------------------- includes
  includeMissing: (path2) => `cannot read included file ${q(path2)}`,
  includeCycle: (chain) => `include cycle: ${chain.map(q).join(" \u2192 ")}`,
  includeTwice: (path2) => `${q(path2)} is already included`,
  // ---------------------------------------------------------------- checker
  didYouMean: (name) => `did you mean ${q(name)}?`,
  // names
  unknownName: (name) => `unknown name ${q(name)}`,
  unknownHost: (name) => `unknown host ${q(name)}`,
  unknownDatabase: (name) => `unknown database ${q(name)}`,
  unknownSecret: (name) => `unknown secret ${q(name)}`,
  unknownEnv: (name) => `unknown env ${q(name)}`,
  envsAre: (names) => names.length ? `the envs are ${names.map(q).join(", ")}` : "this runbook has no env blocks: its one env is `default`",
  unknownRunMember: (member) => `\`run\` has no member ${q(member)}`,
  runMembersAre: (names) => `the run values are ${names.map(q).join(", ")}`,
  runValueNotYet: (name) => `${q(name)} is known only while the runbook runs`,
  unknownEnvMember: (env, name) => `env ${q(env)} has no ${q(name)}: no param or var ${q(name)} is declared at top level`,
  otherEnvKind: (env, name, kind) => `${q(`${env}.${name}`)} is a ${kind}: only another env's params and vars can be read`,
  noMembers: (name, kind, member) => `${q(name)} is a ${kind} and has no member ${q(member)}`,
  tooManyParts: (path2) => `${q(path2)} has too many parts: write \`name\` or \`env.name\``,
  noValue: (name) => `${q(name)} has no value: its value refers back to itself`,
  wrongKind: (name, actual, expected) => `${q(name)} is a ${actual}, not a ${expected}`,
  notAValue: (name, kind, where) => `${q(name)} is a ${kind} and can't be used in ${where}`,
  valueKinds: "a value can only use params, vars, `env`, `run.*` and other envs' params and vars",
  secretExposed: (name, where) => `secret ${q(name)} can't be used in ${where}: it would be shown`,
  secretPlaces: "secrets can be interpolated only into commands (`run`, `undo`, `succeeds`, `output`), SQL (`sql`, `query`) and `edit` replacements",
  passwordHint: "give a MySQL database's password with `password SECRET`",
  // env blocks
  undeclaredOverride: (env, name) => `env ${q(env)} overrides ${q(name)}, which is not declared at top level`,
  declareFirst: (kind, name) => `declare it at top level first: \`${kind} ${name} = \u2026\``,
  overrideKind: (env, name, kind, topKind) => `env ${q(env)} overrides ${q(name)} as a ${kind}, but it is declared as a ${topKind}`,
  // duplicates
  duplicateDecl: (name) => `${q(name)} is already declared`,
  duplicateOverride: (env, name) => `env ${q(env)} already overrides ${q(name)}`,
  duplicateEnv: (name) => `env ${q(name)} is already declared`,
  duplicateStepId: (id) => `step id ${q(id)} is already used`,
  firstAt: (what, where) => `first ${what} at ${where}`,
  stepIdHint: "give one of the steps its own id with `as NAME`",
  duplicateOption: (keyword) => `this step already has \`${keyword}\``,
  misplacedInUndo: (keyword) => `\`${keyword}\` can't be used inside \`undo { \u2026 }\``,
  // values
  interpolationCycle: (chain) => `interpolation cycle: ${chain.map(q).join(" \u2192 ")}`,
  inEnvs: (envs) => `in env ${envs.map(q).join(", ")}`,
  badSemver: (text2) => `${q(text2)} is not a semantic version`,
  semverHint: "write MAJOR.MINOR.PATCH, e.g. `1.0.0` (a pre-release `-rc.1` and build `+abc` may follow)",
  zeroDuration: (keyword) => `\`${keyword}\` must be longer than 0`,
  badCount: (keyword, value) => `\`${keyword}\` needs a whole number of at least 1, not ${value}`,
  badRegex: (error2) => `invalid regular expression: ${error2}`,
  badFormat: (name) => `unknown export format ${q(name)}: use \`csv\` or \`web2py\``,
  badHostTarget: (target) => `${q(target)} is not a host target: write \`user@address\` or \`user@address:port\``,
  emptyGroup: "a host group needs at least one member",
  notAString: (what) => `${what} must be a string`,
  badMysqlUrl: (url) => `${q(url)} is not a MySQL URL: write \`mysql://user@host[:port]/database\``,
  // safety
  syncIntoProtected: (db, envs) => `\`sync\` would write into ${q(db)} in protected env ${envs.map(q).join(", ")}`,
  syncGuardHint: (envs) => `syncing into a protected env is refused: guard the step with ${envs.map((e) => `\`when env != "${e}"\``).join(" and ")}`,
  syncFromSelf: (db, envs) => `in env ${envs.map(q).join(", ")} this copies ${q(db)} onto itself`,
  parallelNoGroup: (host) => `\`parallel\` has no effect: ${q(host)} is a single host in every env, not a group`,
  parallelLocal: "`parallel` has no effect: the step runs on this machine, not on a host group",
  missingUndo: (id, envs) => `step ${q(id)} makes changes but has no \`undo\`, and it can run in protected env ${envs.map(q).join(", ")}`,
  missingUndoHint: 'add `undo "command"` or `undo { \u2026 }` so that a rollback can revert it',
  destructiveSql: (what) => `destructive SQL (${what}) without a \`confirm\` before it in this step`,
  destructiveSqlHint: 'add `confirm "\u2026"` before the `sql` statement',
  queryNotReadOnly: (keyword) => `a \`query\` probe must be read-only, but this one runs \`${keyword}\``,
  // env selection and --set (scope.ts)
  unknownEnvRequested: (name, names) => names.length ? `unknown env ${q(name)}: the envs are ${names.join(", ")}` : `unknown env ${q(name)}: this runbook has no env blocks, its one env is \`default\``,
  noEnvChosen: (names) => `this runbook has several envs (${names.join(", ")}): choose one with --env`,
  setUnknown: (name) => `--set ${name}: no param ${q(name)} is declared`,
  setNotParam: (name, kind) => `--set ${name}: ${q(name)} is a ${kind}, and only params can be set`
};

// language/scope.ts
var RUN_BUILTINS = ["run.id", "run.user", "run.started"];
var IMPLICIT_ENV = "default";
function envNames(rb) {
  const seen = /* @__PURE__ */ new Set();
  for (const e of rb.envs) seen.add(e.name.name);
  return [...seen];
}
function runnableEnvs(rb) {
  const names = envNames(rb);
  return names.length ? names : [IMPLICIT_ENV];
}
var scopeRunbook = /* @__PURE__ */ new WeakMap();
function envScope(rb, env) {
  const decls = /* @__PURE__ */ new Map();
  for (const d of rb.decls) if (!decls.has(d.name.name)) decls.set(d.name.name, d);
  const block = rb.envs.find((e) => e.name.name === env);
  if (block) {
    const overridden = /* @__PURE__ */ new Set();
    for (const d of block.overrides) {
      const name = d.name.name;
      if (!decls.has(name) || overridden.has(name)) continue;
      overridden.add(name);
      decls.set(name, d);
    }
  }
  const scope = { env, protected: block?.protected !== void 0, ...block ? { block } : {}, decls };
  scopeRunbook.set(scope, rb);
  return scope;
}
function interpSource(part) {
  return `\${${part.raw ? "raw " : ""}${part.path.join(".")}}`;
}
function literalWith(l, str) {
  switch (l.kind) {
    case "string":
      return str(l);
    case "number":
      return String(l.value);
    case "duration":
      return l.text;
    case "bool":
      return l.value ? "true" : "false";
    case "list":
      return l.items.map((i) => literalWith(i, str)).join(" ");
  }
}
var ValueResolver = class {
  constructor(rb, mainEnv, sets, builtins) {
    this.rb = rb;
    this.mainEnv = mainEnv;
    this.sets = sets;
    this.builtins = builtins;
    this.envSet = new Set(envNames(rb));
  }
  rb;
  mainEnv;
  sets;
  builtins;
  scopes = /* @__PURE__ */ new Map();
  cache = /* @__PURE__ */ new Map();
  active = /* @__PURE__ */ new Set();
  envSet;
  scope(env) {
    let s = this.scopes.get(env);
    if (!s) {
      s = envScope(this.rb, env);
      this.scopes.set(env, s);
    }
    return s;
  }
  /** The value of param/var `name` in `env`; undefined when it is not one or is being computed (a cycle). */
  value(env, name) {
    const decl = this.scope(env).decls.get(name);
    if (!decl || decl.kind !== "param" && decl.kind !== "var") return void 0;
    if (env === this.mainEnv && decl.kind === "param" && Object.prototype.hasOwnProperty.call(this.sets, name)) {
      return this.sets[name];
    }
    const key = `${env}\0${name}`;
    const cached = this.cache.get(key);
    if (cached !== void 0) return cached;
    if (this.active.has(key)) return void 0;
    this.active.add(key);
    const v = literalWith(decl.value, (s) => this.text(env, s));
    this.active.delete(key);
    this.cache.set(key, v);
    return v;
  }
  text(env, s) {
    let out = "";
    for (const p of s.parts) {
      if (p.kind === "text") out += p.value;
      else {
        const r = this.interp(env, p);
        out += r ?? interpSource(p);
      }
    }
    return out;
  }
  /** The text of `${…}` in env, or undefined when it has none. */
  interp(env, p) {
    const path2 = p.path;
    if (path2.length === 1) {
      if (path2[0] === "env") return env;
      return this.value(env, path2[0]);
    }
    if (path2.length === 2) {
      const key = `${path2[0]}.${path2[1]}`;
      if (path2[0] === "run") return Object.prototype.hasOwnProperty.call(this.builtins, key) ? this.builtins[key] : void 0;
      if (this.envSet.has(path2[0])) return this.value(path2[0], path2[1]);
    }
    return void 0;
  }
};
function resolveValues(rb, env, options) {
  const r = new ValueResolver(rb, env, options?.sets ?? {}, options?.builtins ?? {});
  const out = /* @__PURE__ */ new Map();
  for (const [name, decl] of r.scope(env).decls) {
    if (decl.kind !== "param" && decl.kind !== "var") continue;
    out.set(name, r.value(env, name) ?? "");
  }
  return out;
}
var otherEnvValues = /* @__PURE__ */ new WeakMap();
function valuesOf(rb, env, builtins) {
  let byKey = otherEnvValues.get(rb);
  if (!byKey) {
    byKey = /* @__PURE__ */ new Map();
    otherEnvValues.set(rb, byKey);
  }
  const key = `${env}\0${JSON.stringify(builtins ?? {})}`;
  let v = byKey.get(key);
  if (!v) {
    v = resolveValues(rb, env, { builtins: builtins ?? {} });
    byKey.set(key, v);
  }
  return v;
}
function resolveInterp(part, scope, values, rb, builtins) {
  const path2 = part.path;
  const shown = path2.join(".");
  if (path2.length === 1) {
    const name = path2[0];
    if (name === "env") return { kind: "text", value: scope.env };
    const decl = scope.decls.get(name);
    if (!decl) {
      if (builtins && Object.prototype.hasOwnProperty.call(builtins, name)) return { kind: "text", value: builtins[name] };
      return { kind: "unknown", reason: messages.unknownName(name) };
    }
    switch (decl.kind) {
      case "param":
      case "var": {
        const v = values.get(name);
        return v === void 0 ? { kind: "unknown", reason: messages.noValue(name) } : { kind: "text", value: v };
      }
      case "secret":
        return { kind: "secret", name };
      case "host":
        return { kind: "host", name };
      case "database":
        return { kind: "database", name };
    }
  }
  if (path2.length === 2) {
    const [a, b] = path2;
    if (a === "run") {
      if (builtins && Object.prototype.hasOwnProperty.call(builtins, shown)) return { kind: "text", value: builtins[shown] };
      if (RUN_BUILTINS.includes(shown)) return { kind: "unknown", reason: messages.runValueNotYet(shown) };
      return { kind: "unknown", reason: messages.unknownRunMember(b) };
    }
    if (a === "env") return { kind: "unknown", reason: messages.noMembers("env", "builtin", b) };
    if (rb.envs.some((e) => e.name.name === a)) {
      if (a === scope.env) {
        const decl2 = scope.decls.get(b);
        if (decl2 && (decl2.kind === "param" || decl2.kind === "var")) {
          const v2 = values.get(b);
          if (v2 !== void 0) return { kind: "text", value: v2 };
        }
      }
      const other = envScope(rb, a);
      const decl = other.decls.get(b);
      if (!decl) return { kind: "unknown", reason: messages.unknownEnvMember(a, b) };
      if (decl.kind !== "param" && decl.kind !== "var") return { kind: "unknown", reason: messages.otherEnvKind(a, b, decl.kind) };
      const v = valuesOf(rb, a, builtins).get(b);
      return v === void 0 ? { kind: "unknown", reason: messages.noValue(shown) } : { kind: "text", value: v };
    }
    if (scope.decls.has(a)) return { kind: "unknown", reason: messages.noMembers(a, scope.decls.get(a).kind, b) };
    return { kind: "unknown", reason: messages.unknownEnv(a) };
  }
  return { kind: "unknown", reason: messages.tooManyParts(shown) };
}
var NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
var VERSION = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
function isNumeric(s) {
  return NUMBER.test(s.trim());
}
function compareVersions(a, b) {
  const ma = VERSION.exec(a.trim());
  const mb = VERSION.exec(b.trim());
  if (!ma || !mb) return void 0;
  const na = ma[1].split(".").map(Number);
  const nb = mb[1].split(".").map(Number);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? 0) - (nb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  const pa = ma[2];
  const pb = mb[2];
  if (pa === void 0 && pb === void 0) return 0;
  if (pa === void 0) return 1;
  if (pb === void 0) return -1;
  const ia = pa.split(".");
  const ib = pb.split(".");
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const x = ia[i];
    const y = ib[i];
    if (x === void 0) return -1;
    if (y === void 0) return 1;
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
function compareOrdered(a, b) {
  if (isNumeric(a) && isNumeric(b)) return Math.sign(Number(a) - Number(b));
  const v = compareVersions(a, b);
  if (v !== void 0) return v;
  return a < b ? -1 : a > b ? 1 : 0;
}
function valuesEqual(a, b) {
  if (isNumeric(a) && isNumeric(b)) return Number(a) === Number(b);
  return a === b;
}
function truthy(text2) {
  return text2 !== "" && text2 !== "false" && text2 !== "0";
}
function asList(o) {
  if (o.list) return o.list;
  return o.text.split(/\s+/).filter((s) => s !== "");
}
function evalStatic(cond, scope, values, context) {
  return new StaticEvaluator(scope, values, context?.rb ?? scopeRunbook.get(scope), context?.builtins).cond(cond);
}
var StaticEvaluator = class {
  constructor(scope, values, rb, builtins) {
    this.scope = scope;
    this.values = values;
    this.rb = rb;
    this.builtins = builtins;
  }
  scope;
  values;
  rb;
  builtins;
  cond(c) {
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
        return o === void 0 ? "probe" : truthy(o.text);
      }
      case "compare": {
        const l = this.operand(c.left);
        if (!l) return "probe";
        const r = this.operand(c.right);
        if (!r) return "probe";
        return compare(c.op, l, r);
      }
    }
  }
  resolve(p) {
    if (this.rb) return resolveInterp(p, this.scope, this.values, this.rb, this.builtins);
    if (p.path.length === 1) {
      if (p.path[0] === "env") return { kind: "text", value: this.scope.env };
      const v = this.values.get(p.path[0]);
      if (v !== void 0) return { kind: "text", value: v };
    }
    return { kind: "unknown", reason: "" };
  }
  str(s) {
    let out = "";
    for (const p of s.parts) {
      if (p.kind === "text") out += p.value;
      else {
        const r = this.resolve(p);
        if (r.kind !== "text") return void 0;
        out += r.value;
      }
    }
    return out;
  }
  literal(l) {
    switch (l.kind) {
      case "string": {
        const t = this.str(l);
        return t === void 0 ? void 0 : { text: t };
      }
      case "list": {
        const items = [];
        for (const i of l.items) {
          const o = this.literal(i);
          if (!o) return void 0;
          items.push(o.text);
        }
        return { text: items.join(" "), list: items };
      }
      case "number":
        return { text: String(l.value) };
      case "duration":
        return { text: l.text };
      case "bool":
        return { text: l.value ? "true" : "false" };
    }
  }
  operand(v) {
    switch (v.kind) {
      case "env":
        return { text: this.scope.env };
      case "name": {
        if (v.path.length === 1) {
          const name = v.path[0].name;
          const decl = this.scope.decls.get(name);
          const t = this.values.get(name);
          if (!decl || decl.kind !== "param" && decl.kind !== "var" || t === void 0) return void 0;
          return decl.value.kind === "list" ? { text: t, list: asList({ text: t }) } : { text: t };
        }
        if (!this.rb) return void 0;
        const part = { kind: "interp", path: v.path.map((i) => i.name), raw: false, span: v.span };
        const r = this.resolve(part);
        return r.kind === "text" ? { text: r.value } : void 0;
      }
      case "succeeds":
      case "output":
      case "exists":
      case "query":
        return void 0;
      default:
        return this.literal(v);
    }
  }
};
function compare(op, l, r) {
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
  }
}

// language/check.ts
var COMMAND = { secrets: true, what: "a command" };
var SQL = { secrets: true, what: "SQL" };
var EDIT = { secrets: true, what: "an edit" };
var textPlaces = /* @__PURE__ */ new Map();
var text = (what) => {
  let p = textPlaces.get(what);
  if (!p) {
    p = { secrets: false, what };
    textPlaces.set(what, p);
  }
  return p;
};
var PATH = text("a path");
var CONDITION = text("a condition");
var valuePlace = (kind) => ({ secrets: false, value: true, what: `a ${kind}'s value` });
var SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
var HOST_TARGET = /^(?:[^\s@:/]+@)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
var MYSQL_URL = /^mysql:\/\/[^\s/]+(?:\/[^\s/?]*)?(?:\?\S*)?$/;
var EXPORT_FORMATS = /* @__PURE__ */ new Set(["csv", "web2py"]);
var MUTATING = /* @__PURE__ */ new Set(["run", "upload", "sql", "import", "sync"]);
var STEP_OPTIONS = {
  timeout: "timeout",
  retry: "retry",
  parallel: "parallel",
  "allow-failure": "allow failure",
  undo: "undo"
};
function check(rb) {
  return sortDiagnostics(new Checker(rb).run());
}
function editDistance(a, b, max = 2) {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = a.length;
  const m = b.length;
  let prev2 = new Array(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m];
}
function closest(name, candidates) {
  const max = name.length <= 3 ? 1 : 2;
  const lower = name.toLowerCase();
  let best;
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
function sqlStatements(sql) {
  const statements = [];
  let words = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === "`") {
      i++;
      while (i < n) {
        if (sql[i] === "\\" && ch !== "`") i += 2;
        else if (sql[i] === ch) {
          if (sql[i + 1] === ch) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (ch === "-" && sql[i + 1] === "-" || ch === "#") {
      while (i < n && sql[i] !== "\n") i++;
    } else if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (ch === ";") {
      if (words.length) statements.push(words);
      words = [];
      i++;
    } else if (isWordStart(sql.charCodeAt(i))) {
      const start = i;
      while (i < n && isWordPart(sql.charCodeAt(i))) i++;
      words.push({ word: sql.slice(start, i).toUpperCase(), index: start });
    } else i++;
  }
  if (words.length) statements.push(words);
  return statements;
}
var isWordStart = (c) => c >= 65 && c <= 90 || c >= 97 && c <= 122 || c === 95;
var isWordPart = (c) => isWordStart(c) || c >= 48 && c <= 57 || c === 36;
function destructiveSql(sql) {
  const found = [];
  for (const words of sqlStatements(sql)) {
    const first = words[0];
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
var WRITING_SQL = /* @__PURE__ */ new Set([
  "INSERT",
  "UPDATE",
  "DELETE",
  "DROP",
  "TRUNCATE",
  "ALTER",
  "CREATE",
  "REPLACE",
  "GRANT",
  "REVOKE",
  "RENAME",
  "MERGE",
  "ATTACH",
  "DETACH",
  "VACUUM",
  "LOCK",
  "CALL"
]);
var WRITING_ANYWHERE = /* @__PURE__ */ new Set(["INSERT", "DELETE", "DROP", "TRUNCATE"]);
var DESTRUCTIVE_HINT = /drop|truncate|delete|update/i;
var WRITING_HINT = new RegExp([...WRITING_SQL].join("|"), "i");
var Checker = class {
  constructor(rb) {
    this.rb = rb;
    for (const s of rb.sources) this.sourceText.set(s.file, s.text);
    this.runnable = runnableEnvs(rb);
    this.protectedEnvs = [];
  }
  rb;
  diags = [];
  /** Top-level declarations (the first of duplicates). */
  top = /* @__PURE__ */ new Map();
  /** Env blocks (the first of duplicates). */
  envs = /* @__PURE__ */ new Map();
  /** Envs a run can use: the declared ones, else `default`. */
  runnable;
  protectedEnvs;
  envContexts = /* @__PURE__ */ new Map();
  scopes = /* @__PURE__ */ new Map();
  /** The `sync` statements of the step being checked (its body and undo). */
  syncs = [];
  sourceText = /* @__PURE__ */ new Map();
  suggestions = /* @__PURE__ */ new Map();
  run() {
    const rb = this.rb;
    this.declarations();
    this.header();
    this.envBlocks();
    if (rb.defaultEnv) this.envName(rb.defaultEnv.name, rb.defaultEnv.span);
    for (const d of rb.decls) this.declValue(d);
    for (const e of rb.envs) for (const d of e.overrides) this.declValue(d);
    for (const e of rb.envs) for (const c of e.confirms) this.string(c.question, text("a confirmation"));
    this.cycles();
    for (const b of this.envs.values()) if (b.protected) this.protectedEnvs.push(b.name.name);
    for (const item of rb.items) if (item.kind === "section") this.string(item.title, text("a section title"));
    const ids = /* @__PURE__ */ new Map();
    const finallySteps = new Set(rb.finally?.steps ?? []);
    for (const step of allSteps(rb)) {
      const first = ids.get(step.id);
      if (first) {
        this.error("duplicate-step-id", step.idSpan, messages.duplicateStepId(step.id), [
          messages.firstAt("used", this.where(first.idSpan, step.idSpan)),
          messages.stepIdHint
        ]);
      } else ids.set(step.id, step);
      this.step(step, finallySteps.has(step));
    }
    return this.diags;
  }
  // ---------------------------------------------------------------- reporting
  report(severity, code, span, message, notes) {
    const n = (notes ?? []).filter((x) => x !== void 0);
    this.diags.push({ severity, code, message, span, ...n.length ? { notes: n } : {} });
  }
  error(code, span, message, notes) {
    this.report("error", code, span, message, notes);
  }
  warn(code, span, message, notes) {
    this.report("warning", code, span, message, notes);
  }
  /** "line 3", or "lib.rb:3" when in another file than `from`. */
  where(span, from) {
    return span.file === from.file ? `line ${span.line}` : `${span.file}:${span.line}`;
  }
  suggest(name, pool, candidates) {
    const key = `${pool}\0${name}`;
    if (!this.suggestions.has(key)) this.suggestions.set(key, closest(name, candidates()));
    const s = this.suggestions.get(key);
    return s === void 0 ? void 0 : messages.didYouMean(s);
  }
  namesOfKind(...kinds) {
    const out = [];
    for (const [name, d] of this.top) if (kinds.includes(d.kind)) out.push(name);
    return out;
  }
  // ---------------------------------------------------------------- header and declarations
  header() {
    const h = this.rb.header;
    this.string(h.name, text("the runbook's name"));
    const v = literalText(h.version);
    if (v === void 0 || !SEMVER.test(v)) {
      this.error("bad-semver", h.version.span, messages.badSemver(v ?? this.source(h.version.span)), [messages.semverHint]);
    }
    if (h.description) this.string(h.description, text("the description"));
    if (h.owner) this.string(h.owner, text("the owner"));
  }
  source(span) {
    const t = this.sourceText.get(span.file);
    return t ? t.slice(span.offset, span.offset + span.length) : "";
  }
  declarations() {
    for (const d of this.rb.decls) {
      const name = d.name.name;
      const first = this.top.get(name);
      if (first) {
        this.error("duplicate-declaration", d.name.span, messages.duplicateDecl(name), [
          messages.firstAt("declared", this.where(first.name.span, d.name.span))
        ]);
      } else this.top.set(name, d);
    }
  }
  envBlocks() {
    for (const e of this.rb.envs) {
      const name = e.name.name;
      const first = this.envs.get(name);
      if (first) {
        this.error("duplicate-env", e.name.span, messages.duplicateEnv(name), [
          messages.firstAt("declared", this.where(first.name.span, e.name.span))
        ]);
      } else this.envs.set(name, e);
      const seen = /* @__PURE__ */ new Map();
      for (const d of e.overrides) {
        const n = d.name.name;
        const top = this.top.get(n);
        const prev = seen.get(n);
        if (prev) {
          this.error("duplicate-declaration", d.name.span, messages.duplicateOverride(name, n), [
            messages.firstAt("overridden", this.where(prev.name.span, d.name.span))
          ]);
          continue;
        }
        seen.set(n, d);
        if (!top) {
          this.error("undeclared-override", d.name.span, messages.undeclaredOverride(name, n), [
            this.suggest(n, "decl", () => this.top.keys()),
            messages.declareFirst(d.kind, n)
          ]);
        } else if (top.kind !== d.kind) {
          this.error("override-kind", d.name.span, messages.overrideKind(name, n, d.kind, top.kind), [
            messages.firstAt("declared", this.where(top.name.span, d.name.span))
          ]);
        }
      }
    }
  }
  /** A name that must be an env, as an identifier or a string literal. */
  envName(name, span) {
    if (this.runnable.includes(name)) return true;
    const names = [...this.envs.keys()];
    this.error("unknown-env", span, messages.unknownEnv(name), [
      this.suggest(name, "env", () => this.runnable),
      messages.envsAre(names)
    ]);
    return false;
  }
  declValue(d) {
    const place = valuePlace(d.kind);
    switch (d.kind) {
      case "param":
      case "var":
        this.literal(d.value, place);
        return;
      case "secret":
        this.string(d.ref, place);
        return;
      case "host": {
        if (d.value.kind === "string") this.hostTarget(d.value, place);
        else {
          if (d.value.items.length === 0) this.error("bad-value", d.value.span, messages.emptyGroup);
          for (const item of d.value.items) {
            if (item.kind === "string") this.hostTarget(item, place);
            else this.error("bad-value", item.span, messages.notAString("a host group's member"));
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
          if (url !== void 0 && !MYSQL_URL.test(url)) this.error("bad-value", db.url.span, messages.badMysqlUrl(url));
          if (db.password) this.secretRef(db.password);
          if (db.via) this.hostRef(db.via);
        }
        return;
      }
    }
  }
  hostTarget(s, place) {
    this.string(s, place);
    const t = literalText(s);
    if (t !== void 0 && !HOST_TARGET.test(t)) this.error("bad-value", s.span, messages.badHostTarget(t));
  }
  // ---------------------------------------------------------------- references
  /** The kind of a top-level name, after reporting unknown/wrong-kind for `expected`. */
  ref(id, expected, unknownCode, unknown) {
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
  hostRef(id) {
    return this.ref(id, "host", "unknown-host", messages.unknownHost);
  }
  dbRef(id) {
    return this.ref(id, "database", "unknown-database", messages.unknownDatabase);
  }
  secretRef(id) {
    return this.ref(id, "secret", "unknown-name", messages.unknownSecret);
  }
  /** Checks a name used as a value (`${…}` or a condition's name); `spans[i]` is where part i is. */
  name(path2, idents, whole, place) {
    const at = (i) => idents?.[i]?.span ?? whole;
    if (path2.length === 1) {
      const n = path2[0];
      if (n === "env") return;
      const d = this.top.get(n);
      if (!d) {
        this.error("unknown-name", at(0), messages.unknownName(n), [
          this.suggest(n, "name", () => [...this.top.keys(), "env"])
        ]);
        return;
      }
      this.kindInPlace(n, d.kind, at(0), place);
      return;
    }
    const shown = path2.join(".");
    if (path2.length === 2) {
      const [a, b] = path2;
      if (a === "run") {
        if (!RUN_BUILTINS.includes(shown)) {
          this.error("unknown-name", at(1), messages.unknownRunMember(b), [
            this.suggest(shown, "run", () => RUN_BUILTINS),
            messages.runMembersAre(RUN_BUILTINS)
          ]);
        }
        return;
      }
      if (a === "env") {
        this.error("unknown-name", at(1), messages.noMembers("env", "builtin", b));
        return;
      }
      if (this.envs.has(a)) {
        const d2 = this.top.get(b);
        if (!d2) {
          this.error("unknown-name", at(1), messages.unknownEnvMember(a, b), [
            this.suggest(b, "value", () => this.namesOfKind("param", "var"))
          ]);
        } else if (d2.kind !== "param" && d2.kind !== "var") {
          this.error("wrong-kind", at(1), messages.otherEnvKind(a, b, d2.kind));
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
        messages.envsAre([...this.envs.keys()])
      ]);
      return;
    }
    this.error("unknown-name", whole, messages.tooManyParts(shown));
  }
  kindInPlace(name, kind, span, place) {
    if (kind === "param" || kind === "var") return;
    if (kind === "secret") {
      if (place.secrets) return;
      this.error("secret-exposed", span, messages.secretExposed(name, place.what), [
        place.value ? messages.passwordHint : messages.secretPlaces
      ]);
      return;
    }
    if (place.value || place === CONDITION) this.error("wrong-kind", span, messages.notAValue(name, kind, place.what), [messages.valueKinds]);
  }
  string(s, place) {
    for (const p of s.parts) if (p.kind === "interp") this.name(p.path, void 0, p.span, place);
  }
  literal(l, place) {
    if (l.kind === "string") this.string(l, place);
    else if (l.kind === "list") for (const i of l.items) this.literal(i, place);
  }
  // ---------------------------------------------------------------- interpolation cycles
  cycles() {
    const envSet = new Set(this.envs.keys());
    const declId = /* @__PURE__ */ new Map();
    const scopeOf = (env) => this.scopeOf(env);
    const nodes = /* @__PURE__ */ new Map();
    const edges = /* @__PURE__ */ new Map();
    const key = (env, name) => `${env}\0${name}`;
    const node = (env, name) => {
      const k = key(env, name);
      if (nodes.has(k)) return k;
      const d = scopeOf(env).decls.get(name);
      if (!d || d.kind !== "param" && d.kind !== "var") return void 0;
      if (!declId.has(d)) declId.set(d, declId.size);
      nodes.set(k, { env, name, decl: d });
      return k;
    };
    const edgesOf = (k) => {
      let out = edges.get(k);
      if (out) return out;
      out = [];
      const n = nodes.get(k);
      const visit = (l) => {
        if (l.kind === "list") l.items.forEach(visit);
        if (l.kind !== "string") return;
        for (const p of l.parts) {
          if (p.kind !== "interp") continue;
          let to;
          if (p.path.length === 1) to = node(n.env, p.path[0]);
          else if (p.path.length === 2 && envSet.has(p.path[0])) to = node(p.path[0], p.path[1]);
          if (to) out.push({ to, part: p });
        }
      };
      if (n.decl.kind === "param" || n.decl.kind === "var") visit(n.decl.value);
      edges.set(k, out);
      return out;
    };
    const found = /* @__PURE__ */ new Map();
    const state = /* @__PURE__ */ new Map();
    for (const env of this.runnable) {
      for (const [name, d] of scopeOf(env).decls) {
        if (d.kind !== "param" && d.kind !== "var") continue;
        const start = node(env, name);
        if (state.has(start)) continue;
        const stack = [{ k: start, i: 0 }];
        state.set(start, 1);
        while (stack.length) {
          const top = stack[stack.length - 1];
          const es = edgesOf(top.k);
          if (top.i >= es.length) {
            state.set(top.k, 2);
            stack.pop();
            continue;
          }
          const e = es[top.i++];
          const st = state.get(e.to);
          if (st === void 0) {
            state.set(e.to, 1);
            stack.push({ k: e.to, i: 0, via: e.part });
          } else if (st === 1) {
            const from = stack.findIndex((f) => f.k === e.to);
            const frames = stack.slice(from);
            const chain = frames.map((f) => nodes.get(f.k));
            const parts = [...frames.slice(1).map((f) => f.via), e.part];
            const ck = chain.map((c) => declId.get(c.decl)).sort((x, y) => x - y).join(",");
            const prev = found.get(ck);
            if (prev) for (const c of chain) prev.envs.add(c.env);
            else found.set(ck, { chain, parts, envs: new Set(chain.map((c) => c.env)) });
          }
        }
      }
    }
    for (const { chain, parts, envs } of found.values()) {
      let s = 0;
      for (let i = 1; i < chain.length; i++) {
        const a = chain[i].decl.name.span;
        const b = chain[s].decl.name.span;
        if (a.file < b.file || a.file === b.file && a.offset < b.offset) s = i;
      }
      const ordered = [...chain.slice(s), ...chain.slice(0, s)];
      const crossEnv = new Set(chain.map((c) => c.env)).size > 1;
      const label = (c) => crossEnv ? `${c.env}.${c.name}` : c.name;
      const names = [...ordered.map(label), label(ordered[0])];
      const all = this.runnable.every((e) => envs.has(e));
      this.error(
        "interpolation-cycle",
        parts[s].span,
        messages.interpolationCycle(names),
        all || crossEnv ? [] : [messages.inEnvs(this.runnable.filter((e) => envs.has(e)))]
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
  env(env) {
    let c = this.envContexts.get(env);
    if (!c) {
      const scope = this.scopeOf(env);
      const all = resolveValues(this.rb, env);
      const values = /* @__PURE__ */ new Map();
      const memo = /* @__PURE__ */ new Map();
      for (const [name, v] of all) if (this.fixed(env, name, env, memo, /* @__PURE__ */ new Set())) values.set(name, v);
      c = { scope, values };
      this.envContexts.set(env, c);
    }
    return c;
  }
  /** Whether the value of `name` in `env` is fixed by the source when running in `mainEnv`. */
  fixed(env, name, mainEnv, memo, visiting) {
    const key = `${env}\0${name}`;
    const known = memo.get(key);
    if (known !== void 0) return known;
    if (visiting.has(key)) return false;
    const decl = this.scopeOf(env).decls.get(name);
    if (!decl || decl.kind !== "param" && decl.kind !== "var" || decl.kind === "param" && env === mainEnv) {
      memo.set(key, false);
      return false;
    }
    visiting.add(key);
    const literal = (l) => {
      if (l.kind === "list") return l.items.every(literal);
      if (l.kind !== "string") return true;
      for (const p of l.parts) {
        if (p.kind !== "interp") continue;
        const path2 = p.path;
        if (path2.length === 1 && path2[0] === "env") continue;
        if (path2.length === 1 && this.fixed(env, path2[0], mainEnv, memo, visiting)) continue;
        if (path2.length === 2 && this.envs.has(path2[0]) && this.fixed(path2[0], path2[1], mainEnv, memo, visiting)) continue;
        return false;
      }
      return true;
    };
    const result = literal(decl.value);
    visiting.delete(key);
    memo.set(key, result);
    return result;
  }
  scopeOf(env) {
    let s = this.scopes.get(env);
    if (!s) {
      s = envScope(this.rb, env);
      this.scopes.set(env, s);
    }
    return s;
  }
  /** Envs in which a step's `when`/`unless` does not rule it out statically. */
  canRunIn(step) {
    if (!step.when && !step.unless) return this.runnable;
    return this.runnable.filter((env) => {
      const { scope, values } = this.env(env);
      const w = step.when ? evalStatic(step.when, scope, values) : true;
      const u = step.unless ? evalStatic(step.unless, scope, values) : false;
      return w !== false && u !== true;
    });
  }
  step(step, inFinally) {
    this.string(step.title, text("a step title"));
    if (step.on) this.hostRef(step.on);
    if (step.when) this.cond(step.when);
    if (step.unless) this.cond(step.unless);
    let options;
    let confirmed = false;
    const syncs = this.syncs;
    syncs.length = 0;
    let mutating = false;
    let hasUndo = false;
    for (const s of step.body) {
      const opt = STEP_OPTIONS[s.kind];
      if (opt) {
        options ??= /* @__PURE__ */ new Set();
        if (options.has(opt)) this.error("duplicate-option", s.span, messages.duplicateOption(opt));
        else options.add(opt);
      }
      if (s.kind === "confirm") confirmed = true;
      if (s.kind === "undo") hasUndo = true;
      if (MUTATING.has(s.kind)) mutating = true;
      if (s.kind === "sql" && !confirmed) this.destructive(s);
      if (s.kind === "parallel") this.parallel(step, s.span);
      this.stmt(s, false);
    }
    const needsEnvs = syncs.length > 0 || mutating && !hasUndo && !inFinally && this.protectedEnvs.length > 0;
    if (!needsEnvs) return;
    const canRun = this.canRunIn(step);
    for (const stmt of syncs) {
      const prot = canRun.filter((e) => this.protectedEnvs.includes(e));
      if (prot.length) this.error("sync-into-protected", stmt.span, messages.syncIntoProtected(stmt.db.name, prot), [messages.syncGuardHint(prot)]);
      if (stmt.db.name === stmt.fromDb.name && canRun.includes(stmt.fromEnv.name)) {
        this.error("sync-from-self", stmt.fromEnv.span, messages.syncFromSelf(stmt.db.name, [stmt.fromEnv.name]));
      }
    }
    if (mutating && !hasUndo && !inFinally) {
      const prot = canRun.filter((e) => this.protectedEnvs.includes(e));
      if (prot.length) this.warn("missing-undo", step.title.span, messages.missingUndo(step.id, prot), [messages.missingUndoHint]);
    }
  }
  parallel(step, span) {
    if (!step.on) {
      this.warn("parallel-without-group", span, messages.parallelLocal);
      return;
    }
    const name = step.on.name;
    const top = this.top.get(name);
    if (!top || top.kind !== "host") return;
    if (top.value.kind === "list") return;
    for (const b of this.envs.values()) {
      for (const d of b.overrides) if (d.kind === "host" && d.name.name === name && d.value.kind === "list") return;
    }
    this.warn("parallel-without-group", span, messages.parallelNoGroup(name));
  }
  stmt(s, inUndo) {
    if (inUndo && STEP_OPTIONS[s.kind]) this.error("misplaced-statement", s.span, messages.misplacedInUndo(STEP_OPTIONS[s.kind]));
    switch (s.kind) {
      case "require":
        this.cond(s.cond);
        if (s.else) this.string(s.else, text("a `require` message"));
        return;
      case "confirm":
        this.string(s.question, text("a confirmation"));
        return;
      case "manual":
        this.string(s.text, text("manual instructions"));
        return;
      case "note":
        this.string(s.text, text("a note"));
        return;
      case "run":
        this.string(s.command, COMMAND);
        return;
      case "edit":
        this.string(s.path, PATH);
        for (const r of s.replaces) {
          this.string(r.old, EDIT);
          this.string(r.new, EDIT);
        }
        return;
      case "upload":
      case "download":
        this.string(s.from, PATH);
        this.string(s.to, PATH);
        return;
      case "sql":
        this.dbRef(s.db);
        this.string(s.text, SQL);
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
        if (s.command) this.string(s.command, COMMAND);
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
    }
  }
  tables(list) {
    for (const t of list.items) {
      if (t.kind !== "string") this.error("bad-value", t.span, messages.notAString("a table name"));
      else this.string(t, text("a table name"));
    }
  }
  duration(d, keyword) {
    if (!(d.ms > 0)) this.error("bad-duration", d.span, messages.zeroDuration(keyword));
  }
  count(n, keyword) {
    if (!Number.isInteger(n.value) || n.value < 1) {
      this.error("bad-count", n.span, messages.badCount(keyword, this.source(n.span) || String(n.value)));
    }
  }
  // ---------------------------------------------------------------- conditions
  cond(c) {
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
          if (re !== void 0) {
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
    }
  }
  /** A literal compared with `env` must name an env. */
  envLiteral(v) {
    if (v.kind === "string") {
      const t = literalText(v);
      if (t !== void 0) this.envName(t, v.span);
    } else if (v.kind === "list") {
      for (const i of v.items) this.envLiteral(i);
    }
  }
  value(v) {
    switch (v.kind) {
      case "env":
      case "number":
      case "bool":
      case "duration":
        return;
      case "string":
      case "list":
        this.literal(v, CONDITION);
        return;
      case "name":
        this.name(
          v.path.map((i) => i.name),
          v.path,
          v.span,
          CONDITION
        );
        return;
      case "succeeds":
      case "output":
        this.string(v.command, COMMAND);
        if (v.on) this.hostRef(v.on);
        return;
      case "exists":
        this.string(v.path, PATH);
        if (v.on) this.hostRef(v.on);
        return;
      case "query":
        this.dbRef(v.db);
        this.string(v.sql, SQL);
        this.readOnly(v.sql);
        return;
    }
  }
  // ---------------------------------------------------------------- SQL
  /** The SQL text with each `${…}` as a placeholder, and where each text part starts in it. */
  sqlText(s) {
    let sql = "";
    const at = [];
    for (const p of s.parts) {
      if (p.kind === "text") {
        at.push({ start: sql.length, part: p });
        sql += p.value;
      } else sql += p.raw ? "x" : "?";
    }
    return { sql, at };
  }
  /** The span of `length` characters at `index` of an SQL text, or the whole string when it can't be mapped exactly. */
  sqlSpan(s, map, index, length) {
    let seg;
    for (const m of map) if (m.start <= index && index + length <= m.start + m.part.value.length) seg = m;
    if (!seg) return s.span;
    const part = seg.part;
    const k = index - seg.start;
    const src = this.sourceText.get(part.span.file)?.slice(part.span.offset, part.span.offset + part.span.length);
    if (src === void 0) return s.span;
    let offsetInSrc;
    if (src === part.value) offsetInSrc = k;
    else {
      const word = part.value.slice(k, k + length);
      const re = new RegExp(`(?<![A-Za-z0-9_$])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9_$])`, "gi");
      const inValue = [...part.value.matchAll(re)].map((m) => m.index);
      const inSrc = [...src.matchAll(re)].map((m) => m.index);
      const nth = inValue.indexOf(k);
      if (nth < 0 || inValue.length !== inSrc.length) return s.span;
      offsetInSrc = inSrc[nth];
    }
    if (offsetInSrc === void 0) return s.span;
    const before = src.slice(0, offsetInSrc);
    const nl = before.lastIndexOf("\n");
    const lines = nl < 0 ? 0 : before.split("\n").length - 1;
    return {
      file: part.span.file,
      offset: part.span.offset + offsetInSrc,
      line: part.span.line + lines,
      column: nl < 0 ? part.span.column + offsetInSrc : offsetInSrc - nl,
      length
    };
  }
  destructive(s) {
    if (!s.text.parts.some((p) => p.kind === "text" && DESTRUCTIVE_HINT.test(p.value))) return;
    const { sql, at } = this.sqlText(s.text);
    for (const d of destructiveSql(sql)) {
      this.warn("destructive-sql", this.sqlSpan(s.text, at, d.index, d.length), messages.destructiveSql(d.what), [messages.destructiveSqlHint]);
    }
  }
  readOnly(s) {
    if (!s.parts.some((p) => p.kind === "text" && WRITING_HINT.test(p.value))) return;
    const { sql, at } = this.sqlText(s);
    for (const words of sqlStatements(sql)) {
      const w = WRITING_SQL.has(words[0].word) ? words[0] : words.find((x, i) => WRITING_ANYWHERE.has(x.word) || x.word === "UPDATE" && words[i - 1]?.word !== "FOR");
      if (w) {
        this.error("query-not-read-only", this.sqlSpan(s, at, w.index, w.word.length), messages.queryNotReadOnly(w.word));
        return;
      }
    }
  }
};

// language/parser.ts
import {
  CstParser,
  EOF
} from "chevrotain";

// language/tokens.ts
var tokens_exports = {};
__export(tokens_exports, {
  AnyString: () => AnyString,
  BadNumber: () => BadNumber,
  Comma: () => Comma,
  Comment: () => Comment,
  Dot: () => Dot,
  Duration: () => Duration,
  EqEq: () => EqEq,
  Equals: () => Equals,
  Gt: () => Gt,
  GtEq: () => GtEq,
  Identifier: () => Identifier,
  KEYWORDS: () => KEYWORDS,
  Kw: () => Kw,
  LBrace: () => LBrace,
  LBracket: () => LBracket,
  LParen: () => LParen,
  Lt: () => Lt,
  LtEq: () => LtEq,
  NotEq: () => NotEq,
  NumberLiteral: () => NumberLiteral,
  RBrace: () => RBrace,
  RBracket: () => RBracket,
  RParen: () => RParen,
  RunbookLexer: () => RunbookLexer,
  StringLiteral: () => StringLiteral,
  TripleString: () => TripleString,
  UnterminatedString: () => UnterminatedString,
  UnterminatedTripleString: () => UnterminatedTripleString,
  WhiteSpace: () => WhiteSpace,
  allTokens: () => allTokens,
  isKeyword: () => isKeyword
});
import { createToken, Lexer } from "chevrotain";
var Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
var WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: "ws", line_breaks: true });
var Comment = createToken({ name: "Comment", pattern: /#[^\n\r]*/, group: "comments" });
var AnyString = createToken({ name: "AnyString", pattern: Lexer.NA, label: "a string" });
var TripleString = createToken({ name: "TripleString", pattern: /"""[\s\S]*?"""/, line_breaks: true, categories: [AnyString] });
var StringLiteral = createToken({ name: "StringLiteral", pattern: /"(?:[^"\\\n\r]|\\.)*"/, categories: [AnyString] });
var UnterminatedTripleString = createToken({ name: "UnterminatedTripleString", pattern: /"""[\s\S]*/, line_breaks: true, categories: [AnyString] });
var UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n\r]|\\.)*\\?/, categories: [AnyString] });
var Duration = createToken({ name: "Duration", pattern: /(?:\d+(?:ms|s|m|h|d))+(?![A-Za-z0-9_])/ });
var NumberLiteral = createToken({ name: "NumberLiteral", pattern: /\d+(?:\.\d+)?(?![A-Za-z_])/ });
var BadNumber = createToken({ name: "BadNumber", pattern: /\d[\d.]*[A-Za-z_][A-Za-z0-9_.]*/ });
var EqEq = createToken({ name: "EqEq", pattern: /==/ });
var NotEq = createToken({ name: "NotEq", pattern: /!=/ });
var LtEq = createToken({ name: "LtEq", pattern: /<=/ });
var GtEq = createToken({ name: "GtEq", pattern: />=/ });
var Lt = createToken({ name: "Lt", pattern: /</ });
var Gt = createToken({ name: "Gt", pattern: />/ });
var Equals = createToken({ name: "Equals", pattern: /=/ });
var LBrace = createToken({ name: "LBrace", pattern: /\{/ });
var RBrace = createToken({ name: "RBrace", pattern: /\}/ });
var LBracket = createToken({ name: "LBracket", pattern: /\[/ });
var RBracket = createToken({ name: "RBracket", pattern: /\]/ });
var LParen = createToken({ name: "LParen", pattern: /\(/ });
var RParen = createToken({ name: "RParen", pattern: /\)/ });
var Comma = createToken({ name: "Comma", pattern: /,/ });
var Dot = createToken({ name: "Dot", pattern: /\./ });
var KEYWORDS = [
  "runbook",
  "version",
  "description",
  "owner",
  "default",
  "include",
  "param",
  "var",
  "secret",
  "host",
  "database",
  "sqlite",
  "mysql",
  "password",
  "via",
  "file",
  "env",
  "protected",
  "section",
  "step",
  "as",
  "on",
  "when",
  "unless",
  "finally",
  "require",
  "else",
  "confirm",
  "manual",
  "run",
  "edit",
  "replace",
  "all",
  "with",
  "upload",
  "download",
  "to",
  "sql",
  "export",
  "tables",
  "format",
  "import",
  "from",
  "sync",
  "wait",
  "until",
  "every",
  "timeout",
  "note",
  "undo",
  "retry",
  "allow",
  "failure",
  "parallel",
  "succeeds",
  "output",
  "exists",
  "query",
  "and",
  "or",
  "not",
  "contains",
  "matches",
  "in",
  "true",
  "false"
];
var Kw = Object.fromEntries(
  KEYWORDS.map((word) => [
    word,
    createToken({
      name: `Kw_${word}`,
      pattern: new RegExp(`${word}(?![A-Za-z0-9_])`),
      longer_alt: Identifier,
      label: `\`${word}\``
    })
  ])
);
var allTokens = [
  WhiteSpace,
  Comment,
  TripleString,
  UnterminatedTripleString,
  StringLiteral,
  UnterminatedString,
  Duration,
  BadNumber,
  NumberLiteral,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Equals,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Dot,
  ...Object.values(Kw),
  Identifier,
  AnyString
];
var RunbookLexer = new Lexer(allTokens, {
  ensureOptimizations: true,
  positionTracking: "full"
});
function isKeyword(word) {
  return KEYWORDS.includes(word);
}

// language/parser.ts
var { Kw: Kw2 } = tokens_exports;
var errorInfos = [];
var firstTokens = (paths) => paths.map((p) => p[0]).filter((t) => t !== void 0);
var errorProvider = {
  buildMismatchTokenMessage: ({ expected, previous }) => `#${errorInfos.push({ kind: "mismatch", expected: [expected], previous }) - 1}`,
  buildNotAllInputParsedMessage: () => `#${errorInfos.push({ kind: "not-all", expected: [EOF] }) - 1}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, previous }) => `#${errorInfos.push({ kind: "no-viable", expected: expectedPathsPerAlt.flatMap(firstTokens), previous }) - 1}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, previous }) => `#${errorInfos.push({ kind: "early-exit", expected: firstTokens(expectedIterationPaths), previous }) - 1}`
};
var vocabulary = [...allTokens];
var RunbookParser = class extends CstParser {
  constructor(validate = false) {
    super(vocabulary, {
      recoveryEnabled: true,
      maxLookahead: 2,
      errorMessageProvider: errorProvider,
      skipValidations: !validate
    });
    this.performSelfAnalysis();
  }
  // Cached alternative arrays (a Chevrotain performance idiom: built once, not per call).
  topAlts;
  stmtAlts;
  envAlts;
  valueAlts;
  literalAlts;
  opAlts;
  /** `file := item* EOF` — header, declarations, env blocks, sections, steps, finally. */
  file = this.RULE("file", () => {
    this.MANY(
      () => this.OR(
        this.topAlts ??= [
          { ALT: () => this.SUBRULE(this.header) },
          { ALT: () => this.SUBRULE(this.description) },
          { ALT: () => this.SUBRULE(this.owner) },
          { ALT: () => this.SUBRULE(this.defaultEnv) },
          { ALT: () => this.SUBRULE(this.include) },
          { ALT: () => this.SUBRULE(this.paramDecl) },
          { ALT: () => this.SUBRULE(this.varDecl) },
          { ALT: () => this.SUBRULE(this.secretDecl) },
          { ALT: () => this.SUBRULE(this.hostDecl) },
          { ALT: () => this.SUBRULE(this.databaseDecl) },
          { ALT: () => this.SUBRULE(this.envBlock) },
          { ALT: () => this.SUBRULE(this.section) },
          { ALT: () => this.SUBRULE(this.step) },
          { ALT: () => this.SUBRULE(this.finallyBlock) }
        ]
      )
    );
    this.CONSUME(EOF);
  });
  /** `runbook NAME version SEMVER` (NAME a string or a name). */
  header = this.RULE("header", () => {
    this.CONSUME(Kw2.runbook);
    this.OR([
      { ALT: () => this.CONSUME1(AnyString, { LABEL: "name" }) },
      { ALT: () => this.CONSUME(Identifier, { LABEL: "name" }) }
    ]);
    this.CONSUME(Kw2.version);
    this.CONSUME2(AnyString, { LABEL: "version" });
  });
  description = this.RULE("description", () => {
    this.CONSUME(Kw2.description);
    this.CONSUME(AnyString, { LABEL: "text" });
  });
  owner = this.RULE("owner", () => {
    this.CONSUME(Kw2.owner);
    this.CONSUME(AnyString, { LABEL: "text" });
  });
  defaultEnv = this.RULE("defaultEnv", () => {
    this.CONSUME(Kw2.default);
    this.CONSUME(Kw2.env);
    this.CONSUME(Identifier, { LABEL: "name" });
  });
  include = this.RULE("include", () => {
    this.CONSUME(Kw2.include);
    this.CONSUME(AnyString, { LABEL: "path" });
  });
  // ------------------------------------------------------------ declarations
  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(Kw2.param);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.SUBRULE(this.literal, { LABEL: "value" });
  });
  varDecl = this.RULE("varDecl", () => {
    this.CONSUME(Kw2.var);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.SUBRULE(this.literal, { LABEL: "value" });
  });
  /** `secret NAME = env "VAR"` / `secret NAME = file "path"` */
  secretDecl = this.RULE("secretDecl", () => {
    this.CONSUME(Kw2.secret);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.OR([
      { ALT: () => this.CONSUME(Kw2.env, { LABEL: "source" }) },
      { ALT: () => this.CONSUME(Kw2.file, { LABEL: "source" }) }
    ]);
    this.CONSUME(AnyString, { LABEL: "ref" });
  });
  /** `host NAME = "user@addr"` / `host NAME = ["…", "…"]` */
  hostDecl = this.RULE("hostDecl", () => {
    this.CONSUME(Kw2.host);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.OR([
      { ALT: () => this.CONSUME(AnyString, { LABEL: "target" }) },
      { ALT: () => this.SUBRULE(this.list, { LABEL: "group" }) }
    ]);
  });
  /** `database NAME = sqlite "path" [on HOST]` / `… = mysql "url" [password SECRET] [via HOST]` */
  databaseDecl = this.RULE("databaseDecl", () => {
    this.CONSUME(Kw2.database);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Equals);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Kw2.sqlite);
          this.CONSUME1(AnyString, { LABEL: "path" });
          this.OPTION(() => {
            this.CONSUME(Kw2.on);
            this.CONSUME1(Identifier, { LABEL: "on" });
          });
        }
      },
      {
        ALT: () => {
          this.CONSUME(Kw2.mysql);
          this.CONSUME2(AnyString, { LABEL: "url" });
          this.OPTION2(() => {
            this.CONSUME(Kw2.password);
            this.CONSUME2(Identifier, { LABEL: "password" });
          });
          this.OPTION3(() => {
            this.CONSUME(Kw2.via);
            this.CONSUME3(Identifier, { LABEL: "via" });
          });
        }
      }
    ]);
  });
  /** `env NAME { protected  confirm "…"  overrides… }` */
  envBlock = this.RULE("envBlock", () => {
    this.CONSUME(Kw2.env);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(LBrace);
    this.MANY(
      () => this.OR(
        this.envAlts ??= [
          { ALT: () => this.CONSUME(Kw2.protected) },
          { ALT: () => this.SUBRULE(this.confirmStmt) },
          { ALT: () => this.SUBRULE(this.paramDecl) },
          { ALT: () => this.SUBRULE(this.varDecl) },
          { ALT: () => this.SUBRULE(this.secretDecl) },
          { ALT: () => this.SUBRULE(this.hostDecl) },
          { ALT: () => this.SUBRULE(this.databaseDecl) }
        ]
      )
    );
    this.CONSUME(RBrace);
  });
  // ------------------------------------------------------------ sections and steps
  section = this.RULE("section", () => {
    this.CONSUME(Kw2.section);
    this.CONSUME(AnyString, { LABEL: "title" });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.step));
    this.CONSUME(RBrace);
  });
  finallyBlock = this.RULE("finallyBlock", () => {
    this.CONSUME(Kw2.finally);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.step));
    this.CONSUME(RBrace);
  });
  /** `step "Title" [as id] [on HOST] [when COND] [unless COND] { … }` */
  step = this.RULE("step", () => {
    this.CONSUME(Kw2.step);
    this.CONSUME1(AnyString, { LABEL: "title" });
    this.OPTION(() => {
      this.CONSUME(Kw2.as);
      this.OR([
        { ALT: () => this.CONSUME1(Identifier, { LABEL: "id" }) },
        { ALT: () => this.CONSUME2(AnyString, { LABEL: "id" }) }
      ]);
    });
    this.OPTION2(() => {
      this.CONSUME(Kw2.on);
      this.CONSUME2(Identifier, { LABEL: "on" });
    });
    this.OPTION3(() => {
      this.CONSUME(Kw2.when);
      this.SUBRULE1(this.orCond, { LABEL: "when" });
    });
    this.OPTION4(() => {
      this.CONSUME(Kw2.unless);
      this.SUBRULE2(this.orCond, { LABEL: "unless" });
    });
    this.SUBRULE(this.block);
  });
  /** `{ statement* }` — a step body, or an `undo { … }` body. */
  block = this.RULE("block", () => {
    this.CONSUME(LBrace);
    this.MANY(
      () => this.OR(
        this.stmtAlts ??= [
          { ALT: () => this.SUBRULE(this.requireStmt) },
          { ALT: () => this.SUBRULE(this.confirmStmt) },
          { ALT: () => this.SUBRULE(this.manualStmt) },
          { ALT: () => this.SUBRULE(this.runStmt) },
          { ALT: () => this.SUBRULE(this.editStmt) },
          { ALT: () => this.SUBRULE(this.uploadStmt) },
          { ALT: () => this.SUBRULE(this.downloadStmt) },
          { ALT: () => this.SUBRULE(this.sqlStmt) },
          { ALT: () => this.SUBRULE(this.exportStmt) },
          { ALT: () => this.SUBRULE(this.importStmt) },
          { ALT: () => this.SUBRULE(this.syncStmt) },
          { ALT: () => this.SUBRULE(this.waitStmt) },
          { ALT: () => this.SUBRULE(this.noteStmt) },
          { ALT: () => this.SUBRULE(this.undoStmt) },
          { ALT: () => this.SUBRULE(this.timeoutStmt) },
          { ALT: () => this.SUBRULE(this.retryStmt) },
          { ALT: () => this.SUBRULE(this.allowFailureStmt) },
          { ALT: () => this.SUBRULE(this.parallelStmt) }
        ]
      )
    );
    this.CONSUME(RBrace);
  });
  // ------------------------------------------------------------ statements
  requireStmt = this.RULE("requireStmt", () => {
    this.CONSUME(Kw2.require);
    this.SUBRULE(this.orCond, { LABEL: "cond" });
    this.OPTION(() => {
      this.CONSUME(Kw2.else);
      this.CONSUME(AnyString, { LABEL: "why" });
    });
  });
  confirmStmt = this.RULE("confirmStmt", () => {
    this.CONSUME(Kw2.confirm);
    this.CONSUME(AnyString, { LABEL: "text" });
  });
  manualStmt = this.RULE("manualStmt", () => {
    this.CONSUME(Kw2.manual);
    this.CONSUME(AnyString, { LABEL: "text" });
  });
  noteStmt = this.RULE("noteStmt", () => {
    this.CONSUME(Kw2.note);
    this.CONSUME(AnyString, { LABEL: "text" });
  });
  /** `run "command" [as USER]` (USER a name or a string) */
  runStmt = this.RULE("runStmt", () => {
    this.CONSUME(Kw2.run);
    this.CONSUME1(AnyString, { LABEL: "command" });
    this.OPTION(() => {
      this.CONSUME(Kw2.as);
      this.OR([
        { ALT: () => this.CONSUME(Identifier, { LABEL: "user" }) },
        { ALT: () => this.CONSUME2(AnyString, { LABEL: "user" }) }
      ]);
    });
  });
  /** `edit "path" { replace [all] "old" with "new" … }` */
  editStmt = this.RULE("editStmt", () => {
    this.CONSUME(Kw2.edit);
    this.CONSUME(AnyString, { LABEL: "path" });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.replaceClause));
    this.CONSUME(RBrace);
  });
  replaceClause = this.RULE("replaceClause", () => {
    this.CONSUME(Kw2.replace);
    this.OPTION(() => this.CONSUME(Kw2.all));
    this.CONSUME1(AnyString, { LABEL: "old" });
    this.CONSUME(Kw2.with);
    this.CONSUME2(AnyString, { LABEL: "new" });
  });
  uploadStmt = this.RULE("uploadStmt", () => {
    this.CONSUME(Kw2.upload);
    this.CONSUME1(AnyString, { LABEL: "from" });
    this.CONSUME(Kw2.to);
    this.CONSUME2(AnyString, { LABEL: "to" });
  });
  downloadStmt = this.RULE("downloadStmt", () => {
    this.CONSUME(Kw2.download);
    this.CONSUME1(AnyString, { LABEL: "from" });
    this.CONSUME(Kw2.to);
    this.CONSUME2(AnyString, { LABEL: "to" });
  });
  sqlStmt = this.RULE("sqlStmt", () => {
    this.CONSUME(Kw2.sql);
    this.CONSUME(Identifier, { LABEL: "db" });
    this.CONSUME(AnyString, { LABEL: "text" });
  });
  /** `export DB [tables [...]] to "path" [format csv|web2py]` */
  exportStmt = this.RULE("exportStmt", () => {
    this.CONSUME(Kw2.export);
    this.CONSUME1(Identifier, { LABEL: "db" });
    this.OPTION(() => {
      this.CONSUME(Kw2.tables);
      this.SUBRULE(this.list, { LABEL: "tables" });
    });
    this.CONSUME(Kw2.to);
    this.CONSUME(AnyString, { LABEL: "to" });
    this.OPTION2(() => {
      this.CONSUME(Kw2.format);
      this.CONSUME2(Identifier, { LABEL: "format" });
    });
  });
  importStmt = this.RULE("importStmt", () => {
    this.CONSUME(Kw2.import);
    this.CONSUME(Identifier, { LABEL: "db" });
    this.CONSUME(Kw2.from);
    this.CONSUME(AnyString, { LABEL: "from" });
  });
  /** `sync DB from ENV.DB [tables [...]]` */
  syncStmt = this.RULE("syncStmt", () => {
    this.CONSUME(Kw2.sync);
    this.CONSUME1(Identifier, { LABEL: "db" });
    this.CONSUME(Kw2.from);
    this.CONSUME2(Identifier, { LABEL: "fromEnv" });
    this.CONSUME(Dot);
    this.CONSUME3(Identifier, { LABEL: "fromDb" });
    this.OPTION(() => {
      this.CONSUME(Kw2.tables);
      this.SUBRULE(this.list, { LABEL: "tables" });
    });
  });
  /**
   * `wait until COND [every D] [timeout D]`. `timeout` is also a statement (the step's
   * timeout), so the wait's own `every`/`timeout` must stay on the line of what precedes it.
   */
  waitStmt = this.RULE("waitStmt", () => {
    this.CONSUME(Kw2.wait);
    this.CONSUME(Kw2.until);
    this.SUBRULE(this.orCond, { LABEL: "cond" });
    this.OPTION({
      GATE: () => this.sameLine(),
      DEF: () => {
        this.CONSUME(Kw2.every);
        this.CONSUME1(Duration, { LABEL: "every" });
      }
    });
    this.OPTION2({
      GATE: () => this.sameLine(),
      DEF: () => {
        this.CONSUME(Kw2.timeout);
        this.CONSUME2(Duration, { LABEL: "timeout" });
      }
    });
  });
  /** `undo "command"` / `undo { statements }` */
  undoStmt = this.RULE("undoStmt", () => {
    this.CONSUME(Kw2.undo);
    this.OR([
      { ALT: () => this.CONSUME(AnyString, { LABEL: "command" }) },
      { ALT: () => this.SUBRULE(this.block, { LABEL: "body" }) }
    ]);
  });
  timeoutStmt = this.RULE("timeoutStmt", () => {
    this.CONSUME(Kw2.timeout);
    this.CONSUME(Duration, { LABEL: "duration" });
  });
  retryStmt = this.RULE("retryStmt", () => {
    this.CONSUME(Kw2.retry);
    this.CONSUME(NumberLiteral, { LABEL: "count" });
    this.OPTION(() => {
      this.CONSUME(Kw2.every);
      this.CONSUME(Duration, { LABEL: "every" });
    });
  });
  allowFailureStmt = this.RULE("allowFailureStmt", () => {
    this.CONSUME(Kw2.allow);
    this.CONSUME(Kw2.failure);
  });
  parallelStmt = this.RULE("parallelStmt", () => {
    this.CONSUME(Kw2.parallel);
    this.CONSUME(NumberLiteral, { LABEL: "count" });
  });
  // ------------------------------------------------------------ conditions and values
  /** `COND or COND` — lowest precedence. */
  orCond = this.RULE("orCond", () => {
    this.SUBRULE(this.andCond, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(Kw2.or);
      this.SUBRULE2(this.andCond, { LABEL: "operand" });
    });
  });
  andCond = this.RULE("andCond", () => {
    this.SUBRULE(this.unaryCond, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(Kw2.and);
      this.SUBRULE2(this.unaryCond, { LABEL: "operand" });
    });
  });
  /** `not COND` | `( COND )` | `VALUE [op VALUE]` */
  unaryCond = this.RULE("unaryCond", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Kw2.not);
          this.SUBRULE(this.unaryCond, { LABEL: "operand" });
        }
      },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.orCond, { LABEL: "inner" });
          this.CONSUME(RParen);
        }
      },
      {
        ALT: () => {
          this.SUBRULE1(this.value, { LABEL: "left" });
          this.OPTION(() => {
            this.OR2(
              this.opAlts ??= [
                { ALT: () => this.CONSUME(EqEq, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(NotEq, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(LtEq, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(GtEq, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(Lt, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(Gt, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(Kw2.contains, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(Kw2.matches, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(Kw2.in, { LABEL: "op" }) }
              ]
            );
            this.SUBRULE2(this.value, { LABEL: "right" });
          });
        }
      }
    ]);
  });
  /** literal | name[.member…] | env | succeeds/output/exists "…" [on HOST] | query DB "…" */
  value = this.RULE("value", () => {
    this.OR(
      this.valueAlts ??= [
        { ALT: () => this.SUBRULE(this.literal) },
        {
          ALT: () => {
            this.OR2([
              { ALT: () => this.CONSUME1(Identifier, { LABEL: "name" }) },
              // `run.id`: `run` is a keyword but also the built-in value `run`.
              { ALT: () => this.CONSUME(Kw2.run, { LABEL: "name" }) }
            ]);
            this.MANY(() => {
              this.CONSUME(Dot);
              this.CONSUME2(Identifier, { LABEL: "member" });
            });
          }
        },
        { ALT: () => this.CONSUME(Kw2.env) },
        {
          ALT: () => {
            this.OR3([
              { ALT: () => this.CONSUME(Kw2.succeeds, { LABEL: "probe" }) },
              { ALT: () => this.CONSUME(Kw2.output, { LABEL: "probe" }) },
              { ALT: () => this.CONSUME(Kw2.exists, { LABEL: "probe" }) }
            ]);
            this.CONSUME1(AnyString, { LABEL: "arg" });
            this.OPTION(() => {
              this.CONSUME(Kw2.on);
              this.CONSUME3(Identifier, { LABEL: "on" });
            });
          }
        },
        {
          ALT: () => {
            this.CONSUME(Kw2.query, { LABEL: "probe" });
            this.CONSUME4(Identifier, { LABEL: "db" });
            this.CONSUME2(AnyString, { LABEL: "arg" });
          }
        }
      ]
    );
  });
  /** string | number | duration | true | false | list */
  literal = this.RULE("literal", () => {
    this.OR(
      this.literalAlts ??= [
        { ALT: () => this.CONSUME(AnyString, { LABEL: "string" }) },
        { ALT: () => this.CONSUME(NumberLiteral, { LABEL: "number" }) },
        { ALT: () => this.CONSUME(Duration, { LABEL: "duration" }) },
        { ALT: () => this.CONSUME(Kw2.true, { LABEL: "bool" }) },
        { ALT: () => this.CONSUME(Kw2.false, { LABEL: "bool" }) },
        { ALT: () => this.SUBRULE(this.list) }
      ]
    );
  });
  /** `[a, b, c]`, a trailing comma allowed. */
  list = this.RULE("list", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.literal, { LABEL: "item" });
      this.MANY({
        GATE: () => this.LA(2).tokenType !== RBracket,
        DEF: () => {
          this.CONSUME(Comma);
          this.SUBRULE2(this.literal, { LABEL: "item" });
        }
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RBracket);
  });
  /** The next token starts on the line where the previous one ends. */
  sameLine() {
    const prev = this.LA(0);
    const next = this.LA(1);
    return next.startLine === void 0 || prev.endLine === void 0 || next.startLine === prev.endLine;
  }
};
var singleton;
function getParser() {
  return singleton ??= new RunbookParser(false);
}
function parseSource(file, text2) {
  const lexed = RunbookLexer.tokenize(text2);
  const diagnostics = [];
  const lexErrorLines = /* @__PURE__ */ new Set();
  let swallowedFrom = Infinity;
  const badStrings = /* @__PURE__ */ new Set();
  for (const e of lexed.errors) {
    const bad = text2.slice(e.offset, e.offset + e.length);
    lexErrorLines.add(e.line ?? 0);
    diagnostics.push({
      severity: "error",
      code: "syntax",
      message: messages.unexpectedCharacter(bad),
      span: spanAt(file, e.offset, e.line ?? 1, e.column ?? 1, e.length),
      ...bad.startsWith("'") ? { notes: [messages.singleQuoteNote()] } : {}
    });
  }
  for (const tok of lexed.tokens) {
    const tt = tok.tokenType;
    if (tt === UnterminatedString) {
      badStrings.add(tok);
      diagnostics.push({
        severity: "error",
        code: "syntax",
        message: messages.unterminatedString(),
        span: tokenSpan(file, tok),
        notes: [messages.unterminatedStringNote()]
      });
    } else if (tt === UnterminatedTripleString) {
      badStrings.add(tok);
      swallowedFrom = Math.min(swallowedFrom, tok.startOffset);
      diagnostics.push({
        severity: "error",
        code: "syntax",
        message: messages.unterminatedTripleString(),
        span: { ...tokenSpan(file, tok), length: 3 }
      });
    }
  }
  const parser = getParser();
  errorInfos = [];
  parser.input = lexed.tokens;
  let cst;
  try {
    cst = parser.file();
  } finally {
    const seen = /* @__PURE__ */ new Set();
    for (const e of parser.errors) {
      const d = explain(file, e, lexed.tokens);
      if (!d) continue;
      const tok = e.token;
      const prev = e.previousToken;
      if (tok && (lexErrorLines.has(tok.startLine ?? -1) || tok.startOffset >= swallowedFrom)) continue;
      if (prev && badStrings.has(prev)) continue;
      if (seen.has(d.span.offset)) continue;
      seen.add(d.span.offset);
      diagnostics.push(d);
    }
    errorInfos = [];
  }
  return { cst, diagnostics, tokens: lexed.tokens, comments: lexed.groups.comments ?? [] };
}
function spanAt(file, offset, line, column, length) {
  return { file, offset, line, column, length };
}
var valid = (n) => typeof n === "number" && !Number.isNaN(n);
function tokenSpan(file, tok) {
  return spanAt(file, tok.startOffset, tok.startLine ?? 1, tok.startColumn ?? 1, tok.image.length);
}
function endOf(file, tok) {
  const end = tok.startOffset + tok.image.length;
  return spanAt(file, end, tok.endLine ?? tok.startLine ?? 1, (tok.endColumn ?? tok.startColumn ?? 0) + 1, 0);
}
var STRING_TYPES = /* @__PURE__ */ new Set([AnyString, StringLiteral, TripleString, UnterminatedString, UnterminatedTripleString]);
var PUNCT = /* @__PURE__ */ new Map([
  [EqEq, "=="],
  [NotEq, "!="],
  [LtEq, "<="],
  [GtEq, ">="],
  [Lt, "<"],
  [Gt, ">"],
  [Equals, "="],
  [LBrace, "{"],
  [RBrace, "}"],
  [LBracket, "["],
  [RBracket, "]"],
  [LParen, "("],
  [RParen, ")"],
  [Comma, ","],
  [Dot, "."]
]);
var KW_BY_TYPE = new Map(Object.entries(Kw2).map(([w, t]) => [t, w]));
var STATEMENT_WORDS = [
  "require",
  "confirm",
  "manual",
  "run",
  "edit",
  "upload",
  "download",
  "sql",
  "export",
  "import",
  "sync",
  "wait",
  "note",
  "undo",
  "timeout",
  "retry",
  "allow",
  "parallel"
];
var STATEMENT_TYPES = new Set(STATEMENT_WORDS.map((w) => Kw2[w]));
var TOP_TYPES = new Set(
  ["runbook", "description", "owner", "default", "include", "param", "var", "secret", "host", "database", "env", "section", "step", "finally"].map((w) => Kw2[w])
);
var VALUE_TYPES = /* @__PURE__ */ new Set([
  AnyString,
  NumberLiteral,
  Duration,
  Kw2.true,
  Kw2.false,
  LBracket,
  Identifier,
  Kw2.run,
  Kw2.env,
  Kw2.succeeds,
  Kw2.output,
  Kw2.exists,
  Kw2.query
]);
var LITERAL_TYPES = /* @__PURE__ */ new Set([AnyString, NumberLiteral, Duration, Kw2.true, Kw2.false, LBracket]);
var OP_TYPES = /* @__PURE__ */ new Set([EqEq, NotEq, LtEq, GtEq, Lt, Gt, Kw2.contains, Kw2.matches, Kw2.in]);
var DURATION_WORDS = "a duration like `30s` or `10m`";
function describeType(tt) {
  if (STRING_TYPES.has(tt)) return "a string";
  if (tt === Identifier) return "a name";
  if (tt === NumberLiteral) return "a number";
  if (tt === Duration) return DURATION_WORDS;
  if (tt === EOF) return "the end of the file";
  if (tt === LBracket) return "a list";
  const kw = KW_BY_TYPE.get(tt);
  if (kw) return `\`${kw}\``;
  const p = PUNCT.get(tt);
  if (p) return `\`${p}\``;
  return tt.name;
}
function describeExpected(types) {
  const set = new Set(types);
  const words = [];
  const has = (s, min) => [...s].filter((t) => set.has(t)).length >= min;
  const drop = (s) => s.forEach((t) => set.delete(t));
  if (has(TOP_TYPES, 5)) {
    drop(TOP_TYPES);
    words.push("a declaration, `env`, `section`, `step` or `finally`");
  }
  if (has(STATEMENT_TYPES, 5)) {
    drop(STATEMENT_TYPES);
    words.push("a statement");
  }
  if (has(VALUE_TYPES, 6)) {
    const cond = set.has(Kw2.not) || set.has(LParen);
    drop(VALUE_TYPES);
    set.delete(Kw2.not);
    set.delete(LParen);
    words.push(cond ? "a condition" : "a value");
  } else if (has(LITERAL_TYPES, 5)) {
    drop(LITERAL_TYPES);
    words.push("a value");
  }
  if (has(OP_TYPES, 5)) {
    drop(OP_TYPES);
    words.push("a comparison like `==`");
  }
  for (const t of set) {
    const w = describeType(t);
    if (!words.includes(w)) words.push(w);
  }
  if (words.length <= 1) return words[0] ?? "something else";
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}
function describePrevious(prev) {
  if (!prev || prev.tokenType === EOF || !valid(prev.startOffset) || prev.image === "") return void 0;
  const tt = prev.tokenType;
  if (STRING_TYPES.has(tt)) return prev.image.length <= 24 && !prev.image.includes("\n") ? `\`${prev.image}\`` : "the string";
  return `\`${prev.image}\``;
}
var BLOCK_OF = {
  block: "a step",
  section: "a section",
  finallyBlock: "the `finally` block",
  envBlock: "an env block",
  editStmt: "an `edit` block"
};
function describeActual(tok) {
  const tt = tok.tokenType;
  if (tt === EOF) return "end of file";
  if (STRING_TYPES.has(tt)) return "string";
  if (tt === Identifier) return `name \`${tok.image}\``;
  return `\`${tok.image}\``;
}
function explain(file, e, tokens) {
  const id = /^#(\d+)$/.exec(e.message);
  const info = id ? errorInfos[Number(id[1])] : void 0;
  const stack = e.context?.ruleStack ?? [];
  const rule = stack[stack.length - 1] ?? "file";
  const parent = stack[stack.length - 2];
  const actual = e.token;
  const atEof = !actual || actual.tokenType === EOF || !valid(actual.startOffset);
  const prev = e.previousToken ?? info?.previous ?? (atEof ? tokens[tokens.length - 1] : void 0);
  const expected = info?.expected ?? [];
  const notes = [];
  const at = (pointAfterPrev) => {
    const prevOk = prev && valid(prev.startOffset) && prev.tokenType !== EOF;
    if (prevOk && (atEof || pointAfterPrev && (actual.startLine ?? 0) > (prev.endLine ?? prev.startLine ?? 0))) return endOf(file, prev);
    if (!atEof) return tokenSpan(file, actual);
    return spanAt(file, 0, 1, 1, 0);
  };
  const diag = (message, span) => ({
    severity: "error",
    code: "syntax",
    message,
    span,
    ...notes.length ? { notes } : {}
  });
  if (!atEof && actual.tokenType === Equals && !expected.includes(Equals)) notes.push(messages.compareNote());
  const what = describeExpected(expected);
  if (what.includes(DURATION_WORDS)) notes.push(messages.durationNote());
  if (info?.kind === "not-all" || expected.length === 1 && expected[0] === EOF) {
    if (atEof) return void 0;
    if (actual.tokenType !== RBrace) notes.push(messages.topLevelNote());
    return diag(messages.unexpected(describeActual(actual)), tokenSpan(file, actual));
  }
  if (expected.length === 1 && expected[0] === RBrace && BLOCK_OF[rule] && info?.kind === "mismatch") {
    if (atEof) return diag(messages.unclosedBlock(BLOCK_OF[rule]), at(true));
    if (rule === "block" && actual.tokenType === Identifier) {
      notes.push(messages.statementsNote());
      return diag(messages.unknownStatement(actual.image), tokenSpan(file, actual));
    }
    if (rule === "block") notes.push(messages.statementsNote());
    else if (rule === "section" || rule === "finallyBlock") notes.push(messages.sectionNote());
    else if (rule === "envBlock") notes.push(messages.envBlockNote());
    return diag(messages.unexpectedIn(describeActual(actual), BLOCK_OF[rule]), tokenSpan(file, actual));
  }
  if (rule === "block" && parent === "step" && expected.length === 1 && expected[0] === LBrace) {
    return diag(messages.expected("`{`", "the step header"), at(true));
  }
  const after = describePrevious(prev);
  return diag(messages.expected(what, after), at(true));
}

// language/strings.ts
var isIdentStart = (c) => c >= 65 && c <= 90 || c >= 97 && c <= 122 || c === 95;
var isIdentChar = (c) => isIdentStart(c) || c >= 48 && c <= 57;
var isBlank = (c) => c === 32 || c === 9;
function decodeString(tok, file, diagnostics, terminated = true) {
  const img = tok.image;
  const triple = img.startsWith('"""');
  const line = tok.startLine ?? 1;
  const column = tok.startColumn ?? 1;
  const span = { file, offset: tok.startOffset, line, column, length: img.length };
  if (!triple && img.indexOf("\\") < 0 && img.indexOf("${") < 0) {
    const end = terminated && img.length >= 2 ? img.length - 1 : img.length;
    if (end <= 1) return { kind: "string", parts: [], triple, span };
    const value = img.slice(1, end);
    const part = { kind: "text", value, span: { file, offset: tok.startOffset + 1, line, column: column + 1, length: value.length } };
    return { kind: "string", parts: [part], triple, span };
  }
  return new Decoder(img, file, tok.startOffset, line, column, triple, diagnostics).decode(terminated, span);
}
var Decoder = class {
  constructor(img, file, base, line0, col0, triple, diagnostics) {
    this.img = img;
    this.file = file;
    this.base = base;
    this.line0 = line0;
    this.col0 = col0;
    this.triple = triple;
    this.diagnostics = diagnostics;
  }
  img;
  file;
  base;
  line0;
  col0;
  triple;
  diagnostics;
  parts = [];
  text = "";
  tStart = -1;
  tEnd = -1;
  nlIndex;
  /** The span of `length` characters at index `i` of the image. */
  spanAt(i, length) {
    const { file, base, line0, col0 } = this;
    if (!this.triple) return { file, offset: base + i, line: line0, column: col0 + i, length };
    if (!this.nlIndex) {
      this.nlIndex = [];
      for (let k = 0; k < this.img.length; k++) if (this.img.charCodeAt(k) === 10) this.nlIndex.push(k);
    }
    const nl = this.nlIndex;
    let ln = 0;
    while (ln < nl.length && nl[ln] < i) ln++;
    return { file, offset: base + i, line: line0 + ln, column: ln === 0 ? col0 + i : i - nl[ln - 1], length };
  }
  addText(s, from, to) {
    if (this.tStart < 0) this.tStart = from;
    this.text += s;
    this.tEnd = to;
  }
  flush() {
    if (this.tStart >= 0) {
      this.parts.push({ kind: "text", value: this.text, span: this.spanAt(this.tStart, Math.max(0, this.tEnd - this.tStart)) });
      this.text = "";
      this.tStart = -1;
    }
  }
  blank(s, e) {
    for (let k = s; k < e; k++) if (!isBlank(this.img.charCodeAt(k))) return false;
    return true;
  }
  /** The source ranges [start, end) whose text makes up the value, joined by "\n". */
  ranges(terminated) {
    const img = this.img;
    if (!this.triple) return [[Math.min(1, img.length), terminated && img.length >= 2 ? img.length - 1 : img.length]];
    const start = 3;
    const end = terminated && img.length >= 6 && img.endsWith('"""') ? img.length - 3 : img.length;
    const lines = [];
    let ls = start;
    for (let k = start; k < end; k++) {
      if (img.charCodeAt(k) === 10) {
        lines.push([ls, k > ls && img.charCodeAt(k - 1) === 13 ? k - 1 : k]);
        ls = k + 1;
      }
    }
    lines.push([ls, end]);
    if (lines.length > 1 && this.blank(...lines[0])) lines.shift();
    if (lines.length > 1 && this.blank(...lines[lines.length - 1])) lines.pop();
    let indent = Infinity;
    for (const [s, e] of lines) {
      if (this.blank(s, e)) continue;
      let k = s;
      while (k < e && isBlank(img.charCodeAt(k))) k++;
      indent = Math.min(indent, k - s);
    }
    if (!Number.isFinite(indent)) indent = 0;
    return lines.map(([s, e]) => this.blank(s, e) ? [e, e] : [s + indent, e]);
  }
  decode(terminated, span) {
    const img = this.img;
    const ranges = this.ranges(terminated);
    for (let r = 0; r < ranges.length; r++) {
      const [rs, re] = ranges[r];
      if (r > 0) {
        const prevEnd = ranges[r - 1][1];
        this.addText("\n", prevEnd, prevEnd + 1);
      }
      let i = rs;
      while (i < re) {
        let j = i;
        while (j < re) {
          const c = img.charCodeAt(j);
          if (c === 92 || c === 36 && j + 1 < re && img.charCodeAt(j + 1) === 123) break;
          j++;
        }
        if (j > i) {
          this.addText(img.slice(i, j), i, j);
          i = j;
          continue;
        }
        if (img.charCodeAt(i) === 92) {
          i = this.escape(i, re);
          continue;
        }
        const res = parseInterp(img, i, re);
        if (res.ok) {
          this.flush();
          this.parts.push({ kind: "interp", path: res.path, raw: res.raw, span: this.spanAt(i, res.end - i) });
        } else {
          this.diagnostics.push({ severity: "error", code: "bad-interpolation", message: res.message, span: this.spanAt(i, res.end - i) });
        }
        i = res.end;
      }
    }
    this.flush();
    return { kind: "string", parts: this.parts, triple: this.triple, span };
  }
  /** Decodes the escape at `i`; returns the index after it. */
  escape(i, re) {
    const img = this.img;
    if (i + 1 >= re) {
      this.addText("\\", i, i + 1);
      return i + 1;
    }
    const e = img[i + 1];
    const decoded = e === '"' ? '"' : e === "\\" ? "\\" : e === "n" ? "\n" : e === "t" ? "	" : e === "$" ? "$" : void 0;
    if (decoded === void 0) {
      this.diagnostics.push({
        severity: "warning",
        code: "unknown-escape",
        message: messages.unknownEscape(`\\${e}`),
        span: this.spanAt(i, 2),
        notes: [messages.unknownEscapeNote()]
      });
      this.addText(`\\${e}`, i, i + 2);
    } else this.addText(decoded, i, i + 2);
    return i + 2;
  }
};
var skipBlanks = (img, j, re) => {
  while (j < re && isBlank(img.charCodeAt(j))) j++;
  return j;
};
var identEnd = (img, j, re) => {
  if (j >= re || !isIdentStart(img.charCodeAt(j))) return j;
  j++;
  while (j < re && isIdentChar(img.charCodeAt(j))) j++;
  return j;
};
function parseInterp(img, i, re) {
  const close = img.indexOf("}", i + 2);
  if (close < 0 || close >= re) return { ok: false, message: messages.unclosedInterpolation(), end: re };
  const end = close + 1;
  const bad = (what, after) => ({ ok: false, message: messages.badInterpolation(img.slice(i, end), what, after), end });
  let j = skipBlanks(img, i + 2, re);
  if (j === close) return { ok: false, message: messages.emptyInterpolation(), end };
  let raw = false;
  let e = identEnd(img, j, re);
  if (e === j) return bad("a name", "${");
  let first = img.slice(j, e);
  j = e;
  if (first === "raw" && isBlank(img.charCodeAt(j))) {
    j = skipBlanks(img, j, re);
    if (j !== close) {
      raw = true;
      e = identEnd(img, j, re);
      if (e === j) return bad("a name", "raw");
      first = img.slice(j, e);
      j = e;
    }
  }
  const path2 = [first];
  for (; ; ) {
    j = skipBlanks(img, j, re);
    const c = img.charCodeAt(j);
    if (j === close) return { ok: true, path: path2, raw, end };
    if (c !== 46) return bad("`.` or `}`", path2[path2.length - 1]);
    j = skipBlanks(img, j + 1, re);
    e = identEnd(img, j, re);
    if (e === j) return bad("a name", ".");
    path2.push(img.slice(j, e));
    j = e;
  }
}
function durationMs(text2) {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  let m;
  while (m = re.exec(text2)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === "ms" ? 1 : unit === "s" ? 1e3 : unit === "m" ? 6e4 : unit === "h" ? 36e5 : 864e5);
    at = re.lastIndex;
  }
  return at === text2.length && at > 0 ? total : NaN;
}

// language/to-ast.ts
var isToken = (x) => x.image !== void 0;
var real = (t) => !!t && !t.isInsertedInRecovery && !Number.isNaN(t.startOffset);
function toAst(cst, file, options = {}) {
  const b = new Builder(file);
  const ast = b.fileAst(cst, options.text ?? "");
  return { ast, diagnostics: b.diagnostics };
}
var Builder = class {
  constructor(file) {
    this.file = file;
    this.zero = { file, offset: 0, line: 1, column: 1, length: 0 };
  }
  file;
  diagnostics = [];
  zero;
  // ------------------------------------------------------------ helpers
  tok(n, key, i = 0) {
    const e = n.children[key]?.[i];
    return e && isToken(e) && real(e) ? e : void 0;
  }
  node(n, key, i = 0) {
    const e = n.children[key]?.[i];
    return e && !isToken(e) ? e : void 0;
  }
  nodes(n, key) {
    return (n.children[key] ?? []).filter((e) => !isToken(e));
  }
  tokSpan(t) {
    return { file: this.file, offset: t.startOffset, line: t.startLine ?? 1, column: t.startColumn ?? 1, length: t.image.length };
  }
  ident(t) {
    return { name: t.image, span: this.tokSpan(t) };
  }
  spanOf(x) {
    if (!x) return void 0;
    if ("image" in x) return real(x) ? this.tokSpan(x) : void 0;
    if ("span" in x) return x.span;
    return x;
  }
  /** The span covering all the given pieces (those that are present). */
  cover(...items) {
    let first;
    let end = -1;
    for (const it of items) {
      const s = this.spanOf(it);
      if (!s || Number.isNaN(s.offset) || s.file !== this.file) continue;
      if (!first || s.offset < first.offset) first = s;
      end = Math.max(end, s.offset + s.length);
    }
    if (!first) return this.zero;
    return { file: this.file, offset: first.offset, line: first.line, column: first.column, length: Math.max(0, end - first.offset) };
  }
  /** A string token decoded; an empty string when recovery left it out. */
  str(t, near) {
    if (!real(t)) return { kind: "string", parts: [], triple: false, span: near ?? this.zero };
    const terminated = t.tokenType !== UnterminatedString && t.tokenType !== UnterminatedTripleString;
    return decodeString(t, this.file, this.diagnostics, terminated);
  }
  error(code, message, span, notes) {
    this.diagnostics.push({ severity: "error", code, message, span, ...notes ? { notes } : {} });
  }
  byOffset(xs) {
    return xs.sort((a, b) => a.span.offset - b.span.offset || 0);
  }
  // ------------------------------------------------------------ file
  fileAst(cst, text2) {
    const span = { file: this.file, offset: 0, line: 1, column: 1, length: text2.length };
    const ast = { kind: "file", span, includes: [], decls: [], envs: [], items: [] };
    if (!cst) return ast;
    let header;
    const firstOther = [];
    for (const h of this.nodes(cst, "header")) {
      const kw = this.tok(h, "Kw_runbook");
      const nameTok = this.tok(h, "name");
      const name = nameTok && nameTok.tokenType === Identifier ? { kind: "string", parts: [{ kind: "text", value: nameTok.image, span: this.tokSpan(nameTok) }], triple: false, span: this.tokSpan(nameTok) } : this.str(nameTok, this.cover(kw));
      const version = this.str(this.tok(h, "version"), this.cover(kw));
      const hs = this.cover(kw, nameTok, this.tok(h, "Kw_version"), this.tok(h, "version"));
      if (header) {
        this.error("syntax", messages.duplicate("runbook"), this.cover(kw));
        continue;
      }
      header = { name, version, span: hs };
    }
    const single = (key, word) => {
      let found;
      for (const n of this.nodes(cst, key)) {
        const kw = this.tok(n, `Kw_${word}`);
        const t = this.tok(n, "text");
        const s = this.cover(kw, t);
        firstOther.push(s.offset);
        if (found) {
          this.error("syntax", messages.duplicate(word), this.cover(kw));
          continue;
        }
        found = { text: this.str(t, s), span: s };
      }
      return found;
    };
    const description = single("description", "description");
    const owner = single("owner", "owner");
    if (header) {
      if (description) header.description = description.text;
      if (owner) header.owner = owner.text;
      ast.header = header;
    }
    for (const n of this.nodes(cst, "defaultEnv")) {
      const kw = this.tok(n, "Kw_default");
      const name = this.tok(n, "name");
      firstOther.push(this.cover(kw, name).offset);
      if (ast.defaultEnv) {
        this.error("syntax", messages.duplicate("default env"), this.cover(kw, this.tok(n, "Kw_env")));
        continue;
      }
      if (name) ast.defaultEnv = this.ident(name);
    }
    for (const n of this.nodes(cst, "include")) {
      const kw = this.tok(n, "Kw_include");
      const s = this.cover(kw, this.tok(n, "path"));
      const inc = { kind: "include", path: this.str(this.tok(n, "path"), s), span: s };
      ast.includes.push(inc);
    }
    ast.decls = this.decls(cst);
    ast.envs = this.nodes(cst, "envBlock").map((n) => this.envBlock(n));
    ast.items = this.byOffset([
      ...this.nodes(cst, "section").map((n) => this.section(n)),
      ...this.nodes(cst, "step").map((n) => this.step(n))
    ]);
    const finals = this.nodes(cst, "finallyBlock").map((n) => this.finallyBlock(n));
    if (finals[0]) ast.finally = finals[0];
    for (const extra of finals.slice(1)) this.error("syntax", messages.duplicateFinally(), { ...extra.span, length: "finally".length });
    if (header) {
      for (const x of [...ast.includes, ...ast.decls, ...ast.envs, ...ast.items, ...finals]) firstOther.push(x.span.offset);
      const before = firstOther.some((o) => o < header.span.offset);
      if (before) this.error("header-position", messages.headerNotFirst(), { ...header.span, length: "runbook".length });
    }
    return ast;
  }
  /** The header keywords found in a file (for "an included file has no header"). */
  headerKeywords(cst) {
    if (!cst) return [];
    const out = [];
    for (const [key, word] of [["header", "runbook"], ["description", "description"], ["owner", "owner"]]) {
      for (const n of this.nodes(cst, key)) {
        const t = this.tok(n, `Kw_${word}`);
        if (t) out.push(t);
      }
    }
    return out;
  }
  // ------------------------------------------------------------ declarations
  decls(n) {
    return this.byOffset([
      ...this.nodes(n, "paramDecl").map((d) => this.valueDecl(d, "param")),
      ...this.nodes(n, "varDecl").map((d) => this.valueDecl(d, "var")),
      ...this.nodes(n, "secretDecl").map((d) => this.secretDecl(d)),
      ...this.nodes(n, "hostDecl").map((d) => this.hostDecl(d)),
      ...this.nodes(n, "databaseDecl").map((d) => this.databaseDecl(d))
    ]);
  }
  name(n, near) {
    const t = this.tok(n, "name");
    return t ? this.ident(t) : { name: "", span: near };
  }
  valueDecl(n, kind) {
    const kw = this.tok(n, kind === "param" ? "Kw_param" : "Kw_var");
    const name = this.name(n, this.cover(kw));
    const valueNode = this.node(n, "value");
    const value = valueNode ? this.literal(valueNode) : this.missing(this.cover(kw, name));
    return { kind, name, value, span: this.cover(kw, name, value) };
  }
  secretDecl(n) {
    const kw = this.tok(n, "Kw_secret");
    const name = this.name(n, this.cover(kw));
    const src = this.tok(n, "source");
    const refTok = this.tok(n, "ref");
    const ref = this.str(refTok, this.cover(kw, name, src));
    return {
      kind: "secret",
      name,
      source: src?.image === "file" ? "file" : "env",
      ref,
      span: this.cover(kw, name, src, refTok)
    };
  }
  hostDecl(n) {
    const kw = this.tok(n, "Kw_host");
    const name = this.name(n, this.cover(kw));
    const group = this.node(n, "group");
    const target = this.tok(n, "target");
    const value = group ? this.list(group) : this.str(target, this.cover(kw, name));
    return { kind: "host", name, value, span: this.cover(kw, name, value) };
  }
  databaseDecl(n) {
    const kw = this.tok(n, "Kw_database");
    const name = this.name(n, this.cover(kw));
    const sqlite = this.tok(n, "Kw_sqlite");
    let value;
    if (sqlite || !this.tok(n, "Kw_mysql")) {
      const pathTok = this.tok(n, "path");
      const on = this.tok(n, "on");
      value = { engine: "sqlite", path: this.str(pathTok, this.cover(kw, name, sqlite)), span: this.cover(sqlite, pathTok, on) };
      if (on) value.on = this.ident(on);
    } else {
      const my = this.tok(n, "Kw_mysql");
      const urlTok = this.tok(n, "url");
      const pw = this.tok(n, "password");
      const via = this.tok(n, "via");
      value = { engine: "mysql", url: this.str(urlTok, this.cover(my)), span: this.cover(my, urlTok, pw, via) };
      if (pw) value.password = this.ident(pw);
      if (via) value.via = this.ident(via);
    }
    if (value.span === this.zero) value.span = this.cover(kw, name);
    return { kind: "database", name, value, span: this.cover(kw, name, value) };
  }
  envBlock(n) {
    const kw = this.tok(n, "Kw_env");
    const nameTok = this.tok(n, "name");
    const name = nameTok ? this.ident(nameTok) : { name: "", span: this.cover(kw) };
    const env = {
      kind: "env",
      name,
      confirms: this.nodes(n, "confirmStmt").map((c) => this.textStmt(c, "confirm")),
      overrides: this.decls(n),
      span: this.cover(kw, nameTok, this.tok(n, "LBrace"), this.tok(n, "RBrace"))
    };
    const prot = (n.children["Kw_protected"] ?? []).filter((t) => isToken(t) && real(t));
    if (prot[0]) env.protected = this.tokSpan(prot[0]);
    for (const extra of prot.slice(1)) this.error("syntax", messages.duplicate("protected"), this.tokSpan(extra));
    return env;
  }
  // ------------------------------------------------------------ sections and steps
  section(n) {
    const kw = this.tok(n, "Kw_section");
    const titleTok = this.tok(n, "title");
    const steps = this.nodes(n, "step").map((s) => this.step(s));
    const span = this.cover(kw, titleTok, this.tok(n, "LBrace"), this.tok(n, "RBrace"), ...steps);
    return { kind: "section", title: this.str(titleTok, span), steps, span };
  }
  finallyBlock(n) {
    const kw = this.tok(n, "Kw_finally");
    const steps = this.nodes(n, "step").map((s) => this.step(s));
    return { kind: "finally", steps, span: this.cover(kw, this.tok(n, "LBrace"), this.tok(n, "RBrace"), ...steps) };
  }
  step(n) {
    const kw = this.tok(n, "Kw_step");
    const titleTok = this.tok(n, "title");
    const title = this.str(titleTok, this.cover(kw));
    const blockNode = this.node(n, "block");
    const block = blockNode ? this.block(blockNode) : { body: [], span: void 0 };
    const idTok = this.tok(n, "id");
    let id;
    let idSpan;
    if (idTok) {
      idSpan = this.tokSpan(idTok);
      if (idTok.tokenType === Identifier) id = idTok.image;
      else {
        const s = this.str(idTok);
        const text2 = literalText(s);
        if (text2 === void 0) this.error("syntax", messages.noInterpolationIn("a step id"), idSpan);
        id = text2 ?? kebabId(titleWords(s));
      }
    } else {
      id = kebabId(titleWords(title));
      idSpan = title.span;
    }
    const onTok = this.tok(n, "on");
    const whenNode = this.node(n, "when");
    const unlessNode = this.node(n, "unless");
    const step = {
      kind: "step",
      title,
      id,
      idSpan,
      body: block.body,
      span: this.zero
    };
    if (onTok) step.on = this.ident(onTok);
    if (whenNode) step.when = this.orCond(whenNode);
    if (unlessNode) step.unless = this.orCond(unlessNode);
    step.span = this.cover(kw, titleTok, idTok, onTok, step.when, step.unless, block.span);
    return step;
  }
  block(n) {
    const body = [];
    for (const key in n.children) {
      const build = STMT_BUILDERS[key];
      if (!build) continue;
      for (const e of n.children[key]) if (!isToken(e)) body.push(build.call(this, e));
    }
    this.byOffset(body);
    return { body, span: this.cover(this.tok(n, "LBrace"), this.tok(n, "RBrace"), ...body) };
  }
  // ------------------------------------------------------------ statements
  textStmt(n, kind) {
    const kw = this.tok(n, `Kw_${kind}`);
    const t = this.tok(n, "text");
    const text2 = this.str(t, this.cover(kw));
    const span = this.cover(kw, t);
    if (kind === "confirm") return { kind, question: text2, span };
    return { kind, text: text2, span };
  }
  requireStmt(n) {
    const kw = this.tok(n, "Kw_require");
    const cond = this.condOf(n, "cond", this.cover(kw));
    const why = this.tok(n, "why");
    const s = { kind: "require", cond, span: this.cover(kw, cond, this.tok(n, "Kw_else"), why) };
    if (why) s.else = this.str(why);
    return s;
  }
  runStmt(n) {
    const kw = this.tok(n, "Kw_run");
    const cmdTok = this.tok(n, "command");
    const user = this.tok(n, "user");
    const s = { kind: "run", command: this.str(cmdTok, this.cover(kw)), span: this.cover(kw, cmdTok, this.tok(n, "Kw_as"), user) };
    if (user) {
      if (user.tokenType === Identifier) s.as = this.ident(user);
      else {
        const u = this.str(user);
        const text2 = literalText(u);
        if (text2 === void 0) this.error("syntax", messages.noInterpolationIn("the user of `run \u2026 as`"), u.span);
        s.as = { name: text2 ?? "", span: u.span };
      }
    }
    return s;
  }
  editStmt(n) {
    const kw = this.tok(n, "Kw_edit");
    const pathTok = this.tok(n, "path");
    const replaces = this.nodes(n, "replaceClause").map((r) => {
      const rk = this.tok(r, "Kw_replace");
      const oldTok = this.tok(r, "old");
      const newTok = this.tok(r, "new");
      const span = this.cover(rk, this.tok(r, "Kw_all"), oldTok, this.tok(r, "Kw_with"), newTok);
      return { all: !!this.tok(r, "Kw_all"), old: this.str(oldTok, span), new: this.str(newTok, span), span };
    });
    return {
      kind: "edit",
      path: this.str(pathTok, this.cover(kw)),
      replaces,
      span: this.cover(kw, pathTok, this.tok(n, "LBrace"), this.tok(n, "RBrace"), ...replaces)
    };
  }
  copyStmt(n, kind) {
    const kw = this.tok(n, `Kw_${kind}`);
    const from = this.tok(n, "from");
    const to = this.tok(n, "to");
    const span = this.cover(kw, from, this.tok(n, "Kw_to"), to);
    return { kind, from: this.str(from, span), to: this.str(to, span), span };
  }
  db(n, key, near) {
    const t = this.tok(n, key);
    return t ? this.ident(t) : { name: "", span: near };
  }
  sqlStmt(n) {
    const kw = this.tok(n, "Kw_sql");
    const db = this.db(n, "db", this.cover(kw));
    const t = this.tok(n, "text");
    const span = this.cover(kw, db, t);
    return { kind: "sql", db, text: this.str(t, span), span };
  }
  exportStmt(n) {
    const kw = this.tok(n, "Kw_export");
    const db = this.db(n, "db", this.cover(kw));
    const tablesNode = this.node(n, "tables");
    const tables = tablesNode ? this.list(tablesNode) : void 0;
    const to = this.tok(n, "to");
    const format = this.tok(n, "format");
    const span = this.cover(kw, db, tables, to, this.tok(n, "Kw_format"), format);
    const s = { kind: "export", db, to: this.str(to, span), span };
    if (tables) s.tables = tables;
    if (format) {
      s.format = this.ident(format);
      if (format.image !== "csv" && format.image !== "web2py") this.error("syntax", messages.exportFormat(format.image), this.tokSpan(format));
    }
    return s;
  }
  importStmt(n) {
    const kw = this.tok(n, "Kw_import");
    const db = this.db(n, "db", this.cover(kw));
    const from = this.tok(n, "from");
    const span = this.cover(kw, db, this.tok(n, "Kw_from"), from);
    return { kind: "import", db, from: this.str(from, span), span };
  }
  syncStmt(n) {
    const kw = this.tok(n, "Kw_sync");
    const near = this.cover(kw);
    const db = this.db(n, "db", near);
    const fromEnv = this.db(n, "fromEnv", near);
    const fromDb = this.db(n, "fromDb", near);
    const tablesNode = this.node(n, "tables");
    const tables = tablesNode ? this.list(tablesNode) : void 0;
    const s = { kind: "sync", db, fromEnv, fromDb, span: this.cover(kw, db, fromEnv, fromDb, tables) };
    if (tables) s.tables = tables;
    return s;
  }
  waitStmt(n) {
    const kw = this.tok(n, "Kw_wait");
    const cond = this.condOf(n, "cond", this.cover(kw, this.tok(n, "Kw_until")));
    const every = this.tok(n, "every");
    const timeout = this.tok(n, "timeout");
    const s = { kind: "wait", cond, span: this.cover(kw, this.tok(n, "Kw_until"), cond, every, timeout) };
    if (every) s.every = this.duration(every);
    if (timeout) s.timeout = this.duration(timeout);
    return s;
  }
  undoStmt(n) {
    const kw = this.tok(n, "Kw_undo");
    const cmd = this.tok(n, "command");
    const body = this.node(n, "body");
    if (body) {
      const b = this.block(body);
      return { kind: "undo", body: b.body, span: this.cover(kw, b.span) };
    }
    return { kind: "undo", command: this.str(cmd, this.cover(kw)), span: this.cover(kw, cmd) };
  }
  timeoutStmt(n) {
    const kw = this.tok(n, "Kw_timeout");
    const d = this.tok(n, "duration");
    const duration = d ? this.duration(d) : { kind: "duration", ms: 0, text: "", span: this.cover(kw) };
    return { kind: "timeout", duration, span: this.cover(kw, d) };
  }
  retryStmt(n) {
    const kw = this.tok(n, "Kw_retry");
    const c = this.tok(n, "count");
    const every = this.tok(n, "every");
    const s = { kind: "retry", count: this.number(c, this.cover(kw)), span: this.cover(kw, c, every) };
    if (every) s.every = this.duration(every);
    return s;
  }
  allowFailureStmt(n) {
    return { kind: "allow-failure", span: this.cover(this.tok(n, "Kw_allow"), this.tok(n, "Kw_failure")) };
  }
  parallelStmt(n) {
    const kw = this.tok(n, "Kw_parallel");
    const c = this.tok(n, "count");
    return { kind: "parallel", count: this.number(c, this.cover(kw)), span: this.cover(kw, c) };
  }
  // ------------------------------------------------------------ conditions
  condOf(n, key, near) {
    const c = this.node(n, key);
    return c ? this.orCond(c) : { kind: "value", value: this.missing(near), span: near };
  }
  fold(n, kind, operand) {
    const ops = this.nodes(n, "operand");
    if (ops.length === 0) {
      const s = this.cover();
      return { kind: "value", value: this.missing(s), span: s };
    }
    let left = operand.call(this, ops[0]);
    for (let i = 1; i < ops.length; i++) {
      const right = operand.call(this, ops[i]);
      left = { kind, left, right, span: this.cover(left, right) };
    }
    return left;
  }
  orCond(n) {
    return this.fold(n, "or", this.andCond);
  }
  andCond(n) {
    return this.fold(n, "and", this.unaryCond);
  }
  unaryCond(n) {
    const not = this.tok(n, "Kw_not");
    if (not || n.children["Kw_not"]) {
      const operand = this.condOfUnary(n, "operand", this.cover(not));
      return { kind: "not", operand, span: this.cover(not, operand) };
    }
    const lp = this.tok(n, "LParen");
    if (lp || n.children["LParen"]) {
      const innerNode = this.node(n, "inner");
      const inner = innerNode ? this.orCond(innerNode) : { kind: "value", value: this.missing(this.cover(lp)), span: this.cover(lp) };
      return { kind: "group", inner, span: this.cover(lp, inner, this.tok(n, "RParen")) };
    }
    const leftNode = this.node(n, "left");
    const left = leftNode ? this.value(leftNode) : this.missing(this.cover());
    const op = this.tok(n, "op");
    if (!op && !n.children["op"]) return { kind: "value", value: left, span: left.span };
    const rightNode = this.node(n, "right");
    const opSpan = op ? this.tokSpan(op) : left.span;
    const right = rightNode ? this.value(rightNode) : this.missing(opSpan);
    return { kind: "compare", op: op?.image ?? "==", opSpan, left, right, span: this.cover(left, op, right) };
  }
  condOfUnary(n, key, near) {
    const c = this.node(n, key);
    return c ? this.unaryCond(c) : { kind: "value", value: this.missing(near), span: near };
  }
  value(n) {
    const lit = this.node(n, "literal");
    if (lit) return this.literal(lit);
    const name = this.tok(n, "name");
    if (name) {
      const members = (n.children["member"] ?? []).filter((t) => isToken(t) && real(t)).map((t) => this.ident(t));
      const path2 = [this.ident(name), ...members];
      return { kind: "name", path: path2, span: this.cover(name, ...n.children["Dot"] ?? [], ...members) };
    }
    const env = this.tok(n, "Kw_env");
    if (env) return { kind: "env", span: this.tokSpan(env) };
    const probe = this.tok(n, "probe");
    if (probe) {
      const arg = this.tok(n, "arg");
      const on = this.tok(n, "on");
      const kind = probe.image;
      if (kind === "query") {
        const db = this.db(n, "db", this.tokSpan(probe));
        const span2 = this.cover(probe, db, arg);
        return { kind: "query", db, sql: this.str(arg, span2), span: span2 };
      }
      const span = this.cover(probe, arg, this.tok(n, "Kw_on"), on);
      const s = this.str(arg, span);
      const v = kind === "succeeds" ? { kind: "succeeds", command: s, span } : kind === "output" ? { kind: "output", command: s, span } : { kind: "exists", path: s, span };
      if (on) v.on = this.ident(on);
      return v;
    }
    return this.missing(this.cover());
  }
  // ------------------------------------------------------------ literals
  missing(span) {
    return { kind: "string", parts: [], triple: false, span };
  }
  literal(n) {
    const s = n.children["string"]?.[0];
    if (s && isToken(s)) return this.str(real(s) ? s : void 0);
    const num = this.tok(n, "number");
    if (num) return this.number(num, this.zero);
    const d = this.tok(n, "duration");
    if (d) return this.duration(d);
    const b = this.tok(n, "bool");
    if (b) return { kind: "bool", value: b.image === "true", span: this.tokSpan(b) };
    const list = this.node(n, "list");
    if (list) return this.list(list);
    return this.missing(this.zero);
  }
  list(n) {
    const items = this.nodes(n, "item").map((i) => this.literal(i));
    return { kind: "list", items, span: this.cover(this.tok(n, "LBracket"), ...items, this.tok(n, "RBracket")) };
  }
  number(t, near) {
    if (!t) return { kind: "number", value: 0, span: near };
    const value = Number(t.image);
    return { kind: "number", value: Number.isFinite(value) ? value : 0, span: this.tokSpan(t) };
  }
  duration(t) {
    const ms = durationMs(t.image);
    return { kind: "duration", ms: Number.isNaN(ms) ? 0 : ms, text: t.image, span: this.tokSpan(t) };
  }
};
function titleWords(s) {
  return s.parts.map((p) => p.kind === "text" ? p.value : ` ${p.path.join(" ")} `).join("");
}
var STMT_BUILDERS = {
  requireStmt: Builder.prototype.requireStmt,
  confirmStmt(n) {
    return this.textStmt(n, "confirm");
  },
  manualStmt(n) {
    return this.textStmt(n, "manual");
  },
  noteStmt(n) {
    return this.textStmt(n, "note");
  },
  runStmt: Builder.prototype.runStmt,
  editStmt: Builder.prototype.editStmt,
  uploadStmt(n) {
    return this.copyStmt(n, "upload");
  },
  downloadStmt(n) {
    return this.copyStmt(n, "download");
  },
  sqlStmt: Builder.prototype.sqlStmt,
  exportStmt: Builder.prototype.exportStmt,
  importStmt: Builder.prototype.importStmt,
  syncStmt: Builder.prototype.syncStmt,
  waitStmt: Builder.prototype.waitStmt,
  undoStmt: Builder.prototype.undoStmt,
  timeoutStmt: Builder.prototype.timeoutStmt,
  retryStmt: Builder.prototype.retryStmt,
  allowFailureStmt: Builder.prototype.allowFailureStmt,
  parallelStmt: Builder.prototype.parallelStmt
};
function headerKeywords(cst, file) {
  return new Builder(file).headerKeywords(cst);
}

// language/compile.ts
var defaultRead = (p) => readFileSync(p, "utf8");
function compile(file, text2, options = {}) {
  const diagnostics = [];
  const sources = /* @__PURE__ */ new Map();
  try {
    const readFile = options.readFile ?? defaultRead;
    if (text2 === void 0) {
      const read = tryRead(readFile, file);
      if (read === void 0) {
        diagnostics.push(error("io", messages.cannotRead(file), { file, offset: 0, line: 1, column: 1, length: 0 }));
        return { diagnostics, sources };
      }
      text2 = read;
    }
    const runbook = new Compilation(file, text2, readFile, diagnostics, sources).run();
    if (!runbook || hasErrors(diagnostics)) return { diagnostics, sources };
    if (options.check !== false) {
      try {
        diagnostics.push(...check(runbook));
      } catch (e) {
        diagnostics.push(internal(file, e));
      }
    }
    return hasErrors(diagnostics) ? { diagnostics, sources } : { runbook, diagnostics, sources };
  } catch (e) {
    diagnostics.push(internal(file, e));
    return { diagnostics, sources };
  }
}
function compileSource(text2, file = "<input>", options = {}) {
  return compile(file, text2, options);
}
function error(code, message, span) {
  return { severity: "error", code, message, span };
}
function internal(file, e) {
  const msg = e instanceof Error ? e.message : String(e);
  return error("internal", messages.internal(msg), { file, offset: 0, line: 1, column: 1, length: 0 });
}
function tryRead(readFile, p) {
  try {
    const t = readFile(p);
    return typeof t === "string" ? t : void 0;
  } catch {
    return void 0;
  }
}
var Compilation = class {
  constructor(file, text2, readFile, diagnostics, sources) {
    this.file = file;
    this.text = text2;
    this.readFile = readFile;
    this.diagnostics = diagnostics;
    this.sources = sources;
  }
  file;
  text;
  readFile;
  diagnostics;
  sources;
  /** Resolved (absolute) path → display path of every file already included. */
  included = /* @__PURE__ */ new Map();
  order = [];
  run() {
    const { file, text: text2 } = this;
    this.sources.set(file, text2);
    this.order.push({ file, text: text2 });
    this.included.set(path.resolve(file), file);
    const ast = this.load(file, text2, true);
    const spliced = this.splice(ast, [path.resolve(file)], [file]);
    if (!ast.header) {
      this.diagnostics.push(error("missing-header", messages.missingHeader(), { file, offset: 0, line: 1, column: 1, length: 0 }));
      return void 0;
    }
    const rb = {
      kind: "runbook",
      file,
      header: ast.header,
      decls: spliced.decls,
      envs: spliced.envs,
      items: spliced.items,
      sources: this.order,
      span: ast.span
    };
    if (ast.defaultEnv) rb.defaultEnv = ast.defaultEnv;
    if (spliced.finally) rb.finally = { ...spliced.finally, steps: spliced.finallySteps };
    return rb;
  }
  /** Parses one file into its AST, reporting its syntax errors. */
  load(file, text2, main) {
    const parsed = parseSource(file, text2);
    this.diagnostics.push(...parsed.diagnostics);
    const { ast, diagnostics } = toAst(parsed.cst, file, { text: text2 });
    this.diagnostics.push(...diagnostics);
    if (!main) {
      for (const kw of headerKeywords(parsed.cst, file)) {
        this.diagnostics.push(error("syntax", messages.headerInInclude(kw.image), tokenSpan(file, kw)));
      }
      if (ast.defaultEnv) this.diagnostics.push(error("syntax", messages.defaultEnvInInclude(), ast.defaultEnv.span));
      delete ast.header;
      delete ast.defaultEnv;
    }
    return ast;
  }
  /** Resolves the includes of `ast` and splices their contents in at each include's place. */
  splice(ast, stack, shown) {
    const subs = [];
    for (const inc of ast.includes) {
      const sub = this.resolve(inc, ast.span.file, stack, shown);
      if (sub) subs.push({ at: inc.span.offset, sub });
    }
    const merge = (own, pick) => {
      if (subs.length === 0) return own;
      const out = [];
      let i = 0;
      for (const { at, sub } of subs) {
        while (i < own.length && own[i].span.offset < at) out.push(own[i++]);
        out.push(...pick(sub));
      }
      while (i < own.length) out.push(own[i++]);
      return out;
    };
    const result = {
      decls: merge(ast.decls, (s) => s.decls),
      envs: merge(ast.envs, (s) => s.envs),
      items: merge(ast.items, (s) => s.items),
      finallySteps: merge(ast.finally?.steps ?? [], (s) => s.finallySteps)
    };
    const fin = ast.finally ?? subs.find((s) => s.sub.finally)?.sub.finally;
    if (fin) result.finally = fin;
    return result;
  }
  resolve(inc, from, stack, shown) {
    const rel = literalText(inc.path);
    if (rel === void 0) {
      this.diagnostics.push(error("include", messages.noInterpolationIn("an include path"), inc.path.span));
      return void 0;
    }
    if (rel === "") return void 0;
    const display = path.isAbsolute(rel) ? path.normalize(rel) : path.normalize(path.join(path.dirname(from), rel));
    const key = path.resolve(display);
    inc.resolved = display;
    if (stack.includes(key)) {
      const start = stack.indexOf(key);
      this.diagnostics.push(error("include-cycle", messages.includeCycle([...shown.slice(start), display]), inc.span));
      return void 0;
    }
    if (this.included.has(key)) {
      this.diagnostics.push(error("include", messages.includeTwice(display), inc.span));
      return void 0;
    }
    const text2 = tryRead(this.readFile, display);
    if (text2 === void 0) {
      this.diagnostics.push(error("include-missing", messages.includeMissing(display), inc.span));
      return void 0;
    }
    this.included.set(key, display);
    this.sources.set(display, text2);
    this.order.push({ file: display, text: text2 });
    const ast = this.load(display, text2, false);
    return this.splice(ast, [...stack, key], [...shown, display]);
  }
};

// tests/language/zz-prof.ts
var head = readFileSync2("/tmp/haiti.rb", "utf8");
for (const variant of ["clean", "warn"]) {
  let text2 = head + '\nsection "Many" {\n';
  for (let i = 0; i < 1e4; i++) text2 += `  step "Step ${i}" on portal when env != "prod" {
    run "cd \${web2py}/applications/\${app} && echo ${i} \${branch}"
    sql appdb "DELETE FROM t${i}${variant === "clean" ? " WHERE id = 1" : ""}"
    undo "true"
  }
`;
  text2 += "}\n";
  const r = compileSource(text2, "big.rb", { check: false });
  const times = [];
  const cpu = [];
  for (let k = 0; k < 20; k++) {
    const c = process.cpuUsage();
    const t = performance.now();
    check(r.runbook);
    times.push(Math.round(performance.now() - t));
    const u = process.cpuUsage(c);
    cpu.push(Math.round(u.user / 1e3));
  }
  console.log(variant, "min", Math.min(...times), "median", times.sort((a, b) => a - b)[10], "cpu min", Math.min(...cpu));
}
