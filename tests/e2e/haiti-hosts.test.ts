// The Haiti release on three real hosts (issue 14, items 2 and 3): three sshd
// instances stand for Prod, UAT and Dev, each with the seed's layout (web2py
// instance, maintenance scripts, Apache site, a root-owned system crontab edited
// `as root` through sudo, a real brz branch). Prod's data is SQLite on its host;
// Dev's and UAT's are MariaDB databases reached through their host (`via`). The
// test runbook declares where they are and includes runbooks/lib/haiti-release.rb,
// the production steps. Then: dev, a UAT migration that fails half-way (rolled
// back), UAT, and Prod killed with kill -9 during its export and resumed.
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { importFile } from "../../runtime/data.js";
import { cli, type CliResult } from "../support/cli.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { descendants, requireServer, sshdUnavailableReason, startSshHosts, TEST_USER, type SshTestHosts } from "../support/sshd.js";
import { onPath } from "../support/sudo.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SANDBOX = join(ROOT, "runbooks/sandbox");
const SLOW = 180_000;

const sshdReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshdReason === null, sshdReason ?? undefined);
const bzr = ["brz", "bzr"].find(onPath);
const hasBzr = requireServer("brz (Bazaar)", bzr !== undefined, "neither brz nor bzr is installed (apt-get install brz)");
const missing = ["python3", "curl", "sqlite3", "mysql", "sudo"].filter((p) => !onPath(p));
const tools = requireServer("python3, curl, sqlite3, mysql and sudo (the Haiti hosts)", missing.length === 0, `${missing.join(", ")} not installed`);
const mariadb = sshd && hasBzr && tools ? await requireMariadb() : false;

const INSTANCES = {
  prod: { host: 0, user: "haiti", app: "prod", site: "prod" },
  uat: { host: 1, user: "haiti-test", app: "test", site: "haiti-test" },
  dev: { host: 2, user: "haiti-dev", app: "dev", site: "haiti-dev" },
} as const;
type Env = keyof typeof INSTANCES;

const ORGS = ["Sahana Software Foundation", "Haiti Red Cross", "World Food Programme"];

let h: SshTestHosts;
let work: string;
let remote: string;
let uid: number;
let gid: number;
const dbs: Partial<Record<"dev" | "uat", TestDatabase>> = {};

const root = (env: Env) => join(remote, env);
const home = (env: Env) => join(root(env), "home", INSTANCES[env].user);
const appdir = (env: Env) => join(home(env), "web2py/applications", INSTANCES[env].app);
const crontab = (env: Env) => join(root(env), "etc/crontab");
const prodDb = () => join(appdir("prod"), "databases/storage.sqlite");
const branch = () => join(remote, "branch");

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, BRZ_EMAIL: "Fran Boon <fran@example.org>", HOME: work } });
}

function chownTree(path: string): void {
  sh("chown", ["-R", `${uid}:${gid}`, path]);
}

/** The Haiti branch: revno 1 is the sandbox's r540, 2 its r547, 3 a revision whose models fail after migrating. */
function makeBranch(): void {
  const b = branch();
  sh(bzr!, ["init", "-q", b]);
  mkdirSync(join(b, "models"));
  cpSync(join(SANDBOX, "branch/r540/models/10_org.py"), join(b, "models/10_org.py"));
  sh(bzr!, ["add", "-q"], b);
  sh(bzr!, ["commit", "-q", "-m", "r540: organisations, people, requests"], b);
  cpSync(join(SANDBOX, "branch/r547/models/10_org.py"), join(b, "models/10_org.py"));
  sh(bzr!, ["commit", "-q", "-m", "r547: website, priority"], b);
  writeFileSync(join(b, "models/20_broken.py"), "# A model that fails once the tables are migrated.\nraise RuntimeError('broken model')\n");
  sh(bzr!, ["add", "-q"], b);
  sh(bzr!, ["commit", "-q", "-m", "a broken model"], b);
}

function dbLine(env: Env, migrate: boolean): string {
  const uri = env === "prod" ? "sqlite://storage.sqlite" : `mysql://root@127.0.0.1:3306/${dbs[env]!.name}`;
  return `# Sahana Haiti: the database of this instance.\nmigrate = ${migrate ? "True" : "False"}\ndb = DAL('${uri}', pool_size=10, migrate=migrate)\n`;
}

