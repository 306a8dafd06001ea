// Tests of the checker on ASTs built directly (build-ast.ts): each rule's code, its
// exact span and its notes. Golden tests through the parser are in
// check-golden.test.ts.

import { describe, expect, it } from "vitest";
import { check, closest, destructiveSql, editDistance, sqlStatements } from "../../language/check.js";
import type { Diagnostic } from "../../language/diagnostics.js";
import type { Runbook, Step } from "../../language/ast.js";
import {
  allowFailure,
  and,
  cmp,
  not,
  or,
  confirm,
  download,
  edit,
  env,
  exists,
  exportDb,
  host,
  importDb,
  interps,
  is,
  list,
  manual,
  mysql,
  nameRef,
  note,
  num,
  output,
  parallel,
  param,
  query,
  require_,
  retry,
  run,
  runbook,
  secret,
  section,
  sql,
  sqlite,
  step,
  str,
  succeeds,
  sync,
  timeout,
  undo,
  upload,
  vr,
  wait,
} from "./build-ast.js";

const diagsOf = (rb: Runbook, code?: string): Diagnostic[] => check(rb).filter((d) => code === undefined || d.code === code);
const codes = (rb: Runbook): string[] => check(rb).map((d) => d.code);
const rbWithSteps = (decls: Parameters<typeof runbook>[0]["decls"], ...steps: Step[]) => runbook({ decls, items: steps });

const baseDecls = () => [
  param("branch", "haiti"),
  vr("home", "/home/haiti"),
  secret("db_password"),
  host("portal", "haiti@haiti.example.org"),
  sqlite("appdb", "${home}/storage.sqlite", "portal"),
];

describe("a clean runbook", () => {
  it("has no diagnostics", () => {
    const rb = runbook({
      decls: [...baseDecls(), vr("web2py", "${home}/web2py"), mysql("devdb", "mysql://u@127.0.0.1/db", { password: "db_password", via: "portal" })],
      envs: [env("dev", { overrides: [vr("home", "/home/dev")] }), env("prod", { protected: true })],
      defaultEnv: "dev",
      items: [
        section(
          "Prepare",
          step("Sync", { when: cmp("@env", "!=", "prod") }, sync("devdb", "prod", "appdb")),
          step("Review", {}, confirm("Is the plan for ${env} reviewed? run ${run.id}")),
        ),
        step(
          "Pull",
          { on: "portal" },
          require_(is(exists("${home}/maintenance.on"))),
          run("cd ${web2py} && bzr pull ${branch} && echo ${db_password}"),
          undo("cd ${web2py} && bzr revert"),
          timeout("30m"),
        ),
        step("Migrate", { on: "portal" }, edit("${web2py}/models/db.py", ["migrate = False", "migrate = True"])),
      ],
    });
    expect(check(rb)).toEqual([]);
  });
});

describe("unknown names in interpolation", () => {
  it("reports an unknown name at the interpolation, with a suggestion", () => {
    const cmd = str("ls ${hom}");
    const rb = rbWithSteps(baseDecls(), step("S", {}, { kind: "run", command: cmd, span: cmd.span }));
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ severity: "error", code: "unknown-name", message: "unknown name `hom`", notes: ["did you mean `home`?"] });
    expect(d!.span).toBe(interps(cmd)[0]!.span);
  });

  it.each([
    ["${braanch}", "did you mean `branch`?"],
    ["${hmoe}", "did you mean `home`?"], // a swap counts as one edit
    ["${xyzzy}", undefined],
    ["${evn}", "did you mean `env`?"],
  ])("suggests for %s", (text, note) => {
    const rb = rbWithSteps(baseDecls(), step("S", {}, run(text)));
    const [d] = diagsOf(rb, "unknown-name");
    expect(d?.notes?.[0]).toBe(note);
  });

  it.each([
    ["${run.id}", []],
    ["${run.user} ${run.started}", []],
    ["${env}", []],
    ["${run.idd}", ["unknown-name"]],
    ["${prod.home}", []],
    ["${prod.hom}", ["unknown-name"]],
    ["${prd.home}", ["unknown-env"]],
    ["${prod.portal}", ["wrong-kind"]],
    ["${home.x}", ["unknown-name"]],
    ["${a.b.c}", ["unknown-name"]],
    ["${env.x}", ["unknown-name"]],
    ["${raw home}", []],
  ])("%s", (text, expected) => {
    const rb = runbook({ decls: baseDecls(), envs: [env("dev"), env("prod")], items: [step("S", {}, run(text))] });
    expect(codes(rb)).toEqual(expected);
  });

  it("explains run members", () => {
    const rb = rbWithSteps(baseDecls(), step("S", {}, run("${run.usr}")));
    expect(diagsOf(rb)[0]).toMatchObject({
      message: "`run` has no member `usr`",
      notes: ["did you mean `run.user`?", "the run values are `run.id`, `run.user`, `run.started`"],
    });
  });

  it("reports each error in one pass", () => {
    const rb = rbWithSteps(baseDecls(), step("A", {}, run("${a1}"), note("${a2}")), step("B", { on: "nohost" }, sql("nodb", "select 1")));
    expect(codes(rb).sort()).toEqual(["unknown-database", "unknown-host", "unknown-name", "unknown-name"]);
  });
});

