import { createHash, createHmac, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkHostKey,
  entryMatchesHost,
  fingerprint,
  hostKeyAlgorithmsFor,
  keyTypeOf,
  knownHostName,
  knownHostsLine,
  parseKnownHosts,
} from "../../runtime/drivers/known-hosts.js";

/** An SSH wire-format public key blob of the given type with random key material. */
function blob(type: string, seed: string): Buffer {
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const material = createHash("sha256").update(seed).digest();
  if (type === "ssh-ed25519") return Buffer.concat([str(Buffer.from(type)), str(material)]);
  if (type.startsWith("ecdsa-sha2-"))
    return Buffer.concat([str(Buffer.from(type)), str(Buffer.from(type.slice(11))), str(Buffer.concat([Buffer.from([4]), material, material]))]);
  return Buffer.concat([str(Buffer.from(type)), str(Buffer.from([1, 0, 1])), str(Buffer.concat([material, material]))]);
}

function hashed(name: string, salt = Buffer.from("0123456789abcdefghij")): string {
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

const ED_A = blob("ssh-ed25519", "a");
const ED_B = blob("ssh-ed25519", "b");
const EC_A = blob("ecdsa-sha2-nistp256", "a");
const RSA_A = blob("ssh-rsa", "a");
const line = (hosts: string, key: Buffer) => `${hosts} ${keyTypeOf(key)} ${key.toString("base64")}`;

describe("knownHostName", () => {
  it.each([
    ["example.org", 22, "example.org"],
    ["Example.ORG", 22, "example.org"],
    ["127.0.0.1", 2222, "[127.0.0.1]:2222"],
    ["::1", 22, "::1"],
    ["::1", 2200, "[::1]:2200"],
  ])("%s port %i is recorded as %s", (host, port, name) => {
    expect(knownHostName(host, port)).toBe(name);
  });
});

describe("parseKnownHosts", () => {
  it("reads plain, hashed and marker lines and skips comments, blanks and junk", () => {
    const text = [
      "# a comment",
      "",
      line("host1,10.0.0.1", ED_A),
      line(hashed("host2"), EC_A) + " a trailing comment",
      `@revoked * ${keyTypeOf(RSA_A)} ${RSA_A.toString("base64")}`,
      `@cert-authority *.example.org ${keyTypeOf(ED_B)} ${ED_B.toString("base64")}`,
      "not-a-valid-line",
      "host3 ssh-ed25519 !!!notbase64!!!",
      "\tindented " + keyTypeOf(ED_B) + " " + ED_B.toString("base64"),
    ].join("\n");
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => [e.line, e.marker ?? "", e.keyType, Boolean(e.hashed)])).toEqual([
      [3, "", "ssh-ed25519", false],
      [4, "", "ecdsa-sha2-nistp256", true],
      [5, "revoked", "ssh-rsa", false],
      [6, "cert-authority", "ssh-ed25519", false],
      [9, "", "ssh-ed25519", false],
    ]);
    expect(entries[0].key.equals(ED_A)).toBe(true);
  });

  it("accepts CRLF line ends", () => {
    const entries = parseKnownHosts(line("h", ED_A) + "\r\n" + line("g", EC_A) + "\r\n");
    expect(entries).toHaveLength(2);
    expect(entries[1].key.equals(EC_A)).toBe(true);
  });
});

describe("entryMatchesHost", () => {
  it.each([
    ["host1", "host1", true],
    ["HOST1", "host1", true],
    ["host1,host2", "host2", true],
    ["host1,host2", "host3", false],
    ["*.example.org", "www.example.org", true],
    ["*.example.org", "example.org", false],
    ["web?.example.org", "web1.example.org", true],
    ["web?.example.org", "web12.example.org", false],
    ["*.example.org,!bad.example.org", "bad.example.org", false],
    ["*.example.org,!bad.example.org", "good.example.org", true],
    ["[127.0.0.1]:2222", "[127.0.0.1]:2222", true],
    ["[127.0.0.1]:2222", "127.0.0.1", false],
    ["127.0.0.1", "[127.0.0.1]:2222", false],
    ["[127.0.0.1]:*", "[127.0.0.1]:2222", true],
    [hashed("host1"), "host1", true],
    [hashed("host1"), "host2", false],
    [hashed("[127.0.0.1]:2222"), "[127.0.0.1]:2222", true],
    [hashed("[127.0.0.1]:2222"), "127.0.0.1", false],
  ])("%s matches %s: %s", (hosts, name, expected) => {
    const [entry] = parseKnownHosts(line(hosts, ED_A));
    expect(entryMatchesHost(entry, name)).toBe(expected);
  });
});

