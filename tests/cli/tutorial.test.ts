// docs/tutorial.md's commands, run as the tutorial shows them, in its order: every
// line of its ```sh blocks (the CLI from source, in a git repository holding a copy of
// runbooks/), its runbook taken from the page itself, and the exit codes the page
// says. Only the interactive UI's line is left out (it needs a terminal); its keys
// are the UI tests' business. The sandbox and the runbook's folders are moved into
// this test's temp folder (`--set sandbox=…`, the runbook's /tmp path replaced).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";
import { requireServer } from "../support/sshd.js";
import { onPath } from "../support/sudo.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TUTORIAL = readFileSync(join(ROOT, "docs/tutorial.md"), "utf8");

const missing = ["python3", "curl", "git"].filter((p) => !onPath(p));
const tools = requireServer("python3, curl and git (the tutorial)", missing.length === 0, `${missing.join(" and ")} not installed`);

/** The lines of the page's ```sh blocks, in order. */
function commands(): string[] {
  return [...TUTORIAL.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) => m[1]!.split("\n").filter((l) => l.trim() !== ""));
}

/** The runbook the page tells the reader to write. */
function pageRunbook(): string {
  const from = TUTORIAL.indexOf("Put this in `runbooks/my-release.rb`");
  const m = /^```\n([\s\S]*?)^```$/m.exec(TUTORIAL.slice(from));
  return m![1]!;
}

/** A command line split as the shell would split these (quotes, no expansion). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

// The exit codes the page gives; every other command exits 0.
const EXPECTED: Record<string, number> = {
  "npx runbook run runbooks/haiti-sandbox.rb --env uat --no-tui": 3,
  "npx runbook run runbooks/my-release.rb --env production --yes --no-tui": 3,
};
const UI_ONLY = "npx runbook run runbooks/haiti-sandbox.rb --env uat";

let work: string | undefined;
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.runIf(tools)("docs/tutorial.md", () => {
  it("shows commands that all work, in its order, with the exit codes it gives", async () => {
    work = mkdtempSync(join(tmpdir(), "rb-tutorial-"));
    const repo = join(work, "repo");
    const sandbox = join(work, "sandbox");
    const apps = join(work, "apps");
    cpSync(join(ROOT, "runbooks"), join(repo, "runbooks"), { recursive: true });
    const gitEnv = { ...process.env, GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@example.org" };
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, env: gitEnv, encoding: "utf8" });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-q", "-m", "the repository");

    const lines = commands();
    expect(lines).toContain(UI_ONLY);
    expect(lines.filter((l) => l.startsWith("npx runbook")).length).toBeGreaterThan(15);
    let runId: string | undefined;
    const ran: string[] = [];
    for (const shown of lines) {
      if (shown === UI_ONLY) continue;
      let line = shown.replace(/\/tmp\/my-app-/g, `${apps}/my-app-`);
      if (line.includes("RUN_ID")) {
        expect(runId, `a run id for: ${shown}`).toBeDefined();
        line = line.replace("RUN_ID", runId!);
      }
      if (line.includes("runbooks/my-release.rb") && ran.every((l) => !l.includes("runbooks/my-release.rb"))) {
        writeFileSync(join(repo, "runbooks/my-release.rb"), pageRunbook().replace(/\/tmp\/my-app-/g, `${apps}/my-app-`));
      }
      const [cmd, ...args] = words(line);
      if (cmd === "git") {
        git(...args);
      } else if (cmd === "cat") {
        expect(readFileSync(args[0]!, "utf8")).toMatch(/^\d+\n$/);
      } else {
        expect(`${cmd} ${args[0]}`).toBe("npx runbook");
        const extra = args[1] === "run" && args[2] === "runbooks/haiti-sandbox.rb" ? ["--set", `sandbox=${sandbox}`] : [];
        const r = await cli(repo).args(...args.slice(1), ...extra).run();
        expect({ line: shown, code: r.code, stderr: r.stderr }).toMatchObject({ code: EXPECTED[shown] ?? 0 });
        runId = /resume it with `runbook resume (\S+)`/.exec(r.stderr)?.[1] ?? runId;
      }
      ran.push(shown);
    }
    // What the page says comes out.
    expect(readFileSync(join(apps, "my-app-staging/current/VERSION"), "utf8")).toBe("2\n");
    expect(readFileSync(join(apps, "my-app-production/current/VERSION"), "utf8")).toBe("3\n");
    expect(TUTORIAL).toContain("`npx runbook run runbooks/my-release.rb --env production` refuses now");
  }, 180_000);
});
