// Where each `${…}` of a command or an SQL statement stands, decided by a real
// grammar, and what the command or SQL holds in its place. Values never enter the
// text: in a command each one is a shell variable (`"${__rb_1}"`) whose value
// travels apart (the environment, or stdin on a host); in SQL each one is a bound
// parameter (`?`). The checker reports the places where that cannot be sound (an
// arithmetic expression, a comment, a here-document's delimiter, an SQL string or
// name); the planner writes the references. Both call the functions here, so they
// cannot disagree.
//
// Shell text is parsed by mvdan/sh (the parser of shfmt, as the npm package
// mvdan-sh) in its bash mode, a superset of POSIX sh: a command is accepted only
// where the value stays one piece of data in both dash and bash.

import type { InterpPart, StringLit } from "./ast.js";
import { loadShellParser } from "./shell-parser.js";
import type { Engine } from "./sql/index.js";
import { lexSql } from "./sql/lexer.js";

/** A command or SQL text cut at its `${…}`: literal code, a value, or a `${raw …}` spliced as code. */
export type Piece = { text: string } | { value: true } | { raw: string };

/** Why a value cannot stand where it was written (a closed set: the checker words each one). */
export type PlacementProblem =
  | "shell-syntax" // the command (with its values) is not valid shell: where a value stands cannot be told
  | "arithmetic" // $(( … )), (( … )), let, an array index, [[ … -eq … ]], declare -i: the shell reads the value as an expression
  | "not-expanded" // a comment, a quoted here-document, `\${…}`: the shell would not see a value there
  | "ansi-c-quote" // $'…'
  | "backquote-in-double-quotes"
  | "eval" // an argument of eval: the value would run as code
  | "reserved-name" // the text itself uses the `__rb_` names that values are passed by
  | "sql-string" // inside an SQL string literal
  | "sql-name" // inside a quoted SQL name
  | "sql-comment" // inside an SQL comment (MySQL executable comments included)
  | "sql-param"; // the SQL has a parameter of its own (`?`, `:name`): values are given with `${…}`

/** Where a value stands, as the shell or SQL reads the text around it. */
export type ValueContext = "word" | "single" | "double" | "heredoc" | "sql";

export interface Placed {
  /** What stands in the text for each value, in order: `"${__rb_1}"`, `${__rb_1}` or `?`. */
  refs: string[];
  /** Where each value stands (how to show it to people where its `${…}` was). */
  contexts: ValueContext[];
  /** The text with every value replaced by its reference and every raw piece spliced in. */
  text: string;
}

export type Placement =
  | { ok: true; placed: Placed }
  /** `value` is the index of the value at fault (absent when the whole text is at fault); `detail` a parser's message. */
  | { ok: false; problem: PlacementProblem; value?: number; detail?: string };

/**
 * A string's pieces: its text, a value for each `${…}`, and each `${raw …}` as `raw`
 * gives it (the checker, which cannot know a raw value yet, reads it as a plain word).
 */
export function piecesOf(s: StringLit, raw: (p: InterpPart) => string = () => "x"): Piece[] {
  return s.parts.map((p) => (p.kind === "text" ? { text: p.value } : p.raw ? { raw: raw(p) } : { value: true as const }));
}

/** The shell variable that carries value `i` (0-based) into a command. */
export function shellValueName(i: number): string {
  return `__rb_${i + 1}`;
}

const RESERVED = /__rb_\d/;

// ---------------------------------------------------------------- shell

interface ShNode {
  Pos(): { Offset(): number };
  End(): { Offset(): number };
  [field: string]: unknown;
}

interface MvdanSyntax {
  NewParser(...options: unknown[]): { Parse(src: string, name: string): ShNode };
  Variant(lang: unknown): unknown;
  KeepComments(keep: boolean): unknown;
  LangBash: unknown;
  Walk(node: ShNode, fn: (node: ShNode | null) => boolean): void;
  NodeType(node: ShNode): string;
}

let syntax: MvdanSyntax | undefined;
function sh(): MvdanSyntax {
  syntax ??= (loadShellParser() as { syntax: MvdanSyntax }).syntax;
  return syntax;
}

