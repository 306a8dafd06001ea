// A Language Server Protocol client over stdio for the tests and the bench: starts
// `runbook lsp --stdio` as a real process and speaks JSON-RPC to it (vscode-jsonrpc,
// the library the server's own side is built on).

import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; code?: string | number; message: string; severity?: number }[];
}

export class LspClient {
  readonly proc: ChildProcess;
  readonly rpc: MessageConnection;
  private readonly published: PublishedDiagnostics[] = [];
  private readonly waiters: { test: (p: PublishedDiagnostics) => boolean; resolve: (p: PublishedDiagnostics) => void }[] = [];
  stderr = "";

  /** `from`: "source" runs the TypeScript through tsx; "dist" runs bin/runbook.js (built). */
  constructor(from: "source" | "dist", cwd: string, env: NodeJS.ProcessEnv = {}) {
    const args =
      from === "source"
        ? ["--import", pathToFileURL(join(ROOT, "node_modules/tsx/dist/esm/index.mjs")).href, join(ROOT, "tests/support/runbook-bin.ts"), "lsp", "--stdio"]
        : [join(ROOT, "bin/runbook.js"), "lsp", "--stdio"];
    this.proc = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH, HOME: cwd, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.rpc = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.rpc.onNotification("textDocument/publishDiagnostics", (p: PublishedDiagnostics) => {
      this.published.push(p);
      for (const w of [...this.waiters]) {
        if (w.test(p)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(p);
        }
      }
    });
    this.rpc.listen();
  }

  async initialize(rootUri: string): Promise<{ capabilities: Record<string, unknown> }> {
    const r = await this.rpc.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", { processId: process.pid, rootUri, capabilities: {} });
    await this.rpc.sendNotification("initialized", {});
    return r;
  }

  /** The next diagnostics published for `uri` (at `version` when given), or one already published. */
  diagnostics(uri: string, version?: number): Promise<PublishedDiagnostics> {
    const test = (p: PublishedDiagnostics) => p.uri === uri && (version === undefined || p.version === version);
    const have = this.published.find(test);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.rpc.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "runbook", version, text } });
  }

  change(uri: string, version: number, changes: unknown[]): Promise<void> {
    return this.rpc.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: changes });
  }

  request<T>(method: string, params: unknown): Promise<T> {
    return this.rpc.sendRequest<T>(method, params);
  }

  async close(): Promise<number | null> {
    const exited = new Promise<number | null>((res) => this.proc.on("close", (code) => res(code)));
    await this.rpc.sendRequest("shutdown");
    await this.rpc.sendNotification("exit");
    const code = await exited;
    this.rpc.dispose();
    return code;
  }
}

export const fileUri = (p: string) => pathToFileURL(p).href;
