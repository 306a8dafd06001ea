// Preflight against real servers: OpenSSH sshd instances (tests/support/sshd.ts),
// a refused port, a name that does not resolve, a TCP listener that never speaks
// SSH, an unknown host key, sudo that wants a password, MariaDB with a wrong
// password, a missing secret. A real run whose preflight fails changes nothing;
// a dry run reaches each target once and says what it could not check.

import { existsSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Connections } from "../../runtime/connections.js";
import type { RunEvent } from "../../runtime/events.js";
import type { Plan } from "../../runtime/plan.js";
import { preflightTargets } from "../../runtime/preflight.js";
import { SecretStore } from "../../runtime/secrets.js";
import { cli } from "../support/cli.js";
import { createTestDatabase, MARIADB_HOST, MARIADB_PORT, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { requireSudo } from "../support/sudo.js";
import { planFrom, runPlan, tempDir, type RunOutcome } from "./helpers.js";

const reason = sshdUnavailableReason();
const sshd = requireServer("sshd", reason === null, reason ?? undefined);
/** The tests with a step `as` another user need sudo on the host (the harness's sudoers drop-in). */
const sudo = sshd && requireSudo("sudo (preflight of steps run as another user)");
const mariadb = await requireMariadb();

type PreflightTargetEvent = Extract<RunEvent, { type: "preflight-target" }>;
type VerdictEvent = Extract<RunEvent, { type: "dry-run-verdict" }>;

const targetsOf = (r: RunOutcome) => r.events.filter((e): e is PreflightTargetEvent => e.type === "preflight-target");
const verdictOf = (r: RunOutcome) => r.events.find((e): e is VerdictEvent => e.type === "dry-run-verdict");
const eventTypes = (r: RunOutcome) => r.events.map((e) => e.type);

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A TCP listener that accepts and never says anything; counts the connections it accepted. */
async function silentListener(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => sockets.length,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function run(plan: Plan, o: { cwd: string; env: NodeJS.ProcessEnv; dryRun?: boolean; probe?: boolean; connectTimeoutMs?: number; acceptNewHostKeys?: boolean }) {
  const secrets = new SecretStore(plan.secrets, { env: o.env, cwd: o.cwd });
  const connections = new Connections(plan, {
    secrets,
    env: o.env,
    cwd: o.cwd,
    readOnly: o.dryRun ?? false,
    acceptNewHostKeys: o.acceptNewHostKeys ?? false,
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
  });
  return runPlan(plan, {
    cwd: o.cwd,
    env: o.env,
    connections,
    dryRun: o.dryRun ?? false,
    probe: o.probe ?? true,
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
  });
}

describe.skipIf(!sshd)("preflight over SSH", () => {
  let h: SshTestHosts;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startSshHosts(2, { sudo });
    env = { PATH: process.env.PATH, HOME: h.home };
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it.runIf(sudo)("reaches every host once before the first step; a run where all answer goes on", async () => {
    const cwd = tempDir();
    const d = `${h.remoteDir}/pf-ok-${Date.now()}`;
    const plan = planFrom(`runbook "p" version "1.0.0"
host box = "${h.hosts[0]!.target}"
host pool = ["${h.hosts[0]!.alias}", "${h.hosts[1]!.alias}"]
step "Make" as make on box { run "mkdir -p ${d}" }
step "Each" as each on pool { run "touch ${d}/$(id -un)" }
step "As nobody" as as_nobody on box { run "id -un" as nobody }
`);
    const r = await run(plan, { cwd, env });
    expect(r.error ?? "").toBe("");
    expect(r.exitCode).toBe(0);
    const types = eventTypes(r);
    expect(types.indexOf("preflight-finished")).toBeLessThan(types.indexOf("step-started"));
    expect(targetsOf(r).map((t) => [t.kind, t.name, t.status])).toEqual(
      expect.arrayContaining([
        ["host", "box", "ok"],
        ["host", `${h.hosts[0]!.alias} (in pool)`, "ok"],
        ["host", `${h.hosts[1]!.alias} (in pool)`, "ok"],
        ["sudo", "nobody on box", "ok"],
      ]),
    );
    expect(targetsOf(r)).toHaveLength(4);
    expect(r.output.as_nobody).toBe("nobody\n");
  });

  it("a refused port: the real run changes nothing and names the host and the cause; exit 1", async () => {
    const cwd = tempDir();
    const port = await closedPort();
    const plan = planFrom(`runbook "p" version "1.0.0"
host down = "${h.user}@127.0.0.1:${port}"
step "Local" as local { run "touch touched" }
step "Remote" as remote on down { run "true" }
`);
    const r = await run(plan, { cwd, env });
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/^host down: cannot connect to down \(.*127\.0\.0\.1:\d+\): connection refused; nothing was run$/);
    expect(existsSync(join(cwd, "touched"))).toBe(false);
    expect(eventTypes(r)).not.toContain("step-started");
  });

  it("a group whose second host is down: the first is left unchanged, exit 1", async () => {
    const cwd = tempDir();
    const port = await closedPort();
    const marker = `${h.remoteDir}/pf-group-${Date.now()}`;
    const plan = planFrom(`runbook "p" version "1.0.0"
host pool = ["${h.hosts[0]!.alias}", "${h.user}@127.0.0.1:${port}"]
step "Each" as each on pool { run "touch ${marker}" }
`);
    const r = await run(plan, { cwd, env });
    expect(r.exitCode).toBe(1);
    expect(r.error).toContain(`host ${h.user}@127.0.0.1:${port} (in pool): cannot connect to`);
    expect(r.error).toContain("connection refused; nothing was run");
    expect(existsSync(marker)).toBe(false);
    expect(targetsOf(r).find((t) => t.name === `${h.hosts[0]!.alias} (in pool)`)?.status).toBe("ok");
  });

  it("an unresolvable name fails the preflight with the name that was not found", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "p" version "1.0.0"
host nowhere = "${h.user}@no-such-host.invalid"
step "Remote" as remote on nowhere { run "true" }
`);
    const r = await run(plan, { cwd, env, connectTimeoutMs: 5000 });
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/host nowhere: cannot connect to nowhere \(.*no-such-host\.invalid.*\): (host name no-such-host\.invalid not found|timed out after 5s); nothing was run/);
  });

  it("a silent TCP listener: one connect timeout for the whole dry run, every later probe fails at once with its reason", async () => {
    const cwd = tempDir();
    const silent = await silentListener();
    try {
      const probes = 6;
      const steps = Array.from({ length: probes }, (_, i) => `step "Probe ${i}" as p${i} on mute when succeeds "test -d /tmp" { run "true" }`).join("\n");
      const plan = planFrom(`runbook "p" version "1.0.0"\nhost mute = "${h.user}@127.0.0.1:${silent.port}"\n${steps}\n`);
      const t0 = Date.now();
      const r = await run(plan, { cwd, env, dryRun: true, connectTimeoutMs: 1000 });
      const took = Date.now() - t0;
      expect(silent.accepted()).toBe(1);
      // One timeout (1 s), not one per probe (6 s and more).
      expect(took).toBeLessThan(probes * 1000);
      expect(targetsOf(r)).toEqual([expect.objectContaining({ kind: "host", name: "mute", status: "failed", reason: expect.stringMatching(/timed out after 1s/) })]);
      const guards = r.events.filter((e) => e.type === "guard");
      expect(guards).toHaveLength(probes);
      for (const g of guards) expect(g).toMatchObject({ result: "unknown", reason: expect.stringMatching(/cannot be evaluated: cannot connect to mute .*timed out after 1s/) });
      expect(verdictOf(r)).toMatchObject({ verdict: "would-fail", failed: [expect.objectContaining({ what: "host mute" })] });
      expect(verdictOf(r)!.notVerified).toHaveLength(probes);
      expect(r.exitCode).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it("an unknown host key fails the preflight (and is recorded with --accept-new-host-keys)", async () => {
    const cwd = tempDir();
    const saved = await h.readKnownHosts();
    await h.writeKnownHosts("");
    try {
      const plan = planFrom(`runbook "p" version "1.0.0"\nhost box = "${h.hosts[1]!.target}"\nstep "Remote" as remote on box { run "true" }\n`);
      const refused = await run(plan, { cwd, env, dryRun: true });
      expect(refused.exitCode).toBe(1);
      expect(targetsOf(refused)[0]).toMatchObject({ status: "failed", reason: expect.stringMatching(/the host key of box .* is not known/) });
      expect(verdictOf(refused)?.verdict).toBe("would-fail");
      const accepted = await run(plan, { cwd, env, dryRun: true, acceptNewHostKeys: true });
      expect(targetsOf(accepted)[0]).toMatchObject({ status: "ok" });
      expect(accepted.exitCode).toBe(0);
    } finally {
      await h.writeKnownHosts(saved);
    }
  });

  it("an SQLite file on a host that a run only reads must exist there", async () => {
    const cwd = tempDir();
    const path = `${h.remoteDir}/pf-missing-${Date.now()}.db`;
    const plan = planFrom(`runbook "p" version "1.0.0"
host box = "${h.hosts[0]!.target}"
database app = sqlite "${path}" on box
step "Read" as read { export app to "out.csv" }
`);
    const r = await run(plan, { cwd, env, dryRun: true });
    expect(targetsOf(r).map((t) => [t.kind, t.name, t.status, t.reason])).toEqual([
      ["host", "box", "ok", undefined],
      ["database", "app", "failed", `SQLite database ${path} does not exist on box`],
    ]);
    expect(r.exitCode).toBe(1);
  });

  it.runIf(sudo)("sudo that wants a password fails the preflight of a step that runs `as` that user", async () => {
    const cwd = tempDir();
    const marker = `${h.remoteDir}/pf-sudo-${Date.now()}`;
    const plan = planFrom(`runbook "p" version "1.0.0"
host box = "${h.hosts[0]!.target}"
step "First" as first on box { run "touch ${marker}" }
step "Daemon" as daemon on box { run "id -un" as daemon }
`);
    // daemon: a user no sudoers drop-in of the tests grants (they grant nobody, and root for the three-host test).
    const r = await run(plan, { cwd, env });
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/^sudo daemon on box: sudo on box needs a password for runbooktest to run commands as daemon.*; nothing was run$/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe.runIf(mariadb)("preflight of databases", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("runbook_pf");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("a wrong database password fails the preflight; the password is never printed", async () => {
    const password = "Wr0ng-pa55word-xyzzy";
    const url = `mysql://root@${MARIADB_HOST}:${MARIADB_PORT}/${db.name}`;
    const src = `runbook "p" version "1.0.0"
secret pw = env "PF_DB_PASSWORD"
database app = mysql "${url}" password pw
step "Touch" as touch { run "touch touched" }
step "Count" as count { sql app "SELECT 1" }
`;
    for (const dry of [false, true]) {
      const r = await cli()
        .file("p.rb", src)
        .env({ PF_DB_PASSWORD: password })
        .args("run", "p.rb", "--no-tui", ...(dry ? ["--dry-run"] : []))
        .run();
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/database app: cannot connect to app: Access denied/);
      expect(r.stdout + r.stderr).not.toContain(password);
      expect(existsSync(join(r.dir, "touched"))).toBe(false);
      if (dry) expect(r.stdout).toMatch(/dry run: would fail: \d+ checked, 1 failed, 0 not verified \(steps: .*\)\n$/);
    }
  });

  it("the right database is reached and counted as checked", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "p" version "1.0.0"\ndatabase app = mysql "${db.url}"\nstep "Count" as count when query app "SELECT 1" == 1 { sql app "SELECT 1" }\n`);
    const r = await run(plan, { cwd, env: { PATH: process.env.PATH, HOME: cwd }, dryRun: true });
    expect(targetsOf(r)).toEqual([expect.objectContaining({ kind: "database", name: "app", status: "ok" })]);
    expect(verdictOf(r)).toMatchObject({ verdict: "would-run", checked: 2, failed: [], notVerified: [] });
    expect(r.exitCode).toBe(0);
  });
});

describe.runIf(sshd && mariadb)("preflight of a database reached through `via`", () => {
  let h: SshTestHosts;
  let db: TestDatabase;
  beforeAll(async () => {
    h = await startSshHosts(1);
    db = await createTestDatabase("runbook_pfvia");
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await db?.drop();
  });

  it("reaches the database through its host; when the host is down, the database is not tried and fails at once", async () => {
    const cwd = tempDir();
    const env = { PATH: process.env.PATH, HOME: h.home };
    const url = `mysql://root@127.0.0.1:${MARIADB_PORT}/${db.name}`;
    const src = (target: string) => `runbook "p" version "1.0.0"
host jump = "${target}"
database app = mysql "${url}" via jump
step "Check" as check when query app "SELECT 1" == 1 { sql app "SELECT 1" }
`;
    const ok = await run(planFrom(src(h.hosts[0]!.target)), { cwd, env, dryRun: true });
    expect(targetsOf(ok).map((t) => [t.kind, t.name, t.status])).toEqual([
      ["host", "jump", "ok"],
      ["database", "app", "ok"],
    ]);
    expect(ok.exitCode).toBe(0);

    const port = await closedPort();
    const down = await run(planFrom(src(`${h.user}@127.0.0.1:${port}`)), { cwd, env, dryRun: true });
    expect(targetsOf(down)).toEqual([
      expect.objectContaining({ kind: "host", name: "jump", status: "failed", reason: expect.stringMatching(/connection refused/) }),
      expect.objectContaining({ kind: "database", name: "app", status: "not-checked", reason: "not tried: host jump cannot be used" }),
    ]);
    expect(down.events.find((e) => e.type === "guard")).toMatchObject({ result: "unknown", reason: expect.stringMatching(/not tried: host jump cannot be used: cannot connect to jump .*connection refused/) });
    expect(verdictOf(down)?.verdict).toBe("would-fail");
    expect(down.exitCode).toBe(1);
  });
});

