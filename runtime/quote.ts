// Shell quoting for values interpolated into commands. Every `${…}` that goes
// into a `run`, `undo`, `succeeds` or `output` command passes through
// shellQuoteIn, so a value is always exactly what the shell sees and can never
// inject shell syntax (`'; touch pwned #` stays a single argument).
//
// The quoting depends on where in the command the `${…}` stands (ShellScanner
// follows the command's own quotes as the planner builds it):
// - outside quotes it becomes one shell word (`'a b'`);
// - inside '…' the value is spliced in with each `'` written as `'\''`;
// - inside "…" the value is spliced in with `\ " $ \`` escaped by a backslash;
// - in a `#` comment, line breaks become spaces, so the value cannot end it;
// - in a here-document (`<<EOF`) `\ $ \`` are escaped (`<<'EOF'`: nothing is), and a
//   value with a line that would end it is refused;
// - inside a `…` command substitution, what the inner command must see is then
//   escaped once more for the backticks.
// So `echo "${msg}"`, `echo '${msg}'` and `echo ${msg}` all print the value as it is.

/** Characters that never need quoting in a POSIX shell word. */
const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

/**
 * POSIX single-quote quoting: the value as one shell word. Plain words (paths,
 * names, numbers) are left as they are so commands stay readable; anything else
 * is wrapped in single quotes, each `'` written as `'\''`.
 */
