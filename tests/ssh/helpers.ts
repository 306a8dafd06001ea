// Shared bits of the SSH integration tests: the sshd gate and an exec that
// collects output.
import { expect } from "vitest";
import { DriverError, type ExecOptions, type ExecResult, type HostDriver } from "../../runtime/drivers/driver.js";
import { requireServer, sshdUnavailableReason } from "../support/sshd.js";

const reason = sshdUnavailableReason();
/** False (with a visible message) when sshd cannot run here; throws under CI=true. */
export const sshdEnabled = requireServer("sshd", reason === null, reason ?? undefined);

export interface Collected extends ExecResult {
  out: string;
  err: string;
}

export async function collect(host: HostDriver, command: string, options: ExecOptions = {}): Promise<Collected> {
  let out = "";
  let err = "";
  const result = await host.exec(command, {
    ...options,
    onStdout: (s) => {
      out += s;
      options.onStdout?.(s);
    },
    onStderr: (s) => {
      err += s;
      options.onStderr?.(s);
    },
  });
  return { ...result, out, err };
}

/** A unique number to put in a command line, so pgrep can find exactly that process. */
export function marker(): string {
  return `${300 + Math.floor(Math.random() * 600)}.${Date.now() % 1_000_000}${Math.floor(Math.random() * 1000)}`;
}

/** Whether a process whose command line is `sleep DURATION` is running on the host. */
export async function sleeping(host: HostDriver, duration: string): Promise<boolean> {
  const [whole, frac] = duration.split(".");
  const r = await collect(host, `pgrep -f 'sleep ${whole}[.]${frac}'`);
  return r.exitCode === 0;
}

/** The DriverError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function failure(promise: Promise<unknown>): Promise<DriverError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DriverError);
  return err as DriverError;
}
