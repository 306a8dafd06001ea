// The SSH driver: a HostDriver per remote host, all sharing one ssh2 connection
// per host through an SshPool. Hosts are `user@address[:port]` or an alias from
// ~/.ssh/config (read by ssh-config.ts with the ssh-config package); auth
// tries the agent, then IdentityFiles, then the default keys; host keys are
// checked against ~/.ssh/known_hosts (known-hosts.ts). Commands run on exec
// channels (capped per connection, the rest queued) in the login shell, tagged
// with a token so that a timeout or an abort can find and kill their whole
// process group remotely (see SshHost.wrap). Files go over one reused SFTP
// session per connection. A dropped link fails what was running on it with
// DriverError "connection-lost"; the next call reconnects. ssh2 is loaded
// lazily, on the first connection.

import { checkCommandLength, encodeValues, valuePrelude } from "../command-values.js";
import { shellQuote } from "../quote.js";
import { appendFile, chmod as localChmod, mkdir, readFile, rename, stat as localStat, unlink, writeFile as writeLocalFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import type { Duplex } from "node:stream";
import type {
  AnyAuthMethod,
  AuthenticationType,
  Client,
  ClientChannel,
  ConnectConfig,
  ParsedKey,
  SFTPWrapper,
} from "ssh2";
import type SSHConfig from "ssh-config";
import { DriverError, type ExecOptions, type ExecResult, type FileStat, type HostDriver, type StartedCommand } from "./driver.js";
import {
  checkHostKey,
  fingerprint,
  hostKeyAlgorithmsFor,
  keyTypeLabel,
  keyTypeOf,
  knownHostsLine,
  parseKnownHosts,
} from "./known-hosts.js";
import { loadSshConfig, resolveHost, type ResolvedHost } from "./ssh-config.js";

export { resolveSshTarget } from "./ssh-config.js";

export interface SshPoolOptions {
  /** Like OpenSSH StrictHostKeyChecking=accept-new: record unknown host keys instead of refusing. */
  acceptNewHostKeys?: boolean;
  /** Where .ssh/ lives; default os.homedir(). */
  homeDir?: string;
  /** Default 10000: TCP connect and SSH handshake (not time spent asking for a passphrase). */
  connectTimeoutMs?: number;
  /** Default 2000 (with 3 unanswered keepalives allowed), so a dead link is noticed within seconds. */
  keepaliveIntervalMs?: number;
  /** Passphrase for an encrypted key; else RUNBOOK_SSH_PASSPHRASE. */
  askPassphrase?: (keyPath: string) => Promise<string | undefined>;
  /** Default 8 (OpenSSH MaxSessions is 10): further commands wait. */
  maxChannelsPerConnection?: number;
  /** The ssh-agent socket; default $SSH_AUTH_SOCK. */
  agentSocket?: string;
}

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];
/** Time between TERM and KILL, and after KILL before the channel is given up. */
const KILL_GRACE_MS = 2000;
const MARKER = /@@runbook-pid:(\d+):(\d*)@@\n/;

type Ssh2Module = typeof import("ssh2");
let ssh2Promise: Promise<Ssh2Module> | undefined;
function loadSsh2(): Promise<Ssh2Module> {
  ssh2Promise ??= import("ssh2").then((m) => ((m as { default?: Ssh2Module }).default ?? m) as Ssh2Module);
  return ssh2Promise;
}

/**
 * Shell lines that find the process of the command with this exec id (exit 3 when
 * there is none) and leave its pid in $p: its shell by the token in its command line
 * (pgrep -f), else any process with the token in its environment (one that exec'd).
 */