describe("preflight of secrets and local files", () => {
  it("a missing secret: a real run changes nothing and names it; a dry run would fail", async () => {
    const src = `runbook "p" version "1.0.0"\nsecret tok = env "PF_UNSET_TOKEN"\nstep "A" as a { run "touch a" }\nstep "B" as b { run "echo \${tok}" }\n`;
    const real = await cli().file("p.rb", src).args("run", "p.rb", "--no-tui").run();
    expect(real.code).toBe(1);
    expect(real.stderr).toMatch(/secret tok is not set: environment variable PF_UNSET_TOKEN is not set; nothing was run/);
    expect(existsSync(join(real.dir, "a"))).toBe(false);
    const dry = await cli().file("p.rb", src).args("run", "p.rb", "--no-tui", "--dry-run").run();
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain("preflight: secret tok failed: secret tok is not set: environment variable PF_UNSET_TOKEN is not set");
    // Step B, reached, fails as the run would there (the preflight's failed target: at once, with its reason).
    expect(dry.stdout).toContain("[b] failed: secret tok is not set: environment variable PF_UNSET_TOKEN is not set");
    expect(dry.stdout).toMatch(/dry run: would fail: 0 checked, 2 failed, 0 not verified \(steps: 1 ok, 1 failed\)\n$/);
  });

  it("every failing target is named at once", async () => {
    const src = `runbook "p" version "1.0.0"
secret tok = env "PF_UNSET_TOKEN"
secret key = file "no-such-key"
step "A" as a {
  upload "missing.tar" to "/tmp/x"
  run "echo \${tok} \${key}"
}
`;
    const r = await cli().file("p.rb", src).args("run", "p.rb", "--no-tui").run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("preflight: 3 of 3 targets cannot be used; nothing was run:");
    expect(r.stderr).toContain("secret tok is not set: environment variable PF_UNSET_TOKEN is not set");
    expect(r.stderr).toMatch(/secret key is not set: file no-such-key .*does not exist/);
    expect(r.stderr).toContain("file missing.tar: no such file\n");
  });

  it("a file an earlier step writes is unknown until that step runs: counted apart, not a failure", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "p" version "1.0.0"\nstep "Make" as make { run "echo x > made.txt" }\nstep "Send" as send { upload "made.txt" to "copy.txt" }\n`);
    const r = await run(plan, { cwd, env: { PATH: process.env.PATH, HOME: cwd }, dryRun: true });
    expect(targetsOf(r)).toEqual([expect.objectContaining({ kind: "file", name: "made.txt", status: "deferred", reason: "made.txt does not exist yet: unknown until step make runs" })]);
    expect(verdictOf(r)).toMatchObject({ verdict: "would-run", failed: [], notVerified: [] });
    expect(verdictOf(r)!.pending.length).toBeGreaterThan(0);
    expect(r.exitCode).toBe(0);
  });

  it("targets of a step that a static `when` rules out are not reached", async () => {
    const cwd = tempDir();
    const port = await closedPort();
    const plan = planFrom(`runbook "p" version "1.0.0"
env dev {}
env prod {}
host far = "nobody@127.0.0.1:${port}"
secret tok = env "PF_UNSET_TOKEN"
step "Prod only" as prod on far when env == "prod" { run "echo \${tok}" }
step "Local" as local { run "touch ran" }
`, { env: "dev" });
    const r = await run(plan, { cwd, env: { PATH: process.env.PATH, HOME: cwd } });
    expect(r.exitCode).toBe(0);
    expect(targetsOf(r)).toEqual([]);
    expect(existsSync(join(cwd, "ran"))).toBe(true);
  });

  it("a readable local file is checked", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "here.txt"), "x");
    const plan = planFrom(`runbook "p" version "1.0.0"\nstep "Send" as send { upload "here.txt" to "copy.txt" }\n`);
    const r = await run(plan, { cwd, env: { PATH: process.env.PATH, HOME: cwd }, dryRun: true });
    expect(targetsOf(r)).toEqual([expect.objectContaining({ kind: "file", status: "ok" })]);
    expect(r.exitCode).toBe(0);
  });
});

describe("--connect-timeout", () => {
  it("bounds the preflight of a host that never answers (a real run: nothing runs, exit 1)", async () => {
    const silent = await silentListener();
    try {
      const src = `runbook "p" version "1.0.0"\nhost mute = "nobody@127.0.0.1:${silent.port}"\nstep "Local" as local { run "touch touched" }\nstep "Remote" as remote on mute { run "true" }\n`;
      const r = await cli().file("p.rb", src).args("run", "p.rb", "--no-tui", "--connect-timeout", "1s").run();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/host mute: cannot connect to mute \(nobody@127\.0\.0\.1:\d+\): timed out after 1s; nothing was run/);
      expect(r.stdout).toMatch(/preflight: host mute failed: .*timed out after 1s/);
      expect(existsSync(join(r.dir, "touched"))).toBe(false);
      expect(silent.accepted()).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it.each(["nope", "0s", "-1s", ""])("rejects %j as a usage error (exit 2)", async (value) => {
    const r = await cli().file("p.rb", `runbook "p" version "1.0.0"\nstep "A" as a { run "true" }\n`).args("run", "p.rb", "--no-tui", "--connect-timeout", value).run();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("expected a duration such as 10s or 500ms");
  });
});

describe("Ctrl-C during the preflight", () => {
  it("ends the run before its first step (exit 3), the target not checked", async () => {
    const silent = await silentListener();
    try {
      const cwd = tempDir();
      const plan = planFrom(`runbook "p" version "1.0.0"\nhost mute = "nobody@127.0.0.1:${silent.port}"\nstep "Local" as local { run "touch touched" }\nstep "Remote" as remote on mute { run "true" }\n`);
      const controller = new AbortController();
      const env = { PATH: process.env.PATH, HOME: cwd };
      const secrets = new SecretStore(plan.secrets, { env, cwd });
      const connections = new Connections(plan, { secrets, env, cwd, connectTimeoutMs: 60_000 });
      const r = await runPlan(plan, {
        cwd,
        env,
        connections,
        connectTimeoutMs: 60_000,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === "preflight-started") setTimeout(() => controller.abort(), 200);
        },
      });
      expect(r).toMatchObject({ status: "interrupted", exitCode: 3, error: "interrupted during the preflight, before the first step" });
      expect(targetsOf(r)).toEqual([expect.objectContaining({ name: "mute", status: "not-checked", reason: "not tried: interrupted" })]);
      expect(eventTypes(r)).not.toContain("step-started");
      expect(existsSync(join(cwd, "touched"))).toBe(false);
    } finally {
      await silent.close();
    }
  });
});

describe("preflight of SQLite files", () => {
  it.each([
    { name: "a file that is only read and does not exist fails", steps: `step "Read" as read when query app "SELECT 1" == 1 { note "x" }`, status: "failed", reason: "SQLite database CWD/data/app.db does not exist", code: 1 },
    { name: "a file a step of the run writes is checked when needed", steps: `step "Write" as write { sql app "CREATE TABLE t (x INTEGER)" }`, status: "deferred", reason: "data/app.db does not exist yet: unknown until step write runs", code: 0 },
  ])("$name", async ({ steps, status, reason, code }) => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "p" version "1.0.0"\ndatabase app = sqlite "data/app.db"\n${steps}\n`);
    const r = await run(plan, { cwd, env: { PATH: process.env.PATH, HOME: cwd }, dryRun: true });
    expect(targetsOf(r)).toEqual([expect.objectContaining({ kind: "database", name: "app", status, reason: reason.replace("CWD", cwd) })]);
    expect(r.exitCode).toBe(code);
    expect(existsSync(join(cwd, "data/app.db"))).toBe(false);
  });
});

