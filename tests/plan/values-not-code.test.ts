// Values never become code (docs/language.md "Interpolation: values are never code").
// Every hostile value below goes, through the whole pipeline (check, plan, executor,
// driver), into every place a `${…}` may stand, on every target: a local shell, a
// local shell under sudo, a shell on a host over real SSH, local SQLite, SQLite on
// a host, and MariaDB. The command or database must see exactly the value, the
// marker file must never appear, and no row may change that the runbook does not
// change. The places where no reference is sound are check errors, each with its fix.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { statementsWithParams } from "../../language/sql/lexer.js";
import { placeShellValues, placeSqlValues, type Piece } from "../../language/value-placement.js";
import { LocalDriver } from "../../runtime/drivers/local.js";
import { showText, type Plan } from "../../runtime/plan.js";
import { buildPlan } from "../../runtime/planner.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";
import { requireServer, sshdUnavailableReason, useSshHosts, type SshTestHosts } from "../support/sshd.js";
import { requireSudo } from "../support/sudo.js";
import { planFrom, runPlan } from "../runtime/helpers.js";
import { newSqlite } from "../db/fixtures.js";

const mysql = await requireMariadb();
const dir = mkdtempSync(join(tmpdir(), "runbook-values-"));
chmodSync(dir, 0o777); // commands run as nobody (sudo) and as runbooktest (ssh) must be able to leave the marker
const MARKER = join(dir, "PWNED");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The payloads of the issue and more: each one tries to become shell syntax or SQL. */
const PAYLOADS = [
  "plain",
  `a;touch ${MARKER}`,
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `'; touch ${MARKER}; '`,
  `"; touch ${MARKER}; "`,
  `x\ntouch ${MARKER}`,
  `EOF\ntouch ${MARKER}\nEOF`,
  `a[$(touch ${MARKER})]`,
  "$((1+1)) ${HOME} $HOME",
  "it's \"quoted\" \\ back\\slash \\'",
  "*",
  "-n",
  "a  b\tc",
  "ünï €",
  "%s%n",
  "",
  "'nobody' OR 1=1",
  "x' OR '1'='1",
  "a*/ WHERE 1=1; UPDATE t SET n = 0; --",
  "\\'; DROP TABLE canary; --",
  "/* by */ 1 #",
];

/** Where a `${v}` may stand in a command, and what the command prints for value v. */
const SHELL_PLACES: [string, string, (v: string) => string][] = [
  ["a word", "printf '[%s]' ${v}", (v) => `[${v}]`],
  ["inside double quotes", 'printf \'[%s]\' "${v}"', (v) => `[${v}]`],
  ["inside single quotes", "printf '[%s]' '${v}'", (v) => `[${v}]`],
  ["with text around it in double quotes", 'printf \'[%s]\' "<${v}>"', (v) => `[<${v}>]`],
  ["in $( ) inside double quotes", 'printf \'[%s]\' "$(printf \'%s\' ${v})"', (v) => `[${v.replace(/\n+$/, "")}]`],
  ["an unquoted here-document", "cat <<EOF\n[${v}]\nEOF", (v) => `[${v}]\n`],
  ["after an arithmetic expansion that looks like a here-document (multi-line)", "echo $((1<<2))\nprintf '[%s]\\n' ${v}", (v) => `4\n[${v}]\n`],
  ["in a case pattern's command inside $( )", "printf '[%s]' \"$(case a in a) printf '%s' ${v};; esac)\"", (v) => `[${v.replace(/\n+$/, "")}]`],
  ["an assignment, then a word", 'x=${v}; printf \'[%s]\' "$x"', (v) => `[${v}]`],
];

function shellRunbook(host?: string, as?: string): string {
  const on = host ? ` on ${host}` : "";
  const user = as ? ` as ${as}` : "";
  return SHELL_PLACES.map(([, cmd], i) => `step "P${i}" as p${i}${on} {\n  run ${JSON.stringify(cmd)}${user}\n}\n`).join("");
}

