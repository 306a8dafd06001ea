// The front of the language pipeline in one call: parse the main file (parser.ts),
// build its AST (to-ast.ts), resolve and splice `include`s (relative to the including
// file; a missing file or a cycle is a diagnostic at the include), require the header,
// read the allowed-signers file beside the main file when an env requires approvals,
// then run the checker (check.ts). `compile` never throws: an internal exception
// becomes an "internal" diagnostic. The CLI, planner and formatter tests build on it.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { FileAst, FinallyBlock, IncludeDecl, Node, Runbook, Step } from "./ast.js";
import { ALLOWED_SIGNERS_FILE, literalText } from "./ast.js";
import { check } from "./check.js";
import { hasErrors, type Diagnostic } from "./diagnostics.js";
import { messages } from "./messages.js";
import { parseSource, tokenSpan } from "./parser.js";
import type { Span } from "./span.js";
import { headerKeywords, streamingToAst } from "./to-ast.js";

export interface CompileOptions {
  /** Read a file (for includes); default fs.readFileSync utf8; undefined/throw = missing. */
  readFile?: (path: string) => string;
  /** Run the checker (default true). */
  check?: boolean;
}

export interface CompileResult {
  /** Present when there are no errors (warnings allowed). */
  runbook?: Runbook;
  diagnostics: Diagnostic[];
  /** Every file read, for the renderer. */
  sources: Map<string, string>;
}

const defaultRead = (p: string) => readFileSync(p, "utf8");

