// `runbook lsp`: runs the language server (server.ts) on the command's stdin and
// stdout until the editor closes it.

import type { CliIO } from "../io.js";
import { Exit } from "../io.js";
import { startServer } from "../lsp/server.js";

export function runLsp(io: CliIO): Promise<number> {
  return new Promise((resolve) => {
    const connection = startServer(io.stdin, io.stdout);
    connection.onExit(() => resolve(Exit.ok));
    io.stdin.on("end", () => resolve(Exit.ok));
  });
}
