// Preflight: before the first step of a run, and as the first phase of a dry run,
// everything the plan can touch in its env is reached once: each SSH host (one
// per group member: connect, authenticate, host key), `sudo -n true` for each
// user a step runs `as`, each database (connect and authenticate, through its
// `via` host), each secret, and each local file an `upload` or `import` reads.
// Targets are tried in parallel with a bound, each under the run's one connect
// timeout; targets only used by steps that a static `when` rules out are not
// reached. The executor turns the results into preflight events and stops a
// real run before its first step when any target failed. PreflightedConnections
// then stands in for the run's connections, so each target is tried once per
// run: a later use of a target that failed fails at once with the preflight's
// reason. Every preflight message is worded here.

import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { assertNever } from "../language/assert.js";
import type { ConnectionProvider } from "./connections.js";
import { DriverError, type DatabaseDriver, type HostDriver } from "./drivers/driver.js";
import { localUser } from "./drivers/local.js";
import type { PreflightKind, PreflightStatus, PreflightTargetInfo } from "./events.js";
import type { Action, Plan, PlanCond, PlannedDatabase, PlannedStep, PlanOperand } from "./plan.js";
import { secretsUsed, type SecretStore } from "./secrets.js";

/** How one target is reached. */
export type Probe =
  | { kind: "host"; host: string; member: number }
  | { kind: "sudo"; host: string | undefined; member: number; user: string }
  | { kind: "database"; db: string }
  | { kind: "secret"; secret: string }
  | { kind: "file"; path: string; /** A folder will do (an `import` of a csv backup folder). */ folderOk?: boolean };

export interface PreflightTarget extends PreflightTargetInfo {
  probe: Probe;
  /** Steps that use it, in run order. */
  usedBy: string[];
  /** Targets reached first (a database's `via` host and password secret, a sudo's host). */
  needs: string[];
}

export interface PreflightResult {
  target: PreflightTarget;
  status: PreflightStatus;
  /** Why it failed, was not checked, or is deferred, in plain words. */
  reason?: string;
  durationMs: number;
  /** Set when later uses of the target must fail at once (it failed, or something it needs did). */
  unreachable?: DriverError;
}

export interface PreflightReport {
  results: PreflightResult[];
  counts: Record<PreflightStatus, number>;
  durationMs: number;
}

export interface PreflightOptions {
  connections: ConnectionProvider;
  secrets: SecretStore;
  /** Local paths (upload and import sources, SQLite files) resolve against this. */
  cwd: string;
  /** false: hosts and databases are not reached (a dry run with --no-probe); secrets and files still are. */
  reach: boolean;
  /** One connect timeout per target. */
  timeoutMs: number;
  /** How many targets are tried at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Told as each target's result is known. */
  onResult?: (result: PreflightResult) => void;
}

// ---------------------------------------------------------------- wording

const KIND_WORD: { [K in PreflightKind]: string } = {
  host: "host",
  sudo: "sudo",
  database: "database",
  secret: "secret",
  file: "file",
};

const words = {
  notReached: "not reached (--no-probe)",
  interrupted: "not tried: interrupted",
  needFailed: (need: PreflightTarget) => `not tried: ${KIND_WORD[need.kind]} ${need.name} cannot be used`,
  needDeferred: (need: PreflightTarget) => `not tried yet: it needs ${KIND_WORD[need.kind]} ${need.name}, which is not known yet`,
  noAnswer: (ms: number) => `no answer within ${ms / 1000}s`,
  commandFailed: (label: string, code: number | null, signal: string | null) =>
    `connected to ${label}, but a command could not run there (\`true\` ${code === null ? `ended by ${signal ?? "a signal"}` : `exited with status ${code}`})`,
  sudoRefused: (user: string, label: string, stderr: string) =>
    `cannot run commands as ${user} on ${label} without a password (sudo -n)${stderr ? `: ${stderr}` : ""}`,
  // After "file NAME: " in the preflight's line: the name is not said again.
  fileMissing: "no such file",
  fileNotRegular: "not a regular file",
  fileUnreadable: (code: string) => `cannot be read (${code === "EACCES" ? "permission denied" : code})`,
  writtenBy: (what: string, step: string) => `${what} does not exist yet: unknown until step ${step} runs`,
  sqliteMissing: (path: string, where: string) => `SQLite database ${path} does not exist${where}`,
  onlyIfGuard: (step: string) => `needed only if a run-time guard lets step ${step} run (read then)`,
  onlyInUndo: "needed only to undo a step (read then)",
  memberName: (target: string, group: string) => `${target} (in ${group})`,
  sudoName: (user: string, where: string) => `${user} on ${where}`,
  thisMachine: "this machine",
  failedOne: (line: string) => `${line}; nothing was run`,
  failedMany: (n: number, total: number, lines: string[]) => `preflight: ${n} of ${total} targets cannot be used; nothing was run:\n  ${lines.join("\n  ")}`,
};

