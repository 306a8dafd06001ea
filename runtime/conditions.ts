// Conditions where a step runs: its `when`/`unless` guards, `require` and `wait
// until`, evaluated with their probes (succeeds/output/exists on a host, a query on
// a database). In a dry run a probe that cannot be read, or whose answer depends on
// what an earlier step would have changed, makes the condition unknown, never a failure.

import { compareOperands, truthy } from "../language/scope.js";
import { assertNever } from "../language/assert.js";
import { describeCond } from "./describe.js";
import { DryRunState } from "./dry-run.js";
import type { DatabaseDriver, HostDriver } from "./drivers/driver.js";
import type { Plan, PlanCond, PlannedStep, PlanOperand, PlanValue, Text } from "./plan.js";
import type { SecretStore } from "./secrets.js";
import type { DryRunTally } from "./verdict.js";
import type { Emit } from "./actions/context.js";
import { Interrupted, StepFailure } from "./step-errors.js";

export type Tri = boolean | "unknown";

interface Val {
  text: string;
  list?: string[];
  /** For succeeds/exists: the boolean itself. */
  bool?: boolean;
  /** For a `query` that found no row, or a NULL: not a text at all (its text is ""), see compare. */
  absent?: "no-row" | "null";
}

/** The outcome of evaluating a condition. */
export interface CondResult {
  value: Tri;
  /** Why it is unknown. */
  reason?: string;
  /** Unknown until this earlier step runs (a dry run): counted apart, never a failure. */
  pendingOn?: string;
  /** Hosts ("host:NAME") and databases ("db:NAME") its probes looked at. */
  targets: Set<string>;
}

/** What evaluating conditions needs of the run. */
export interface ConditionEnv {
  readonly plan: Plan;
  readonly dry: boolean;
  readonly probe: boolean;
  readonly state: DryRunState;
  readonly secrets: SecretStore;
  readonly tally: DryRunTally;
  emit: Emit;
  redact(s: string): string;
  db(name: string): Promise<DatabaseDriver>;
  hosts(name: string | undefined): Promise<HostDriver[]>;
  /** The signal probes run under now. */
  signal(): AbortSignal;
}

export class Conditions {
  constructor(private readonly env: ConditionEnv) {}

  /** Runs the step's guards; the reason to skip, or undefined to run. */
  async guards(step: PlannedStep, driver: HostDriver, hostLabel: string | undefined): Promise<string | undefined> {
    const env = this.env;
    for (const g of step.guards) {
      const resolved = env.redact(describeCond(g.cond));
      if (g.static !== "probe") {
        // Decided by the planner (step.skip when it said no): it held, and is shown as held.
        env.emit({ type: "guard", stepId: step.id, source: g.source, kind: g.kind, resolved, result: g.static, reason: "known from the runbook" });
        continue;
      }
      const want = g.kind === "when";
      const r = await this.evalCondFor(g.cond, step, driver, want);
      env.emit({ type: "guard", stepId: step.id, source: g.source, kind: g.kind, resolved, result: r.value, ...(r.reason ? { reason: r.reason } : {}) });
      this.tallyCond(step, `${g.kind} ${g.source}`, r);
      if (r.value === "unknown") continue; // dry run: shown as unknown, walked as if it held
      if (r.value !== want) return `${g.kind} ${g.source} is ${r.value}${hostLabel && env.plan.hosts[step.host ?? ""]?.group ? ` on ${hostLabel}` : ""}`;
    }
    return undefined;
  }

  /** A condition's outcome in a dry run, tallied: held or not, unknown until an earlier step, or not checked. */
  tallyCond(step: PlannedStep, what: string, r: CondResult): void {
    if (!this.env.dry) return;
    if (r.value !== "unknown") return this.env.tally.check();
    const item = { stepId: step.id, what, why: r.reason ?? "unknown" };
    if (r.pendingOn !== undefined) this.env.tally.pend(item);
    else this.env.tally.notVerify(item);
  }

  /**
   * Evaluates a condition where a step runs. `hoped` is the value that lets the step
   * go on; in a dry run, a result against it that depends on a host or database an
   * earlier step would have changed is reported as unknown.
   */
  async evalCondFor(cond: PlanCond, step: PlannedStep, driver: HostDriver, hoped: boolean): Promise<CondResult> {
    const env = this.env;
    const r: CondResult = { value: false, targets: new Set() };
    if (env.dry && !env.probe) {
      // Probes are not run (operand() says unknown), but what the source decides still counts.
      r.value = await this.evalCond(cond, step, driver, r);
      if (r.value === "unknown") r.reason = `not evaluated (--no-probe): ${describeCond(cond)}`;
      return r;
    }
    try {
      r.value = await this.evalCond(cond, step, driver, r);
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      if (!env.dry) throw e;
      r.value = "unknown";
      r.reason = `cannot be evaluated: ${env.redact(e instanceof Error ? e.message : String(e))}`;
      return r;
    }
    if (env.dry && r.value !== "unknown" && r.value !== hoped) {
      const by = env.state.lastChange(r.targets, step.id);
      if (by) {
        r.value = "unknown";
        r.reason = `unknown until step ${by} runs`;
        r.pendingOn = by;
      }
    }
    return r;
  }

