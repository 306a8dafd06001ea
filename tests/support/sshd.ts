// Real OpenSSH sshd instances for the SSH tests and benchmarks. Each instance
// listens on 127.0.0.1 on its own free port with its own generated host keys
// and its own sshd_config (-f, -D -e), and lets in only the dedicated user
// `runbooktest` (shell /bin/sh, so no rc file is read) with a generated client
// key. A temp HOME holds `.ssh/config` (aliases rbhost0…, through an Include),
// the client key and, as asked, `.ssh/known_hosts`. Everything is killed and
// removed by stop(). Needs root and /usr/sbin/sshd; see requireServer() for
// what happens when they are missing.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";

const run = promisify(execFile);

export const SSHD = "/usr/sbin/sshd";
export const TEST_USER = "runbooktest";
/** The user the sudoers drop-in (option `sudo`) lets runbooktest become without a password. */
export const SUDO_TARGET_USER = "nobody";

export type HostKeyType = "ed25519" | "ecdsa" | "rsa";

export interface SshTestHost {
  /** The ~/.ssh/config alias (HostName 127.0.0.1, Port, User runbooktest). */
  alias: string;
  /** Same alias, reached with ProxyJump through host 0 (only for hosts 1…). */
  jumpAlias?: string;
  port: number;
  /** `runbooktest@127.0.0.1:PORT`. */
  target: string;
  /** `[127.0.0.1]:PORT`, the known_hosts name. */
  knownName: string;
  /** The host's public keys as `type base64` (one per key type). */
  publicKeys(): string[];
}

export interface SshTestHosts {
  hosts: SshTestHost[];
  /** The temp HOME: `.ssh/config`, `.ssh/known_hosts`, `.ssh/id_runbook`. */
  home: string;
  /** Path of the generated client private key (ed25519, no passphrase). */
  clientKey: string;
  user: string;
  /** A directory on the "remote" side writable by runbooktest. */
  remoteDir: string;
  /** Whether the sudoers drop-in was installed (option `sudo`). */
  sudo: boolean;
  /** known_hosts lines for host i (all its key types). */
  knownHostsLines(i: number, options?: { hashed?: boolean }): string[];
  writeKnownHosts(text: string): Promise<void>;
  readKnownHosts(): Promise<string>;
  /** Kill host i's sshd and every process under it (open sessions included). */
  stopHost(i: number): Promise<void>;
  /**
   * Start host i again on the same port; newHostKeys regenerates its host keys;
   * keyTypes changes the host key types it offers (new types get new keys).
   */
  restartHost(i: number, options?: { newHostKeys?: boolean; keyTypes?: HostKeyType[] }): Promise<void>;
  /** Kill the sshd processes serving host i's open connections (and their commands); the listener stays. */
  killSessions(i: number): Promise<number>;
  /** The pids serving host i's open connections (everything under its sshd), killing nothing: [] when none is open. */
  sessions(i: number): number[];
  /** SIGSTOP (true) or SIGCONT (false) host i's sshd and its sessions: a link that goes silent. */
  freezeHost(i: number, frozen: boolean): void;
  /** Add a public key (the text of a .pub file) to the keys runbooktest may log in with. */
  authorizeKey(publicKey: string): Promise<void>;
  /** sshd's stderr for host i (for debugging failures). */
  log(i: number): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** What ~/.ssh/known_hosts holds at start: all hosts' keys (default "plain"), hashed, or nothing. */
  knownHosts?: "plain" | "hashed" | "none";
  /** Host key types each instance has; default ed25519 and ecdsa. */
  hostKeyTypes?: HostKeyType[];
  /** Install a sudoers drop-in letting runbooktest run commands as `nobody` without a password (removed by stop()). */
  sudo?: boolean;
  /** With `sudo`: the user runbooktest may become instead of `nobody` (e.g. root, for `as root`). */
  sudoAs?: string;
}

