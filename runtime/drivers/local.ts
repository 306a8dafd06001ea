// The local HostDriver: steps without `on` run here. Commands run as
// `/bin/sh -c COMMAND` in a process group of their own (spawned detached), so a
// timeout, Ctrl-C or an aborted run ends the whole tree the command started
// (TERM to the group, then KILL after a grace period), and the terminal's Ctrl-C
// reaches only the runbook process, which decides what to do. Output is passed on
// as it comes. Files are read and written in place (atomic writes: a temp file
// beside the target, then a rename, keeping mode and owner); upload and download
// are local copies. Process spawning is injectable for unit tests.

import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { userInfo } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { checkCommandLength, encodeValues, valueEnv, valuePrelude } from "../command-values.js";
import { processStartToken } from "./process-identity.js";
import { DriverError, type ExecOptions, type ExecResult, type FileStat, type HostDriver } from "./driver.js";
import { makeDirs } from "../make-dirs.js";

let cachedUser: string | null | undefined;
/** The name of the user this process runs as (null when the system cannot say). */
export function localUser(): string | null {
  if (cachedUser === undefined) {
    try {
      cachedUser = userInfo().username;
    } catch {
      cachedUser = null;
    }
  }
  return cachedUser;
}

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface LocalDriverOptions {
  label?: string;
  /** Working directory for commands and relative paths; defaults to process.cwd(). */
  cwd?: string;
  /** Environment of commands; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Time between TERM and KILL when a command is ended (default 2000 ms). */
  killGraceMs?: number;
  /** How long to wait for output after the shell exited while something it left behind keeps the pipes open (default 200 ms). */
  drainMs?: number;
  shell?: string;
  spawn?: SpawnFn;
}

export class LocalDriver implements HostDriver {
  readonly label: string;
  readonly local = true;
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly graceMs: number;
  private readonly drainMs: number;
  private readonly shell: string;
  private readonly spawnFn: SpawnFn;
  private readonly running = new Set<ChildProcess>();

  constructor(options: LocalDriverOptions = {}) {
    this.label = options.label ?? "local";
    this.cwd = options.cwd ?? process.cwd();
    this.env = options.env ?? process.env;
    this.graceMs = options.killGraceMs ?? 2000;
    this.drainMs = options.drainMs ?? 200;
    this.shell = options.shell ?? "/bin/sh";
    this.spawnFn = options.spawn ?? (nodeSpawn as SpawnFn);
  }

  private path(p: string): string {
    return resolve(this.cwd, p);
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    if (options.signal?.aborted) {
      return Promise.resolve({ exitCode: null, signal: null, timedOut: false, aborted: true, durationMs: 0 });
    }
    // `as` the user runbook already runs as needs no sudo (as on a host: ssh/host.ts).
    const asUser = options.asUser !== undefined && options.asUser !== localUser() ? options.asUser : undefined;
    // Values reach the command apart from its text (command-values.ts): through the
    // environment, or, under sudo (which resets it), through stdin.
    const values = options.values ?? [];
    let script = command;
    let stdin = options.stdin;
    let env = this.env;
    try {
      checkCommandLength(command);
      if (values.length > 0 && asUser) {
        script = `${valuePrelude(values.length)}\n${command}`;
        stdin = Buffer.concat([encodeValues(values), Buffer.from(options.stdin ?? "")]);
      } else if (values.length > 0) env = { ...this.env, ...valueEnv(values) };
    } catch (e) {
      return Promise.reject(e);
    }
    const [file, args] = asUser
      ? ["sudo", ["-n", "-u", asUser, "--", this.shell, "-c", script]]
      : [this.shell, ["-c", script]];
    const hasStdin = stdin !== undefined;

    return new Promise<ExecResult>((resolvePromise, reject) => {
      let child: ChildProcess;
      try {
        child = this.spawnFn(file, args, {
          cwd: this.cwd,
          env,
          detached: true,
          stdio: [hasStdin ? "pipe" : "ignore", "pipe", "pipe"],
        });
      } catch (e) {
        reject(new DriverError(`cannot start ${file}: ${(e as Error).message}`, "spawn"));
        return;
      }
      this.running.add(child);
      if (child.pid !== undefined && options.onStarted) {
        // Detached: the command leads a process group of its own, whose id is its pid.
        const startToken = processStartToken(child.pid);
        options.onStarted({ pid: child.pid, pgid: child.pid, ...(startToken !== undefined ? { startToken } : {}) });
      }

      let timedOut = false;
      let aborted = false;
      let stopping = false;
      let exit: { code: number | null; signal: string | null } | undefined;
      let closed = false;
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      const out = new StringDecoder("utf8");
      const err = new StringDecoder("utf8");

      const killGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          try {
            child.kill(sig);
          } catch {
            /* already gone */
          }
        }
      };

      const stop = (why: "timeout" | "abort") => {
        if (stopping || done) return;
        stopping = true;
        if (why === "timeout") timedOut = true;
        else aborted = true;
        killGroup("SIGTERM");
        timers.push(
          setTimeout(() => {
            killGroup("SIGKILL");
            // Whatever still holds the pipes is gone now; do not wait for it forever.
            timers.push(setTimeout(() => finish(), 1000));
          }, this.graceMs),
        );
      };

      const onAbort = () => stop("abort");
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
        timers.push(setTimeout(() => stop("timeout"), options.timeoutMs));
      }