describe("unknown hosts, databases and envs", () => {
  it("reports hosts at the identifier", () => {
    const s = step("S", { on: "portl" }, run("x"));
    const rb = rbWithSteps(baseDecls(), s);
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "unknown-host", message: "unknown host `portl`", notes: ["did you mean `portal`?"] });
    expect(d!.span).toBe(s.on!.span);
  });

  it.each([
    ["probe on", () => step("S", { when: is(succeeds("true", "nohost")) })],
    ["exists on", () => step("S", {}, require_(is(exists("/x", "nohost"))))],
    ["output on", () => step("S", {}, wait(cmp(output("x", "nohost"), "==", "y")))],
  ])("unknown host in %s", (_, make) => {
    expect(codes(rbWithSteps(baseDecls(), make()))).toEqual(["unknown-host"]);
  });

  it.each([
    ["via", () => mysql("db2", "mysql://u@h/d", { via: "nohost" })],
    ["sqlite on", () => sqlite("db2", "/x.sqlite", "nohost")],
  ])("unknown host in a database's %s", (_, make) => {
    const d = make();
    const [diag] = diagsOf(runbook({ decls: [...baseDecls(), d] }));
    expect(diag!.code).toBe("unknown-host");
    expect(diag!.span).toBe(d.value.engine === "mysql" ? d.value.via!.span : d.value.on!.span);
  });

  it.each([
    ["sql", () => sql("apdb", "select 1")],
    ["export", () => exportDb("apdb", "x.csv")],
    ["import", () => importDb("apdb", "x.csv")],
    ["query", () => require_(cmp(query("apdb", "select 1"), "==", "1"))],
  ])("unknown database in %s", (_, make) => {
    const [d] = diagsOf(rbWithSteps(baseDecls(), step("S", {}, make())));
    expect(d).toMatchObject({ code: "unknown-database", message: "unknown database `apdb`", notes: ["did you mean `appdb`?"] });
  });

  it("checks both databases and the env of sync", () => {
    const s = sync("apdb", "prd", "appdbb");
    const rb = runbook({ decls: baseDecls(), envs: [env("dev"), env("prod")], items: [step("S", {}, s)] });
    const ds = diagsOf(rb);
    expect(ds.map((d) => d.code)).toEqual(["unknown-database", "unknown-env", "unknown-database"]);
    if (s.kind !== "sync") throw new Error();
    expect(ds[0]!.span).toBe(s.db.span);
    expect(ds[1]!.span).toBe(s.fromEnv.span);
    expect(ds[1]!.notes).toEqual(["did you mean `prod`?", "the envs are `dev`, `prod`"]);
    expect(ds[2]!.span).toBe(s.fromDb.span);
  });

  it("checks `default env`", () => {
    expect(check(runbook({ envs: [env("dev")], defaultEnv: "dev" }))).toEqual([]);
    const rb = runbook({ envs: [env("dev")], defaultEnv: "dve" });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "unknown-env", message: "unknown env `dve`", notes: ["did you mean `dev`?", "the envs are `dev`"] });
    expect(d!.span).toBe(rb.defaultEnv!.span);
  });

  it.each([
    [cmp("@env", "==", "uat"), ["unknown-env"]],
    [cmp("@env", "!=", "prod"), []],
    [cmp("prd", "==", "@env"), ["unknown-env"]],
    [cmp("@env", "in", list("dev", "qa")), ["unknown-env"]],
    [cmp("@env", "contains", "pro"), []],
    [cmp("@branch", "==", "uat"), []],
  ])("env comparison %#", (cond, expected) => {
    const rb = runbook({ envs: [env("dev"), env("prod")], decls: [param("branch", "x")], items: [step("S", { when: cond })] });
    expect(codes(rb)).toEqual(expected);
    // A typo in an env name would make the step silently never run: an error.
    expect(check(rb).filter((d) => d.severity === "error").map((d) => d.code)).toEqual(expected);
  });

  it("points at the string naming an unknown env", () => {
    const c = cmp("@env", "==", "uat");
    const rb = runbook({ envs: [env("dev")], items: [step("S", { when: c })] });
    expect(diagsOf(rb)[0]!.span).toBe(c.right.span);
  });

  it("knows the implicit env of a runbook without env blocks", () => {
    const rb = runbook({ items: [step("S", { when: cmp("@env", "==", "dev") })] });
    expect(diagsOf(rb)[0]).toMatchObject({
      code: "unknown-env",
      notes: ["this runbook has no env blocks: its one env is `default`"],
    });
  });
});