/** Node types whose words the shell evaluates as arithmetic. */
const ARITHMETIC = new Set(["ArithmExp", "ArithmCmd", "LetClause", "CStyleLoop"]);
/** `[[ a -eq b ]]` and friends: bash evaluates both sides as arithmetic. */
const ARITHMETIC_TESTS = new Set(["-eq", "-ne", "-lt", "-le", "-gt", "-ge"]);

/**
 * Places the values of a command. Each `${…}` becomes a reference to a shell
 * variable: `"${__rb_N}"` where the shell would split or glob it, `${__rb_N}`
 * inside double quotes or a here-document, and `'"${__rb_N}"'` inside single quotes
 * (the quote is closed around it). A place where no reference is sound is refused.
 */
export function placeShellValues(pieces: readonly Piece[]): Placement {
  return placeSimpleShellValues(pieces) ?? placeShellValuesByParser(pieces);
}

// ---------------------------------------------------------------- the fast path
//
// Speed: loading mvdan-sh costs 40–100 ms, more than the rest of `runbook check`.
// Most commands of a runbook are simple: words, `&& || | ; > <`, `$( … )` and
// '…' runs, with every value outside quotes. For such a command the parser can
// only say one thing (each value is a word: `"${__rb_N}"`), so it is not asked.
// The guard is the alphabet: anything else (", \, $ but `$(`, `((`, `<<`, #, {, [,
// a newline in '…', a word such as eval or let, parentheses that do not balance)
// sends the command to the parser. tests/language/value-placement.test.ts compares
// both ways on generated commands.

/** Characters a simple command may hold outside '…' (by code, below 128): letters, digits, `_./:,@%+=^~*?-`, space, tab, newline, `&|;><`. */
const SIMPLE = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:,@%+=^~*?- \t\n&|;><") SIMPLE[c.charCodeAt(0)] = 1;
/** A word after which the parser has more to say about a value (code, arithmetic, names). */
const NOT_SIMPLE_WORD = /(?:^|[\s&|;<>()])(?:eval|let|declare|typeset|local|export|readonly|trap|alias|case|function|select)(?=$|[\s&|;<>()])/;

/**
 * Reads one piece of literal text of a command for the fast path: the `$( … )` depth
 * after it, or -1 when the command is not simple (the parser must decide).
 */
function scanSimple(t: string, depth: number, own: boolean): number {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 128 && SIMPLE[c] === 1) {
      if (c === 60 /* < */ && t.charCodeAt(i + 1) === 60) return -1; // a here-document
      continue;
    }
    if (c === 39 /* ' */) {
      const close = t.indexOf("'", i + 1);
      if (close < 0 || t.lastIndexOf("\n", close) > i) return -1;
      i = close;
    } else if (c === 36 /* $ */) {
      if (t.charCodeAt(i + 1) !== 40 /* ( */ || t.charCodeAt(i + 2) === 40) return -1;
      depth++;
      i++;
    } else if (c === 41 /* ) */) {
      if (--depth < 0) return -1;
    } else return -1;
  }
  // A word is never split between pieces: a value between them is quoted, not a separator.
  if (NOT_SIMPLE_WORD.test(t) || (own && RESERVED.test(t))) return -1;
  return depth;
}

/** The placement of a simple command (every value a word), or undefined when the parser must decide. */
export function placeSimpleShellValues(pieces: readonly Piece[]): Placement | undefined {
  let text = "";
  const refs: string[] = [];
  let depth = 0;
  for (const p of pieces) {
    if ("value" in p) {
      const ref = `"\${${shellValueName(refs.length)}}"`;
      refs.push(ref);
      text += ref;
      continue;
    }
    const t = "text" in p ? p.text : p.raw;
    depth = scanSimple(t, depth, "text" in p);
    if (depth < 0) return undefined;
    text += t;
  }
  if (depth !== 0) return undefined;
  return { ok: true, placed: { refs, contexts: refs.map(() => "word" as const), text } };
}

