// `runbook lsp` is loaded only when it runs: in the bundles scripts/bundle.mjs makes,
// neither check-fmt.cjs (what `check` and `fmt` start from) nor what main.js imports
// statically holds the language server; it sits in a chunk of its own.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

it("leaves the language server out of what check, fmt and the start of every command load", () => {
  const out = join(mkdtempSync(join(tmpdir(), "runbook-lsp-bundle-")), "bundle");
  const built = spawnSync(process.execPath, ["scripts/bundle.mjs", "cli/main.ts", out], { cwd: ROOT, encoding: "utf8" });
  expect(built.status, built.stderr).toBe(0);
  const read = (f: string) => readFileSync(join(out, f), "utf8");
  const holdsServer = (f: string) => read(f).includes("createConnection") && read(f).includes("vscode-languageserver");

  expect(holdsServer("check-fmt.cjs")).toBe(false);
  const chunks = readdirSync(out).filter((f) => f.endsWith(".js"));
  expect(chunks.filter(holdsServer).length).toBeGreaterThan(0);

  // Everything main.js imports statically, transitively.
  const statics = new Set<string>();
  const todo = ["main.js"];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (statics.has(f)) continue;
    statics.add(f);
    for (const m of read(f).matchAll(/^import\s[^;]*?from\s*"\.\/([^"]+)"|^import\s*"\.\/([^"]+)"/gm)) todo.push((m[1] ?? m[2])!);
  }
  expect(statics.size).toBeGreaterThan(1);
  expect([...statics].filter(holdsServer)).toEqual([]);
}, 180_000);
