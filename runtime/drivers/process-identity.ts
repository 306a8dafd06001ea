// Who a local process is, beyond its pid (which the kernel reuses): the boot id
// and the process's start time in clock ticks since boot, from /proc. A command
// the journal recorded is the same process only when both match. Linux only;
// elsewhere there is no token and a live process group is taken at its pid.

import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";

let bootId: string | undefined;

function currentBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      bootId = "";
    }
  }
  return bootId;
}

/** "BOOT_ID:STARTTIME" of a live process, or undefined when /proc cannot tell. */
export function processStartToken(pid: number): string | undefined {
  // After the command name (which may hold spaces and parentheses): starttime is field 22.
  const start = statFields(pid)?.[22 - 3];
  return start ? `${currentBootId()}:${start}` : undefined;
}

/**
 * Whether any process of this process group is alive (EPERM: it is, owned by
 * someone else). Zombies do not count: a command killed after its runbook process
 * died waits, dead, to be reaped by its new parent.
 */
export function processGroupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true; // no /proc: the signal's word has to do
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    // Fields from 3 on: state (3), ppid (4), pgrp (5).
    if (f && Number(f[2]) === pgid && f[0] !== "Z") return true;
  }
  return false;
}

/** The fields of /proc/PID/stat after the command name, from the state (field 3) on. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Whether the command recorded as process group `pgid`, led by a process whose start
 * token was `token`, still runs: some process of the group lives, and its leader, if
 * still there, is that same process (not a new one that got the pid). A group whose
 * leader has exited but whose other members live keeps its id, which no new process
 * can take while they do.
 */
export function recordedGroupAlive(pgid: number, token: string | null): boolean {
  if (!processGroupAlive(pgid)) return false;
  if (token === null) return true;
  const leaderNow = processStartToken(pgid);
  return leaderNow === undefined || leaderNow === token || !isLeaderOf(pgid);
}

/** Whether the process `pid` leads its own process group (its pgid is its pid). */
function isLeaderOf(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && Number(f[5 - 3]) === pid;
}

/**
 * Other processes that still have `file` open although it was deleted or replaced
 * (their descriptor's link reads "FILE (deleted)"): a runbook still writing to a
 * journal that is no longer at its path. Only processes whose descriptors this one
 * may read are seen (all of them as root).
 */
export function processesHoldingDeleted(file: string): number[] {
  // The kernel names the file by its real path (symlinks in its directory resolved).
  let real = file;
  try {
    real = join(realpathSync(dirname(file)), basename(file));
  } catch {
    /* its directory is gone too: the path as given */
  }
  const wanted = `${real} (deleted)`;
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${name}/fd/${fd}`) === wanted) {
          found.push(Number(name));
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return found;
}
