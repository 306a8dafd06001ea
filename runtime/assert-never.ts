// The end of every exhaustive switch: a kind added to a union and not handled is
// a compile error there, and a value that should not exist is a clear throw.

export function assertNever(value: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
