import { exportTables } from "../runtime/data.js";
import { createTestDatabase } from "../tests/support/mariadb.js";
const ROWS = 100000;
const test = await createTestDatabase("runbook_prof");
try {
  const my = await test.open();
  await my.execute("CREATE TABLE t (id INT NOT NULL, a LONGTEXT, b LONGTEXT, c LONGTEXT, n BIGINT, r DOUBLE, PRIMARY KEY (id)) CHARACTER SET utf8mb4");
  await my.execute("SET SESSION max_recursive_iterations = 100000000");
  await my.execute(`INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < ${ROWS}) SELECT i, IF(i%11=0,NULL,CONCAT('emoji 🐕, "quoted" ', i)), CONCAT('line\r\nbreak ', i), CONCAT('back\\\\slash ', i), IF(i%13=0,NULL,i*3), i/7 FROM s`);
  for (let k = 0; k < 3; k++) { const s = performance.now(); await exportTables(my, ["t"], "/tmp/h13/out.csv", "csv"); console.log(((performance.now() - s)/1000).toFixed(2)); }
  await my.close();
} finally { await test.drop(); }
