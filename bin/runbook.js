#!/usr/bin/env node
// Entry point of the `runbook` command: runs the bundled CLI that `npm install`
// builds (dist/bundle), or the plain compiled one when there is no bundle.
import { existsSync } from "node:fs";

const bundled = new URL("../dist/bundle/main.js", import.meta.url);
const { main } = await import(existsSync(bundled) ? bundled.href : "../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
