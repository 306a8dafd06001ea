// OpenSSH known_hosts: parsing, host matching and host key checks for the SSH
// driver (ssh/connection.ts). Understands plain and hashed (`|1|salt|hash`) host fields,
// comma-separated patterns with `*`/`?` wildcards and `!` negation, the
// `[host]:port` form for ports other than 22, several lines (and key types)
// per host, and the `@revoked` marker (`@cert-authority` lines are skipped:
// host certificates are not supported). Pure functions on text and key blobs:
// the SSH driver reads and appends the file.

import { createHash, createHmac, randomBytes } from "node:crypto";

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  marker?: "revoked" | "cert-authority";
  /** The host field as written (patterns or a `|1|salt|hash`). */
  hosts: string;
  /** Set when the host field is hashed. */
  hashed?: { salt: Buffer; hash: Buffer };
  /** The key type named on the line ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", …). */
  keyType: string;
  /** The public key blob (SSH wire format), decoded from base64. */
  key: Buffer;
}

/** The result of checking a host's offered key against known_hosts. */
export type HostKeyCheck =
  | { status: "known"; entry: KnownHostEntry }
  /** No key of any type is recorded for the host: the only case --accept-new-host-keys may record. */
  | { status: "unknown" }
  /**
   * The host is known, but not with this key: a different key of the same type,
   * or (`otherType`) a key of a type it is not known with (a server offering only
   * that type is not the host we know, as OpenSSH's accept-new also says). `known`:
   * the keys it is known with (of the offered type when there are such). Never accept.
   */
  | { status: "changed"; known: KnownHostEntry[]; otherType: boolean }
  | { status: "revoked"; entry: KnownHostEntry };

/** The name a host is recorded under: `host` on port 22, else `[host]:port`. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Parse known_hosts text; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0].startsWith("@")) {
      const m = fields.shift()!;
      if (m === "@revoked") marker = "revoked";
      else if (m === "@cert-authority") marker = "cert-authority";
      else continue;
    }
    if (fields.length < 3) continue;
    const [hosts, keyType, b64] = fields;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = Buffer.from(b64, "base64");
    if (key.length === 0) continue;
    const entry: KnownHostEntry = { line: i + 1, hosts, keyType, key };
    if (marker) entry.marker = marker;
    if (hosts.startsWith("|1|")) {
      const parts = hosts.split("|");
      if (parts.length !== 4) continue;
      entry.hashed = { salt: Buffer.from(parts[2], "base64"), hash: Buffer.from(parts[3], "base64") };
    }
    entries.push(entry);
  }
  return entries;
}

/** `*` and `?` wildcards, whole-string, case-insensitive. */
function wildcardMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  // Iterative glob match with backtracking on the last `*`.
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = ti;
    } else if (star !== -1) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

/** Whether a known_hosts line applies to `name` (as made by knownHostName). */
export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const { salt, hash } = entry.hashed;
    const digest = createHmac("sha1", salt).update(name).digest();
    return digest.length === hash.length && digest.equals(hash);
  }
  let positive = false;
  for (const pattern of entry.hosts.split(",")) {
    if (pattern === "") continue;
    if (pattern.startsWith("!")) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      positive = true;
    }
  }
  return positive;
}

/** The key type inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) return "unknown";
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** OpenSSH's fingerprint: `SHA256:` and base64 without padding. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** How OpenSSH names a key type in messages ("ED25519", "ECDSA", "RSA"). */
export function keyTypeLabel(keyType: string): string {
  if (keyType === "ssh-ed25519") return "ED25519";
  if (keyType.startsWith("ecdsa-sha2-")) return "ECDSA";
  if (keyType === "ssh-rsa") return "RSA";
  if (keyType === "ssh-dss") return "DSA";
  return keyType;
}

/** Check the key a server offered for `name` against the parsed file. */
export function checkHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyCheck {
  const type = keyTypeOf(key);
  const forHost = entries.filter((e) => e.marker !== "cert-authority" && entryMatchesHost(e, name));
  const revoked = forHost.find((e) => e.marker === "revoked" && e.key.equals(key));
  if (revoked) return { status: "revoked", entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { status: "known", entry: same };
  const sameType = plain.filter((e) => e.keyType === type || keyTypeOf(e.key) === type);
  if (sameType.length > 0) return { status: "changed", known: sameType, otherType: false };
  if (plain.length > 0) return { status: "changed", known: plain, otherType: true };
  return { status: "unknown" };
}

/** A line to append for `name` (hashed like HashKnownHosts=yes when asked). */
export function knownHostsLine(name: string, key: Buffer, options: { hashed?: boolean } = {}): string {
  let hostField = name;
  if (options.hashed) {
    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update(name).digest();
    hostField = `|1|${salt.toString("base64")}|${hash.toString("base64")}`;
  }
  return `${hostField} ${keyTypeOf(key)} ${key.toString("base64")}`;
}

const ALGORITHMS_FOR_KEY_TYPE: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

const DEFAULT_HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/**
 * Host key algorithms to offer, the ones `name` is already known with first
 * (as OpenSSH does), so a host known only by its RSA key is not reported as
 * unknown because the server would have preferred ED25519. Undefined when the
 * host is not known at all (keep the library's default order).
 */
export function hostKeyAlgorithmsFor(entries: KnownHostEntry[], name: string): string[] | undefined {
  const known = new Set(
    entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name)).map((e) => e.keyType),
  );
  if (known.size === 0) return undefined;
  const preferred = DEFAULT_HOST_KEY_ALGORITHMS.filter((algo) =>
    [...known].some((type) => ALGORITHMS_FOR_KEY_TYPE[type]?.includes(algo)),
  );
  if (preferred.length === 0) return undefined;
  return [...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}
