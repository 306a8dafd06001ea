// `runbook review [BASE] [HEAD] [PATH…]`: a pull request's runbook changes in one comment.
// The base side is the merge base of BASE (default: the remote's default branch,
// else main, else master) and HEAD (default HEAD); every runbook (a .rb or
// .runbook file whose first statement is its `runbook` header; under PATH… when
// given) that changed, or
// one of whose included files changed, on either side, is compiled at both
// commits (includes from the same commit) and diffed (cli/runbook-diff.ts), with
// the head side's check diagnostics: one markdown comment, JSON, or GitHub
// annotations (with the markdown added to $GITHUB_STEP_SUMMARY). Exit 1 when the
// head side has errors, else 5 when there is a risk (unless --accept-risk), else 0.

import { appendFileSync, existsSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import type { Runbook } from "../../language/ast.js";
import { hasErrors, renderDiagnostics, type Diagnostic } from "../../language/diagnostics.js";
import { plainSpan } from "../../language/span.js";
import { maskUrlPasswords } from "../../language/url-password.js";
import { changedPaths, compileAt, mergeBase, repoRoot, resolveCommit, showAt, treeFiles } from "../git-source.js";
import { Exit, type CliIO } from "../io.js";
import { cliMessages } from "../messages.js";
import { diffRunbooks, type RunbookChanges } from "../runbook-diff.js";
import { riskLine } from "../views/diff.js";
import { renderReviewMarkdown, type Review, type ReviewedRunbook } from "../views/review.js";

export interface ReviewOptions {
  base?: string;
  format?: "markdown" | "json" | "github";
  acceptRisk?: boolean;
  /** `--fail-on risk` (the default): a risk fails (exit 5); `errors`: only errors do (as --accept-risk). */
  failOn?: "risk" | "errors";
  /** The most characters of markdown (GitHub's comment limit is 65536). */
  maxChars?: number;
}

const RUNBOOK_FILE = /\.(rb|runbook)$/;
/** A main runbook: its first statement (after comments and blank lines) is the header. */
const MAIN_RUNBOOK = /^(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*runbook[ \t]+"/;

function defaultBase(root: string): string | undefined {
  for (const rev of ["origin/HEAD", "main", "master"]) if (resolveCommit(root, rev)) return rev;
  return undefined;
}

/**
 * `[BASE] [HEAD] [PATH…]` (or `[BASE] [HEAD] -- PATH…`): the revisions come first,
 * each an argument git resolves to a commit; the rest are paths (files or folders,
 * relative to the working directory) that limit the review to the runbooks under them.
 */
function splitArgs(args: string[], dashIndex: number, root: string, cwd: string): { revs: string[]; paths: string[] } | { error: string } {
  const revs: string[] = [];
  const paths: string[] = [];
  for (const [i, arg] of args.entries()) {
    const afterDash = dashIndex >= 0 && i >= dashIndex;
    if (!afterDash && paths.length === 0 && revs.length < 2 && resolveCommit(root, arg)) {
      revs.push(arg);
      continue;
    }
    const abs = resolve(cwd, arg);
    const rel = relative(root, abs).split("\\").join("/");
    if (rel.startsWith("..") || isAbsolute(rel)) return { error: cliMessages.outsideRepo(arg) };
    if (!afterDash && !existsSync(abs)) return { error: cliMessages.reviewBadArg(arg) };
    paths.push(rel);
  }
  return { revs, paths };
}

const under = (repoPath: string, paths: string[]) => paths.length === 0 || paths.some((p) => p === "" || repoPath === p || repoPath.startsWith(`${p}/`));

export async function reviewCommand(args: string[], dashIndex: number, options: ReviewOptions, io: CliIO): Promise<number> {
  const root = repoRoot(io.cwd);
  if (!root) {
    io.stderr.write(`runbook: ${cliMessages.reviewNotInRepo}\n`);
    return Exit.usage;
  }
  const split = splitArgs(args, dashIndex, root, io.cwd);
  if ("error" in split) {
    io.stderr.write(`runbook: ${split.error}\n`);
    return Exit.usage;
  }
  const [baseArg, headArg] = options.base !== undefined ? [options.base, split.revs[0]] : split.revs;
  if (options.base !== undefined && split.revs.length > 1) {
    io.stderr.write(`runbook: ${cliMessages.reviewTwoBases(options.base, split.revs[0]!)}\n`);
    return Exit.usage;
  }
  const acceptRisk = options.acceptRisk === true || options.failOn === "errors";
  const baseRev = baseArg ?? defaultBase(root);
  const headRev = headArg ?? "HEAD";
  const baseTip = baseRev === undefined ? undefined : resolveCommit(root, baseRev);
  if (!baseTip) {
    io.stderr.write(`runbook: ${cliMessages.reviewNoBase(baseRev ?? "main")}\n`);
    return Exit.usage;
  }
  const head = resolveCommit(root, headRev);
  if (!head) {
    io.stderr.write(`runbook: ${cliMessages.reviewNoBase(headRev)}\n`);
    return Exit.usage;
  }
  const base = mergeBase(root, baseTip, head);
  if (!base) {
    io.stderr.write(`runbook: ${cliMessages.reviewNoMergeBase(baseRev!, headRev)}\n`);
    return Exit.usage;
  }

  const changed = new Set(changedPaths(root, base, head));
  const candidates = [...new Set([...treeFiles(root, base), ...treeFiles(root, head)])].filter((p) => RUNBOOK_FILE.test(p)).sort();
  const reviewed: ReviewedRunbook[] = [];
  for (const repoPath of candidates.filter((p) => under(p, split.paths))) {
    const isMain = [base, head].map((commit) => MAIN_RUNBOOK.test(showAt(root, commit, repoPath) ?? ""));
    if (!isMain[0] && !isMain[1]) continue;
    const absPath = `${root}/${repoPath}`;
    const sides = [base, head].map((commit, i) => (isMain[i] ? compileAt({ root, commit, absPath, repoPath }) : undefined));
    const rel = (f: string) => relative(root, f).split("\\").join("/");
    const touched = sides.some((s) => s !== undefined && [...s.sources.keys()].some((f) => changed.has(rel(f)))) || changed.has(repoPath);
    if (!touched) continue;
    const [oldSide, newSide] = sides;
    const diagnostics: Diagnostic[] = (newSide?.diagnostics ?? []).map((d) => ({ ...d, span: { ...plainSpan(d.span), file: rel(d.span.file) } }));
    const headErrors = newSide !== undefined && (!newSide.runbook || hasErrors(newSide.diagnostics));
    const baseErrors = oldSide !== undefined && (!oldSide.runbook || hasErrors(oldSide.diagnostics));
    let changes: RunbookChanges | undefined;
    // A side with errors is not diffed (an empty side would show it all as added or removed).
    if (!headErrors && !baseErrors) {
      const oldRb: Runbook | undefined = oldSide?.runbook;
      const newRb: Runbook | undefined = newSide?.runbook;
      if (oldRb || newRb) changes = diffRunbooks(oldRb, newRb);
    }
    reviewed.push({ path: repoPath, changes, diagnostics, headErrors, baseErrors });
  }

  const review: Review = { base: baseRev!, head: headRev, baseCommit: base, headCommit: head, runbooks: reviewed };
  const format = options.format ?? "markdown";
  if (format === "github") {
    // Annotations: the head side's diagnostics, and each risk at its step (or env block), an error unless accepted.
    const annotations: Diagnostic[] = reviewed.flatMap((r) => [
      ...r.diagnostics,
      ...(r.changes?.risks ?? []).map(
        (risk): Diagnostic => ({
          severity: acceptRisk ? "warning" : "error",
          code: risk.kind,
          message: riskLine(risk),
          span: { file: risk.at ? relative(root, risk.at.file).split("\\").join("/") : r.path, offset: 0, line: risk.at?.line ?? 1, column: risk.at?.column ?? 1, length: 0 },
        }),
      ),
    ]);
    const out = renderDiagnostics(annotations, "github", { sources: new Map() });
    if (out) io.stdout.write(maskUrlPasswords(`${out}\n`));
    const summary = io.env.GITHUB_STEP_SUMMARY;
    if (summary) appendFileSync(summary, renderReviewMarkdown(review, options.maxChars));
  } else if (format === "json") {
    const json = {
      ...review,
      runbooks: reviewed.map((r) => ({
        ...r,
        diagnostics: r.diagnostics.map((d: Diagnostic) => ({ file: d.span.file, line: d.span.line, column: d.span.column, severity: d.severity, code: d.code, message: d.message })),
      })),
    };
    io.stdout.write(maskUrlPasswords(`${JSON.stringify(json, null, 2)}\n`));
  } else {
    io.stdout.write(renderReviewMarkdown(review, options.maxChars));
  }
  if (reviewed.some((r) => r.headErrors)) return Exit.failed;
  const risks = reviewed.reduce((n, r) => n + (r.changes?.risks.length ?? 0), 0);
  if (risks > 0 && !acceptRisk) {
    io.stderr.write(`runbook: ${cliMessages.riskExit(risks)}\n`);
    return Exit.risk;
  }
  return Exit.ok;
}
