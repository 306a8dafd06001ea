// `runbook lsp`: a Language Server Protocol server over stdio (vscode-languageserver).
// Diagnostics as you type (the compile and check of `runbook check`, same codes and
// spans), formatting (`runbook fmt`), definition, references, rename, hover with a
// name's value in each env, completion, document symbols. Loaded only by `runbook lsp`.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  DocumentSymbol,
  LSPErrorCodes,
  MarkupKind,
  ResponseError,
  SymbolKind as LspSymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CompletionItem,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Hover,
  type Location,
  type Range,
  type TextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Decl, Section, Step } from "../../language/ast.js";
import { assertNever } from "../../language/assert.js";
import type { Diagnostic } from "../../language/diagnostics.js";
import { format } from "../../language/format.js";
import { isKeyword, KEYWORDS } from "../../language/tokens.js";
import { maskUrlPasswords } from "../../language/url-password.js";
import { analyze, SymbolIndex, type Analysis, type Occurrence, type SymbolKind } from "./analysis.js";
import { lspMessages as m } from "./messages.js";

const toPath = (uri: string) => (uri.startsWith("file:") ? fileURLToPath(uri) : uri);
const toUri = (p: string) => (path.isAbsolute(p) ? pathToFileURL(p).href : p);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface DocState {
  analysis: Analysis;
  index?: SymbolIndex;
}