/** One failing target, for people: "host web: cannot connect …" (a secret's reason, from secrets.ts, already names it). */
export function describeFailure(r: PreflightResult): string {
  const t = r.target;
  if (t.kind === "secret" && r.reason !== undefined) return r.reason;
  return `${KIND_WORD[t.kind]} ${t.name}: ${r.reason ?? r.status}`;
}

/** The targets that stop a real run: failed, or not checked (what they need failed). */
export function blocking(report: PreflightReport): PreflightResult[] {
  return report.results.filter((r) => r.status === "failed" || r.status === "not-checked");
}

/** Why a real run does not start, naming every target that stops it. */
export function preflightFailure(report: PreflightReport): string {
  const bad = blocking(report);
  const lines = bad.map(describeFailure);
  return lines.length === 1 ? words.failedOne(lines[0]!) : words.failedMany(lines.length, report.results.length, lines);
}

// ---------------------------------------------------------------- what the plan touches

export function hostTargetId(host: string, member: number, group: boolean): string {
  return group ? `host:${host}#${member}` : `host:${host}`;
}

/**
 * Every target the given steps (selected, in run order) can touch. Steps that a
 * static `when` rules out in this env (step.skip) touch nothing.
 */
export function preflightTargets(plan: Plan, steps: readonly PlannedStep[], cwd: string): PreflightTarget[] {
  const targets = new Map<string, PreflightTarget>();
  const add = (t: Omit<PreflightTarget, "usedBy">, stepId: string): PreflightTarget => {
    let have = targets.get(t.id);
    if (!have) {
      have = { ...t, usedBy: [] };
      targets.set(t.id, have);
    }
    if (!have.usedBy.includes(stepId)) have.usedBy.push(stepId);
    return have;
  };
  const members = (host: string): { id: string; name: string; member: number }[] => {
    const h = plan.hosts[host];
    if (!h) return [];
    return h.targets.map((t, i) => ({ id: hostTargetId(host, i, h.group), name: h.group ? words.memberName(t, host) : host, member: i }));
  };
  const addHost = (host: string, stepId: string, only?: number): string[] =>
    members(host)
      .filter((m) => only === undefined || m.member === only)
      .map((m) => add({ id: m.id, kind: "host", name: m.name, needs: [], probe: { kind: "host", host, member: m.member } }, stepId).id);
  const addSudo = (host: string | undefined, user: string, stepId: string) => {
    if (host === undefined) {
      if (user === localUser()) return; // runs as this user: no sudo (drivers/local.ts)
      add({ id: `sudo:@local:${user}`, kind: "sudo", name: words.sudoName(user, words.thisMachine), needs: [], probe: { kind: "sudo", host, member: 0, user } }, stepId);
      return;
    }
    for (const m of members(host)) {
      add({ id: `sudo:${m.id}:${user}`, kind: "sudo", name: words.sudoName(user, m.name), needs: [m.id], probe: { kind: "sudo", host, member: m.member, user } }, stepId);
    }
  };
  const addFile = (path: string, stepId: string, folderOk = false) => {
    const abs = resolve(cwd, path);
    add({ id: `file:${abs}`, kind: "file", name: path, needs: [], probe: { kind: "file", path: abs, ...(folderOk ? { folderOk } : {}) } }, stepId);
  };
  const dbs = new Map<string, string[]>();
  const addDb = (db: string, stepId: string) => {
    const list = dbs.get(db) ?? [];
    if (!list.includes(stepId)) list.push(stepId);
    dbs.set(db, list);
  };
  const operand = (o: PlanOperand, stepId: string) => {
    switch (o.kind) {
      case "literal":
      case "text":
        return;
      case "succeeds":
      case "output":
      case "exists":
        if (o.host !== undefined) addHost(o.host, stepId);
        return;
      case "query":
        addDb(o.db, stepId);
        return;
      default:
        assertNever(o, "operand");
    }
  };
  const cond = (c: PlanCond, stepId: string): void => {
    switch (c.kind) {
      case "and":
      case "or":
        cond(c.left, stepId);
        cond(c.right, stepId);
        return;
      case "not":
        cond(c.operand, stepId);
        return;
      case "compare":
        operand(c.left, stepId);
        operand(c.right, stepId);
        return;
      case "value":
        operand(c.value, stepId);
        return;
      default:
        assertNever(c, "condition");
    }
  };
  const action = (a: Action, step: PlannedStep) => {
    switch (a.kind) {
      case "run":
        if (a.as !== undefined) addSudo(step.host, a.as, step.id);
        return;
      case "upload":
        addFile(a.from, step.id);
        return;
      case "import":
        addFile(a.from, step.id, true);
        addDb(a.db, step.id);
        return;
      case "sql":
      case "export":
        addDb(a.db, step.id);
        return;
      case "sync":
        addDb(a.db, step.id);
        addDb(`${a.fromEnv}.${a.fromDb}`, step.id);
        return;
      case "require":
      case "wait":
        cond(a.cond, step.id);
        return;
      case "confirm":
      case "manual":
      case "edit":
      case "download":
      case "note":
        return;
      default:
        assertNever(a, "action");
    }
  };

  for (const step of steps) {
    if (step.skip !== undefined) continue;
    if (step.host !== undefined) addHost(step.host, step.id);
    for (const g of step.guards) cond(g.cond, step.id);
    for (const a of [...step.actions, ...step.undo]) action(a, step);
  }

  // Databases, with what they are reached through.
  for (const [name, usedBy] of dbs) {
    const foreign = plan.foreignDatabases[name];
    const db: PlannedDatabase | undefined = foreign ?? plan.databases[name];
    if (!db) continue;
    const hostName = (h: string) => (foreign ? `${foreign.env}.${h}` : h);
    const needs: string[] = [];
    const first = usedBy[0]!;
    if (db.engine === "sqlite" && db.host !== undefined) needs.push(...addHost(hostName(db.host), first, 0));
    if (db.engine === "mysql" && db.via !== undefined) needs.push(...addHost(hostName(db.via), first, 0));
    const t = add({ id: `db:${name}`, kind: "database", name, needs, probe: { kind: "database", db: name } }, first);
    for (const s of usedBy) if (!t.usedBy.includes(s)) t.usedBy.push(s);
  }

  // Secrets (in commands, SQL, probes, and database passwords), by the steps that use them.
  for (const step of steps) {
    if (step.skip !== undefined) continue;
    for (const name of secretsUsed(plan, [step])) add({ id: `secret:${name}`, kind: "secret", name, needs: [], probe: { kind: "secret", secret: name } }, step.id);
  }
  for (const t of targets.values()) {
    if (t.kind !== "database") continue;
    const db = plan.foreignDatabases[t.name] ?? plan.databases[t.name];
    if (db?.engine === "mysql" && db.passwordSecret !== undefined && targets.has(`secret:${db.passwordSecret}`)) t.needs.push(`secret:${db.passwordSecret}`);
  }

  const order: { [K in PreflightKind]: number } = { host: 0, sudo: 1, database: 2, secret: 3, file: 4 };
  return [...targets.values()].sort((a, b) => order[a.kind] - order[b.kind]);
}