/**
 * For the checker, with nothing made: whether the fast path places every value of a
 * command as a word (true), or the parser must be asked. Reads a raw part as the checker
 * reads it (a plain word), as piecesOf does.
 */
export function isSimpleShell(s: StringLit): boolean {
  let depth = 0;
  for (const p of s.parts) {
    if (p.kind === "interp") continue;
    depth = scanSimple(p.value, depth, true);
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** The placement by mvdan/sh's parser: the plain way, for any command. */
export function placeShellValuesByParser(pieces: readonly Piece[]): Placement {
  // The text as the parser reads it: each value as the reference `${__rb_N}`.
  let probe = "";
  const at: number[] = []; // each value's byte offset in `probe`
  let bytes = 0;
  let n = 0;
  for (const p of pieces) {
    let add: string;
    if ("value" in p) {
      at.push(bytes);
      add = `\${${shellValueName(n++)}}`;
    } else add = "text" in p ? p.text : p.raw;
    if ("text" in p && RESERVED.test(p.text)) return { ok: false, problem: "reserved-name" };
    probe += add;
    bytes += Buffer.byteLength(add);
  }
  if (n === 0) return { ok: true, placed: { refs: [], contexts: [], text: probe } };

  const S = sh();
  let file: ShNode;
  try {
    file = S.NewParser(S.Variant(S.LangBash), S.KeepComments(true)).Parse(probe, "");
  } catch (e) {
    const err = e as { Error?: () => string };
    return { ok: false, problem: "shell-syntax", detail: typeof err.Error === "function" ? err.Error() : String(e) };
  }

  const src = Buffer.from(probe);
  const slice = (from: number, to: number) => src.subarray(from, to).toString();
  const found: (string | undefined)[] = new Array(n);
  const contexts: ValueContext[] = new Array(n).fill("word");
  const problems: { problem: PlacementProblem; value: number }[] = [];
  const single: { from: number; to: number; dollar: boolean }[] = [];
  const stack: ShNode[] = [];

  const classify = (i: number, ancestors: readonly ShNode[]): { ref: string; context: ValueContext } | PlacementProblem => {
    const offset = at[i]!;
    const within = (node: unknown) => {
      const x = node as ShNode | null | undefined;
      return !!x && typeof x.Pos === "function" && x.Pos().Offset() <= offset && offset < x.End().Offset();
    };
    let quoted: "double" | "heredoc" | undefined;
    let decided = false;
    for (let k = ancestors.length - 1; k >= 0; k--) {
      const a = ancestors[k]!;
      const type = S.NodeType(a);
      if (ARITHMETIC.has(type)) return "arithmetic";
      if (type === "ParamExp" && (within(a.Index) || within(a.Slice))) return "arithmetic";
      if (type === "Assign" && within(a.Index)) return "arithmetic";
      if (type === "BinaryTest" && ARITHMETIC_TESTS.has(opAt(a, slice))) return "arithmetic";
      if (type === "UnaryTest" && ["-v", "-R"].includes(opAt(a, slice))) return "arithmetic";
      if (type === "DeclClause") {
        const args = (a.Args as ShNode[] | null) ?? [];
        // `declare -i x=…` evaluates x's value as arithmetic; `-n` makes it a name.
        if (args.some((w) => /^-[A-Za-z]*[in]/.test(slice(w.Pos().Offset(), w.End().Offset())))) return "arithmetic";
      }
      if (type === "CallExpr") {
        const args = (a.Args as ShNode[] | null) ?? [];
        const first = args[0];
        if (first && slice(first.Pos().Offset(), first.End().Offset()) === "eval" && !within(first)) return "eval";
      }
      // (A value in a here-document's delimiter is a syntax error for the parser.)
      if (type === "Redirect") {
        if (within(a.Hdoc) && !decided) {
          quoted = "heredoc";
          decided = true;
        }
      }
      if (type === "CmdSubst" && a.Backquotes === true) {
        for (let j = k - 1; j >= 0; j--) if (S.NodeType(ancestors[j]!) === "DblQuoted") return "backquote-in-double-quotes";
      }
      if (!decided) {
        if (type === "DblQuoted") {
          quoted = "double";
          decided = true;
        } else if (type === "CmdSubst" || type === "ProcSubst" || type === "Subshell" || type === "Block") decided = true;
      }
    }
    return quoted ? { ref: `\${${shellValueName(i)}}`, context: quoted } : { ref: `"\${${shellValueName(i)}}"`, context: "word" };
  };

  S.Walk(file, (node) => {
    if (node === null) {
      stack.pop();
      return true;
    }
    const type = S.NodeType(node);
    if (type === "SglQuoted") single.push({ from: node.Pos().Offset(), to: node.End().Offset(), dollar: node.Dollar === true });
    if (type === "ParamExp") {
      const m = /^__rb_(\d+)$/.exec(String((node.Param as { Value?: string } | null)?.Value ?? ""));
      const i = m ? Number(m[1]) - 1 : -1;
      if (i >= 0 && i < n && node.Pos().Offset() === at[i] && node.Short !== true && found[i] === undefined) {
        const r = classify(i, stack);
        if (typeof r === "string") problems.push({ problem: r, value: i });
        else {
          found[i] = r.ref;
          contexts[i] = r.context;
        }
        found[i] ??= "";
      }
    }
    stack.push(node);
    return true;
  });

  for (let i = 0; i < n; i++) {
    if (found[i] !== undefined) continue;
    // Not expanded by the shell: inside '…' it can be written with the quote closed around it.
    const s = single.find((q) => q.from < at[i]! && at[i]! < q.to);
    if (s && !s.dollar) {
      found[i] = `'"\${${shellValueName(i)}}"'`;
      contexts[i] = "single";
    }
    else problems.push({ problem: s ? "ansi-c-quote" : "not-expanded", value: i });
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.value - b.value);
    return { ok: false, ...problems[0]! };
  }
  const refs = found as string[];
  let text = "";
  let v = 0;
  for (const p of pieces) text += "value" in p ? refs[v++]! : "text" in p ? p.text : p.raw;
  return { ok: true, placed: { refs, contexts, text } };
}

/** The operator of a test or redirect node, read from the source at its OpPos. */
function opAt(node: ShNode, slice: (from: number, to: number) => string): string {
  const pos = node.OpPos as { Offset(): number } | undefined;
  if (!pos) return "";
  const from = pos.Offset();
  return /^\S+/.exec(slice(from, from + 8))?.[0] ?? "";
}

// ---------------------------------------------------------------- SQL

/**
 * Places the values of SQL text: each `${…}` becomes a bound parameter `?`, where
 * the SQL tokenizer of the engine sees it outside strings, names and comments. The
 * SQL's own parameters are refused, so every `?` the server sees is a value of ours.
 */
export function placeSqlValues(pieces: readonly Piece[], dialect: Engine): Placement {
  let text = "";
  const at: number[] = [];
  for (const p of pieces) {
    if ("value" in p) {
      at.push(text.length);
      text += "?";
    } else text += "text" in p ? p.text : p.raw;
  }
  const tokens = lexSql(text, dialect);
  const problems: { problem: PlacementProblem; value?: number }[] = [];
  let k = 0;
  for (const t of tokens) {
    while (k < at.length && at[k]! < t.start) k++;
    const mine = k < at.length && at[k] === t.start;
    if (t.kind === "param") {
      if (!mine || t.end !== t.start + 1) problems.push({ problem: "sql-param" });
      else if (t.inExec) problems.push({ problem: "sql-comment", value: k });
      continue;
    }
    // A value inside a token that is longer than it: a string, a name or a comment.
    for (let j = k; j < at.length && at[j]! < t.end; j++) {
      const problem: PlacementProblem | undefined =
        t.kind === "string" ? "sql-string" : t.kind === "name" ? "sql-name" : t.kind === "comment" || t.kind === "exec-open" ? "sql-comment" : undefined;
      if (problem) problems.push({ problem, value: j });
    }
  }
  if (problems.length > 0) return { ok: false, ...problems[0]! };
  return { ok: true, placed: { refs: at.map(() => "?"), contexts: at.map(() => "sql" as const), text } };
}