/** One instance: the seed's layout under its host's root, its database made as web2py makes it. */
function layOut(env: Env): void {
  const { app, site } = INSTANCES[env];
  const r = root(env);
  mkdirSync(join(r, "home"), { recursive: true });
  mkdirSync(join(home(env), "web2py/applications"), { recursive: true });
  mkdirSync(join(home(env), "www"), { recursive: true });
  sh(bzr!, ["branch", "-q", "-r", "1", branch(), appdir(env)]);
  mkdirSync(join(appdir(env), "databases"));
  cpSync(join(SANDBOX, "web2py.py"), join(home(env), "web2py/web2py.py"));
  // Each maintenance script also keeps a log, so the test can count its runs;
  // with a file HOLD there, maintenance.on waits for a file GO (the kill drill).
  for (const which of ["on", "off"]) {
    const hold = which === "on" ? 'if [ -f HOLD ]; then echo "maintenance: holding"; while [ ! -f GO ]; do sleep 0.05; done; fi\n' : "";
    const script = readFileSync(join(SANDBOX, `maintenance.${which}`), "utf8").replace(/\necho "maintenance mode (on|off)"\n$/, `\n${hold}echo "maintenance mode $1"\necho $1 >> maintenance.log\n`);
    writeFileSync(join(home(env), `maintenance.${which}`), script, { mode: 0o755 });
  }
  writeFileSync(join(home(env), "www/index.html"), `<h1>Sahana Haiti: ${app}</h1>\n`);
  writeFileSync(join(appdir(env), "models/00_db.py"), dbLine(env, true));
  sh("python3", ["web2py.py", "-S", app, "-M", "-N"], join(home(env), "web2py"));
  writeFileSync(join(appdir(env), "models/00_db.py"), dbLine(env, false));
  cpSync(join(SANDBOX, "models/00_settings.py"), join(appdir(env), "models/00_settings.py"));
  chownTree(r);
  // /etc is root's: the crontab is edited `as root` (sudo), as on the real hosts.
  mkdirSync(join(r, "etc/apache2/sites-enabled"), { recursive: true });
  writeFileSync(join(r, "etc/apache2/sites-enabled", site), `<VirtualHost *:80>\n  DocumentRoot ${home(env)}/www\n</VirtualHost>\n`);
  cpSync(join(SANDBOX, "crontab"), crontab(env));
  chmodSync(crontab(env), 0o644);
}

function testRunbook(): string {
  const p = h.hosts[INSTANCES.prod.host]!.target;
  const envBlock = (env: "dev" | "uat", draft: string) => `
env ${env} {
  var root       = "${root(env)}"
  var home       = "${home(env)}"
  var app        = "${INSTANCES[env].app}"
  var site       = "${root(env)}/etc/apache2/sites-enabled/${INSTANCES[env].site}"
  var url        = "file://${home(env)}/www/index.html"
  var draft      = "${draft}"
  host portal    = "${h.hosts[INSTANCES[env].host]!.target}"
  database appdb = mysql "mysql://root@127.0.0.1:3306/${dbs[env]!.name}" via portal
}
`;
  return `# The Haiti release on the test's three hosts (tests/e2e/haiti-hosts.test.ts).
runbook "haiti-hosts" version "1.0.0"
description "The Haiti release on three sshd hosts"
owner "release-group"
default env dev

param branch       = "${branch()}"
param revision     = "2"
var root           = "${root("prod")}"
var home           = "${home("prod")}"
var app            = "prod"
var web2py         = "\${home}/web2py"
var appdir         = "\${web2py}/applications/\${app}"
var site           = "\${root}/etc/apache2/sites-enabled/prod"
var url            = "file://\${home}/www/index.html"
var draft          = "careful"
var crontab        = "\${root}/etc/crontab"
var crontab_user   = "root"
var python         = "python3"
var bzr            = "${bzr}"
var backups        = "${join(work, "backups")}"
host portal        = "${p}"
database appdb     = sqlite "\${appdir}/databases/storage.sqlite" on portal
${envBlock("dev", "first draft of the")}${envBlock("uat", "more detailed")}
env prod {
  protected
  confirm "Sign-off for this release has come from the release group"
}

include "lib/haiti-release.rb"
`;
}

const release = (env: Env, ...extra: string[]) =>
  cli(work).env({ HOME: h.home }).args("run", "haiti-hosts.rb", "--env", env, "--no-tui", ...extra);

async function withDb<T>(env: Env, fn: (db: DatabaseDriver) => Promise<T>): Promise<T> {
  if (env === "prod") {
    const db = openSqlite(prodDb(), { readonly: true });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }
  return fn(await dbs[env]!.open());
}