/** Runs the server on the given streams until the client exits. */
export function startServer(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Connection {
  const connection = createConnection(input, output);
  const documents = new TextDocuments(TextDocument);
  const states = new Map<string, DocState>();
  /** The last state of each file that parsed: names stay navigable while a line is half typed. */
  const lastGood = new Map<string, DocState>();
  const published = new Map<string, Set<string>>();
  const pending = new Set<string>();
  let flushScheduled = false;

  const readFile = (p: string) => documents.get(toUri(p))?.getText() ?? readFileSync(p, "utf8");

  const textDocs = new Map<string, TextDocument>();
  function textDoc(file: string, text: string): TextDocument {
    let d = textDocs.get(file);
    if (!d || d.getText() !== text) {
      d = TextDocument.create(toUri(file), "runbook", 0, text);
      textDocs.set(file, d);
    }
    return d;
  }
  function range(sources: Map<string, string>, file: string, offset: number, length: number): Range {
    const d = textDoc(file, sources.get(file) ?? "");
    return { start: d.positionAt(offset), end: d.positionAt(offset + Math.max(0, length)) };
  }

  function lspDiagnostic(sources: Map<string, string>, d: Diagnostic): LspDiagnostic {
    const offset = Number.isFinite(d.span.offset) ? d.span.offset : 0;
    return {
      range: range(sources, d.span.file, offset, d.span.length),
      severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: d.code,
      source: "runbook",
      message: [d.message, ...(d.notes ?? [])].join("\n"),
    };
  }

  /** The state whose runbook holds `file`: its own, else an open runbook that includes it. */
  function contextFor(file: string): DocState | undefined {
    const own = states.get(file);
    if (own?.analysis.runbook) return own;
    for (const s of states.values()) if (s.analysis.runbook && s.analysis.sources.has(file)) return s;
    return lastGood.get(file) ?? [...lastGood.values()].find((s) => s.analysis.sources.has(file));
  }
  function indexOf(s: DocState): SymbolIndex {
    return (s.index ??= new SymbolIndex(s.analysis.runbook!, s.analysis.sources));
  }
  function occurrenceAt(uri: string, position: { line: number; character: number }): { index: SymbolIndex; occ: Occurrence } | undefined {
    const doc = documents.get(uri);
    const file = toPath(uri);
    const s = contextFor(file);
    if (!doc || !s?.analysis.runbook) return undefined;
    const index = indexOf(s);
    const occ = index.at(file, doc.offsetAt(position));
    return occ && { index, occ };
  }

  function refresh(uri: string): void {
    const doc = documents.get(uri);
    if (!doc) return;
    const file = toPath(uri);
    const analysis = analyze(file, doc.getText(), readFile);
    const state: DocState = { analysis };
    states.set(file, state);
    if (analysis.runbook) lastGood.set(file, state);
    const includedElsewhere = [...states.entries()].some(([f, s]) => f !== file && s.analysis.sources.has(file));
    const byFile = new Map<string, LspDiagnostic[]>([[file, []]]);
    for (const d of analysis.diagnostics) {
      if (d.code === "missing-header" && includedElsewhere) continue;
      if (d.span.file !== file && states.get(d.span.file)?.analysis.runbook) continue; // that file is a runbook of its own, open
      const list = byFile.get(d.span.file) ?? [];
      list.push(lspDiagnostic(analysis.sources, d));
      byFile.set(d.span.file, list);
    }
    const before = published.get(file) ?? new Set();
    for (const f of before) if (!byFile.has(f)) void connection.sendDiagnostics({ uri: toUri(f), diagnostics: [] });
    for (const [f, diagnostics] of byFile) void connection.sendDiagnostics({ uri: toUri(f), version: f === file ? doc.version : undefined, diagnostics });
    published.set(file, new Set(byFile.keys()));
  }

  // Keystrokes that come faster than a check are folded into one (the latest text).
  function schedule(uri: string): void {
    pending.add(uri);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      const uris = [...pending];
      pending.clear();
      for (const u of uris) refresh(u);
    });
  }

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      documentFormattingProvider: true,
      definitionProvider: true,
      referencesProvider: true,
      hoverProvider: true,
      documentSymbolProvider: true,
      renameProvider: { prepareProvider: true },
      completionProvider: { triggerCharacters: ["{", ".", " "] },
    },
    serverInfo: { name: "runbook" },
  }));

  documents.onDidChangeContent((e) => schedule(e.document.uri));
  documents.onDidClose((e) => {
    const file = toPath(e.document.uri);
    states.delete(file);
    for (const f of published.get(file) ?? []) void connection.sendDiagnostics({ uri: toUri(f), diagnostics: [] });
    published.delete(file);
  });

  connection.onDocumentFormatting(({ textDocument }) => {
    const doc = documents.get(textDocument.uri);
    if (!doc) return null;
    const result = format(doc.getText(), toPath(textDocument.uri));
    if (result.diagnostics.some((d) => d.severity === "error") || result.output === doc.getText()) return [];
    const edit: TextEdit = { range: { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) }, newText: result.output };
    return [edit];
  });

  const location = (index: SymbolIndex, o: Occurrence): Location => ({ uri: toUri(o.file), range: range(index.sources, o.file, o.offset, o.length) });

  connection.onDefinition(({ textDocument, position }) => {
    const found = occurrenceAt(textDocument.uri, position);
    if (!found) return null;
    const { index, occ } = found;
    if (occ.kind === "include") return { uri: toUri(occ.name), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
    const defs = index.all(occ.key).filter((o) => o.def);
    return defs.map((o) => location(index, o));
  });

  connection.onReferences(({ textDocument, position, context }) => {
    const found = occurrenceAt(textDocument.uri, position);
    if (!found) return null;
    const { index, occ } = found;
    return index
      .all(occ.key)
      .filter((o) => context.includeDeclaration || !o.def)
      .map((o) => location(index, o));
  });

  connection.onPrepareRename(({ textDocument, position }) => {
    const found = occurrenceAt(textDocument.uri, position);
    if (!found || found.occ.kind === "include") throw new ResponseError(LSPErrorCodes.RequestFailed, m.renameNothing);
    const { index, occ } = found;
    const explicit = occ.kind !== "step" || index.sources.get(occ.file)?.charAt(occ.offset) !== '"';
    return { range: range(index.sources, occ.file, occ.offset, occ.length), placeholder: explicit ? occ.name : occ.name.replace(/-/g, "_") };
  });

  connection.onRenameRequest(({ textDocument, position, newName }): WorkspaceEdit => {
    const found = occurrenceAt(textDocument.uri, position);
    if (!found || found.occ.kind === "include") throw new ResponseError(LSPErrorCodes.RequestFailed, m.renameNothing);
    const { index, occ } = found;
    if (!NAME.test(newName)) throw new ResponseError(LSPErrorCodes.RequestFailed, m.renameNotAName(newName));
    if (isKeyword(newName)) throw new ResponseError(LSPErrorCodes.RequestFailed, m.renameKeyword(newName));
    const taken = occ.kind === "step" ? index.all(`step:${newName}`).length > 0 : occ.kind === "env" ? index.envNames().includes(newName) : index.declKind(newName) !== undefined;
    if (taken && newName !== occ.name) throw new ResponseError(LSPErrorCodes.RequestFailed, m.renameTaken(newName));
    const changes: Record<string, TextEdit[]> = {};
    for (const o of index.all(occ.key)) {
      const uri = toUri(o.file);
      const r = range(index.sources, o.file, o.offset, o.length);
      const title = o.kind === "step" && index.sources.get(o.file)?.charAt(o.offset) === '"';
      // A step known by its title gets an `as ID` after it; the title stays.
      const edit: TextEdit = title ? { range: { start: r.end, end: r.end }, newText: ` as ${newName}` } : { range: r, newText: newName };
      (changes[uri] ??= []).push(edit);
    }
    return { changes };
  });

  connection.onHover(({ textDocument, position }): Hover | null => {
    const found = occurrenceAt(textDocument.uri, position);
    if (!found) return null;
    const { index, occ } = found;
    return { contents: { kind: MarkupKind.Markdown, value: hoverText(index, occ) }, range: range(index.sources, occ.file, occ.offset, occ.length) };
  });

  connection.onCompletion(({ textDocument, position }): CompletionItem[] => {
    const doc = documents.get(textDocument.uri);
    const s = contextFor(toPath(textDocument.uri));
    if (!doc) return [];
    const before = doc.getText({ start: { line: position.line, character: 0 }, end: position });
    const index = s?.analysis.runbook ? indexOf(s) : undefined;
    return completions(before, index);
  });

  connection.onDocumentSymbol(({ textDocument }) => {
    const file = toPath(textDocument.uri);
    const s = contextFor(file);
    const rb = s?.analysis.runbook;
    if (!s || !rb) return [];
    const src = s.analysis.sources;
    const here = (n: { span: { file: string } }) => n.span.file === file;
    const sym = (name: string, kind: LspSymbolKind, n: { span: { file: string; offset: number; length: number } }, sel: { file: string; offset: number; length: number }, children?: DocumentSymbol[]) =>
      DocumentSymbol.create(name, undefined, kind, range(src, file, n.span.offset, n.span.length), range(src, file, sel.offset, sel.length), children);
    const stepSym = (st: Step) => sym(st.id, LspSymbolKind.Function, st, st.idSpan);
    const sectionTitle = (sec: Section) => sec.title.parts.map((p) => (p.kind === "text" ? p.value : "${…}")).join("");
    const out: DocumentSymbol[] = [];
    for (const d of rb.decls.filter(here)) out.push(sym(d.name.name, declSymbolKind(d), d, d.name.span));
    for (const e of rb.envs.filter(here)) out.push(sym(`env ${e.name.name}`, LspSymbolKind.Namespace, e, e.name.span));
    for (const item of rb.items) {
      if (item.kind === "section") {
        const steps = item.steps.filter(here).map(stepSym);
        if (here(item)) out.push(sym(sectionTitle(item), LspSymbolKind.Module, item, item.title.span, steps));
        else out.push(...steps);
      } else if (here(item)) out.push(stepSym(item));
    }
    if (rb.finally) {
      const steps = rb.finally.steps.filter(here).map(stepSym);
      if (here(rb.finally)) out.push(sym("finally", LspSymbolKind.Module, rb.finally, { file, offset: rb.finally.span.offset, length: "finally".length }, steps));
      else out.push(...steps);
    }
    return out;
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}

function declSymbolKind(d: Decl): LspSymbolKind {
  switch (d.kind) {
    case "param":
      return LspSymbolKind.Property;
    case "var":
      return LspSymbolKind.Variable;
    case "secret":
      return LspSymbolKind.Key;
    case "host":
      return LspSymbolKind.Object;
    case "database":
      return LspSymbolKind.Struct;
    default:
      return assertNever(d);
  }
}

/** The hover of a name: for params and vars their value in each env; secrets never show one. */
function hoverText(index: SymbolIndex, occ: Occurrence): string {
  const lines = [m.hoverTitle(occ.kind, occ.name), ""];
  const kind: SymbolKind = occ.kind;
  switch (kind) {
    case "param":
    case "var":
      for (const { env, value } of index.valuesOf(occ.name)) lines.push(m.envValue(env, value));
      break;
    case "secret": {
      const decl = index.runbook.decls.find((d) => d.name.name === occ.name);
      if (decl?.kind === "secret") lines.splice(1, 0, "", m.secretSource(decl.source, decl.ref.parts.map((p) => (p.kind === "text" ? p.value : "${…}")).join("")));
      for (const { env } of index.declsOf(occ.name)) lines.push(m.envSecret(env));
      break;
    }
    case "host":
    case "database":
      for (const { env, decl } of index.declsOf(occ.name)) lines.push(decl ? declValueLine(index, env, decl) : m.envMissing(env));
      break;
    case "env": {
      const block = index.runbook.envs.find((e) => e.name.name === occ.name);
      if (block) lines.push(m.envBlock(block.protected !== undefined, block.overrides.map((d) => d.name.name)));
      break;
    }
    case "step": {
      const step = [...index.runbook.items.flatMap((i) => (i.kind === "section" ? i.steps : [i])), ...(index.runbook.finally?.steps ?? [])].find((s) => s.id === occ.name);
      if (step) lines.push(m.step(step.title.parts.map((p) => (p.kind === "text" ? p.value : "${…}")).join(""), step.id, step.on?.name));
      break;
    }
    case "include":
      lines.push(m.include(occ.name));
      break;
    default:
      assertNever(kind);
  }
  return lines.join("\n");
}

function declValueLine(index: SymbolIndex, env: string, decl: Decl): string {
  switch (decl.kind) {
    case "param":
    case "var":
      return m.envValue(env, index.shown(decl.value, env));
    case "secret":
      return m.envSecret(env);
    case "host":
      return m.envValue(env, decl.value.kind === "local" ? m.local : index.shown(decl.value, env));
    case "database":
      return decl.value.engine === "sqlite"
        ? m.envLine(env, m.sqlite(index.shown(decl.value.path, env), decl.value.on?.name))
        : m.envLine(env, m.mysql(maskUrlPasswords(index.shown(decl.value.url, env)), decl.value.via?.name));
    default:
      return assertNever(decl);
  }
}

/** What fits at the end of `before` (the line up to the cursor). */
export function completions(before: string, index: SymbolIndex | undefined): CompletionItem[] {
  const names = (kinds: SymbolKind[]): CompletionItem[] =>
    index
      ? [...new Set(index.occurrences.filter((o) => o.def && kinds.includes(o.kind)).map((o) => o.name))].map((label) => ({ label, kind: CompletionItemKind.Variable, detail: index.declKind(label) ?? kinds[0] }))
      : [];
  const open = before.lastIndexOf("${");
  if (open >= 0 && before.indexOf("}", open) < 0) {
    const inside = before.slice(open + 2);
    const dot = /^\s*([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z0-9_]*$/.exec(inside);
    if (dot && index?.envNames().includes(dot[1]!)) return names(["param", "var"]);
    if (dot?.[1] === "run") return ["id", "user", "started"].map((label) => ({ label, kind: CompletionItemKind.Constant }));
    const items = names(["param", "var", "secret"]);
    items.push(...(index?.envNames() ?? []).map((label) => ({ label, kind: CompletionItemKind.Module, detail: "env" })));
    items.push({ label: "env", kind: CompletionItemKind.Keyword }, { label: "run", kind: CompletionItemKind.Module });
    return items;
  }
  const word = /([A-Za-z_]+)\s+[A-Za-z0-9_]*$/.exec(before)?.[1];
  switch (word) {
    case "on":
    case "via":
      return names(["host"]);
    case "password":
      return names(["secret"]);
    case "sql":
    case "export":
    case "import":
    case "sync":
    case "query":
      return names(["database"]);
    case "env":
      if (/\b(default)\s+env\s+\w*$/.test(before)) return (index?.envNames() ?? []).map((label) => ({ label, kind: CompletionItemKind.Module }));
      break;
    case "from":
      if (/\bsync\b/.test(before)) return (index?.envNames() ?? []).map((label) => ({ label, kind: CompletionItemKind.Module }));
      break;
  }
  return [...KEYWORDS.map((label) => ({ label, kind: CompletionItemKind.Keyword })), ...names(["param", "var"]), ...(index?.envNames() ?? []).map((label) => ({ label, kind: CompletionItemKind.Module }))];
}
