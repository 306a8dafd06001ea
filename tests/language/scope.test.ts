// Tests of env scope evaluation (language/scope.ts): env selection, the scope of an
// env, value resolution, `${…}` resolution and the static truth of conditions.

import { describe, expect, it } from "vitest";
import type { Cond } from "../../language/ast.js";
import {
  checkSets,
  compareOrdered,
  valuesEqual,
  compareVersions,
  envNames,
  envScope,
  evalStatic,
  resolveInterp,
  resolveValues,
  selectEnv,
} from "../../language/scope.js";
import {
  and,
  bool,
  cmp,
  dur,
  env,
  exists,
  group,
  host,
  interps,
  is,
  list,
  mysql,
  not,
  num,
  or,
  output,
  param,
  query,
  runbook,
  secret,
  sqlite,
  str,
  succeeds,
  vr,
} from "./build-ast.js";

const haiti = () =>
  runbook({
    decls: [
      param("branch", "haiti"),
      param("count", num(3)),
      param("tags", list("a", "b", "c")),
      vr("home", "/home/haiti"),
      vr("app", "prod"),
      vr("web2py", "${home}/web2py"),
      vr("dbfile", "${web2py}/applications/${app}/databases/storage.sqlite"),
      vr("label", "${env}-${run.id}"),
      vr("prodhome", "${prod.home}"),
      vr("timeout", dur("30s")),
      vr("flag", bool(true)),
      vr("version", "1.10.0"),
      secret("pw"),
      host("portal", "haiti@haiti.example.org"),
      sqlite("appdb", "${dbfile}", "portal"),
    ],
    envs: [
      env("dev", { overrides: [vr("home", "/home/haiti-dev"), vr("app", "dev"), mysql("appdb", "mysql://u@h/d", { password: "pw" })] }),
      env("uat", { overrides: [vr("home", "/home/haiti-test"), vr("app", "test"), param("branch", "uat-branch")] }),
      env("prod", { protected: true }),
    ],
  });

describe("envs", () => {
  it("lists env names in source order", () => {
    expect(envNames(haiti())).toEqual(["dev", "uat", "prod"]);
  });

  it.each([
    [{ envs: ["dev", "prod"] }, "prod", { env: "prod" }],
    [{ envs: ["dev", "prod"] }, "qa", { error: "unknown env `qa`: the envs are dev, prod" }],
    [{ envs: ["dev", "prod"], default: "dev" }, undefined, { env: "dev" }],
    [{ envs: ["dev", "prod"] }, undefined, { error: "this runbook has several envs (dev, prod): choose one with --env" }],
    [{ envs: ["dev"] }, undefined, { env: "dev" }],
    [{ envs: [] }, undefined, { env: "default" }],
    [{ envs: [] }, "default", { env: "default" }],
    [{ envs: [] }, "dev", { error: "unknown env `dev`: this runbook has no env blocks, its one env is `default`" }],
    [{ envs: ["dev", "prod"], default: "qa" }, undefined, { error: "unknown env `qa`: the envs are dev, prod" }],
  ])("selectEnv %j %s", (shape: { envs: string[]; default?: string }, requested, expected) => {
    const rb = runbook({ envs: shape.envs.map((e) => env(e)), ...(shape.default ? { defaultEnv: shape.default } : {}) });
    expect(selectEnv(rb, requested)).toEqual(expected);
  });

  it("gives each env its declarations in force", () => {
    const rb = haiti();
    const dev = envScope(rb, "dev");
    expect(dev).toMatchObject({ env: "dev", protected: false });
    expect(dev.block).toBe(rb.envs[0]);
    expect(dev.decls.get("home")).toBe(rb.envs[0]!.overrides[0]);
    expect(dev.decls.get("web2py")).toBe(rb.decls[5]);
    const appdb = dev.decls.get("appdb");
    expect(appdb?.kind === "database" && appdb.value.engine).toBe("mysql");
    const prod = envScope(rb, "prod");
    expect(prod.protected).toBe(true);
    expect(prod.decls.get("home")).toBe(rb.decls[3]);
    expect(envScope(rb, "default").block).toBeUndefined();
  });

  it("ignores overrides of undeclared names (the checker reports them)", () => {
    const rb = runbook({ decls: [vr("a", "1")], envs: [env("dev", { overrides: [vr("b", "2"), vr("a", "3"), vr("a", "4")] })] });
    const s = envScope(rb, "dev");
    expect([...s.decls.keys()]).toEqual(["a"]);
    expect(resolveValues(rb, "dev").get("a")).toBe("3");
  });
});

