// The end of every exhaustive switch: a value TypeScript has narrowed to never.
// It fails to compile when a case is missing, and throws if one slips through at run time.

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
