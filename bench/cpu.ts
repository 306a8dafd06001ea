// CPU accounting for benchmarks on a shared machine: what a timed window
// cost in this process (process.cpuUsage), in the process trees under given
// pids (e.g. the sshd instances of tests/support/sshd.ts with every
// connection and session under them), and on the whole machine (/proc/stat),
// so that a figure can be told apart as latency-bound or CPU-bound.
//
// A tree's CPU is the sum over its live processes of utime + stime + cutime +
// cstime: children reaped by a parent in the tree are in the parent's cutime.
// One catch with sshd: the privsep monitor exits without reaping its
// unprivileged child, so a connection's CPU leaves the tree when the
// connection closes. Take the closing snapshot while the connections of
// the window are still open. Snapshots are synchronous, so a stream
// callback can take one at the exact moment something happens. Linux only
// (/proc); elsewhere trees and machine read as zero.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

let ticksPerSecond: number | undefined;
/** USER_HZ, the unit of /proc times (100 almost everywhere). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The number of CPUs this process may run on. */
export function cores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

function readStat(pid: number): { comm: string; ppid: number; ticks: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17); comm may hold spaces.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    ppid: Number(f[1]),
    ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
  };
}

/** Child pids (single-threaded parents such as sshd: the children of the main thread). */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

/** CPU ms used so far by the trees under roots (see the top of this file). */
function treeCpuMs(roots: number[]): number {
  let ticks = 0;
  const seen = new Set<number>();
  const walk = (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    ticks += readStat(pid)?.ticks ?? 0;
    for (const c of childrenOf(pid)) walk(c);
  };
  for (const r of roots) walk(r);
  return (ticks * 1000) / clockTicks();
}

/** Busy and total CPU ms of the whole machine so far (all cores; iowait counts as idle). */
function machineMs(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "latin1").split("\n", 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const t = clockTicks();
    return { busy: ((total - idle) * 1000) / t, total: (total * 1000) / t };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export interface CpuSnapshot {
  at: number;
  self: NodeJS.CpuUsage;
  treesMs: number;
  machine: { busy: number; total: number };
}

/** Synchronous: everything at this instant. The time it takes itself is left out of the next window's wall time. */
export function cpuSnapshot(roots: number[]): CpuSnapshot {
  const self = process.cpuUsage();
  const at = performance.now();
  const machine = machineMs();
  const treesMs = treeCpuMs(roots);
  return { at, self, treesMs, machine };
}

export interface CpuWindow {
  wallMs: number;
  /** This process (user + system). */
  selfMs: number;
  /** The trees under the roots. */
  treesMs: number;
  /** Everything the machine did meanwhile, on all cores (ours, the trees', anybody else's). */
  machineBusyMs: number;
  /** machineBusyMs / (wall * cores). */
  machineBusyShare: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuWindow {
  const total = b.machine.total - a.machine.total;
  const busy = b.machine.busy - a.machine.busy;
  return {
    wallMs: b.at - a.at,
    selfMs: (b.self.user - a.self.user + b.self.system - a.self.system) / 1000,
    treesMs: Math.max(0, b.treesMs - a.treesMs),
    machineBusyMs: busy,
    machineBusyShare: total > 0 ? busy / total : 0,
  };
}

/** Runs fn (which must leave the trees' processes running) and says what it cost. */
export async function measureCpu(roots: number[], fn: () => Promise<void>): Promise<CpuWindow> {
  const a = cpuSnapshot(roots);
  await fn();
  return cpuBetween(a, cpuSnapshot(roots));
}

/** Direct children of this process whose command name is `comm` (e.g. the sshd instances a harness started). */
export function childrenNamed(comm: string): number[] {
  return childrenOf(process.pid).filter((pid) => readStat(pid)?.comm === comm);
}