describe("checkHostKey", () => {
  const file = [
    line("[127.0.0.1]:2222", ED_A),
    line(hashed("[127.0.0.1]:2222"), EC_A),
    line("other.example.org", ED_B),
    line("rsa-only.example.org", RSA_A),
    `@revoked * ${keyTypeOf(ED_B)} ${ED_B.toString("base64")}`,
    `@revoked revoked-only.example.org ${keyTypeOf(RSA_A)} ${RSA_A.toString("base64")}`,
  ].join("\n");
  const entries = parseKnownHosts(file);

  it.each([
    ["plain entry, same key", "[127.0.0.1]:2222", ED_A, "known"],
    ["hashed entry, second key type of the same host", "[127.0.0.1]:2222", EC_A, "known"],
    ["same type, different key", "[127.0.0.1]:2222", blob("ssh-ed25519", "evil"), "changed"],
    ["same host on another port", "[127.0.0.1]:2223", ED_A, "unknown"],
    ["unknown host", "new.example.org", ED_A, "unknown"],
    ["known only with another key type: changed, never new", "rsa-only.example.org", ED_A, "changed"],
    ["known by a hashed entry of another key type: changed", "[127.0.0.1]:2222", RSA_A, "changed"],
    ["a revoked key alone does not make a host known", "revoked-only.example.org", ED_A, "unknown"],
    ["revoked key wins even for a known host", "other.example.org", ED_B, "revoked"],
  ])("%s → %s", (_what, name, key, status) => {
    expect(checkHostKey(entries, name, key).status).toBe(status);
  });

  it("reports the known keys of a changed host: of the offered type, else all of them (otherType)", () => {
    const changed = checkHostKey(entries, "[127.0.0.1]:2222", blob("ssh-ed25519", "evil"));
    expect(changed).toMatchObject({ status: "changed", otherType: false });
    expect(changed.status === "changed" && changed.known.map((e) => e.line)).toEqual([1]);
    const otherType = checkHostKey(entries, "rsa-only.example.org", ED_A);
    expect(otherType).toMatchObject({ status: "changed", otherType: true });
    expect(otherType.status === "changed" && otherType.known.map((e) => e.keyType)).toEqual(["ssh-rsa"]);
    const both = checkHostKey(entries, "[127.0.0.1]:2222", RSA_A);
    expect(both.status === "changed" && both.known.map((e) => e.line)).toEqual([1, 2]);
  });
});

describe("fingerprint", () => {
  it("is OpenSSH's SHA256 form: base64 without padding", () => {
    const fp = fingerprint(ED_A);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fp).toBe("SHA256:" + createHash("sha256").update(ED_A).digest("base64").replace(/=+$/, ""));
  });

  it("reads the type of a real ed25519 key blob", () => {
    // (The integration tests compare with ssh-keygen -lf on real host keys.)
    const { publicKey } = generateKeyPairSync("ed25519");
    const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    const wire = Buffer.concat([
      Buffer.from([0, 0, 0, 11]),
      Buffer.from("ssh-ed25519"),
      Buffer.from([0, 0, 0, 32]),
      raw,
    ]);
    expect(keyTypeOf(wire)).toBe("ssh-ed25519");
    expect(fingerprint(wire)).toBe(`SHA256:${createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")}`);
  });
});

describe("knownHostsLine", () => {
  it.each([
    ["plain", false],
    ["hashed", true],
  ])("writes a %s line that parses back and matches", (_what, isHashed) => {
    const text = knownHostsLine("[127.0.0.1]:2222", EC_A, { hashed: isHashed });
    const [entry] = parseKnownHosts(text);
    expect(Boolean(entry.hashed)).toBe(isHashed);
    expect(entry.keyType).toBe("ecdsa-sha2-nistp256");
    expect(entryMatchesHost(entry, "[127.0.0.1]:2222")).toBe(true);
    expect(checkHostKey([entry], "[127.0.0.1]:2222", EC_A).status).toBe("known");
  });
});

describe("hostKeyAlgorithmsFor", () => {
  const entries = parseKnownHosts([line("a", EC_A), line("b", RSA_A), line("c", ED_A), line("c", EC_A)].join("\n"));
  it.each([
    ["a", ["ecdsa-sha2-nistp256"]],
    ["b", ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]],
    ["c", ["ssh-ed25519", "ecdsa-sha2-nistp256"]],
  ])("puts the key types %s is known with first", (name, firstAlgos) => {
    const algos = hostKeyAlgorithmsFor(entries, name)!;
    expect(algos.slice(0, firstAlgos.length)).toEqual(firstAlgos);
    expect(new Set(algos).size).toBe(7);
  });

  it("leaves an unknown host to the library's defaults", () => {
    expect(hostKeyAlgorithmsFor(entries, "zzz")).toBeUndefined();
  });
});