async function shellTable(header: string, host: string | undefined, env: NodeJS.ProcessEnv, as?: string): Promise<number> {
  let tried = 0;
  for (const value of PAYLOADS) {
    const plan = planFrom(`runbook "v" version "1.0.0"\nparam v = "x"\n${header}${shellRunbook(host, as)}`, { sets: { v: value } });
    const r = await runPlan(plan, { cwd: dir, env });
    expect(r.error ?? "", JSON.stringify(value)).toBe("");
    SHELL_PLACES.forEach(([name, , want], i) => {
      expect(r.output[`p${i}`] ?? "", `${name}: ${JSON.stringify(value)}`).toBe(want(value));
      tried++;
    });
    expect(existsSync(MARKER), JSON.stringify(value)).toBe(false);
  }
  return tried;
}

/** Where a `${v}` may stand in SQL: each statement must store exactly v, or change nothing. */
const SQL_WRITES = [
  "INSERT INTO t (name, n) VALUES (${v}, 9)",
  "INSERT INTO t (name, n) VALUES (lower(upper(${v})) || '', 9)",
];
const SQL_NOOPS = [
  "UPDATE t SET n = 0 WHERE name = ${v}",
  "UPDATE t SET n = 0 WHERE name = ${v} AND n > -1 -- it's a comment",
  "DELETE FROM t WHERE name = ${v} /* only that one */",
];

async function sqlTable(header: string, engine: "sqlite" | "mysql", open: () => Promise<{ count(sql: string): Promise<number>; reset(): Promise<void> }>): Promise<number> {
  const db = await open();
  let tried = 0;
  for (const value of PAYLOADS) {
    await db.reset();
    const steps = [...SQL_NOOPS, ...SQL_WRITES]
      .map((s, i) => `step "S${i}" as s${i} {\n  sql db ${JSON.stringify(engine === "mysql" ? s.replace("lower(upper(${v})) || ''", "CONCAT(lower(upper(${v})), '')") : s)}\n}\n`)
      .join("");
    const plan = planFrom(`runbook "v" version "1.0.0"\nparam v = "x"\n${header}${steps}`, { sets: { v: value } });
    const r = await runPlan(plan, { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.RB_TEST_HOME ?? dir } });
    expect(r.error ?? "", JSON.stringify(value)).toBe("");
    SQL_NOOPS.forEach((_, i) => expect(r.output[`s${i}`], JSON.stringify(value)).toBe("0 rows changed\n"));
    // The three seeded rows are untouched, the canary is there, and each write stored exactly the value.
    expect(await db.count("SELECT count(*) AS n FROM t WHERE n = 1")).toBe(3);
    expect(await db.count("SELECT count(*) AS n FROM canary")).toBe(1);
    expect(await db.count(`SELECT count(*) AS n FROM t WHERE n = 9`)).toBe(2);
    tried += SQL_NOOPS.length + SQL_WRITES.length;
  }
  return tried;
}

function checkErrors(body: string, db = `database db = sqlite "x.db"\n`): { code: string; message: string; notes: string[] }[] {
  const r = compileSource(`runbook "c" version "1.0.0"\nparam v = "x"\n${db}step "S" {\n${body}\n}\n`, "/virtual/c.rb");
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => ({ code: d.code, message: d.message, notes: (d.notes ?? []) as string[] }));
}

const counts: Record<string, number> = {};

const SECRET = "hunter2-Zq8vX1-secret";

