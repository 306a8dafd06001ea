// A run whose journal stops recording, end to end through `runbook run`: the
// SQLite file deleted, its directory removed, a full file system (a 1 MiB tmpfs:
// the tests run as root, so taking write permission away would not stop a write),
// the run's lock cleared by another process, and a mysql:// journal whose
// connection is killed with KILL (coming back, and not). Each time the run stops
// before its next step, says why, and does not exit 0 — except when the journal
// loses nothing (a killed connection that reconnects), where it goes on.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openJournal } from "../../runtime/journal/index.js";
import { cli, type CliBuilder } from "../support/cli.js";
import { canMountTmpfs, withTmpfs } from "../support/tmpfs.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";

/** Three steps; the first runs until the test writes `go`, after it has done its damage. */
const source = (name: string) => `runbook "${name}" version "1.0.0"
step "One" as one { run "echo one >> log.txt; touch started; while [ ! -f go ]; do sleep 0.05; done" }
step "Two" as two { run "echo two >> log.txt" }
step "Three" as three { run "echo three >> log.txt" }
`;

async function until(what: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); ) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs j.rb in-process; `damage` runs while step one is going, then step one ends. */
async function runWith(c: CliBuilder, damage: () => void | Promise<void>, ...extra: string[]) {
  const running = c.args("run", "j.rb", "--no-tui", ...extra).run();
  try {
    await until(() => existsSync(join(c.dir, "started")));
    await damage();
  } finally {
    writeFileSync(join(c.dir, "go"), "");
  }
  return running;
}

const src = source("j");
const runIdOf = (stdout: string) => /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(stdout)![1]!;
const log = (c: CliBuilder) => readFileSync(join(c.dir, "log.txt"), "utf8");