  private async evalCond(c: PlanCond, step: PlannedStep, driver: HostDriver, r: CondResult): Promise<Tri> {
    switch (c.kind) {
      case "and": {
        const l = await this.evalCond(c.left, step, driver, r);
        if (l === false) return false;
        const rr = await this.evalCond(c.right, step, driver, r);
        if (rr === false) return false;
        return l === true && rr === true ? true : "unknown";
      }
      case "or": {
        const l = await this.evalCond(c.left, step, driver, r);
        if (l === true) return true;
        const rr = await this.evalCond(c.right, step, driver, r);
        if (rr === true) return true;
        return l === false && rr === false ? false : "unknown";
      }
      case "not": {
        const v = await this.evalCond(c.operand, step, driver, r);
        return v === "unknown" ? v : !v;
      }
      case "value": {
        const v = await this.operand(c.value, step, driver, r);
        if (v === "unknown") return v;
        if (v.bool !== undefined) return v.bool;
        if (v.absent !== undefined) return false;
        if (v.list) return v.list.length > 0;
        return truthy(v.text);
      }
      case "compare": {
        const l = await this.operand(c.left, step, driver, r);
        const rv = await this.operand(c.right, step, driver, r);
        if (l === "unknown" || rv === "unknown") return "unknown";
        return compare(c.op, l, rv);
      }
      default:
        return assertNever(c);
    }
  }

  private async operand(o: PlanOperand, step: PlannedStep, driver: HostDriver, r: CondResult): Promise<Val | "unknown"> {
    const env = this.env;
    if (o.kind === "literal") return literalVal(o.value);
    if (o.kind === "text") {
      // A secret in a condition: read at the last moment, never shown.
      const text = this.materializeProbe(o.text, r);
      return text === undefined ? "unknown" : { text };
    }
    if (env.dry && !env.probe) return "unknown";
    if (o.kind === "query") {
      r.targets.add(DryRunState.dbKey(o.db));
      const sql = this.bindProbe(o.sql, r);
      if (sql === undefined) return "unknown";
      const db = await env.db(o.db);
      const rows = await db.probe(sql.code, sql.values);
      const first = rows[0];
      if (first === undefined) return { text: "", absent: "no-row" };
      const v = Object.values(first)[0];
      if (v === null || v === undefined) return { text: "", absent: "null" };
      return { text: Buffer.isBuffer(v) ? v.toString("utf8") : v instanceof Date ? v.toISOString() : String(v) };
    }
    const hostName = o.host;
    r.targets.add(DryRunState.hostKey(hostName));
    const target = hostName === step.host ? driver : (await env.hosts(hostName))[0]!;
    if (o.kind === "exists") {
      const path = this.materializeProbe(o.path, r);
      if (path === undefined) return "unknown";
      const st = await target.stat(path);
      return { text: st ? "true" : "false", bool: st !== null };
    }
    const command = this.bindProbe(o.command, r);
    if (command === undefined) return "unknown";
    let stdout = "";
    const res = await target.exec(command.code, {
      values: command.values,
      onStdout: (c) => {
        stdout += c;
      },
      signal: env.signal(),
      timeoutMs: 5 * 60_000,
    });
    if (res.aborted) throw new Interrupted();
    if (o.kind === "succeeds") {
      const ok = res.exitCode === 0;
      return { text: ok ? "true" : "false", bool: ok };
    }
    return { text: stdout.trim() };
  }

  private materializeProbe(text: Text, r: CondResult): string | undefined {
    return this.secretsFor(r, () => this.env.secrets.materialize(text));
  }

  private bindProbe(text: Text, r: CondResult): { code: string; values: string[] } | undefined {
    return this.secretsFor(r, () => this.env.secrets.bind(text));
  }

  /** What fn makes of a probe's text; in a dry run, undefined (and why, in r) when a secret cannot be read. */
  private secretsFor<T>(r: CondResult, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!this.env.dry) throw e;
      r.reason = this.env.redact(e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }
}

function literalVal(v: PlanValue): Val {
  if (Array.isArray(v)) {
    const list = v.map((x) => literalVal(x).text);
    return { text: list.join(" "), list };
  }
  return { text: String(v) };
}

/**
 * A comparison. A `query` that found no row or a NULL is no text and no number:
 * it equals only the same absence (`==` with anything else is false, `!=` true),
 * has no order (`< <= > >=` are false) and holds nothing (`contains`, `matches`,
 * `in` are false). So `query … == ""` holds for an empty string alone, and
 * `query "select max(n) …" < 5` does not hold for a NULL.
 */
function compare(op: Extract<PlanCond, { kind: "compare" }>["op"], l: Val, r: Val): boolean {
  if (l.absent !== undefined || r.absent !== undefined) {
    switch (op) {
      case "==":
        return l.absent === r.absent;
      case "!=":
        return l.absent !== r.absent;
      case "<":
      case "<=":
      case ">":
      case ">=":
      case "contains":
      case "matches":
      case "in":
        return false;
      default:
        return assertNever(op, "comparison");
    }
  }
  const result = compareOperands(op, l, r);
  if (result === "probe") throw new StepFailure(`not a regular expression: ${r.text}`);
  return result;
}
