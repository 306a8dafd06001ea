// What an action handler (runtime/actions/<kind>.ts) is, and the narrow context
// it runs in: one step body on one host, with the run's events, questions,
// drivers, secrets, dry-run state and tally. The executor makes the context; a
// handler never sees the Executor itself.

import type { DatabaseDriver, HostDriver } from "../drivers/driver.js";
import type { CommandRef, Interaction, RunEvent } from "../events.js";
import type { Action, Capture, Plan, PlanCond, PlannedStep, Text } from "../plan.js";
import type { SecretStore } from "../secrets.js";
import type { DryRunState } from "../dry-run.js";
import type { DryRunTally } from "../verdict.js";
import type { Supervision } from "../supervisor.js";
import type { LateContext } from "../late-values.js";
import type { Redaction } from "../redact.js";
import type { CondResult } from "../conditions.js";

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** An event as the executor's parts tell it: the run id and time are added (and it is redacted) on the way out. */
export type EventInput = DistributiveOmit<RunEvent, "runId" | "time">;
export type Emit = (event: EventInput) => void;

export type ActionOf<K extends Action["kind"]> = Extract<Action, { kind: K }>;

/** A file an edit (or a templated upload) wrote, for a rollback to restore. */
export interface EditRecord {
  host: HostDriver;
  hostLabel?: string;
  path: string;
  /** null: the file did not exist (a templated upload made it): undone by removing it. */
  original: Buffer | null;
  written: Buffer;
}

/** A command's place in the journal while it runs (executor: watchCommand). */
export interface CommandWatch {
  started: (c: Omit<CommandRef, "host" | "target">) => void;
  ended: () => void;
  endedEarlier: () => void;
}

/** Where the secrets an action reads are collected (secrets.ts: secretsUsed). */
export interface SecretUse {
  text(t: Text): void;
  cond(c: PlanCond): void;
  /** A database it opens (a MySQL one reads its password secret). */
  db(name: string): void;
  /** A database of another env (`sync … from ENV.DB`). */
  foreign(key: string): void;
}

/** One action's surroundings: the step body on one host (or one member of a group). */
export interface ActionContext {
  readonly plan: Plan;
  readonly runId: string;
  /** Local paths resolve against this. */
  readonly cwd: string;
  /** Dry run: whether read-only probes may look at hosts and databases. */
  readonly probe: boolean;
  readonly step: PlannedStep;
  readonly driver: HostDriver;
  /** Label for events: the host's name, a group member's target, undefined for local. */
  readonly hostLabel?: string;
  readonly signal: AbortSignal;
  /** What this step wrote so far on this host, for a rollback. */
  readonly edits: EditRecord[];
  readonly secrets: SecretStore;
  readonly redaction: Redaction;
  readonly supervision: Supervision;
  readonly interaction: Interaction;
  /** A dry run's picture of what earlier steps would have changed. */
  readonly state: DryRunState;
  /** A dry run's checks, for its verdict. */
  readonly tally: DryRunTally;
  emit: Emit;
  /** Messages (errors, reasons, previews): cut pieces of a secret are masked too. */
  redact(s: string): string;
  /** An Interaction call that gives up when the run is interrupted (its time is told apart from the step's). */
  ask<T>(p: Promise<T>): Promise<T>;
  /** Who answered the last question. */
  answeredBy(): string;
  /** A database (wrapped so it changes nothing in a dry run). */
  db(name: string): Promise<DatabaseDriver>;
  /** Time left before the step's timeout; throws StepFailure when it ran out. */
  remaining(): number | undefined;
  /** Keeps a captured value for later steps and says so. */
  capture(into: Capture, value: string): void;
  /** The late values of this host: its host values and what was captured so far. */
  late(): LateContext;
  evalCond(cond: PlanCond, hoped: boolean): Promise<CondResult>;
  tallyCond(what: string, r: CondResult): void;
  /** Runs fn once per step attempt for all the members of a group (the others wait for it). */
  once(a: Action, fn: () => Promise<void>): Promise<void>;
  watchCommand(): CommandWatch;
  /** The flag that answers this step's questions without a terminal. */
  answerFlag(): string;
}

/** What the runtime needs of one kind of action. */
export interface Handler<K extends Action["kind"]> {
  /** One line (or a few) saying what it does (`runbook plan`, the dry run, the UI). */
  describe(a: ActionOf<K>): string;
  /** The secrets (and databases) it reads. */
  secrets(a: ActionOf<K>, use: SecretUse): void;
  /** Whether it changes something on a host or a database (a rollback must account for it). */
  changes: boolean;
  /** Whether, failed, it may have changed something no one can name (a command or a copy ends where it ends). */
  unknownWhenFailed: boolean;
  /** The database it changes, if any: a dry run counts it changed by this step (what later probes of it see is unknown). */
  changedDb(a: ActionOf<K>): string | undefined;
  /** Why it is at most once (not exactly once) across a crash of runbook in its middle; undefined when it is, or is harmless to repeat. */
  crash(a: ActionOf<K>): string | undefined;
  run(a: ActionOf<K>, cx: ActionContext): Promise<void>;
  /** The same, changing nothing: what it would do, each check tallied. */
  dryRun(a: ActionOf<K>, cx: ActionContext): Promise<void>;
}

/** The host of an action's events: `{ host }` for a named host or group member, `{}` for this machine. */
export function hostField(cx: ActionContext): { host?: string } {
  return cx.hostLabel !== undefined ? { host: cx.hostLabel } : {};
}

/** The first line of a text, cut at 60 characters: a statement or command named in a message. */
export function oneLine(text: string): string {
  const line = text.trim().split("\n")[0]!;
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}
