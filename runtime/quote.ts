// Shell quoting for values interpolated into commands. Every `${…}` that goes
// into a `run`, `undo`, `succeeds` or `output` command passes through
// shellQuote, so a value is always exactly one word for /bin/sh and can never
// inject shell syntax (`'; touch pwned #` stays a single argument).

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
