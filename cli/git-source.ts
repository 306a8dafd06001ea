// Runbooks as git keeps them: `REV:PATH` resolved as git resolves it (relative to
// the repository root; `REV:./PATH` and `REV:../PATH` relative to the working
// directory), a runbook compiled with every included file read from the same
// revision, and the commit and cleanliness of the tree a run comes from. The one
// place that runs `git` for the CLI.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { compile, type CompileResult } from "../language/compile.js";
import { cliMessages } from "./messages.js";

function git(cwd: string, args: string[]): { ok: true; out: string } | { ok: false; err: string } {
  try {
    const out = execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
    return { ok: true, out };
  } catch (e) {
    const err = String((e as { stderr?: string }).stderr ?? (e as Error).message ?? "").trim().split("\n")[0] ?? "";
    return { ok: false, err };
  }
}

/** The top folder of the repository holding `cwd`, or undefined outside one. */
export function repoRoot(cwd: string): string | undefined {
  const r = git(cwd, ["rev-parse", "--show-toplevel"]);
  return r.ok ? r.out.trim() : undefined;
}

/** The full commit id a revision names, or undefined when it names none. */
export function resolveCommit(root: string, rev: string): string | undefined {
  const r = git(root, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  return r.ok ? r.out.trim() : undefined;
}

/** The merge base of two revisions (undefined when they share no history). */
export function mergeBase(root: string, a: string, b: string): string | undefined {
  const r = git(root, ["merge-base", a, b]);
  return r.ok ? r.out.trim() : undefined;
}

/** Paths (relative to the root) that differ between two commits; renames count as a delete and an add. */
export function changedPaths(root: string, from: string, to: string): string[] {
  const r = git(root, ["diff", "--no-renames", "--name-only", "-z", from, to, "--"]);
  return r.ok ? r.out.split("\0").filter(Boolean) : [];
}

/** Every file of a commit's tree (relative to the root). */
export function treeFiles(root: string, rev: string): string[] {
  const r = git(root, ["ls-tree", "-r", "-z", "--name-only", rev]);
  return r.ok ? r.out.split("\0").filter(Boolean) : [];
}

/** A file's text at a revision; undefined when the revision has no such file. */
export function showAt(root: string, commit: string, repoPath: string): string | undefined {
  const r = git(root, ["cat-file", "blob", `${commit}:${repoPath}`]);
  return r.ok ? r.out : undefined;
}

/** A `REV:PATH` argument, resolved. */
export interface RevRef {
  rev: string;
  commit: string;
  root: string;
  /** The path relative to the repository root, with `/`. */
  repoPath: string;
  /** Where the file is (or would be) in the working tree: runbooks compile under it. */
  absPath: string;
}

/**
 * Reads `REV:PATH` as git does: PATH relative to the repository root, or, when it
 * starts with `./` or `../`, to `cwd`. `undefined` when `ref` has no `REV:` part;
 * an error for a revision that names no commit or a path outside the repository.
 */
export function parseRevRef(ref: string, cwd: string): RevRef | { error: string } | undefined {
  const colon = ref.indexOf(":");
  if (colon <= 0) return undefined;
  const rev = ref.slice(0, colon);
  const path = ref.slice(colon + 1);
  const root = repoRoot(cwd);
  if (!root) return { error: cliMessages.notInRepo(ref) };
  const commit = resolveCommit(root, rev);
  if (!commit) return { error: cliMessages.unknownRevision(ref, rev) };
  const absPath = path.startsWith("./") || path.startsWith("../") || path === "." ? resolve(cwd, path) : resolve(root, path);
  const repoPath = relative(root, absPath).split("\\").join("/");
  if (repoPath === "" || repoPath.startsWith("..") || isAbsolute(repoPath)) return { error: cliMessages.outsideRepo(ref) };
  return { rev, commit, root, repoPath, absPath };
}

/**
 * Compiles the runbook at `ref.repoPath` as it is in the commit, with every include
 * read from that commit too (an included file outside the repository is missing).
 * `undefined` when the commit has no such file.
 */
export function compileAt(ref: Pick<RevRef, "commit" | "root" | "absPath" | "repoPath">): CompileResult | undefined {
  const text = showAt(ref.root, ref.commit, ref.repoPath);
  if (text === undefined) return undefined;
  const readFile = (p: string): string => {
    const rel = relative(ref.root, resolve(p)).split("\\").join("/");
    if (rel.startsWith("..") || isAbsolute(rel)) throw new Error("outside the repository");
    const t = showAt(ref.root, ref.commit, rel);
    if (t === undefined) throw new Error("not in the revision");
    return t;
  };
  return compile(ref.absPath, text, { readFile });
}

/** The commit the working tree of `file` is on, and whether any of `files` differs from it. */
export interface GitState {
  commit: string;
  /** Any of the runbook's source files has changes not committed (or is not tracked). */
  dirty: boolean;
}

export function gitStateOf(file: string, sources: string[]): GitState | undefined {
  const dir = existsSync(file) ? join(file, "..") : process.cwd();
  const root = repoRoot(dir);
  if (!root) return undefined;
  const head = resolveCommit(root, "HEAD");
  if (!head) return undefined;
  const rels = sources.map((s) => relative(root, resolve(s))).filter((r) => !r.startsWith("..") && !isAbsolute(r));
  const status = git(root, ["status", "--porcelain", "-z", "--untracked-files=all", "--", ...rels]);
  const outside = rels.length < sources.length; // a source outside the repository is not what the commit holds
  return { commit: head, dirty: outside || !status.ok || status.out.length > 0 };
}
