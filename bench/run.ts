// `npm run bench`: every benchmark, each printing its own baseline measured in the
// same run and the ratio. `npm run bench -- parse ssh` runs only those.

import { benchColdStart } from "./cold-start.js";
import { benchParse } from "./parse.js";

const all: Record<string, () => Promise<void>> = {
  parse: benchParse,
  "cold-start": benchColdStart,
  local: async () => (await import("./local.js")).benchLocal(),
  ssh: async () => (await import("./ssh.js")).benchSsh(),
  ui: async () => (await import("./ui.js")).benchUi(),
  db: async () => (await import("./db.js")).benchDb(),
  "db-memory": async () => (await import("./db.js")).benchDbMemory(),
  lsp: async () => (await import("./lsp.js")).benchLsp(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
let failed = false;
for (const [name, fn] of Object.entries(all)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n== ${name}`);
  try {
    await fn();
  } catch (err) {
    failed = true;
    console.log(`  ${name} could not run: ${err instanceof Error ? err.message : String(err)}`);
  }
}
process.exitCode = failed ? 1 : 0;