function findExecScript(token: string): string[] {
  // [x]yz: the pattern does not match the command line of the shell running it.
  const pattern = `RUNBOOK_EXEC_ID=[${token[0]}]${token.slice(1)}`;
  // The token alone in `t`: this script's command line must not hold
  // RUNBOOK_EXEC_ID=TOKEN itself, or pgrep would find this very shell.
  return [
    `t=${token}`,
    `p=$(pgrep -o -f ${shellQuote(pattern)} 2>/dev/null)`,
    `[ -n "$p" ] || { f=$(grep -l -a -F "RUNBOOK_EXEC_ID=$t" /proc/[0-9]*/environ 2>/dev/null | head -n 1); p=\${f#/proc/}; p=\${p%/environ}; }`,
    `[ -n "$p" ] || exit 3`,
  ];
}

/** Sends `sig` to the process group of the command with this exec id (exit 3: not found). */
function signalExecScript(token: string, sig: "TERM" | "KILL"): string {
  return [
    ...findExecScript(token),
    `pg=; { read -r _ _ _ _ pg _ < /proc/$p/stat; } 2>/dev/null`,
    // `kill -SIG -PGID`: dash (a common /bin/sh) takes neither `--` nor `-s SIG -PGID`.
    `kill -${sig} "-\${pg:-$p}" 2>/dev/null || kill -s ${sig} "$p"`,
  ].join("\n");
}

let tokenCounter = 0;
const tokenPrefix = randomBytes(4).toString("hex");
/** A token unique to one exec (its process is found by it when it must be killed). */
function nextToken(): string {
  // Fixed length, so no token is a prefix of another.
  return `${tokenPrefix}${(++tokenCounter).toString(36).padStart(8, "0")}`;
}


// ---------------------------------------------------------------------------
// Connections

type LostReason = "lost" | "closed";

/** One ssh2 Client to one endpoint; reconnects on the next use after a drop. */
class Connection {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  /** The client of a connect in progress (so close() can abandon it). */
  private pendingClient: Client | null = null;
  private sftpSession: Promise<SFTPWrapper> | null = null;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly lostListeners = new Map<Client, Set<(reason: LostReason) => void>>();
  private closing = false;

  constructor(
    private readonly pool: SshPool,
    readonly key: string,
    readonly target: string,
    readonly resolved: ResolvedHost,
    readonly jump: Connection | undefined,
  ) {}

  get endpoint(): string {
    return `${this.resolved.user}@${this.resolved.host}:${this.resolved.port}`;
  }

  /** A channel slot (capped per connection); resolves to a release function. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
    if (this.active < this.pool.maxChannels) {
      this.active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new AbortedError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Subscribe to this client going away; returns the unsubscribe function. */
  onLost(client: Client, listener: (reason: LostReason) => void): () => void {
    let set = this.lostListeners.get(client);
    if (!set) {
      // Already gone (closed between ensure() and here).
      queueMicrotask(() => listener(this.closing ? "closed" : "lost"));
      return () => {};
    }
    set.add(listener);
    return () => set!.delete(listener);
  }

  isCurrent(client: Client): boolean {
    return this.client === client;
  }