describe("names in conditions", () => {
  it.each([
    ["@branch", []],
    ["@brnch", ["unknown-name"]],
    ["@prod.branch", []],
    ["@prd.branch", ["unknown-env"]],
    ["@run.user", []],
    ["@run.nobody", ["unknown-name"]],
    ["@portal", ["wrong-kind"]],
    ["@db_password", []], // compared when the step runs, never shown
  ])("%s", (name, expected) => {
    const rb = runbook({ decls: baseDecls(), envs: [env("prod")], items: [step("S", { when: cmp(name, "==", "x") })] });
    expect(codes(rb)).toEqual(expected);
  });

  it("points at the offending part of a dotted name", () => {
    const ref = nameRef("prod.brnch");
    const rb = runbook({ decls: baseDecls(), envs: [env("prod")], items: [step("S", { when: cmp(ref, "==", "x") })] });
    const [d] = diagsOf(rb);
    expect(d!.span).toBe(ref.path[1]!.span);
    expect(d!.notes).toEqual(["did you mean `branch`?"]);
  });
});

describe("env blocks", () => {
  it("rejects overriding an undeclared name", () => {
    const o = vr("hoem", "/x");
    const rb = runbook({ decls: baseDecls(), envs: [env("dev", { overrides: [o] })] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({
      code: "undeclared-override",
      message: "env `dev` overrides `hoem`, which is not declared at top level",
      notes: ["did you mean `home`?", "declare it at top level first: `var hoem = …`"],
    });
    expect(d!.span).toBe(o.name.span);
  });

  it("rejects overriding with another kind", () => {
    const o = vr("portal", "x");
    const rb = runbook({ decls: baseDecls(), envs: [env("dev", { overrides: [o] })] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "override-kind", message: "env `dev` overrides `portal` as a var, but it is declared as a host" });
    expect(d!.span).toBe(o.name.span);
  });

  it("rejects overriding twice in one block", () => {
    const second = vr("home", "/b");
    const rb = runbook({ decls: baseDecls(), envs: [env("dev", { overrides: [vr("home", "/a"), second] })] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "duplicate-declaration", message: "env `dev` already overrides `home`" });
    expect(d!.span).toBe(second.name.span);
  });

  it("checks names in env confirmations", () => {
    const rb = runbook({ decls: baseDecls(), envs: [env("prod", { confirms: ["Sign-off for ${branch} ${brnch}?"] })] });
    expect(codes(rb)).toEqual(["unknown-name"]);
  });
});

describe("duplicates", () => {
  it("reports a duplicate declaration at the second, noting the first", () => {
    const first = vr("home", "/a");
    const second = param("home", "/b");
    const rb = runbook({ decls: [first, second] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "duplicate-declaration", message: "`home` is already declared", notes: [`first declared at line ${first.name.span.line}`] });
    expect(d!.span).toBe(second.name.span);
  });

  it("names the file of a first declaration in another file", () => {
    const first = vr("home", "/a");
    first.name.span = { ...first.name.span, file: "lib/common.rb", line: 3 };
    const rb = runbook({ decls: [first, vr("home", "/b")] });
    expect(diagsOf(rb)[0]!.notes).toEqual(["first declared at lib/common.rb:3"]);
  });

  it("reports duplicate env blocks", () => {
    const second = env("dev");
    const rb = runbook({ envs: [env("dev"), second] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "duplicate-env", message: "env `dev` is already declared" });
    expect(d!.span).toBe(second.name.span);
  });

  it("reports duplicate step ids, across sections and finally", () => {
    const a = step("Backup", {});
    const b = step("Other", { as: "backup" });
    const c = step("backup!", {});
    const rb = runbook({ items: [section("One", a), b], finally: [c] });
    const ds = diagsOf(rb, "duplicate-step-id");
    expect(ds).toHaveLength(2);
    expect(ds[0]!.span).toBe(b.idSpan);
    expect(ds[0]!.notes).toEqual([`first used at line ${a.idSpan.line}`, "give one of the steps its own id with `as NAME`"]);
    expect(ds[1]!.span).toBe(c.idSpan);
  });

  it.each([
    [[timeout("1m"), timeout("2m")], "timeout"],
    [[retry(2), retry(3)], "retry"],
    [[parallel(2), parallel(3)], "parallel"],
    [[allowFailure(), allowFailure()], "allow failure"],
    [[undo("a"), undo("b")], "undo"],
  ])("reports a repeated step option %#", (body, keyword) => {
    const rb = runbook({ decls: [host("g", ["a@x", "b@y"])], items: [step("S", { on: "g" }, ...body)] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "duplicate-option", message: `this step already has \`${keyword}\`` });
    expect(d!.span).toBe(body[1]!.span);
  });

  it("rejects step options inside undo blocks", () => {
    const t = timeout("1m");
    const rb = runbook({ items: [step("S", {}, run("x"), undo([run("y"), t]))] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "misplaced-statement", message: "`timeout` can't be used inside `undo { … }`" });
    expect(d!.span).toBe(t.span);
  });
});

describe("interpolation cycles", () => {
  it("reports a two-name cycle once, at the first declaration's reference", () => {
    const a = vr("a", "${b}/x");
    const b = vr("b", "${a}");
    const rb = runbook({ decls: [a, b], envs: [env("dev"), env("prod")] });
    const ds = diagsOf(rb);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ code: "interpolation-cycle", message: "interpolation cycle: `a` → `b` → `a`" });
    if (a.value.kind !== "string") throw new Error();
    expect(ds[0]!.span).toBe(interps(a.value)[0]!.span);
  });

  it("reports a self reference", () => {
    const rb = runbook({ decls: [param("p", list("x", "${p}"))] });
    expect(diagsOf(rb)[0]!.message).toBe("interpolation cycle: `p` → `p`");
  });

  it("reports a cycle made by an env override, naming the env", () => {
    const rb = runbook({
      decls: [vr("a", "/x"), vr("b", "${a}/y")],
      envs: [env("dev", { overrides: [vr("a", "${b}")] }), env("prod")],
    });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "interpolation-cycle", message: "interpolation cycle: `b` → `a` → `b`", notes: ["in env `dev`"] });
  });

  it("follows other envs' values", () => {
    const rb = runbook({
      decls: [vr("a", "/x")],
      envs: [env("dev", { overrides: [vr("a", "${prod.a}")] }), env("prod", { overrides: [vr("a", "${dev.a}")] })],
    });
    expect(diagsOf(rb)[0]).toMatchObject({ code: "interpolation-cycle", message: "interpolation cycle: `dev.a` → `prod.a` → `dev.a`" });
  });

  it("accepts a chain without cycle, and a long one quickly", () => {
    const decls = [vr("v0", "x"), ...Array.from({ length: 5000 }, (_, i) => vr(`v${i + 1}`, `\${v${i}}/y`))];
    expect(check(runbook({ decls }))).toEqual([]);
  });
});

