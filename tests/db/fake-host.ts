// A HostDriver that runs everything on this machine (`sh -c`, plain file
// copies), standing in for an SSH host in the remote SQLite tests. It records
// the commands it ran, and can hide sqlite3 from them (a host without it).

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecOptions, ExecResult, FileStat, HostDriver } from "../../runtime/drivers/driver.js";

export interface FakeHost extends HostDriver {
  /** Every command exec ran, with the stdin it was given. */
  readonly commands: { command: string; stdin?: string }[];
  readonly downloads: string[];
}

/** Tools a command may need when sqlite3 is hidden (PATH then holds only these). */
const TOOLS = ["rm", "cat", "ls", "mkdir", "test", "env", "true"];

export async function fakeHost(options: { label?: string; withoutSqlite3?: boolean } = {}): Promise<FakeHost> {
  let env: NodeJS.ProcessEnv = process.env;
  let binDir: string | undefined;
  if (options.withoutSqlite3) {
    binDir = await mkdtemp(join(tmpdir(), "runbook-fakebin-"));
    for (const tool of TOOLS) {
      for (const dir of ["/usr/bin", "/bin"]) {
        try {
          await symlink(join(dir, tool), join(binDir, tool));
          break;
        } catch {
          // not there: try the next directory
        }
      }
    }
    env = { ...process.env, PATH: binDir };
  }
  const commands: { command: string; stdin?: string }[] = [];
  const downloads: string[] = [];

  return {
    label: options.label ?? "fakehost",
    commands,
    downloads,
    exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
      const started = Date.now();
      // A script sqlite3 is told to `.read` (a transaction's, uploaded first) is shown as part of what it was given.
      const given = opts.stdin === undefined ? undefined : String(opts.stdin).replace(/^\.read '([^']*)'$/gm, (line, path: string) => (existsSync(path) ? readFileSync(path, "utf8") : line));
      commands.push({ command, stdin: given });
      return new Promise((resolve) => {
        const child = spawn("/bin/sh", ["-c", command], { env, stdio: ["pipe", "pipe", "pipe"] });
        child.stdout.setEncoding("utf8").on("data", (c: string) => opts.onStdout?.(c));
        child.stderr.setEncoding("utf8").on("data", (c: string) => opts.onStderr?.(c));
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.stdin ?? "");
        child.on("close", (code, signal) =>
          resolve({ exitCode: code, signal, timedOut: false, aborted: false, durationMs: Date.now() - started }),
        );
      });
    },
    readFile: (path: string) => readFile(path),
    writeFile: (path: string, data: Buffer | string) => writeFile(path, data),
    async stat(path: string): Promise<FileStat | null> {
      try {
        const s = await stat(path);
        return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, isDirectory: s.isDirectory() };
      } catch {
        return null;
      }
    },
    upload: (local: string, remote: string) => copyFile(local, remote),
    async download(remote: string, local: string) {
      downloads.push(remote);
      await copyFile(remote, local);
    },
    async close() {
      if (binDir) await rm(binDir, { recursive: true, force: true });
    },
  };
}