describe("resolveValues", () => {
  it.each([
    ["prod", "home", "/home/haiti"],
    ["dev", "home", "/home/haiti-dev"],
    ["dev", "web2py", "/home/haiti-dev/web2py"],
    ["dev", "dbfile", "/home/haiti-dev/web2py/applications/dev/databases/storage.sqlite"],
    ["uat", "dbfile", "/home/haiti-test/web2py/applications/test/databases/storage.sqlite"],
    ["uat", "branch", "uat-branch"],
    ["prod", "branch", "haiti"],
    ["prod", "count", "3"],
    ["prod", "tags", "a b c"],
    ["prod", "timeout", "30s"],
    ["prod", "flag", "true"],
    ["dev", "prodhome", "/home/haiti"],
    ["dev", "label", "dev-${run.id}"],
  ])("in %s, %s = %s", (envName, name, value) => {
    expect(resolveValues(haiti(), envName).get(name)).toBe(value);
  });

  it("holds params and vars only", () => {
    const values = resolveValues(haiti(), "prod");
    expect(values.has("pw")).toBe(false);
    expect(values.has("portal")).toBe(false);
    expect(values.has("appdb")).toBe(false);
  });

  it.each([
    [{ branch: "r600" }, "dev", "branch", "r600"],
    [{ branch: "r600" }, "uat", "branch", "r600"],
    [{ home: "/elsewhere" }, "dev", "home", "/home/haiti-dev"], // a var: not settable
    [{ branch: "${home}" }, "dev", "branch", "${home}"], // set values are taken as they are
  ])("--set %j in %s: %s = %s", (sets, envName, name, value) => {
    expect(resolveValues(haiti(), envName, { sets }).get(name)).toBe(value);
  });

  it("fills in builtins", () => {
    const values = resolveValues(haiti(), "dev", { builtins: { "run.id": "r-42" } });
    expect(values.get("label")).toBe("dev-r-42");
  });

  it("applies --set NAME to another env's value where that env keeps the top-level one, and --set ENV.NAME to that env", () => {
    const rb = runbook({
      decls: [param("p", "declared"), param("own", "top"), vr("other", "${prod.p}"), vr("otherOwn", "${prod.own}"), vr("derived", "${prod.path}"), vr("path", "/data/${p}")],
      envs: [env("dev"), env("prod", { overrides: [param("own", "prod's")] })],
    });
    const values = resolveValues(rb, "dev", { sets: { p: "set", own: "mine" } });
    expect(values.get("p")).toBe("set");
    expect(values.get("other")).toBe("set");
    expect(values.get("derived")).toBe("/data/set"); // through another of prod's values
    expect(values.get("own")).toBe("mine");
    expect(values.get("otherOwn")).toBe("prod's"); // prod gives it a value of its own: a dev run's --set does not reach it
    const aimed = resolveValues(rb, "dev", { sets: { "prod.own": "aimed", "prod.p": "only prod" } });
    expect(aimed.get("otherOwn")).toBe("aimed");
    expect(aimed.get("other")).toBe("only prod");
    expect(aimed.get("p")).toBe("declared"); // prod.p is prod's alone
    expect(resolveValues(rb, "dev", { sets: { p: "plain", "prod.p": "aimed" } }).get("other")).toBe("aimed"); // ENV.NAME wins
  });

  it("terminates on cycles, leaving the reference as written", () => {
    const rb = runbook({ decls: [vr("a", "x${b}"), vr("b", "y${a}"), vr("c", "${c}!")] });
    const values = resolveValues(rb, "default");
    expect(values.get("a")).toBe("xy${a}");
    expect(values.get("c")).toBe("${c}!");
  });

  it("leaves secrets and hosts in values as written", () => {
    const rb = runbook({ decls: [secret("pw"), host("h", "a@b"), vr("v", "${pw}@${h}")] });
    expect(resolveValues(rb, "default").get("v")).toBe("${pw}@${h}");
  });
});