  ensure(label: string): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.closing = false;
    this.connecting ??= this.connect(label).then(
      (client) => {
        this.connecting = null;
        return client;
      },
      (err) => {
        this.connecting = null;
        throw err;
      },
    );
    return this.connecting;
  }

  sftp(label: string): Promise<{ client: Client; sftp: SFTPWrapper }> {
    return this.ensure(label).then((client) => {
      this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
        client.sftp((err, sftp) => {
          if (err) {
            this.sftpSession = null;
            reject(new DriverError(`cannot start SFTP on ${label}: ${err.message}`, "sftp"));
            return;
          }
          sftp.on("close", () => {
            if (this.client === client) this.sftpSession = null;
          });
          resolve(sftp);
        });
      });
      return this.sftpSession.then((sftp) => ({ client, sftp }));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const pending = this.connecting;
    if (pending) {
      this.pendingClient?.destroy();
      await pending.catch(() => undefined);
    }
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000);
      client.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  private markGone(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.sftpSession = null;
    const listeners = this.lostListeners.get(client);
    this.lostListeners.delete(client);
    const reason: LostReason = this.closing ? "closed" : "lost";
    for (const listener of listeners ?? []) listener(reason);
  }

  private async connect(label: string): Promise<Client> {
    const { Client: ClientCtor, utils } = await loadSsh2();
    const r = this.resolved;
    const opts = this.pool.options;
    const home = this.pool.home;

    let sock: Duplex | undefined;
    if (this.jump) {
      sock = await this.jump.openTunnel(this.jump.target, r.host, r.port);
    }

    let knownText = "";
    try {
      knownText = await readFile(r.knownHostsFile, "utf8");
    } catch {
      // no known_hosts yet
    }
    const entries = parseKnownHosts(knownText);
    const algorithms = hostKeyAlgorithmsFor(entries, r.hostKeyName);

    // Auth candidates: agent, IdentityFiles, default keys (each file once).
    const agentSocket = opts.agentSocket ?? process.env.SSH_AUTH_SOCK;
    const tried: string[] = [];
    let serverMethods: string[] | null = null;
    const keyPaths: Array<{ path: string; configured: boolean }> = [];
    for (const path of r.identityFiles) keyPaths.push({ path, configured: true });
    for (const name of DEFAULT_KEYS) {
      const path = join(home, ".ssh", name);
      if (!keyPaths.some((k) => k.path === path)) keyPaths.push({ path, configured: false });
    }
    const candidates: Array<() => Promise<AnyAuthMethod | null>> = [];
    if (agentSocket && !r.identitiesOnly) {
      candidates.push(async () => {
        if (!existsSync(agentSocket)) return null;
        tried.push(`agent (${agentSocket})`);
        return { type: "agent", username: r.user, agent: agentSocket };
      });
    }
    let timerPaused = false;
    let connectTimer: NodeJS.Timeout | undefined;
    // Local work (asking for a passphrase, bcrypt-decrypting a key) is not
    // connect time: the connect timer is paused meanwhile.
    const offTheClock = async <T>(fn: () => Promise<T>): Promise<T> => {
      timerPaused = true;
      clearTimeout(connectTimer);
      try {
        return await fn();
      } finally {
        timerPaused = false;
        armTimer();
      }
    };
    for (const { path, configured } of keyPaths) {
      candidates.push(async () => {
        const cached = this.pool.decryptedKeys.get(path);
        if (cached) {
          tried.push(`key ${path}`);
          return { type: "publickey", username: r.user, key: cached };
        }
        let data: Buffer;
        try {
          data = await readFile(path);
        } catch {
          if (configured) tried.push(`key ${path} (not found)`);
          return null;
        }
        const parse = (passphrase?: string): ParsedKey | Error => {
          const k = utils.parseKey(data, passphrase);
          return Array.isArray(k) ? (k[0] as ParsedKey) : k;
        };
        let parsed = parse();
        if (parsed instanceof Error && /passphrase|encrypted/i.test(parsed.message)) {
          const result = await offTheClock(async () => {
            let passphrase = process.env.RUNBOOK_SSH_PASSPHRASE;
            let key: ParsedKey | Error | undefined = passphrase !== undefined ? parse(passphrase) : undefined;
            if ((key === undefined || key instanceof Error) && opts.askPassphrase) {
              passphrase = await opts.askPassphrase(path);
              key = passphrase !== undefined ? parse(passphrase) : undefined;
            }
            return key;
          });
          if (result === undefined) {
            tried.push(`key ${path} (encrypted; no passphrase given: set RUNBOOK_SSH_PASSPHRASE)`);
            return null;
          }
          if (result instanceof Error) {
            tried.push(`key ${path} (wrong passphrase)`);
            return null;
          }
          parsed = result;
          // Ask once per pool, not again on every reconnect.
          this.pool.decryptedKeys.set(path, parsed);
        } else if (parsed instanceof Error) {
          tried.push(`key ${path} (unreadable: ${parsed.message})`);
          return null;
        }
        tried.push(`key ${path}`);
        return { type: "publickey", username: r.user, key: parsed };
      });
    }
    let next = 0;
    const authHandler = (
      methodsLeft: AuthenticationType[] | null,
      _partial: boolean | null,
      callback: (m: AnyAuthMethod | false) => void,
    ) => {
      if (methodsLeft) serverMethods = methodsLeft;
      if (methodsLeft && !methodsLeft.includes("publickey")) {
        callback(false);
        return;
      }
      void (async () => {
        while (next < candidates.length) {
          let method: AnyAuthMethod | null = null;
          try {
            method = await candidates[next++]();
          } catch {
            method = null;
          }
          if (method) return callback(method);
        }
        callback(false);
      })();
    };

    let verifyError: DriverError | undefined;
    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void) => {
      void this.verifyHostKey(label, key, entries).then(
        () => verify(true),
        (err: DriverError) => {
          verifyError = err;
          verify(false);
        },
      );
    };

    const client = new ClientCtor();
    this.pendingClient = client;
    // No Nagle from the first byte: the handshake is a string of small
    // packets, and with Nagle on, each pair sent back to back (NEWKEYS then
    // SERVICE_REQUEST, …) waits about 40 ms for the server's delayed ACK,
    // doubling the time to connect. ssh2 emits "connect" before it sends
    // anything. (Through a jump host the socket is a channel: no-op there.)
    client.once("connect", () => client.setNoDelay(true));
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    let timedOut = false;
    const armTimer = () => {
      clearTimeout(connectTimer);
      if (timerPaused || timeoutMs <= 0) return;
      connectTimer = setTimeout(() => {
        timedOut = true;
        client.destroy();
        sock?.destroy();
      }, timeoutMs);
    };

    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      let authFailed = false;
      let lastError: (Error & { level?: string; code?: string }) | undefined;
      client.on("error", (err: Error & { level?: string }) => {
        if (err.level === "client-authentication" && /All configured authentication methods failed/.test(err.message))
          authFailed = true;
        else if (err.level !== "agent" && err.level !== "client-authentication") lastError = err;
      });
      client.once("ready", () => {
        ready = true;
        if (this.pendingClient === client) this.pendingClient = null;
        clearTimeout(connectTimer);
        this.client = client;
        this.lostListeners.set(client, new Set());
        resolve(client);
      });
      const gone = () => {
        clearTimeout(connectTimer);
        if (this.pendingClient === client) this.pendingClient = null;
        if (ready) {
          this.markGone(client);
          return;
        }
        const where = `${label} (${this.endpoint}${this.jump ? ` via ${this.jump.endpoint}` : ""})`;
        if (this.closing) reject(new DriverError(`connection to ${label} closed`, "connection-closed"));
        else if (verifyError) reject(verifyError);
        else if (authFailed) {
          const accepts = serverMethods ? `; the server accepts: ${serverMethods.join(", ")}` : "";
          const none = [
            !agentSocket ? "no SSH agent" : r.identitiesOnly ? "the SSH agent not used (IdentitiesOnly yes)" : "",
            "no key files found",
          ].filter(Boolean);
          const what = tried.length ? tried.join(", ") : `nothing (${none.join(", ")})`;
          reject(
            new DriverError(
              `authentication failed for ${r.user}@${r.host}:${r.port} (${label}): tried publickey with ${what}${accepts}`,
              "auth-failed",
            ),
          );
        } else if (timedOut) {
          reject(new DriverError(`cannot connect to ${where}: timed out after ${timeoutMs / 1000}s`, "connect-failed"));
        } else {
          const code = lastError?.code;
          const why =
            code === "ECONNREFUSED"
              ? "connection refused"
              : code === "ENOTFOUND" || code === "EAI_AGAIN"
                ? `host name ${r.host} not found`
                : code === "EHOSTUNREACH" || code === "ENETUNREACH"
                  ? "host unreachable"
                  : lastError?.message ?? "connection closed during the handshake";
          reject(new DriverError(`cannot connect to ${where}: ${why}`, "connect-failed"));
        }
      };
      client.on("end", gone);
      client.on("close", gone);
      const config: ConnectConfig = {
        host: r.host,
        port: r.port,
        username: r.user,
        sock,
        readyTimeout: 0,
        keepaliveInterval: opts.keepaliveIntervalMs ?? 2000,
        keepaliveCountMax: 3,
        hostVerifier: hostVerifier as ConnectConfig["hostVerifier"],
        authHandler: authHandler as unknown as ConnectConfig["authHandler"],
      };
      if (algorithms) config.algorithms = { serverHostKey: algorithms as never };
      armTimer();
      try {
        client.connect(config);
      } catch (err) {
        clearTimeout(connectTimer);
        reject(new DriverError(`cannot connect to ${label}: ${(err as Error).message}`, "connect-failed"));
      }
    });
  }

  private async verifyHostKey(label: string, key: Buffer, entries: ReturnType<typeof parseKnownHosts>): Promise<void> {
    const r = this.resolved;
    const name = r.hostKeyName;
    const type = keyTypeOf(key);
    const fp = fingerprint(key);
    const check = checkHostKey(entries, name, key);
    const file = r.knownHostsFile;
    if (check.status === "known") return;
    if (check.status === "revoked") {
      throw new DriverError(
        `the ${keyTypeLabel(type)} host key of ${label} (${name}) is marked @revoked in ${file} (line ${check.entry.line}): ${fp}. Refusing to connect.`,
        "host-key-revoked",
      );
    }
    if (check.status === "changed") {
      const known = check.known.map((e) => `${keyTypeLabel(keyTypeOf(e.key))} key ${fingerprint(e.key)} (${file}:${e.line})`).join(", ");
      throw new DriverError(
        [
          `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${label} (${name})!`,
          `IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY (a man-in-the-middle attack), or the host key has just been changed.`,
          ...(check.otherType
            ? [`The host is known with other key types, and offered only a key of a type it is not known with.`]
            : []),
          `known: ${known}`,
          `offered ${keyTypeLabel(type)} key: ${fp}`,
          `Refusing to connect, even with --accept-new-host-keys. If the change is expected, remove the old key with: ssh-keygen -f ${shellQuote(file)} -R ${shellQuote(name)}`,
        ].join("\n"),
        "host-key-changed",
      );
    }
    if (!this.pool.options.acceptNewHostKeys) {
      throw new DriverError(
        `the host key of ${label} (${name}) is not known: ${keyTypeLabel(type)} key fingerprint ${fp}. ` +
          `Check the fingerprint, then re-run with --accept-new-host-keys to add it to ${file}.`,
        "host-key-unknown",
      );
    }
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let current = "";
    try {
      current = await readFile(file, "utf8");
    } catch {
      // new file
    }
    // The file as it is now (another connection may have recorded a key for this
    // host since it was read): record only while the host is still not known at all.
    const fresh = parseKnownHosts(current);
    if (checkHostKey(fresh, name, key).status !== "unknown") return this.verifyHostKey(label, key, fresh);
    const prefix = current.length > 0 && !current.endsWith("\n") ? "\n" : "";
    await appendFile(file, `${prefix}${knownHostsLine(name, key, { hashed: r.hashKnownHosts })}\n`, { mode: 0o600 });
  }

  /** A direct-tcpip channel from this connection's host to dstHost:dstPort. */
  async openTunnel(label: string, dstHost: string, dstPort: number): Promise<ClientChannel> {
    const client = await this.ensure(label);
    return new Promise((resolve, reject) => {
      client.forwardOut("127.0.0.1", 0, dstHost, dstPort, (err, stream) => {
        if (err) {
          reject(
            new DriverError(`cannot open a tunnel through ${label} to ${dstHost}:${dstPort}: ${err.message}`, "tunnel"),
          );
          return;
        }
        resolve(stream);
      });
    });
  }
}