const TABLES = ["org_organisation", "pr_person", "rms_req"];
const counts = (env: Env) => withDb(env, async (db) => Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, Number((await db.query(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n)] as const))));
const columns = (env: Env, table: string) => withDb(env, async (db) => (await db.columns(table)).map((c) => c.name));
// The rows themselves (the columns every revision has that read back alike from SQLite and MariaDB).
const CONTENT = "SELECT 'org' AS t, id, name AS a, acronym AS b, type AS c FROM org_organisation UNION ALL SELECT 'person', id, first_name, last_name, email FROM pr_person UNION ALL SELECT 'req', id, message, location, NULL FROM rms_req";
const content = (env: Env) => withDb(env, async (db) => (await db.query(CONTENT)).map((r) => [r.t, r.id, r.a, r.b, r.c].map((v) => (v === null ? null : String(v))).join("|")).sort());
const orgs = (env: Env) => withDb(env, async (db) => (await db.query("SELECT name FROM org_organisation ORDER BY id")).map((r) => r.name));
const revno = (env: Env) => sh(bzr!, ["revno"], appdir(env)).trim();
const maintenanceLog = (env: Env) => (existsSync(join(home(env), "maintenance.log")) ? readFileSync(join(home(env), "maintenance.log"), "utf8") : "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The command lines of the processes under host i's sshd (its sessions' commands). */
const hostCommands = (i: number) =>
  h.sessions(i).flatMap((pid) => {
    try {
      return [readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")];
    } catch {
      return [];
    }
  });
const runIdOf = (r: { stdout: string }) => /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(r.stdout)?.[1];

/** An export restores: loaded into a fresh SQLite database with the release's tables, it gives back the rows. */
async function restoredCounts(file: string): Promise<Record<string, number>> {
  const scratch = mkdtempSync(join(work, "restore-"));
  mkdirSync(join(scratch, "applications/x/models"), { recursive: true });
  mkdirSync(join(scratch, "applications/x/databases"));
  cpSync(join(SANDBOX, "web2py.py"), join(scratch, "web2py.py"));
  // r547's tables: an export made after a rolled-back migration has its columns.
  cpSync(join(SANDBOX, "branch/r547/models/10_org.py"), join(scratch, "applications/x/models/10_org.py"));
  writeFileSync(join(scratch, "applications/x/models/00_db.py"), "migrate = True\ndb = DAL('sqlite://storage.sqlite', migrate=migrate)\n");
  sh("python3", ["web2py.py", "-S", "x", "-M", "-N"], scratch);
  const db = openSqlite(join(scratch, "applications/x/databases/storage.sqlite"));
  try {
    await importFile(db, file);
    return Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, Number((await db.query(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n)] as const)));
  } finally {
    await db.close();
  }
}

/** What every finished release leaves on an instance, whatever happened in between. */
async function expectRestored(env: Env): Promise<void> {
  // Crontab as it was (the web2py lines on again), edited by root only.
  expect(readFileSync(crontab(env), "utf8")).toBe(readFileSync(join(SANDBOX, "crontab"), "utf8"));
  expect(readFileSync(`${crontab(env)}.before-release`, "utf8")).toBe(readFileSync(join(SANDBOX, "crontab"), "utf8"));
  expect(statSync(`${crontab(env)}.before-release`).uid).toBe(0); // written as root, through sudo
  // Maintenance off: the site answers.
  expect(existsSync(join(home(env), "MAINTENANCE"))).toBe(false);
  expect(existsSync(join(home(env), "www/index.html"))).toBe(true);
  expect(readFileSync(join(appdir(env), "models/00_db.py"), "utf8")).toMatch(/^migrate = False$/m);
}

async function expectReleased(env: Env, r: CliResult): Promise<string> {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const runId = runIdOf(r)!;
  expect(r.stdout).toContain(`run ${runId} succeeded`);
  await expectRestored(env);
  expect(revno(env)).toBe("2");
  expect(await columns(env, "org_organisation")).toEqual(["id", "name", "acronym", "type", "website"]);
  expect(await columns(env, "rms_req")).toEqual(["id", "message", "location", "timestmp", "priority"]);
  const exported = join(work, "backups", `${env}-${runId}.csv`);
  expect(await restoredCounts(exported)).toEqual(await counts("prod"));
  return runId;
}

