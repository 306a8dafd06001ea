// One way to put a planned action or condition into words, shared by `runbook
// plan`, the dry run, the plain log and the UI's step preview. Secrets show as ***.

import { assertNever } from "../language/assert.js";
import { implicitCommitStatements } from "../language/sql/lexer.js";
import { handlerOf } from "./actions/index.js";
import { showText, type Action, type Capture, type PlanCond, type PlanOperand, type PlannedStep, type PlanValue } from "./plan.js";

function value(v: PlanValue): string {
  if (Array.isArray(v)) return `[${v.map(value).join(", ")}]`;
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

export function describeOperand(o: PlanOperand): string {
  const on = (host?: string) => (host ? ` on ${host}` : "");
  switch (o.kind) {
    case "literal":
      return value(o.value);
    case "text":
      return JSON.stringify(showText(o.text));
    case "succeeds":
    case "output":
      return `${o.kind} ${JSON.stringify(showText(o.command))}${on(o.host)}`;
    case "exists":
      return `exists ${JSON.stringify(showText(o.path))}${on(o.host)}`;
    case "query":
      return `query ${o.db} ${JSON.stringify(showText(o.sql))}`;
    default:
      return assertNever(o);
  }
}

export function describeCond(c: PlanCond): string {
  switch (c.kind) {
    case "and":
    case "or":
      return `(${describeCond(c.left)} ${c.kind} ${describeCond(c.right)})`;
    case "not":
      return `not ${describeCond(c.operand)}`;
    case "compare":
      return `${describeOperand(c.left)} ${c.op} ${describeOperand(c.right)}`;
    case "value":
      return describeOperand(c.value);
    default:
      return assertNever(c);
  }
}

function ms(n: number): string {
  return n % 3_600_000 === 0 ? `${n / 3_600_000}h` : n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
}

/** One line (or a few, for multi-line commands) saying what an action does. */
export function describeAction(a: Action): string {
  return handlerOf(a).describe(a);
}

/**
 * Why this action is at most once across a crash of runbook (kill -9) in its middle (a
 * resume asks before running its step again), not exactly once (supervisor.ts): undefined for actions that are (a command under
 * its supervisor, an edit with its marker) or that are harmless to repeat (an upload,
 * a download, an export: the same bytes again) or change nothing.
 */
export function crashText(a: Action): string | undefined {
  return handlerOf(a).crash(a);
}

/** Step options in words: "timeout 30m, retry 3 every 10s, allow failure, parallel 2". */
export function describeOptions(step: PlannedStep): string {
  const parts: string[] = [];
  if (step.timeoutMs !== undefined) parts.push(`timeout ${ms(step.timeoutMs)}`);
  if (step.retry) parts.push(`retry ${step.retry.count}${step.retry.everyMs ? ` every ${ms(step.retry.everyMs)}` : ""}`);
  if (step.allowFailure) parts.push("allow failure");
  if (step.parallel > 1) parts.push(`parallel ${step.parallel}`);
  return parts.join(", ");
}

export { ms as formatDuration };
