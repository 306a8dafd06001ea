import { openMysql } from "../runtime/drivers/mysql.js";
import { exportTables } from "../runtime/data.js";
import { createTestDatabase } from "../tests/support/mariadb.js";
import { execFileSync } from "node:child_process";
const ROWS = Number(process.env.ROWS ?? 100000);
const test = await createTestDatabase("runbook_prof");
try {
  const my = await test.open();
  await my.execute("CREATE TABLE t (id INT NOT NULL, a LONGTEXT, b LONGTEXT, c LONGTEXT, n BIGINT, r DOUBLE, PRIMARY KEY (id)) CHARACTER SET utf8mb4");
  await my.execute("SET SESSION max_recursive_iterations = 100000000");
  await my.execute(`INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${ROWS}) SELECT i, IF(i%11=0,NULL,CONCAT('emoji 🐕, "quoted" ', i)), CONCAT('line\r\nbreak ', i), CONCAT('back\\\\slash ', i), IF(i%13=0,NULL,i*3), i/7 FROM s`);
  const t = async (name: string, fn: () => Promise<unknown>) => { const s = performance.now(); await fn(); console.log(name, ((performance.now() - s)/1000).toFixed(2)); };
  const mysql = await import("mysql2");
  const raw = mysql.createConnection({ host: "127.0.0.1", user: "root", database: test.name, dateStrings: true, supportBigNumbers: true, charset: "utf8mb4" });
  for (let k = 0; k < 2; k++) {
  await t("client", async () => execFileSync("sh", ["-c", `mariadb --batch --quick -h 127.0.0.1 -u root ${test.name} -e 'SELECT * FROM t' > /tmp/h13/c.tsv`]));
  await t("mysql2 stream objects", () => new Promise<void>((res, rej) => { let n = 0; raw.query("SELECT * FROM t ORDER BY id").stream().on("data", () => n++).on("end", () => res()).on("error", rej); }));
  await t("mysql2 stream arrays", () => new Promise<void>((res, rej) => { let n = 0; raw.query({ sql: "SELECT * FROM t ORDER BY id", rowsAsArray: true }).stream().on("data", () => n++).on("end", () => res()).on("error", rej); }));
  await t("driver pages", async () => { let last = 0; for (;;) { const p = await my.query(`SELECT * FROM t WHERE id > ${last} ORDER BY id LIMIT 2000`); if (p.length === 0) break; last = Number(p[p.length-1]!.id); } });
  await t("count", () => my.query("SELECT count(*) FROM t"));
  await t("driver stream", async () => { for await (const b of my.stream("SELECT * FROM t ORDER BY id", 1000)) void b; });
  await t("export", () => exportTables(my, ["t"], "/tmp/h13/out.csv", "csv"));
  }
  raw.end();
  await my.close();
} finally { await test.drop(); }
