// `runbook run FILE`: compile, choose the env, apply --set, plan, take the
// journal's lock, then run the plan (cli/run-session.ts: the views, the
// questions, Ctrl-C, the executor, the summary, all shared with `runbook resume`).

import os from "node:os";
import { randomBytes } from "node:crypto";
import { buildPlan, checkSets, parseSets } from "../../runtime/planner.js";
import { Exit, type CliIO } from "../io.js";
import { drive, loadRunbook, sessionOptions, takeLock, withJournal, type SessionFlags } from "../run-session.js";

export interface RunCommandOptions extends SessionFlags {
  env?: string;
  dryRun?: boolean;
  /** false with --no-probe. */
  probe?: boolean;
  set?: string[];
  from?: string;
  only?: string[];
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
