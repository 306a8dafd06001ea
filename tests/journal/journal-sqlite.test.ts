// The SQLite journal: the shared contract on a temp file, plus what only a local
// file has — the schema created from an empty file and versioned, WAL mode, a
// clear error for a file that is not a journal, a writer killed with SIGKILL at
// random instants leaving a consistent, readable database, and the default
// location.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readSync, closeSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { inspectSqliteJournal } from "../../runtime/journal/stores/sqlite.js";
import { defaultStateLocation, openJournal, resolveStateLocation } from "../../runtime/journal/index.js";
import { journalContract } from "./contract.js";
import { JournalError } from "../../runtime/journal-errors.js";
import { canMountTmpfs, withTmpfs } from "../support/tmpfs.js";
import { completeRun, makePlan, stepEvents, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const dbFile = path.join(tmp.dir, "contract", "journal.db");

describe("SQLite journal", () => {
  journalContract((identity) => openJournal(dbFile, { identity }), { bulkSteps: 1000 });
});

describe("SQLite schema", () => {
  it("creates the schema in an empty file, in WAL mode, at the current version", async () => {
    const file = path.join(tmp.dir, "empty.db");
    writeFileSync(file, "");
    const j = await openJournal(file);
    expect(j.kind).toBe("sqlite");
    expect(j.location).toBe(file);
    await j.close();
    const info = inspectSqliteJournal(file);
    expect(info.integrity).toEqual(["ok"]);
    expect(info.userVersion).toBe(4);
    expect(info.journalMode).toBe("wal");
    expect(info.tables).toEqual(["approvals", "confirmations", "locks", "notes", "rollbacks", "runs", "step_commands", "step_hosts", "step_values", "steps"]);
  });

  it("keeps the data when opened again (no migration reruns)", async () => {
    const file = path.join(tmp.dir, "reopen.db");
    const j = await openJournal(file);
    await completeRun(j, "keep-1", makePlan({ runbook: "keep" }));
    await j.close();
    const again = await openJournal(file);
    expect((await again.getRun("keep-1"))?.status).toBe("succeeded");
    await again.close();
  });

  it("refuses a journal written by a newer runbook", async () => {
    const file = path.join(tmp.dir, "newer.db");
    await (await openJournal(file)).close();
    // user_version lives at byte 60 of the header (big-endian).
    const fd = openSync(file, "r+");
    const header = Buffer.alloc(4);
    readSync(fd, header, 0, 4, 60);
    expect(header.readUInt32BE(0)).toBe(4);
    header.writeUInt32BE(99, 0);
    writeSync(fd, header, 0, 4, 60);
    closeSync(fd);
    await expect(openJournal(file)).rejects.toThrow(/schema version 99, newer than this runbook understands \(4\); upgrade runbook/);
  });

  it("says clearly when the file is not a journal", async () => {
    const file = path.join(tmp.dir, "not-a-db.db");
    writeFileSync(file, "this is not a database, it is a text file that is long enough to have a header ".repeat(20));
    await expect(openJournal(file)).rejects.toThrow(`cannot open the journal ${file}: file is not a database`);
  });

  it("creates missing directories", async () => {
    const file = path.join(tmp.dir, "deep", "er", "journal.db");
    await (await openJournal(file)).close();
    expect(existsSync(file)).toBe(true);
  });
});

describe("a SQLite journal that cannot record", () => {
  async function begun(file: string) {
    const j = await openJournal(file);
    const plan = makePlan({ runbook: `lost-${path.basename(file)}` });
    const runId = `${plan.runbook.name}-r`;
    await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
    for (const e of stepEvents(runId, "prepare")) j.record(e);
    await j.verify();
    return { j, runId };
  }

  it.each([
    ["the file deleted", "file-gone", (file: string) => rmSync(file)],
    ["its directory removed", "file-gone", (file: string) => rmSync(path.dirname(file), { recursive: true })],
    ["another file moved over it", "file-replaced", (file: string) => {
      writeFileSync(`${file}.other`, "");
      renameSync(`${file}.other`, file);
    }],
  ] as const)("notices %s before the next step (%s), and says the run cannot be resumed from it", async (_what, code, damage) => {
    const dir = path.join(tmp.dir, `gone-${code}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    const file = path.join(dir, "journal.db");
    const { j } = await begun(file);
    try {
      damage(file);
      // Writes still succeed (into the unlinked file): only verify() can tell.
      const err = (await j.verify().catch((e: unknown) => e)) as JournalError;
      expect(err).toBeInstanceOf(JournalError);
      expect(err.code).toBe(code);
      expect(err.resumable).toBe(false);
      expect(err.message).toContain(file);
    } finally {
      await j.close().catch(() => undefined);
    }
  });

  // A full file system, as a 1 MiB tmpfs (tests/support/tmpfs.ts).
  const mounted = canMountTmpfs("the full-file-system journal test");
  const mountPoint = path.join(tmp.dir, "tiny");

  it.runIf(mounted)("a write that fails on a full file system fails verify() for good (write-failed)", () =>
    withTmpfs(mountPoint, "1m", async () => {
      const file = path.join(mountPoint, "journal.db");
      const { j, runId } = await begun(file);
      try {
        // Fill what is left of the file system, then try to record a step.
        writeFileSync(path.join(mountPoint, "filler"), Buffer.alloc(1024 * 1024));
      } catch {
        /* ENOSPC: full, as wanted */
      }
      try {
        for (let i = 0; i < 20; i++) for (const e of stepEvents(runId, `s${i}`, { output: ["y".repeat(60_000) + "\n"] })) j.record(e);
        const err = (await j.verify().catch((e: unknown) => e)) as JournalError;
        expect(err).toBeInstanceOf(JournalError);
        expect(err.code).toBe("write-failed");
        expect(err.message).toMatch(/could not write to the journal .*: database or disk is full/);
        expect(err.resumable).toBe(true);
      } finally {
        await j.close().catch(() => undefined);
      }
    }),
  );
});

describe("SQLite under kill -9", () => {
  const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), "kill9-writer.ts");

  /** Starts the writer, waits for `runs` finished runs and `extraMs` more, then SIGKILLs it. */
  async function killWriter(file: string, runs: number, extraMs: number): Promise<number> {
    const child = spawn(process.execPath, ["--import", "tsx", writer, file], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      child.stdout.on("data", (d: Buffer) => {
        seen += d.toString().split("\n").filter(Boolean).length;
        if (seen >= runs) resolve();
      });
      void exited.then(() => reject(new Error(`the writer exited early: ${stderr}`)));
    });
    await new Promise((r) => setTimeout(r, extraMs));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    return child.pid!;
  }

  it("leaves a consistent database whose every run reads back", async () => {
    const file = path.join(tmp.dir, "kill9.db");
    const pids: number[] = [];
    for (const [runs, extraMs] of [
      [3, 0],
      [5, 7],
      [2, 23],
      [8, 41],
    ]) {
      pids.push(await killWriter(file, runs, extraMs));
    }

    const info = inspectSqliteJournal(file);
    expect(info.integrity).toEqual(["ok"]);

    const j = await openJournal(file);
    try {
      const runs = await j.listRuns();
      for (const pid of pids) {
        const mine = runs.filter((r) => r.runbook === `kill9-${pid}`);
        expect(mine.length).toBeGreaterThanOrEqual(2);
        // Every run is whole: readable, its plan intact; at most one (the one
        // being written when the kill came) did not finish, and it reads interrupted.
        const unfinished = mine.filter((r) => r.status !== "succeeded");
        expect(unfinished.length).toBeLessThanOrEqual(1);
        for (const r of unfinished) expect(r.status).toBe("interrupted");
        for (const r of mine) {
          const run = await j.getRun(r.id);
          expect(run?.plan.steps).toHaveLength(8);
          expect(run?.params).toEqual({ i: r.id.split("-").at(-1) });
          const steps = await j.getSteps(r.id);
          if (r.status === "succeeded") {
            expect(steps.map((s) => s.status)).toEqual(Array(8).fill("ok"));
            expect(await j.getConfirmations(r.id)).toHaveLength(1);
          } else {
            expect(steps.length).toBeLessThanOrEqual(8);
            expect(steps.every((s) => s.status === "ok" || s.status === "interrupted")).toBe(true);
          }
        }
        // The lock of a run cut short is there, and stale.
        const lock = await j.getLock(`kill9-${pid}`, "prod");
        if (unfinished.length === 1) expect(lock).toMatchObject({ runId: unfinished[0].id, stale: true });
        else expect(lock).toBeUndefined();
      }
    } finally {
      await j.close();
    }
  }, 240_000);
});

describe("where the journal is", () => {
  it("defaults to ~/.local/state/runbook/journal.db, creating the directories", () => {
    const home = path.join(tmp.dir, "home");
    const location = defaultStateLocation({ HOME: home });
    expect(location).toBe(path.join(home, ".local", "state", "runbook", "journal.db"));
    expect(existsSync(path.dirname(location))).toBe(true);
  });

  it("takes $RUNBOOK_STATE, and --state over both; relative paths against the cwd", () => {
    const home = path.join(tmp.dir, "home2");
    expect(defaultStateLocation({ HOME: home, RUNBOOK_STATE: "mysql://u@h/db" })).toBe("mysql://u@h/db");
    expect(resolveStateLocation(undefined, { HOME: home, RUNBOOK_STATE: "state/j.db" }, tmp.dir)).toBe(path.join(tmp.dir, "state", "j.db"));
    expect(resolveStateLocation("other.db", { HOME: home, RUNBOOK_STATE: "state/j.db" }, tmp.dir)).toBe(path.join(tmp.dir, "other.db"));
    expect(resolveStateLocation("~/x/j.db", { HOME: home }, tmp.dir)).toBe(path.join(home, "x", "j.db"));
    expect(resolveStateLocation("mysql://root@127.0.0.1/j", { HOME: home }, tmp.dir)).toBe("mysql://root@127.0.0.1/j");
    expect(resolveStateLocation(undefined, { HOME: home }, tmp.dir)).toBe(path.join(home, ".local", "state", "runbook", "journal.db"));
  });
});
