// The one redaction stage. Every path by which text leaves a run (events, and so
// the journal, the plain log, NDJSON and the UI; error messages; the run
// summary) goes through a Redaction, which replaces each known secret value with
// `***`. Command output arrives in chunks, so a secret may be split across two
// of them: a streaming Redactor per stream holds back the few characters at the
// end of a chunk that could still be the start of a secret, until the next chunk
// (or the end of the stream) decides.
//
// A secret is masked in every shape it can take in text: whole, trimmed, as
// shown in a plan (shell- or SQL-quoted), as escaped by Node's messages and JSON (a NUL
// byte shows as `\x00`); a multi-line secret (a PEM key) line by line too, so a
// unified diff, which starts each line with `+`, shows none of them. Server and
// library messages may quote a cut piece of a text (MariaDB quotes 80
// characters around a syntax error, Node 128): `redactMessage` also masks any
// piece of a secret of MIN_FRAGMENT characters or more, and URL passwords.

import { shellQuote } from "./quote.js";
import { maskUrlPasswords } from "../language/url-password.js";

export const MASK = "***";

/** The shortest piece of a secret that redactMessage masks, and the shortest line of a multi-line secret masked anywhere. */
export const MIN_FRAGMENT = 8;

export class Redaction {
  /** Longest first, so a secret that contains another is masked whole. */
  private secrets: string[] = [];
  /** Lines (trimmed) of multi-line secrets too short to mask anywhere: masked where they fill a line of the text. */
  private shortLines = new Set<string>();
  /** The forms whose pieces redactMessage masks (none contained in another). */
  private fragmentSources: string[] = [];

  constructor(values: Iterable<string> = []) {
    for (const v of values) this.add(v);
  }

  /**
   * Adds a value to mask, with the forms it takes when quoted into a command
   * (a value with a `'` is written differently in shell-quoted or SQL text).
   */
  add(value: string): void {
    const forms = new Set<string>([value, value.trim()]);
    const q = shellQuote(value);
    if (q !== value) forms.add(q);
    if (value.includes("'")) forms.add(value.replace(/'/g, "''"));
    // As Node's messages (`Received '…\x00…'`) and JSON escape it.
    for (const quote of ["'", '"', "`"] as const) forms.add(inspectEscape(value, quote));
    forms.add(JSON.stringify(value).slice(1, -1));
    // Line by line, and the pieces between control characters (a NUL byte).
    const pieces = value.split(/[\x00-\x1f\x7f]+/).map((p) => p.trim());
    if (pieces.length > 1) {
      for (const piece of pieces) {
        if (piece.length >= MIN_FRAGMENT) forms.add(piece);
      }
      if (/[\r\n]/.test(value)) {
        for (const line of value.split(/\r?\n|\r/)) {
          const t = line.trim();
          if (t.length > 0 && t.length < MIN_FRAGMENT) this.shortLines.add(t);
        }
      }
    }
    let changed = false;
    for (const f of forms) {
      if (f.length === 0 || this.secrets.includes(f)) continue;
      this.secrets.push(f);
      changed = true;
    }
    if (changed) {
      this.secrets.sort((a, b) => b.length - a.length);
      const sources: string[] = [];
      for (const f of this.secrets) {
        if (f.length >= MIN_FRAGMENT && !sources.some((longer) => longer.includes(f))) sources.push(f);
      }
      this.fragmentSources = sources;
    }
  }

  get size(): number {
    return this.secrets.length;
  }

  get maxLength(): number {
    return this.secrets[0]?.length ?? 0;
  }

  /** The text with every secret value replaced by `***`. */
  redact(text: string): string {
    if (this.secrets.length === 0 || text.length === 0) return text;
    let out = "";
    let i = 0;
    let plainFrom = 0;
    while (i < text.length) {
      const s = this.matchAt(text, i);
      if (s) {
        out += text.slice(plainFrom, i) + MASK;
        i += s.length;
        plainFrom = i;
      } else i++;
    }
    out += text.slice(plainFrom);
    return this.shortLines.size === 0 ? out : this.redactShortLines(out);
  }

  /**
   * A message (an error, a reason): redact(), and also every piece of a secret of
   * MIN_FRAGMENT characters or more, such as the cut quote of a server's message,
   * and the password of any URL (maskUrlPasswords).
   */
  redactMessage(text: string): string {
    const whole = this.redact(maskUrlPasswords(text));
    if (this.fragmentSources.length === 0 || whole.length < MIN_FRAGMENT) return whole;
    let out = "";
    let i = 0;
    let plainFrom = 0;
    while (i <= whole.length - MIN_FRAGMENT) {
      const n = this.fragmentAt(whole, i);
      if (n > 0) {
        out += whole.slice(plainFrom, i) + MASK;
        i += n;
        plainFrom = i;
      } else i++;
    }
    return out + whole.slice(plainFrom);
  }

  /** redactMessage for every string inside a value. */
  redactMessageDeep<T>(value: T): T {
    return deep(value, (s) => this.redactMessage(s)) as T;
  }

  /** The length of the longest piece of a secret starting at text[i], when at least MIN_FRAGMENT; else 0. */
  private fragmentAt(text: string, i: number): number {
    const c = text[i];
    let best = 0;
    for (const s of this.fragmentSources) {
      for (let j = s.indexOf(c); j !== -1 && s.length - j > best; j = s.indexOf(c, j + 1)) {
        let n = 1;
        while (i + n < text.length && j + n < s.length && text.charCodeAt(i + n) === s.charCodeAt(j + n)) n++;
        if (n > best) best = n;
      }
    }
    return best >= MIN_FRAGMENT ? best : 0;
  }

  /** Lines that are, but for a diff's `+`/`-`/` ` and spaces, a short line of a multi-line secret. */
  redactShortLines(text: string): string {
    if (this.shortLines.size === 0) return text;
    return text
      .split("\n")
      .map((line) => {
        const m = /^([+\- ]?)(\s*)(.*?)(\s*)$/.exec(line)!;
        return this.shortLines.has(m[3]) ? `${m[1]}${m[2]}${MASK}${m[4]}` : line;
      })
      .join("\n");
  }

  /** Whether the start of a line (no line break yet) could still become a short line of a multi-line secret. */
  couldBeShortLine(start: string): boolean {
    if (this.shortLines.size === 0 || start.length > 2 * MIN_FRAGMENT) return false;
    const rest = /^[+\- ]?\s*(.*)$/.exec(start)![1].trimEnd();
    for (const line of this.shortLines) if (line.startsWith(rest)) return true;
    return false;
  }

  /** Any value, with every string inside it redacted (for events and JSON). */
  redactDeep<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    return deep(value, (s) => this.redact(s)) as T;
  }

  /** A Redactor for one output stream. */
  stream(): Redactor {
    return new Redactor(this);
  }

  /** The secret that starts at text[i], longest first. */
  matchAt(text: string, i: number): string | undefined {
    const c = text.charCodeAt(i);
    for (const s of this.secrets) if (s.charCodeAt(0) === c && text.startsWith(s, i)) return s;
    return undefined;
  }

  /**
   * At text[i], with the text possibly continuing later: the secret that surely
   * matches there ("match"), "undecided" when a secret could still match once more
   * text arrives, or "none".
   */
  decideAt(text: string, i: number): { match: string } | "undecided" | "none" {
    const rest = text.length - i;
    const c = text.charCodeAt(i);
    for (const s of this.secrets) {
      if (s.charCodeAt(0) !== c) continue;
      if (s.length <= rest) {
        if (text.startsWith(s, i)) return { match: s };
      } else if (s.startsWith(text.slice(i))) return "undecided";
    }
    return "none";
  }
}

/**
 * Redacts one stream given in chunks. `push` returns what can be shown now; it
 * holds back at most maxLength-1 characters that could be the start of a secret.
 * `end` returns the rest.
 */
export class Redactor {
  private pending = "";
  /** The start of the current line, held back while it could still be a short line of a multi-line secret. */
  private lineStart = "";