describe("resolveInterp", () => {
  const resolve = (text: string, envName = "dev", builtins?: Record<string, string>) => {
    const rb = haiti();
    const scope = envScope(rb, envName);
    const values = resolveValues(rb, envName, builtins ? { builtins } : undefined);
    return resolveInterp(interps(str(text))[0]!, scope, values, rb, builtins);
  };

  it.each([
    ["${home}", { kind: "text", value: "/home/haiti-dev" }],
    ["${raw web2py}", { kind: "text", value: "/home/haiti-dev/web2py" }],
    ["${env}", { kind: "text", value: "dev" }],
    ["${pw}", { kind: "secret", name: "pw" }],
    ["${portal}", { kind: "host", name: "portal" }],
    ["${appdb}", { kind: "database", name: "appdb" }],
    ["${prod.home}", { kind: "text", value: "/home/haiti" }],
    ["${uat.web2py}", { kind: "text", value: "/home/haiti-test/web2py" }],
    ["${dev.home}", { kind: "text", value: "/home/haiti-dev" }],
  ])("%s", (text, expected) => {
    expect(resolve(text)).toEqual(expected);
  });

  it.each([
    ["${nope}", "unknown name `nope`"],
    ["${run.id}", "`run.id` is known only while the runbook runs"],
    ["${run.x}", "`run` has no member `x`"],
    ["${prod.nope}", "env `prod` has no `nope`: no param or var `nope` is declared at top level"],
    ["${prod.portal}", "`prod.portal` is a host: only another env's params and vars can be read"],
    ["${qa.home}", "unknown env `qa`"],
    ["${home.x}", "`home` is a var and has no member `x`"],
    ["${a.b.c}", "`a.b.c` has too many parts: write `name` or `env.name`"],
  ])("%s is unknown", (text, reason) => {
    expect(resolve(text)).toEqual({ kind: "unknown", reason });
  });

  it("reads run values from builtins", () => {
    expect(resolve("${run.id}", "dev", { "run.id": "r-1" })).toEqual({ kind: "text", value: "r-1" });
    expect(resolve("${run.user}", "dev", { "run.user": "fran" })).toEqual({ kind: "text", value: "fran" });
  });
});

