// Shell quoting for text that runbook builds itself: the commands its drivers
// send (paths of a copy, a sudo user), and how a value is shown to people where
// its `${…}` stood in a command. Values of a runbook never reach a command this
// way: they travel apart from the code (command-values.ts).

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
