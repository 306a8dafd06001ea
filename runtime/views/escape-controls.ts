// Terminal control characters in text that a view shows: command output, values
// (params, query results), titles, errors. A terminal acts on them (ESC ]0;… BEL
// retitles the window, ESC [2J clears the screen, CR overwrites what was shown), so
// every view (the plain log, `runbook show`, plans, prompts, the Ink UI) shows them
// escaped instead: ESC as `\e`, BEL `\a`, BS `\b`, VT `\v`, FF `\f`, CR `\r`, NUL
// `\0`, any other C0 or C1 control and DEL as `\xHH`. Newline and tab are kept.
// JSON output (NDJSON, `--json`, `--format json`) keeps the raw text, JSON-escaped;
// `toTerminalJson` also escapes DEL and the C1 controls, which JSON.stringify leaves.
// A backslash is not escaped: this is for reading, not a reversible encoding.

/** Any control character that is shown escaped (everything in C0, DEL and C1 but \n and \t). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

const NAMED: Record<number, string> = { 0: "\\0", 7: "\\a", 8: "\\b", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\e" };

/** How one control character is shown. */
export function escapeControl(code: number): string {
  return NAMED[code] ?? `\\x${code.toString(16).padStart(2, "0")}`;
}

/** Whether `text` holds a character that `escapeControls` would change. */
export function hasControls(text: string): boolean {
  return CONTROL.test(text);
}

/**
 * The reference way, one character at a time; `escapeControls` must give the same
 * (tests/runtime/escape-controls.test.ts compares them).
 */
export function escapeControlsPlain(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const control = (c <= 0x1f && c !== 9 && c !== 10) || (c >= 0x7f && c <= 0x9f);
    out += control ? escapeControl(c) : text[i]!;
  }
  return out;
}

/** `text` with its control characters escaped (the same string when it has none). */
export function escapeControls(text: string): string {
  // Fast path: most text has none, and one regexp test finds that out.
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (ch) => escapeControl(ch.charCodeAt(0)));
}

/** A copy of plain data with every string in it escaped (the same object when nothing needs it). */
export function escapeControlsIn<T>(value: T): T {
  if (typeof value === "string") return escapeControls(value) as T;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = escapeControlsIn(value[i]);
      if (v !== value[i]) (copy ??= value.slice())[i] = v;
    }
    return (copy ?? value) as T;
  }
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    let copy: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const e = escapeControlsIn(v);
      if (e !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = e;
    }
    return (copy ?? value) as T;
  }
  return value;
}

// eslint-disable-next-line no-control-regex
const JSON_RAW = /[\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex
const JSON_RAWS = /[\u007F-\u009F]/g;

/**
 * JSON.stringify, with DEL and the C1 controls (which it leaves as they are) written
 * `\u007f`…`\u009f` too: the text is the same JSON, and a terminal showing it acts on
 * none of it (C0 controls JSON.stringify escapes already).
 */
export function toTerminalJson(value: unknown, space?: number): string {
  const json = JSON.stringify(value, null, space);
  if (json === undefined || !JSON_RAW.test(json)) return json;
  return json.replace(JSON_RAWS, (ch) => `\\u00${ch.charCodeAt(0).toString(16)}`);
}