// ---------------------------------------------------------------- reaching them

export async function runPreflight(plan: Plan, targets: readonly PreflightTarget[], o: PreflightOptions): Promise<PreflightReport> {
  const started = Date.now();
  const byId = new Map(targets.map((t) => [t.id, t]));
  const done = new Map<string, Promise<PreflightResult>>();
  const limit = limiter(Math.max(1, o.concurrency ?? 8));
  const stepIndex = new Map(plan.steps.map((s, i) => [s.id, i]));
  const ctx: ProbeContext = { plan, o, stepIndex };

  const resultOf = (t: PreflightTarget): Promise<PreflightResult> => {
    let p = done.get(t.id);
    if (!p) {
      p = (async () => {
        const needs = await Promise.all(t.needs.map((id) => byId.get(id)).filter((n): n is PreflightTarget => n !== undefined).map(resultOf));
        const failedNeed = needs.find((n) => n.status === "failed" || (n.status === "not-checked" && n.unreachable));
        if (failedNeed) {
          const reason = words.needFailed(failedNeed.target);
          return { target: t, status: "not-checked" as const, reason, durationMs: 0, unreachable: new DriverError(`${reason}: ${failedNeed.reason ?? ""}`, "unreachable") };
        }
        const deferredNeed = needs.find((n) => n.status === "deferred");
        if (deferredNeed) return { target: t, status: "deferred" as const, reason: words.needDeferred(deferredNeed.target), durationMs: 0 };
        const uncheckedNeed = needs.find((n) => n.status === "not-checked");
        if (uncheckedNeed) return { target: t, status: "not-checked" as const, reason: uncheckedNeed.reason ?? words.notReached, durationMs: 0 };
        return limit(() => probeTarget(t, ctx));
      })();
      p = p.then((r) => {
        o.onResult?.(r);
        return r;
      });
      done.set(t.id, p);
    }
    return p;
  };
  const results = await Promise.all(targets.map(resultOf));
  const counts: Record<PreflightStatus, number> = { ok: 0, failed: 0, "not-checked": 0, deferred: 0 };
  for (const r of results) counts[r.status]++;
  return { results, counts, durationMs: Date.now() - started };
}