/** Runs a step that uses a secret for a while, reading every process's command line (ps) meanwhile. */
async function scanPsWhile(header: string, on: string, env: NodeJS.ProcessEnv, as = ""): Promise<{ scans: number; seen: string[]; output: string }> {
  const plan = planFrom(`runbook "p" version "1.0.0"\nsecret s = env "PS_SECRET"\n${header}step "S" as s${on} {\n  run "sleep 1.5; printf '%s' ${"${s}"} | wc -c"${as}\n}\n`);
  const seen: string[] = [];
  let scans = 0;
  let done = false;
  const scanning = (async () => {
    while (!done) {
      const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
      scans++;
      for (const line of ps.split("\n")) if (line.includes(SECRET) || line.includes("hunter2")) seen.push(line);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const r = await runPlan(plan, { cwd: dir, env: { ...env, PS_SECRET: SECRET } });
  done = true;
  await scanning;
  expect(r.error ?? "").toBe("");
  return { scans, seen, output: r.output.s ?? "" };
}
afterAll(() => {
  // The closing note reports these: payloads × places per target.
  console.log(`values-not-code: ${PAYLOADS.length} payloads; tried ${JSON.stringify(counts)}`);
});

describe("the places no reference is sound are check errors, with the fix", () => {
  it.each([
    ["arithmetic", `  run "echo $((1 + \${v}))"`, "arithmetic"],
    ["a bash arithmetic command", `  run "(( n = \${v} ))"`, "arithmetic"],
    ["an array index", `  run "echo \\\${a[\${v}]}"`, "arithmetic"],
    ["[[ -eq ]]", `  run "[[ \${v} -eq 1 ]]"`, "arithmetic"],
    ["declare -i", `  run "declare -i n=\${v}"`, "arithmetic"],
    ["a comment", `  run "echo hi # \${v}"`, "does not expand"],
    ["a quoted here-document", `  run """\n    cat <<'EOF'\n    \${v}\n    EOF\n    """`, "does not expand"],
    ["a here-document's delimiter", `  run "cat <<\${v}"`, "heredoc words"],
    ["eval", `  run "eval \${v}"`, "eval"],
    ["$'…'", `  run "echo $'a \${v}'"`, "$'…'"],
    ["backquotes inside double quotes", '  run "echo \\"`echo ${v}`\\""', "$( … )"],
    ["a command that is not shell", `  run "echo \\"\${v}"`, "not valid shell"],
    ["an SQL string", `  sql db "UPDATE t SET a = 1 WHERE name = '\${v}'"`, "string literal"],
    ["an SQL comment", `  sql db "UPDATE t SET a = 1 /* by \${v} */"`, "comment"],
    ["an SQLite name", `  sql db "SELECT [\${v}] FROM t"`, "table or column name"],
    ["the SQL's own parameter", `  sql db "UPDATE t SET a = ? WHERE b = \${v}"`, "parameter of its own"],
  ])("%s", (_name, body, words) => {
    const errors = checkErrors(body);
    expect(errors.map((e) => e.code)).toEqual(["unsafe-interpolation"]);
    expect(`${errors[0]!.message} ${errors[0]!.notes.join(" ")}`).toContain(words);
    expect(errors[0]!.notes.length).toBeGreaterThan(0);
  });

  it("a MySQL executable comment is a comment for values, whatever the engine in another env", () => {
    const errors = checkErrors(`  sql db "UPDATE t SET a = 1 WHERE id = 1 /*!50000 AND name = \${v} */"`, `database db = mysql "mysql://u@127.0.0.1/x"\n`);
    expect(errors.map((e) => e.code)).toEqual(["unsafe-interpolation"]);
  });

  it("a query that reads or writes server files is refused", () => {
    const errors = checkErrors(`  require query db "SELECT name FROM t INTO OUTFILE '/tmp/x'" == ""`, `database db = mysql "mysql://u@127.0.0.1/x"\n`);
    expect(errors.map((e) => e.code)).toEqual(["query-not-read-only"]);
  });

  it("a ${raw …} that moves a value into an unsound place is refused when the plan is made", () => {
    const src = `runbook "r" version "1.0.0"\nparam open = "x"\nparam close = "x"\nparam v = "x"\nstep "S" {\n  run "echo \${raw open} \${v} \${raw close}"\n}\n`;
    const compiled = compileSource(src, "/virtual/r.rb");
    expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const built = buildPlan(compiled.runbook!, { env: "default", sets: { open: "$((1+", close: "))" } });
    expect(built).toMatchObject({ error: expect.stringContaining("/virtual/r.rb:6:") });
    expect("error" in built && built.error).toContain("arithmetic");
  });
});

describe("commands: the value is what the program sees, and never code", () => {
  const localSudo = requireSudo("sudo (local commands as another user)");
  it("a local shell", async () => {
    counts["local shell"] = await shellTable("", undefined, { PATH: process.env.PATH, HOME: dir });
  });

  it.runIf(localSudo)("a local shell as another user (sudo: the values come on stdin)", async () => {
    counts["local shell as nobody"] = await shellTable("", undefined, { PATH: process.env.PATH, HOME: dir }, "nobody");
  });

  it("a secret is never on a command line while the command runs (ps), and the command gets it whole", async () => {
    const r = await scanPsWhile("", "", { PATH: process.env.PATH, HOME: dir });
    expect(r.scans).toBeGreaterThan(5);
    expect(r.seen).toEqual([]);
    expect(r.output.trim()).toBe(String(SECRET.length));
  });

  it.runIf(localSudo)("nor under sudo", async () => {
    const r = await scanPsWhile("", "", { PATH: process.env.PATH, HOME: dir }, " as nobody");
    expect(r.seen).toEqual([]);
    expect(r.output.trim()).toBe(String(SECRET.length));
  });

  it("the plan and the log show each value where it stood, quoted; the code holds only references", () => {
    const plan: Plan = planFrom(`runbook "v" version "1.0.0"\nparam v = "x"\nstep "S" {\n  run "echo '\${v}' \\"\${v}\\" \${v}"\n}\n`, { sets: { v: "it's $1" } });
    const a = plan.steps[0]!.actions[0]!;
    if (a.kind !== "run") throw new Error(a.kind);
    expect(showText(a.command)).toBe(`echo 'it'\\''s $1' "it's \\$1" 'it'\\''s $1'`);
    expect(a.command.filter((p) => typeof p === "string").join("")).not.toContain("it's");
    expect(a.command.map((p) => (typeof p === "string" ? p : "ref" in p ? p.ref : "")).join("")).toBe(`echo ''"\${__rb_1}"'' "\${__rb_2}" "\${__rb_3}"`);
  });

  it("a property: values in generated commands, in every sound place, print as they are and run nothing", async () => {
    const local = new LocalDriver({ cwd: dir });
    const word = fc.constantFrom("printf '%s|'", "printf '<%s>'", "printf '[%s]\\n'");
    const place = fc.constantFrom<(i: number) => Piece[]>(
      (i) => [{ text: " " }, { value: true }, { text: `:${i}` }],
      (i) => [{ text: ' "' }, { value: true }, { text: `|${i}"` }],
      (i) => [{ text: " '" }, { value: true }, { text: `|${i}'` }],
      (i) => [{ text: ' "$(printf %s ' }, { value: true }, { text: `)|${i}"` }],
      (i) => [{ text: " x" }, { value: true }, { text: `y${i}` }],
    );
    const hostile = fc.oneof(
      fc.string({ unit: fc.constantFrom("'", '"', "`", "$", "(", ")", ";", "\\", "\n", " ", "#", "*", "a", "|", "&", "<", ">", "{", "}") }),
      fc.constantFrom(...PAYLOADS),
    );
    await fc.assert(
      fc.asyncProperty(word, fc.array(fc.tuple(place, hostile), { minLength: 1, maxLength: 4 }), async (w, parts) => {
        const pieces: Piece[] = [{ text: w }];
        const values: string[] = [];
        parts.forEach(([p, v], i) => {
          pieces.push(...p(i));
          values.push(v);
        });
        const placed = placeShellValues(pieces);
        expect(placed.ok).toBe(true);
        if (!placed.ok) return;
        let out = "";
        const r = await local.exec(placed.placed.text, { values, onStdout: (c) => (out += c) });
        expect(r.exitCode).toBe(0);
        expect(existsSync(MARKER)).toBe(false);
        for (const v of values) if (!/[\n]/.test(v) && v.trim() !== "") expect(out).toContain(v.replace(/\s+$/, ""));
      }),
      { numRuns: 150 },
    );
  });
});

describe("SQL: the value is what the database stores, and never SQL", () => {
  it("local SQLite", async () => {
    const file = join(dir, "local.sqlite");
    counts["local sqlite"] = await sqlTable(`database db = sqlite ${JSON.stringify(file)}\n`, "sqlite", async () => {
      const db = await newSqlite(file);
      return {
        count: async (sql) => Number(Object.values((await db.query(sql))[0]!)[0]),
        reset: async () => {
          await db.execute("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS canary; CREATE TABLE t (name TEXT, n INT); CREATE TABLE canary (x INT); INSERT INTO canary VALUES (1)");
          await db.execute("INSERT INTO t VALUES ('nobody', 1), ('a', 1), ('x', 1)");
        },
      };
    });
  });

  it("a property: values in generated SQL, in every sound place, change only what the SQL says", async () => {
    const file = join(dir, "property.sqlite");
    const db = await newSqlite(file, "CREATE TABLE t (name TEXT, n INT); CREATE TABLE canary (x INT); INSERT INTO canary VALUES (1)");
    // Updates and deletes touch only the seed row (n = 1) and only if a value were its name; inserts store values as they are.
    const templates: Piece[][] = [
      [{ text: "UPDATE t SET n = n + 100 WHERE n = 1 AND name = " }, { value: true }],
      [{ text: "DELETE FROM t WHERE n = 1 AND (name = " }, { value: true }, { text: " OR name = " }, { value: true }, { text: ")" }],
      [{ text: "INSERT INTO t (name, n) VALUES (" }, { value: true }, { text: ", 7)" }],
      [{ text: "INSERT INTO t (name, n) SELECT " }, { value: true }, { text: " || " }, { value: true }, { text: ", 7 -- it's done\n" }],
      [{ text: "/* a 'comment' */ UPDATE t SET n = n + 100 WHERE n = 1 AND name IN (" }, { value: true }, { text: ", " }, { value: true }, { text: ")" }],
    ];
    const hostile = fc.oneof(
      fc.string({ unit: fc.constantFrom("'", '"', "`", ";", "-", "*", "/", "#", "\\", "\n", " ", "a", "(", ")", "=", "1", "O", "R") }),
      fc.constantFrom(...PAYLOADS),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...templates), fc.array(hostile, { minLength: 2, maxLength: 2 })), { minLength: 1, maxLength: 4 }), async (steps) => {
        await db.execute("DELETE FROM t; INSERT INTO t VALUES ('seed', 1)");
        let inserted = 0;
        for (const [pieces, vals] of steps) {
          const placed = placeSqlValues(pieces, "sqlite");
          expect(placed.ok).toBe(true);
          if (!placed.ok) return;
          const values = vals.slice(0, placed.placed.refs.length);
          const statements = statementsWithParams(placed.placed.text, values, "sqlite");
          await db.runStatements(statements.map((st) => ({ sql: st.text, params: st.params })));
          if (placed.placed.text.includes("INSERT")) inserted++;
        }
        // The seed row is untouched (no value equals "seed"), the canary stands, and the rows inserted are exactly the values.
        expect(await db.query("SELECT n FROM t WHERE name = 'seed'")).toEqual([{ n: 1 }]);
        expect(await db.query("SELECT count(*) AS c FROM canary")).toEqual([{ c: 1 }]);
        expect(await db.query("SELECT count(*) AS c FROM t WHERE n = 7")).toEqual([{ c: inserted }]);
      }),
      { numRuns: 150 },
    );
  });

  it("an SQLite [name] with a quote in it does not make a later value raw", async () => {
    const file = join(dir, "clock.sqlite");
    const db = await newSqlite(file);
    await db.execute(`CREATE TABLE t ("o'clock" TEXT, name TEXT, n INT); INSERT INTO t VALUES ('1', 'nobody', 1), ('2', 'a', 1)`);
    const plan = planFrom(`runbook "v" version "1.0.0"\nparam v = "x"\ndatabase db = sqlite ${JSON.stringify(file)}\nstep "S" as s {\n  sql db "UPDATE t SET n = 0 WHERE [o'clock] > '0' AND name = \${v}"\n}\n`, { sets: { v: "'nobody' OR 1=1" } });
    const r = await runPlan(plan, { cwd: dir });
    expect(r.output.s).toBe("0 rows changed\n");
    expect(await db.query("SELECT count(*) AS n FROM t WHERE n = 1")).toEqual([{ n: 2 }]);
  });

  describe.runIf(mysql)("MariaDB", () => {
    let testDb: TestDatabase;
    beforeAll(async () => {
      testDb = await createTestDatabase();
    });
    afterAll(async () => {
      await testDb?.drop();
    });

    it("every payload in every place", async () => {
      counts.mysql = await sqlTable(`database db = mysql ${JSON.stringify(testDb.url)}\n`, "mysql", async () => {
        const db = await testDb.open();
        return {
          count: async (sql) => Number(Object.values((await db.query(sql))[0]!)[0]),
          reset: async () => {
            await db.execute("DROP TABLE IF EXISTS t, canary");
            await db.execute("CREATE TABLE t (name TEXT, n INT)");
            await db.execute("CREATE TABLE canary (x INT)");
            await db.execute("INSERT INTO canary VALUES (1)");
            await db.execute("INSERT INTO t VALUES ('nobody', 1), ('a', 1), ('x', 1)");
          },
        };
      });
    });

    it("a query runs read-only: a write through a function, or a file written by the server, is refused", async () => {
      const db = await testDb.open();
      await db.execute("DROP TABLE IF EXISTS t; CREATE TABLE t (name TEXT, n INT); INSERT INTO t VALUES ('a', 1)");
      await expect(db.probe("SELECT name FROM t INTO OUTFILE '/tmp/runbook-outfile-test'", [])).rejects.toThrow(/OUTFILE/);
      await expect(db.probe("SELECT 1 /*!INTO DUMPFILE '/tmp/runbook-dumpfile-test' */", [])).rejects.toThrow(/DUMPFILE/);
      expect(existsSync("/tmp/runbook-outfile-test")).toBe(false);
      await expect(db.probe("SELECT 1; DELETE FROM t", [])).rejects.toThrow();
      expect(await db.query("SELECT count(*) AS n FROM t")).toEqual([{ n: 1 }]);
      expect(await db.probe("SELECT name FROM t WHERE n = ?", ["1"])).toEqual([{ name: "a" }]);
    });
  });
});

