// The front end's limits, none of them a stack overflow: a chain of 10,000 `and`s or
// `or`s is read, checked and planned (to-ast.ts keeps its tree shallow); a 9 MB
// one-line string is lexed (tokens.ts scans strings with a loop); a chain of 100,000
// vars is resolved and checked (scope.ts and check.ts walk it with their own stack); nesting past
// MAX_NESTING (`(`, `[`, `not`) is a syntax error at the token that goes too deep; a
// value over MAX_VALUE_LENGTH is a `value-too-large` error naming the var, found from
// lengths (scope.ts valueLengths, compared here with the values resolveValues makes).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Cond } from "../../language/ast.js";
import { compileSource } from "../../language/compile.js";
import { MAX_NESTING } from "../../language/parser.js";
import { MAX_VALUE_LENGTH, resolveValues, valueLengths } from "../../language/scope.js";
import { buildPlan } from "../../runtime/planner.js";

const HEAD = 'runbook "r" version "1.0.0"\nenv dev {}\nenv prod {}\n';

function depth(c: Cond): number {
  // (an explicit stack: the trees measured here are the ones under test)
  let max = 0;
  const stack: [Cond, number][] = [[c, 1]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    max = Math.max(max, d);
    if (n.kind === "and" || n.kind === "or") stack.push([n.left, d + 1], [n.right, d + 1]);
    else if (n.kind === "not") stack.push([n.operand, d + 1]);
    else if (n.kind === "group") stack.push([n.inner, d + 1]);
  }
  return max;
}

function errors(src: string) {
  return compileSource(src, "r.rb").diagnostics.filter((d) => d.severity === "error");
}

describe("long chains of `and` and `or`", () => {
  it.each([
    ["and", " and "],
    ["or", " or "],
  ])("10,000 terms joined by %s: checked and planned, as a shallow tree", (_name, op) => {
    const terms = Array.from({ length: 10_000 }, (_, i) => (i === 9_999 ? 'env == "prod"' : 'env == "dev"'));
    const src = `${HEAD}step "s" when ${terms.join(op)} {\n  require ${terms.join(op)} or true\n  run "echo"\n}\n`;
    const r = compileSource(src, "r.rb");
    expect(r.diagnostics).toEqual([]);
    const when = r.runbook!.items[0]!.kind === "step" ? r.runbook!.items[0]!.when! : undefined;
    expect(depth(when!)).toBeLessThan(40);
    // The meaning is the chain's: with `and`, the last term (env prod) rules dev out; with `or`, the first lets it in.
    const plan = buildPlan(r.runbook!, { env: "dev" });
    if (!("plan" in plan)) throw new Error(plan.error);
    expect(plan.plan.steps[0]!.skip !== undefined).toBe(op === " and ");
  });

  it("a chain of up to 16 terms nests to the left, as it always did", () => {
    const r = compileSource(`${HEAD}step "s" when env == "dev" and env == "dev" and env == "prod" or env == "dev" {\n  run "echo"\n}\n`, "r.rb");
    const when = r.runbook!.items[0]!.kind === "step" ? r.runbook!.items[0]!.when! : undefined;
    expect(when).toMatchObject({ kind: "or", left: { kind: "and", left: { kind: "and" } }, right: { kind: "compare" } });
  });
});

describe("long strings", () => {
  it("a 9 MB one-line string is read, checked and planned", () => {
    const big = "x".repeat(9_000_000);
    const r = compileSource(`${HEAD}step "s" {\n  run "echo ${big}"\n}\n`, "r.rb");
    expect(r.diagnostics).toEqual([]);
    const plan = buildPlan(r.runbook!, { env: "dev" });
    if (!("plan" in plan)) throw new Error(plan.error);
    expect(JSON.stringify(plan.plan.steps[0]!.actions[0]).length).toBeGreaterThan(9_000_000);
  });
});