describe("evalStatic", () => {
  const rb = haiti();
  const evalIn = (cond: Cond, envName: string) => evalStatic(cond, envScope(rb, envName), resolveValues(rb, envName));

  it.each<[string, () => Cond, Record<string, boolean | "probe">]>([
    ['env == "prod"', () => cmp("@env", "==", "prod"), { dev: false, prod: true }],
    ['env != "prod"', () => cmp("@env", "!=", "prod"), { dev: true, prod: false }],
    ['env in ["dev", "uat"]', () => cmp("@env", "in", list("dev", "uat")), { dev: true, uat: true, prod: false }],
    ['"prod" == env', () => cmp("prod", "==", "@env"), { dev: false, prod: true }],
    ['app == "dev"', () => cmp("@app", "==", "dev"), { dev: true, uat: false, prod: false }],
    ['home contains "-dev"', () => cmp("@home", "contains", "-dev"), { dev: true, prod: false }],
    ['tags contains "b"', () => cmp("@tags", "contains", "b"), { dev: true }],
    ['tags contains "a b"', () => cmp("@tags", "contains", "a b"), { dev: false }],
    ['"b" in tags', () => cmp("b", "in", "@tags"), { dev: true }],
    ['"x" in tags', () => cmp("x", "in", "@tags"), { dev: false }],
    ['branch matches "^uat"', () => cmp("@branch", "matches", "^uat"), { uat: true, dev: false }],
    ['"${home}/x" == "/home/haiti/x"', () => cmp("${home}/x", "==", "/home/haiti/x"), { prod: true, dev: false }],
    ["count == 3.0", () => cmp("@count", "==", num(3.0)), { dev: true }],
    ['count == "03"', () => cmp("@count", "==", "03"), { dev: true }],
    ["count > 2", () => cmp("@count", ">", 2), { dev: true }],
    ["count <= 2", () => cmp("@count", "<=", 2), { dev: false }],
    ['"10" > "9" (numbers)', () => cmp("10", ">", "9"), { dev: true }],
    ['version > "1.9.2" (versions)', () => cmp("@version", ">", "1.9.2"), { dev: true }],
    ['version < "1.10.0-rc.1"', () => cmp("@version", "<", "1.10.0-rc.1"), { dev: false }],
    ['"b" > "a" (strings)', () => cmp("b", ">", "a"), { dev: true }],
    ["flag", () => is("@flag"), { dev: true }],
    ['""', () => is(""), { dev: false }],
    ['"0"', () => is("0"), { dev: false }],
    ["false", () => is(false), { dev: false }],
    ["[]", () => is(list()), { dev: false }],
    ["prod.home == home", () => cmp("@prod.home", "==", "@home"), { dev: false, prod: true }],
    ["run.user == x", () => cmp("@run.user", "==", "x"), { dev: "probe" }],
    ["succeeds", () => is(succeeds("true")), { dev: "probe" }],
    ["exists", () => is(exists("/x")), { dev: "probe" }],
    ['output == "x"', () => cmp(output("x"), "==", "x"), { dev: "probe" }],
    ['query == "1"', () => cmp(query("appdb", "select 1"), "==", "1"), { dev: "probe" }],
    ["pw (a secret)", () => is("@pw"), { dev: "probe" }],
    ['"${pw}" == "x"', () => cmp("${pw}", "==", "x"), { dev: "probe" }],
    ['not env == "prod"', () => not(cmp("@env", "==", "prod")), { dev: true, prod: false }],
    ["not probe", () => not(is(exists("/x"))), { dev: "probe" }],
    ['probe and env == "prod"', () => and(is(exists("/x")), cmp("@env", "==", "prod")), { dev: false, prod: "probe" }],
    ['probe or env == "prod"', () => or(is(exists("/x")), cmp("@env", "==", "prod")), { dev: "probe", prod: true }],
    ['(env == "dev" or env == "uat") and app != "x"', () => and(group(or(cmp("@env", "==", "dev"), cmp("@env", "==", "uat"))), cmp("@app", "!=", "x")), { dev: true, uat: true, prod: false }],
    ['branch matches "(" (invalid)', () => cmp("@branch", "matches", "("), { dev: "probe" }],
  ])("%s", (_, make, expected) => {
    const cond = make();
    for (const [envName, value] of Object.entries(expected)) expect([envName, evalIn(cond, envName)]).toEqual([envName, value]);
  });

  it("reads builtins and other envs from an explicit context", () => {
    const scope = envScope(rb, "dev");
    const values = resolveValues(rb, "dev");
    expect(evalStatic(cmp("@run.user", "==", "fran"), scope, values, { builtins: { "run.user": "fran" } })).toBe(true);
    const bare = { ...scope }; // not made by envScope: no runbook known
    expect(evalStatic(cmp("@prod.home", "==", "/home/haiti"), bare, values)).toBe("probe");
    expect(evalStatic(cmp("@prod.home", "==", "/home/haiti"), bare, values, { rb })).toBe(true);
  });

  it("uses --set values", () => {
    const scope = envScope(rb, "dev");
    expect(evalStatic(cmp("@branch", "==", "r600"), scope, resolveValues(rb, "dev", { sets: { branch: "r600" } }))).toBe(true);
  });

  it("keeps a list's items whole: an item with spaces is one item", () => {
    const lr = runbook({ decls: [vr("items", list("a b", "c"))], envs: [env("dev"), env("prod", { overrides: [vr("items", list("x y"))] })] });
    const inDev = (cond: Cond, sets?: Record<string, string>) => evalStatic(cond, envScope(lr, "dev"), resolveValues(lr, "dev", { sets }));
    expect(inDev(cmp("@items", "contains", "a b"))).toBe(true);
    expect(inDev(cmp("@items", "contains", "a"))).toBe(false);
    expect(inDev(cmp("a b", "in", "@items"))).toBe(true);
    expect(inDev(cmp("b", "in", "@items"))).toBe(false);
    expect(inDev(cmp("@prod.items", "contains", "x y"))).toBe(true);
    expect(inDev(cmp("@prod.items", "contains", "x"))).toBe(false);
    expect(inDev(is("@items"))).toBe(true);
  });

  it("a list param given another value with --set is split on whitespace", () => {
    const lr = runbook({ decls: [param("targets", list("dev", "uat"))] });
    const scope = envScope(lr, "default");
    expect(evalStatic(cmp("qa", "in", "@targets"), scope, resolveValues(lr, "default", { sets: { targets: "qa prod" } }))).toBe(true);
    expect(evalStatic(cmp("uat", "in", "@targets"), scope, resolveValues(lr, "default", { sets: { targets: "qa prod" } }))).toBe(false);
  });

  it.each([
    ["timeout == 30000ms", () => cmp("@timeout", "==", dur("30000ms")), true],
    ["timeout < 1m", () => cmp("@timeout", "<", dur("1m")), true],
    ["timeout > 1m", () => cmp("@timeout", ">", dur("1m")), false],
  ])("durations: %s", (_, make, expected) => {
    expect(evalIn(make(), "dev")).toBe(expected);
  });
});