describe("values", () => {
  it.each([
    ["1.0.0", []],
    ["3.2.0-rc.1+build.5", []],
    ["1.0", ["bad-semver"]],
    ["v1.0.0", ["bad-semver"]],
    ["01.0.0", ["bad-semver"]],
  ])("version %s", (version, expected) => {
    expect(codes(runbook({ version }))).toEqual(expected);
  });

  it("reports a bad version at the string with a hint", () => {
    const rb = runbook({ version: "1.0" });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ message: "`1.0` is not a semantic version" });
    expect(d!.span).toBe(rb.header.version.span);
    expect(d!.notes?.[0]).toMatch(/MAJOR\.MINOR\.PATCH/);
  });

  it.each([
    [timeout("0s"), "bad-duration", "`timeout` must be longer than 0"],
    [wait(is(true), "0ms"), "bad-duration", "`every` must be longer than 0"],
    [wait(is(true), "1s", "0m"), "bad-duration", "`timeout` must be longer than 0"],
    [retry(3, "0s"), "bad-duration", "`every` must be longer than 0"],
    [retry(0), "bad-count", "`retry` needs a whole number of at least 1, not 0"],
    [retry(1.5), "bad-count", "`retry` needs a whole number of at least 1, not 1.5"],
    [parallel(0), "bad-count", "`parallel` needs a whole number of at least 1, not 0"],
  ])("rejects %#", (stmt, code, message) => {
    const rb = runbook({ decls: [host("g", ["a@x", "b@y"])], items: [step("S", { on: "g" }, stmt)] });
    expect(diagsOf(rb).map((d) => [d.code, d.message])).toEqual([[code, message]]);
  });

  it("accepts positive durations and counts", () => {
    const rb = runbook({ decls: [host("g", ["a@x"])], items: [step("S", { on: "g" }, timeout("1h30m"), retry(2, "5s"), parallel(4))] });
    expect(check(rb)).toEqual([]);
  });

  it.each([
    ["haiti@haiti.sahanapy.org", []],
    ["app@10.0.0.1:2222", []],
    ["portal-alias", []],
    ["${home}@example.org", []],
    ["haiti@", ["bad-value"]],
    ["a b@c", ["bad-value"]],
    ["u@h:port", ["bad-value"]],
  ])("host target %s", (target, expected) => {
    expect(codes(runbook({ decls: [vr("home", "x"), host("h", target)] }))).toEqual(expected);
  });

  it("rejects empty groups and non-string members", () => {
    expect(codes(runbook({ decls: [host("g", list())] }))).toEqual(["bad-value"]);
    expect(codes(runbook({ decls: [host("g", list("a@b", num(3)))] }))).toEqual(["bad-value"]);
  });

  it.each([
    ["mysql://u@127.0.0.1:3306/db", []],
    ["mysql://u@h", []],
    ["postgres://u@h/db", ["bad-value"]],
  ])("mysql url %s", (url, expected) => {
    expect(codes(runbook({ decls: [mysql("db", url)] }))).toEqual(expected);
  });

  it("rejects an unknown export format and non-string tables", () => {
    const e = exportDb("appdb", "x.csv", "xml", list("t1", num(2)));
    const rb = rbWithSteps(baseDecls(), step("S", {}, e));
    const ds = diagsOf(rb);
    expect(ds.map((d) => d.code).sort()).toEqual(["bad-format", "bad-value"]);
    if (e.kind !== "export") throw new Error();
    expect(ds.find((d) => d.code === "bad-format")!.span).toBe(e.format!.span);
  });

  it("rejects an invalid regular expression in matches", () => {
    const c = cmp("@branch", "matches", "([a-z");
    const rb = rbWithSteps(baseDecls(), step("S", { when: c }));
    const [d] = diagsOf(rb);
    expect(d!.code).toBe("bad-regex");
    expect(d!.span).toBe(c.right.span);
  });
});

