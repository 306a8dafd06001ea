// Host key verification against ~/.ssh/known_hosts with real sshd instances:
// unknown keys refused (with the fingerprint), accepted and recorded with
// acceptNewHostKeys, changed keys always refused, hashed entries and hosts
// known only by a second key type.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SshPool } from "../../runtime/drivers/ssh/index.js";
import { startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { collect, failure, sshdEnabled } from "./helpers.js";

/** The fingerprint ssh-keygen -l prints for a `type base64` public key. */
function sshKeygenFingerprint(publicKey: string, dir: string): string {
  const file = join(dir, `fp-${Date.now()}-${Math.random()}.pub`);
  writeFileSync(file, publicKey + "\n");
  return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", file], { encoding: "utf8" }).split(" ")[1];
}

describe.skipIf(!sshdEnabled)("ssh host keys", () => {
  let h: SshTestHosts;
  const pools: SshPool[] = [];
  const newPool = (accept = false) => {
    const pool = new SshPool({ homeDir: h.home, acceptNewHostKeys: accept });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    h = await startSshHosts(2, { knownHosts: "none", hostKeyTypes: ["ed25519", "ecdsa"] });
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("refuses an unknown host key, naming its SHA256 fingerprint and the flag", async () => {
    await h.writeKnownHosts("");
    const err = await failure(newPool().host("rbhost0").exec("true"));
    const ed25519 = h.hosts[0].publicKeys().find((k) => k.startsWith("ssh-ed25519"))!;
    const fp = sshKeygenFingerprint(ed25519, h.home);
    expect(fp).toMatch(/^SHA256:/);
    expect(err.code).toBe("host-key-unknown");
    expect(err.message).toContain(fp);
    expect(err.message).toContain("ED25519");
    expect(err.message).toContain("--accept-new-host-keys");
    expect(err.message).toContain(h.hosts[0].knownName);
    expect(await h.readKnownHosts()).toBe("");
  });

  it("accepts and records an unknown key with acceptNewHostKeys, then knows it without the flag", async () => {
    await h.writeKnownHosts("");
    const r = await collect(newPool(true).host("rbhost0"), "echo ok");
    expect(r.out).toBe("ok\n");
    const recorded = await h.readKnownHosts();
    const ed25519 = h.hosts[0].publicKeys().find((k) => k.startsWith("ssh-ed25519"))!;
    expect(recorded).toBe(`${h.hosts[0].knownName} ${ed25519}\n`);
    // A fresh pool without the flag: known now.
    const again = await collect(newPool(false).host("rbhost0"), "echo again");
    expect(again.out).toBe("again\n");
    expect(await h.readKnownHosts()).toBe(recorded);
  });

  it("appends to an existing known_hosts without a trailing newline", async () => {
    await h.writeKnownHosts(h.knownHostsLines(1)[0]); // host 1, no newline at the end
    await collect(newPool(true).host("rbhost0"), "true");
    const lines = (await h.readKnownHosts()).split("\n");
    expect(lines[0]).toBe(h.knownHostsLines(1)[0]);
    expect(lines[1].startsWith(`${h.hosts[0].knownName} ssh-ed25519 `)).toBe(true);
  });

  it.each([
    ["plain entries", false],
    ["hashed entries", true],
  ])("connects to a host known by %s", async (_what, hashed) => {
    await h.writeKnownHosts(h.knownHostsLines(0, { hashed }).join("\n") + "\n");
    const r = await collect(newPool().host("rbhost0"), "echo known");
    expect(r.out).toBe("known\n");
  });

  it("connects to a host known only by its second key type (ECDSA), without calling it unknown", async () => {
    const ecdsaOnly = h.knownHostsLines(0).filter((l) => l.includes("ecdsa-sha2-"));
    await h.writeKnownHosts(ecdsaOnly.join("\n") + "\n");
    const r = await collect(newPool().host("rbhost0"), "echo ecdsa");
    expect(r.out).toBe("ecdsa\n");
  });

  it("refuses a changed key even with acceptNewHostKeys, loudly, with both fingerprints", async () => {
    const before = h.knownHostsLines(1).join("\n") + "\n";
    await h.writeKnownHosts(before);
    const oldKey = h.hosts[1].publicKeys().find((k) => k.startsWith("ssh-ed25519"))!;
    await h.restartHost(1, { newHostKeys: true });
    const newKey = h.hosts[1].publicKeys().find((k) => k.startsWith("ssh-ed25519"))!;
    expect(newKey).not.toBe(oldKey);
    for (const accept of [false, true]) {
      const err = await failure(newPool(accept).host("rbhost1").exec("true"));
      expect(err.code).toBe("host-key-changed");
      expect(err.message).toMatch(/^WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for rbhost1/);
      expect(err.message).toContain(sshKeygenFingerprint(oldKey, h.home));
      expect(err.message).toContain(sshKeygenFingerprint(newKey, h.home));
      expect(err.message).toContain("even with --accept-new-host-keys");
    }
    expect(await h.readKnownHosts()).toBe(before);
  });

  it("refuses a host known by its ED25519 key that offers only an RSA key, as changed, even with acceptNewHostKeys; records nothing", async () => {
    const edOnly = h.knownHostsLines(0).filter((l) => l.includes(" ssh-ed25519 "));
    expect(edOnly).toHaveLength(1);
    const before = edOnly.join("\n") + "\n";
    await h.writeKnownHosts(before);
    const edKey = h.hosts[0].publicKeys().find((k) => k.startsWith("ssh-ed25519"))!;
    await h.restartHost(0, { keyTypes: ["rsa"] });
    try {
      const rsaKey = h.hosts[0].publicKeys().find((k) => k.startsWith("ssh-rsa"))!;
      expect(h.hosts[0].publicKeys()).toEqual([rsaKey]);
      for (const accept of [true, false]) {
        const err = await failure(newPool(accept).host("rbhost0").exec("true"));
        expect(err.code).toBe("host-key-changed");
        expect(err.message).toMatch(/^WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for rbhost0/);
        expect(err.message).toContain(`ED25519 key ${sshKeygenFingerprint(edKey, h.home)}`);
        expect(err.message).toContain(`offered RSA key: ${sshKeygenFingerprint(rsaKey, h.home)}`);
        expect(err.message).toContain("even with --accept-new-host-keys");
      }
      expect(await h.readKnownHosts()).toBe(before);
      // The same RSA-only host with nothing known for it: accept-new records its RSA key.
      await h.writeKnownHosts("");
      await collect(newPool(true).host("rbhost0"), "true");
      expect(await h.readKnownHosts()).toBe(`${h.hosts[0].knownName} ${rsaKey}\n`);
    } finally {
      await h.restartHost(0, { keyTypes: ["ed25519", "ecdsa"] });
    }
  });

  it("refuses a key marked @revoked", async () => {
    const ed25519 = h.hosts[0].publicKeys().find((k) => k.startsWith("ssh-ed25519"))!;
    await h.writeKnownHosts(`${h.knownHostsLines(0).join("\n")}\n@revoked * ${ed25519}\n`);
    const err = await failure(newPool(true).host("rbhost0").exec("true"));
    expect(err.code).toBe("host-key-revoked");
  });
});
