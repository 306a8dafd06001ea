// TLS for MySQL URLs (`?ssl-mode=…&ssl-ca=…`) against a real, private mariadbd:
// a CA and server certificates made with openssl here, a server of its own
// (mariadb-install-db into a temp datadir, a free 127.0.0.1 port, --ssl-*) and
// a user that must come over TLS (REQUIRE SSL). REQUIRED is also tried against
// the shared server on 3306, which has no TLS. The private server also refuses
// LOAD DATA LOCAL (local_infile off), so import and sync are tried there going
// through INSERTs instead. Under CI=true a server that
// cannot start is a failure; elsewhere the tests skip visibly.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DriverError } from "../../runtime/drivers/driver.js";
import { openMysql } from "../../runtime/drivers/mysql.js";
import { compile } from "../../language/index.js";
import { JournalLocationError, openJournal } from "../../runtime/journal/index.js";
import { parseMysqlLocation } from "../../runtime/journal/stores/mysql.js";
import { completeRun, makePlan } from "../journal/helpers.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { allRows, loadFixture, newSqlite } from "./fixtures.js";
import { MARIADB_HOST, MARIADB_PORT, requireMariadb } from "../support/mariadb.js";

const MARIADBD = "/usr/sbin/mariadbd";
const PASSWORD = "tls-test-pw";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const openssl = (dir: string, ...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

/** A CA, and a certificate it signs for `san` (e.g. "IP:127.0.0.1"). */
function makeCa(dir: string, name: string): void {
  openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`);
}
function makeCert(dir: string, ca: string, name: string, san: string): void {
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
}

interface Server {
  port: number;
  stop(): Promise<void>;
}

async function startServer(dir: string): Promise<Server> {
  const data = join(dir, "data");
  const socket = join(dir, "sock");
  execFileSync("mariadb-install-db", ["--no-defaults", `--datadir=${data}`, "--user=" + (process.getuid?.() === 0 ? "root" : process.env.USER ?? ""), "--auth-root-authentication-method=socket", "--skip-test-db"], {
    stdio: "pipe",
  });
  const port = await freePort();
  const child: ChildProcess = spawn(
    MARIADBD,
    [
      "--no-defaults",
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--pid-file=${join(dir, "pid")}`,
      ...(process.getuid?.() === 0 ? ["--user=root"] : []),
      `--ssl-ca=${join(dir, "ca.pem")}`,
      `--ssl-cert=${join(dir, "server.pem")}`,
      `--ssl-key=${join(dir, "server.key")}`,
      "--skip-log-bin",
      // LOAD DATA LOCAL refused, as some servers are set: import and sync must insert instead.
      "--local-infile=0",
      "--innodb-buffer-pool-size=16M",
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const client = (sql: string) => execFileSync("mariadb", ["--no-defaults", `--socket=${socket}`, "-u", "root", "-e", sql], { stdio: "pipe" });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      client("SELECT 1");
      break;
    } catch (e) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`mariadbd did not start: ${e instanceof Error ? e.message : String(e)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client(`CREATE USER 'tls'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL; GRANT SELECT ON *.* TO 'tls'@'127.0.0.1'`);
  // A journal's user: its own database, over TLS only.
  client(`CREATE DATABASE journal; CREATE USER 'journal'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL; GRANT ALL ON journal.* TO 'journal'@'127.0.0.1'`);
  client(`CREATE DATABASE data; CREATE USER 'writer'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON data.* TO 'writer'@'127.0.0.1'`);
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "runbook-tls-"));
let server: Server | undefined;
let reason: string | undefined;
try {
  if (!existsSync(MARIADBD)) throw new Error(`${MARIADBD} is not installed`);
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  makeCert(dir, "ca", "server", "IP:127.0.0.1");
  server = await startServer(dir);
} catch (e) {
  reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
  if (process.env.CI === "true") throw new Error(`a private mariadbd with TLS is required under CI=true: ${reason}`);
  console.warn(`\n*** SKIPPING MySQL TLS tests: ${reason} ***\n`);
}

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The error openMysql fails with, or a failure when it connects. */
async function refused(url: string): Promise<DriverError> {
  try {
    const db = await openMysql(url, { password: PASSWORD, connectTimeoutMs: 10_000 });
    await db.close();
  } catch (e) {
    expect(e).toBeInstanceOf(DriverError);
    return e as DriverError;
  }
  throw new Error(`${url} connected`);
}

async function cipher(url: string, password = PASSWORD): Promise<string> {
  const db = await openMysql(url, { password, connectTimeoutMs: 10_000 });
  try {
    const [row] = await db.query("SHOW STATUS LIKE 'Ssl_cipher'");
    return String(row?.Value ?? "");
  } finally {
    await db.close();
  }
}

describe.runIf(server !== undefined)("MySQL TLS against a private mariadbd", () => {
  const url = (host: string, query: string) => `mysql://tls@${host}:${server!.port}/?${query}`;
  const ca = join(dir, "ca.pem");

  it("VERIFY_CA with the right CA connects over TLS (Ssl_cipher is set)", async () => {
    expect(await cipher(url("127.0.0.1", `ssl-mode=VERIFY_CA&ssl-ca=${ca}`))).not.toBe("");
  });

  it("VERIFY_IDENTITY connects when the certificate names the host", async () => {
    expect(await cipher(url("127.0.0.1", `ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`))).not.toBe("");
  });

  it("ssl-ca alone means VERIFY_CA; REQUIRED encrypts without checking", async () => {
    expect(await cipher(url("127.0.0.1", `ssl-ca=${ca}`))).not.toBe("");
    expect(await cipher(url("127.0.0.1", "ssl-mode=REQUIRED"))).not.toBe("");
    expect(await cipher(url("127.0.0.1", "ssl-mode=preferred"))).not.toBe("");
  });

  it("a certificate from another CA is refused, saying so (no stack trace)", async () => {
    const e = await refused(url("127.0.0.1", `ssl-mode=VERIFY_CA&ssl-ca=${join(dir, "other-ca.pem")}`));
    expect(e.message).toContain("the server's certificate was refused (ssl-mode=VERIFY_CA, checked against ssl-ca)");
    expect(e.message).not.toMatch(/\n\s+at /);
    expect(e.message).not.toContain(PASSWORD);
  });

  it("VERIFY_IDENTITY refuses a certificate made for another name", async () => {
    // The certificate names IP 127.0.0.1 only; `localhost` reaches the same server under a name it does not hold.
    const e = await refused(url("localhost", `ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`));
    expect(e.message).toContain("ssl-mode=VERIFY_IDENTITY");
    expect(e.message).toContain("localhost");
    // The same name with VERIFY_CA (the name unchecked) connects: the refusal was the name's.
    expect(await cipher(url("localhost", `ssl-mode=VERIFY_CA&ssl-ca=${ca}`))).not.toBe("");
  });

  it("without TLS the REQUIRE SSL user is turned away by the server", async () => {
    const e = await refused(url("127.0.0.1", "ssl-mode=DISABLED"));
    expect(e.message).toContain("Access denied");
  });

  it("an unreadable ssl-ca file is named", async () => {
    const e = await refused(url("127.0.0.1", `ssl-mode=VERIFY_CA&ssl-ca=${join(dir, "missing.pem")}`));
    expect(e.message).toContain(`cannot read the ssl-ca file ${join(dir, "missing.pem")}`);
  });
});