describe("kinds", () => {
  it.each([
    ["a host used as a database", () => step("S", {}, sql("portal", "select 1")), "`portal` is a host, not a database"],
    ["a database used as a host", () => step("S", { on: "appdb" }), "`appdb` is a database, not a host"],
    ["a var used as a host", () => step("S", { on: "home" }), "`home` is a var, not a host"],
    ["a secret used as a database", () => step("S", {}, importDb("db_password", "x")), "`db_password` is a secret, not a database"],
  ])("%s", (_, make, message) => {
    expect(diagsOf(rbWithSteps(baseDecls(), make())).map((d) => [d.code, d.message])).toEqual([["wrong-kind", message]]);
  });

  it("requires `password` to name a secret", () => {
    const d = mysql("db", "mysql://u@h/d", { password: "home" });
    const [diag] = diagsOf(runbook({ decls: [...baseDecls(), d] }));
    expect(diag).toMatchObject({ code: "wrong-kind", message: "`home` is a var, not a secret" });
    if (d.value.engine !== "mysql") throw new Error();
    expect(diag!.span).toBe(d.value.password!.span);
    expect(codes(runbook({ decls: [mysql("db", "mysql://u@h/d", { password: "nopw" })] }))).toEqual(["unknown-name"]);
  });

  it.each([
    ["a var's value", () => vr("x", "${portal}"), "wrong-kind"],
    ["a database path", () => sqlite("x", "${appdb}.bak"), "wrong-kind"],
    ["a var's value (secret)", () => vr("x", "${db_password}"), "secret-exposed"],
    ["a mysql url (secret)", () => mysql("x", "mysql://u:${db_password}@h/d"), "secret-exposed"],
  ])("rejects a host, database or secret in %s", (_, make, code) => {
    expect(codes(runbook({ decls: [...baseDecls(), make()] }))).toEqual([code]);
  });
});

