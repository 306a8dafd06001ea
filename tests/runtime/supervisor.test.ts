// The command supervisor (runtime/supervisor.ts) with a real /bin/sh through the
// local driver: the files it keeps (private, the end written once the output is in),
// a command that outlives its dropped reader, what stateScript reads (none, running,
// ended, vanished), following an earlier attempt, and Supervision taking an ended
// command's outcome from its files instead of running it again.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalDriver } from "../../runtime/drivers/local.js";
import { followScript, parseState, stateScript, superviseScript, Supervision } from "../../runtime/supervisor.js";
import { alive } from "../support/process.js";

let dir: string;
let status: string;
let driver: LocalDriver;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rb-sup-"));
  status = join(dir, "exec");
  driver = new LocalDriver({ cwd: dir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(script: string): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  const r = await driver.exec(script, { onStdout: (c) => (out += c), onStderr: (c) => (err += c) });
  return { code: r.exitCode, out, err };
}

async function state(id: string) {
  return parseState((await run(stateScript(status, id))).out);
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(ok()).toBe(true);
};

describe("the supervisor's wrapper", () => {
  it("streams the output, exits with the command's status, and keeps start, end and output in private files", async () => {
    const r = await run(superviseScript("echo one; echo two >&2; echo three; exit 7", status, "a1"));
    expect(r).toEqual({ code: 7, out: "one\nthree\n", err: "two\n" });
    expect(statSync(status).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(status)) expect(statSync(join(status, f)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(status, "a1.start"), "utf8")).toMatch(/^pid \d+\npgid \d+\nstarted \d+\nexec a1\n$/);
    expect(readFileSync(join(status, "a1.end"), "utf8")).toMatch(/^exit 7\nended \d+\n$/);
    expect(readFileSync(join(status, "a1.out"), "utf8")).toBe("one\nthree\n");
    expect(await state("a1")).toEqual({ kind: "ended", exitCode: 7 });
    expect(await state("nope")).toEqual({ kind: "none" });
  });

  it("passes the values through the environment and stdin through to the command", async () => {
    let out = "";
    await driver.exec(superviseScript('printf "%s|" "${__rb_1}"; cat', status, "v1"), { values: ["it's $(x)"], stdin: "in\n", onStdout: (c) => (out += c) });
    expect(out).toBe("it's $(x)|in\n");
  });

  it("a command outlives its reader going away (the runner killed): it runs to its end, and its end is recorded", async () => {
    const child = spawn("/bin/sh", ["-c", superviseScript("echo started; sleep 0.5; echo done >> marker; echo after", status, "d1")], {
      cwd: dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((r) => child.stdout!.once("data", () => r()));
    // The runner's end of the pipes goes, as with kill -9.
    child.stdout!.destroy();
    child.stderr!.destroy();
    expect((await state("d1"))?.kind).toBe("running");
    await until(() => existsSync(join(status, "d1.end")));
    expect(readFileSync(join(dir, "marker"), "utf8")).toBe("done\n");
    expect(readFileSync(join(status, "d1.out"), "utf8")).toBe("started\nafter\n");
    expect(await state("d1")).toEqual({ kind: "ended", exitCode: 0 });
    // Followed afterwards: the whole output, then its status.
    expect(await run(followScript(status, "d1"))).toEqual({ code: 0, out: "started\nafter\n", err: "" });
  });

  it("a process group killed before the command ended reads as vanished", async () => {
    const child = spawn("/bin/sh", ["-c", superviseScript("echo go; sleep 30", status, "k1")], { cwd: dir, detached: true, stdio: ["ignore", "pipe", "ignore"] });
    await new Promise<void>((r) => child.stdout!.once("data", () => r()));
    expect((await state("k1"))?.kind).toBe("running");
    const reaped = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid!, "SIGKILL");
    await reaped;
    // The group's other members go a moment later (reaped by init).
    let st = await state("k1");
    for (let i = 0; i < 100 && st?.kind === "running"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      st = await state("k1");
    }
    expect(st?.kind).toBe("vanished");
    expect((await run(followScript(status, "k1"))).code).toBe(125);
  });

  it("its folder removed while the command runs: still the command's output and status, and a warning that its end is not recorded", async () => {
    const r = await run(superviseScript(`echo one; rm -rf '${status}'; echo two; exit 4`, status, "g1"));
    expect(r.code).toBe(4);
    expect(r.out).toBe("one\ntwo\n");
    expect(r.err).toMatch(/^runbook: warning: this command's end could not be recorded in .*: were runbook to die now, a resume could not tell that it ran\n$/);
  });

  it("does not wait for a background process the command left holding its output", async () => {
    const r = await run(superviseScript("sleep 30 & echo $! > bg.pid; echo ok", status, "b1"));
    expect(r).toMatchObject({ code: 0, out: "ok\n" });
    const bg = Number(readFileSync(join(dir, "bg.pid"), "utf8"));
    expect(alive(bg)).toBe(true);
    process.kill(bg, "SIGKILL");
  });
});

describe("Supervision", () => {
  const notes: string[] = [];
  const sup = (interrupted: string[]) =>
    new Supervision({ runId: "20260101-000000-abcd", statusDir: status, interrupted: new Set(interrupted), note: (_s, _h, t) => notes.push(t) });

  it("resume: an ended command's outcome and output come from its files; it is not run again; the files go once forgotten", async () => {
    const first = sup([]);
    const s1 = first.next("build", driver, undefined, undefined, true)!;
    const cmd = "echo ran >> count; echo built; exit 3";
    expect((await driver.exec(first.wrap(cmd, s1))).exitCode).toBe(3);

    notes.length = 0;
    const again = sup(["build"]);
    const s2 = again.next("build", driver, undefined, undefined, true)!;
    expect(s2.id).toBe(s1.id);
    let out = "";
    const res = await again.earlier("build", undefined, s2, { onStdout: (c) => (out += c), onStderr: () => undefined, signal: new AbortController().signal });
    expect(res?.exitCode).toBe(3);
    expect(out).toBe("built\n");
    expect(readFileSync(join(dir, "count"), "utf8")).toBe("ran\n");
    expect(notes.join("\n")).toMatch(/ran to its end before the run stopped \(exit status 3\): not run again/);

    again.stepFinished("build");
    await again.forget();
    expect(readdirSync(status)).toEqual([]);
  });

  it("not resumed, `as USER` or without a folder: nothing is looked for, or nothing supervised", async () => {
    const s = sup([]);
    const one = s.next("x", driver, undefined, undefined, true)!;
    expect(await s.earlier("x", undefined, one, { onStdout: () => undefined, onStderr: () => undefined, signal: new AbortController().signal })).toBeUndefined();
    expect(s.next("x", driver, undefined, "root", true)).toBeUndefined();
    expect(new Supervision({ runId: "r", note: () => undefined }).next("x", driver, undefined, undefined, true)).toBeUndefined();
  });
});

describe("parseState", () => {
  it("reads each answer of stateScript, and nothing else", () => {
    expect(parseState("end 0\n")).toEqual({ kind: "ended", exitCode: 0 });
    expect(parseState("running 123\n")).toEqual({ kind: "running", pgid: 123 });
    expect(parseState("vanished \n")).toEqual({ kind: "vanished", pgid: null });
    expect(parseState("none\n")).toEqual({ kind: "none" });
    expect(parseState("end \n")).toBeUndefined();
    expect(parseState("garbage")).toBeUndefined();
  });
});
