// One ssh2 Client per endpoint (through a jump host when asked), shared by the
// hosts of an SshPool: connecting (auth, host-key check), the cap on exec
// channels, the reused SFTP session, tunnels, and telling its users when the
// link drops. ssh2 is loaded lazily, on the first connection.

import { shellQuote } from "../../quote.js";
import { appendFile, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Duplex } from "node:stream";
import type { Client, ClientChannel, ConnectConfig, SFTPWrapper } from "ssh2";
import { DriverError } from "../driver.js";
import { checkHostKey, fingerprint, hostKeyAlgorithmsFor, keyTypeLabel, keyTypeOf, knownHostsLine, parseKnownHosts } from "../known-hosts.js";
import { type ResolvedHost } from "../ssh-config.js";
import { publickeyAuth } from "./auth.js";
import type { SshPool } from "./pool.js";
import { makeDirs } from "../../make-dirs.js";



type Ssh2Module = typeof import("ssh2");
let ssh2Promise: Promise<Ssh2Module> | undefined;
function loadSsh2(): Promise<Ssh2Module> {
  ssh2Promise ??= import("ssh2").then((m) => ((m as { default?: Ssh2Module }).default ?? m) as Ssh2Module);
  return ssh2Promise;
}

export type LostReason = "lost" | "closed";

/** One ssh2 Client to one endpoint; reconnects on the next use after a drop. */
export class Connection {
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
    const auth = publickeyAuth({
      resolved: r,
      home,
      agentSocket: opts.agentSocket ?? process.env.SSH_AUTH_SOCK,
      askPassphrase: opts.askPassphrase,
      decryptedKeys: this.pool.decryptedKeys,
      parseKey: utils.parseKey,
      offTheClock,
    });
    const authHandler = auth.handler;

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
          const serverMethods = auth.serverMethods();
          const accepts = serverMethods ? `; the server accepts: ${serverMethods.join(", ")}` : "";
          const what = auth.offered();
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
    await makeDirs(dirname(file), 0o700);
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

export class AbortedError extends Error {
  constructor() {
    super("aborted");
  }
}