/** Parse, resolve includes, splice, check. Never throws on any input. */
export function compile(file: string, text?: string, options: CompileOptions = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();
  try {
    const readFile = options.readFile ?? defaultRead;
    if (text === undefined) {
      const read = tryRead(readFile, file);
      if (read === undefined) {
        diagnostics.push(error("io", messages.cannotRead(file), { file, offset: 0, line: 1, column: 1, length: 0 }));
        return { diagnostics, sources };
      }
      text = read;
    }
    const runbook = new Compilation(file, text, readFile, diagnostics, sources).run();
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

/** `compile` for text in hand (the file name is used in spans and to resolve includes). */
export function compileSource(text: string, file = "<input>", options: CompileOptions = {}): CompileResult {
  return compile(file, text, options);
}

function error(code: string, message: string, span: Span): Diagnostic {
  return { severity: "error", code, message, span };
}

function internal(file: string, e: unknown): Diagnostic {
  const msg = e instanceof Error ? e.message : String(e);
  return error("internal", messages.internal(msg), { file, offset: 0, line: 1, column: 1, length: 0 });
}

function tryRead(readFile: (p: string) => string, p: string): string | undefined {
  try {
    const t = readFile(p);
    return typeof t === "string" ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Whether reading `p` fails because it is a directory (EISDIR). */
function isDirectoryError(readFile: (p: string) => string, p: string): boolean {
  try {
    readFile(p);
    return false;
  } catch (e) {
    return (e as { code?: unknown } | null)?.code === "EISDIR";
  }
}

/** The pieces of a file after its own includes were spliced in. */
interface Spliced {
  decls: Runbook["decls"];
  envs: Runbook["envs"];
  items: Runbook["items"];
  finallySteps: Step[];
  finally?: FinallyBlock;
}

class Compilation {
  /** Resolved (absolute) path → display path of every file already included. */
  private readonly included = new Map<string, string>();
  private readonly order: { file: string; text: string }[] = [];

  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly readFile: (p: string) => string,
    private readonly diagnostics: Diagnostic[],
    private readonly sources: Map<string, string>,
  ) {}

  run(): Runbook | undefined {
    const { file, text } = this;
    this.sources.set(file, text);
    this.order.push({ file, text });
    this.included.set(path.resolve(file), file);
    const ast = this.load(file, text, true);
    if (!ast) return undefined; // the file could not be read at all (already reported)
    const spliced = this.splice(ast, [path.resolve(file)], [file]);
    if (!ast.header) {
      // One diagnostic: the file has no `runbook … version …` line at all.
      this.diagnostics.push(error("missing-header", messages.missingHeader(), { file, offset: 0, line: 1, column: 1, length: 0 }));
      return undefined;
    }
    const rb: Runbook = {
      kind: "runbook",
      file,
      header: ast.header,
      decls: spliced.decls,
      envs: spliced.envs,
      items: spliced.items,
      sources: this.order,
      span: ast.span,
    };
    if (ast.defaultEnv) rb.defaultEnv = ast.defaultEnv;
    if (rb.envs.some((e) => e.approvals)) {
      // Who may approve: the allowed-signers file beside the main file (check.ts validates it).
      const signersFile = path.join(path.dirname(file), ALLOWED_SIGNERS_FILE);
      const signersText = tryRead(this.readFile, signersFile);
      if (signersText !== undefined) {
        rb.signers = { file: signersFile, text: signersText };
        this.sources.set(signersFile, signersText);
      } else if (isDirectoryError(this.readFile, signersFile)) rb.signersUnreadable = "directory";
    }
    if (spliced.finally) rb.finally = { ...spliced.finally, steps: spliced.finallySteps };
    return rb;
  }

  /** Parses one file into its AST, reporting its syntax errors. */
  private load(file: string, text: string, main: boolean): FileAst | undefined {
    const builder = streamingToAst(file, text);
    const parsed = parseSource(file, text, { onItem: builder.onItem, source: builder.source });
    this.diagnostics.push(...parsed.diagnostics);
    if (!parsed.cst) return undefined;
    const { ast, diagnostics } = builder.finish(parsed.cst);
    this.diagnostics.push(...diagnostics);
    if (!main) {
      for (const kw of headerKeywords(parsed.cst, file)) {
        // Only the main file's header counts; an included file's is shown as ignored.
        this.diagnostics.push({ severity: "warning", code: "include", message: messages.headerInInclude(kw.image), span: tokenSpan(builder.source, kw) });
      }
      if (ast.defaultEnv) this.diagnostics.push(error("syntax", messages.defaultEnvInInclude(), ast.defaultEnv.span));
      delete ast.header;
      delete ast.defaultEnv;
    }
    return ast;
  }

  /** Resolves the includes of `ast` and splices their contents in at each include's place. */
  private splice(ast: FileAst, stack: string[], shown: string[]): Spliced {
    const subs: { at: number; sub: Spliced }[] = [];
    for (const inc of ast.includes) {
      const sub = this.resolve(inc, ast.span.file, stack, shown);
      if (sub) subs.push({ at: inc.span.offset, sub });
    }
    const merge = <X extends Node>(own: X[], pick: (s: Spliced) => X[]): X[] => {
      if (subs.length === 0) return own;
      const out: X[] = [];
      let i = 0;
      for (const { at, sub } of subs) {
        while (i < own.length && own[i]!.span.offset < at) out.push(own[i++]!);
        out.push(...pick(sub));
      }
      while (i < own.length) out.push(own[i++]!);
      return out;
    };
    const result: Spliced = {
      decls: merge(ast.decls, (s) => s.decls),
      envs: merge(ast.envs, (s) => s.envs),
      items: merge(ast.items, (s) => s.items),
      finallySteps: merge(ast.finally?.steps ?? [], (s) => s.finallySteps),
    };
    const fin = ast.finally ?? subs.find((s) => s.sub.finally)?.sub.finally;
    if (fin) result.finally = fin;
    return result;
  }

  private resolve(inc: IncludeDecl, from: string, stack: string[], shown: string[]): Spliced | undefined {
    const rel = literalText(inc.path);
    if (rel === undefined) {
      this.diagnostics.push(error("include", messages.noInterpolationIn("an include path"), inc.path.span));
      return undefined;
    }
    if (rel === "") return undefined; // a syntax error was already reported
    const display = path.isAbsolute(rel) ? path.normalize(rel) : path.normalize(path.join(path.dirname(from), rel));
    const key = path.resolve(display);
    inc.resolved = display;
    if (stack.includes(key)) {
      const start = stack.indexOf(key);
      this.diagnostics.push(error("include-cycle", messages.includeCycle([...shown.slice(start), display]), inc.span));
      return undefined;
    }
    if (this.included.has(key)) {
      this.diagnostics.push(error("include", messages.includeTwice(display), inc.span));
      return undefined;
    }
    const text = tryRead(this.readFile, display);
    if (text === undefined) {
      this.diagnostics.push(error("include-missing", messages.includeMissing(display), inc.span));
      return undefined;
    }
    this.included.set(key, display);
    this.sources.set(display, text);
    this.order.push({ file: display, text });
    const ast = this.load(display, text, false);
    return ast && this.splice(ast, [...stack, key], [...shown, display]);
  }
}
