// Whether a process the tests started is still there: alive and not a zombie (a
// reparented zombie may wait a while to be reaped). Linux /proc, as on every test machine.

import { readFileSync } from "node:fs";

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Whether the process is gone within `ms`: a signal sent to a group takes a moment to
 * land on a loaded machine. A process that was not signalled (a `sleep 30`) is still
 * there at the end and fails the test.
 */
export async function goneWithin(pid: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
