// The one redaction stage. Every path by which text leaves a run (events, and so
// the journal, the plain log, NDJSON and the UI; error messages; the run
// summary) goes through a Redaction, which replaces each known secret value with
// `***`. Command output arrives in chunks, so a secret may be split across two
// of them: a streaming Redactor per stream holds back the few characters at the
// end of a chunk that could still be the start of a secret, until the next chunk
// (or the end of the stream) decides.

import { shellQuote } from "./quote.js";

export const MASK = "***";

export class Redaction {
  /** Longest first, so a secret that contains another is masked whole. */
  private secrets: string[] = [];

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
    let changed = false;
    for (const f of forms) {
      if (f.length === 0 || this.secrets.includes(f)) continue;
      this.secrets.push(f);
      changed = true;
    }
    if (changed) this.secrets.sort((a, b) => b.length - a.length);
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
    return out + text.slice(plainFrom);
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

  constructor(private readonly redaction: Redaction) {}

  push(chunk: string): string {
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

  /** Whatever is still held back, redacted (the stream ended). */
  end(): string {
    const rest = this.pending;
    this.pending = "";
    return this.redaction.redact(rest);
  }
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