export function shellQuote(value: string): string {
  if (value === "") return "''";
  if (SAFE.test(value) && !value.startsWith("=")) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each value and joins them with spaces: a ready-made argument list. */
export function shellJoin(values: readonly string[]): string {
  return values.map(shellQuote).join(" ");
}

/**
 * Where a `${…}` stands in a command: `word` outside quotes, `single` inside '…',
 * `double` inside "…"; `backticks` counts the `…` command substitutions around it.
 */
export interface ShellContext {
  quote: "word" | "single" | "double" | "comment" | "heredoc" | "heredoc-quoted";
  backticks: number;
  /** In a here-document: the line that ends it (leading tabs stripped when `<<-`). */
  heredoc?: { delimiter: string; stripTabs: boolean };
}

/** The value as the shell must read it at `context` to see exactly `value`, as one word or part of one. */
export function shellQuoteIn(value: string, context?: ShellContext): string {
  if (!context) return shellQuote(value);
  if (context.heredoc) {
    // No escape can keep a line from ending the here-document: refuse such a value.
    const { delimiter, stripTabs } = context.heredoc;
    if (value.split("\n").some((line) => (stripTabs ? line.replace(/^\t+/, "") : line).replace(/\r$/, "") === delimiter)) {
      throw new Error(`a value inserted into a here-document has a line \`${delimiter}\`, which would end it`);
    }
  }
  let out: string;
  switch (context.quote) {
    case "single":
      out = value.replace(/'/g, `'\\''`);
      break;
    case "double":
      out = value.replace(/[\\"$`]/g, "\\$&");
      break;
    case "heredoc":
      out = value.replace(/[\\$`]/g, "\\$&"); // expanded as in "…", but " is plain there
      break;
    case "heredoc-quoted":
      out = value;
      break;
    case "comment":
      out = value.replace(/[\r\n]/g, " "); // a line break would end the comment
      break;
    default:
      out = shellQuote(value);
  }
  for (let i = 0; i < context.backticks; i++) out = out.replace(/[\\`$]/g, "\\$&");
  return out;
}

type Frame = { kind: "top" } | { kind: "single" } | { kind: "double" } | { kind: "subst"; depth: number } | { kind: "backtick" };

/**
 * Follows the quoting of a POSIX shell command fed to it piece by piece (the literal
 * text of a runbook command, between its `${…}`), so that each `${…}` can be quoted
 * for where it stands. Knows '…', "…", backslash escapes, `$( … )`, `…` and comments.
 */
export class ShellScanner {
  private readonly stack: Frame[] = [{ kind: "top" }];
  private escaped = false;
  private comment = false;
  /** `<<` seen: reading its delimiter word (`-` for tabs stripped; quotes make it literal). */
  private heredocOp?: { word: string; stripTabs: boolean; quoted: boolean; started: boolean };
  /** Here-documents whose bodies start at the next line break. */
  private pending: { delimiter: string; stripTabs: boolean; quoted: boolean }[] = [];
  /** The here-document body being read, and its current line. */
  private body?: { delimiter: string; stripTabs: boolean; quoted: boolean; line: string };
  /** The previous character fed (for `$(` and the start of a comment). */
  private prev = "";

  private get top(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  /** Where the next character would stand. */
  get context(): ShellContext {
    let backticks = 0;
    for (const f of this.stack) if (f.kind === "backtick") backticks++;
    if (this.body) {
      const heredoc = { delimiter: this.body.delimiter, stripTabs: this.body.stripTabs };
      return { quote: this.body.quoted ? "heredoc-quoted" : "heredoc", backticks, heredoc };
    }
    const t = this.top.kind;
    return { quote: this.comment ? "comment" : t === "single" ? "single" : t === "double" ? "double" : "word", backticks };
  }

  feed(text: string): void {
    for (const c of text) {
      const wasEscaped = this.escaped;
      this.step(c);
      // An escaped character is plain text: `\$(` does not start a command substitution.
      this.prevPrev = this.prev;
      this.prev = wasEscaped ? "_" : c;
    }
  }

  /** A quoted value was inserted here: it is one plain piece of text. */
  inserted(): void {
    this.prev = "_";
    if (this.body) this.body.line += "_"; // a line with a value in it is not the delimiter
    if (this.heredocOp?.started) this.endDelimiter();
  }

  private step(c: string): void {
    if (this.body) {
      this.bodyChar(c);
      return;
    }
    if (this.heredocOp && this.delimiterChar(c)) return;
    if (c === "\n" && this.pending.length > 0 && !this.escaped && this.top.kind !== "single" && this.top.kind !== "double") {
      this.comment = false;
      this.body = { ...this.pending.shift()!, line: "" };
      return;
    }
    if (this.comment) {
      if (c === "\n") this.comment = false;
      return;
    }
    if (this.escaped) {
      this.escaped = false;
      return;
    }
    const top = this.top;
    switch (top.kind) {
      case "single":
        if (c === "'") this.stack.pop();
        return;
      case "double":
        if (c === "\\") this.escaped = true;
        else if (c === '"') this.stack.pop();
        else if (c === "`") this.stack.push({ kind: "backtick" });
        else if (c === "(" && this.prev === "$") this.stack.push({ kind: "subst", depth: 0 });
        return;
      default:
        // Outside quotes: the top level, inside $( … ) or inside `…`.
        if (c === "\\") this.escaped = true;
        else if (c === "'") this.stack.push({ kind: "single" });
        else if (c === '"') this.stack.push({ kind: "double" });
        else if (c === "`") {
          if (top.kind === "backtick") this.stack.pop();
          else this.stack.push({ kind: "backtick" });
        } else if (c === "(") {
          if (this.prev === "$") this.stack.push({ kind: "subst", depth: 0 });
          else if (top.kind === "subst") top.depth++;
        } else if (c === ")") {
          if (top.kind === "subst") {
            if (top.depth === 0) this.stack.pop();
            else top.depth--;
          }
        } else if (c === "#" && (this.prev === "" || /[\s;&|()]/.test(this.prev))) this.comment = true;
        else if (c === "<" && this.prev === "<" && this.prevPrev !== "<") this.heredocOp = { word: "", stripTabs: false, quoted: false, started: false };
        return;
    }
  }

  /** The character before `prev` (to tell `<<` from `<<<`). */
  private prevPrev = "";

  /** Reads the delimiter after `<<`; false when `c` is not part of it (it is then read as usual). */
  private delimiterChar(c: string): boolean {
    const op = this.heredocOp!;
    if (!op.started) {
      if (c === "<" && op.word === "") {
        this.heredocOp = undefined; // `<<<`: a here-string, not a here-document
        return false;
      }
      if (c === "-" && !op.stripTabs && op.word === "") {
        op.stripTabs = true;
        return true;
      }
      if (c === " " || c === "\t") return true;
      op.started = true;
    }
    if (/[\s;&|<>()]/.test(c)) {
      this.endDelimiter();
      return false;
    }
    if (c === "'" || c === '"' || c === "\\") op.quoted = true;
    else op.word += c;
    return true;
  }

  private endDelimiter(): void {
    const op = this.heredocOp!;
    this.heredocOp = undefined;
    if (op.word) this.pending.push({ delimiter: op.word, stripTabs: op.stripTabs, quoted: op.quoted });
  }

  private bodyChar(c: string): void {
    const b = this.body!;
    if (c !== "\n") {
      b.line += c;
      return;
    }
    const line = (b.stripTabs ? b.line.replace(/^\t+/, "") : b.line).replace(/\r$/, "");
    b.line = "";
    if (line !== b.delimiter) return;
    const next = this.pending.shift();
    this.body = next ? { ...next, line: "" } : undefined;
  }
}
