// Values known only while a step runs (plan.ts LateValue): the member of the step's host
// it runs on (`${host.name}`, `${host.address}`, `${host.user}`) and what earlier steps
// captured (`run "…" into NAME`, `sql DB "select …" into NAME`). The executor fills them
// into an action just before it runs it, on each member of a group with that member's
// own values; they then go where any value goes (a shell variable, a bound parameter,
// text in a file), never into code. A value captured into a secret becomes a secret of
// the SecretStore (masked everywhere, never journaled); an unknown one is left as it is,
// and using it fails with why (SecretStore.bind/materialize: lateValueMissing).

import { userInfo } from "node:os";
import { assertNever } from "../language/assert.js";
import { parseTarget } from "./drivers/ssh-config.js";
import { isBound, isLate, type Action, type LateValue, type PlanCond, type PlanOperand, type Text } from "./plan.js";

/** `name`, `address`, `user`, and a group member's own values. */
export interface HostValues {
  name: string;
  address: string;
  user: string;
  [member: string]: string;
}

/** The host values of a member as written (`user@address[:port]`, `[v6]:port`, an ssh-config alias); `local` for this machine. */
export function hostValues(target: string | undefined): HostValues {
  if (target === undefined) {
    let user = "";
    try {
      user = userInfo().username;
    } catch {
      user = process.env.USER ?? "";
    }
    return { name: "local", address: "localhost", user };
  }
  try {
    const t = parseTarget(target);
    return { name: target, address: t.host, user: t.user ?? "" };
  } catch {
    return { name: target, address: target, user: "" };
  }
}

/** The values captured so far in this run (those of an earlier attempt too, from the journal, when it resumes). */
export class CapturedValues {
  private readonly values = new Map<string, { value: string; secret: boolean }>();

  set(name: string, value: string, secret: boolean): void {
    this.values.set(name, { value, secret });
  }

  get(name: string): { value: string; secret: boolean } | undefined {
    return this.values.get(name);
  }

  /** The plain (not secret) values, for the journal. */
  plain(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.values) if (!v.secret) out[k] = v.value;
    return out;
  }
}

export interface LateContext {
  host: HostValues;
  captured: CapturedValues;
}

/** A text with its late values filled in: plain values as values, secret captures as secrets (by name). */
export function fillText(text: Text, ctx: LateContext): Text {
  if (!text.some((p) => typeof p !== "string" && (isLate(p) || (isBound(p) && p.late)))) return text;
  return text.map((p) => {
    if (typeof p === "string") return p;
    if (isLate(p)) {
      const v = known(p.late, ctx);
      if (!v) return p;
      return v.secret ? { secret: lateName(p.late) } : v.value;
    }
    if (!isBound(p) || !p.late) return p;
    const v = known(p.late, ctx);
    if (!v) return p;
    const { late: _late, ...rest } = p;
    return v.secret ? { ...rest, secret: lateName(p.late) } : { ...rest, value: v.value };
  });
}

function lateName(v: LateValue): string {
  return v.kind === "host" ? `host.${v.member}` : v.name;
}

function known(v: LateValue, ctx: LateContext): { value: string; secret: boolean } | undefined {
  switch (v.kind) {
    case "host": {
      const value = ctx.host[v.member];
      return value === undefined ? undefined : { value, secret: false };
    }
    case "captured":
      return ctx.captured.get(v.name);
    default:
      return assertNever(v);
  }
}

function fillOperand(o: PlanOperand, ctx: LateContext): PlanOperand {
  switch (o.kind) {
    case "literal":
      return o;
    case "text":
      return { ...o, text: fillText(o.text, ctx) };
    case "succeeds":
    case "output":
      return { ...o, command: fillText(o.command, ctx) };
    case "exists":
      return { ...o, path: fillText(o.path, ctx) };
    case "query":
      return { ...o, sql: fillText(o.sql, ctx) };
    default:
      return assertNever(o);
  }
}

export function fillCond(c: PlanCond, ctx: LateContext): PlanCond {
  switch (c.kind) {
    case "and":
    case "or":
      return { ...c, left: fillCond(c.left, ctx), right: fillCond(c.right, ctx) };
    case "not":
      return { ...c, operand: fillCond(c.operand, ctx) };
    case "compare":
      return { ...c, left: fillOperand(c.left, ctx), right: fillOperand(c.right, ctx) };
    case "value":
      return { ...c, value: fillOperand(c.value, ctx) };
    default:
      return assertNever(c);
  }
}

/** An action with its late values filled in (the same object when it has none). */
export function fillAction(a: Action, ctx: LateContext): Action {
  switch (a.kind) {
    case "run":
      return { ...a, command: fillText(a.command, ctx) };
    case "sql":
      return { ...a, sql: fillText(a.sql, ctx) };
    case "edit":
      return { ...a, replaces: a.replaces.map((r) => ({ ...r, old: fillText(r.old, ctx), new: fillText(r.new, ctx) })) };
    case "require":
    case "wait":
      return { ...a, cond: fillCond(a.cond, ctx) };
    case "confirm":
    case "manual":
    case "upload":
    case "download":
    case "export":
    case "import":
    case "sync":
    case "note":
      return a;
    default:
      return assertNever(a);
  }
}

/** What a command printed, as a captured value: like `output`, trimmed. */
export function capturedOutput(stdout: string): string {
  return stdout.trim();
}
