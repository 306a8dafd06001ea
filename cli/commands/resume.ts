// `runbook resume RUN_ID`: continue a stopped run from its journal. The run's
// file is compiled again and refused when its source changed since the run
// started (unless --force); the plan is rebuilt with the same env and params;
// steps the journal has as done (ok or skipped) are not run again; a step that
// was running when the run stopped is shown as interrupted and rerun only when
// the operator says so (--yes, or the prompt/UI); then the run continues under
// the same run id, with the lock taken again. Before anything runs, commands of
// the earlier attempt that may still be running are looked for
// (cli/earlier-attempt.ts: wait, end, or go on without their steps).

import type { EarlierStep } from "../ui/store/index.js";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { SignedApproval } from "../../runtime/approvals.js";
import type { StillRunningChoice } from "../../runtime/journal-errors.js";
import { AmbiguousRunIdError } from "../../runtime/journal/index.js";
import { buildPlan } from "../../runtime/planner.js";
import { Exit, type CliIO } from "../io.js";
import { approveMessages } from "../messages.js";
import { settleEarlierAttempt } from "../earlier-attempt.js";
import { drive, loadRunbook, sessionOptions, takeLock, type SessionFlags } from "../run-session.js";
import { withJournal } from "../journal-access.js";
import { gitStateOf } from "../git-source.js";

export interface ResumeCommandOptions extends SessionFlags {
  force?: boolean;
  /** A command of the earlier attempt still running: wait for it, end it, or go on without its step. */
  stillRunning?: StillRunningChoice;
  /** --approval FILE…: signed approvals from `runbook approve --out`. */
  approval?: string[];
}

/** The signed approvals handed over as files; a message when one cannot be read. */
function readApprovalFiles(files: string[], cwd: string): SignedApproval[] | string {
  const out: SignedApproval[] = [];
  for (const f of files) {
    try {
      const a = JSON.parse(readFileSync(path.resolve(cwd, f), "utf8")) as SignedApproval;
      if (typeof a?.statement !== "string" || typeof a?.signature !== "string") return approveMessages.notAnApproval(f);
      out.push({ statement: a.statement, signature: a.signature });
    } catch (e) {
      return approveMessages.cannotReadApproval(f, (e as Error).message);
    }
  }
  return out;
}

