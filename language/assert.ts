// The end of every exhaustive switch over a kind: a kind added to a union and not
// handled is a compile error there, and a value that slips past the types at run
// time (a journal from another version) is a clear throw instead of doing nothing.

export function assertNever(value: never, what = "value"): never {
  throw new Error(`internal error: unexpected ${what}: ${JSON.stringify(value)}`);
}
