// `secret NAME = command "pass show prod/db"`: the command runs on this machine when the
// secret is first needed, and its stdout (one final newline dropped) is the value. It
// runs with no stdin and nothing of it reaches a terminal, log or journal: its stdout is
// the secret, and its stderr is only counted, never shown (a password manager may echo
// what it was asked). It runs synchronously, as the other secret sources are read, with a
// time limit so a command that waits for input cannot hang the run.

import { spawnSync } from "node:child_process";
import { secretCommandFailed } from "./secret-wording.js";

/** How long a secret's command may take. */
export const SECRET_COMMAND_TIMEOUT_MS = 60_000;

export type SecretCommandResult = { ok: true; value: string } | { ok: false; error: string };

export function runSecretCommand(name: string, command: string, o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): SecretCommandResult {
  const r = spawnSync("/bin/sh", ["-c", command], {
    cwd: o.cwd,
    env: o.env,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: o.timeoutMs ?? SECRET_COMMAND_TIMEOUT_MS,
    maxBuffer: 1024 * 1024,
    windowsHide: true,
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ETIMEDOUT") return { ok: false, error: secretCommandFailed(name, command, { timedOutMs: o.timeoutMs ?? SECRET_COMMAND_TIMEOUT_MS }) };
    return { ok: false, error: secretCommandFailed(name, command, { error: code ?? r.error.name }) };
  }
  if (r.status !== 0) return { ok: false, error: secretCommandFailed(name, command, r.status === null ? { signal: r.signal ?? "a signal" } : { status: r.status }) };
  const value = r.stdout.toString("utf8").replace(/\r?\n$/, "");
  if (value === "") return { ok: false, error: secretCommandFailed(name, command, { empty: true }) };
  return { ok: true, value };
}
