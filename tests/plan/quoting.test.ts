// Interpolation into commands and SQL (LANGUAGE.md "Interpolation and quoting"): every
// `${…}` is inserted so that a value can never inject shell syntax or SQL, wherever it
// stands in the command — outside quotes as one shell word / SQL literal, and inside the
// command's own '…' or "…" escaped for those quotes, so the program sees the value as it
// is. Each command the planner builds is run by /bin/sh (each SQL text by SQLite).

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { showText, type Plan, type Text } from "../../runtime/plan.js";
import { buildPlan } from "../../runtime/planner.js";
import { openSqlite } from "../../runtime/drivers/sqlite.js";
import { SecretStore } from "../../runtime/secrets.js";
import { ShellScanner, shellQuoteIn } from "../../runtime/quote.js";
import { SqlScanner, sqlQuoteIn } from "../../runtime/sql-quote.js";

const dir = mkdtempSync(join(tmpdir(), "runbook-quoting-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function planOf(source: string, sets: Record<string, string> = {}): Plan {
  const compiled = compileSource(`runbook "t" version "1.0.0"\n${source}`, "/virtual/t.rb");
  if (!compiled.runbook) throw new Error(compiled.diagnostics.map((d) => d.message).join("\n"));
  const built = buildPlan(compiled.runbook, { env: "default", sets });
  if ("error" in built) throw new Error(built.error);
  return built.plan;
}

function commandOf(plan: Plan): Text {
  const a = plan.steps[0]!.actions[0]!;
  if (a.kind === "run") return a.command;
  if (a.kind === "sql") return a.sql;
  throw new Error(`not a run or sql: ${a.kind}`);
}

const sh = (command: string) => execFileSync("/bin/sh", ["-c", command], { cwd: dir, encoding: "utf8" });

const nasty = [
  "plain",
  "a b  c",
  "it's",
  'say "hi"',
  "$HOME ${PATH} $(touch pwned) `touch pwned`",
  "back\\slash \\\" \\'",
  "'; touch pwned #",
  '"; touch pwned; echo "',
  "line1\nline2",
  "",
];

describe("shell: a value is what the program sees, wherever the ${…} stands", () => {
  it.each([
    ["outside quotes", "printf '%s' ${v}"],
    ["inside single quotes", "printf '%s' '${v}'"],
    ["inside double quotes", 'printf \'%s\' "${v}"'],
    ["inside double quotes with text around", 'printf \'%s\' "<${v}>" | sed "s/^<//; s/>$//"'],
    ["inside $( ) inside double quotes", 'printf \'%s\' "$(printf \'%s\' ${v})"'],
    ["inside double quotes inside $( )", 'printf \'%s\' "$(printf \'%s\' "${v}")"'],
    ["after an escaped quote", "printf '%s' \\'${v}\\' | sed \"s/^'//; s/'$//\""],
    ["after a comment with an apostrophe", "# it's a comment\nprintf '%s' ${v}"],
  ])("%s", (_name, command) => {
    for (const value of nasty) {
      const text = commandOf(planOf(`param v = "x"\nstep "S" {\n  run ${JSON.stringify(command)}\n}\n`, { v: value }));
      const out = sh(showText(text));
      expect(out.replace(/\n$/, value.endsWith("\n") ? "\n" : "")).toBe(value.replace(/\n$/, ""));
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    }
  });

  it("inside backticks the inner command sees the quoted value", () => {
    for (const value of nasty.filter((v) => !/\s/.test(v) || !v.trim())) {
      const text = commandOf(planOf('param v = "x"\nstep "S" {\n  run "printf \'%s\' \\"`printf \'%s\' ${v}`\\""\n}\n', { v: value }));
      expect(sh(showText(text))).toBe(value);
    }
    const text = commandOf(planOf('param v = "x"\nstep "S" {\n  run "printf \'%s\' \\"`printf \'%s\' ${v}`\\""\n}\n', { v: "a `touch pwned` $HOME 'q' \\\\" }));
    expect(sh(showText(text))).toBe("a `touch pwned` $HOME 'q' \\\\");
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it.each([
    ["a comment", "echo kept # note: ${v}"],
    ["a comment inside backticks", "echo `echo kept # note: ${v}\n`"],
  ])("a value in %s cannot end it", (_name, command) => {
    for (const value of [...nasty, "x\ntouch pwned #", "x\r\ntouch pwned", "x`; touch pwned; `"]) {
      const text = commandOf(planOf(`param v = "x"\nstep "S" {\n  run ${JSON.stringify(command)}\n}\n`, { v: value }));
      expect(sh(showText(text)).trim()).toBe("kept");
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    }
  });

  it.each([
    ["an unquoted here-document", "cat <<EOF\n${v}\nEOF"],
    ["a here-document with text around the value", "cat <<EOF | sed 's/^<//; s/>$//'\n<${v}>\nEOF"],
    ["a quoted here-document", "cat <<'EOF'\n${v}\nEOF"],
    ["a <<- here-document", "cat <<-EOF\n\t${v}\n\tEOF"],
    ["a second here-document", "cat <<A; cat <<B\nfirst\nA\n${v}\nB"],
  ])("in %s the value is the text, never expanded", (name, command) => {
    for (const value of [...nasty.filter((v) => v !== "" && !v.includes("\n")), "$(touch pwned)", "`touch pwned`", "${HOME}", "multi\nline $x"]) {
      const text = commandOf(planOf(`param v = "x"\nstep "S" {\n  run ${JSON.stringify(command)}\n}\n`, { v: value }));
      const out = sh(showText(text));
      const want = name === "a second here-document" ? `first\n${value}\n` : `${value}\n`;
      expect(out).toBe(want);
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    }
  });

  it("a value with a line that would end its here-document is refused, naming it", () => {
    const source = `runbook "t" version "1.0.0"\nparam v = "x"\nstep "S" {\n  run ${JSON.stringify("cat <<EOF\n${v}\nEOF")}\n}\n`;
    const r = buildPlan(compileSource(source, "t.rb").runbook!, { env: "default", sets: { v: "ok\nEOF\ntouch pwned" } });
    expect(r).toMatchObject({ error: "t.rb:4:19: cannot insert `${v}`: a value inserted into a here-document has a line `EOF`, which would end it" });
  });

  it("a here-string (<<<) is not a here-document", () => {
    const text = commandOf(planOf(`param v = "x"\nstep "S" {\n  run "cat <<< \${v}"\n}\n`, { v: "a b $(touch pwned)" }));
    expect(sh(showText(text).replace(/^cat <<< /, "printf '%s\\n' "))).toBe("a b $(touch pwned)\n");
  });

  it("the plan shows readable commands", () => {
    const plan = planOf(`param v = "x"\nstep "S" {\n  run "echo '\${v}' \\"\${v}\\" \${v}"\n}\n`, { v: "it's $1" });
    expect(showText(commandOf(plan))).toBe(`echo 'it'\\''s $1' "it's \\$1" 'it'\\''s $1'`);
  });

  it("${raw …} is inserted as it is, and its quotes count for what follows", () => {
    const plan = planOf(`param open = "x"\nparam v = "x"\nstep "S" {\n  run "printf '%s' \${raw open}\${v}'"\n}\n`, { open: "'<", v: "it's" });
    expect(sh(showText(commandOf(plan)))).toBe("<it's");
  });

  it("a secret inside quotes is resolved for those quotes, at the last moment", () => {
    const plan = planOf(`secret s = env "QUOTING_SECRET"\nstep "S" {\n  run "printf '%s|' '\${s}' \\"\${s}\\" \${s}"\n}\n`);
    const text = commandOf(plan);
    expect(text).toEqual([
      "printf '%s|' '",
      { secret: "s", quoting: "shell", shell: { quote: "single", backticks: 0 } },
      `' "`,
      { secret: "s", quoting: "shell", shell: { quote: "double", backticks: 0 } },
      `" `,
      { secret: "s", quoting: "shell" },
    ]);
    const value = `it's "$x" \`y\` \\`;
    const store = new SecretStore(plan.secrets, { env: { QUOTING_SECRET: value } });
    expect(sh(store.materialize(text))).toBe(`${value}|${value}|${value}|`);
  });

  it("scanner: where each piece stands", () => {
    const s = new ShellScanner();
    const at = (piece: string) => {
      s.feed(piece);
      const c = s.context;
      s.inserted();
      return c.backticks ? `${c.quote}+${c.backticks}` : c.quote;
    };
    expect([at("a "), at(" '"), at("' \""), at('" $(x "'), at('") `'), at("` \\'"), at(" # '")]).toEqual([
      "word",
      "single",
      "double",
      "double",
      "word+1",
      "word",
      "comment",
    ]);
    expect(shellQuoteIn("a'b", { quote: "single", backticks: 0 })).toBe("a'\\''b");
    expect(shellQuoteIn("a\nb\r", { quote: "comment", backticks: 0 })).toBe("a b ");
  });
});

describe("SQL: a value is what the database stores, wherever the ${…} stands", () => {
  const file = join(dir, "quoting.sqlite");
  writeFileSync(file, ""); // an empty file is an empty SQLite database
  const db = openSqlite(file);
  afterAll(() => db.close());
  const values = ["plain", "O'Brien", "x' OR '1'='1", 'dq "x"', "back\\slash", "a\rb", "nul\0byte", "-- comment", "line\nbreak", ""];

  it.each([
    ["outside quotes", "insert into t values (${v})"],
    ["inside single quotes", "insert into t values ('${v}')"],
    ["inside single quotes with text around", "insert into t values (substr('<${v}>', 2, length('<${v}>') - 2))"],
    ["after a comment with an apostrophe", "-- it's a comment\ninsert into t values (${v})"],
    ["after a doubled quote", "insert into t values (substr('''${v}', 2))"],
  ])("sqlite: %s", async (_name, sql) => {
    await db.execute("create table if not exists t (v text)");
    // substr() and length() stop at a NUL byte: that value only where they are not used.
    for (const value of values.filter((v) => !sql.includes("substr") || !v.includes("\0"))) {
      await db.execute("delete from t");
      const text = commandOf(planOf(`param v = "x"\ndatabase db = sqlite "x.db"\nstep "S" {\n  sql db ${JSON.stringify(sql)}\n}\n`, { v: value }));
      await db.execute(showText(text));
      const rows = await db.query("select v from t");
      expect(rows.map((r) => r.v)).toEqual([value]);
    }
  });

  it.each([
    ["'", "single"],
    ["\"", "double"],
    ["`", "backtick"],
    ["/* ", "block-comment"],
    ["-- ", "line-comment"],
    ["'it''s ", "single"],
    ["'it''s' ", "none"],
  ])("scanner (sqlite) after %j: %s", (piece, context) => {
    const s = new SqlScanner("sqlite");
    s.feed(piece);
    expect(s.context).toBe(context);
  });

  it.each([
    ["'it\\'s ", "single"],
    ["# x '", "line-comment"],
    ["1--1 '", "single"],
    ["1-- '", "line-comment"],
  ])("scanner (mysql) after %j: %s", (piece, context) => {
    const s = new SqlScanner("mysql");
    s.feed(piece);
    expect(s.context).toBe(context);
  });

  it.each([
    ["single", "it's \"x\" \\ \n", "it''s \"x\" \\\\ \\n"],
    ["double", "it's \"x\"", "it's \"\"x\"\""],
    ["backtick", "a`b", "a``b"],
  ] as const)("mysql inside %s quotes", (context, value, expected) => {
    expect(sqlQuoteIn(value, "mysql", context)).toBe(expected);
  });

  it("a value in a comment cannot end it", () => {
    expect(sqlQuoteIn("x\ndrop table t", "sqlite", "line-comment")).toBe("x drop table t");
    expect(sqlQuoteIn("x */ drop table t", "sqlite", "block-comment")).toBe("x * / drop table t");
  });
});
