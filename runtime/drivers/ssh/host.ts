// SshHost: a HostDriver on a pooled connection. Commands run on exec channels
// in the login shell, tagged with a token so that a timeout or an abort can find
// and kill their whole process group remotely (see wrap); file operations go to
// files.ts over the connection's SFTP session. A dropped link fails what was
// running on it with DriverError "connection-lost".

import { checkCommandLength, encodeValues, valuePrelude } from "../../command-values.js";
import { shellQuote } from "../../quote.js";
import { StringDecoder } from "node:string_decoder";
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { DriverError, type ExecOptions, type ExecResult, type FileStat, type HostDriver, type StartedCommand } from "../driver.js";
import { AbortedError, type Connection, type LostReason } from "./connection.js";
import { findExecScript, KILL_GRACE_MS, MARKER, nextToken, signalExecScript } from "./exec-scripts.js";
import { SshFiles } from "./files.js";
import type { SshPool } from "./pool.js";

export class SshHost implements HostDriver {
  private conn: Promise<Connection> | undefined;
  private readonly files: SshFiles;

  constructor(
    private readonly pool: SshPool,
    private readonly target: string,
    readonly label: string,
    private readonly via: string | undefined,
  ) {
    this.files = new SshFiles(label, (fn) => this.withSftp(fn));
  }

  private connection(): Promise<Connection> {
    if (!this.conn) {
      this.conn = this.pool.connection(this.target, this.via);
      this.conn.catch(() => (this.conn = undefined));
    }
    return this.conn;
  }

  private lostError(reason: LostReason): DriverError {
    return reason === "lost"
      ? new DriverError(`connection to ${this.label} lost`, "connection-lost")
      : new DriverError(`connection to ${this.label} closed`, "connection-closed");
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = performance.now();
    const { signal } = options;
    const abortedResult = (): ExecResult => ({
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: true,
      durationMs: performance.now() - started,
    });
    if (signal?.aborted) return abortedResult();
    const conn = await this.connection();
    let release: () => void;
    try {
      release = await conn.acquire(signal);
    } catch (err) {
      if (err instanceof AbortedError) return abortedResult();
      throw err;
    }
    try {
      let client: Client;
      if (signal) {
        // An abort while connecting (a slow or dead host) returns at once;
        // the connection attempt carries on for the pool.
        let onAbort = () => {};
        const aborted = new Promise<null>((resolve) => {
          onAbort = () => resolve(null);
          signal.addEventListener("abort", onAbort, { once: true });
        });
        try {
          const c = await Promise.race([conn.ensure(this.label), aborted]);
          if (!c) return abortedResult();
          client = c;
        } finally {
          signal.removeEventListener("abort", onAbort);
        }
      } else {
        client = await conn.ensure(this.label);
      }
      if (signal?.aborted) return abortedResult();
      return await this.run(conn, client, command, options);
    } finally {
      release();
    }
  }

  /**
   * The command line sent to the server. Without sudo the command runs in the
   * login shell (like `ssh host CMD`) after `export RUNBOOK_EXEC_ID=TOKEN`:
   * nothing is added to the command's path but a builtin. sshd makes each
   * exec its own session and process group led by that shell, so a kill finds
   * the shell by the token in its command line (pgrep -f), or, when it has
   * exec'd another program, any process of the command by the token in its
   * environment, and signals its whole process group. Under sudo the process
   * group is sudo's business (use_pty or not), so the shell inside sudo
   * reports its pid and pgid on stdout first, and kills run as that user.
   */
  private wrap(command: string, token: string, sudoUser: string | undefined, values: number): string {
    // The command's values come first on stdin, read before it runs (command-values.ts).
    const read = values > 0 ? `${valuePrelude(values)}\n` : "";
    if (!sudoUser) return `export RUNBOOK_EXEC_ID=${token}\n${read}${command}`;
    const prelude =
      `pg=; { read -r _ _ _ _ pg _ < /proc/$$/stat; } 2>/dev/null || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' '); ` +
      `echo "@@runbook-pid:$$:$pg@@"`;
    return `exec sudo -n -u ${shellQuote(sudoUser)} -- sh -c ${shellQuote(`${prelude}\n${read}exec sh -c "$1"`)} sh ${shellQuote(command)}`;
  }

