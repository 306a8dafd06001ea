// `runbook run FILE`: compile, choose the env, apply --set, plan, tie the run to
// its git commit (recorded; --require-commit, --allow-dirty), take the journal's
// lock, then run the plan (cli/run-session.ts: the views, the questions, Ctrl-C,
// the executor, the summary, all shared with `runbook resume`).

import os from "node:os";
import { randomBytes } from "node:crypto";
import { dirname, relative } from "node:path";
import type { Runbook } from "../../language/ast.js";
import type { Plan } from "../../runtime/plan.js";
import { buildPlan, checkSets, parseSets, sourceHash } from "../../runtime/planner.js";
import { compileAt, gitStateOf, repoRoot, resolveCommit } from "../git-source.js";
import { cliMessages } from "../messages.js";
import { Exit, type CliIO } from "../io.js";
import { drive, loadRunbook, sessionOptions, takeLock, type SessionFlags } from "../run-session.js";
import { withJournal } from "../journal-access.js";

export interface RunCommandOptions extends SessionFlags {
  env?: string;
  dryRun?: boolean;
  /** false with --no-probe. */
  probe?: boolean;
  set?: string[];
  from?: string;
  only?: string[];
  /** `--require-commit SHA`: refuse unless the runbook (with its includes) is that commit's. */
  requireCommit?: string;
  /** `--allow-dirty`: run in a protected env even with uncommitted changes. */
  allowDirty?: boolean;
}

/** A short, sortable, unique run id: `20261128-120000-ab12` (UTC). */
export function makeRunId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-28T12:00:00.000Z
  return `${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}-${randomBytes(2).toString("hex")}`;
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? "unknown";
  }
}

/**
 * Ties the run to git: records the commit the runbook's files come from (and
 * whether any differs from it) in the plan; refuses (exit 1) a runbook that is not
 * the one of `--require-commit`, and, in a protected env, one with uncommitted
 * changes unless `--allow-dirty`. Undefined when the run may go on.
 */
function tieToCommit(file: string, absPath: string, rb: Runbook, plan: Plan, opts: RunCommandOptions, io: CliIO): number | undefined {
  const state = gitStateOf(absPath, rb.sources.map((s) => s.file));
  if (state) plan.runbook.git = state;
  const refuse = (message: string) => {
    io.stderr.write(`runbook: ${message}\n`);
    return Exit.failed;
  };
  if (opts.requireCommit !== undefined) {
    const root = repoRoot(dirname(absPath));
    if (!root) return refuse(cliMessages.requireCommitNotInRepo(file));
    const commit = resolveCommit(root, opts.requireCommit);
    if (!commit) return refuse(cliMessages.requireCommitUnknown(opts.requireCommit));
    const at = compileAt({ root, commit, absPath, repoPath: relative(root, absPath).split("\\").join("/") });
    if (!at) return refuse(cliMessages.requireCommitAbsent(file, opts.requireCommit));
    if (!at.runbook || sourceHash(at.runbook) !== plan.runbook.sourceHash) return refuse(cliMessages.requireCommitDiffers(file, opts.requireCommit));
  }
  if (state?.dirty && plan.protected && !opts.dryRun && !opts.allowDirty) return refuse(cliMessages.dirtyInProtected(file, plan.env));
  return undefined;
}

export async function runCommand(file: string, opts: RunCommandOptions, io: CliIO): Promise<number> {
  const loaded = loadRunbook(file, opts.env, io);
  if (typeof loaded === "number") return loaded;
  const { runbook: rb, env } = loaded;

  const parsed = parseSets(opts.set ?? []);
  if ("error" in parsed) {
    io.stderr.write(`runbook: ${parsed.error}\n`);
    return Exit.usage;
  }
  const badSet = checkSets(rb, parsed.sets, env);
  if (badSet) {
    io.stderr.write(`runbook: ${badSet}\n`);
    return Exit.usage;
  }

  const runId = makeRunId();
  const built = buildPlan(rb, {
    env,
    sets: parsed.sets,
    runId,
    builtins: { "run.user": currentUser(io.env), "run.started": new Date().toISOString() },
  });
  if ("error" in built) {
    io.stderr.write(`runbook: ${built.error}\n`);
    return Exit.failed;
  }
  const plan = built.plan;
  const tied = tieToCommit(file, loaded.path, rb, plan, opts, io);
  if (tied !== undefined) return tied;

  // Step ids named on the command line must exist: a typo must not silently run everything.
  const ids = plan.steps.map((s) => s.id);
  const unknownStep = (flag: string, id: string) => {
    io.stderr.write(`runbook: ${flag} ${id}: no step \`${id}\` in ${file} (steps: ${ids.join(", ")})\n`);
    return Exit.usage;
  };
  if (opts.from !== undefined && !ids.includes(opts.from)) return unknownStep("--from", opts.from);
  for (const id of opts.only ?? []) if (!ids.includes(id)) return unknownStep("--only", id);
  for (const id of opts.approve ?? []) if (id !== "env" && !ids.includes(id)) return unknownStep("--approve", id);
  // --from with --only: every step named by --only before --from (finally steps come after any main one) runs nothing at all.
  if (opts.from !== undefined && opts.only && opts.only.length > 0) {
    const fromIndex = ids.indexOf(opts.from);
    const fromPhase = plan.steps[fromIndex]!.phase;
    const before = (id: string) => {
      const i = ids.indexOf(id);
      return i < fromIndex && (plan.steps[i]!.phase === "main" || fromPhase === "finally");
    };
    if (opts.only.every(before)) {
      io.stderr.write(`runbook: --only ${opts.only.join(", ")} ${opts.only.length === 1 ? "comes" : "all come"} before --from ${opts.from}: nothing would run\n`);
      return Exit.usage;
    }
  }

  const dryRun = opts.dryRun ?? false;
  return withJournal(io, opts.state, async (journal) => {
    const locked = await takeLock(io, file, () => journal.beginRun({ runId, plan, dryRun, params: parsed.sets, file: loaded.path }));
    if (locked !== undefined) return locked;
    return drive({
      io,
      plan,
      runId,
      journal,
      dryRun,
      probe: opts.probe ?? true,
      ...sessionOptions(opts),
      ...(opts.from !== undefined ? { fromStep: opts.from } : {}),
      ...(opts.only && opts.only.length > 0 ? { only: opts.only } : {}),
    });
  });
}
