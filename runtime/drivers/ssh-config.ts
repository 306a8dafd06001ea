// ~/.ssh/config for the SSH driver (ssh/): read with the ssh-config
// package (Include expanded here, which the package leaves alone) and turned
// into what a connection needs: user, address, port, IdentityFiles, ProxyJump
// hops, where the known_hosts file is and the name a host key is looked up by.

import { existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import SSHConfig from "ssh-config";
import { DriverError } from "./driver.js";
import { knownHostName } from "./known-hosts.js";

export interface ResolvedHost {
  user: string;
  host: string;
  port: number;
  identityFiles: string[];
  identitiesOnly: boolean;
  /** ProxyJump hops, outermost first; empty for a direct connection. */
  jumps: string[];
  knownHostsFile: string;
  /** The name under which the host key is looked up (HostKeyAlias or HostName). */
  hostKeyName: string;
  hashKnownHosts: boolean;
}

function globToRegExp(pattern: string): RegExp {
  let re = "^";
  for (const ch of pattern) {
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[\\^$.+()|{}[\]]/g, "\\$&");
  }
  return new RegExp(re + "$");
}

/** Files matching a path with `*`/`?` in any segment, sorted like glob(3). */
async function globFiles(pattern: string): Promise<string[]> {
  const parts = pattern.split("/");
  let bases = [parts[0] === "" ? "/" : parts[0]];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    if (part === "") continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      const re = globToRegExp(part);
      let names: string[] = [];
      try {
        names = await readdir(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith(".") && !part.startsWith(".")) continue;
        if (re.test(name)) next.push(join(base, name));
      }
    }
    bases = next;
  }
  return bases.filter((p) => existsSync(p) && statSync(p).isFile());
}

function expandTilde(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return join(home, path.slice(2));
  return path;
}

/** Parse ~/.ssh/config with ssh-config, expanding Include (which the package leaves alone). */
export async function loadSshConfig(home: string): Promise<SSHConfig> {
  const sshDir = join(home, ".ssh");
  const read = async (file: string, depth: number): Promise<SSHConfig> => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return SSHConfig.parse("");
    }
    const config = SSHConfig.parse(text);
    await expand(config, depth);
    return config;
  };
  const expand = async (config: SSHConfig, depth: number): Promise<void> => {
    if (depth > 16) throw new DriverError(`~/.ssh/config: Include nested too deeply`, "config");
    for (let i = 0; i < config.length; i++) {
      const line = config[i];
      if (line.type !== SSHConfig.DIRECTIVE) continue;
      if ("config" in line) {
        await expand(line.config, depth);
        // Host/Match sections that an Include inside this section brought in
        // were hoisted to this level by the splice below.
        continue;
      }
      if (line.param.toLowerCase() !== "include") continue;
      const values = Array.isArray(line.value) ? line.value.map((v) => v.val) : line.value.split(/\s+/);
      const included = new SSHConfig();
      for (const value of values) {
        const abs = expandTilde(value, home);
        const pattern = isAbsolute(abs) ? abs : join(sshDir, abs);
        for (const file of await globFiles(pattern)) included.push(...(await read(file, depth + 1)));
      }
      config.splice(i, 1, ...included);
      i += included.length - 1;
    }
  };
  const top = await read(join(sshDir, "config"), 0);
  // An Include inside a Host section may bring in Host sections of its own:
  // move those out so they are sections, not settings of the enclosing one.
  const hoisted = new SSHConfig();
  for (const line of top) {
    hoisted.push(line);
    if (line.type === SSHConfig.DIRECTIVE && "config" in line) {
      const inner = line.config;
      const firstSection = inner.findIndex((l) => l.type === SSHConfig.DIRECTIVE && "config" in l);
      if (firstSection >= 0) hoisted.push(...inner.splice(firstSection));
    }
  }
  return hoisted;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A host as written, `user@address[:port]` (`[v6]:port` too) or an alias; throws DriverError when it is neither. */
export function parseTarget(target: string): { user?: string; host: string; port?: number } {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s\[\]]+)(?::(\d+))?$/.exec(target.trim());
  if (!m) throw new DriverError(`"${target}" is not a host: expected user@address[:port] or an ~/.ssh/config alias`, "config");
  const host = m[2].startsWith("[") ? m[2].slice(1, -1) : m[2];
  return { user: m[1], host, port: m[3] ? Number(m[3]) : undefined };
}

export function resolveHost(config: SSHConfig, target: string, home: string): ResolvedHost {
  const parsed = parseTarget(target);
  const c = config.compute(parsed.user ? { Host: parsed.host, User: parsed.user } : { Host: parsed.host }, {
    ignoreCase: true,
    matchExec: false,
  });
  let localUser = "";
  try {
    localUser = userInfo().username;
  } catch {
    localUser = process.env.USER ?? "";
  }
  const original = parsed.host;
  const hostName = (first(c.hostname) ?? original).replace(/%h/g, original).replace(/%%/g, "%");
  const user = parsed.user ?? first(c.user) ?? localUser;
  const port = parsed.port ?? (first(c.port) ? Number(first(c.port)) : 22);
  const tokens = (s: string) =>
    s.replace(/%([%dhrpuLl])/g, (_m, t: string) => {
      switch (t) {
        case "%":
          return "%";
        case "d":
          return home;
        case "h":
          return hostName;
        case "r":
          return user;
        case "p":
          return String(port);
        case "u":
          return localUser;
        default:
          return original;
      }
    });
  const files = c.identityfile === undefined ? [] : Array.isArray(c.identityfile) ? c.identityfile : [c.identityfile];
  const identityFiles = files.filter((f) => f.toLowerCase() !== "none").map((f) => expandTilde(tokens(f), home));
  const jumpValue = first(c.proxyjump);
  const jumps = jumpValue && jumpValue.toLowerCase() !== "none" ? jumpValue.split(",").map((s) => s.trim()) : [];
  const khf = first(c.userknownhostsfile);
  const knownHostsFile = khf ? expandTilde(tokens(khf), home) : join(home, ".ssh", "known_hosts");
  const alias = first(c.hostkeyalias);
  return {
    user,
    host: hostName,
    port,
    identityFiles,
    identitiesOnly: (first(c.identitiesonly) ?? "no").toLowerCase() === "yes",
    jumps,
    knownHostsFile,
    hostKeyName: alias ? alias.toLowerCase() : knownHostName(hostName, port),
    hashKnownHosts: (first(c.hashknownhosts) ?? "no").toLowerCase() === "yes",
  };
}

/** For tests: the options a pool would use, resolved from ~/.ssh/config (no network). */
export async function resolveSshTarget(
  target: string,
  homeDir: string = homedir(),
): Promise<{ user: string; host: string; port: number; identityFiles: string[]; proxyJump: string[]; knownHostsFile: string }> {
  const r = resolveHost(await loadSshConfig(homeDir), target, homeDir);
  return {
    user: r.user,
    host: r.host,
    port: r.port,
    identityFiles: r.identityFiles,
    proxyJump: r.jumps,
    knownHostsFile: r.knownHostsFile,
  };
}