describe.runIf(sshd && hasBzr && tools && mariadb)("the Haiti release on three hosts (Prod SQLite, UAT and Dev MariaDB via their host)", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "rb-haiti-hosts-"));
    h = await startSshHosts(3, { sudo: true, sudoAs: "root" });
    remote = h.remoteDir;
    uid = Number(sh("id", ["-u", TEST_USER]));
    gid = Number(sh("id", ["-g", TEST_USER]));
    dbs.dev = await createTestDatabase("runbook_haiti_dev");
    dbs.uat = await createTestDatabase("runbook_haiti_uat");
    makeBranch();
    chownTree(branch());
    for (const env of ["prod", "uat", "dev"] as const) layOut(env);
    const prod = openSqlite(prodDb());
    await prod.execute(`INSERT INTO org_organisation (name, acronym, type) VALUES ('${ORGS[0]}', 'SSF', 1), ('${ORGS[1]}', 'CRH', 2), ('${ORGS[2]}', 'WFP', 3)`);
    await prod.execute("INSERT INTO pr_person (first_name, last_name, email) VALUES ('Fran', 'Boon', 'fran@example.org'), ('Praneeth', 'Bodduluri', 'lifeeth@example.org')");
    await prod.execute("INSERT INTO rms_req (message, location, timestmp) VALUES ('Water needed for 200 people', 'Port-au-Prince', '2010-01-20 10:00:00')");
    await prod.close();
    chownSync(prodDb(), uid, gid);
    for (const env of ["dev", "uat"] as const) {
      const db = await dbs[env]!.open();
      await db.execute(`INSERT INTO org_organisation (name, acronym, type) VALUES ('${env} organisation', 'X', 1)`);
    }
    mkdirSync(join(work, "lib"));
    cpSync(join(ROOT, "runbooks/lib/haiti-release.rb"), join(work, "lib/haiti-release.rb"));
    writeFileSync(join(work, "haiti-hosts.rb"), testRunbook());
  }, SLOW);
  afterAll(async () => {
    await h?.stop();
    for (const db of Object.values(dbs)) await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("checks clean", async () => {
    const r = await cli(work).args("check", join(work, "haiti-hosts.rb")).run();
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/haiti-hosts\.rb: ok\n/);
    expect(r.code).toBe(0);
  });

  it("the production runbook's revision is one brz takes (a revno; brz refuses r2 as it would r547)", async () => {
    const revision = /^param revision\s*=\s*"([^"]*)"/m.exec(readFileSync(join(ROOT, "runbooks/haiti-release.rb"), "utf8"))?.[1];
    expect(revision).toMatch(/^\d+$/);
    const probe = mkdtempSync(join(work, "brz-"));
    sh(bzr!, ["branch", "-q", "-r", "1", branch(), join(probe, "tree")]);
    expect(() => sh(bzr!, ["pull", "-q", "--overwrite", "-r", "r2", branch()], join(probe, "tree"))).toThrow(/Requested revision: 'r2' does not exist/);
    sh(bzr!, ["pull", "-q", "--overwrite", "-r", "2", branch()], join(probe, "tree"));
    expect(sh(bzr!, ["revno"], join(probe, "tree")).trim()).toBe("2");
  });

  it("releases Dev: synced from Prod, crontab off and on as root, maintenance, brz pull, migrated, frozen", async () => {
    expect(await orgs("dev")).toEqual(["dev organisation"]);
    const r = await release("dev", "--yes").run();
    await expectReleased("dev", r);
    expect(r.stdout).toMatch(/migrated: added column org_organisation\.website/);
    expect(await orgs("dev")).toEqual(ORGS);
    expect(await counts("dev")).toEqual(await counts("prod"));
    expect(await content("dev")).toEqual(await content("prod"));
    expect((await content("dev")).length).toBe(6);
    expect(maintenanceLog("dev")).toBe("on\noff\n");
    // Prod untouched.
    expect(await columns("prod", "org_organisation")).toEqual(["id", "name", "acronym", "type"]);
    expect(revno("prod")).toBe("1");
  }, SLOW);

  it("UAT drill: the migration fails half-way; the rollback restores data, branch, crontab and maintenance and says what it undid", async () => {
    const r = await release("uat", "--yes", "--set", "revision=3", "--on-failure", "rollback").run();
    expect(r.code).not.toBe(0);
    // The stand-in migrated the schema, then the broken model failed.
    expect(r.stdout).toMatch(/migrated: added column org_organisation\.website/);
    expect(r.stdout + r.stderr).toMatch(/broken model/);
    const summary = /rollback (complete|incomplete): [^\n]*/.exec(r.stdout)?.[0];
    expect(summary).toBeDefined();
    // The failed migration command may have changed the schema (it did: the columns stay): never called undone.
    expect(summary).toMatch(
      /^rollback incomplete: undone: pull-the-haiti-branch, export-database, maintenance-mode-on, disable-system-crontab; not undone: migrate-the-database \(failed part-way: on portal: action 2 of 2 \(\$ cd [^()]*\) failed: what it changed before failing is not known\); nothing to undo: sync-data-from-prod \(it has no undo: what it changed stays\)$/,
    );
    await expectRestored("uat");
    expect(revno("uat")).toBe("1");
    expect(existsSync(join(appdir("uat"), "models/20_broken.py"))).toBe(false);
    // The data as exported: Prod's, synced in before the export.
    expect(await orgs("uat")).toEqual(ORGS);
    expect(await counts("uat")).toEqual(await counts("prod"));
    expect(await content("uat")).toEqual(await content("prod"));
    expect(maintenanceLog("uat")).toBe("on\noff\noff\n");
    // What the failed command did to the schema stays (web2py never drops a
    // column; r540's models ignore them), and the summary does not claim it undone.
    expect(await columns("uat", "org_organisation")).toEqual(["id", "name", "acronym", "type", "website"]);
    expect(summary).not.toMatch(/(: |; )undone: [^;]*migrate-the-database/);
  }, SLOW);

  it("releases UAT after the drill (the testers told: manual answered by --yes)", async () => {
    const r = await release("uat", "--yes").run();
    expect(r.stdout).toMatch(/Tell the testers in the group that UAT is about to change to revision 2/);
    await expectReleased("uat", r);
    expect(await counts("uat")).toEqual(await counts("prod"));
    expect(await content("uat")).toEqual(await content("prod"));
  }, SLOW);

  it("releases Prod (protected: approvals by flag); killed with kill -9 during its export, resume finishes it with nothing done twice", async () => {
    const original = readFileSync(join(SANDBOX, "crontab"), "utf8");
    const approvals = ["--approve", "env", "--approve", "review-the-data-migration-plan"];
    writeFileSync(join(home("prod"), "HOLD"), "");
    const p = release("prod", ...approvals).spawn();
    await p.waitFor(/maintenance: holding/);
    // The export cannot finish while the test holds Prod's database: sqlite3's
    // .backup on the host waits for the lock (its busy timeout is 10 s).
    const lock = new Database(prodDb());
    let killed = false;
    try {
      lock.exec("BEGIN EXCLUSIVE");
      writeFileSync(join(home("prod"), "GO"), "");
      while (!hostCommands(INSTANCES.prod.host).some((c) => /(^|[ /])sqlite3 /.test(c))) {
        if (p.proc.exitCode !== null) break;
        await sleep(20);
      }
      if (p.proc.exitCode === null) {
        expect(p.stdout()).toMatch(/\[export-database\]/);
        p.kill("SIGKILL");
        killed = true;
      }
      await p.exited;
    } finally {
      lock.exec("ROLLBACK");
      lock.close();
    }
    expect(killed).toBe(true);
    const runId = runIdOf({ stdout: p.stdout() })!;
    expect(runId).toBeDefined();
    // Killed half-way: maintenance on, crontab off, nothing pulled yet.
    expect(maintenanceLog("prod")).toBe("on\n");
    expect(readFileSync(crontab("prod"), "utf8")).toMatch(/^#release-off# /m);
    expect(revno("prod")).toBe("1");
    rmSync(join(home("prod"), "HOLD"));
    rmSync(join(home("prod"), "GO"));

    const r = await cli(work).env({ HOME: h.home }).args("resume", runId, "--no-tui", "--yes", ...approvals, "--still-running", "wait").run();
    // The interrupted export runs again (it had not finished), and only what followed it.
    expect(r.stderr).toContain(`step export-database ('Export database') was interrupted: it was running when run ${runId} stopped`);
    expect(r.stdout).toMatch(/\[export-database\] local \| exported 3 tables, 6 rows/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${runId} succeeded`);
    // Nothing done twice: the crontab's copy is the original (a second "Disable
    // system crontab" would have copied the disabled one), maintenance on once.
    expect(readFileSync(`${crontab("prod")}.before-release`, "utf8")).toBe(original);
    expect(maintenanceLog("prod")).toBe("on\noff\n");
    expect(r.stdout).not.toMatch(/\[(disable-system-crontab|maintenance-mode-on|check-the-instance)\]/);
    expect((r.stdout.match(/migrated: added column org_organisation\.website/g) ?? []).length).toBe(1);
    await expectRestored("prod");
    expect(revno("prod")).toBe("2");
    expect(await columns("prod", "org_organisation")).toEqual(["id", "name", "acronym", "type", "website"]);
    expect(await restoredCounts(join(work, "backups", `prod-${runId}.csv`))).toEqual(await counts("prod"));
    expect(await orgs("prod")).toEqual(ORGS);
  }, SLOW);
});
