// Who is writing the journal (user, machine, pid), whether a process is alive,
// run ids and timestamps.

import { randomBytes } from "node:crypto";
import os from "node:os";
import type { JournalIdentity } from "./types.js";


export function currentIdentity(override: Partial<JournalIdentity> = {}): JournalIdentity {
  let user = override.user;
  if (user === undefined) {
    try {
      user = os.userInfo().username;
    } catch {
      user = process.env.USER ?? process.env.LOGNAME ?? "unknown";
    }
  }
  return { user, machine: override.machine ?? os.hostname(), pid: override.pid ?? process.pid };
}

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A holder is stale when it is on this machine and its process is gone. */
export function isStale(holder: { machine: string; pid: number }, self: JournalIdentity): boolean {
  return holder.machine === self.machine && !pidAlive(holder.pid);
}

/** A time-ordered, 12-hex-digit run id (unique prefixes stay short). */
export function newRunId(): string {
  const t = Math.floor(Date.now() / 1000).toString(16).slice(-6).padStart(6, "0");
  return t + randomBytes(3).toString("hex");
}

/** ISO 8601 now. */
export function nowIso(): string {
  return new Date().toISOString();
}
