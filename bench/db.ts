// `npm run bench -- db`: the data path on generated rows (NULLs, unicode with
// emoji, commas, quotes, CR/LF, backslashes; RUNBOOK_BENCH_ROWS, default 100k,
// six columns). Each figure beside its baseline measured in the same run, the two
// taking turns, best of RUNBOOK_BENCH_RUNS (5):
// - sync SQLite → SQLite with bound parameters, against the same sync sending
//   SQL literals;
// - sync SQLite → MariaDB against LOAD DATA LOCAL INFILE of the same rows from a
//   file (the mariadb client);
// - export to a csv backup from MariaDB against `mariadb --batch --quick … > file`,
//   the same export the plain way (its speed path off), and reading the rows with
//   mysql2 alone (the limit for a process reading them decoded);
// - import of that backup against the same LOAD DATA.
// Sync and import are also shown against the limit of a verified load: LOAD DATA
// from the file, then the table read back once by the mariadb client (what
// verification must do); for import, after the file's sha256 (what the check
// against its manifest must do). Export is also shown against reading the rows
// with mysql2 alone (the limit the issue names) and as the protocol's bytes alone.
// Figures include verification (each table read back before commit).

import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseDriver } from "../runtime/drivers/driver.js";
import { openSqlite } from "../runtime/drivers/sqlite.js";
import { exportTables, importFile, syncTables } from "../runtime/data.js";
import { csvBytesSwitch } from "../runtime/data-csv-bytes.js";
import { createTestDatabase, mariadbAvailable, MARIADB_HOST, MARIADB_PORT } from "../tests/support/mariadb.js";

const ROWS = Number(process.env.RUNBOOK_BENCH_ROWS ?? 100_000);
/** Runs of each figure, the best kept (RUNBOOK_BENCH_RUNS, default 5: on a shared machine one run in three can be slowed by a neighbour). */
const RUNS = Number(process.env.RUNBOOK_BENCH_RUNS ?? 5);

/** The same driver, made to send literals (as a database that cannot bind in a transaction). */
function literals(db: DatabaseDriver): DatabaseDriver {
  return new Proxy(db, { get: (t, p) => (p === "maxParams" ? 0 : typeof (t as never)[p] === "function" ? (t as never as Record<string, (...a: unknown[]) => unknown>)[p as string]!.bind(t) : (t as never)[p]) });
}

function value(i: number, col: number): string | null {
  if ((i + col) % 11 === 0) return null;
  const kinds = [`plain ${i}`, `emoji 🐕 ${i}`, `a, "quoted" ${i}`, `line\r\nbreak ${i}`, `back\\slash ${i}`, ""];
  return kinds[(i * 7 + col) % kinds.length]!;
}

async function best(runs: number, fns: Record<string, () => Promise<void>>): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  for (let r = 0; r < runs; r++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t = performance.now();
      await fn();
      const ms = performance.now() - t;
      times[name] = Math.min(times[name] ?? Infinity, ms);
    }
  }
  return times;
}

function show(what: string, t: number, baseName: string, base: number): void {
  console.log(`  ${what}: ${(t / 1000).toFixed(2)} s; ${baseName}: ${(base / 1000).toFixed(2)} s; ratio ${(t / base).toFixed(2)}x`);
}

