// A SQLite journal's files are 0600 in folders runbook makes 0700; the default
// folder and the journal files are tightened, with a warning, when found open to
// others; a folder the user named is left as it is. Real files, through the CLI
// (`history`, `run`) and openJournal.
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openJournal } from "../../runtime/journal/index.js";
import { cli } from "../support/cli.js";

const mode = (p: string) => statSync(p).mode & 0o777;
const src = `runbook "j" version "1.0.0"\nstep "A" { run "echo a" }\n`;

describe("journal file modes", () => {
  it("a new default journal: folders 0700, the database, its WAL and index 0600, no warning", async () => {
    const c = cli().file("j.rb", src).env({ RUNBOOK_STATE: "" }); // HOME is the test's directory
    const r = await c.args("run", "j.rb", "--no-tui").run();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const dir = join(c.dir, ".local", "state", "runbook");
    for (const d of [join(c.dir, ".local"), join(c.dir, ".local", "state"), dir]) expect(mode(d)).toBe(0o700);
    expect(mode(join(dir, "journal.db"))).toBe(0o600);
    // The WAL and its index exist while a journal is open: open it and look.
    const journal = await openJournal(join(dir, "journal.db"), { env: { HOME: c.dir } });
    try {
      expect((await journal.listRuns()).length).toBe(1);
      for (const f of ["journal.db-wal", "journal.db-shm"]) expect(mode(join(dir, f))).toBe(0o600);
    } finally {
      await journal.close();
    }
  });

  it("a default folder and journal found open to others are tightened, each with a warning", async () => {
    const c = cli().file("j.rb", src).env({ RUNBOOK_STATE: "" });
    const dir = join(c.dir, ".local", "state", "runbook");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    expect((await c.args("run", "j.rb", "--no-tui").run()).code).toBe(0);
    const db = join(dir, "journal.db");
    chmodSync(dir, 0o755);
    chmodSync(db, 0o644);
    const r = await c.args("history").run();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`runbook: warning: the journal's folder ${dir} was open to other users (mode 0755): it is 0700 now`);
    expect(r.stderr).toContain(`runbook: warning: the journal file ${db} was open to other users (mode 0644): it is 0600 now`);
    expect(mode(dir)).toBe(0o700);
    expect(mode(db)).toBe(0o600);
    // Once tight: no more warnings.
    expect((await c.args("history").run()).stderr).toBe("");
  });

  it("--state in a folder the user named: new folders 0700, the file 0600, an existing folder left as it is", async () => {
    const base = mkdtempSync(join(tmpdir(), "runbook-modes-"));
    chmodSync(base, 0o755);
    const c = cli().file("j.rb", src);
    const nested = join(base, "a", "b", "journal.db");
    expect((await c.args("run", "j.rb", "--no-tui", "--state", nested).run()).code).toBe(0);
    expect(mode(base)).toBe(0o755);
    expect(mode(join(base, "a"))).toBe(0o700);
    expect(mode(join(base, "a", "b"))).toBe(0o700);
    expect(mode(nested)).toBe(0o600);
    // A journal file made 0644 by something else: tightened, with a warning.
    const loose = join(base, "loose.db");
    writeFileSync(loose, "");
    chmodSync(loose, 0o644);
    const r = await c.args("run", "j.rb", "--no-tui", "--state", loose).run();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: the journal file ${loose} was open to other users (mode 0644): it is 0600 now`);
    expect(mode(loose)).toBe(0o600);
    expect(mode(base)).toBe(0o755);
  });
});