describe("nesting", () => {
  const nested = (n: number) => ({
    parens: `${"(".repeat(n)}env == "dev"${")".repeat(n)}`,
    nots: `${"not ".repeat(n)}env == "dev"`,
    mixed: `${"not (".repeat(Math.floor(n / 2))}${n % 2 ? "not " : ""}env == "dev"${")".repeat(Math.floor(n / 2))}`,
  });

  it.each(["parens", "nots", "mixed"] as const)("%s: MAX_NESTING levels are fine", (kind) => {
    const src = `${HEAD}step "s" when ${nested(MAX_NESTING)[kind]} {\n  require ${nested(MAX_NESTING)[kind]}\n  run "echo"\n}\n`;
    const r = compileSource(src, "r.rb");
    expect(r.diagnostics).toEqual([]);
    expect("plan" in buildPlan(r.runbook!, { env: "dev" })).toBe(true);
  });

  it("a list nested MAX_NESTING deep is fine", () => {
    const r = compileSource(`${HEAD}param l = ${"[".repeat(MAX_NESTING)}"x"${"]".repeat(MAX_NESTING)}\nstep "s" {\n  run "echo \${l}"\n}\n`, "r.rb");
    expect(r.diagnostics).toEqual([]);
  });

  it.each([
    // (the step is on line 4; its condition starts in column 15)
    ["parens", `${"(".repeat(10_000)}env == "dev"${")".repeat(10_000)}`, 4, 14 + MAX_NESTING + 1],
    ["nots", `${"not ".repeat(10_000)}env == "dev"`, 4, 14 + 4 * MAX_NESTING + 1],
    ["unclosed parens", `${"(".repeat(10_000)}`, 4, 14 + MAX_NESTING + 1],
    ["not and parens", `env == "dev" and ${"not (".repeat(MAX_NESTING / 2)} not x`, 4, 14 + 17 + 5 * (MAX_NESTING / 2) + 2],
  ])("%s past MAX_NESTING: a syntax error at the token that goes too deep", (_name, cond, line, column) => {
    const src = `${HEAD}step "s" when ${cond} {\n  run "echo"\n}\n`;
    const e = errors(src);
    expect(e.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["syntax", line, column]]);
    expect(e[0]!.message).toBe(`nested more than ${MAX_NESTING} levels deep (\`(\`, \`[\` and \`not\` each open a level)`);
  });

  it("a list nested too deep, in a file read in pieces (over 32 KB), is reported at its line", () => {
    const filler = Array.from({ length: 2000 }, (_, i) => `step "s${i}" {\n  run "echo ${i}"\n}`).join("\n");
    const src = `${HEAD}${filler}\nparam l = ${"[".repeat(MAX_NESTING + 1)}"x"${"]".repeat(MAX_NESTING + 1)}\n`;
    const e = errors(src);
    expect(e.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["syntax", 4 + 3 * 2000, 11 + MAX_NESTING]]);
  });
});

describe("long chains of vars", () => {
  // Declared last-first, so working out the first value goes down the whole chain.
  const chain = (n: number, first: string) =>
    `${HEAD}var v0 = ${first}\n${Array.from({ length: n }, (_, i) => `var v${n - i} = "\${v${n - i - 1}}"`).join("\n")}\n`;

  it.each([
    ['"a"', 'v100000 == "a"', false],
    ['"a"', 'v100000 == "b"', true],
  ])("100,000 vars from v0 = %s: checked, and `when %s` decided from the source", (first, cond, skipped) => {
    const src = `${chain(100_000, first)}step "s" when ${cond} {\n  run "echo \${v100000}"\n}\n`;
    const r = compileSource(src, "r.rb");
    expect(r.diagnostics).toEqual([]);
    const plan = buildPlan(r.runbook!, { env: "dev" });
    if (!("plan" in plan)) throw new Error(plan.error);
    expect(plan.plan.steps[0]!.skip !== undefined).toBe(skipped);
    expect(plan.plan.values["v100000"]).toBe("a");
  });

  it("a chain made of a param is decided when the step runs (--set can change it)", () => {
    const src = `${chain(100_000, '"a"').replace('var v0 = "a"', 'param v0 = "a"')}step "s" when v100000 == "b" {\n  run "echo"\n}\n`;
    const r = compileSource(src, "r.rb");
    expect(r.diagnostics).toEqual([]);
    const plan = buildPlan(r.runbook!, { env: "dev", sets: { v0: "b" } });
    if (!("plan" in plan)) throw new Error(plan.error);
    expect(plan.plan.steps[0]!.skip).toBeUndefined();
    expect(plan.plan.values["v100000"]).toBe("b");
  });

  it("a cycle of 100,000 vars is an interpolation-cycle error", () => {
    const e = errors(`${chain(100_000, '"${v100000}"')}step "s" {\n  run "echo"\n}\n`);
    expect(e.map((d) => d.code)).toEqual(["interpolation-cycle"]);
  });
});

