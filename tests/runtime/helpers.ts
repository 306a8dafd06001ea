// Helpers for the executor tests: plans built from runbook source in a temp dir,
// a scripted Interaction, and an executor run that collects every event.

import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { compile } from "../../language/compile.js";
import { Connections, type ConnectionProvider } from "../../runtime/connections.js";
import type { HostDriver } from "../../runtime/drivers/driver.js";
import { LocalDriver } from "../../runtime/drivers/local.js";
import { EventBus, type FailureChoice, type Interaction, type RunEvent, type StepChoice } from "../../runtime/events.js";
import { execute, type ExecuteOptions, type ExecuteResult } from "../../runtime/executor.js";
import type { Plan } from "../../runtime/plan.js";
import { buildPlan } from "../../runtime/planner.js";
import { SecretStore } from "../../runtime/secrets.js";

export function tempDir(prefix = "runbook-exec-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function planFrom(source: string, options: { env?: string; sets?: Record<string, string>; file?: string } = {}): Plan {
  const file = options.file ?? "/virtual/test.rb";
  const compiled = compile(file, source);
  const errors = compiled.diagnostics.filter((d) => d.severity === "error");
  if (!compiled.runbook || errors.length > 0) {
    throw new Error(`test runbook does not compile:\n${errors.map((d) => `${d.span.line}:${d.span.column} ${d.message}`).join("\n")}`);
  }
  const env = options.env ?? (compiled.runbook.envs.length ? compiled.runbook.envs[0]!.name.name : "default");
  const built = buildPlan(compiled.runbook, { env, sets: options.sets ?? {}, runId: "test-run" });
  if ("error" in built) throw new Error(built.error);
  return built.plan;
}

export interface Script {
  confirm?: (question: string, stepId: string | undefined) => boolean | "unanswerable";
  manual?: (text: string, stepId: string) => "done" | "abort" | "unanswerable";
  /** Answers to failures, in order; "unanswerable" once they run out. */
  failures?: FailureChoice[];
  beforeStep?: (stepId: string) => StepChoice;
  rerun?: (stepId: string) => boolean | "unanswerable";
}

export function scripted(script: Script = {}): Interaction & { asked: string[] } {
  const asked: string[] = [];
  const failures = [...(script.failures ?? [])];
  return {
    asked,
    async beforeStep(ctx) {
      return script.beforeStep?.(ctx.step.id) ?? "run";
    },
    async confirm(question, ctx) {
      asked.push(`confirm:${ctx.step?.id ?? "env"}:${question}`);
      return script.confirm ? script.confirm(question, ctx.step?.id) : true;
    },
    async manual(text, ctx) {
      asked.push(`manual:${ctx.step.id}:${text}`);
      return script.manual ? script.manual(text, ctx.step.id) : "done";
    },
    async onFailure(error, ctx) {
      asked.push(`failure:${ctx.step.id}:${error}`);
      return failures.shift() ?? "unanswerable";
    },
    async rerunInterrupted(ctx) {
      asked.push(`rerun:${ctx.step.id}`);
      return script.rerun ? script.rerun(ctx.step.id) : "unanswerable";
    },
  };
}

export interface RunOutcome extends ExecuteResult {
  events: RunEvent[];
  /** step id → its last step-finished status. */
  steps: Record<string, string>;
  /** step-finished events by step id (the last one). */
  finished: Record<string, Extract<RunEvent, { type: "step-finished" }>>;
  /** All output text, by step id. */
  output: Record<string, string>;
}

export async function runPlan(
  plan: Plan,
  options: Partial<Omit<ExecuteOptions, "bus" | "connections" | "secrets">> & {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    connections?: ConnectionProvider;
    onEvent?: (e: RunEvent) => void;
  },
): Promise<RunOutcome> {
  const bus = new EventBus();
  const events: RunEvent[] = [];
  bus.subscribe((e) => {
    events.push(e);
    options.onEvent?.(e);
  });
  const env = options.env ?? { PATH: process.env.PATH, HOME: options.cwd };
  const secrets = new SecretStore(plan.secrets, { env, cwd: options.cwd });
  const connections =
    options.connections ?? new Connections(plan, { secrets, env, cwd: options.cwd, readOnly: options.dryRun ?? false, local: new LocalDriver({ cwd: options.cwd, env, killGraceMs: 500 }) });
  const result = await execute(plan, {
    runId: "test-run",
    interaction: options.interaction ?? scripted(),
    ...options,
    bus,
    connections,
    secrets,
  });
  await connections.closeAll();
  const steps: Record<string, string> = {};
  const finished: RunOutcome["finished"] = {};
  const output: Record<string, string> = {};
  for (const e of events) {
    if (e.type === "step-finished") {
      steps[e.stepId] = e.status;
      finished[e.stepId] = e;
    }
    if (e.type === "output") output[e.stepId] = (output[e.stepId] ?? "") + e.text;
  }
  return { ...result, events, steps, finished, output };
}

/** Hosts for a plan's host names: local drivers with the given labels (no SSH needed). */
export function localHosts(cwd: string, hosts: Record<string, HostDriver[]>, local?: HostDriver): ConnectionProvider {
  const l = local ?? new LocalDriver({ cwd, killGraceMs: 500 });
  return {
    async hosts(name) {
      if (name === undefined) return [l];
      const h = hosts[name];
      if (!h) throw new Error(`no host ${name}`);
      return h;
    },
    async database() {
      throw new Error("no databases here");
    },
    async closeAll() {},
  };
}

/** A hash of every file under dir (paths, modes and bytes): to show a dry run changed nothing. */
export function treeHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      h.update(`${relative(dir, p)}\0${st.mode}\0`);
      if (st.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}