      const finish = () => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        options.signal?.removeEventListener("abort", onAbort);
        this.running.delete(child);
        const restOut = out.end();
        if (restOut) options.onStdout?.(restOut);
        const restErr = err.end();
        if (restErr) options.onStderr?.(restErr);
        if (!closed) {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
        if (stopping) {
          // Make sure nothing of the group outlives the command.
          killGroup("SIGKILL");
        }
        resolvePromise({
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          timedOut,
          aborted,
          durationMs: Date.now() - started,
        });
      };

      // After each chunk, yield to the event loop before reading more: a command that
      // floods its output must not starve timers and key presses (the UI stays responsive).
      child.stdout?.on("data", (b: Buffer) => {
        const s = out.write(b);
        if (s) options.onStdout?.(s);
        child.stdout?.pause();
        setImmediate(() => child.stdout?.resume());
      });
      child.stderr?.on("data", (b: Buffer) => {
        const s = err.write(b);
        if (s) options.onStderr?.(s);
        child.stderr?.pause();
        setImmediate(() => child.stderr?.resume());
      });
      child.on("error", (e: NodeJS.ErrnoException) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        options.signal?.removeEventListener("abort", onAbort);
        this.running.delete(child);
        reject(new DriverError(`cannot start ${file}: ${e.code === "ENOENT" ? "not found" : e.message}`, "spawn"));
      });
      child.on("exit", (code, signal) => {
        exit = { code, signal };
        // Something the command left in the background may keep the pipes open:
        // the command is over when its shell is; give its output a moment, no more.
        if (!stopping) timers.push(setTimeout(() => finish(), this.drainMs));
      });
      child.on("close", (code, signal) => {
        closed = true;
        exit ??= { code, signal };
        finish();
      });

      if (hasStdin && child.stdin) {
        child.stdin.on("error", () => {
          /* the command did not read its input: not an error */
        });
        child.stdin.end(stdin);
      }
    });
  }

  async readFile(path: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.path(path));
    } catch (e) {
      throw fileError("read", path, e);
    }
  }

  async writeFile(path: string, data: Buffer | string, options: { mode?: number } = {}): Promise<void> {
    let target = this.path(path);
    try {
      target = await fs.realpath(target);
    } catch {
      /* does not exist yet */
    }
    const existing = await fs.stat(target).catch(() => null);
    const mode = options.mode ?? (existing ? existing.mode & 0o7777 : 0o644);
    const tmp = join(dirname(target), `.${basename(target)}.runbook-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
    try {
      // Made 0600 (nobody else reads it on the way), then the owner, then the mode:
      // chown clears setuid and setgid, so chmod comes after it.
      await fs.writeFile(tmp, data, { mode: 0o600, flag: "wx" });
      if (existing) {
        await fs.chown(tmp, existing.uid, existing.gid).catch(() => {
          /* not allowed to give it away: it stays ours */
        });
      }
      await fs.chmod(tmp, mode);
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.unlink(tmp).catch(() => {});
      throw fileError("write", path, e);
    }
  }

  async stat(path: string): Promise<FileStat | null> {
    try {
      const s = await fs.stat(this.path(path));
      return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, isDirectory: s.isDirectory() };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw fileError("stat", path, e);
    }
  }

  private async copy(from: string, to: string, verb: string): Promise<void> {
    const src = this.path(from);
    let dest = this.path(to);
    const st = await fs.stat(dest).catch(() => null);
    if (st?.isDirectory()) dest = join(dest, basename(src));
    try {
      await makeDirs(dirname(dest));
      const tmp = join(dirname(dest), `.${basename(dest)}.runbook-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
      try {
        await fs.copyFile(src, tmp); // with the source's mode
        // A download keeps the permission bits, never setuid, setgid or sticky (as over SFTP).
        if (verb === "download") await fs.chmod(tmp, (await fs.stat(tmp)).mode & 0o777);
        await fs.rename(tmp, dest);
      } catch (e) {
        await fs.unlink(tmp).catch(() => {});
        throw e;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
      throw new DriverError(`cannot ${verb} ${from} to ${to}: ${why}`, "file");
    }
  }

  upload(localPath: string, remotePath: string): Promise<void> {
    return this.copy(localPath, remotePath, "upload");
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.copy(remotePath, localPath, "download");
  }

  async close(): Promise<void> {
    for (const child of this.running) {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    this.running.clear();
  }
}

function fileError(verb: string, path: string, e: unknown): DriverError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EISDIR"
          ? "is a directory"
          : (e as Error).message;
  return new DriverError(`cannot ${verb} ${path}: ${why}`, code === "ENOENT" ? "not-found" : "file");
}

export function createLocalDriver(options: LocalDriverOptions = {}): LocalDriver {
  return new LocalDriver(options);
}