export async function benchDb(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "runbook-bench-db-"));
  try {
    const schema = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, n INTEGER, r REAL)";
    const src = openSqlite(join(dir, "src.sqlite"), { createOnWrite: true });
    await src.execute(schema);
    await src.transaction(async () => {
      for (let i = 1; i <= ROWS; i += 500) {
        const params: unknown[] = [];
        const rows: string[] = [];
        for (let j = i; j < Math.min(i + 500, ROWS + 1); j++) {
          rows.push("(?, ?, ?, ?, ?, ?)");
          params.push(j, value(j, 1), value(j, 2), value(j, 3), j % 13 === 0 ? null : j * 3, j % 17 === 0 ? null : j / 7);
        }
        await src.execute(`INSERT INTO t VALUES ${rows.join(", ")}`, params as never);
      }
    });
    console.log(`  ${ROWS} rows × 6 columns (NULLs, emoji, commas, quotes, CR/LF, backslashes); best of ${RUNS}, taking turns`);

    const dst = openSqlite(join(dir, "dst.sqlite"), { createOnWrite: true });
    await dst.execute(schema);
    const s = await best(RUNS, {
      bound: async () => void (await syncTables(src, dst)),
      literal: async () => void (await syncTables(src, literals(dst))),
    });
    show("sync SQLite → SQLite, bound parameters", s.bound!, "SQL literals", s.literal!);
    await dst.close();

    if (!(await mariadbAvailable())) {
      console.log(`  MariaDB on ${MARIADB_HOST}:${MARIADB_PORT} not reachable: its figures are left out`);
      return;
    }
    const test = await createTestDatabase("runbook_bench");
    try {
      const my = await test.open();
      await my.execute("CREATE TABLE t (id INT NOT NULL, a LONGTEXT, b LONGTEXT, c LONGTEXT, n BIGINT, r DOUBLE, PRIMARY KEY (id)) CHARACTER SET utf8mb4");
      // LOAD DATA's file: what it round-trips (OPTIONALLY ENCLOSED BY '"' ESCAPED BY '', NULL as a bare NULL).
      const field = (v: unknown) => (v === null ? "NULL" : typeof v === "string" ? `"${v.replace(/"/g, '""')}"` : String(v));
      const file = join(dir, "t.csv");
      writeFileSync(file, "");
      for await (const rows of src.stream("SELECT * FROM t ORDER BY id", 5000)) appendFileSync(file, rows.map((r) => r.map(field).join(",") + "\n").join(""));
      const client = ["-h", MARIADB_HOST, "-P", String(MARIADB_PORT), "-u", "root", test.name];
      const loadData = async () => {
        execFileSync("mariadb", [
          "--local-infile=1",
          ...client,
          "-e",
          `SET FOREIGN_KEY_CHECKS=0; START TRANSACTION; DELETE FROM t; LOAD DATA LOCAL INFILE '${file}' INTO TABLE t CHARACTER SET utf8mb4 ` +
            `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n'; COMMIT`,
        ]);
      };
      // A verified load cannot take less than loading the rows and reading them back once:
      // LOAD DATA from the file, then the table read by the mariadb client (no checksum).
      const readBack = async () => {
        execFileSync("sh", ["-c", `mariadb --batch --quick ${client.join(" ")} -e 'SELECT * FROM t ORDER BY id' > /dev/null`]);
      };
      const limit = async () => {
        await loadData();
        await readBack();
      };
      // An import must also check the file against its manifest before it touches the database.
      const checkedLimit = async () => {
        execFileSync("sha256sum", [file], { stdio: "ignore" });
        await limit();
      };
      const m = await best(RUNS, {
        sync: async () => void (await syncTables(src, my)),
        loadData,
        limit,
      });
      show("sync SQLite → MariaDB (LOAD DATA from a stream, verified)", m.sync!, "LOAD DATA LOCAL INFILE from a file (mariadb client)", m.loadData!);
      show("  against the limit of a verified load", m.sync!, "LOAD DATA from the file, then the table read back by the mariadb client", m.limit!);

      const backup = join(dir, "backup.csv");
      const e = await best(RUNS, {
        csv: async () => void (await exportTables(my, ["t"], backup, "csv")),
        plain: async () => {
          // The same export with the speed path (rows as the protocol's bytes) off.
          csvBytesSwitch.on = false;
          try {
            await exportTables(my, ["t"], join(dir, "plain.csv"), "csv");
          } finally {
            csvBytesSwitch.on = true;
          }
        },
        client: async () => {
          execFileSync("sh", ["-c", `mariadb --batch --quick ${client.join(" ")} -e 'SELECT * FROM t' > ${join(dir, "client.tsv")}`]);
        },
        mysql2: async () => {
          // The limit the issue names: reading the rows with mysql2 alone, no writing.
          for await (const rows of my.stream("SELECT * FROM t ORDER BY id", 1000)) void rows;
        },
        raw: async () => {
          // This process's floor: the rows as the protocol's bytes (the export's speed path), nothing made of them.
          const raw = await my.rawTextRows!("SELECT * FROM t ORDER BY id", 1000);
          if (raw === undefined) throw new Error("the rows did not come as the protocol's bytes");
          for await (const batch of raw.batches()) void batch;
        },
      });
      show("export MariaDB → csv backup", e.csv!, "mariadb --batch --quick > file", e.client!);
      show("  the plain way (values decoded by mysql2, then formatted)", e.plain!, "mariadb --batch --quick > file", e.client!);
      if (!readFileSync(backup).equals(readFileSync(join(dir, "plain.csv")))) throw new Error("the csv export's speed path and the plain way wrote different files");
      show("  the limit: reading the rows with mysql2 alone", e.mysql2!, "mariadb --batch --quick > file", e.client!);
      show("  the floor: the rows as the protocol's bytes alone", e.raw!, "mariadb --batch --quick > file", e.client!);

      const i = await best(RUNS, {
        import: async () => void (await importFile(my, backup)),
        loadData,
        checkedLimit,
      });
      show("import the csv backup into MariaDB (checked, loaded, verified)", i.import!, "LOAD DATA LOCAL INFILE from a file (mariadb client)", i.loadData!);
      show("  against the limit of a checked, verified load", i.import!, "sha256sum of the file, LOAD DATA from it, the table read back by the mariadb client", i.checkedLimit!);
      await my.close();
    } finally {
      await test.drop();
    }
    await src.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Peak RSS of sync, export and import, each in a fresh process, at 100k and 1M
 * rows (RUNBOOK_BENCH_MEMORY_ROWS): SQLite with a csv backup, sync into SQLite on
 * a host (this machine as the host), and MariaDB with a table without a primary
 * key (read as one stream). The goal: under 150 MB at either size.
 */
