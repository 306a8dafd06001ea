// CST → AST: turns the Chevrotain CST of one file (parser.ts) into the typed FileAst of
// ast.ts. Every node gets the span of its whole source text, identifiers the span of
// their token; strings are decoded by strings.ts, durations converted to milliseconds.
// It never throws on a CST that error recovery left incomplete: missing pieces become
// empty placeholders (the file has syntax errors then, so no runbook is produced).
// compile.ts calls it once per file, then splices includes.

import type { CstElement, CstNode, IToken } from "chevrotain";
import {
  kebabId,
  literalText,
  type CompareOp,
  type Cond,
  type DatabaseDecl,
  type Decl,
  type DurationLit,
  type EnvBlock,
  type ApprovalsStmt,
  type FileAst,
  type HostDecl,
  type FinallyBlock,
  type Header,
  type Ident,
  type IncludeDecl,
  type ListLit,
  type Literal,
  type NumberLit,
  type Replace,
  type Section,
  type Step,
  type Stmt,
  type StringLit,
  type Value,
  type ConfirmStmt,
  type RequireStmt,
  type RunStmt,
  type Into,
  type MemberValues,
  type ExportStmt,
  type SyncStmt,
  type WaitStmt,
  type RetryStmt,
  type SucceedsProbe,
  type OutputProbe,
  type ExistsProbe,
} from "./ast.js";
import type { Diagnostic } from "./diagnostics.js";
import { messages } from "./messages.js";
import { respan, SourceText, type Span } from "./span.js";
import { STATEMENT_KINDS, STATEMENTS, type StmtKind, type StmtOf } from "./statements.js";
import { decodeString, durationMs } from "./strings.js";
import * as T from "./tokens.js";

export interface ToAstOptions {
  /** The text of the file (for the file's span). */
  text?: string;
}

export interface ToAstResult {
  ast: FileAst;
  diagnostics: Diagnostic[];
}

type Spanned = IToken | { span: Span } | Span | undefined;

const isToken = (x: CstElement): x is IToken => (x as IToken).image !== undefined;
const NO_NODES: CstNode[] = [];
/** The longest run of one operator nested to the left (`chain`). */
const CHAIN_RUN = 16;
const real = (t: IToken | undefined): t is IToken => !!t && !t.isInsertedInRecovery && !Number.isNaN(t.startOffset);

// Reading a CST node's children: `first(n.children["title"])`. The key is written at each
// place it is read, so V8 sees one kind of node there (a shared helper taking the key would
// see every kind of node and look each key up the slow way).

/** The element `i` under a key, when it is a real token (not one recovery made up). */
const first = (xs: CstElement[] | undefined, i = 0): IToken | undefined => {
  const e = xs?.[i];
  return e && isToken(e) && real(e) ? e : undefined;
};

/** The first element under a key, when it is a node. */
const firstNode = (xs: CstElement[] | undefined): CstNode | undefined => {
  const e = xs?.[0];
  return e && !isToken(e) ? e : undefined;
};

/** The subrule nodes under a key (keys of subrules only ever hold nodes). */
const subnodes = (xs: CstElement[] | undefined): CstNode[] => (xs as CstNode[] | undefined) ?? NO_NODES;

/** Builds the AST of one file from its CST. */
export function toAst(cst: CstNode | undefined, file: string, options: ToAstOptions = {}): ToAstResult {
  const text = options.text ?? "";
  const b = new Builder(new SourceText(file, text));
  const ast = b.fileAst(cst, text);
  return { ast, diagnostics: b.diagnostics };
}

/**
 * `toAst` fed while the file is parsed: hand `onItem` to `parseSource`, then call `finish`
 * with the file's CST. Sections, steps and `finally` blocks are built as soon as they are
 * parsed and their CST is let go, so a large runbook's CST never has to be all in memory.
 * The result is the one `toAst` gives for the same CST (diagnostics in the same order).
 */
export function streamingToAst(file: string, text: string): { source: SourceText; onItem: (item: CstNode) => void; finish: (cst: CstNode | undefined) => ToAstResult } {
  const source = new SourceText(file, text);
  const b = new Builder(source);
  return {
    source,
    onItem: (item) => b.prebuild(item),
    finish: (cst) => {
      const ast = b.fileAst(cst, text);
      return { ast, diagnostics: b.diagnostics };
    },
  };
}

/** A `{ … }` body as built: its statements and its braces. */
interface Block {
  body: Stmt[];
  open?: IToken;
  close?: IToken;
}

interface Prebuilt {
  ast: Section | Step | FinallyBlock;
  diagnostics: Diagnostic[];
}

class Builder {
  diagnostics: Diagnostic[] = [];
  private readonly zero: Span;
  /** Items built while parsing (`streamingToAst`), by their (emptied) CST node. */
  private readonly prebuilt = new Map<CstNode, Prebuilt>();