interface ProbeContext {
  plan: Plan;
  o: PreflightOptions;
  stepIndex: Map<string, number>;
}

async function probeTarget(t: PreflightTarget, ctx: ProbeContext): Promise<PreflightResult> {
  const { o } = ctx;
  const t0 = Date.now();
  const result = (status: PreflightStatus, reason?: string, unreachable?: DriverError): PreflightResult => ({
    target: t,
    status,
    ...(reason !== undefined ? { reason } : {}),
    durationMs: Date.now() - t0,
    ...(unreachable ? { unreachable } : {}),
  });
  if (o.signal?.aborted) return result("not-checked", words.interrupted);
  const remote = t.kind === "host" || t.kind === "sudo" || t.kind === "database";
  if (remote && !o.reach) return result("not-checked", words.notReached);
  try {
    const outcome = await withDeadline(probe(t, ctx), guardMs(o.timeoutMs));
    if (o.signal?.aborted) return result("not-checked", words.interrupted);
    if (outcome.status === "failed") return result("failed", outcome.reason, new DriverError(outcome.reason, "unreachable"));
    return result(outcome.status, outcome.reason);
  } catch (e) {
    if (o.signal?.aborted) return result("not-checked", words.interrupted);
    const reason = e instanceof Error ? e.message : String(e);
    const code = e instanceof DriverError ? e.code : "unreachable";
    return result("failed", reason, new DriverError(reason, code));
  }
}

type Outcome = { status: "ok"; reason?: undefined } | { status: "failed" | "deferred"; reason: string };

