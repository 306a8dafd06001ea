#!/usr/bin/env node
// Entry point of the `runbook` command: runs the compiled CLI (npm install builds it).
import { main } from "../dist/cli/main.js";
process.exitCode = await main(process.argv.slice(2));