/** Why the harness cannot run here, or null when it can. */
export function sshdUnavailableReason(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (apt-get install openssh-server)`;
  if (!existsSync("/usr/bin/ssh-keygen")) return "ssh-keygen is not installed";
  if (typeof process.getuid !== "function" || process.getuid() !== 0)
    return "the sshd harness needs root (it runs sshd and logs in as runbooktest)";
  return null;
}

export function sshdAvailable(): boolean {
  return sshdUnavailableReason() === null;
}

/**
 * Gate for integration tests: true when the server is there. Outside CI a
 * missing server prints a visible message and returns false (skip); under
 * CI=true it throws, so the suite fails instead of silently skipping.
 */
export function requireServer(name: string, available: boolean, reason?: string): boolean {
  if (available) return true;
  const why = reason ? `: ${reason}` : "";
  if (process.env.CI === "true") {
    throw new Error(`${name} is required under CI=true but is not available${why}`);
  }
  console.warn(`\n*** SKIPPING ${name} tests: ${name} is not available${why} ***\n`);
  return false;
}

/** Create runbooktest when missing (shell /bin/sh, password disabled but not locked). */
export async function ensureTestUser(): Promise<void> {
  const exists = async () => {
    try {
      await run("id", ["-u", TEST_USER]);
      return true;
    } catch {
      return false;
    }
  };
  if (await exists()) return;
  try {
    await run("useradd", ["-m", "-s", "/bin/sh", TEST_USER]);
  } catch (err) {
    // Another test file may have created it at the same moment.
    if (!(await exists())) throw err;
  }
  await run("usermod", ["-p", "*", TEST_USER]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Every process below pid (children first found by walking /proc). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue;
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses.
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(after[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

interface Instance {
  index: number;
  dir: string;
  port: number;
  keyTypes: HostKeyType[];
  child?: ChildProcess;
  exited?: Promise<void>;
  log: string;
}

const live = new Set<Instance>();
const liveSudoers = new Set<string>();
const liveRoots = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const inst of live) {
      if (inst.child?.pid) signal([...descendants(inst.child.pid), inst.child.pid], "SIGKILL");
    }
    for (const file of liveSudoers) rmSync(file, { force: true });
    for (const dir of liveRoots) rmSync(dir, { recursive: true, force: true });
  });
}

async function generateHostKeys(inst: Instance): Promise<void> {
  await Promise.all(
    inst.keyTypes.map(async (type) => {
      const path = join(inst.dir, `ssh_host_${type}_key`);
      await rm(path, { force: true });
      await rm(`${path}.pub`, { force: true });
      const args = ["-q", "-t", type, "-N", "", "-C", `rbhost${inst.index}`, "-f", path];
      if (type === "rsa") args.splice(1, 0, "-b", "2048");
      await run("ssh-keygen", args);
    }),
  );
}

async function startInstance(inst: Instance): Promise<void> {
  const cfg = join(inst.dir, "sshd_config");
  const child = spawn(SSHD, ["-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  inst.child = child;
  inst.log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    if (inst.log.length < 200_000) inst.log += chunk;
  });
  let exitedEarly = false;
  inst.exited = new Promise((resolve) => {
    child.once("exit", () => {
      exitedEarly = true;
      resolve();
    });
  });
  live.add(inst);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`sshd for rbhost${inst.index} exited at start:\n${inst.log}`);
    if (await canConnect(inst.port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`sshd for rbhost${inst.index} did not listen on ${inst.port} within 10s:\n${inst.log}`);
}

async function stopInstance(inst: Instance): Promise<void> {
  const child = inst.child;
  if (!child?.pid) return;
  if (child.exitCode === null && child.signalCode === null) {
    signal([child.pid, ...descendants(child.pid)], "SIGKILL");
    await inst.exited;
  }
  inst.child = undefined;
  live.delete(inst);
}

function hashName(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac("sha1", salt).update(name).digest();
  return `|1|${salt.toString("base64")}|${hash.toString("base64")}`;
}

/** Start n sshd instances and a temp HOME naming them; see SshTestHosts. */
export async function startSshHosts(n: number, options: StartOptions = {}): Promise<SshTestHosts> {
  const reason = sshdUnavailableReason();
  if (reason) throw new Error(reason);
  installExitHook();
  await ensureTestUser();
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });

  const root = await mkdtemp(join(tmpdir(), "runbook-sshd-"));
  liveRoots.add(root);
  // sshd reads authorized_keys as runbooktest: the path must be traversable.
  await chmod(root, 0o755);
  const home = join(root, "home");
  const sshDir = join(home, ".ssh");
  await mkdir(join(sshDir, "config.d"), { recursive: true, mode: 0o700 });
  const clientKey = join(sshDir, "id_runbook");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "runbook-test-client", "-f", clientKey]);
  const authorizedKeys = join(root, "authorized_keys");
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`), { mode: 0o644 });
  const remoteDir = join(root, "remote");
  await mkdir(remoteDir, { mode: 0o755 });
  const { stdout: uidText } = await run("id", ["-u", TEST_USER]);
  const { stdout: gidText } = await run("id", ["-g", TEST_USER]);
  await chown(remoteDir, Number(uidText.trim()), Number(gidText.trim()));

  const writeSshdConfig = (inst: Instance) =>
    writeFile(
      join(inst.dir, "sshd_config"),
      [
        `Port ${inst.port}`,
        "ListenAddress 127.0.0.1",
        ...inst.keyTypes.map((t) => `HostKey ${join(inst.dir, `ssh_host_${t}_key`)}`),
        `PidFile ${join(inst.dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        "StrictModes no",
        "UsePAM no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        `AllowUsers ${TEST_USER}`,
        "AllowTcpForwarding yes",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "MaxStartups 200",
        "LogLevel ERROR",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
  // Another process may take the free port before sshd binds it: pick another.
  const startWithRetry = async (inst: Instance) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await startInstance(inst);
      } catch (err) {
        if (attempt >= 3 || !/Address already in use/i.test(inst.log)) throw err;
        live.delete(inst);
        inst.port = await freePort();
        await writeSshdConfig(inst);
      }
    }
  };

  const keyTypes = options.hostKeyTypes ?? ["ed25519", "ecdsa"];
  const instances: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const dir = join(root, `sshd-${i}`);
    await mkdir(dir, { mode: 0o755 });
    const inst: Instance = { index: i, dir, port: await freePort(), keyTypes, log: "" };
    instances.push(inst);
    await writeSshdConfig(inst);
  }
  await Promise.all(instances.map(generateHostKeys));
  try {
    await Promise.all(instances.map(startWithRetry));
  } catch (err) {
    await Promise.all(instances.map(stopInstance));
    await rm(root, { recursive: true, force: true });
    throw err;
  }

  const publicKeys = (inst: Instance) =>
    inst.keyTypes.map((t) => {
      const [type, b64] = readFileSync(join(inst.dir, `ssh_host_${t}_key.pub`), "utf8").trim().split(/\s+/);
      return `${type} ${b64}`;
    });
  const knownName = (inst: Instance) => `[127.0.0.1]:${inst.port}`;
  const knownHostsLines = (i: number, opts: { hashed?: boolean } = {}) =>
    publicKeys(instances[i]).map((k) => {
      const name = knownName(instances[i]);
      return `${opts.hashed ? hashName(name) : name} ${k}`;
    });

  // ~/.ssh/config: the aliases live in an included file (exercises Include).
  const hostBlocks = instances.flatMap((inst) => [
    `Host rbhost${inst.index}`,
    "  HostName 127.0.0.1",
    `  Port ${inst.port}`,
    `  User ${TEST_USER}`,
    ...(inst.index > 0
      ? [
          `Host rbhost${inst.index}-via-0`,
          "  HostName 127.0.0.1",
          `  Port ${inst.port}`,
          `  User ${TEST_USER}`,
          "  ProxyJump rbhost0",
        ]
      : []),
    "",
  ]);
  await writeFile(join(sshDir, "config.d", "hosts.conf"), hostBlocks.join("\n"), { mode: 0o600 });
  await writeFile(
    join(sshDir, "config"),
    // Absolute paths: OpenSSH's own `ssh` (the benchmark) expands ~ from the
    // passwd entry, not from $HOME, so ~ would point at the real home there.
    [
      `Include ${join(sshDir, "config.d")}/*.conf`,
      "",
      "Host *",
      `  IdentityFile ${clientKey}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(sshDir, "known_hosts")}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const knownHostsPath = join(sshDir, "known_hosts");
  const mode = options.knownHosts ?? "plain";
  const initialKnown =
    mode === "none" ? [] : instances.flatMap((inst) => knownHostsLines(inst.index, { hashed: mode === "hashed" }));
  await writeFile(knownHostsPath, initialKnown.map((l) => l + "\n").join(""), { mode: 0o600 });

  let sudoersFile: string | undefined;
  if (options.sudo) {
    const candidate = `/etc/sudoers.d/runbooktest-harness-${process.pid}-${randomBytes(4).toString("hex")}`;
    const staged = join(root, "sudoers");
    await writeFile(staged, `${TEST_USER} ALL=(${options.sudoAs ?? SUDO_TARGET_USER}) NOPASSWD: ALL\n`, { mode: 0o440 });
    await run("visudo", ["-c", "-q", "-f", staged]);
    await writeFile(candidate, await readFile(staged), { mode: 0o440 });
    liveSudoers.add(candidate);
    sudoersFile = candidate;
  }


  const sessions = (inst: Instance) => (inst.child?.pid ? descendants(inst.child.pid) : []);

  return {
    hosts: instances.map((inst) => ({
      alias: `rbhost${inst.index}`,
      jumpAlias: inst.index > 0 ? `rbhost${inst.index}-via-0` : undefined,
      port: inst.port,
      target: `${TEST_USER}@127.0.0.1:${inst.port}`,
      knownName: knownName(inst),
      publicKeys: () => publicKeys(inst),
    })),
    home,
    clientKey,
    user: TEST_USER,
    remoteDir,
    sudo: sudoersFile !== undefined,
    knownHostsLines,
    writeKnownHosts: (text) => writeFile(knownHostsPath, text, { mode: 0o600 }),
    readKnownHosts: () => readFile(knownHostsPath, "utf8"),
    stopHost: (i) => stopInstance(instances[i]),
    async restartHost(i, opts = {}) {
      const inst = instances[i];
      await stopInstance(inst);
      if (opts.keyTypes) {
        const had = inst.keyTypes;
        inst.keyTypes = opts.keyTypes;
        await writeSshdConfig(inst);
        if (!opts.newHostKeys) {
          const added = opts.keyTypes.filter((t) => !had.includes(t));
          if (added.length > 0) await generateHostKeys({ ...inst, keyTypes: added });
        }
      }
      if (opts.newHostKeys) await generateHostKeys(inst);
      await startInstance(inst);
    },
    sessions: (i) => sessions(instances[i]),
    async killSessions(i) {
      const pids = sessions(instances[i]);
      signal(pids, "SIGKILL");
      return pids.length;
    },
    freezeHost(i, frozen) {
      const inst = instances[i];
      if (!inst.child?.pid) return;
      signal([inst.child.pid, ...descendants(inst.child.pid)], frozen ? "SIGSTOP" : "SIGCONT");
    },
    authorizeKey: (publicKey) => appendFile(authorizedKeys, publicKey.trim() + "\n"),
    log: (i) => instances[i].log,
    async stop() {
      for (const inst of instances) {
        // Frozen processes must be continued to die cleanly.
        if (inst.child?.pid) signal([inst.child.pid, ...descendants(inst.child.pid)], "SIGCONT");
      }
      await Promise.all(instances.map(stopInstance));
      if (sudoersFile) {
        rmSync(sudoersFile, { force: true });
        liveSudoers.delete(sudoersFile);
      }
      await rm(root, { recursive: true, force: true });
      liveRoots.delete(root);
    },
  };
}

/**
 * For a describe block: starts `n` hosts before its tests and stops them after; the
 * getter returns them (call it inside a test). Gate the block with sshdAvailable/requireServer.
 */
export function useSshHosts(n: number, options: StartOptions = {}): () => SshTestHosts {
  let hosts: SshTestHosts | undefined;
  beforeAll(async () => {
    hosts = await startSshHosts(n, options);
  }, 120_000);
  afterAll(async () => {
    await hosts?.stop();
  });
  return () => {
    if (!hosts) throw new Error("the test hosts are not started (useSshHosts is called inside a describe block)");
    return hosts;
  };
}
