// Connections against real sshd instances: ~/.ssh/config aliases, auth (keys,
// encrypted keys, the agent) and its failure message, ProxyJump and `via`,
// forwardOut, dropped and silent links, reconnecting, connect timeouts.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, Socket as NetSocket, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SshPool, type SshPoolOptions } from "../../runtime/drivers/ssh/index.js";
import { startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { collect, failure, sshdEnabled } from "./helpers.js";

const run = promisify(execFile);

describe.skipIf(!sshdEnabled)("ssh connections", () => {
  let h: SshTestHosts;
  let scratch: string;
  const pools: SshPool[] = [];
  const newPool = (options: SshPoolOptions = {}) => {
    const pool = new SshPool({ homeDir: h.home, ...options });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    h = await startSshHosts(3);
    scratch = await mkdtemp(join(tmpdir(), "runbook-ssh-conn-"));
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  });
  afterAll(async () => {
    await h?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** A HOME with its own .ssh/config (written with ~ and a relative Include), known_hosts and keys. */
  async function makeHome(files: Record<string, string>, copyClientKey = true): Promise<string> {
    const home = await mkdtemp(join(scratch, "home-"));
    await mkdir(join(home, ".ssh", "conf.d"), { recursive: true, mode: 0o700 });
    await writeFile(join(home, ".ssh", "known_hosts"), await h.readKnownHosts());
    if (copyClientKey) await copyFile(h.clientKey, join(home, ".ssh", "id_test"));
    for (const [name, text] of Object.entries(files)) await writeFile(join(home, ".ssh", name), text, { mode: 0o600 });
    return home;
  }

  it.each([
    ["an alias from ~/.ssh/config (through an Include)", () => "rbhost0"],
    ["user@address:port", () => h.hosts[0].target],
  ])("connects to %s", async (_what, target) => {
    const r = await collect(newPool().host(target()), "id -un; echo $SSH_CONNECTION");
    expect(r.exitCode).toBe(0);
    expect(r.out.split("\n")[0]).toBe("runbooktest");
    expect(r.out.split("\n")[1].split(" ")[3]).toBe(String(h.hosts[0].port));
  });

  it("reads ~ in IdentityFile and a relative Include from the pool's homeDir", async () => {
    const home = await makeHome({
      config: "Include conf.d/*.conf\n\nHost *\n  IdentityFile ~/.ssh/id_test\n  IdentitiesOnly yes\n",
      "conf.d/a.conf": `Host mybox\n  HostName 127.0.0.1\n  Port ${h.hosts[1].port}\n  User runbooktest\n`,
    });
    const pool = new SshPool({ homeDir: home });
    pools.push(pool);
    const r = await collect(pool.host("mybox", { label: "box" }), "echo $SSH_CONNECTION");
    expect(r.out.split(" ")[3].trim()).toBe(String(h.hosts[1].port));
  });

  it("uses the default key ~/.ssh/id_ed25519 when nothing is configured", async () => {
    const home = await makeHome({}, false);
    await copyFile(h.clientKey, join(home, ".ssh", "id_ed25519"));
    const pool = new SshPool({ homeDir: home, agentSocket: "" });
    pools.push(pool);
    expect((await collect(pool.host(h.hosts[0].target), "echo yes")).out).toBe("yes\n");
  });

  it("names the user, host and what was tried when authentication fails", async () => {
    const err = await failure(newPool({ agentSocket: "" }).host(`nosuchuser@127.0.0.1:${h.hosts[0].port}`).exec("true"));
    expect(err.code).toBe("auth-failed");
    expect(err.message).toContain(`nosuchuser@127.0.0.1:${h.hosts[0].port}`);
    expect(err.message).toContain("publickey");
    expect(err.message).toContain(h.clientKey);
    expect(err.message).toContain("the server accepts: publickey");
  });

  it("says when there was nothing to try", async () => {
    const home = await makeHome({}, false);
    const pool = new SshPool({ homeDir: home, agentSocket: "" });
    pools.push(pool);
    const err = await failure(pool.host(h.hosts[0].target).exec("true"));
    expect(err.code).toBe("auth-failed");
    expect(err.message).toContain("runbooktest@127.0.0.1");
    expect(err.message).toContain("nothing (no SSH agent, no key files found)");
  });

  describe("an encrypted key", () => {
    let home: string;
    beforeAll(async () => {
      home = await makeHome({ config: "Host *\n  IdentityFile ~/.ssh/id_locked\n  IdentitiesOnly yes\n" }, false);
      const key = join(home, ".ssh", "id_locked");
      // Few KDF rounds: ssh2 decrypts in JavaScript, and the suite runs on busy machines.
      await run("ssh-keygen", ["-q", "-t", "ed25519", "-a", "4", "-N", "s3cret phrase", "-C", "locked", "-f", key]);
      await h.authorizeKey(await readFile(`${key}.pub`, "utf8"));
    });

    it("asks for the passphrase and logs in", async () => {
      const asked: string[] = [];
      const pool = new SshPool({
        homeDir: home,
        agentSocket: "",
        askPassphrase: async (path) => {
          asked.push(path);
          return "s3cret phrase";
        },
      });
      pools.push(pool);
      expect((await collect(pool.host(h.hosts[0].target), "echo in")).out).toBe("in\n");
      expect(asked).toEqual([join(home, ".ssh", "id_locked")]);
    });

    it("takes it from RUNBOOK_SSH_PASSPHRASE", async () => {
      process.env.RUNBOOK_SSH_PASSPHRASE = "s3cret phrase";
      try {
        const pool = new SshPool({ homeDir: home, agentSocket: "" });
        pools.push(pool);
        expect((await collect(pool.host(h.hosts[0].target), "echo env")).out).toBe("env\n");
      } finally {
        delete process.env.RUNBOOK_SSH_PASSPHRASE;
      }
    });

    it.each([
      ["no passphrase", undefined, "no passphrase given"],
      ["a wrong one", "wrong", "wrong passphrase"],
    ])("fails clearly with %s", async (_what, answer, text) => {
      const pool = new SshPool({ homeDir: home, agentSocket: "", askPassphrase: async () => answer });
      pools.push(pool);
      const err = await failure(pool.host(h.hosts[0].target).exec("true"));
      expect(err.code).toBe("auth-failed");
      expect(err.message).toContain(`${join(home, ".ssh", "id_locked")} (`);
      expect(err.message).toContain(text);
    });
  });

  describe("the SSH agent", () => {
    let agent: ChildProcess | undefined;
    let socket: string;
    beforeAll(async () => {
      socket = join(scratch, "agent.sock");
      agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
      for (let i = 0; i < 100; i++) {
        try {
          await run("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
          break;
        } catch (err) {
          // exit 1 = agent up, no identities; 2 = cannot connect yet
          if ((err as { code?: number }).code === 1) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await run("ssh-add", [h.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    });
    afterAll(() => {
      if (agent?.pid) process.kill(agent.pid);
    });

    it("is tried first, and is enough with no key files at all", async () => {
      const home = await makeHome({}, false);
      const pool = new SshPool({ homeDir: home, agentSocket: socket });
      pools.push(pool);
      expect((await collect(pool.host(h.hosts[0].target), "echo agent")).out).toBe("agent\n");
    });

    it("is not used for a host with IdentitiesOnly yes", async () => {
      const home = await makeHome({ config: "Host *\n  IdentitiesOnly yes\n" }, false);
      const pool = new SshPool({ homeDir: home, agentSocket: socket });
      pools.push(pool);
      const err = await failure(pool.host(h.hosts[0].target).exec("true"));
      expect(err.message).not.toContain("agent (");
      expect(err.message).toContain("the SSH agent not used (IdentitiesOnly yes)");
    });
  });

  it("reaches a host through its ProxyJump, over the jump host's connection", async () => {
    const pool = newPool();
    const target = pool.host("rbhost1-via-0");
    expect((await collect(target, "echo $SSH_CONNECTION")).out.split(" ")[3].trim()).toBe(String(h.hosts[1].port));
    // The route goes through rbhost0: dropping rbhost0's sessions drops it.
    const running = target.exec("echo started; sleep 30", {
      onStdout: (s) => {
        if (s.includes("started")) void h.killSessions(0);
      },
    });
    const err = await failure(running);
    expect(err.code).toBe("connection-lost");
    // And it comes back.
    expect((await collect(target, "echo back")).out).toBe("back\n");
  });

  it("reaches a host `via` another one (a jump host given by the runbook)", async () => {
    const pool = newPool();
    const target = pool.host(h.hosts[2].target, { label: "two", via: "rbhost1" });
    expect((await collect(target, "echo $SSH_CONNECTION")).out.split(" ")[3].trim()).toBe(String(h.hosts[2].port));
    const err = await failure(
      target.exec("echo started; sleep 30", {
        onStdout: (s) => {
          if (s.includes("started")) void h.killSessions(1);
        },
      }),
    );
    expect(err.message).toBe("connection to two lost");
  });

  it("names the jump host when it cannot be reached", async () => {
    await h.stopHost(0);
    try {
      const err = await failure(newPool().host("rbhost1-via-0").exec("true"));
      expect(err.code).toBe("connect-failed");
      expect(err.message).toContain("rbhost0");
      expect(err.message).toContain("connection refused");
    } finally {
      await h.restartHost(0);
    }
  });

  it("forwards a TCP connection through a host (forwardOut)", async () => {
    const stream = await newPool().forwardOut("rbhost0", "127.0.0.1", h.hosts[1].port);
    const banner = await new Promise<string>((resolve, reject) => {
      stream.once("data", (d: Buffer) => resolve(d.toString()));
      stream.once("error", reject);
    });
    stream.destroy();
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
  });

  it("fails a command with connection-lost when the sshd serving it is killed, then reconnects", async () => {
    const pool = newPool();
    const host = pool.host("rbhost2", { label: "web" });
    expect((await collect(host, "echo first")).out).toBe("first\n");
    const err = await failure(
      host.exec("echo started; sleep 60", {
        onStdout: (s) => {
          if (s.includes("started")) void h.killSessions(2);
        },
      }),
    );
    expect(err.code).toBe("connection-lost");
    expect(err.message).toBe("connection to web lost");
    expect((await collect(host, "echo again")).out).toBe("again\n");
  });

  it("notices a link that goes silent through keepalives", async () => {
    const pool = newPool({ keepaliveIntervalMs: 300 });
    const host = pool.host("rbhost2", { label: "frozen" });
    try {
      const err = await failure(
        host.exec("echo started; sleep 60", {
          onStdout: (s) => {
            if (s.includes("started")) h.freezeHost(2, true);
          },
        }),
      );
      expect(err.code).toBe("connection-lost");
      expect(err.message).toBe("connection to frozen lost");
    } finally {
      h.freezeHost(2, false);
    }
    expect((await collect(host, "echo thawed")).out).toBe("thawed\n");
  });

  it("fails SFTP operations with connection-lost too", async () => {
    const host = newPool({ keepaliveIntervalMs: 300 }).host("rbhost2", { label: "files" });
    await host.writeFile(`${h.remoteDir}/lost.txt`, "x");
    h.freezeHost(2, true);
    try {
      const err = await failure(host.readFile(`${h.remoteDir}/lost.txt`));
      expect(err.code).toBe("connection-lost");
      expect(err.message).toBe("connection to files lost");
    } finally {
      h.freezeHost(2, false);
    }
    expect((await host.readFile(`${h.remoteDir}/lost.txt`)).toString()).toBe("x");
  });

  it("times out connecting to a server that accepts TCP but does not answer", async () => {
    h.freezeHost(2, true);
    try {
      const err = await failure(newPool({ connectTimeoutMs: 500 }).host("rbhost2").exec("true"));
      expect(err.code).toBe("connect-failed");
      expect(err.message).toContain("timed out after 0.5s");
    } finally {
      h.freezeHost(2, false);
    }
  });

  it("times out connecting to something that never speaks SSH", async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const err = await failure(
        newPool({ connectTimeoutMs: 500 }).host(`runbooktest@127.0.0.1:${port}`, { label: "mute" }).exec("true"),
      );
      expect(err.code).toBe("connect-failed");
      expect(err.message).toBe(`cannot connect to mute (runbooktest@127.0.0.1:${port}): timed out after 0.5s`);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it("an abort while still connecting returns at once as aborted", async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const controller = new AbortController();
      const host = newPool({ connectTimeoutMs: 20_000 }).host(`runbooktest@127.0.0.1:${port}`);
      setTimeout(() => controller.abort(), 200);
      const r = await host.exec("true", { signal: controller.signal });
      expect(r).toMatchObject({ aborted: true, exitCode: null, timedOut: false });
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it("says connection refused for a host that is down, and works once it is back", async () => {
    const pool = newPool();
    const host = pool.host("rbhost2");
    await h.stopHost(2);
    try {
      const err = await failure(host.exec("true"));
      expect(err.code).toBe("connect-failed");
      expect(err.message).toBe(`cannot connect to rbhost2 (runbooktest@127.0.0.1:${h.hosts[2].port}): connection refused`);
    } finally {
      await h.restartHost(2);
    }
    expect((await collect(host, "echo up")).out).toBe("up\n");
  });

  it("opens one connection per host per pool, however many drivers and commands", async () => {
    const pool = newPool();
    const a = pool.host("rbhost0");
    const b = pool.host(h.hosts[0].target);
    const outs = await Promise.all([a, b, a, b].map((x) => collect(x, "echo $SSH_CONNECTION")));
    expect(new Set(outs.map((o) => o.out)).size).toBe(1);
  });

  it("turns Nagle off before the first byte of the handshake, not once it is done", async () => {
    // With Nagle on during the handshake, packets sent back to back wait for
    // the server's delayed ACK (about 40 ms each time).
    const calls: { noDelay: boolean | undefined; bytesWritten: number; port: number | undefined }[] = [];
    const original = NetSocket.prototype.setNoDelay;
    const spy = vi.spyOn(NetSocket.prototype, "setNoDelay").mockImplementation(function (this: Socket, noDelay?: boolean) {
      calls.push({ noDelay, bytesWritten: this.bytesWritten, port: this.remotePort });
      return original.call(this, noDelay);
    });
    try {
      const r = await collect(newPool().host("rbhost1"), "echo up");
      expect(r.out).toBe("up\n");
    } finally {
      spy.mockRestore();
    }
    const first = calls.find((c) => c.port === h.hosts[1].port);
    expect(first).toEqual({ noDelay: true, bytesWritten: 0, port: h.hosts[1].port });
  });
});