  constructor(private readonly redaction: Redaction) {}

  push(chunk: string): string {
    return this.lines(this.values(chunk), false);
  }

  /** Whatever is still held back, redacted (the stream ended). */
  end(): string {
    const rest = this.pending;
    this.pending = "";
    return this.lines(this.redaction.redact(rest), true);
  }

  /** Short lines of multi-line secrets, which only count as whole lines: a line split between chunks waits for its end. */
  private lines(text: string, final: boolean): string {
    let buf = this.lineStart + text;
    this.lineStart = "";
    if (!final) {
      const start = buf.slice(buf.lastIndexOf("\n") + 1);
      if (start !== "" && this.redaction.couldBeShortLine(start)) {
        this.lineStart = start;
        buf = buf.slice(0, buf.length - start.length);
      }
    }
    return this.redaction.redactShortLines(buf);
  }

  private values(chunk: string): string {
    const buf = this.pending + chunk;
    this.pending = "";
    if (this.redaction.size === 0) return buf;
    let out = "";
    let plainFrom = 0;
    let i = 0;
    while (i < buf.length) {
      const d = this.redaction.decideAt(buf, i);
      if (d === "none") {
        i++;
        continue;
      }
      if (d === "undecided") {
        this.pending = buf.slice(i);
        return out + buf.slice(plainFrom, i);
      }
      out += buf.slice(plainFrom, i) + MASK;
      i += d.match.length;
      plainFrom = i;
    }
    return out + buf.slice(plainFrom);
  }
}

/**
 * The text as Node's util.inspect writes it between `quote`s (which error
 * messages quote values with: "Received 'a\x00b'"): backslash, the quote and
 * control characters escaped.
 */
function inspectEscape(value: string, quote: "'" | '"' | "`"): string {
  return value.replace(/[\\'"`\x00-\x1f\x7f-\x9f]/g, (c) => {
    if (c === "\\") return "\\\\";
    if (c === "'" || c === '"' || c === "`") return c === quote ? `\\${c}` : c;
    const named: Record<string, string> = { "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
  });
}

function deep(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => deep(v, f));
  if (value && typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    // A span or a string node of the AST keeps fields behind getters: take what it serializes to.
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === "function") return deep(json.call(value), f);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deep(v, f);
    return out;
  }
  return value;
}
