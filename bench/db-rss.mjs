// A child of `npm run bench -- db-memory`: one data command on its own, in a fresh
// process, then its peak RSS (process.resourceUsage().maxRSS) on stdout as JSON.
// Plain JavaScript over the build (dist/), run by plain node: the code and the
// process the `runbook` command runs, without the TypeScript loader the other
// benches use (which alone adds some 35 MB to a process).
//   node bench/db-rss.mjs make DIR ROWS      the source database (not measured)
//   node bench/db-rss.mjs sync|export|import DIR
//   node bench/db-rss.mjs sync-host DIR      into SQLite "on a host" (this machine as the host: its sqlite3)
//   node bench/db-rss.mjs make-mysql|sync-mysql|export-mysql|import-mysql DIR URL
//     MariaDB, table t without a primary key (read as one stream): make fills it (not measured)

import { join } from "node:path";
import { openSqlite } from "../dist/runtime/drivers/sqlite.js";
import { openMysql } from "../dist/runtime/drivers/mysql.js";
import { openRemoteSqlite } from "../dist/runtime/drivers/remote-sqlite.js";
import { LocalDriver } from "../dist/runtime/drivers/local.js";
import { exportTables, importFile, syncTables } from "../dist/runtime/data.js";

const [op, dir, arg] = process.argv.slice(2);
const SCHEMA = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, n INTEGER, r REAL)";
const start = performance.now();

if (op === "make") {
  const rows = Number(arg);
  for (const name of ["src.sqlite", "dst.sqlite", "host.sqlite"]) {
    const db = openSqlite(join(dir, name), { createOnWrite: true });
    await db.execute(SCHEMA);
    await db.close();
  }
  const src = openSqlite(join(dir, "src.sqlite"));
  await src.execute(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) ` +
      `INSERT INTO t SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE 'emoji 🐕, "quoted" ' || i END, 'line' || char(13, 10) || 'break ' || i, ` +
      `'back\\slash ' || i, CASE WHEN i % 13 = 0 THEN NULL ELSE i * 3 END, i / 7.0 FROM n`,
  );
  await src.close();
} else if (op.endsWith("-mysql")) {
  const src = openSqlite(join(dir, "src.sqlite"));
  const my = await openMysql(arg);
  if (op === "make-mysql") {
    await my.execute("CREATE TABLE t (id INT NOT NULL, a LONGTEXT, b LONGTEXT, c LONGTEXT, n BIGINT, r DOUBLE) CHARACTER SET utf8mb4");
    await syncTables(src, my);
  } else if (op === "sync-mysql") await syncTables(src, my);
  else if (op === "export-mysql") await exportTables(my, ["t"], join(dir, "m.csv"), "csv");
  else if (op === "import-mysql") await importFile(my, join(dir, "m.csv"));
  else throw new Error(`unknown op ${op}`);
  await my.close();
  await src.close();
} else {
  const src = openSqlite(join(dir, "src.sqlite"));
  const dst = openSqlite(join(dir, "dst.sqlite"));
  if (op === "sync") await syncTables(src, dst);
  else if (op === "export") await exportTables(src, ["t"], join(dir, "t.csv"), "csv");
  else if (op === "import") await importFile(dst, join(dir, "t.csv"));
  else if (op === "sync-host") {
    const host = new LocalDriver();
    const remote = openRemoteSqlite(host, join(dir, "host.sqlite"), "host.sqlite", { remoteTempDir: dir });
    await syncTables(src, remote);
    await remote.close();
    await host.close();
  } else throw new Error(`unknown op ${op}`);
  await src.close();
  await dst.close();
}
process.stdout.write(JSON.stringify({ maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), seconds: (performance.now() - start) / 1000 }) + "\n");
