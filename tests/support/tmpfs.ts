// A small tmpfs for tests of a full file system (the tests run as root, so taking
// write permission away would not stop a write). Where mount is not allowed the
// tests that need one are skipped, saying so.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let probed: boolean | undefined;

/** Whether a tmpfs can be mounted here (tried once: mounted and unmounted at once). */
export function canMountTmpfs(what: string): boolean {
  if (probed === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "runbook-tmpfs-probe-"));
    probed = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]).status === 0;
    if (probed) spawnSync("umount", [dir]);
    rmdirSync(dir);
  }
  if (!probed) console.warn(`\n*** SKIPPING ${what}: cannot mount a tmpfs here ***\n`);
  return probed;
}

/** Runs fn with a tmpfs of `size` (e.g. "1m") mounted at dir, unmounted afterwards whatever happens. */
export async function withTmpfs<T>(dir: string, size: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (r.status !== 0) throw new Error(`cannot mount a tmpfs at ${dir}: ${r.stderr.toString()}`);
  try {
    return await fn();
  } finally {
    spawnSync("umount", ["-l", dir]);
  }
}