async function probe(t: PreflightTarget, ctx: ProbeContext): Promise<Outcome> {
  const { o, plan } = ctx;
  const p = t.probe;
  switch (p.kind) {
    case "host": {
      const driver = (await o.connections.hosts(p.host))[p.member]!;
      return commandOutcome(driver, await exec(driver, o));
    }
    case "sudo": {
      const driver = (await o.connections.hosts(p.host))[p.member]!;
      let stderr = "";
      const res = await exec(driver, o, { asUser: p.user, onStderr: (c) => (stderr += c) });
      if (res.exitCode === 0) return { status: "ok" };
      const label = p.host === undefined ? words.thisMachine : driver.label;
      return { status: "failed", reason: words.sudoRefused(p.user, label, firstLine(stderr)) };
    }
    case "database":
      return probeDatabase(p.db, t, ctx);
    case "secret": {
      try {
        o.secrets.get(p.secret);
        return { status: "ok" };
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        const why = secretDeferral(plan, t, ctx);
        return why ? { status: "deferred", reason: `${reason}; ${why}` } : { status: "failed", reason };
      }
    }
    case "file": {
      let st;
      try {
        st = await stat(p.path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "error";
        if (code !== "ENOENT") return { status: "failed", reason: words.fileUnreadable(code) };
        const by = localWriterBefore(plan, t.usedBy[0]!, p.path, ctx);
        return by ? { status: "deferred", reason: words.writtenBy(t.name, by) } : { status: "failed", reason: words.fileMissing };
      }
      if (!st.isFile() && !(p.folderOk && st.isDirectory())) return { status: "failed", reason: words.fileNotRegular };
      try {
        await access(p.path, constants.R_OK);
      } catch (e) {
        return { status: "failed", reason: words.fileUnreadable((e as NodeJS.ErrnoException).code ?? "error") };
      }
      return { status: "ok" };
    }
    default:
      return assertNever(p, "probe");
  }
}

async function probeDatabase(name: string, t: PreflightTarget, ctx: ProbeContext): Promise<Outcome> {
  const { o, plan } = ctx;
  const foreign = plan.foreignDatabases[name];
  const db = foreign ?? plan.databases[name];
  if (!db) return { status: "failed", reason: `no database ${name} in this plan` };
  if (db.engine === "sqlite") {
    const writer = () => dbWriter(plan, name, t.usedBy);
    if (db.host !== undefined) {
      const hostName = foreign ? `${foreign.env}.${db.host}` : db.host;
      const host = (await o.connections.hosts(hostName))[0]!;
      if (await host.stat(db.path)) return { status: "ok" };
      const by = writer();
      return by ? { status: "deferred", reason: words.writtenBy(db.path, by) } : { status: "failed", reason: words.sqliteMissing(db.path, ` on ${host.label}`) };
    }
    const path = resolve(o.cwd, db.path);
    try {
      await stat(path);
    } catch {
      // Like any local file: a local step before its first use may make it.
      const first = [...t.usedBy].sort((a, b) => (ctx.stepIndex.get(a) ?? 0) - (ctx.stepIndex.get(b) ?? 0))[0];
      const by = writer() ?? (first !== undefined ? localWriterBefore(plan, first, path, ctx) : undefined);
      return by ? { status: "deferred", reason: words.writtenBy(db.path, by) } : { status: "failed", reason: words.sqliteMissing(path, "") };
    }
  }
  const driver: DatabaseDriver = await o.connections.database(name);
  await driver.query("SELECT 1");
  return { status: "ok" };
}

function exec(driver: HostDriver, o: PreflightOptions, extra: { asUser?: string; onStderr?: (c: string) => void } = {}) {
  return driver.exec("true", { timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}), ...extra });
}

function commandOutcome(driver: HostDriver, res: { exitCode: number | null; signal: string | null }): Outcome {
  if (res.exitCode === 0) return { status: "ok" };
  return { status: "failed", reason: words.commandFailed(driver.label, res.exitCode, res.signal) };
}

/** Past the connect timeout (a jump host has its own): a guard so no target waits forever. */
function guardMs(timeoutMs: number): number {
  return timeoutMs * 3 + 2000;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new DriverError(words.noAnswer(ms), "timeout")), ms);
    timer.unref?.();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0]?.trim() ?? "";
}

/**
 * The step before `stepId` that may write `path` on this machine: the last one that
 * downloads or exports to it, else the last that changes anything locally.
 */
function localWriterBefore(plan: Plan, stepId: string, path: string, ctx: ProbeContext): string | undefined {
  const end = ctx.stepIndex.get(stepId) ?? plan.steps.length;
  let exact: string | undefined;
  let local: string | undefined;
  for (const s of plan.steps.slice(0, end)) {
    if (s.skip !== undefined) continue;
    if (s.host === undefined && s.mutating) local = s.id;
    for (const a of s.actions) if ((a.kind === "download" || a.kind === "export") && resolve(ctx.o.cwd, a.to) === path) exact = s.id;
  }
  // A step's undo runs only after its actions: it may read what they wrote
  // (`export … to F` with `undo { import … from F }`).
  const self = plan.steps[end];
  const writes = (a: Action) => (a.kind === "download" || a.kind === "export") && resolve(ctx.o.cwd, a.to) === path;
  const reads = (a: Action) => (a.kind === "import" || a.kind === "upload") && resolve(ctx.o.cwd, a.from) === path;
  if (exact === undefined && self && self.skip === undefined && self.undo.some(reads) && self.actions.some(writes)) exact = self.id;
  return exact ?? local;
}