export async function benchDbMemory(): Promise<void> {
  const { spawnSync } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const root = fileURLToPath(new URL("..", import.meta.url));
  const sizes = (process.env.RUNBOOK_BENCH_MEMORY_ROWS ?? "100000,1000000").split(",").map(Number);
  // e.g. RUNBOOK_BENCH_NODE_FLAGS=--max-semi-space-size=1: how much of a peak is V8's young generation.
  const nodeFlags = (process.env.RUNBOOK_BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");
  if (nodeFlags.length > 0) console.log(`  node ${nodeFlags.join(" ")}`);
  const child = (...args: string[]) => {
    const r = spawnSync(process.execPath, [...nodeFlags, "bench/db-rss.mjs", ...args], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`db-rss ${args[0]} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as { maxRssMb: number; seconds: number };
  };
  /** `runbook run` of one step of a runbook over the databases of `dir`, its peak RSS read by bench/rss-on-exit.mjs. */
  const cli = (dir: string, step: string) => {
    const book = join(dir, "memory.rb");
    writeFileSync(
      book,
      [
        `runbook "memory" version "1.0.0"`,
        `default env dev`,
        `database appdb = sqlite ${JSON.stringify(join(dir, "dst.sqlite"))}`,
        `env prod {`,
        `  database appdb = sqlite ${JSON.stringify(join(dir, "src.sqlite"))}`,
        `}`,
        `env dev {}`,
        `step "sync" when env != "prod" {`,
        `  sync appdb from prod.appdb`,
        `}`,
        `step "export" {`,
        `  export appdb to ${JSON.stringify(join(dir, "cli.csv"))} format csv`,
        `}`,
        `step "import" {`,
        `  import appdb from ${JSON.stringify(join(dir, "cli.csv"))}`,
        `}`,
        ``,
      ].join("\n"),
    );
    const out = join(dir, "rss");
    const start = performance.now();
    const r = spawnSync(
      process.execPath,
      [...nodeFlags, "--import", "./bench/rss-on-exit.mjs", "bin/runbook.js", "run", book, "--yes", "--only", step, "--state", join(dir, "state.sqlite")],
      { cwd: root, encoding: "utf8", env: { ...process.env, RUNBOOK_BENCH_RSS_FILE: out } },
    );
    if (r.status !== 0) throw new Error(`runbook run --only ${step} failed: ${r.stdout}${r.stderr}`);
    return { maxRssMb: Number(readFileSync(out, "utf8")), seconds: (performance.now() - start) / 1000 };
  };
  const baseline = child("make", mkdtempSync(join(tmpdir(), "runbook-rss-")), "1");
  console.log(`  baseline (a process that loads the data module and makes a 1-row database): ${baseline.maxRssMb} MB`);
  const idle = mkdtempSync(join(tmpdir(), "runbook-rss-"));
  child("make", idle, "1");
  console.log(`  baseline of runbook run (a step that copies a 1-row table): ${cli(idle, "sync").maxRssMb} MB`);
  rmSync(idle, { recursive: true, force: true });
  const mariadb = await mariadbAvailable();
  if (!mariadb) console.log(`  MariaDB on ${MARIADB_HOST}:${MARIADB_PORT} not reachable: its figures are left out`);
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "runbook-rss-"));
    const rows = n.toLocaleString("en-US");
    try {
      child("make", dir, String(n));
      for (const op of ["sync", "export", "import"]) {
        const r = child(op, dir);
        console.log(`  ${op} ${rows} rows (SQLite, csv backup): peak RSS ${r.maxRssMb} MB in ${r.seconds.toFixed(1)} s`);
      }
      // The same through `runbook run` (the whole command: plan, journal, log), one step a process.
      for (const step of ["sync", "export", "import"]) {
        const r = cli(dir, step);
        console.log(`  runbook run, step ${step} ${rows} rows (SQLite, csv backup): peak RSS ${r.maxRssMb} MB in ${r.seconds.toFixed(1)} s`);
      }
      const h = child("sync-host", dir);
      console.log(`  sync ${rows} rows into SQLite on a host (its sqlite3): peak RSS ${h.maxRssMb} MB in ${h.seconds.toFixed(1)} s`);
      if (mariadb) {
        const test = await createTestDatabase("runbook_rss");
        try {
          child("make-mysql", dir, test.url);
          for (const op of ["export-mysql", "sync-mysql", "import-mysql"]) {
            const r = child(op, dir, test.url);
            console.log(`  ${op.replace("-mysql", "")} ${rows} rows (MariaDB, table without a primary key): peak RSS ${r.maxRssMb} MB in ${r.seconds.toFixed(1)} s`);
          }
        } finally {
          await test.drop();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
