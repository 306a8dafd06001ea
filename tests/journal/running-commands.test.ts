// Looking for a recorded local command again (runtime/running-commands.ts and
// drivers/process-identity.ts) with real processes: a live process group, one
// that ended, one whose members are zombies waiting to be reaped, a pid whose
// start time does not match the record (a reused pid), a record from another
// machine; and ending a live group (TERM, then KILL for one that ignores TERM).

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { processStartToken } from "../../runtime/drivers/process-identity.js";
import type { CommandRecord } from "../../runtime/journal/index.js";
import { checkCommand, endCommand } from "../../runtime/running-commands.js";
import { currentIdentity } from "../../runtime/journal/index.js";
import { makePlan } from "./helpers.js";

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

/** A detached shell (its own process group), as the local driver starts commands. */
function group(script: string): ChildProcess {
  const c = spawn("/bin/sh", ["-c", script], { detached: true, stdio: "ignore" });
  started.push(c);
  return c;
}

function record(pid: number, extra: Partial<CommandRecord> = {}): CommandRecord {
  return {
    runId: "r",
    stepId: "s",
    host: null,
    target: null,
    machine: os.hostname(),
    pid,
    pgid: pid,
    startToken: processStartToken(pid) ?? null,
    execId: null,
    asUser: null,
    startedAt: new Date().toISOString(),
    ...extra,
  };
}

const self = currentIdentity();
const plan = makePlan();
const noHosts = async () => [];
const exited = (c: ChildProcess) => new Promise((r) => c.once("exit", r));

describe("a recorded local command", () => {
  it("is running while its process group lives, gone once it has ended", async () => {
    const c = group("sleep 30 & wait");
    const rec = record(c.pid!);
    expect(rec.startToken).toMatch(/^[0-9a-f-]+:\d+$/);
    expect((await checkCommand(rec, self, plan, noHosts)).state).toBe("running");
    process.kill(-c.pid!, "SIGKILL");
    await exited(c);
    // The group's other member dies when the kernel gets to it: give it a moment.
    let state = "running";
    for (let i = 0; i < 100 && state === "running"; i++) {
      state = (await checkCommand(rec, self, plan, noHosts)).state;
      if (state === "running") await new Promise((r) => setTimeout(r, 20));
    }
    expect(state).toBe("gone");
  });

  it("a group of zombies (dead, not yet reaped by their parent) is gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runbook-zombie-"));
    // The inner shell leads a group of its own and exits; its parent (now sleep) never reaps it.
    group(`setsid sh -c 'echo $$ > ${dir}/pid; exit 0' & exec sleep 30`);
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pid = existsSync(join(dir, "pid")) ? Number(readFileSync(join(dir, "pid"), "utf8")) : 0;
    }
    for (let i = 0; i < 100 && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); i++) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(`/proc/${pid}/stat`, "utf8")).toMatch(/\) Z /);
    expect(() => process.kill(-pid, 0)).not.toThrow(); // the signal alone would call it alive
    expect((await checkCommand(record(pid, { startToken: null }), self, plan, noHosts)).state).toBe("gone");
    rmSync(dir, { recursive: true, force: true });
  });

  it("a group whose leader exited but whose child lives is still running", async () => {
    const c = group("sleep 30 & exit 0");
    await exited(c);
    expect((await checkCommand(record(c.pid!, { startToken: "boot:1" }), self, plan, noHosts)).state).toBe("running");
  });

  it("a live leader with another start time is another process (a reused pid): gone", async () => {
    const c = group("sleep 30");
    expect((await checkCommand(record(c.pid!, { startToken: "other-boot:12345" }), self, plan, noHosts)).state).toBe("gone");
  });

  it("a command of another machine cannot be checked from here", async () => {
    const check = await checkCommand(record(process.pid, { machine: "elsewhere-7" }), self, plan, noHosts);
    expect(check).toMatchObject({ state: "unknown", why: expect.stringMatching(/ran on elsewhere-7/) });
  });

  it("endCommand ends the whole group, with KILL when TERM is ignored", async () => {
    const c = group("trap '' TERM; sleep 30 & wait; sleep 30");
    await new Promise((r) => setTimeout(r, 200));
    const rec = record(c.pid!);
    const check = await checkCommand(rec, self, plan, noHosts);
    await endCommand(check, plan, noHosts);
    expect((await checkCommand(rec, self, plan, noHosts)).state).toBe("gone");
  });
});
