// The end of every exhaustive switch over a kind: a kind left out fails to compile,
// and a value that slips past the types at run time (a journal from another
// version) fails loudly instead of doing nothing.

export function assertNever(value: never): never {
  throw new Error(`internal error: unexpected ${JSON.stringify(value)}`);
}
