// The wording of values that cannot be had when they are needed: a secret's command
// that fails (runtime/secret-command.ts), a late value not known (runtime/late-values.ts),
// a template's (runtime/template.ts, `upload template` in the executor), and what a
// capture says (`into NAME`).

import { assertNever } from "../language/assert.js";
import type { LateValue } from "./plan.js";

export type SecretCommandProblem = { status: number } | { signal: string } | { timedOutMs: number } | { error: string } | { empty: true };

export function secretCommandFailed(name: string, command: string, p: SecretCommandProblem): string {
  const why =
    "status" in p
      ? `exited with status ${p.status}`
      : "signal" in p
        ? `was killed by ${p.signal}`
        : "timedOutMs" in p
          ? `did not finish within ${Math.round(p.timedOutMs / 1000)}s (it runs with no input: a password prompt cannot be answered)`
          : "error" in p
            ? `could not start (${p.error})`
            : "printed nothing";
  return `secret ${name} is not set: command ${JSON.stringify(command)} ${why} (its output is not shown)`;
}

/** A late value still unknown where it is used: a captured value whose step has not captured it (yet). */
export function lateValueMissing(v: LateValue): string {
  switch (v.kind) {
    case "host":
      return `\`\${host.${v.member}}\` is known only on the host the step runs on`;
    case "captured":
      return v.secret
        ? `\`\${${v.name}}\` has no value: step ${v.step} has not captured it in this run (a value captured into a secret is never journaled: after a resume, step ${v.step} must run again to have it)`
        : `\`\${${v.name}}\` has no value: it is known after step ${v.step} runs, and that step has not captured it in this run`;
    default:
      return assertNever(v);
  }
}

/** What `upload template` says. */
export const templateWords = {
  noSource: (from: string) => `cannot upload template ${from}: no such file`,
  notYet: (from: string, by: string) => `${from} does not exist yet: unknown until step ${by} runs`,
  isDirectory: (to: string, where: string) => `cannot upload a template to ${to} on ${where}: it is a directory`,
  same: (to: string, host: string | undefined) => `${to}${host !== undefined ? ` on ${host}` : ""} already holds the filled-in template: nothing to write`,
  unknownName: (name: string) =>
    `unknown name \`${name}\` in the template (a template may use params, vars, secrets, \`env\`, \`run.id\`, \`host.name\`, \`host.address\`, \`host.user\` and values captured by earlier steps)`,
  removed: (path: string) => `removed ${path} (the template made it)`,
  notRemoved: (path: string, code: number | null) => `cannot remove ${path}, which the template made: rm exited with ${code === null ? "a signal" : `status ${code}`}`,
};

/** The wording of captures in a run. */
export const captureWords = {
  wouldCapture: (c: { name: string; secret: boolean }) => `   (its ${c.secret ? "output, never shown," : "output"} becomes ${c.name} when it runs)`,
  nothingToCapture: (c: { name: string }, what: "no row" | "NULL") => `nothing to capture into ${c.name}: the query gave ${what}`,
  captured: (name: string, value: string | undefined) => (value === undefined ? `captured ${name} (a secret: not shown)` : `captured ${name} = ${JSON.stringify(value)}`),
};
