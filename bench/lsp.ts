// `runbook lsp` as you type: a generated 1,000-step runbook open in the server (the
// built CLI, bin/runbook.js), then keystrokes one at a time, each timed from the
// didChange sent to the diagnostics of that version received, over stdio as an
// editor talks to it. Goal: the median within 50 ms (absolute: the budget of a
// keystroke). Beside it, in the same run: the same file's compile and check alone
// (the built code, in this process), the floor of what a keystroke costs.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileUri, LspClient } from "../tests/lsp/client.js";
import { generateRunbook } from "./parse.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

export async function benchLsp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "runbook-bench-lsp-"));
  const file = join(dir, "big.rb");
  const text = generateRunbook(1000);
  writeFileSync(file, text);
  const uri = fileUri(file);
  const client = new LspClient("dist", dir);
  await client.initialize(fileUri(dir));
  await client.open(uri, text, 1);
  await client.diagnostics(uri, 1);

  // Type `x` into the middle step's command, one character at a time, then delete them.
  const lines = text.split("\n");
  const line = lines.findIndex((l, i) => i > lines.length / 2 && l.includes("bzr pull"));
  const column = lines[line]!.indexOf("bzr pull");
  const keystrokes = 100;
  const times: number[] = [];
  let version = 1;
  for (let i = 0; i < keystrokes; i++) {
    const typing = i < keystrokes / 2;
    const at = column + (typing ? i : keystrokes - i - 1);
    const change = typing
      ? { range: { start: { line, character: at }, end: { line, character: at } }, text: "x" }
      : { range: { start: { line, character: at }, end: { line, character: at + 1 } }, text: "" };
    version++;
    const t = performance.now();
    await client.change(uri, version, [change]);
    await client.diagnostics(uri, version);
    times.push(performance.now() - t);
  }
  await client.close();

  // The floor: the built compile (dist/, as the server runs it), in this process.
  const { compile } = (await import(new URL("../dist/language/compile.js", import.meta.url).href)) as typeof import("../language/compile.js");
  const compiles: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    compile(file, text);
    compiles.push(performance.now() - t);
  }
  const warm = times.slice(5);
  console.log(`runbook lsp, a 1,000-step runbook (${(text.length / 1024).toFixed(0)} KiB), ${keystrokes} keystrokes, change sent -> diagnostics received`);
  console.log(`  keystroke to diagnostics: median ${median(warm).toFixed(1)} ms, p95 ${p95(warm).toFixed(1)} ms, first ${times[0]!.toFixed(1)} ms (goal: median <= 50 ms)`);
  console.log(`  compile + check alone (dist/, in process): median ${median(compiles.slice(10)).toFixed(1)} ms`);
}
