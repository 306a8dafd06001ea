// A bounded tail of one step's output for the Ink UI. A step may print 100 MB;
// the UI keeps only the last `maxLines` lines (and at most `maxChars` characters)
// as the chunks the executor emitted, and splits them into lines only when a frame
// asks for the few it shows. Appending is O(chunk): count newlines, push, drop the
// oldest chunks that are no longer needed.
//
// Lines the UI adds itself (an action started, a guard's result, a host finished)
// are stored inline, marked with INFO at the start of the line (the step's own
// INFO characters are stored escaped, as every view shows control characters).

import { escapeControl } from "../../runtime/views/escape-controls.js";

/** Marks a line the UI wrote (not the step's own output). */
export const INFO = "\u001F";

const INFO_SHOWN = escapeControl(INFO.charCodeAt(0));

export interface OutputLine {
  text: string;
  info: boolean;
}

function countNewlines(s: string): number {
  let n = 0;
  let i = s.indexOf("\n");
  while (i !== -1) {
    n++;
    i = s.indexOf("\n", i + 1);
  }
  return n;
}

/**
 * A copy of `s` that does not keep a larger parent string alive (V8 represents
 * `slice` results as views into their parent).
 */
function flatten(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

export class OutputBuffer {
  private chunks: string[] = [];
  private newlines: number[] = [];
  private head = 0;
  /** Newlines in the retained chunks. */
  private retainedNewlines = 0;
  private retainedChars = 0;
  /** Whether older text was dropped (so the first retained line may be a fragment). */
  private dropped = false;
  /** Characters ever appended (what the step printed, not what is kept). */
  totalChars = 0;
  /** Newlines ever appended. */
  totalLines = 0;

  constructor(
    private maxLines = 2000,
    private maxChars = 1_000_000,
  ) {}

  /** Keep less from now on (a finished step), dropping what is over the new limits. */
  shrink(maxLines: number, maxChars: number): void {
    this.maxLines = Math.min(this.maxLines, maxLines);
    this.maxChars = Math.min(this.maxChars, maxChars);
    this.trim();
  }

  /** Characters kept. */
  get retained(): number {
    return this.retainedChars;
  }

  get empty(): boolean {
    return this.head === this.chunks.length;
  }

  /** Append the step's own output (any chunking; partial lines join up). */
  append(text: string): void {
    if (text.length === 0) return;
    if (text.includes(INFO)) text = text.replaceAll(INFO, INFO_SHOWN);
    this.totalChars += text.length;
    if (text.length > this.maxChars) {
      text = flatten(text.slice(text.length - this.maxChars));
      this.dropAll();
    }
    const n = countNewlines(text);
    this.totalLines += n;
    this.push(text, n);
  }

  /** Append a line (or lines) of the UI's own (shown differently from output). */
  appendInfo(line: string): void {
    const last = this.chunks.length > this.head ? this.chunks[this.chunks.length - 1] : undefined;
    // A multi-line text (a command, SQL) stays as many lines, each marked.
    if (line.includes(INFO)) line = line.replaceAll(INFO, INFO_SHOWN);
    const text = (last !== undefined && !last.endsWith("\n") ? "\n" : "") + INFO + line.replace(/\n+$/, "").replaceAll("\n", "\n" + INFO) + "\n";
    this.push(text, countNewlines(text));
  }

  /** How many lines are kept (the most one can scroll back). */
  get lineCount(): number {
    const lines = this.retainedNewlines + (this.lastChunkIsPartial() ? 1 : 0);
    return this.dropped && lines > 1 ? lines - 1 : lines;
  }

  /**
   * `count` lines ending `offset` lines above the newest one (offset 0 = the tail).
   * A line still being written (no newline yet) counts as the newest.
   */
  tail(count: number, offset = 0): OutputLine[] {
    if (count <= 0 || this.empty) return [];
    const need = count + offset + 1;
    let newlines = 0;
    let i = this.chunks.length;
    while (i > this.head && newlines <= need) {
      i--;
      newlines += this.newlines[i]!;
    }
    const text = i === this.chunks.length - 1 ? this.chunks[i]! : this.chunks.slice(i).join("");
    const lines = text.split("\n");
    if (text.endsWith("\n")) lines.pop();
    // The first line is a fragment when older text was dropped or not joined in.
    if ((i > this.head || this.dropped) && lines.length > 1) lines.shift();
    const end = Math.max(0, lines.length - offset);
    const start = Math.max(0, end - count);
    const out: OutputLine[] = [];
    for (let k = start; k < end; k++) {
      const l = lines[k]!;
      if (l.startsWith(INFO)) out.push({ text: l.slice(INFO.length), info: true });
      else out.push({ text: l, info: false });
    }
    return out;
  }

  private lastChunkIsPartial(): boolean {
    const last = this.chunks.length > this.head ? this.chunks[this.chunks.length - 1] : undefined;
    return last !== undefined && !last.endsWith("\n");
  }

  private push(text: string, n: number): void {
    this.chunks.push(text);
    this.newlines.push(n);
    this.retainedNewlines += n;
    this.retainedChars += text.length;
    this.trim();
  }

  private trim(): void {
    // Drop the oldest chunks while the rest still hold maxLines lines, or too many characters.
    while (this.chunks.length - this.head > 1) {
      const first = this.chunks[this.head]!;
      const firstNewlines = this.newlines[this.head]!;
      const enoughLines = this.retainedNewlines - firstNewlines >= this.maxLines + 1;
      const tooBig = this.retainedChars > this.maxChars;
      if (!enoughLines && !tooBig) break;
      this.retainedNewlines -= firstNewlines;
      this.retainedChars -= first.length;
      this.chunks[this.head] = "";
      this.head++;
      this.dropped = true;
    }
    if (this.chunks.length - this.head === 1 && this.retainedChars > this.maxChars) {
      const only = this.chunks[this.head]!;
      const tail = flatten(only.slice(only.length - this.maxChars));
      this.chunks[this.head] = tail;
      this.newlines[this.head] = countNewlines(tail);
      this.retainedNewlines = this.newlines[this.head]!;
      this.retainedChars = tail.length;
      this.dropped = true;
    }
    // Compact the arrays now and then so they do not grow with every chunk ever seen.
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.newlines = this.newlines.slice(this.head);
      this.head = 0;
    }
  }

  private dropAll(): void {
    if (!this.empty) this.dropped = true;
    this.chunks = [];
    this.newlines = [];
    this.head = 0;
    this.retainedNewlines = 0;
    this.retainedChars = 0;
  }
}
