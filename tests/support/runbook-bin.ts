// The `runbook` command run from source (through tsx), for end-to-end tests that
// need a real process: signals, kill -9, stdin that is not a terminal.
import { main } from "../../cli/main.js";

process.exitCode = await main(process.argv.slice(2));
