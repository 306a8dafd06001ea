// A real git repository in a test's temp folder: `git(dir, …)` runs git there and
// returns its stdout; `initRepo(dir)` makes one (with a user, so commits work,
// `main` as the branch, and the test's journal ignored); `commitAll(dir, message)` commits every file and returns the id.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const DATE = "2026-12-01T12:00:00Z";

export function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    // Fixed dates: the same commits in every run have the same ids (golden files may show them).
    env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_DATE: DATE, GIT_COMMITTER_DATE: DATE },
  });
}

export function initRepo(dir: string): void {
  git(dir, "init", "-q", "-b", "main");
  git(dir, "config", "user.name", "Runbook Test");
  git(dir, "config", "user.email", "runbook-test@example.org");
  git(dir, "config", "commit.gpgsign", "false");
  writeFileSync(join(dir, ".gitignore"), "journal.db*\n"); // the test's journal ($RUNBOOK_STATE) is not part of the repository
}

export function commitAll(dir: string, message: string): string {
  git(dir, "add", "-A", ".");
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD").trim();
}