export async function resumeCommand(runId: string, opts: ResumeCommandOptions, io: CliIO): Promise<number> {
  const approvalFiles = readApprovalFiles(opts.approval ?? [], io.cwd);
  if (typeof approvalFiles === "string") {
    io.stderr.write(`runbook: ${approvalFiles}\n`);
    return Exit.usage;
  }
  return withJournal(io, opts.state, async (journal) => {
    let run;
    try {
      run = await journal.getRun(runId);
    } catch (e) {
      if (e instanceof AmbiguousRunIdError) {
        io.stderr.write(`runbook: ${e.message}\n`);
        return Exit.usage;
      }
      throw e;
    }
    if (!run) {
      io.stderr.write(`runbook: no run ${runId} in the journal at ${journal.location}\n`);
      return Exit.usage;
    }
    if (run.dryRun) {
      io.stderr.write(`runbook: run ${run.id} was a dry run; there is nothing to resume (start a real run with \`runbook run\`)\n`);
      return Exit.usage;
    }
    if (run.status === "succeeded") {
      io.stderr.write(`runbook: run ${run.id} already succeeded; there is nothing to resume\n`);
      return Exit.ok;
    }

    // A newer run of the same runbook and env that succeeded: resuming this one would
    // finish an older release over it. Said before anything runs (a warning; it still may).
    const newer = (await journal.listRuns({ runbook: run.runbook, env: run.env, limit: 100 })).find(
      (r) => r.id !== run.id && !r.dryRun && r.status === "succeeded" && Date.parse(r.startedAt) > Date.parse(run.startedAt),
    );
    if (newer)
      io.stderr.write(
        `runbook: warning: run ${newer.id} of ${run.runbook} in env ${run.env} started after run ${run.id} and succeeded (${newer.startedAt}); resuming ${run.id} runs its remaining steps after that newer run\n`,
      );

    if (!existsSync(run.file)) {
      io.stderr.write(`runbook: ${run.file}, the runbook of run ${run.id}, is not there any more\n`);
      return Exit.usage;
    }
    const loaded = loadRunbook(run.file, run.env, io);
    if (typeof loaded === "number") return loaded;
    const built = buildPlan(loaded.runbook, {
      env: run.env,
      sets: run.params,
      runId: run.id,
      builtins: { "run.user": run.user, "run.started": run.startedAt },
    });
    if ("error" in built) {
      io.stderr.write(`runbook: ${built.error}\n`);
      return Exit.failed;
    }
    const plan = built.plan;
    const git = gitStateOf(loaded.path, loaded.runbook.sources.map((s) => s.file));
    if (git) plan.runbook.git = git; // the run-started event of the resumed run says where its files come from now
    if (plan.runbook.sourceHash !== run.sourceHash) {
      if (!opts.force) {
        io.stderr.write(
          `runbook: ${run.file} changed since run ${run.id} started (its source is not the one that was journaled); ` +
            `resuming could run different steps than the ones the journal records. Start a new run, or pass --force to resume anyway\n`,
        );
        return Exit.failed;
      }
      io.stderr.write(`runbook: warning: ${run.file} changed since run ${run.id} started; resuming anyway (--force)\n`);
    }

    // The lock first: a run that is still going (here or on another machine) is refused
    // before anything is said about its steps, which are not interrupted but running.
    const locked = await takeLock(io, run.file, async () => {
      await journal.reopenRun(run.id);
    });
    if (locked !== undefined) return locked;

    // Before anything runs: is a command of the earlier attempt still going?
    const settled = await settleEarlierAttempt({
      io,
      journal,
      plan,
      runId: run.id,
      ...(opts.stillRunning !== undefined ? { choice: opts.stillRunning } : {}),
      acceptNewHostKeys: opts.acceptNewHostKeys ?? false,
    });
    if ("exit" in settled) {
      // Nothing ran. The lock stays: once this process is gone it is stale, and `unlock`
      // still refuses it while that command runs; `resume` takes it over again.
      io.stderr.write(`runbook: ${settled.error}\n`);
      return settled.exit;
    }

    const steps = await journal.getSteps(run.id);
    const status = new Map(steps.map((s) => [s.stepId, s.status]));
    const isDone = (id: string) => status.get(id) === "ok" || status.get(id) === "skipped";
    const mainDone = plan.steps.filter((s) => s.phase === "main").every((s) => isDone(s.id));
    const completed = new Set<string>();
    for (const s of plan.steps) {
      // `finally` runs again after the main steps that are still to do, unless they are all done.
      if (isDone(s.id) && (s.phase === "main" || mainDone)) completed.add(s.id);
    }
    const interrupted = new Set<string>();
    for (const s of plan.steps) {
      const st = status.get(s.id);
      if (st === "interrupted" || st === "running") {
        interrupted.add(s.id);
        io.stderr.write(`runbook: step ${s.id} ('${s.title}') was interrupted: it was running when run ${run.id} stopped\n`);
      }
    }
    // What the UI shows of them until they run again: done with their times, interrupted marked.
    const earlier = new Map<string, EarlierStep>();
    for (const r of steps) {
      const took = r.startedAt && r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : undefined;
      if (completed.has(r.stepId)) earlier.set(r.stepId, { status: r.status as "ok" | "skipped", ...(took !== undefined && took >= 0 ? { durationMs: took } : {}), ...(r.reason ? { reason: r.reason } : {}) });
      else if (interrupted.has(r.stepId)) earlier.set(r.stepId, { status: "interrupted", reason: `it was running when run ${run.id} stopped` });
    }
    const next = plan.steps.find((s) => !completed.has(s.id) && s.phase === "main") ?? plan.steps.find((s) => !completed.has(s.id));
    io.stderr.write(next ? `runbook: resuming run ${run.id} at step ${next.id}\n` : `runbook: every step of run ${run.id} is done\n`);

    return drive({
      io,
      plan,
      runId: run.id,
      journal,
      dryRun: false,
      probe: true,
      ...sessionOptions(opts),
      completed,
      interrupted,
      earlier,
      stillRunning: settled.stillRunning,
      captured: await journal.getValues(run.id),
      resumedFrom: run.id,
      approvalFiles,
    });
  });
}
