// The README's main job end to end: `runbook run runbooks/haiti-sandbox.rb --yes`
// (the CLI from source, in a copy of the repository's runbooks/) lays out the
// seed's world under a sandbox folder and runs the Haiti release on its Dev
// instance; afterwards the release really happened there (data synced from the
// sandbox's Prod, schema migrated, schema frozen again, maintenance off, crontab
// restored, export written), and a second run works as well as the first.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { cli, type CliResult } from "../support/cli.js";
import { requireServer } from "../support/sshd.js";
import { onPath } from "../support/sudo.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN_JOB = "npx runbook run runbooks/haiti-sandbox.rb --yes";

// The sandbox's stand-in for web2py is a Python 3 script; its site check uses curl.
const missing = ["python3", "curl"].filter((p) => !onPath(p));
const tools = requireServer("python3 and curl (the Haiti sandbox)", missing.length === 0, `${missing.join(" and ")} not installed (apt-get install ${missing.join(" ")})`);

let work: string;
let sandbox: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rb-sandbox-"));
  cpSync(join(ROOT, "runbooks"), join(work, "runbooks"), { recursive: true });
  sandbox = join(work, "world");
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The README's main job, with the sandbox in this test's folder. */
function mainJob(...extra: string[]): Promise<CliResult> {
  const args = MAIN_JOB.split(" ").slice(2); // after `npx runbook`
  return cli(work).args(...args, "--no-tui", "--set", `sandbox=${sandbox}`, ...extra).run();
}

const dev = () => join(sandbox, "home/haiti-dev");
const devApp = () => join(dev(), "web2py/applications/dev");
const prodDb = () => join(sandbox, "home/haiti/web2py/applications/prod/databases/storage.sqlite");

async function read<T>(path: string, fn: (db: ReturnType<typeof openSqlite>) => Promise<T>): Promise<T> {
  const db = openSqlite(path, { readonly: true });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const columns = (path: string, table: string) => read(path, async (db) => (await db.columns(table)).map((c) => c.name));
const names = (path: string) => read(path, async (db) => (await db.query("SELECT name FROM org_organisation ORDER BY id")).map((r) => r.name));

async function expectReleased(r: CliResult): Promise<string> {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const runId = /run (\S+) succeeded/.exec(r.stdout)?.[1];
  expect(runId).toBeDefined();
  // Synced from the sandbox's Prod: Dev's own row is gone, Prod's are there.
  expect(await names(join(devApp(), "databases/storage.sqlite"))).toEqual(["Sahana Software Foundation", "Haiti Red Cross", "World Food Programme"]);
  // Migrated to r547 on Dev (new columns), and Prod untouched.
  expect(readFileSync(join(devApp(), ".bzr/revno"), "utf8").trim()).toBe("547");
  expect(await columns(join(devApp(), "databases/storage.sqlite"), "org_organisation")).toEqual(["id", "name", "acronym", "type", "website"]);
  expect(await columns(join(devApp(), "databases/storage.sqlite"), "rms_req")).toEqual(["id", "message", "location", "timestmp", "priority"]);
  expect(await columns(prodDb(), "org_organisation")).toEqual(["id", "name", "acronym", "type"]);
  // The schema frozen again.
  expect(readFileSync(join(devApp(), "models/00_db.py"), "utf8")).toMatch(/^migrate = False$/m);
  // Maintenance off: the site answers.
  expect(existsSync(join(dev(), "MAINTENANCE"))).toBe(false);
  expect(existsSync(join(dev(), "www/index.html"))).toBe(true);
  // The crontab as it was, its web2py lines enabled.
  expect(readFileSync(join(sandbox, "etc/crontab"), "utf8")).toBe(readFileSync(join(ROOT, "runbooks/sandbox/crontab"), "utf8"));
  expect(readFileSync(join(sandbox, "etc/crontab.before-release"), "utf8")).toBe(readFileSync(join(ROOT, "runbooks/sandbox/crontab"), "utf8"));
  // The export of Dev's data before the migration, in web2py's format.
  const exported = readFileSync(join(sandbox, `backups/dev-${runId}.csv`), "utf8");
  expect(exported).toMatch(/^TABLE org_organisation\r\norg_organisation\.id,org_organisation\.name,org_organisation\.acronym,org_organisation\.type\r\n/);
  expect(exported).toContain("Haiti Red Cross");
  expect(exported.endsWith("END")).toBe(true);
  return runId!;
}

describe.runIf(tools)("the Haiti sandbox (the README's main job)", () => {
  it("is the README's main job, in its first 40 lines", () => {
    const head = readFileSync(join(ROOT, "README.md"), "utf8").split("\n").slice(0, 40).join("\n");
    expect(head).toContain(MAIN_JOB);
  });

  it("lays out the world and releases Dev in it", async () => {
    const r = await mainJob();
    await expectReleased(r);
    expect(r.stdout).toMatch(/migrated: added column org_organisation\.website/);
    expect(r.stdout).toMatch(/steps: 13 ok, 2 skipped\n$/);
  }, 120_000);

  it("runs again: a fresh world, the release again, a second export", async () => {
    const r = await mainJob();
    const runId = await expectReleased(r);
    expect(r.stdout).toMatch(/migrated: added column org_organisation\.website/);
    expect(readdirSync(join(sandbox, "backups")).filter((f) => f.startsWith("dev-"))).toHaveLength(2);
    expect(readdirSync(join(sandbox, "backups"))).toContain(`dev-${runId}.csv`);
  }, 120_000);

  it("a dry run of the released world would run, and changes nothing", async () => {
    const before = readFileSync(join(sandbox, "etc/crontab"), "utf8");
    const r = await mainJob("--dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\ndry run: would run: \d+ checked, 0 failed, 0 not verified/);
    expect(readFileSync(join(sandbox, "etc/crontab"), "utf8")).toBe(before);
    expect(readdirSync(join(sandbox, "backups"))).toHaveLength(2);
  }, 120_000);

  it("never reaches a host: every step runs here and the preflight reaches no host", async () => {
    const r = await mainJob("--dry-run", "--json");
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; kind?: string; status?: string });
    const targets = events.filter((e) => e.type === "preflight-target");
    expect(targets.map((t) => t.kind)).toContain("database");
    expect(targets.filter((t) => t.kind === "host")).toEqual([]);
    expect(events.filter((e) => e.type === "step-started").length).toBe(13);
    expect(r.stdout).not.toContain("sahanapy.org");
  }, 120_000);
});