class AbortedError extends Error {
  constructor() {
    super("aborted");
  }
}

// ---------------------------------------------------------------------------
// The pool

export class SshPool {
  readonly options: SshPoolOptions;
  readonly home: string;
  readonly maxChannels: number;
  private configPromise: Promise<SSHConfig> | undefined;
  private readonly connections = new Map<string, Connection>();
  private readonly resolving = new Map<string, Promise<Connection>>();
  /** Keys decrypted with a passphrase, by path (kept in memory for the pool's life). */
  readonly decryptedKeys = new Map<string, ParsedKey>();

  constructor(options: SshPoolOptions = {}) {
    this.options = options;
    this.home = options.homeDir ?? homedir();
    this.maxChannels = Math.max(1, options.maxChannelsPerConnection ?? 8);
  }

  /** A HostDriver (see driver.ts) for `user@address[:port]` or an ~/.ssh/config alias; connects lazily on first use, once per pool. */
  host(target: string, options: { label?: string; via?: string } = {}): HostDriver {
    return new SshHost(this, target, options.label ?? target, options.via);
  }

  /** A TCP stream to dstHost:dstPort through the connection to `target` (ssh2 forwardOut), for MySQL `via HOST`. */
  async forwardOut(target: string, dstHost: string, dstPort: number): Promise<Duplex> {
    const conn = await this.connection(target, undefined);
    return conn.openTunnel(target, dstHost, dstPort);
  }