  private readonly file: string;

  constructor(private readonly src: SourceText) {
    this.file = src.file;
    this.zero = src.span(0, 0);
  }

  // ------------------------------------------------------------ helpers

  private tokSpan(t: IToken): Span {
    return this.src.span(t.startOffset, t.image.length);
  }

  private ident(t: IToken): Ident {
    return { name: t.image, span: this.tokSpan(t) };
  }

  /** The span covering all the given pieces (those that are present); tokens are read in place. */
  private cover(...items: Spanned[]): Span {
    let offset = Infinity;
    let end = -1;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (!it) continue;
      let o: number;
      let len: number;
      if ((it as IToken).image !== undefined) {
        const t = it as IToken;
        if (!real(t)) continue;
        o = t.startOffset;
        len = t.image.length;
      } else {
        const sp = (it as { span?: Span }).span ?? (it as Span);
        if (Number.isNaN(sp.offset) || sp.file !== this.file) continue;
        o = sp.offset;
        len = sp.length;
      }
      if (o < offset) offset = o;
      if (o + len > end) end = o + len;
    }
    if (offset === Infinity) return this.zero;
    return this.src.span(offset, Math.max(0, end - offset));
  }

  /** The span from the start of one real token to the end of a later one. */
  private between(first: IToken, last: IToken): Span {
    return this.src.span(first.startOffset, last.startOffset + last.image.length - first.startOffset);
  }

  /** A string token decoded; an empty string at `near` when recovery left it out. */
  private str(t: IToken | undefined, near?: Spanned): StringLit {
    if (!real(t)) return { kind: "string", parts: [], triple: false, span: this.cover(near) };
    const terminated = t.tokenType !== T.UnterminatedString && t.tokenType !== T.UnterminatedTripleString;
    return decodeString(t, this.src, this.diagnostics, terminated);
  }

  private error(code: string, message: string, span: Span, notes?: string[]) {
    this.diagnostics.push({ severity: "error", code, message, span, ...(notes ? { notes } : {}) });
  }

  /** Sorts by source offset; the usual input is already in order (one check, no sort). */
  private byOffset<X extends { span: Span }>(xs: X[]): X[] {
    for (let i = 1; i < xs.length; i++) if (xs[i - 1]!.span.offset > xs[i]!.span.offset) return xs.sort((a, b) => a.span.offset - b.span.offset);
    return xs;
  }

  // ------------------------------------------------------------ file

  /** Builds a section, step or `finally` block now and empties its CST node. */
  prebuild(n: CstNode): void {
    if (n.name !== "section" && n.name !== "step" && n.name !== "finallyBlock") return;
    const outer = this.diagnostics;
    this.diagnostics = [];
    try {
      const ast = n.name === "section" ? this.section(n) : n.name === "step" ? this.step(n) : this.finallyBlock(n);
      this.prebuilt.set(n, { ast, diagnostics: this.diagnostics });
      (n as { children: CstNode["children"] }).children = {};
    } finally {
      this.diagnostics = outer;
    }
  }

  /** The item built while parsing, its diagnostics reported now; else undefined. */
  private taken<X extends Section | Step | FinallyBlock>(n: CstNode): X | undefined {
    const pre = this.prebuilt.get(n);
    if (!pre) return undefined;
    this.diagnostics.push(...pre.diagnostics);
    return pre.ast as X;
  }

  fileAst(cst: CstNode | undefined, text: string): FileAst {
    const span = this.src.span(0, text.length);
    const ast: FileAst = { kind: "file", span, includes: [], decls: [], envs: [], items: [] };
    if (!cst) return ast;

    let header: Header | undefined;
    const firstOther: number[] = [];
    for (const h of subnodes(cst.children["header"])) {
      const kw = first(h.children["Kw_runbook"]);
      const nameTok = first(h.children["name"]);
      const name =
        nameTok && nameTok.tokenType === T.Identifier
          ? ({ kind: "string", parts: [{ kind: "text", value: nameTok.image, span: this.tokSpan(nameTok) }], triple: false, span: this.tokSpan(nameTok) } as StringLit)
          : this.str(nameTok, kw);
      const version = this.str(first(h.children["version"]), this.cover(kw));
      const hs = this.cover(kw, nameTok, first(h.children["Kw_version"]), first(h.children["version"]));
      if (header) {
        this.error("syntax", messages.duplicate("runbook"), this.cover(kw));
        continue;
      }
      header = { name, version, span: hs };
    }
    const single = (key: string, word: string): { text: StringLit; span: Span } | undefined => {
      let found: { text: StringLit; span: Span } | undefined;
      for (const n of subnodes(cst.children[key])) {
        const kw = first(n.children[`Kw_${word}`]);
        const t = first(n.children["text"]);
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

    for (const n of subnodes(cst.children["defaultEnv"])) {
      const kw = first(n.children["Kw_default"]);
      const name = first(n.children["name"]);
      firstOther.push(this.cover(kw, name).offset);
      if (ast.defaultEnv) {
        this.error("syntax", messages.duplicate("default env"), this.cover(kw, first(n.children["Kw_env"])));
        continue;
      }
      if (name) ast.defaultEnv = this.ident(name);
    }
    for (const n of subnodes(cst.children["include"])) {
      const kw = first(n.children["Kw_include"]);
      const s = this.cover(kw, first(n.children["path"]));
      const inc: IncludeDecl = { kind: "include", path: this.str(first(n.children["path"]), s), span: s };
      ast.includes.push(inc);
    }
    ast.decls = this.decls(cst);
    ast.envs = subnodes(cst.children["envBlock"]).map((n) => this.envBlock(n));
    ast.items = this.byOffset<Section | Step>([
      ...subnodes(cst.children["section"]).map((n) => this.taken<Section>(n) ?? this.section(n)),
      ...subnodes(cst.children["step"]).map((n) => this.taken<Step>(n) ?? this.step(n)),
    ]);
    const finals = subnodes(cst.children["finallyBlock"]).map((n) => this.taken<FinallyBlock>(n) ?? this.finallyBlock(n));
    if (finals[0]) ast.finally = finals[0];
    for (const extra of finals.slice(1)) this.error("syntax", messages.duplicateFinally(), respan(extra.span, extra.span.offset, "finally".length));

    if (header) {
      for (const x of [...ast.includes, ...ast.decls, ...ast.envs, ...ast.items, ...finals]) firstOther.push(x.span.offset);
      const before = firstOther.some((o) => o < header!.span.offset);
      if (before) this.error("header-position", messages.headerNotFirst(), respan(header.span, header.span.offset, "runbook".length));
    }
    return ast;
  }

  /** The header keywords found in a file (for "an included file has no header"). */
  headerKeywords(cst: CstNode | undefined): IToken[] {
    if (!cst) return [];
    const out: IToken[] = [];
    for (const [key, word] of [["header", "runbook"], ["description", "description"], ["owner", "owner"]] as const) {
      for (const n of subnodes(cst.children[key])) {
        const t = first(n.children[`Kw_${word}`]);
        if (t) out.push(t);
      }
    }
    return out;
  }

  // ------------------------------------------------------------ declarations

  private decls(n: CstNode): Decl[] {
    return this.byOffset<Decl>([
      ...subnodes(n.children["paramDecl"]).map((d) => this.valueDecl(d, "param")),
      ...subnodes(n.children["varDecl"]).map((d) => this.valueDecl(d, "var")),
      ...subnodes(n.children["secretDecl"]).map((d) => this.secretDecl(d)),
      ...subnodes(n.children["hostDecl"]).map((d) => this.hostDecl(d)),
      ...subnodes(n.children["databaseDecl"]).map((d) => this.databaseDecl(d)),
    ]);
  }

  private name(n: CstNode, near: Span): Ident {
    const t = first(n.children["name"]);
    return t ? this.ident(t) : { name: "", span: near };
  }

  private valueDecl(n: CstNode, kind: "param" | "var"): Decl {
    const kw = first(n.children[kind === "param" ? "Kw_param" : "Kw_var"]);
    const name = this.name(n, this.cover(kw));
    const valueNode = firstNode(n.children["value"]);
    const value = valueNode ? this.literal(valueNode) : this.missing(this.cover(kw, name));
    return { kind, name, value, span: this.cover(kw, name, value) };
  }

  private secretDecl(n: CstNode): Decl {
    const kw = first(n.children["Kw_secret"]);
    const name = this.name(n, this.cover(kw));
    const src = first(n.children["source"]);
    const refTok = first(n.children["ref"]);
    const ref = this.str(refTok, this.cover(kw, name, src));
    return {
      kind: "secret",
      name,
      source: src?.image === "file" ? "file" : src?.image === "command" ? "command" : "env",
      ref,
      span: this.cover(kw, name, src, refTok),
    };
  }

  private hostDecl(n: CstNode): Decl {
    const kw = first(n.children["Kw_host"]);
    const name = this.name(n, this.cover(kw));
    const group = firstNode(n.children["group"]);
    const target = first(n.children["target"]);
    const local = first(n.children["local"]);
    let value: HostDecl["value"];
    if (local) value = { kind: "local", span: this.tokSpan(local) };
    else value = group ? this.hostGroup(group) : this.str(target, this.cover(kw, name));
    return { kind: "host", name, value, span: this.cover(kw, name, value) };
  }

  private databaseDecl(n: CstNode): DatabaseDecl {
    const kw = first(n.children["Kw_database"]);
    const name = this.name(n, this.cover(kw));
    const sqlite = first(n.children["Kw_sqlite"]);
    let value: DatabaseDecl["value"];
    if (sqlite || !first(n.children["Kw_mysql"])) {
      const pathTok = first(n.children["path"]);
      const on = first(n.children["on"]);
      value = { engine: "sqlite", path: this.str(pathTok, this.cover(kw, name, sqlite)), span: this.cover(sqlite, pathTok, on) };
      if (on) value.on = this.ident(on);
    } else {
      const my = first(n.children["Kw_mysql"]);
      const urlTok = first(n.children["url"]);
      const pw = first(n.children["password"]);
      const via = first(n.children["via"]);
      value = { engine: "mysql", url: this.str(urlTok, my), span: this.cover(my, urlTok, pw, via) };
      if (pw) value.password = this.ident(pw);
      if (via) value.via = this.ident(via);
    }
    if (value.span === this.zero) value.span = this.cover(kw, name);
    return { kind: "database", name, value, span: this.cover(kw, name, value) };
  }

  private envBlock(n: CstNode): EnvBlock {
    const kw = first(n.children["Kw_env"]);
    const nameTok = first(n.children["name"]);
    const name = nameTok ? this.ident(nameTok) : { name: "", span: this.cover(kw) };
    const env: EnvBlock = {
      kind: "env",
      name,
      confirms: subnodes(n.children["confirmStmt"]).map((c) => this.textStmt(c, "confirm") as ConfirmStmt),
      overrides: this.decls(n),
      span: this.cover(kw, nameTok, first(n.children["LBrace"]), first(n.children["RBrace"])),
    };
    const prot = (n.children["Kw_protected"] ?? []).filter((t): t is IToken => isToken(t) && real(t));
    if (prot[0]) env.protected = this.tokSpan(prot[0]);
    for (const extra of prot.slice(1)) this.error("syntax", messages.duplicate("protected"), this.tokSpan(extra));
    const approvals = subnodes(n.children["approvalsStmt"]).map((a) => this.approvalsStmt(a));
    if (approvals[0]) env.approvals = approvals[0];
    for (const extra of approvals.slice(1)) this.error("syntax", messages.duplicate("approvals"), extra.span);
    return env;
  }

  private approvalsStmt(n: CstNode): ApprovalsStmt {
    const kw = first(n.children["Kw_approvals"]);
    const c = first(n.children["count"]);
    const g = first(n.children["group"]);
    const d = first(n.children["duration"]);
    const s: ApprovalsStmt = { kind: "approvals", count: this.number(c, kw), group: this.str(g, kw), span: this.cover(kw, c, g, d) };
    if (d) s.within = this.duration(d);
    return s;
  }

  // ------------------------------------------------------------ sections and steps

  private section(n: CstNode): Section {
    const kw = first(n.children["Kw_section"]);
    const titleTok = first(n.children["title"]);
    const steps = subnodes(n.children["step"]).map((s) => this.step(s));
    const span = this.cover(kw, titleTok, first(n.children["LBrace"]), first(n.children["RBrace"]), ...steps);
    return { kind: "section", title: this.str(titleTok, span), steps, span };
  }

  private finallyBlock(n: CstNode): FinallyBlock {
    const kw = first(n.children["Kw_finally"]);
    const steps = subnodes(n.children["step"]).map((s) => this.step(s));
    return { kind: "finally", steps, span: this.cover(kw, first(n.children["LBrace"]), first(n.children["RBrace"]), ...steps) };
  }

  step(n: CstNode): Step {
    const kw = first(n.children["Kw_step"]);
    const titleTok = first(n.children["title"]);
    const title = this.str(titleTok, kw);
    const blockNode = firstNode(n.children["block"]);
    const block: Block = blockNode ? this.block(blockNode) : { body: [] };
    const idTok = first(n.children["id"]);
    let id: string;
    let idSpan: Span;
    if (idTok) {
      idSpan = this.tokSpan(idTok);
      if (idTok.tokenType === T.Identifier) id = idTok.image;
      else {
        const s = this.str(idTok);
        const text = literalText(s);
        if (text === undefined) this.error("syntax", messages.noInterpolationIn("a step id"), idSpan);
        id = text ?? kebabId(titleWords(s));
      }
    } else {
      id = kebabId(titleWords(title));
      idSpan = title.span;
    }
    const onTok = first(n.children["on"]);
    const whenNode = firstNode(n.children["when"]);
    const unlessNode = firstNode(n.children["unless"]);
    const step: Step = {
      kind: "step",
      title,
      id,
      idSpan,
      body: block.body,
      span: this.zero,
    };
    if (onTok) step.on = this.ident(onTok);
    if (whenNode) step.when = this.cond(whenNode);
    if (unlessNode) step.unless = this.cond(unlessNode);
    step.span = block.close && kw ? this.between(kw, block.close) : this.cover(kw, titleTok, idTok, onTok, step.when, step.unless, this.blockSpan(block));
    return step;
  }

  private block(n: CstNode): Block {
    const body: Stmt[] = [];
    for (const key in n.children) {
      const build = BUILDER_OF_RULE[key];
      if (!build) continue;
      for (const e of n.children[key]!) if (!isToken(e)) body.push(build.call(this, e));
    }
    this.byOffset(body);
    // (`slice`: the exact length, as strings.ts does for string parts.)
    return { body: body.slice(), open: first(n.children["LBrace"]), close: first(n.children["RBrace"]) };
  }

  /** A block's span, from `{` to `}` (what recovery left of them and the statements). */
  private blockSpan(b: Block): Span {
    return b.open && b.close ? this.between(b.open, b.close) : this.cover(b.open, b.close, ...b.body);
  }

  // ------------------------------------------------------------ statements

  textStmt(n: CstNode, kind: "confirm" | "manual" | "note"): Stmt {
    const kw = first(n.children[`Kw_${kind}`]);
    const t = first(n.children["text"]);
    const text = this.str(t, kw);
    const span = this.cover(kw, t);
    if (kind === "confirm") return { kind, question: text, span };
    return { kind, text, span };
  }

  requireStmt(n: CstNode): StmtOf<"require"> {
    const kw = first(n.children["Kw_require"]);
    const cond = this.condOf(n, "cond", this.cover(kw));
    const why = first(n.children["why"]);
    const s: RequireStmt = { kind: "require", cond, span: this.cover(kw, cond, first(n.children["Kw_else"]), why) };
    if (why) s.else = this.str(why);
    return s;
  }

  runStmt(n: CstNode): StmtOf<"run"> {
    const kw = first(n.children["Kw_run"]);
    const cmdTok = first(n.children["command"]);
    const user = first(n.children["user"]);
    const into = this.into(n);
    const s: RunStmt = { kind: "run", command: this.str(cmdTok, kw), span: this.cover(kw, cmdTok, first(n.children["Kw_as"]), user, into) };
    if (into) s.into = into;
    if (user) {
      if (user.tokenType === T.Identifier) s.as = this.ident(user);
      else {
        const u = this.str(user);
        const text = literalText(u);
        s.as = text === undefined ? u : { name: text, span: u.span };
      }
    }
    return s;
  }

  editStmt(n: CstNode): StmtOf<"edit"> {
    const kw = first(n.children["Kw_edit"]);
    const pathTok = first(n.children["path"]);
    const replaces: Replace[] = subnodes(n.children["replaceClause"]).map((r) => {
      const rk = first(r.children["Kw_replace"]);
      const oldTok = first(r.children["old"]);
      const newTok = first(r.children["new"]);
      const span = this.cover(rk, first(r.children["Kw_all"]), oldTok, first(r.children["Kw_with"]), newTok);
      return { all: !!first(r.children["Kw_all"]), old: this.str(oldTok, span), new: this.str(newTok, span), span };
    });
    return {
      kind: "edit",
      path: this.str(pathTok, kw),
      replaces,
      span: this.cover(kw, pathTok, first(n.children["LBrace"]), first(n.children["RBrace"]), ...replaces),
    };
  }

  copyStmt(n: CstNode, kind: "upload" | "download"): Stmt {
    const kw = first(n.children[`Kw_${kind}`]);
    const from = first(n.children["from"]);
    const to = first(n.children["to"]);
    const template = first(n.children["template"]);
    const span = this.cover(kw, template, from, first(n.children["Kw_to"]), to);
    if (kind === "upload" && template) return { kind, template: true, from: this.str(from, span), to: this.str(to, span), span };
    return { kind, from: this.str(from, span), to: this.str(to, span), span };
  }

  private db(n: CstNode, key: string, near: Spanned): Ident {
    const t = first(n.children[key]);
    return t ? this.ident(t) : { name: "", span: this.cover(near) };
  }

  sqlStmt(n: CstNode): StmtOf<"sql"> {
    const kw = first(n.children["Kw_sql"]);
    const db = this.db(n, "db", kw);
    const t = first(n.children["text"]);
    const into = this.into(n);
    const span = this.cover(kw, db, t, into);
    return { kind: "sql", db, text: this.str(t, span), span, ...(into ? { into } : {}) };
  }

  private into(n: CstNode): Into | undefined {
    const c = firstNode(n.children["intoClause"]);
    if (!c) return undefined;
    const kw = first(c.children["into"]);
    const nameTok = first(c.children["capture"]);
    const name = nameTok ? this.ident(nameTok) : { name: "", span: this.cover(kw) };
    return { name, secret: !!first(c.children["captureSecret"]), span: this.cover(kw, nameTok) };
  }

  exportStmt(n: CstNode): StmtOf<"export"> {
    const kw = first(n.children["Kw_export"]);
    const db = this.db(n, "db", kw);
    const tablesNode = firstNode(n.children["tables"]);
    const tables = tablesNode ? this.list(tablesNode) : undefined;
    const to = first(n.children["to"]);
    const format = first(n.children["format"]);
    const span = this.cover(kw, db, tables, to, first(n.children["Kw_format"]), format);
    const s: ExportStmt = { kind: "export", db, to: this.str(to, span), span };
    if (tables) s.tables = tables;
    if (format) s.format = this.ident(format); // check.ts reports a format other than csv or web2py (bad-format)
    return s;
  }

  importStmt(n: CstNode): StmtOf<"import"> {
    const kw = first(n.children["Kw_import"]);
    const db = this.db(n, "db", kw);
    const from = first(n.children["from"]);
    const span = this.cover(kw, db, first(n.children["Kw_from"]), from);
    return { kind: "import", db, from: this.str(from, span), span };
  }

  syncStmt(n: CstNode): StmtOf<"sync"> {
    const kw = first(n.children["Kw_sync"]);
    const near = this.cover(kw);
    const db = this.db(n, "db", near);
    const fromEnv = this.db(n, "fromEnv", near);
    const fromDb = this.db(n, "fromDb", near);
    const tablesNode = firstNode(n.children["tables"]);
    const tables = tablesNode ? this.list(tablesNode) : undefined;
    const s: SyncStmt = { kind: "sync", db, fromEnv, fromDb, span: this.cover(kw, db, fromEnv, fromDb, tables) };
    if (tables) s.tables = tables;
    return s;
  }

  waitStmt(n: CstNode): StmtOf<"wait"> {
    const kw = first(n.children["Kw_wait"]);
    const cond = this.condOf(n, "cond", this.cover(kw, first(n.children["Kw_until"])));
    const every = first(n.children["every"]);
    const timeout = first(n.children["timeout"]);
    const again = first(n.children["Kw_every"], 1);
    if (again) this.error("syntax", messages.duplicate("every"), this.tokSpan(again));
    const s: WaitStmt = { kind: "wait", cond, span: this.cover(kw, first(n.children["Kw_until"]), cond, every, timeout, first(n.children["every"], 1)) };
    if (every) s.every = this.duration(every);
    if (timeout) s.timeout = this.duration(timeout);
    return s;
  }

  undoStmt(n: CstNode): StmtOf<"undo"> {
    const kw = first(n.children["Kw_undo"]);
    const cmd = first(n.children["command"]);
    const body = firstNode(n.children["body"]);
    if (body) {
      const b = this.block(body);
      return { kind: "undo", body: b.body, span: this.cover(kw, this.blockSpan(b)) };
    }
    return { kind: "undo", command: this.str(cmd, kw), span: this.cover(kw, cmd) };
  }

  timeoutStmt(n: CstNode): StmtOf<"timeout"> {
    const kw = first(n.children["Kw_timeout"]);
    const d = first(n.children["duration"]);
    const duration = d ? this.duration(d) : { kind: "duration" as const, ms: 0, text: "", span: this.cover(kw) };
    return { kind: "timeout", duration, span: this.cover(kw, d) };
  }

  retryStmt(n: CstNode): StmtOf<"retry"> {
    const kw = first(n.children["Kw_retry"]);
    const c = first(n.children["count"]);
    const every = first(n.children["every"]);
    const s: RetryStmt = { kind: "retry", count: this.number(c, kw), span: this.cover(kw, c, every) };
    if (every) s.every = this.duration(every);
    return s;
  }

  allowFailureStmt(n: CstNode): StmtOf<"allow-failure"> {
    return { kind: "allow-failure", span: this.cover(first(n.children["Kw_allow"]), first(n.children["Kw_failure"])) };
  }

  parallelStmt(n: CstNode): StmtOf<"parallel"> {
    const kw = first(n.children["Kw_parallel"]);
    const c = first(n.children["count"]);
    return { kind: "parallel", count: this.number(c, kw), span: this.cover(kw, c) };
  }

  // ------------------------------------------------------------ conditions

  private condOf(n: CstNode, key: string, near: Span): Cond {
    const c = firstNode(n.children[key]);
    return c ? this.cond(c) : { kind: "value", value: this.missing(near), span: near };
  }

  /** A `cond` node: operands joined by `and`/`or`, `and` binding tighter, both left to right. */
  cond(n: CstNode): Cond {
    const ops = subnodes(n.children["operand"]);
    if (ops.length === 0) {
      const s = this.cover();
      return { kind: "value", value: this.missing(s), span: s };
    }
    const logic = (n.children["logic"] ?? []) as IToken[];
    // The operands of each `and` run, then the runs joined by `or`.
    const ors: Cond[] = [];
    let ands: Cond[] = [this.unaryCond(ops[0]!)];
    for (let i = 1; i < ops.length; i++) {
      const right = this.unaryCond(ops[i]!);
      if (logic[i - 1]?.image === "or") {
        ors.push(this.chain("and", ands));
        ands = [right];
      } else ands.push(right);
    }
    ors.push(this.chain("and", ands));
    return this.chain("or", ors);
  }

  /**
   * Operands joined by one operator: nested to the left (`a and b and c` is
   * `(a and b) and c`) up to CHAIN_RUN of them, a longer run halved first, so that a
   * chain of 10,000 terms is a tree about 20 deep, not 10,000 (everything that walks
   * conditions recurses). The value and the order of evaluation are the same either way.
   */
  private chain(kind: "and" | "or", items: Cond[], from = 0, to = items.length): Cond {
    if (to - from > CHAIN_RUN) {
      const mid = from + Math.ceil((to - from) / 2);
      const left = this.chain(kind, items, from, mid);
      const right = this.chain(kind, items, mid, to);
      return { kind, left, right, span: this.cover(left, right) };
    }
    let c = items[from]!;
    for (let i = from + 1; i < to; i++) c = { kind, left: c, right: items[i]!, span: this.cover(c, items[i]!) };
    return c;
  }

  private unaryCond(n: CstNode): Cond {
    const not = first(n.children["Kw_not"]);
    if (not || n.children["Kw_not"]) {
      const operand = this.condOfUnary(n, "operand", this.cover(not));
      return { kind: "not", operand, span: this.cover(not, operand) };
    }
    const lp = first(n.children["LParen"]);
    if (lp || n.children["LParen"]) {
      const innerNode = firstNode(n.children["inner"]);
      const inner: Cond = innerNode ? this.cond(innerNode) : { kind: "value", value: this.missing(this.cover(lp)), span: this.cover(lp) };
      return { kind: "group", inner, span: this.cover(lp, inner, first(n.children["RParen"])) };
    }
    const leftNode = firstNode(n.children["left"]);
    const left = leftNode ? this.value(leftNode) : this.missing(this.cover());
    const op = first(n.children["op"]);
    if (!op && !n.children["op"]) return { kind: "value", value: left, span: left.span };
    const rightNode = firstNode(n.children["right"]);
    const opSpan = op ? this.tokSpan(op) : left.span;
    const right = rightNode ? this.value(rightNode) : this.missing(opSpan);
    return { kind: "compare", op: (op?.image ?? "==") as CompareOp, opSpan, left, right, span: this.cover(left, op, right) };
  }

  private condOfUnary(n: CstNode, key: string, near: Span): Cond {
    const c = firstNode(n.children[key]);
    return c ? this.unaryCond(c) : { kind: "value", value: this.missing(near), span: near };
  }

  private value(n: CstNode): Value {
    const c = n.children;
    if (c["string"] || c["number"] || c["duration"] || c["bool"] || c["list"]) return this.literal(n);
    const name = first(n.children["name"]);
    if (name) {
      const members = (n.children["member"] ?? []).filter((t): t is IToken => isToken(t) && real(t)).map((t) => this.ident(t));
      const path = [this.ident(name), ...members];
      return { kind: "name", path, span: this.cover(name, ...(n.children["Dot"] as IToken[] | undefined ?? []), ...members) };
    }
    const env = first(n.children["Kw_env"]);
    if (env) return { kind: "env", span: this.tokSpan(env) };
    const probe = first(n.children["probe"]);
    if (probe) {
      const arg = first(n.children["arg"]);
      const on = first(n.children["on"]);
      const kind = probe.image;
      if (kind === "query") {
        const db = this.db(n, "db", this.tokSpan(probe));
        const span = this.cover(probe, db, arg);
        return { kind: "query", db, sql: this.str(arg, span), span };
      }
      const span = this.cover(probe, arg, first(n.children["Kw_on"]), on);
      const s = this.str(arg, span);
      const v: SucceedsProbe | OutputProbe | ExistsProbe =
        kind === "succeeds"
          ? { kind: "succeeds", command: s, span }
          : kind === "output"
            ? { kind: "output", command: s, span }
            : { kind: "exists", path: s, span };
      if (on) v.on = this.ident(on);
      return v;
    }
    return this.missing(this.cover());
  }

  // ------------------------------------------------------------ literals

  private missing(span: Span): StringLit {
    return { kind: "string", parts: [], triple: false, span };
  }

  private literal(n: CstNode): Literal {
    const s = n.children["string"]?.[0];
    if (s && isToken(s)) return this.str(real(s) ? s : undefined);
    const num = first(n.children["number"]);
    if (num) return this.number(num, this.zero);
    const d = first(n.children["duration"]);
    if (d) return this.duration(d);
    const b = first(n.children["bool"]);
    if (b) return { kind: "bool", value: b.image === "true", span: this.tokSpan(b) };
    const list = firstNode(n.children["list"]);
    if (list) return this.list(list);
    return this.missing(this.zero);
  }

  /** A host group as a list of its members, each member's own values in `members` (by index). */
  private hostGroup(n: CstNode): ListLit & { members?: MemberValues[] } {
    const nodes = subnodes(n.children["item"]);
    const items = nodes.map((m) => this.literal(firstNode(m.children["target"])!));
    const members = nodes.map((m) => {
      const names = n && m.children["name"] ? (m.children["name"] as IToken[]) : [];
      const values = subnodes(m.children["value"]);
      return names.map((t, i) => {
        const name = this.ident(t);
        const value = values[i] ? this.literal(values[i]!) : this.missing(name.span);
        return { name, value, span: this.cover(name, value) };
      });
    });
    const list: ListLit & { members?: MemberValues[] } = { kind: "list", items, span: this.cover(first(n.children["LBracket"]), ...items, first(n.children["RBracket"])) };
    if (members.some((m) => m.length > 0)) list.members = members.map((values) => ({ values }));
    return list;
  }

  private list(n: CstNode): ListLit {
    const items = subnodes(n.children["item"]).map((i) => this.literal(i));
    return { kind: "list", items, span: this.cover(first(n.children["LBracket"]), ...items, first(n.children["RBracket"])) };
  }

  private number(t: IToken | undefined, near: Spanned): NumberLit {
    if (!t) return { kind: "number", value: 0, span: this.cover(near) };
    const value = Number(t.image);
    return { kind: "number", value: Number.isFinite(value) ? value : 0, text: t.image, span: this.tokSpan(t) };
  }

  private duration(t: IToken): DurationLit {
    const ms = durationMs(t.image);
    return { kind: "duration", ms: Number.isNaN(ms) ? 0 : ms, text: t.image, span: this.tokSpan(t) };
  }
}

/** The words of a title for its default id: text as written, `${a.b}` as `a b`. */
function titleWords(s: StringLit): string {
  if (s.parts.length === 1 && s.parts[0]!.kind === "text") return s.parts[0]!.value;
  return s.parts.map((p) => (p.kind === "text" ? p.value : ` ${p.path.join(" ")} `)).join("");
}

/** How to build each statement kind from its CST node (the node of its rule in the statements table). */
const STMT_BUILDERS: { [K in StmtKind]: (this: Builder, n: CstNode) => StmtOf<K> } = {
  require: Builder.prototype.requireStmt,
  confirm(n) {
    return this.textStmt(n, "confirm") as ConfirmStmt;
  },
  manual(n) {
    return this.textStmt(n, "manual") as StmtOf<"manual">;
  },
  note(n) {
    return this.textStmt(n, "note") as StmtOf<"note">;
  },
  run: Builder.prototype.runStmt,
  edit: Builder.prototype.editStmt,
  upload(n) {
    return this.copyStmt(n, "upload") as StmtOf<"upload">;
  },
  download(n) {
    return this.copyStmt(n, "download") as StmtOf<"download">;
  },
  sql: Builder.prototype.sqlStmt,
  export: Builder.prototype.exportStmt,
  import: Builder.prototype.importStmt,
  sync: Builder.prototype.syncStmt,
  wait: Builder.prototype.waitStmt,
  undo: Builder.prototype.undoStmt,
  timeout: Builder.prototype.timeoutStmt,
  retry: Builder.prototype.retryStmt,
  "allow-failure": Builder.prototype.allowFailureStmt,
  parallel: Builder.prototype.parallelStmt,
};

/** The builders by CST rule name (a block's children are keyed by it), as the statements table pairs them. */
const BUILDER_OF_RULE: Record<string, (this: Builder, n: CstNode) => Stmt> = Object.fromEntries(
  STATEMENT_KINDS.map((k) => [STATEMENTS[k].rule, STMT_BUILDERS[k] as (this: Builder, n: CstNode) => Stmt]),
);

/** The `runbook`, `description` and `owner` keywords of a file (compile.ts reports them in an included file). */
export function headerKeywords(cst: CstNode | undefined, file: string): IToken[] {
  return new Builder(new SourceText(file, "")).headerKeywords(cst);
}
