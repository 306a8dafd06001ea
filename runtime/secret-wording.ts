// The wording of secret failures that runtime/secret-command.ts reports.

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