describe("secrets", () => {
  const secretIn = (...body: Parameters<typeof step>[2][]) => codes(rbWithSteps(baseDecls(), step("S", { on: "portal" }, ...body)));
  it.each([
    ["run", () => run("mysql -p${db_password}")],
    ["undo", () => undo("echo ${db_password}")],
    ["sql", () => sql("appdb", "SET PASSWORD = ${db_password}")],
    ["edit replacement", () => edit("/etc/x", ["pw = x", "pw = ${db_password}"])],
    ["succeeds", () => require_(is(succeeds("check ${db_password}")))],
    ["query", () => require_(cmp(query("appdb", "select ${db_password}"), "==", "1"))],
    ["a compared string", () => require_(cmp(output("cat token"), "==", "${db_password}"))],
    ["the path of exists", () => require_(is(exists("/${db_password}")))],
  ])("are allowed in %s", (_, make) => {
    expect(secretIn(make())).toEqual([]);
  });

  it.each([
    ["a path", () => upload("${db_password}", "/tmp/x")],
    ["a path", () => download("/tmp/x", "${db_password}")],
    ["a path", () => edit("/etc/${db_password}")],
    ["a condition", () => require_(cmp(list("${db_password}"), "contains", "x"))],
  ])("are refused in %s", (what, make) => {
    const [d] = diagsOf(rbWithSteps(baseDecls(), step("S", { on: "portal" }, make())));
    expect(d).toMatchObject({ severity: "error", code: "secret-exposed", message: `secret \`db_password\` can't be used in ${what}: it would be shown` });
  });

  // The contract: a secret is never shown; "everywhere it would appear, *** appears instead".
  it.each([
    ["a note", () => note("pw ${db_password}")],
    ["a confirmation", () => confirm("pw ${db_password}?")],
    ["manual instructions", () => manual("type ${db_password}")],
    ["a `require` message", () => require_(is(true), "no ${db_password}")],
  ])("in %s show as *** with a warning", (what, make) => {
    const [d] = diagsOf(rbWithSteps(baseDecls(), step("S", { on: "portal" }, make())));
    expect(d).toMatchObject({ severity: "warning", code: "secret-exposed", message: `secret \`db_password\` in ${what} is shown as \`***\`, never as its value` });
  });

  it("in titles show as *** with a warning", () => {
    const ds = diagsOf(rbWithSteps(baseDecls(), step("Use ${db_password}", {})));
    expect(ds.map((d) => [d.severity, d.code])).toEqual([["warning", "secret-exposed"]]);
  });
});