describe.runIf(server !== undefined)("a journal kept in MySQL over TLS (--state mysql://…?ssl-mode=…)", () => {
  const at = (query: string) => `mysql://journal:${PASSWORD}@127.0.0.1:${server!.port}/journal?${query}`;
  const ca = join(dir, "ca.pem");

  it("VERIFY_IDENTITY with the CA opens it and keeps a run (its user can only come over TLS)", async () => {
    const journal = await openJournal(at(`ssl-mode=VERIFY_IDENTITY&ssl-ca=${ca}`));
    try {
      await completeRun(journal, "tls-run-1", makePlan({ runbook: "over-tls" }));
      expect((await journal.getRun("tls-run-1"))?.status).toBe("succeeded");
    } finally {
      await journal.close();
    }
  });

  it("without TLS the server turns it away; a certificate from another CA is refused; neither shows the password", async () => {
    const failure = (query: string) => openJournal(at(query)).then(async (j) => {
      await j.close();
      throw new Error("opened");
    }, (e: unknown) => e as Error);
    const plain = await failure("ssl-mode=DISABLED");
    expect(plain.message).toMatch(/^cannot open the journal mysql:\/\/journal:\*\*\*@127\.0\.0\.1:\d+\/journal\?ssl-mode=DISABLED: Access denied/);
    const other = await failure(`ssl-mode=VERIFY_CA&ssl-ca=${join(dir, "other-ca.pem")}`);
    expect(other.message).toContain("the server's certificate was refused (ssl-mode=VERIFY_CA, checked against ssl-ca)");
    const missing = await failure(`ssl-mode=VERIFY_CA&ssl-ca=${join(dir, "missing.pem")}`);
    expect(missing.message).toContain(`cannot read the ssl-ca file ${join(dir, "missing.pem")}`);
    for (const e of [plain, other, missing]) expect(e.message).not.toContain(PASSWORD);
  });
});

