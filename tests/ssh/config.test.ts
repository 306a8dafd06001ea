// How the SSH driver reads ~/.ssh/config (through the ssh-config package,
// with Include expanded): no network, a temp HOME per case.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriverError } from "../../runtime/drivers/driver.js";
import { resolveSshTarget, SshPool } from "../../runtime/drivers/ssh/index.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "runbook-ssh-config-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function home(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(root, "home-"));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, ".ssh", name);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, text);
  }
  return dir;
}

const MAIN = `
Include conf.d/*.conf
Include ~/.ssh/extra

Host portal
  HostName portal.example.org
  User haiti
  Port 2222
  IdentityFile ~/.ssh/portal_key
  ProxyJump bastion

Host web-*
  User app
  ProxyJump jump1,jump2

Host nojump
  HostName 10.0.0.9
  ProxyJump none

Host tokens
  HostName %h.internal
  IdentityFile %d/.ssh/%r-%h

Host cased
  hostname cased.example.org
  USER Shouty

Host *
  IdentityFile ~/.ssh/id_common
  UserKnownHostsFile ~/.ssh/known_hosts_team
`;

describe("resolveSshTarget", () => {
  let h: string;
  beforeAll(async () => {
    h = await home({
      config: MAIN,
      "conf.d/10-db.conf": "Host db\n  HostName db.example.org\n  User dba\n",
      "conf.d/ignored.txt": "Host db\n  User wrong\n",
      extra: "Host bastion\n  HostName bastion.example.org\n  User jump\n",
    });
  });

  it.each([
    ["an alias", "portal", { user: "haiti", host: "portal.example.org", port: 2222, proxyJump: ["bastion"] }],
    ["explicit user and port win over the config", "root@portal:22", { user: "root", host: "portal.example.org", port: 22 }],
    ["an alias from an Include with a glob", "db", { user: "dba", host: "db.example.org", port: 22 }],
    ["an alias from an Include with ~", "bastion", { user: "jump", host: "bastion.example.org" }],
    ["a wildcard Host with a jump chain", "web-3", { user: "app", host: "web-3", proxyJump: ["jump1", "jump2"] }],
    ["ProxyJump none", "nojump", { host: "10.0.0.9", proxyJump: [] }],
    ["directives in any case", "cased", { user: "Shouty", host: "cased.example.org" }],
    ["user@address:port that no Host names", "deploy@192.0.2.7:2200", { user: "deploy", host: "192.0.2.7", port: 2200, proxyJump: [] }],
    ["a bracketed IPv6 address", "ops@[2001:db8::1]:2201", { user: "ops", host: "2001:db8::1", port: 2201 }],
    ["a bare name: the local user", "plainhost", { user: userInfo().username, host: "plainhost", port: 22 }],
  ])("%s (%s)", async (_what, target, expected) => {
    expect(await resolveSshTarget(target, h)).toMatchObject(expected);
  });

  it("expands ~ and %-tokens in IdentityFile from the pool's home, first match first", async () => {
    expect((await resolveSshTarget("portal", h)).identityFiles).toEqual([
      join(h, ".ssh", "portal_key"),
      join(h, ".ssh", "id_common"),
    ]);
    expect((await resolveSshTarget("someone@tokens", h)).identityFiles[0]).toBe(
      join(h, ".ssh", "someone-tokens.internal"),
    );
  });

  it("honours UserKnownHostsFile, else ~/.ssh/known_hosts", async () => {
    expect((await resolveSshTarget("portal", h)).knownHostsFile).toBe(join(h, ".ssh", "known_hosts_team"));
    const bare = await home({});
    expect((await resolveSshTarget("x@y", bare)).knownHostsFile).toBe(join(bare, ".ssh", "known_hosts"));
  });

  it("an Include inside a Host block applies to that host only", async () => {
    const dir = await home({
      config: "Host special\n  Include special.conf\n\nHost other\n  User o\n",
      "special.conf": "User s\nPort 2022\n",
    });
    expect(await resolveSshTarget("special", dir)).toMatchObject({ user: "s", port: 2022 });
    expect(await resolveSshTarget("other", dir)).toMatchObject({ user: "o", port: 22 });
  });

  it("works without any config file", async () => {
    const dir = await home({});
    expect(await resolveSshTarget("a@b:3", dir)).toMatchObject({ user: "a", host: "b", port: 3, identityFiles: [] });
  });

  it.each(["", "a@", "@host", "user@host:port", "a b"])("refuses %j as a host", async (target) => {
    await expect(resolveSshTarget(target, h)).rejects.toBeInstanceOf(DriverError);
  });
});

describe("SshPool and ~/.ssh/config", () => {
  it("stops at a ProxyJump loop with a clear error, before connecting anywhere", async () => {
    const dir = await home({ config: "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n" });
    const pool = new SshPool({ homeDir: dir });
    const err = await pool
      .host("a")
      .exec("true")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).message).toMatch(/^too many jump hosts on the way to [ab] \(a ProxyJump loop\?\)$/);
    await pool.closeAll();
  });

  it("refuses a malformed host when it is used", async () => {
    const pool = new SshPool({ homeDir: await home({}) });
    const err = await pool
      .host("not a host")
      .exec("true")
      .catch((e: unknown) => e);
    expect((err as DriverError).message).toBe(
      '"not a host" is not a host: expected user@address[:port] or an ~/.ssh/config alias',
    );
  });
});