describe("sync", () => {
  const envs = () => [env("dev"), env("uat"), env("live"), env("prod", { protected: true })];
  const decls = () => [...baseDecls(), param("target", "dev"), vr("fixed", "dev"), vr("copy", "${fixed}"), vr("fromParam", "${target}"), vr("label", "${run.user}")];
  it.each([
    ["no guard", undefined, undefined, ["sync-from-self", "sync-into-protected"]],
    ["when env != prod", cmp("@env", "!=", "prod"), undefined, ["sync-from-self"]],
    ["when env == dev", cmp("@env", "==", "dev"), undefined, []],
    ["unless env == live", undefined, cmp("@env", "==", "live"), ["sync-into-protected"]],
    ["unless env in [live, prod]", undefined, cmp("@env", "in", list("live", "prod")), []],
    ["when env in [dev, uat]", cmp("@env", "in", list("dev", "uat")), undefined, []],
    ["when a probe", is(succeeds("true")), undefined, ["sync-from-self", "sync-into-protected"]],
    ["when a var", cmp("@fixed", "==", "@env"), undefined, []],
    ["when a var using a var", cmp("@env", "==", "${copy}"), undefined, []],
    ["when a param (--set can change it)", cmp("@target", "==", "@env"), undefined, ["sync-from-self", "sync-into-protected"]],
    ["when a var using a param", cmp("@fromParam", "==", "@env"), undefined, ["sync-from-self", "sync-into-protected"]],
    ["when a var using a run value", cmp("@label", "==", "@env"), undefined, ["sync-from-self", "sync-into-protected"]],
    ["when a probe and not prod or live", and(is(exists("/x")), not(cmp("@env", "in", list("prod", "live")))), undefined, []],
    ["when a probe or dev", or(is(exists("/x")), cmp("@env", "==", "dev")), undefined, ["sync-from-self", "sync-into-protected"]],
  ])("into a protected env: %s", (_, when, unless, expected) => {
    const rb = runbook({
      decls: decls(),
      envs: envs(),
      items: [step("S", { ...(when ? { when } : {}), ...(unless ? { unless } : {}) }, sync("appdb", "live", "appdb"), undo("x"))],
    });
    expect(codes(rb).sort()).toEqual(expected);
  });

  it("reports at the sync statement, naming the env", () => {
    const s = sync("appdb", "live", "appdb");
    const rb = runbook({ decls: decls(), envs: envs(), items: [step("S", { unless: cmp("@env", "==", "live") }, s, undo("x"))] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({
      code: "sync-into-protected",
      message: "`sync` would write into `appdb` in protected env `prod`",
      notes: ['syncing into a protected env is refused: guard the step with `when env != "prod"`'],
    });
    expect(d!.span).toBe(s.span);
  });

  it("rejects syncing a database from itself", () => {
    const s = sync("appdb", "dev", "appdb");
    const rb = runbook({ decls: decls(), envs: envs(), items: [step("S", { when: cmp("@env", "!=", "prod") }, s)] });
    const [d] = diagsOf(rb);
    expect(d).toMatchObject({ code: "sync-from-self", message: "in env `dev` this copies `appdb` onto itself" });
    if (s.kind !== "sync") throw new Error();
    expect(d!.span).toBe(s.fromEnv.span);
    const guarded = runbook({ decls: decls(), envs: envs(), items: [step("S", { when: cmp("@env", "==", "uat") }, sync("appdb", "dev", "appdb"))] });
    expect(check(guarded)).toEqual([]);
  });
});

describe("warnings", () => {
  it.each([
    ["a run without undo", [run("x")], ["missing-undo"]],
    ["a run with undo", [run("x"), undo("y")], []],
    ["an edit alone", [edit("/x", ["a", "b"])], []],
    ["an edit and a run", [edit("/x", ["a", "b"]), run("x")], ["missing-undo"]],
    ["an upload", [upload("a", "b")], ["missing-undo"]],
    ["an import", [importDb("appdb", "b")], ["missing-undo"]],
    ["a read-only step", [note("x"), exportDb("appdb", "b.csv"), download("a", "b")], []],
  ])("missing-undo: %s", (_, body, expected) => {
    const rb = runbook({ decls: baseDecls(), envs: [env("dev"), env("prod", { protected: true })], items: [step("S", {}, ...body)] });
    expect(codes(rb)).toEqual(expected);
    const unprotected = runbook({ decls: baseDecls(), envs: [env("dev")], items: [step("S", {}, ...body)] });
    expect(codes(unprotected)).toEqual([]);
  });

  it("missing-undo: only for steps that can run in a protected env, not in finally", () => {
    const s = step("Dev only", { when: cmp("@env", "==", "dev") }, run("x"));
    const t = step("Everywhere", {}, run("x"));
    const rb = runbook({ decls: baseDecls(), envs: [env("dev"), env("prod", { protected: true })], items: [s, t], finally: [step("Cleanup", {}, run("y"))] });
    const ds = diagsOf(rb);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({
      severity: "warning",
      code: "missing-undo",
      message: "step `everywhere` makes changes but has no `undo`, and it can run in protected env `prod`",
    });
    expect(ds[0]!.span).toBe(t.title.span);
  });

  it.each([
    ["DROP TABLE x", "`DROP`"],
    ["truncate logs", "`TRUNCATE`"],
    ["DELETE FROM x", "`DELETE` without `WHERE`"],
    ["update x set a = 1", "`UPDATE` without `WHERE`"],
    ["ALTER TABLE x DROP COLUMN y", "`DROP`"],
  ])("destructive-sql: %s", (text, what) => {
    const rb = rbWithSteps(baseDecls(), step("S", {}, sql("appdb", text)));
    expect(diagsOf(rb).map((d) => [d.severity, d.code, d.message])).toEqual([
      ["warning", "destructive-sql", `destructive SQL (${what}) without a \`confirm\` before it in this step`],
    ]);
  });

  it.each([
    "DELETE FROM x WHERE id = 1",
    "UPDATE x SET a = 'drop table' WHERE b = 2",
    "SELECT 1 -- drop table x",
    "INSERT INTO log VALUES ('truncate') /* DROP */",
    "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
    "UPDATE t SET a = ${branch} WHERE id = ${home}",
  ])("destructive-sql: not for %s", (text) => {
    expect(codes(rbWithSteps(baseDecls(), step("S", {}, sql("appdb", text))))).toEqual([]);
  });

  it("destructive-sql: a confirm before the sql silences it, one after does not", () => {
    expect(codes(rbWithSteps(baseDecls(), step("S", {}, confirm("Sure?"), sql("appdb", "DROP TABLE x"))))).toEqual([]);
    expect(codes(rbWithSteps(baseDecls(), step("S", {}, sql("appdb", "DROP TABLE x"), confirm("Sure?"))))).toEqual(["destructive-sql"]);
  });

  it("destructive-sql: points at the keyword when the string maps to the source", () => {
    const s = sql("appdb", "select 1; drop table x");
    if (s.kind !== "sql") throw new Error();
    const part = s.text.parts[0]!;
    part.span = { file: "t.rb", offset: 20, line: 2, column: 15, length: 22 };
    const rb = rbWithSteps(baseDecls(), step("S", {}, s));
    rb.sources = [{ file: "t.rb", text: " ".repeat(20) + "select 1; drop table x" }];
    const [d] = diagsOf(rb);
    expect(d!.span).toEqual({ file: "t.rb", offset: 30, line: 2, column: 25, length: 4 });
  });

  it.each([
    [host("g", ["a@x", "b@y"]), []],
    [host("g", "a@x"), ["parallel-without-group"]],
  ])("parallel-without-group %#", (h, expected) => {
    expect(codes(runbook({ decls: [h], items: [step("S", { on: "g" }, parallel(2))] }))).toEqual(expected);
  });

  it("parallel-without-group: a group in some env is fine; no host warns", () => {
    const rb = runbook({ decls: [host("g", "a@x")], envs: [env("prod", { overrides: [host("g", ["a@x", "b@y"])] })], items: [step("S", { on: "g" }, parallel(2))] });
    expect(check(rb)).toEqual([]);
    const p = parallel(2);
    const [d] = diagsOf(runbook({ items: [step("S", {}, p)] }));
    expect(d).toMatchObject({ severity: "warning", code: "parallel-without-group" });
    expect(d!.span).toBe(p.span);
  });

  it.each([
    ["select count(*) from t", []],
    ["SELECT * FROM t FOR UPDATE", []],
    ["delete from t", ["query-not-read-only"]],
    ["WITH x AS (SELECT 1) DELETE FROM t", ["query-not-read-only"]],
    ["select 1; drop table t", ["query-not-read-only"]],
    ["select replace(a, 'x', 'y') from t", []],
  ])("query probes are read-only: %s", (text, expected) => {
    expect(codes(rbWithSteps(baseDecls(), step("S", { when: cmp(query("appdb", text), "==", "1") })))).toEqual(expected);
  });
});

describe("helpers", () => {
  it.each([
    ["home", "home", 0],
    ["hmoe", "home", 1],
    ["hom", "home", 1],
    ["branch", "brnach", 1],
    ["abc", "xyz", 3],
    ["kitten", "sitting", 3],
  ])("editDistance(%s, %s) = %i (capped at 3)", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });

  it.each([
    ["hom", ["home", "host"], "home"],
    ["ab", ["xy"], undefined],
    ["Home", ["home"], "home"],
    ["prodd", ["dev", "prod"], "prod"],
  ])("closest(%s)", (name, candidates, expected) => {
    expect(closest(name, candidates)).toBe(expected);
  });

  it("splits SQL into statements of words outside strings and comments", () => {
    expect(sqlStatements("select 'a;b' from t; -- x;\n delete /* ; */ from \"x;y\"").map((s) => s.map((w) => w.word))).toEqual([
      ["SELECT", "FROM", "T"],
      ["DELETE", "FROM"],
    ]);
    expect(destructiveSql("update t set a='it''s'")).toHaveLength(1);
  });
});

describe("speed", () => {
  it("checks 10,000 steps in one linear pass", () => {
    const decls = [...baseDecls(), ...Array.from({ length: 500 }, (_, i) => vr(`v${i}`, `\${home}/${i}`))];
    const steps = Array.from({ length: 10_000 }, (_, i) =>
      step(`Step ${i}`, { on: "portal", when: cmp("@env", "!=", "prod") }, run(`echo \${v${i % 500}} \${brnch}`), undo("x"), sync("appdb", "prod", "appdb")),
    );
    const rb = runbook({ decls, envs: [env("dev"), env("uat"), env("prod", { protected: true })], items: [section("All", ...steps)] });
    const t = performance.now();
    const ds = check(rb);
    const ms = performance.now() - t;
    expect(ds).toHaveLength(10_000); // each `${brnch}`
    // not a timing assertion: logged to spot a regression by eye
    console.log(`check: 10,000 steps in ${ms.toFixed(1)} ms`);
  });
});

describe("checker: conditions shared by steps", () => {
  // canRunIn works out a condition once per source text; steps with other texts (or the
  // same text under `unless`) must still get their own answer.
  it("each step gets the answer of its own condition", async () => {
    const { compileSource } = await import("../../language/compile.js");
    const src = [
      'runbook "r" version "1.0.0"',
      "env dev {}",
      "env prod { protected }",
      'step "A" when env != "prod" { run "a" }',
      'step "B" when env == "prod" { run "b" }',
      'step "C" when env != "prod" { run "c" }',
      'step "D" unless env != "prod" { run "d" }',
      'step "E" { run "e" }',
      'step "F" when env != "prod" unless env == "dev" { run "f" }',
    ].join("\n");
    const r = compileSource(src, "r.rb");
    const warned = r.diagnostics.filter((d) => d.code === "missing-undo").map((d) => src.slice(d.span.offset, d.span.offset + d.span.length));
    expect(warned).toEqual(['"B"', '"D"', '"E"']);
  });
});