  async closeAll(): Promise<void> {
    // Targets first, then the jump hosts they go through.
    const all = [...this.connections.values()];
    const depth = (c: Connection): number => (c.jump ? 1 + depth(c.jump) : 0);
    all.sort((a, b) => depth(b) - depth(a));
    const levels = [...new Set(all.map(depth))];
    for (const level of levels) await Promise.all(all.filter((c) => depth(c) === level).map((c) => c.close()));
  }

  private config(): Promise<SSHConfig> {
    this.configPromise ??= loadSshConfig(this.home);
    return this.configPromise;
  }

  /** The pool's connection for target (jump hosts from `via` or ProxyJump). */
  connection(target: string, via: string | undefined, depth = 0): Promise<Connection> {
    // Hops are resolved afresh (the Connection itself is still shared), so a
    // ProxyJump loop ends at the depth limit instead of awaiting itself.
    if (depth > 0) return this.makeConnection(target, via, depth);
    const cacheKey = `${target}\u0000${via ?? ""}`;
    let p = this.resolving.get(cacheKey);
    if (!p) {
      p = this.makeConnection(target, via, depth);
      this.resolving.set(cacheKey, p);
      p.catch(() => this.resolving.delete(cacheKey));
    }
    return p;
  }

  private async makeConnection(target: string, via: string | undefined, depth: number): Promise<Connection> {
    if (depth > 8) throw new DriverError(`too many jump hosts on the way to ${target} (a ProxyJump loop?)`, "config");
    const resolved = resolveHost(await this.config(), target, this.home);
    const hops = via !== undefined ? via.split(",").map((h) => h.trim()).filter(Boolean) : resolved.jumps;
    // A single hop is reached with its own settings (its own ProxyJump too);
    // a list is a chain, each hop reached through the ones before it.
    let jump: Connection | undefined;
    if (hops.length === 1) jump = await this.connection(hops[0], undefined, depth + 1);
    else if (hops.length > 1) jump = await this.chain(hops, depth + 1);
    const key = `${resolved.user}@${resolved.host}:${resolved.port}${jump ? ` via ${jump.key}` : ""}`;
    let conn = this.connections.get(key);
    if (!conn) {
      conn = new Connection(this, key, target, resolved, jump);
      this.connections.set(key, conn);
    }
    return conn;
  }

