// Two gaps an audit of issue 13 (the data path) found, kept as tests:
// - import of a one-table CSV reads the file the runbook names (its manifest beside
//   it describes that file, whatever name it recorded), never another file;
// - the verification before commit reads every table back once all are written, so
//   a trigger fired by a later table that changes an earlier one is seen.
// Local SQLite only.

import { describe, expect, it } from "vitest";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseDriver } from "../../runtime/drivers/driver.js";
import { exportTables, importFile, syncTables } from "../../runtime/data.js";
import { allRows, loadFixture, newSqlite, SQLITE_SCHEMA, useTempFiles } from "./fixtures.js";

const tmp = useTempFiles();

async function sqlite(name: string, fixture: boolean): Promise<DatabaseDriver> {
  const db = await newSqlite(join(tmp.dir, name), fixture ? "" : SQLITE_SCHEMA);
  if (fixture) await loadFixture(db);
  tmp.open.push(db);
  return db;
}

describe("a one-table CSV and the manifest beside it", () => {
  it("imports the file it is given, never another file the manifest names", async () => {
    const prod = await sqlite("prod.sqlite", true);
    const full = join(tmp.dir, "dog.csv");
    await exportTables(prod, ["dog"], full, "csv");
    // The operator keeps a dated copy (file and manifest renamed together), cut short
    // at a line end, while the full export stays beside it under its first name.
    const dated = join(tmp.dir, "dog-2026.csv");
    const lines = readFileSync(full, "utf8").split("\r\n");
    writeFileSync(dated, lines.slice(0, 2).join("\r\n") + "\r\n"); // the header and one row of three
    copyFileSync(full + ".manifest.json", dated + ".manifest.json");

    const dev = await sqlite("dev.sqlite", false);
    // The named file is not what the manifest describes: refused (or imported as
    // itself), never taken from dog.csv, which the runbook did not name.
    const outcome = await importFile(dev, dated).then(
      (r) => ({ imported: r.tables }),
      (e: Error) => ({ refused: e.message }),
    );
    if ("imported" in outcome) expect(outcome.imported).toEqual([{ name: "dog", rows: 1 }]);
    else expect(outcome.refused).not.toMatch(/dog\.csv is missing/);
  });
});

describe("the verification before commit", () => {
  // Parents first: person is written (and verified) before dog; this trigger, fired
  // by dog's rows, then changes person's.
  const LATER_TRIGGER = "CREATE TRIGGER later AFTER INSERT ON dog FOR EACH ROW BEGIN UPDATE person SET name = 'CHANGED' WHERE id = NEW.owner; END";

  it("sees a table changed after it was written, by a later table's trigger (import)", async () => {
    const prod = await sqlite("prod.sqlite", true);
    const backup = join(tmp.dir, "backup");
    await exportTables(prod, undefined, backup, "csv");
    const dev = await sqlite("dev.sqlite", false);
    await dev.execute(LATER_TRIGGER);
    const before = await allRows(dev, "person");
    await expect(importFile(dev, backup)).rejects.toThrow(/person does not hold what was written/);
    expect(await allRows(dev, "person")).toEqual(before);
  });

  it("sees a table changed after it was written, by a later table's trigger (sync)", async () => {
    const prod = await sqlite("prod.sqlite", true);
    const dev = await sqlite("dev.sqlite", false);
    await dev.execute(LATER_TRIGGER);
    await expect(syncTables(prod, dev)).rejects.toThrow(/person does not hold what was written/);
  });
});
