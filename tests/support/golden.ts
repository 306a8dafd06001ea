// Golden files: `golden(path, actual)` compares with the file at `path`. With
// UPDATE_GOLDEN=1 it (re)writes it; a missing file is written and passes locally,
// but fails under CI=true, where a golden that is not committed is a defect.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "vitest";

export function golden(path: string, actual: string | Buffer): void {
  const missing = !existsSync(path);
  if (missing && process.env.CI === "true") throw new Error(`golden file missing: ${path} (run the test once without CI=true, or with UPDATE_GOLDEN=1, and commit it)`);
  if (missing || process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  if (typeof actual === "string") {
    expect(actual).toBe(readFileSync(path, "utf8"));
    return;
  }
  // Compared as text first for a readable diff, then byte for byte.
  const expected = readFileSync(path);
  expect(actual.toString("utf8")).toBe(expected.toString("utf8"));
  expect(actual.equals(expected)).toBe(true);
}
