// The connections of one run, made when first needed: the local driver, one
// HostDriver per host (one per member for a host group, all over one SshPool),
// and one DatabaseDriver per database. Nothing heavy is imported at module load:
// ssh2, mysql2 and better-sqlite3 come in through lazy imports of their drivers
// the first time a step needs them, so a run that only touches the local machine
// never loads them. closeAll() ends everything at the end of the run.

import type { Duplex } from "node:stream";
import { resolve } from "node:path";
import type { DatabaseDriver, HostDriver } from "./drivers/driver.js";
import { DriverError } from "./drivers/driver.js";
import { LocalDriver } from "./drivers/local.js";
import type { Plan, PlannedDatabase } from "./plan.js";
import type { SecretStore } from "./secrets.js";

/** What the executor needs from its connections (tests give it fakes). */
export interface ConnectionProvider {
  /** The drivers of a host: one for a single host, one per member for a group; the local driver for undefined. */
  hosts(name: string | undefined): Promise<HostDriver[]>;
  /** A database of this env, or another env's as "env.db" (for `sync … from`). */
  database(name: string): Promise<DatabaseDriver>;
  closeAll(): Promise<void>;
}

export interface ConnectionsOptions {
  secrets: SecretStore;
  env?: NodeJS.ProcessEnv;
  /** Local paths (relative SQLite files, the local driver's working directory) resolve against this. */
  cwd?: string;
  acceptNewHostKeys?: boolean;
  /** Open databases read-only where the engine allows it (dry runs). */
  readOnly?: boolean;
  /** The local driver to use (tests). */
  local?: HostDriver;
  /** Messages the operator should see (e.g. the remote SQLite fallback copy). */
  onNote?: (message: string) => void;
  /** How long connecting to a host or a database may take (default 10 s): `--connect-timeout`. */
  connectTimeoutMs?: number;
}

type SshPoolLike = import("./drivers/ssh/index.js").SshPool;

/** How long reaching one host or database may take unless `--connect-timeout` says otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class Connections implements ConnectionProvider {
  private localDriver: HostDriver | undefined;
  private pool: Promise<SshPoolLike> | undefined;
  private readonly hostDrivers = new Map<string, Promise<HostDriver[]>>();
  private readonly dbs = new Map<string, Promise<DatabaseDriver>>();
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    private readonly plan: Plan,
    private readonly options: ConnectionsOptions,
  ) {
    this.cwd = options.cwd ?? process.cwd();
    this.env = options.env ?? process.env;
    this.localDriver = options.local;
  }

  local(): HostDriver {
    this.localDriver ??= new LocalDriver({ cwd: this.cwd, env: this.env });
    return this.localDriver;
  }

  private sshPool(): Promise<SshPoolLike> {
    this.pool ??= (async () => {
      const { SshPool } = await import("./drivers/ssh/index.js");
      const home = this.env.HOME && this.env.HOME !== "" ? this.env.HOME : undefined;
      return new SshPool({
        acceptNewHostKeys: this.options.acceptNewHostKeys ?? false,
        connectTimeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        ...(home ? { homeDir: home } : {}),
        ...(this.env.SSH_AUTH_SOCK ? { agentSocket: this.env.SSH_AUTH_SOCK } : {}),
      });
    })();
    return this.pool;
  }

  hosts(name: string | undefined): Promise<HostDriver[]> {
    if (name === undefined) return Promise.resolve([this.local()]);
    let p = this.hostDrivers.get(name);
    if (!p) {
      p = (async () => {
        const h = this.plan.hosts[name];
        if (!h) throw new DriverError(`no host ${name} in this plan`, "plan");
        const pool = await this.sshPool();
        const labels = h.group ? h.targets : [name];
        return Promise.all(h.targets.map((t, i) => pool.host(t, { label: labels[i]! })));
      })();
      // A failed connection may succeed on a retry: do not keep the failure.
      p.catch(() => this.hostDrivers.delete(name));
      this.hostDrivers.set(name, p);
    }
    return p;
  }

  database(name: string): Promise<DatabaseDriver> {
    let p = this.dbs.get(name);
    if (!p) {
      p = this.open(name);
      p.catch(() => this.dbs.delete(name));
      this.dbs.set(name, p);
    }
    return p;
  }

  private async open(name: string): Promise<DatabaseDriver> {
    const foreign = this.plan.foreignDatabases[name];
    const db: PlannedDatabase | undefined = foreign ?? this.plan.databases[name];
    if (!db) throw new DriverError(`no database ${name} in this plan`, "plan");
    // Another env's hosts are in the plan as "env.host".
    const hostName = (h: string) => (foreign ? `${foreign.env}.${h}` : h);
    if (db.engine === "sqlite") {
      if (db.host) {
        const [host] = await this.hosts(hostName(db.host));
        const { openRemoteSqlite } = await import("./drivers/remote-sqlite.js");
        return openRemoteSqlite(host!, db.path, name, { onNote: this.options.onNote });
      }
      const { openSqlite } = await import("./drivers/sqlite.js");
      // Reads never create: another env's database is only read (a sync's source), so
      // a missing file is an error naming its path, at once, and none is made there.
      return openSqlite(resolve(this.cwd, db.path), { label: name, readonly: this.options.readOnly ?? false, createOnWrite: !foreign });
    }
    const password = db.passwordSecret ? this.options.secrets.get(db.passwordSecret) : undefined;
    let stream: (() => Promise<Duplex>) | undefined;
    if (db.via) {
      const via = this.plan.hosts[hostName(db.via)];
      if (!via) throw new DriverError(`no host ${db.via} to reach database ${name} through`, "plan");
      const { parseMysqlUrl } = await import("./drivers/mysql.js");
      const target = parseMysqlUrl(db.url);
      stream = async () => (await this.sshPool()).forwardOut(via.targets[0]!, target.host, target.port);
    }
    const { openMysql } = await import("./drivers/mysql.js");
    return openMysql(db.url, { password, stream, label: name, cwd: this.cwd, connectTimeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
  }

  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const p of this.dbs.values()) {
      try {
        await (await p).close();
      } catch (e) {
        errors.push(e);
      }
    }
    this.dbs.clear();
    // Every host driver is a connection of the pool, which closes them all
    // at once (targets before the jump hosts they go through); closing each
    // host in turn made a group of 10 wait for ten closing handshakes in a row.
    this.hostDrivers.clear();
    if (this.pool) {
      try {
        await (await this.pool).closeAll();
      } catch {
        /* never started */
      }
    }
    await this.localDriver?.close();
  }
}