describe("comparisons", () => {
  it.each([
    ["1.10.0", "1.9.2", 1],
    ["1.0.0", "1.0.0", 0],
    ["v2", "1.5.3", 1],
    ["1.0.0-rc.1", "1.0.0", -1],
    ["1.0.0-alpha", "1.0.0-beta", -1],
    ["1.0.0-rc.2", "1.0.0-rc.10", -1],
    ["1.0.0-1", "1.0.0-alpha", -1],
    ["abc", "1.0", undefined],
  ])("compareVersions(%s, %s) = %s", (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });

  it.each([
    ["10", "9", 1],
    ["2.5", "10", -1],
    ["1.10", "1.9", -1], // both are numbers, so compared as numbers (1.1 < 1.9)
    ["1.10.0", "1.9.0", 1], // versions
    ["b", "a", 1],
    ["a", "a", 0],
    ["30s", "1m", -1], // durations: by length, not as text ("3" > "1")
    ["1h30m", "90m", 0],
    ["500ms", "1s", -1],
    ["2d", "47h", 1],
    // exact where a double is not: integers past 2^53, decimals of many digits
    ["9007199254740993", "9007199254740992", 1],
    ["-9007199254740993", "-9007199254740992", -1],
    ["0.1000000000000000001", "0.1", 1],
    ["12.30", "12.3", 0],
    ["-0", "0", 0],
    ["007", "7", 0],
    [".5", "0.50", 0],
    ["-1.5", "-1.25", -1],
    ["+3", "3.0", 0],
    ["1e3", "999", 1], // an exponent: compared as doubles
  ])("compareOrdered(%s, %s) = %i", (a, b, expected) => {
    expect(compareOrdered(a, b)).toBe(expected);
  });

  it("== tells apart integers a double cannot (a query's 9007199254740993 is not 9007199254740992)", () => {
    expect(valuesEqual("9007199254740993", "9007199254740992")).toBe(false);
    expect(valuesEqual("9007199254740993", "9007199254740993.0")).toBe(true);
    expect(valuesEqual("12.30", "12.3")).toBe(true);
    expect(valuesEqual("0.1000000000000000001", "0.1")).toBe(false);
  });
});

describe("checkSets", () => {
  it.each([
    [{ branch: "x" }, []],
    [{ nope: "x" }, ["--set nope: no param `nope` is declared"]],
    [{ home: "x" }, ["--set home: `home` is a var, and only params can be set"]],
    [{ "prod.branch": "x" }, []],
    [{ "prod.nope": "x" }, ["--set prod.nope: no param `nope` is declared"]],
    [{ "prod.home": "x" }, ["--set prod.home: `home` is a var, and only params can be set"]],
    [{ "qa.branch": "x" }, ["--set qa.branch: no env `qa` (the envs are dev, uat, prod)"]],
  ])("%j", (sets, expected) => {
    expect(checkSets(haiti(), sets)).toEqual(expected);
  });
});
