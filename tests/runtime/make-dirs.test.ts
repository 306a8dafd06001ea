// makeDirs (runtime/make-dirs.ts): `mkdir -p` that fails instead of looping where
// Node's recursive mkdir never returns (under /proc), and the export's message
// when it cannot write where it was told to.

import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDirs, makeDirsSync } from "../../runtime/make-dirs.js";
import { exportTables } from "../../runtime/data.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";

const procUsable = existsSync("/proc/self");

describe("makeDirs", () => {
  it("makes the missing folders, with the mode asked for, and is fine when they exist", async () => {
    const root = mkdtempSync(join(tmpdir(), "runbook-dirs-"));
    try {
      const deep = join(root, "a", "b", "c");
      await makeDirs(deep, 0o700);
      expect(statSync(deep).isDirectory()).toBe(true);
      expect(statSync(join(root, "a")).mode & 0o777).toBe(0o700);
      await makeDirs(deep);
      makeDirsSync(join(root, "a", "d"));
      expect(statSync(join(root, "a", "d")).isDirectory()).toBe(true);
      writeFileSync(join(root, "file"), "");
      await expect(makeDirs(join(root, "file", "x"))).rejects.toMatchObject({ code: "ENOTDIR" });
      expect(() => makeDirsSync(join(root, "file", "x"))).toThrow(/ENOTDIR/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.runIf(procUsable)("fails under /proc, where Node's recursive mkdir never returns", async () => {
    await expect(makeDirs("/proc/runbook-no-such/x")).rejects.toMatchObject({ code: "ENOENT" });
    expect(() => makeDirsSync("/proc/runbook-no-such/x")).toThrow(/ENOENT/);
  }, 5_000);
});

describe("an export that cannot write where it is told", () => {
  it("fails at once, naming the path (not the database), and writes nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "runbook-dirs-"));
    const db = openSqlite(join(root, "app.sqlite"), { createOnWrite: true });
    try {
      await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)");
      writeFileSync(join(root, "file"), "");
      const under = join(root, "file", "out.csv");
      await expect(exportTables(db, ["t"], under, "csv")).rejects.toThrow(`cannot write ${under}: ${join(root, "file")} is not a folder`);
      if (procUsable) {
        await expect(exportTables(db, ["t"], "/proc/runbook-no-such/out.csv", "csv")).rejects.toThrow(
          "cannot write /proc/runbook-no-such/out.csv: a folder of its path cannot be made there",
        );
      }
    } finally {
      await db.close();
      rmSync(root, { recursive: true, force: true });
    }
  }, 10_000);
});