/** A step that writes to the database (so it may create its SQLite file), if any. */
function dbWriter(plan: Plan, db: string, usedBy: string[]): string | undefined {
  for (const s of plan.steps) {
    if (!usedBy.includes(s.id)) continue;
    if (s.actions.some((a) => (a.kind === "sql" || a.kind === "import" || a.kind === "sync") && a.db === db)) return s.id;
  }
  return undefined;
}

/**
 * Why a secret that cannot be read now is not (yet) a failure: a file that an
 * earlier local step may write, or a secret needed only if a run-time guard lets
 * its step run, or only by an undo. undefined when a run would need it for sure.
 */
function secretDeferral(plan: Plan, t: PreflightTarget, ctx: ProbeContext): string | undefined {
  const name = t.name;
  const decl = plan.secrets.find((s) => s.name === name);
  const users = t.usedBy.map((id) => plan.steps.find((s) => s.id === id)).filter((s): s is PlannedStep => s !== undefined);
  // Needed for sure: by a guard (always evaluated), or by the actions of a step no run-time guard can skip.
  const inGuards = (s: PlannedStep) => secretsUsed(plan, [{ ...s, actions: [], undo: [] }]).includes(name);
  const inActions = (s: PlannedStep) => !s.guards.some((g) => g.static === "probe") && secretsUsed(plan, [s], { undo: false }).includes(name);
  const certain = users.filter((s) => inGuards(s) || inActions(s));
  if (decl?.source === "file") {
    const by = localWriterBefore(plan, (certain[0] ?? users[0])?.id ?? "", resolve(ctx.o.cwd, decl.ref), ctx);
    if (by) return `unknown until step ${by} runs`;
  }
  if (certain.length > 0) return undefined;
  const guarded = users.find((s) => s.guards.some((g) => g.static === "probe"));
  return guarded ? words.onlyIfGuard(guarded.id) : words.onlyInUndo;
}

function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

// ---------------------------------------------------------------- after preflight

/**
 * The run's connections once preflight has been: a host member or database that
 * failed fails at once, with the preflight's reason, instead of being tried again.
 */
export class PreflightedConnections implements ConnectionProvider {
  private readonly failedHosts = new Map<string, DriverError>();
  private readonly failedDbs = new Map<string, DriverError>();
  private readonly stubs = new Map<string, HostDriver>();

  constructor(
    private readonly inner: ConnectionProvider,
    private readonly plan: Plan,
    report: PreflightReport,
  ) {
    for (const r of report.results) {
      if (!r.unreachable) continue;
      if (r.target.probe.kind === "host") this.failedHosts.set(r.target.id, r.unreachable);
      if (r.target.probe.kind === "database") this.failedDbs.set(r.target.probe.db, r.unreachable);
    }
  }

  async hosts(name: string | undefined): Promise<HostDriver[]> {
    const drivers = await this.inner.hosts(name);
    if (name === undefined || this.failedHosts.size === 0) return drivers;
    const group = this.plan.hosts[name]?.group ?? false;
    return drivers.map((d, i) => {
      const id = hostTargetId(name, i, group);
      const error = this.failedHosts.get(id);
      if (!error) return d;
      let stub = this.stubs.get(id);
      if (!stub) {
        stub = new UnreachableHost(d.label, error);
        this.stubs.set(id, stub);
      }
      return stub;
    });
  }

  async database(name: string): Promise<DatabaseDriver> {
    const error = this.failedDbs.get(name);
    if (error) throw error;
    return this.inner.database(name);
  }

  closeAll(): Promise<void> {
    return this.inner.closeAll();
  }
}

/** A host that preflight could not reach: everything fails at once with its reason. */
class UnreachableHost implements HostDriver {
  constructor(
    readonly label: string,
    private readonly error: DriverError,
  ) {}
  private fail(): Promise<never> {
    return Promise.reject(this.error);
  }
  exec() {
    return this.fail();
  }
  readFile() {
    return this.fail();
  }
  writeFile() {
    return this.fail();
  }
  stat() {
    return this.fail();
  }
  upload() {
    return this.fail();
  }
  download() {
    return this.fail();
  }
  async close(): Promise<void> {}
}