describe("value sizes", () => {
  const doubling = (n: number) => {
    const vars = Array.from({ length: n }, (_, i) => `var v${i + 1} = "\${v${i}}\${v${i}}"`).join("\n");
    return `runbook "r" version "1.0.0"\nvar v0 = "ab"\n${vars}\nstep "s" {\n  run "echo \${v${n}}"\n}\n`;
  };

  it("28 self-doubling vars: a value-too-large error at the var where the value goes over 1 MB", () => {
    const e = errors(doubling(28));
    // v0 is 2 characters: v19 is 1 MB exactly, v20 is over.
    expect(e.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["value-too-large", 22, 5]]);
    expect(e[0]!.message).toBe("var `v20` would be 2,097,152 characters long in env `default`: the limit for a value is 1,048,576 (1 MB)");
  });

  it("19 self-doubling vars (1 MB exactly) are fine", () => {
    expect(errors(doubling(19))).toEqual([]);
  });

  it("a value made too large by --set is a plan error naming the param", () => {
    const src = 'runbook "r" version "1.0.0"\nparam p = "x"\nvar a = "${p}${p}${p}${p}"\nstep "s" {\n  run "echo ${a}"\n}\n';
    const r = compileSource(src, "r.rb");
    expect(r.diagnostics).toEqual([]);
    const ok = buildPlan(r.runbook!, { env: "default", sets: { p: "y".repeat(MAX_VALUE_LENGTH / 4) } });
    expect("plan" in ok).toBe(true);
    const big = buildPlan(r.runbook!, { env: "default", sets: { p: "y".repeat(MAX_VALUE_LENGTH / 4 + 1) } });
    expect(big).toEqual({ error: "r.rb:3:5: var `a` would be 1,048,580 characters long in env `default`: the limit for a value is 1,048,576 (1 MB)" });
    const set = buildPlan(r.runbook!, { env: "default", sets: { p: "y".repeat(MAX_VALUE_LENGTH + 1) } });
    expect(set).toEqual({ error: "r.rb:2:7: param `p` would be 1,048,577 characters long in env `default` (its value from --set): the limit for a value is 1,048,576 (1 MB)" });
  });

  it("the lengths are those of the values resolveValues makes, for any runbook", () => {
    const names = ["a", "b", "c", "d", "e"];
    const piece = fc.oneof(
      fc.constantFrom("x", "yy", " ", "${env}", "${run.id}", "${tok}", "${h}", "${nope}", "${prod.a}", "${dev.c}"),
      fc.constantFrom(...names).map((n) => `\${${n}}`),
    );
    const value = fc.oneof(
      fc.array(piece, { maxLength: 5 }).map((p) => `"${p.join("")}"`),
      fc.array(fc.array(piece, { maxLength: 3 }).map((p) => `"${p.join("")}"`), { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
      fc.constantFrom("42", "1.50", "30s", "true", "false"),
    );
    const decl = fc.record({ kind: fc.constantFrom("param", "var"), value });
    fc.assert(
      fc.property(
        fc.array(decl, { minLength: 5, maxLength: 5 }),
        fc.array(fc.option(value, { nil: undefined }), { minLength: 5, maxLength: 5 }),
        fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
        fc.constantFrom("dev", "prod"),
        (decls, overrides, set, env) => {
          const top = decls.map((d, i) => `${d.kind} ${names[i]} = ${d.value}`).join("\n");
          const over = overrides.map((v, i) => (v === undefined ? "" : `  ${decls[i]!.kind} ${names[i]} = ${v}\n`)).join("");
          const src = `runbook "r" version "1.0.0"\nsecret tok = env "T"\nhost h = "u@h"\n${top}\nenv dev {\n${over}}\nenv prod {}\n`;
          const r = compileSource(src, "r.rb", { check: false });
          const rb = r.runbook!;
          const sets: Record<string, string> = set !== undefined && decls[0]!.kind === "param" ? { a: set } : {};
          const options = { sets, builtins: { "run.id": "20261207-1" } };
          const values = resolveValues(rb, env, options);
          const { lengths } = valueLengths(rb, env, options);
          for (const [name, v] of values) expect([name, lengths.get(`${env}\u0000${name}`)]).toEqual([name, v.length]);
        },
      ),
      { numRuns: 400 },
    );
  });
});
