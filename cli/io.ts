// The streams and environment a command runs with. Commands never touch
// process.stdout/stderr/env directly, so tests can run them in-process with
// captured streams, and the Ink UI gets its streams injected.

import type { Readable, Writable } from "node:stream";
import { WAITING_EXIT } from "../runtime/approvals.js";

export interface CliIO {
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  quietBrokenPipes();
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

let pipesQuiet = false;

/**
 * `runbook plan … | head`: a reader that goes away must not crash the command with
 * an unhandled EPIPE and a stack trace. What it did not read is dropped and the
 * command ends with its own exit code. (`run` and `resume` also say so once on
 * stderr: their output sink listens too.)
 */
function quietBrokenPipes(): void {
  if (pipesQuiet) return;
  pipesQuiet = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "EIO" && err.code !== "ERR_STREAM_DESTROYED") throw err;
    });
  }
}

/** Colour per NO_COLOR / FORCE_COLOR; never on a pipe. */
export function useColor(io: CliIO, stream: "stdout" | "stderr" = "stdout"): boolean {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  return Boolean(io[stream].isTTY);
}

/** Exit codes from CLI.md. */
export const Exit = {
  ok: 0,
  failed: 1,
  usage: 2,
  aborted: 3,
  locked: 4,
  /** `diff` and `review` found a risk (docs/review.md) and --accept-risk was not given. */
  risk: 5,
  /** A run stopped at its approval gate (runtime/approvals.ts): `runbook approve`, then `resume`. */
  waiting: WAITING_EXIT,
} as const;

/** A usage error (bad flag value, missing file, unknown env): printed as one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
