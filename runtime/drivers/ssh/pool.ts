// SshPool: the hosts of a run and the one connection each of them shares with
// every HostDriver made for it (jump hosts included), and the SSH config and
// decrypted keys they read.

import { homedir } from "node:os";
import type { Duplex } from "node:stream";
import type { ParsedKey } from "ssh2";
import type SSHConfig from "ssh-config";
import { DriverError, type HostDriver } from "../driver.js";
import { loadSshConfig, resolveHost } from "../ssh-config.js";
import { Connection } from "./connection.js";
import { SshHost } from "./host.js";

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
