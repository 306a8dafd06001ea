// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/: chevrotain pulls
// in hundreds of lodash-es modules, and loading them one by one costs more than
// the whole `runbook check`. Heavy modules that commands import lazily (ink,
// react, ssh2, mysql2, better-sqlite3) stay external and load only when needed.
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist/bundle", { recursive: true, force: true }); // no chunks of an earlier build left behind

await build({
  entryPoints: ["dist/cli/main.js"],
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["ink", "react", "react/*", "ssh2", "mysql2", "mysql2/*", "better-sqlite3", "cpu-features", "diff"],
  // CommonJS dependencies (commander) call require() for node builtins.
  banner: { js: "import { createRequire as __runbookRequire } from 'node:module'; const require = __runbookRequire(import.meta.url);" },
  logLevel: "warning",
});