describe("what preflight reaches (from the plan alone)", () => {
  const src = `runbook "p" version "1.0.0"
env dev {
  host web = ["a@w1", "a@w2"]
  database app = mysql "mysql://u@db.internal/app" password pw via jump
}
env prod {}
host web = "a@prod-web"
host jump = "a@jump"
host other = "a@other"
host unused = "a@unused"
secret pw = env "PW"
secret tok = env "TOK"
database app = sqlite "app.db"
database local = sqlite "local.db"
step "Deploy" as deploy on web when exists "/srv/ready" on other {
  run "restart" as root
  upload "build.tgz" to "/tmp/build.tgz"
  undo { run "rollback \${tok}" as deploy }
}
step "Migrate" as migrate { sql app "SELECT 1" }
step "Prod only" as prod_only on unused when env == "prod" { import local from "dump.sql" }
`;
  it("lists each host member, sudo user, database (with what it needs), secret and file; nothing of a step a static when rules out", () => {
    const plan = planFrom(src, { env: "dev" });
    const targets = preflightTargets(plan, plan.steps, "/work");
    expect(targets.map((t) => [t.id, t.name, t.needs, t.usedBy])).toEqual([
      ["host:web#0", "a@w1 (in web)", [], ["deploy"]],
      ["host:web#1", "a@w2 (in web)", [], ["deploy"]],
      ["host:other", "other", [], ["deploy"]],
      ["host:jump", "jump", [], ["migrate"]],
      ["sudo:host:web#0:root", "root on a@w1 (in web)", ["host:web#0"], ["deploy"]],
      ["sudo:host:web#1:root", "root on a@w2 (in web)", ["host:web#1"], ["deploy"]],
      ["sudo:host:web#0:deploy", "deploy on a@w1 (in web)", ["host:web#0"], ["deploy"]],
      ["sudo:host:web#1:deploy", "deploy on a@w2 (in web)", ["host:web#1"], ["deploy"]],
      ["db:app", "app", ["host:jump", "secret:pw"], ["migrate"]],
      ["secret:tok", "tok", [], ["deploy"]],
      ["secret:pw", "pw", [], ["migrate"]],
      ["file:/work/build.tgz", "build.tgz", [], ["deploy"]],
    ]);
  });

  it("steps not selected touch nothing", () => {
    const plan = planFrom(src, { env: "dev" });
    expect(preflightTargets(plan, plan.steps.filter((s) => s.id === "migrate"), "/work").map((t) => t.id)).toEqual(["host:jump", "db:app", "secret:pw"]);
  });
});
