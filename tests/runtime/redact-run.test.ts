// Secrets of every shape, end to end through `runbook run`: a multi-line secret
// (a real PEM key) in an `edit` replacement (the diff in the plain log, NDJSON
// and a dry run), a secret holding a NUL byte (Node's own "Received '…'" error),
// and a cut piece of a secret in MariaDB's syntax-error message (the real
// server). Nothing of them may reach stdout, stderr or any byte of the journal.

import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redaction } from "../../runtime/redact.js";
import { cli, type CliBuilder } from "../support/cli.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";

/** Every byte of the journal (the database and its WAL). */
function journalBytes(c: CliBuilder): Buffer {
  return Buffer.concat(
    ["journal.db", "journal.db-wal"].map((f) => join(c.dir, f)).filter(existsSync).map((p) => readFileSync(p)),
  );
}

/** Every piece of `secret` of `n` characters. */
function pieces(secret: string, n = 8): string[] {
  const out = new Set<string>();
  for (let i = 0; i + n <= secret.length; i++) out.add(secret.slice(i, i + n));
  return [...out];
}

describe("a multi-line secret (a PEM key) in an edit replacement", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const body = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
  const src = `runbook "k" version "1.0.0"
secret pem = file "tls/key.pem"
step "Install key" as install {
  edit "app.conf" { replace "KEY_HERE" with "\${pem}" }
}
`;

  it.each([
    ["the plain log", ["--no-tui"]],
    ["NDJSON", ["--json"]],
    ["a dry run", ["--no-tui", "--dry-run"]],
  ])("shows no line of it in %s, nor in the journal", async (_where, flags) => {
    expect(body.length).toBeGreaterThan(20);
    const c = cli().file("k.rb", src).file("tls/key.pem", pem).file("app.conf", "before = 1\nKEY_HERE\nafter = 2\n");
    const r = await c.args("run", "k.rb", ...flags).run();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const shown = r.stdout + r.stderr;
    expect(shown).toContain("+***"); // the diff is there, masked line by line
    expect(shown).toContain("KEY_HERE");
    const journal = journalBytes(c);
    for (const line of body) {
      expect(shown).not.toContain(line.slice(0, 16));
      expect(journal.includes(Buffer.from(line.slice(0, 16)))).toBe(false);
    }
    // Whole diff lines, the last one (often short) included: `+LINE` then a line end (NDJSON: `\n`).
    for (const line of body) {
      const escaped = line.replace(/[+/=]/g, (ch) => `\\${ch}`);
      expect(shown).not.toMatch(new RegExp(`[+ ]${escaped}(\\\\n|\\n|")`));
    }
    if (!flags.includes("--dry-run")) expect(readFileSync(join(c.dir, "app.conf"), "utf8")).toBe(`before = 1\n${pem.replace(/\n$/, "")}\nafter = 2\n`);
  });
});

describe("a secret holding a NUL byte", () => {
  it("is in no error message and no byte of the journal", async () => {
    const secret = "hunt\0er2-Zq81x-secret";
    const src = `runbook "n" version "1.0.0"
secret pw = file "pw.bin"
step "Use" as use { run "echo using \${pw}" }
`;
    const c = cli().file("n.rb", src).file("pw.bin", secret);
    for (const flags of [["--no-tui"], ["--json"]]) {
      const r = await c.args("run", "n.rb", ...flags).run();
      expect(r.code).toBe(1);
      const shown = r.stdout + r.stderr;
      expect(shown).toMatch(/null bytes|\*\*\*/);
      for (const p of ["hunt", "er2-Zq81x", "Zq81x-secret"]) expect(shown).not.toContain(p);
    }
    const journal = journalBytes(c);
    for (const p of ["hunt", "er2-Zq81x", "Zq81x-secret"]) expect(journal.includes(Buffer.from(p))).toBe(false);
  });
});

const sshdReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshdReason === null, sshdReason ?? undefined);

describe.skipIf(!sshd)("the same secrets on a host over SSH", () => {
  let h: SshTestHosts;
  beforeAll(async () => {
    h = await startSshHosts(1);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it("a NUL-holding secret in a remote command and a PEM key in a remote edit: no piece of either anywhere", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const body = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
    const nul = "hunt\0er2-Zq81x-secret";
    const d = `${h.remoteDir}/redact-${Date.now()}`;
    const src = `runbook "r" version "1.0.0"
host box = "${h.hosts[0]!.target}"
secret pem = file "key.pem"
secret pw = file "pw.bin"
step "Prepare" as prepare on box { run "mkdir -p ${d} && printf 'KEY_HERE\\n' > ${d}/app.conf" }
step "Install key" as install on box { edit "${d}/app.conf" { replace "KEY_HERE" with "\${pem}" } }
step "Use" as use on box { run "echo using \${pw}" }
`;
    const c = cli().file("r.rb", src).file("key.pem", pem).file("pw.bin", nul).env({ HOME: h.home });
    for (const flags of [["--no-tui"], ["--json"]]) {
      const r = await c.args("run", "r.rb", ...flags).run();
      expect(r.code).toBe(1); // the step using the NUL secret fails
      const shown = r.stdout + r.stderr;
      expect(shown).toContain("+***");
      for (const line of body) expect(shown).not.toContain(line.slice(0, 16));
      for (const p of ["hunt", "er2-Zq81x", "Zq81x-secret"]) expect(shown).not.toContain(p);
    }
    const journal = journalBytes(c);
    for (const line of body) expect(journal.includes(Buffer.from(line.slice(0, 16)))).toBe(false);
    for (const p of ["hunt", "er2-Zq81x", "Zq81x-secret"]) expect(journal.includes(Buffer.from(p))).toBe(false);
  });
});

const mariadb = await requireMariadb();

describe.runIf(mariadb)("a cut piece of a secret in MariaDB's syntax-error message", () => {
  let db: TestDatabase;
  const secret = "Mq5-" + "abcdefghijklmnopqrstuvwxyz".repeat(4) + "-END";

  beforeAll(async () => {
    db = await createTestDatabase("runbook_redact");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("the server quotes a cut piece (not the whole value): redactMessage masks it", async () => {
    const conn = await db.open();
    const message = await conn.query(`SELECT SELECT '${secret}'`).then(
      () => "",
      (e: unknown) => (e as Error).message,
    );
    expect(message).toMatch(/syntax/);
    expect(message).toContain(secret.slice(0, 40)); // a cut prefix is there…
    expect(message).not.toContain(secret); // …but not the whole value, which plain masking needs
    expect(new Redaction([secret]).redact(message)).toContain(secret.slice(0, 40));
    const out = new Redaction([secret]).redactMessage(message);
    for (const p of pieces(secret)) expect(out).not.toContain(p);
    expect(out).toMatch(/syntax/);
  });

  it("a run's step error, the plain log, NDJSON and the journal hold no piece of it", async () => {
    const src = `runbook "m" version "1.0.0"
secret token = file "token.txt"
database d = mysql "${db.url}"
step "Break" as brk { sql d "SELECT SELECT \${token}" }
`;
    const c = cli().file("m.rb", src).file("token.txt", secret);
    for (const flags of [["--no-tui"], ["--json"]]) {
      const r = await c.args("run", "m.rb", ...flags).run();
      expect(r.code).toBe(1);
      const shown = r.stdout + r.stderr;
      expect(shown).toMatch(/syntax/);
      for (const p of pieces(secret)) expect(shown).not.toContain(p);
    }
    const journal = journalBytes(c);
    for (const p of pieces(secret)) expect(journal.includes(Buffer.from(p))).toBe(false);
  });
});
