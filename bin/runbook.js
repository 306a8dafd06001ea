#!/usr/bin/env node
// Entry point of the `runbook` command: runs the bundled CLI that `npm install`
// builds (dist/bundle), or the plain compiled one when there is no bundle.
import { existsSync } from "node:fs";
import module from "node:module";

// Node 22+ keeps compiled code of the bundle on disk between runs (faster start); Node 20 has no cache.
module.enableCompileCache?.();

const bundled = new URL("../dist/bundle/main.js", import.meta.url);
const { main } = await import(existsSync(bundled) ? bundled.href : "../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
