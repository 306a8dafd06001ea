// A child of `npm run bench -- db-memory`: one data command on its own, in a fresh
// process, then its peak RSS (process.resourceUsage().maxRSS) on stdout as JSON.
//   node --import tsx bench/db-rss.ts make DIR ROWS      the source database (not measured)
//   node --import tsx bench/db-rss.ts sync|export|import DIR

import { join } from "node:path";
import { openSqlite } from "../runtime/drivers/sqlite.js";
import { exportTables, importFile, syncTables } from "../runtime/data.js";

const [op, dir, rowsArg] = process.argv.slice(2) as [string, string, string | undefined];
const SCHEMA = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, n INTEGER, r REAL)";
const start = performance.now();

if (op === "make") {
  const rows = Number(rowsArg);
  for (const name of ["src.sqlite", "dst.sqlite"]) {
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
} else {
  const src = openSqlite(join(dir, "src.sqlite"));
  const dst = openSqlite(join(dir, "dst.sqlite"));
  if (op === "sync") await syncTables(src, dst);
  else if (op === "export") await exportTables(src, ["t"], join(dir, "t.csv"), "csv");
  else if (op === "import") await importFile(dst, join(dir, "t.csv"));
  else throw new Error(`unknown op ${op}`);
  await src.close();
  await dst.close();
}
process.stdout.write(JSON.stringify({ maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), seconds: (performance.now() - start) / 1000 }) + "\n");
