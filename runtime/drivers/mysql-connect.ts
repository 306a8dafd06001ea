// Opening a mysql2 connection to a MySQL URL's target, with the TLS its query asks
// for (`ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`: language/mysql-url.ts), the
// same way for a database a runbook names (drivers/mysql.ts) and for a journal kept
// in MySQL (`--state mysql://…`, journal/stores/mysql.ts). PREFERRED falls back to
// a connection without TLS as the mysql client does; VERIFY_IDENTITY checks the
// certificate against the URL's host, also when it is an IP address or reached
// through a tunnel.

import type { Duplex } from "node:stream";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { connect as netConnect, isIP } from "node:net";
import { resolve as resolvePath } from "node:path";
import type { Connection, ConnectionOptions } from "mysql2/promise";
import { assertNever } from "../../language/assert.js";
import type { MysqlTls } from "../../language/mysql-url.js";
import { DriverError } from "./driver.js";

/** Where to connect: a URL's host, port, user, database and TLS settings. */
export interface MysqlConnectTarget {
  user: string;
  host: string;
  port: number;
  /** "" when the URL names no database. */
  database: string;
  tls: MysqlTls;
}

export interface MysqlConnectOptions {
  /** What to call the database in messages (never holds a password). */
  label: string;
  password?: string;
  /** The transport to use instead of TCP to host:port (an SSH forwardOut stream). */
  stream?: () => Promise<Duplex>;
  /** Where relative `ssl-ca`, `ssl-cert`, `ssl-key` paths start (default: the current directory). */
  cwd?: string;
  connectTimeoutMs: number;
  /** mysql2 options of the caller's own (charset utf8mb4 is always set). */
  extra?: ConnectionOptions;
}

/**
 * The server or the network refused the connection; `reason` says why, and the
 * caller says what it was connecting to (also when a TLS file named in the URL
 * cannot be read). A tunnel that cannot be opened is a DriverError naming the database.
 */
export class MysqlConnectError extends Error {
  constructor(
    readonly reason: string,
    readonly code: string,
  ) {
    super(reason);
    this.name = "MysqlConnectError";
  }
}

/** A connection to the target, or MysqlConnectError / DriverError. */
export async function connectMysql(target: MysqlConnectTarget, options: MysqlConnectOptions): Promise<Connection> {
  const { label } = options;
  const ssl = await tlsOptions(target, options.cwd);
  const mysql = await import("mysql2/promise");
  const connect = async (tls: SslOptions | undefined): Promise<Connection> => {
    let stream: Duplex | undefined;
    if (options.stream) {
      try {
        stream = await options.stream();
      } catch (e) {
        throw new DriverError(`cannot reach ${label}: ${errorText(e)}`, "connect");
      }
    } else if (tls?.verifyIdentity && isIP(target.host)) {
      stream = netConnect(target.port, target.host);
    }
    // mysql2 gives tls.connect no servername for an IP address (nor knows the host
    // behind a tunnel), and Node then checks the certificate against the socket's
    // _host, else "localhost": the URL's host is the name to check.
    if (tls && stream) (stream as Duplex & { _host?: string })._host = target.host;
    try {
      return await mysql.createConnection({
        ...options.extra,
        host: target.host,
        port: target.port,
        user: target.user,
        password: options.password ?? "",
        database: target.database || undefined,
        ...(stream ? { stream } : {}),
        ...(tls ? { ssl: tls } : {}),
        charset: "utf8mb4",
        connectTimeout: options.connectTimeoutMs,
      });
    } catch (e) {
      stream?.destroy();
      throw e;
    }
  };
  try {
    try {
      return await connect(ssl);
    } catch (e) {
      // PREFERRED, as the mysql client: TLS when the server offers it, else without.
      if (target.tls.mode !== "PREFERRED" || codeOf(e) !== "HANDSHAKE_NO_SSL_SUPPORT") throw e;
      return await connect(undefined);
    }
  } catch (e) {
    if (e instanceof DriverError) throw e;
    throw new MysqlConnectError(describeConnectError(e, target.tls), codeOf(e) ?? "connect");
  }
}

/** mysql2's `ssl` option (what tls.connect is given). */
interface SslOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  verifyIdentity: boolean;
}

/** The URL's TLS settings as mysql2 takes them, its PEM files read; undefined for DISABLED. */
async function tlsOptions(target: MysqlConnectTarget, cwd = process.cwd()): Promise<SslOptions | undefined> {
  const tls = target.tls;
  const read = async (option: string, path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    const full = resolvePath(cwd, path.replace(/^~(?=\/|$)/, homedir()));
    try {
      return await readFile(full);
    } catch (e) {
      throw new MysqlConnectError(tlsWords.unreadableFile(option, full, errorText(e)), "tls-file");
    }
  };
  const files = { ca: await read("ssl-ca", tls.ca), cert: await read("ssl-cert", tls.cert), key: await read("ssl-key", tls.key) };
  const present = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) as Pick<SslOptions, "ca" | "cert" | "key">;
  switch (tls.mode) {
    case "DISABLED":
      return undefined;
    case "PREFERRED":
    case "REQUIRED":
      return { ...present, rejectUnauthorized: false, verifyIdentity: false };
    case "VERIFY_CA":
      return { ...present, rejectUnauthorized: true, verifyIdentity: false };
    case "VERIFY_IDENTITY":
      return { ...present, rejectUnauthorized: true, verifyIdentity: true };
    default:
      return assertNever(tls.mode, "ssl-mode");
  }
}

/** The words of TLS failures. */
const tlsWords = {
  unreadableFile: (option: string, path: string, why: string) => `cannot read the ${option} file ${path}: ${why}`,
  noTls: (mode: string) => `the server does not offer TLS, and ssl-mode=${mode} requires it`,
  refused: (mode: string, why: string) =>
    mode === "REQUIRED" || mode === "PREFERRED"
      ? `the TLS handshake failed: ${why}`
      : `the server's certificate was refused (ssl-mode=${mode}, checked against ssl-ca): ${why}`,
};

function describeConnectError(e: unknown, tls: MysqlTls): string {
  switch (codeOf(e)) {
    case "HANDSHAKE_NO_SSL_SUPPORT":
      return tlsWords.noTls(tls.mode);
    case "HANDSHAKE_SSL_ERROR":
      return tlsWords.refused(tls.mode, describeError(e));
    default:
      return describeError(e);
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** mysql2 errors: the server's message, or the socket's, made readable. */
export function describeError(e: unknown): string {
  const err = e as { code?: string; message?: string; sqlMessage?: string; errors?: unknown[] };
  if (err?.code === "ECONNREFUSED") return "connection refused";
  if (err?.code === "ETIMEDOUT") return "timed out";
  if (err?.code === "ENOTFOUND") return "host not found";
  if (err?.sqlMessage) return err.sqlMessage;
  if (err?.message) return err.message;
  // AggregateError from net (IPv4 and IPv6 both refused) has an empty message.
  if (Array.isArray(err?.errors) && err.errors.length > 0) return describeError(err.errors[0]);
  return String(e);
}