const sshReason = sshdUnavailableReason();
const sshd = requireServer("sshd", sshReason === null, sshReason ?? undefined);

describe.skipIf(!sshd)("on a host over SSH", () => {
  const hosts = useSshHosts(1);
  let h: SshTestHosts;
  beforeEach(() => {
    h = hosts();
  });

  it("a shell on the host (the values come on stdin)", async () => {
    counts["remote shell"] = await shellTable(`host box = "${h.hosts[0]!.target}"\n`, "box", { PATH: process.env.PATH, HOME: h.home });
  });

  it("a secret is never on a command line on either side while the command runs (ps)", async () => {
    const r = await scanPsWhile(`host box = "${h.hosts[0]!.target}"\n`, " on box", { PATH: process.env.PATH, HOME: h.home });
    expect(r.scans).toBeGreaterThan(5);
    expect(r.seen).toEqual([]);
    expect(r.output.trim()).toBe(String(SECRET.length));
  });

  it("SQLite on the host (the values go to sqlite3 as hex in its parameter table)", async () => {
    const file = join(dir, "remote.sqlite");
    process.env.RB_TEST_HOME = h.home;
    try {
      counts["sqlite on a host"] = await sqlTable(`host box = "${h.hosts[0]!.target}"\ndatabase db = sqlite ${JSON.stringify(file)} on box\n`, "sqlite", async () => {
        const db = await newSqlite(file);
        chmodSync(file, 0o666);
        return {
          count: async (sql) => Number(Object.values((await db.query(sql))[0]!)[0]),
          reset: async () => {
            await db.execute("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS canary; CREATE TABLE t (name TEXT, n INT); CREATE TABLE canary (x INT); INSERT INTO canary VALUES (1)");
            await db.execute("INSERT INTO t VALUES ('nobody', 1), ('a', 1), ('x', 1)");
          },
        };
      });
    } finally {
      delete process.env.RB_TEST_HOME;
    }
  });
});
