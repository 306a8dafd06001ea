// The ready CI workflow (docs/ci/runbook-review.yml): a valid workflow that runs
// `runbook check --format github` and `runbook review` on pull requests touching
// runbooks, with what they need (the whole history, permission to comment), and
// whose comment script finds its own comment by the marker the review writes
// (REVIEW_MARKER): run here against a fake GitHub client, it updates that comment
// and creates one only when there is none. The flags it passes exist.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REVIEW_MARKER } from "../../cli/views/review.js";
import { cli } from "../support/cli.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const PATH = "docs/ci/runbook-review.yml";
const text = readFileSync(join(root, PATH), "utf8");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  name: string;
  on: { pull_request: { types: string[]; paths: string[] } };
  permissions: Record<string, string>;
  jobs: Record<string, { "runs-on": string; steps: Step[] }>;
}

const wf = parse(text) as Workflow;
const steps = Object.values(wf.jobs).flatMap((j) => j.steps);

describe("the CI workflow", () => {
  it("is a workflow on pull requests touching runbooks, with the history and the permission it needs", () => {
    expect(wf.on.pull_request.paths).toEqual(["**/*.rb", "**/*.runbook"]);
    expect(wf.on.pull_request.types).toEqual(expect.arrayContaining(["opened", "synchronize", "labeled", "unlabeled"]));
    expect(wf.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    const checkout = steps.find((s) => s.uses?.startsWith("actions/checkout@"));
    expect(checkout?.with?.["fetch-depth"]).toBe(0);
    for (const job of Object.values(wf.jobs)) expect(typeof job["runs-on"]).toBe("string");
    for (const s of steps) expect(Boolean(s.uses) !== Boolean(s.run)).toBe(true); // each step either uses an action or runs a script
  });

  it("runs check --format github and review against the merge base, and fails on their exit codes", () => {
    const check = steps.find((s) => s.id === "check")!;
    expect(check.run).toContain("npx runbook check --format github");
    const review = steps.find((s) => s.id === "review")!;
    expect(review.run).toContain('npx runbook review "origin/$BASE_REF" HEAD $ACCEPT > runbook-review.md');
    expect(review.env?.BASE_REF).toBe("${{ github.base_ref }}");
    expect(review.env?.ACCEPT).toContain("--accept-risk");
    const fail = steps.at(-1)!;
    expect(fail.if).toBe("steps.check.outputs.code != '0' || steps.review.outputs.code != '0'");
    expect(fail.run).toContain("exit 1");
    // Only the contexts a workflow has are used in expressions.
    for (const m of text.matchAll(/\$\{\{\s*([^}]*?)\s*\}\}/g)) expect(m[1]).toMatch(/^(contains\()?(github|steps)\./);
  });

  it("the flags it passes exist", async () => {
    const help = await cli().args("review", "--help").run();
    expect(help.stdout).toContain("--accept-risk");
    const checkHelp = await cli().args("check", "--help").run();
    expect(checkHelp.stdout).toMatch(/--format <format>.*"github"/s);
  });

  it("the comment script updates the review's own comment (found by REVIEW_MARKER), else creates one", async () => {
    const post = steps.find((s) => s.uses?.startsWith("actions/github-script@"))!;
    const script = String(post.with?.script);
    expect(script).toContain(JSON.stringify(REVIEW_MARKER));
    const body = `${REVIEW_MARKER}\n## Runbook review\n`;
    const run = async (comments: { id: number; body: string; user: { type: string } }[]) => {
      const calls: [string, Record<string, unknown>][] = [];
      const github = {
        paginate: async () => comments,
        rest: {
          issues: {
            listComments: () => undefined,
            updateComment: async (a: Record<string, unknown>) => void calls.push(["update", a]),
            createComment: async (a: Record<string, unknown>) => void calls.push(["create", a]),
          },
        },
      };
      const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 } };
      const fakeRequire = (m: string) => {
        if (m !== "fs") throw new Error(m);
        return { readFileSync: (p: string) => (p === "runbook-review.md" ? body : "") };
      };
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (...x: unknown[]) => Promise<void>;
      await new AsyncFunction("require", "github", "context", script)(fakeRequire, github, context);
      return calls;
    };
    expect(await run([{ id: 1, body: "looks good", user: { type: "User" } }])).toEqual([["create", { owner: "o", repo: "r", issue_number: 7, body }]]);
    expect(
      await run([
        { id: 1, body: `${REVIEW_MARKER}\nquoted by a person`, user: { type: "User" } },
        { id: 2, body: `${REVIEW_MARKER}\nold`, user: { type: "Bot" } },
      ]),
    ).toEqual([["update", { owner: "o", repo: "r", comment_id: 2, body }]]);
  });

  it("is the file the docs point to", () => {
    expect(readFileSync(join(root, "docs/review.md"), "utf8")).toContain(PATH);
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain(PATH);
  });
});