describe("a SQLite journal that stops recording during a run", () => {
  it.each([
    ["the journal file deleted", (c: CliBuilder) => rmSync(c.journalPath)],
    [
      "the journal's directory removed",
      (c: CliBuilder) => rmSync(join(c.dir, "state"), { recursive: true }),
      join("state", "journal.db"),
    ],
    [
      "another file moved over the journal",
      (c: CliBuilder) => {
        writeFileSync(`${c.journalPath}.new`, "");
        spawnSync("mv", [`${c.journalPath}.new`, c.journalPath]);
      },
    ],
  ] as const)("%s: stops before step two, says why and that it cannot be resumed from it, exit 1", async (_what, damage, state?: string) => {
    const c = cli().file("j.rb", src);
    if (state) c.env({ RUNBOOK_STATE: join(c.dir, state) });
    const journalPath = state ? join(c.dir, state) : c.journalPath;
    const r = await runWith(c, () => damage(c));
    expect(r.code).toBe(1);
    expect(log(c)).toBe("one\n");
    expect(r.stderr).toMatch(new RegExp(`the journal file ${journalPath.replace(/[.]/g, "\\.")} (is gone|was replaced)`));
    expect(r.stderr).toMatch(/stopped before step two; nothing more runs unrecorded, and this run cannot be resumed from that journal/);
    expect(r.stderr).not.toMatch(/resume it with/);
    expect(r.stdout).not.toMatch(/succeeded/);
  });

  it.each([
    ["the journal file deleted (its -wal left behind)", (c: CliBuilder) => rmSync(c.journalPath), "journal.db"],
    ["the journal's directory removed", (c: CliBuilder) => rmSync(join(c.dir, "state"), { recursive: true }), join("state", "journal.db")],
  ] as const)(
    "%s: a second run does not start next to the first (exit 4), which stops before step two",
    async (_what, damage, state) => {
      const c = cli().file("j.rb", src);
      const journalPath = join(c.dir, state);
      c.env({ RUNBOOK_STATE: journalPath });
      const first = c.args("run", "j.rb", "--no-tui").spawn();
      let second;
      try {
        await until(() => existsSync(join(c.dir, "started")), 240_000);
        damage(c);
        second = await cli(c.dir).env({ RUNBOOK_STATE: journalPath }).args("run", "j.rb", "--no-tui").run();
      } finally {
        // Whatever happened, the first run's step ends (never left running after the test).
        writeFileSync(join(c.dir, "go"), "");
      }
      expect(second.stderr).toContain(`another runbook process (pid ${first.proc.pid}) still writes to a journal that was at ${journalPath} and was deleted or replaced`);
      expect(second.code).toBe(4);
      const r = await first.exited;
      expect(r.code).toBe(1);
      // Gone, or replaced by the file the second run made there: either way it stops.
      expect(r.stderr).toMatch(/the journal file .* (is gone|was replaced) .*; stopped before step two/);
      expect(log(c)).toBe("one\n");
    },
    300_000,
  );

  it("a run cleared from its lock by `unlock --force` elsewhere stops before step two (exit 1) and stays resumable", async () => {
    const c = cli().file("j.rb", src);
    const r = await runWith(c, async () => {
      const u = await cli(c.dir).args("unlock", "j.rb", "--env", "default", "--force").run();
      expect(u.code).toBe(0);
    });
    expect(r.code).toBe(1);
    expect(log(c)).toBe("one\n");
    expect(r.stderr).toMatch(/the run's lock in the journal .* is gone: it was cleared .*; stopped before step two; nothing more runs unrecorded: fix the journal, then resume the run/);
    const runId = runIdOf(r.stdout);
    expect(r.stderr).toContain(`resume it with \`runbook resume ${runId}\``);
    // It resumes where it stopped: two and three run once.
    const resumed = await cli(c.dir).args("resume", runId, "--no-tui").run();
    expect(resumed.stderr).toMatch(/resuming run \S+ at step two/);
    expect(resumed.code).toBe(0);
    expect(log(c)).toBe("one\ntwo\nthree\n");
  });

  it("a journal that fails during the last step: the run is not reported as succeeded (exit 1)", async () => {
    const one = `runbook "j1" version "1.0.0"
step "One" as one { run "echo one >> log.txt; touch started; while [ ! -f go ]; do sleep 0.05; done" }
`;
    const c = cli().file("j.rb", one);
    const r = await runWith(c, async () => {
      expect((await cli(c.dir).args("unlock", "j.rb", "--env", "default", "--force").run()).code).toBe(0);
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the run's lock in the journal .* is gone: .*; the steps ended, but the run is not reported as succeeded/);
    expect(r.stdout).toMatch(/run \S+ failed in /);
    expect(r.stdout).not.toMatch(/run \S+ succeeded/);
  });

  // A full file system: a 1 MiB tmpfs (tests/support/tmpfs.ts), filled by the test while step one runs.
  const mounted = canMountTmpfs("the full-file-system run test");

  it.runIf(mounted)("a full file system: stops before step two (exit 1); once there is room, resume takes step one's recorded end and runs two and three once", async () => {
    const tiny = join(cli().dir, "tiny");
    await withTmpfs(tiny, "1m", () => fullFileSystem(tiny));
  });
});

/** Step one fills the tmpfs at `tiny` that holds the journal; then the file system gets room again. */
async function fullFileSystem(tiny: string): Promise<void> {
  const state = join(tiny, "journal.db");
  const c = cli().file("j.rb", src).env({ RUNBOOK_STATE: state });
  const filler = join(tiny, "filler");
  const r = await runWith(c, () => {
    try {
      writeFileSync(filler, Buffer.alloc(1024 * 1024));
    } catch {
      /* ENOSPC: full, as wanted */
    }
  });
  expect(r.code).toBe(1);
  expect(log(c)).toBe("one\n");
  expect(r.stderr).toMatch(/could not write to the journal .*journal\.db: database or disk is full/);
  expect(r.stderr).toMatch(/nothing more runs unrecorded: fix the journal, then resume the run/);
  const runId = runIdOf(r.stdout);

  rmSync(filler);
  const shown = await cli(c.dir).env({ RUNBOOK_STATE: state }).args("show", runId).run();
  expect(shown.code).toBe(0);
  // The journal missed step one's end, but its supervisor recorded it (one line appended
  // to the start file, in the room that file already has): resume takes the outcome
  // from there and does not run it again.
  const resumed = await cli(c.dir).env({ RUNBOOK_STATE: state }).args("resume", runId, "--no-tui", "--yes").run();
  expect(resumed.stdout + resumed.stderr).toMatch(/its command ran to its end before the run stopped \(exit status 0\): not run again/);
  expect(resumed.code).toBe(0);
  writeFileSync(join(c.dir, "go"), "");
  expect(log(c)).toBe("one\ntwo\nthree\n");
}

const mariadb = await requireMariadb();

describe.runIf(mariadb)("a mysql:// journal whose connection is killed (KILL)", () => {
  let db: TestDatabase;
  const user = `rbj_${process.pid}`;
  afterAll(async () => {
    if (!db) return;
    const admin = await db.open();
    await admin.execute(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`).catch(() => undefined);
    await admin.close();
    await db.drop();
  });

  async function setup() {
    db ??= await createTestDatabase("runbook_runjournal");
    const admin = await db.open();
    await admin.execute(`CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY 'pw'`);
    await admin.execute(`GRANT ALL ON \`${db.name}\`.* TO '${user}'@'127.0.0.1'`);
    const url = `mysql://${user}:pw@127.0.0.1:3306/${db.name}`;
    // The schema once, before any run.
    await (await openJournal(url)).close();
    return { admin, url };
  }

  /** KILLs every connection of the journal's user. */
  async function killJournalConnections(admin: Awaited<ReturnType<TestDatabase["open"]>>): Promise<number> {
    const rows = await admin.query("SELECT id FROM information_schema.processlist WHERE user = ?", [user]);
    for (const row of rows) await admin.execute(`KILL CONNECTION ${Number(row.id)}`);
    return rows.length;
  }

  it("and cannot come back (the account locked): stops before step two, exit 1, names the journal (password masked)", async () => {
    const { admin, url } = await setup();
    const c = cli().file("j.rb", source("j-locked-out")).env({ RUNBOOK_STATE: url });
    const r = await runWith(c, async () => {
      await admin.execute(`ALTER USER '${user}'@'127.0.0.1' ACCOUNT LOCK`);
      expect(await killJournalConnections(admin)).toBeGreaterThan(0);
    });
    await admin.execute(`ALTER USER '${user}'@'127.0.0.1' ACCOUNT UNLOCK`);
    await admin.close();
    expect(r.code).toBe(1);
    expect(log(c)).toBe("one\n");
    expect(r.stderr).toMatch(new RegExp(`(could not write to|cannot reach) the journal mysql://${user}:\\*\\*\\*@127\\.0\\.0\\.1:3306/${db.name}`));
    expect(r.stderr).toMatch(/stopped before step two/);
    expect(r.stderr).not.toContain(":pw@");
    // The journal has the run as stopped in step one, and resume goes on from there.
    const runId = runIdOf(r.stdout);
    const resumed = await cli(c.dir).env({ RUNBOOK_STATE: url }).args("resume", runId, "--no-tui", "--yes").run();
    writeFileSync(join(c.dir, "go"), "");
    expect(resumed.code).toBe(0);
    expect(log(c)).toMatch(/^one\n(one\n)?two\nthree\n$/);
  });

  it("and comes back at once: nothing is lost, so the run goes on and the journal has every step", async () => {
    const { admin, url } = await setup();
    const c = cli().file("j.rb", source("j-back")).env({ RUNBOOK_STATE: url });
    const r = await runWith(c, async () => {
      // While idle: once step one's command is in the journal, nothing is being written.
      for (let i = 0; i < 500; i++) {
        const [row] = await admin.query("SELECT COUNT(*) AS n FROM step_commands c JOIN runs r ON r.id = c.run_id WHERE r.runbook = 'j-back' AND c.step_id = 'one' AND r.status = 'running'");
        if (Number(row!.n) > 0) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(await killJournalConnections(admin)).toBeGreaterThan(0);
    });
    await admin.close();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(log(c)).toBe("one\ntwo\nthree\n");
    const j = await openJournal(url);
    try {
      const runId = runIdOf(r.stdout);
      expect((await j.getRun(runId))?.status).toBe("succeeded");
      expect((await j.getSteps(runId)).map((s) => `${s.stepId}:${s.status}`)).toEqual(["one:ok", "two:ok", "three:ok"]);
    } finally {
      await j.close();
    }
  });
});
