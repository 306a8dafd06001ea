// The planner and the plan views: golden text plans for every bundled runbook in
// every env, markdown for --env all, quoting of interpolated values, and secrets
// that never appear in a plan.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile, compileSource } from "../../language/compile.js";
import { envNames } from "../../language/scope.js";
import { buildPlan, parseSets } from "../../runtime/planner.js";
import { showText, type Plan } from "../../runtime/plan.js";
import { renderPlanMarkdown, renderPlanText } from "../../cli/views/plan.js";
import { golden as goldenFile } from "../support/golden.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");

function golden(name: string, actual: string): void {
  goldenFile(join(here, "golden", name), actual);
}

function planOf(src: string, env: string, sets: Record<string, string> = {}): Plan {
  const { runbook, diagnostics } = compileSource(src, "t.rb");
  if (!runbook) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const r = buildPlan(runbook, { env, sets, runId: "RUN1" });
  if ("error" in r) throw new Error(r.error);
  return r.plan;
}

const runbooks = ["haiti-release", "haiti-sandbox", "cert-rotation", "orders-db-failover"];
const cases = runbooks.flatMap((name) => {
  const file = join("runbooks", `${name}.rb`);
  const { runbook } = compile(join(root, file));
  return runbook ? envNames(runbook).map((env) => [name, env] as const) : [[name, "?"] as const];
});

describe("golden plans", () => {
  it.each(cases)("%s in env %s", (name, env) => {
    const file = join(root, "runbooks", `${name}.rb`);
    const { runbook, diagnostics } = compile(file);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const r = buildPlan(runbook!, { env });
    if ("error" in r) throw new Error(r.error);
    golden(`${name}.${env}.txt`, renderPlanText(r.plan).replaceAll(root, "<root>"));
  });

  it("haiti-release for every env as markdown", () => {
    const { runbook } = compile(join(root, "runbooks/haiti-release.rb"));
    const plans = envNames(runbook!).map((env) => {
      const r = buildPlan(runbook!, { env });
      if ("error" in r) throw new Error(r.error);
      return r.plan;
    });
    const md = renderPlanMarkdown(plans);
    expect(md).toContain("| `inform-testers` Inform testers | skipped | runs | skipped |");
    golden("haiti-release.all.md", md);
  });
});

