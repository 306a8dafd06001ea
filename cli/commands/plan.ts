// `runbook plan FILE [--env NAME|all] [--format text|markdown|json]`: what a run
// would do, from the source alone. Builds Plans with the planner and hands them to
// a view; no host, database or secret is touched.

import { compile } from "../../language/compile.js";
import { renderDiagnostics, hasErrors } from "../../language/diagnostics.js";
import { envNames, selectEnv } from "../../language/scope.js";
import { buildPlan, parseSets } from "../../runtime/planner.js";
import type { Plan } from "../../runtime/plan.js";
import { Exit, useColor, type CliIO } from "../io.js";
import { readSource } from "../source.js";
import { renderPlanJson, renderPlanMarkdown, renderPlanText } from "../views/plan.js";

export interface PlanCommandOptions {
  env?: string;
  set?: string[];
  format?: "text" | "markdown" | "json";
}

export async function planCommand(file: string, options: PlanCommandOptions, io: CliIO): Promise<number> {
  const source = readSource(file, io);
  if (!source.ok) {
    io.stderr.write(`runbook: ${source.error}\n`);
    return Exit.usage;
  }
  const result = compile(file, source.text);
  if (result.diagnostics.length > 0) {
    io.stderr.write(renderDiagnostics(result.diagnostics, "text", { sources: result.sources, color: useColor(io, "stderr") }));
  }
  if (!result.runbook || hasErrors(result.diagnostics)) return Exit.failed;
  const rb = result.runbook;

  const parsed = parseSets(options.set ?? []);
  if ("error" in parsed) {
    io.stderr.write(`runbook: ${parsed.error}\n`);
    return Exit.usage;
  }

  let envs: string[];
  if (options.env === "all") {
    envs = envNames(rb);
    if (envs.length === 0) {
      const only = selectEnv(rb);
      envs = "env" in only ? [only.env] : [];
    }
  } else {
    const selected = selectEnv(rb, options.env);
    if ("error" in selected) {
      io.stderr.write(`runbook: ${selected.error}\n`);
      return Exit.usage;
    }
    envs = [selected.env];
  }

  const plans: Plan[] = [];
  for (const env of envs) {
    const built = buildPlan(rb, { env, sets: parsed.sets });
    if ("error" in built) {
      io.stderr.write(`runbook: ${built.error}\n`);
      return Exit.usage;
    }
    plans.push(built.plan);
  }

  const format = options.format ?? "text";
  if (format === "json") io.stdout.write(renderPlanJson(plans, options.env === "all"));
  else if (format === "markdown") io.stdout.write(renderPlanMarkdown(plans));
  else io.stdout.write(plans.map(renderPlanText).join("\n"));
  return Exit.ok;
}