  private run(
    conn: Connection,
    client: Client,
    command: string,
    options: ExecOptions,
  ): Promise<ExecResult> {
    // The command's time (and its timeout) starts when it is sent, not
    // while it waited for a connection or a free channel.
    let started = performance.now();
    const user = conn.resolved.user;
    const sudoUser = options.asUser && options.asUser !== user ? options.asUser : undefined;
    const token = nextToken();
    checkCommandLength(command);
    const values = options.values ?? [];
    const valueBytes = values.length > 0 ? encodeValues(values) : undefined;
    const wrapped = this.wrap(command, token, sudoUser, values.length);
    const stdin = valueBytes ? Buffer.concat([valueBytes, Buffer.from(options.stdin ?? "")]) : options.stdin;
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let stream: ClientChannel | undefined;
      let pid: number | undefined;
      let pgid: number | undefined;
      let timedOut = false;
      let aborted = false;
      let killStarted = false;
      let openAttempts = 0;
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      const timers: NodeJS.Timeout[] = [];
      const pidWaiters: Array<() => void> = [];
      const outDecoder = new StringDecoder("utf8");
      const errDecoder = new StringDecoder("utf8");
      // Under sudo: look for the pid line on stdout, and hold stderr until
      // the command has started, so sudo's own complaint becomes a
      // DriverError instead of command output.
      let searching = sudoUser !== undefined;
      let pendingOut: Buffer = Buffer.alloc(0);
      let heldErr: Buffer[] | null = sudoUser ? [] : null;
      let heldErrBytes = 0;

      const emitOut = (buf: Buffer) => {
        if (buf.length === 0 || !options.onStdout) return;
        const text = outDecoder.write(buf);
        if (text) options.onStdout(text);
      };
      const emitErr = (buf: Buffer) => {
        if (buf.length === 0 || !options.onStderr) return;
        const text = errDecoder.write(buf);
        if (text) options.onStderr(text);
      };
      const releaseErr = () => {
        if (!heldErr) return;
        const held = heldErr;
        heldErr = null;
        for (const b of held) emitErr(b);
      };

      const cleanup = () => {
        settled = true;
        for (const t of timers) clearTimeout(t);
        for (const w of pidWaiters.splice(0)) w();
        options.signal?.removeEventListener("abort", onAbort);
        unsubscribe();
      };
      const fail = (err: Error) => {
        if (settled) return;
        cleanup();
        try {
          stream?.close();
        } catch {
          // channel already gone
        }
        reject(err);
      };
      const unsubscribe = conn.onLost(client, (reason) => fail(this.lostError(reason)));

      const finish = () => {
        if (settled) return;
        if (searching && pendingOut.length) emitOut(pendingOut);
        searching = false;
        pendingOut = Buffer.alloc(0);
        if (heldErr && pid === undefined && !timedOut && !aborted) {
          // The command never started: sudo refused.
          const text = Buffer.concat(heldErr).toString("utf8");
          if (/a password is required|a terminal is required/i.test(text)) {
            cleanup();
            reject(
              new DriverError(
                `sudo on ${this.label} needs a password for ${user} to run commands as ${sudoUser}; ` +
                  `allow NOPASSWD for ${user} in sudoers, or run the step as ${user} (without "as ${sudoUser}")`,
                "sudo-password",
              ),
            );
            return;
          }
          if (/^sudo:/m.test(text)) {
            cleanup();
            reject(
              new DriverError(
                `sudo on ${this.label} refused to run a command as ${sudoUser} for ${user}: ${text.trim().split("\n")[0]}`,
                "sudo-refused",
              ),
            );
            return;
          }
        }
        releaseErr();
        const tailOut = outDecoder.end();
        if (tailOut && options.onStdout) options.onStdout(tailOut);
        const tailErr = errDecoder.end();
        if (tailErr && options.onStderr) options.onStderr(tailErr);
        cleanup();
        resolve({ exitCode, signal: exitSignal, timedOut, aborted, durationMs: performance.now() - started });
      };

      const sleep = (ms: number) =>
        new Promise<void>((r) => {
          timers.push(setTimeout(r, ms));
        });
      /** Signal the command's process group; false when it was not found (yet). */
      const signalRemote = async (sig: "TERM" | "KILL"): Promise<boolean> => {
        if (sudoUser) {
          if (pid === undefined) return false;
          const group = pgid !== undefined ? `kill -${sig} -${pgid} 2>/dev/null || ` : ""; // dash takes no `--` here
          const cmd = `${group}kill -s ${sig} ${pid}`;
          return (await this.sideExec(conn, client, `sudo -n -u ${shellQuote(sudoUser)} -- sh -c ${shellQuote(cmd)}`)) === 0;
        }
        const cmd = signalExecScript(token, sig);
        return (await this.sideExec(conn, client, cmd)) === 0;
      };
      const killRemote = async () => {
        if (killStarted || settled) return;
        killStarted = true;
        // TERM the group (retrying while the shell may not have started), a
        // grace period, KILL, another grace period, then give up the channel.
        const termUntil = performance.now() + KILL_GRACE_MS;
        let sent = false;
        while (!settled && !sent && performance.now() < termUntil) {
          sent = await signalRemote("TERM");
          if (!sent && !settled) await sleep(100);
        }
        if (sent) await sleep(KILL_GRACE_MS);
        if (settled) return;
        await signalRemote("KILL");
        await sleep(KILL_GRACE_MS);
        if (settled) return;
        // Nothing we could find holds the channel open: give it up. sshd
        // only confirms the close once its process is gone, so do not wait.
        stream?.close();
        await sleep(500);
        if (!settled) finish();
      };
      const onAbort = () => {
        if (settled || timedOut) return;
        aborted = true;
        void killRemote();
      };
      if (options.signal) options.signal.addEventListener("abort", onAbort, { once: true });

      const open = () => {
        started = performance.now();
        client.exec(wrapped, (err, ch) => {
          if (settled) {
            ch?.close();
            return;
          }
          if (err) {
            if (!conn.isCurrent(client)) fail(this.lostError("lost"));
            else if (/open failed|Channel open failure/i.test(err.message) && openAttempts < 20 && !aborted) {
              // The server's session limit (MaxSessions), maybe held by a
              // channel we gave up on: try again shortly.
              openAttempts++;
              timers.push(setTimeout(open, Math.min(50 * openAttempts, 500)));
            } else fail(new DriverError(`cannot start a command on ${this.label}: ${err.message}`, "exec"));
            return;
          }
          stream = ch;
          // Without sudo its shell exports the token, by which resume can find it later
          // (under sudo its pid and process group, once it reports them).
          if (!sudoUser) options.onStarted?.({ execId: token });
          ch.on("data", (chunk: Buffer) => {
            if (!searching) return emitOut(chunk);
            pendingOut = pendingOut.length ? Buffer.concat([pendingOut, chunk]) : chunk;
            const m = MARKER.exec(pendingOut.toString("latin1"));
            if (m) {
              searching = false;
              pid = Number(m[1]);
              pgid = m[2] ? Number(m[2]) : undefined;
              options.onStarted?.({ pid, ...(pgid !== undefined ? { pgid } : {}), asUser: sudoUser! });
              const before = pendingOut.subarray(0, m.index);
              const after = pendingOut.subarray(m.index + m[0].length);
              pendingOut = Buffer.alloc(0);
              emitOut(before);
              releaseErr();
              emitOut(after);
              for (const w of pidWaiters.splice(0)) w();
            } else if (pendingOut.length > 65536) {
              searching = false;
              emitOut(pendingOut);
              pendingOut = Buffer.alloc(0);
            }
          });
          ch.stderr.on("data", (chunk: Buffer) => {
            if (heldErr) {
              heldErr.push(chunk);
              heldErrBytes += chunk.length;
              if (heldErrBytes > 65536) releaseErr();
            } else emitErr(chunk);
          });
          ch.on("exit", (code: number | null, sig?: string) => {
            exitCode = typeof code === "number" ? code : null;
            exitSignal = sig ?? null;
          });
          ch.on("close", () => finish());
          if (stdin !== undefined) ch.end(stdin);
          else ch.end();
          if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
            const remaining = Math.max(0, options.timeoutMs - (performance.now() - started));
            timers.push(
              setTimeout(() => {
                if (settled || aborted) return;
                timedOut = true;
                void killRemote();
              }, remaining),
            );
          }
          if (options.signal?.aborted) onAbort();
        });
      };
      open();
    });
  }

  /**
   * A command started earlier (by another runbook process): still running here? Found
   * by its exec id, or, run through sudo, by its process group as that user.
   */
  async commandState(command: StartedCommand): Promise<"running" | "gone"> {
    const r = await this.exec(this.commandScript(command, undefined), { timeoutMs: 30_000 });
    if (r.exitCode === 0) return "running";
    if (r.exitCode === 3) return "gone";
    throw new DriverError(`cannot look for that command on ${this.label}: the check ended with ${r.exitCode ?? r.signal ?? "no status"}`, "exec");
  }

  /** Ends such a command's process group: TERM, then KILL; resolves once it is gone. */
  async endCommand(command: StartedCommand): Promise<void> {
    for (const [sig, waitMs] of [["TERM", KILL_GRACE_MS], ["KILL", KILL_GRACE_MS * 2]] as const) {
      await this.exec(this.commandScript(command, sig), { timeoutMs: 30_000 });
      for (const until = performance.now() + waitMs; performance.now() < until; ) {
        if ((await this.commandState(command)) === "gone") return;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if ((await this.commandState(command)) === "running") throw new DriverError(`that command on ${this.label} still runs after KILL`, "exec");
  }

  /** Finds (sig undefined: exit 0 when running, 3 when gone) or signals a command started earlier. */
  private commandScript(command: StartedCommand, sig: "TERM" | "KILL" | undefined): string {
    if (command.execId !== undefined) return sig ? signalExecScript(command.execId, sig) : findExecScript(command.execId).join("\n");
    const pgid = command.pgid ?? command.pid;
    if (pgid === undefined) throw new DriverError(`nothing to find that command on ${this.label} by`, "exec");
    // `kill -SIG -PGID`: dash (a common /bin/sh) takes neither `--` nor `-s SIG -PGID`.
    const inner = sig ? `kill -${sig} -${pgid} 2>/dev/null || kill -s ${sig} ${pgid}` : `kill -0 -${pgid} 2>/dev/null || exit 3`;
    if (!command.asUser) return inner;
    // Exit 3 from inside sudo is "gone"; sudo refusing is another status, which says nothing.
    return `sudo -n -u ${shellQuote(command.asUser)} -- sh -c ${shellQuote(inner)}`;
  }

  /** A short command on its own channel, outside the channel cap (used to kill); its exit code. */
  private sideExec(conn: Connection, client: Client, command: string): Promise<number | null> {
    return new Promise((resolve) => {
      if (!conn.isCurrent(client)) return resolve(null);
      const attempt = (n: number) => {
        client.exec(command, (err, ch) => {
          if (err) {
            // The server may be at MaxSessions: try again shortly.
            if (n < 10 && conn.isCurrent(client)) setTimeout(() => attempt(n + 1), 100 * (n + 1));
            else resolve(null);
            return;
          }
          let code: number | null = null;
          ch.on("exit", (c: number | null) => (code = typeof c === "number" ? c : null));
          ch.on("close", () => resolve(code));
          ch.resume();
          ch.stderr.resume();
          ch.end();
        });
      };
      attempt(0);
    });
  }

  /** Run an SFTP operation, failing with connection-lost when the link drops. */

  private async withSftp<T>(fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    const conn = await this.connection();
    const { client, sftp } = await conn.sftp(this.label);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const unsubscribe = conn.onLost(client, (reason) => {
        if (done) return;
        done = true;
        reject(this.lostError(reason));
      });
      fn(sftp).then(
        (v) => {
          if (done) return;
          done = true;
          unsubscribe();
          resolve(v);
        },
        (e) => {
          if (done) return;
          done = true;
          unsubscribe();
          reject(e);
        },
      );
    });
  }


  readFile(path: string): Promise<Buffer> {
    return this.files.readFile(path);
  }

  stat(path: string): Promise<FileStat | null> {
    return this.files.stat(path);
  }

  writeFile(path: string, data: Buffer | string, options: { mode?: number } = {}): Promise<void> {
    return this.files.writeFile(path, data, options);
  }

  upload(localPath: string, remotePath: string): Promise<void> {
    return this.files.upload(localPath, remotePath);
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.files.download(remotePath, localPath);
  }

  async close(): Promise<void> {
    if (!this.conn) return;
    const conn = await this.conn.catch(() => undefined);
    await conn?.close();
  }
}