describe("markdown plans", () => {
  it("keep a command with backticks in one code span, and a multi-line undo in a fenced block inside its item", () => {
    const plan = planOf(
      'runbook "t" version "1.0.0"\nstep "Stamp" as stamp {\n  run "echo `date` > stamp"\n  undo {\n    edit "cfg" { replace "a" with "b" }\n  }\n}\nsection "Later" {\n  step "Two" as two { run "true" }\n}\n',
      "default",
    );
    const md = renderPlanMarkdown([plan]);
    expect(md).toContain("  - ``$ echo `date` > stamp``\n");
    expect(md).toMatch(/\n {2}- undo:\n {4}```\n {4}edit cfg\n {4} {2}replace "a" with "b"\n {4}```\n/);
    // A heading is never glued to the list before it.
    expect(md).toMatch(/\n\n### Later\n\n/);
  });
});

const base = `runbook "t" version "1.0.0"
param who = "world"
secret token = env "T_TOKEN"
database db = sqlite "app.db"
env dev {
}
env prod {
  protected
  confirm "Really?"
}
`;

describe("planner", () => {
  it.each([
    ["a plain word stays bare", "world", "echo hello world"],
    ["spaces make one quoted word", "big world", "echo hello 'big world'"],
    ["an injection attempt stays one word", "'; touch pwned #", "echo hello ''\\''; touch pwned #'"],
    ["a dollar is not expanded", "$HOME", "echo hello '$HOME'"],
  ])("--set: %s", (_title, value, expected) => {
    const plan = planOf(`${base}step "Greet" {\n  run "echo hello \${who}"\n}\n`, "dev", { who: value });
    const run = plan.steps[0]!.actions[0]!;
    expect(run.kind).toBe("run");
    expect(run.kind === "run" && showText(run.command)).toBe(expected);
  });

  it("inserts raw values as they are", () => {
    const plan = planOf(`${base}step "Greet" {\n  run "echo \${raw who}"\n}\n`, "dev", { who: "a; b" });
    const run = plan.steps[0]!.actions[0]!;
    expect(run.kind === "run" && showText(run.command)).toBe("echo a; b");
  });

  it("keeps secrets as references, shown as ***", () => {
    process.env.T_TOKEN = "s3cr3t-value";
    try {
      const plan = planOf(`${base}step "Call" {\n  run "curl -H \${token} x"\n}\n`, "dev");
      const run = plan.steps[0]!.actions[0]!;
      expect(run.kind === "run" && run.command).toEqual(["curl -H ", { ref: '"${__rb_1}"', name: "token", context: "word", secret: "token" }, " x"]);
      expect(JSON.stringify(plan)).not.toContain("s3cr3t-value");
      expect(renderPlanText(plan)).toContain("curl -H *** x");
    } finally {
      delete process.env.T_TOKEN;
    }
  });

  it("marks a statement MySQL commits at once among others of one sql, in text and markdown", () => {
    const src = `runbook "d" version "1.0.0"\ndatabase m = mysql "mysql://u@127.0.0.1/x"\ndatabase s = sqlite "x.db"\nstep "Add" {\n  sql m "INSERT INTO c VALUES (1); ALTER TABLE c ADD COLUMN phone TEXT"\n  sql s "INSERT INTO c VALUES (1); ALTER TABLE c ADD COLUMN phone TEXT"\n}\n`;
    const compiled = compileSource(src, "/virtual/d.rb");
    const built = buildPlan(compiled.runbook!, { env: "default" });
    if ("error" in built) throw new Error(built.error);
    for (const shown of [renderPlanText(built.plan), renderPlanMarkdown([built.plan])]) {
      expect(shown.match(/commits at once: ALTER TABLE c ADD COLUMN phone TEXT/g)).toHaveLength(1);
    }
  });

  it("quotes values in SQL as literals", () => {
    const plan = planOf(`${base}step "Q" {\n  sql db "DELETE FROM t WHERE name = \${who}"\n  confirm "ok?"\n}\n`, "dev", { who: "x' OR '1'='1" });
    const sql = plan.steps[0]!.actions[0]!;
    expect(sql.kind === "sql" && showText(sql.sql)).toBe("DELETE FROM t WHERE name = 'x'' OR ''1''=''1'");
  });

  it("decides env conditions statically and says why a step is skipped", () => {
    const src = `${base}step "Only prod" when env == "prod" {\n  note "hi"\n}\nstep "Not prod" unless env == "prod" {\n  note "hi"\n}\n`;
    const dev = planOf(src, "dev");
    expect(dev.steps.map((s) => s.skip ?? "runs")).toEqual(['when env == "prod" is false in env dev', "runs"]);
    const prod = planOf(src, "prod");
    expect(prod.steps.map((s) => s.skip ?? "runs")).toEqual(["runs", 'unless env == "prod" is true in env prod']);
    expect(prod.protected).toBe(true);
    expect(prod.envConfirms).toEqual(["Really?"]);
  });

  it("leaves probes for run time", () => {
    const plan = planOf(`${base}step "P" when exists "/etc/x" {\n  note "hi"\n}\n`, "dev");
    expect(plan.steps[0]!.skip).toBeUndefined();
    expect(plan.steps[0]!.guards[0]!.static).toBe("probe");
  });

  it.each([
    [["who=x"], { sets: { who: "x" } }],
    [["who=a=b"], { sets: { who: "a=b" } }],
    [["who"], { error: "--set who: expected NAME=VALUE" }],
  ])("parses --set %j", (pairs, expected) => {
    expect(parseSets(pairs)).toEqual(expected);
  });

  it.each([
    ["an unknown name", { nope: "1" }, "--set nope: no param `nope` is declared"],
  ])("refuses --set of %s", (_t, sets, message) => {
    const { runbook } = compileSource(base, "t.rb");
    expect(buildPlan(runbook!, { env: "dev", sets })).toEqual({ error: message });
  });
});
