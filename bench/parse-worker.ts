// One side of the parse benchmark (bench/parse.ts) in a process of its own:
// `node --import tsx bench/parse-worker.ts runbook|yaml` warms up, times the runs and
// prints `{ "bytes": …, "best": ms }`. Each side gets a fresh heap: neither one's
// garbage is collected in the other's time.

import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { generatePlaybook, generateRunbook, RUNS, STEPS, WARM_UP } from "./parse.js";

const BUILT = fileURLToPath(new URL("../dist/language/compile.js", import.meta.url));

async function subject(side: string): Promise<{ text: string; run: () => void }> {
  if (side === "yaml") {
    const text = generatePlaybook(STEPS);
    return { text, run: () => parseYaml(text) };
  }
  if (!existsSync(BUILT)) throw new Error("dist/ is missing: run `npm run build` first");
  const { compileSource } = (await import(pathToFileURL(BUILT).href)) as typeof import("../language/compile.js");
  const text = generateRunbook(STEPS);
  const problem = compileSource(text, "generated.rb").diagnostics.find((d) => d.severity === "error");
  if (problem) throw new Error(`the generated runbook does not compile: ${problem.message}`);
  return { text, run: () => compileSource(text, "generated.rb") };
}

const { text, run } = await subject(process.argv[2] ?? "");
for (let i = 0; i < WARM_UP; i++) run();
let best = Infinity;
for (let i = 0; i < RUNS; i++) {
  const t = performance.now();
  run();
  best = Math.min(best, performance.now() - t);
}
console.log(JSON.stringify({ bytes: Buffer.byteLength(text), best }));
