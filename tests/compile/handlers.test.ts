// The action handler table is checked by the compiler: a kind without its handler
// fails to compile. tsc runs on two fixtures (tests/compile/fixtures): the table
// without `note` must fail with TS2741 naming it, the complete table must compile.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const tsc = join(root, "node_modules/.bin/tsc");

async function compile(name: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(tsc, ["-p", join(root, `tests/compile/fixtures/tsconfig.${name}.json`)], { cwd: root });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("the action handler table", () => {
  it("fails to compile when a kind lacks its handler", async () => {
    const r = await compile("missing-kind");
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/missing-kind\.ts\(\d+,\d+\): error TS2741: Property 'note' is missing/);
  }, 120_000);

  it("compiles with every kind's handler (the positive control)", async () => {
    const r = await compile("complete");
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  }, 120_000);
});