  private async chain(hops: string[], depth: number): Promise<Connection> {
    let conn = await this.connectionVia(hops[0], undefined, depth);
    for (let i = 1; i < hops.length; i++) conn = await this.connectionVia(hops[i], conn, depth + i);
    return conn;
  }

  private async connectionVia(target: string, jump: Connection | undefined, depth: number): Promise<Connection> {
    if (!jump) return this.connection(target, undefined, depth);
    const resolved = resolveHost(await this.config(), target, this.home);
    const key = `${resolved.user}@${resolved.host}:${resolved.port} via ${jump.key}`;
    let conn = this.connections.get(key);
    if (!conn) {
      conn = new Connection(this, key, target, resolved, jump);
      this.connections.set(key, conn);
    }
    return conn;
  }
}

// ---------------------------------------------------------------------------
// A host

function sftpReason(err: Error & { code?: number | string }): string {
  switch (err.code) {
    case 2:
      return "no such file or directory";
    case 3:
      return "permission denied";
    default:
      return err.message;
  }
}

class SshHost implements HostDriver {
  private conn: Promise<Connection> | undefined;

  constructor(
    private readonly pool: SshPool,
    private readonly target: string,
    readonly label: string,
    private readonly via: string | undefined,
  ) {}

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

  private fileError(what: string, path: string, err: Error & { code?: number | string }): DriverError {
    if (err instanceof DriverError) return err;
    return new DriverError(`cannot ${what} ${path} on ${this.label}: ${sftpReason(err)}`, "file");
  }