describe.runIf(server !== undefined)("a server with local_infile off", () => {
  it("import and sync insert the rows instead of LOAD DATA LOCAL, verified the same way", async () => {
    const work = mkdtempSync(join(tmpdir(), "runbook-noinfile-"));
    const db = await openMysql(`mysql://writer@127.0.0.1:${server!.port}/data`, { password: PASSWORD, connectTimeoutMs: 10_000 });
    const src = await newSqlite(join(work, "src.sqlite"));
    try {
      expect(Number((await db.query("SELECT @@GLOBAL.local_infile AS v"))[0]!.v)).toBe(0);
      await loadFixture(src);
      await loadFixture(db);
      await db.execute("DELETE FROM dog");
      await db.execute("DELETE FROM person");
      expect((await syncTables(src, db)).tables).toEqual([
        { name: "dog", rows: 3 },
        { name: "empty_one", rows: 0 },
        { name: "person", rows: 7 },
      ]);
      expect(await allRows(db, "dog")).toEqual(await allRows(src, "dog"));
      const backup = join(work, "backup");
      await exportTables(src, undefined, backup, "csv");
      await db.execute("UPDATE person SET name = 'changed'");
      expect((await importFile(db, backup)).tables.map((t) => t.rows)).toEqual([7, 3, 0]);
      expect((await allRows(db, "person")).map((r) => r.name)).toEqual((await allRows(src, "person")).map((r) => r.name));
      // and a trigger that changes a value is still caught, and rolled back
      await db.execute("CREATE TRIGGER shout BEFORE INSERT ON dog FOR EACH ROW SET NEW.name = UPPER(NEW.name)");
      await expect(syncTables(src, db, ["dog"])).rejects.toThrow("table dog does not hold what was written");
      expect((await allRows(db, "dog")).map((r) => r.name)).toEqual(["Rex", '"Quoted" dog', "stray 🐾"]);
    } finally {
      await db.close();
      await src.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("a journal URL's TLS options", () => {
  it("are those of a database URL: a wrong one is a location error, before any connection", async () => {
    const e = (await openJournal("mysql://root@127.0.0.1:1/j?ssl-mode=SOMETIMES").catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(JournalLocationError);
    expect(e.message).toContain("ssl-mode");
    const unknown = (await openJournal("mysql://root@127.0.0.1:1/j?sslmode=REQUIRED").catch((x: unknown) => x)) as Error;
    expect(unknown).toBeInstanceOf(JournalLocationError);
    expect(parseMysqlLocation("mysql://root@db.example.org/j?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem").tls).toEqual({ mode: "VERIFY_IDENTITY", ca: "/etc/ca.pem" });
    expect(parseMysqlLocation("mysql://root@db.example.org/j").tls.mode).toBe("DISABLED");
  });
});

const shared = await requireMariadb();
describe.runIf(shared)("MySQL TLS against a server without it", () => {
  it("REQUIRED fails: the server offers no TLS", async () => {
    const e = await refused(`mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/?ssl-mode=REQUIRED`);
    expect(e.message).toContain("the server does not offer TLS, and ssl-mode=REQUIRED requires it");
  });

  it("PREFERRED falls back to a plain connection", async () => {
    expect(await cipher(`mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/?ssl-mode=PREFERRED`, "")).toBe("");
  });
});

describe("the checker reads a MySQL URL's TLS options", () => {
  const check = (url: string) =>
    compile("t.rb", `runbook "r" version "1.0.0"\ndatabase appdb = mysql "${url}"\n`).diagnostics.filter((d) => d.severity === "error");

  it.each(["ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem", "ssl-mode=required", "ssl_mode=DISABLED", "ssl-ca=ca.pem&ssl-cert=c.pem&ssl-key=k.pem"])(
    "accepts ?%s",
    (q) => {
      expect(check(`mysql://u@db.example.org/app?${q}`)).toEqual([]);
    },
  );

  it.each([
    ["ssl-mode=VERIFY_HOST", "unknown `ssl-mode` `VERIFY_HOST`"],
    ["ssl-mode=VERIFY_CA", "give its file with `ssl-ca=PATH`"],
    ["sslmode=REQUIRED", "`sslmode` is not one runbook reads"],
    ["ssl-cert=c.pem", "needs both `ssl-cert` and `ssl-key`"],
    ["ssl-mode=DISABLED&ssl-ca=ca.pem", "`ssl-mode=DISABLED` turns TLS off"],
  ])("refuses ?%s at the URL, FILE:LINE:COL", (q, message) => {
    const [d, ...rest] = check(`mysql://u@db.example.org/app?${q}`);
    expect(rest).toEqual([]);
    expect(d?.code).toBe("bad-value");
    expect(d?.message).toContain(message);
    expect(d?.span.line).toBe(2);
    expect(d?.span.column).toBe(24);
  });
});