  async readFile(path: string): Promise<Buffer> {
    return this.withSftp(
      (sftp) =>
        new Promise<Buffer>((resolve, reject) => {
          sftp.readFile(path, (err, data) => (err ? reject(this.fileError("read", path, err)) : resolve(data)));
        }),
    );
  }

  async stat(path: string): Promise<FileStat | null> {
    return this.withSftp(
      (sftp) =>
        new Promise<FileStat | null>((resolve, reject) => {
          sftp.stat(path, (err, st) => {
            if (err) {
              if ((err as Error & { code?: number }).code === 2) resolve(null);
              else reject(this.fileError("stat", path, err));
              return;
            }
            resolve({ mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, isDirectory: st.isDirectory() });
          });
        }),
    );
  }

  /**
   * Write `path` atomically: writeTemp fills a temp file beside it, which
   * gets the old file's owner and mode (or `mode`, or newMode for a new
   * file) and is then renamed over it (posix-rename@openssh.com). A symlink
   * stays a symlink: its target is replaced.
   */
  private async place(
    sftp: SFTPWrapper,
    path: string,
    what: string,
    writeTemp: (tmp: string) => Promise<void>,
    mode: number | undefined,
    newMode: number,
  ): Promise<void> {
    type Stats = import("ssh2").Stats;
    const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
      new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
    const realPath = await this.realTarget(sftp, path);
    let existing: Stats | undefined;
    try {
      existing = await call<Stats | undefined>((cb) =>
        sftp.stat(realPath, (err, st) =>
          err && (err as Error & { code?: number }).code === 2 ? cb(null, undefined) : cb(err, st),
        ),
      );
    } catch (err) {
      throw this.fileError(what, path, err as Error);
    }
    if (existing?.isDirectory()) throw new DriverError(`cannot ${what} ${path} on ${this.label}: it is a directory`, "file");
    const tmp = this.tempPath(realPath);
    try {
      await writeTemp(tmp);
      const tmpStat = await call<Stats>((cb) => sftp.stat(tmp, cb));
      if (existing && (existing.uid !== tmpStat.uid || existing.gid !== tmpStat.gid)) {
        const { uid, gid } = existing;
        try {
          await call((cb) => sftp.chown(tmp, uid, gid, cb));
        } catch (err) {
          throw new DriverError(
            `cannot ${what} ${path} on ${this.label} keeping its owner (uid ${uid}, gid ${gid}): ${sftpReason(err as Error)}`,
            "file",
          );
        }
      }
      const finalMode = mode ?? (existing ? existing.mode & 0o7777 : newMode);
      await call((cb) => sftp.chmod(tmp, finalMode, cb));
      try {
        await call((cb) => sftp.ext_openssh_rename(tmp, realPath, cb));
      } catch (err) {
        if (!/not supported/i.test((err as Error).message)) throw err;
        // Servers without posix-rename: not atomic, but the best there is.
        if (existing) await call((cb) => sftp.unlink(realPath, cb));
        await call((cb) => sftp.rename(tmp, realPath, cb));
      }
    } catch (err) {
      await call((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
      throw this.fileError(what, path, err as Error);
    }
  }

  /** The file to write when `path` is a symlink: the link's target (so the link stays). */
  private realTarget(sftp: SFTPWrapper, path: string): Promise<string> {
    return new Promise((resolve) => {
      sftp.lstat(path, (err, st) => {
        if (err || !st.isSymbolicLink()) return resolve(path);
        sftp.realpath(path, (err2, real) => resolve(err2 ? path : real));
      });
    });
  }

  private tempPath(path: string): string {
    return posix.join(posix.dirname(path), `.${posix.basename(path)}.runbook-${randomBytes(6).toString("hex")}.tmp`);
  }

  async writeFile(path: string, data: Buffer | string, options: { mode?: number } = {}): Promise<void> {
    await this.withSftp((sftp) =>
      this.place(
        sftp,
        path,
        "write",
        (tmp) =>
          new Promise<void>((resolve, reject) => {
            sftp.writeFile(tmp, data, { mode: 0o600 }, (err) => (err ? reject(err) : resolve()));
          }),
        options.mode,
        0o644,
      ),
    );
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    let localMode: number;
    try {
      localMode = (await localStat(localPath)).mode & 0o7777;
    } catch (err) {
      throw new DriverError(`cannot upload ${localPath} to ${this.label}: ${(err as Error).message}`, "file");
    }
    await this.withSftp((sftp) =>
      this.place(
        sftp,
        remotePath,
        "upload to",
        (tmp) =>
          new Promise<void>((resolve, reject) => {
            sftp.fastPut(localPath, tmp, { mode: 0o600 }, (err) => (err ? reject(err) : resolve()));
          }),
        undefined,
        localMode,
      ),
    );
  }

  /**
   * The local file gets the remote file's permission bits (a 0600 key stays 0600;
   * setuid, setgid and sticky are not carried over): it is made 0600 first, so it
   * is never readable by others on the way, then given the remote mode.
   */
  async download(remotePath: string, localPath: string): Promise<void> {
    const tmp = join(dirname(localPath), `.${basename(localPath)}.runbook-${randomBytes(6).toString("hex")}.tmp`);
    try {
      await this.withSftp(async (sftp) => {
        const remoteMode = await new Promise<number>((resolve, reject) => {
          sftp.stat(remotePath, (err, st) => (err ? reject(this.fileError("download", remotePath, err)) : resolve(st.mode & 0o777)));
        });
        await writeLocalFile(tmp, "", { mode: 0o600, flag: "wx" });
        await new Promise<void>((resolve, reject) => {
          sftp.fastGet(remotePath, tmp, (err) => (err ? reject(this.fileError("download", remotePath, err)) : resolve()));
        });
        await localChmod(tmp, remoteMode);
      });
      await rename(tmp, localPath);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (err instanceof DriverError) throw err;
      throw new DriverError(`cannot download ${remotePath} from ${this.label} to ${localPath}: ${(err as Error).message}`, "file");
    }
  }

  async close(): Promise<void> {
    if (!this.conn) return;
    const conn = await this.conn.catch(() => undefined);
    await conn?.close();
  }
}
