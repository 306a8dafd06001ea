// The command supervisor (runtime/supervisor.ts) with a real /bin/sh through the
// local driver: the files it keeps (private, the end written once the output is in),
// a command that outlives its dropped reader, what stateScript reads (none, running,
// ended, vanished), following an earlier attempt, Supervision taking an ended
// command's outcome from its files instead of running it again, and Supervision.exec
// (locally: the recording wrapper while Node reads the files; on a host: the following one).

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalDriver } from "../../runtime/drivers/local.js";
import type { ExecOptions, HostDriver } from "../../runtime/drivers/driver.js";
import { followScript, parseState, parseTailProbe, recordScript, stateScript, superviseScript, Supervision, tailProbeScript } from "../../runtime/supervisor.js";
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

/** The end a wrapper recorded: the `exit STATUS` line of the start file. */
const endOf = (id: string): string | undefined => {
  const start = join(status, `${id}.start`);
  return existsSync(start) ? /^exit .*\n/m.exec(readFileSync(start, "utf8"))?.[0] : undefined;
};

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(ok()).toBe(true);
};

/** A host that records the scripts it is given and runs none (each "succeeds"). */
function recordingHost(): { host: HostDriver; scripts: string[] } {
  const scripts: string[] = [];
  const host = {
    label: "h",
    exec: async (c: string) => {
      scripts.push(c);
      return { exitCode: 0, signal: null, timedOut: false, aborted: false, durationMs: 0 };
    },
  } as unknown as HostDriver;
  return { host, scripts };
}

describe("the supervisor's wrapper", () => {
  it("streams the output, exits with the command's status, and keeps start, end and output in private files", async () => {
    const r = await run(superviseScript("echo one; echo two >&2; echo three; exit 7", status, "a1"));
    expect(r).toEqual({ code: 7, out: "one\nthree\n", err: "two\n" });
    expect(statSync(status).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(status)) expect(statSync(join(status, f)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(status, "a1.start"), "utf8")).toMatch(/^pid \d+\npgid \d+\nexec a1\nexit 7\n$/);
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
    await until(() => endOf("d1") !== undefined);
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

describe("the local wrapper (recordScript)", () => {
  it("prints nothing of its own: the output is in the files, the end recorded, its status kept", async () => {
    const r = await run(recordScript("echo one; echo two >&2; exit 5", status, "l1"));
    expect(r).toEqual({ code: 5, out: "", err: "" });
    expect(readFileSync(join(status, "l1.out"), "utf8")).toBe("one\n");
    expect(readFileSync(join(status, "l1.err"), "utf8")).toBe("two\n");
    expect(endOf("l1")).toBe("exit 5\n");
    expect(await state("l1")).toEqual({ kind: "ended", exitCode: 5 });
  });

  it("runs the command as `sh -c` would: no variable or argument of the wrapper, its own exit and syntax errors ending only it", async () => {
    const probe = 'printf "%s|" "$#" "${f-unset}" "${d-unset}" "${pg-unset}" "${_l-unset}"; exit 3';
    const r = await run(recordScript(probe, status, "s1"));
    expect(r).toEqual({ code: 3, out: "", err: "" });
    expect(readFileSync(join(status, "s1.out"), "utf8")).toBe("0|unset|unset|unset|unset|");
    expect(endOf("s1")).toBe("exit 3\n");
    const plain = await run(`sh -c '${probe}'`);
    expect(plain.out).toBe("0|unset|unset|unset|unset|");
    const bad = await run(recordScript("echo (", status, "s2"));
    expect(bad.code).toBe(2);
    expect(endOf("s2")).toBe("exit 2\n");
    expect(readFileSync(join(status, "s2.err"), "utf8")).toMatch(/syntax error/i);
  });

  it("a command outlives the runner's pipes going away: it runs to its end, and its end is recorded", async () => {
    const child = spawn("/bin/sh", ["-c", recordScript("sleep 0.3; echo done >> marker; echo after", status, "l2")], {
      cwd: dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    await until(() => existsSync(join(status, "l2.start")));
    child.stdout!.destroy();
    child.stderr!.destroy();
    await until(() => endOf("l2") !== undefined);
    expect(readFileSync(join(dir, "marker"), "utf8")).toBe("done\n");
    expect(await state("l2")).toEqual({ kind: "ended", exitCode: 0 });
    expect(await run(followScript(status, "l2"))).toEqual({ code: 0, out: "after\n", err: "" });
  });
});

describe("stateScript", () => {
  it("a start file whose write did not complete: the command never started; an end line likewise: no end", async () => {
    mkdirSync(status, { recursive: true });
    writeFileSync(join(status, "p1.start"), "");
    expect(await state("p1")).toEqual({ kind: "none" });
    writeFileSync(join(status, "p1.start"), "pid 1\npgid 999999\nexec p1\n");
    expect(await state("p1")).toEqual({ kind: "vanished", pgid: 999999 });
    // An end line whose write did not complete is no end; a whole one is.
    writeFileSync(join(status, "p1.out"), "");
    writeFileSync(join(status, "p1.err"), "");
    writeFileSync(join(status, "p1.start"), "pid 1\npgid 999999\nexec p1\nexit 3");
    expect(await state("p1")).toEqual({ kind: "vanished", pgid: 999999 });
    expect((await run(followScript(status, "p1"))).code).toBe(125);
    writeFileSync(join(status, "p1.start"), "pid 1\npgid 999999\nexec p1\nexit 3\n");
    expect(await state("p1")).toEqual({ kind: "ended", exitCode: 3 });
    expect((await run(followScript(status, "p1"))).code).toBe(3);
  });
});

describe("Supervision.exec", () => {
  const fresh = () => new Supervision({ runId: "20260101-000000-exec", statusDir: status, note: () => undefined });

  async function exec(s: Supervision, step: string, command: string) {
    let out = "";
    let err = "";
    const sup = s.next(step, driver, undefined, undefined, true)!;
    const r = await s.exec(driver, command, sup, { onStdout: (c) => (out += c), onStderr: (c) => (err += c) });
    return { code: r.exitCode, out, err, id: sup.id };
  }

  it("locally: the output read from the files as it comes and to its end (split characters whole, past one read), the status, then forgotten by Node", async () => {
    const s = fresh();
    const big = "x".repeat(200_000);
    const r = await exec(s, "a", `printf 'h\\303'; sleep 0.2; printf '\\251!\\n'; echo e1 >&2; printf '%s' ${big.slice(0, 10)}; head -c 199990 /dev/zero | tr '\\0' x; exit 6`);
    expect(r.code).toBe(6);
    expect(r.out).toBe(`hé!\n${big}`);
    expect(r.err).toBe("e1\n");
    expect(endOf(r.id)).toBe("exit 6\n");
    s.stepFinished("a");
    await s.forget();
    expect(readdirSync(status)).toEqual([]);
  });

  it("locally: the output comes while the command still runs", async () => {
    const s = fresh();
    const sup = s.next("b", driver, undefined, undefined, true)!;
    let out = "";
    let sawBeforeEnd = false;
    const r = await s.exec(driver, "echo first; while [ ! -f go ]; do sleep 0.02; done; echo second", sup, {
      onStdout: (c) => {
        out += c;
        if (out === "first\n" && endOf(sup.id) === undefined) {
          sawBeforeEnd = true;
          writeFileSync(join(dir, "go"), "");
        }
      },
    });
    expect(r.exitCode).toBe(0);
    expect(sawBeforeEnd).toBe(true);
    expect(out).toBe("first\nsecond\n");
  });

  it("locally: does not wait for a background process the command left holding its output", async () => {
    const r = await exec(fresh(), "c", "sleep 30 & echo $! > bg.pid; echo ok");
    expect(r).toMatchObject({ code: 0, out: "ok\n" });
    const bg = Number(readFileSync(join(dir, "bg.pid"), "utf8"));
    expect(alive(bg)).toBe(true);
    process.kill(bg, "SIGKILL");
  });

  it("locally: its folder removed while the command runs: still its output and status, and a warning that its end is not recorded", async () => {
    const r = await exec(fresh(), "d", `echo one; rm -rf '${status}'; echo two; exit 4`);
    expect(r.code).toBe(4);
    expect(r.out).toBe("one\ntwo\n");
    expect(r.err).toMatch(/^runbook: warning: this command's end could not be recorded in .*: were runbook to die now, a resume could not tell that it ran\n$/);
  });

  it("on a host: asks once whether its tail will do (removing its stale files then); finished steps' files go with a later wrapper there, sixteen at a time, or at the last forget", async () => {
    const s = fresh();
    const scripts: string[] = [];
    const host = {
      label: "h",
      exec: async (c: string, o: ExecOptions) => {
        scripts.push(c);
        if (c.includes("tail ok")) o.onStdout?.("tail ok\n");
        return { exitCode: 0, signal: null, timedOut: false, aborted: false, durationMs: 0 };
      },
    } as unknown as HostDriver;
    const dirWord = `"$HOME/.cache/runbook/exec"`;
    const ids: string[] = [];
    for (let i = 0; i < 18; i++) {
      const x = s.next(`x${i}`, host, "h", undefined, false)!;
      ids.push(x.id);
      await s.exec(host, "true", x, {});
      s.stepFinished(`x${i}`);
      await s.forget();
    }
    expect(scripts).toHaveLength(19);
    expect(scripts[0]).toContain("-mtime +30");
    expect(scripts.slice(1).filter((c) => c.includes("-mtime"))).toEqual([]);
    expect(scripts[1]).toContain("tail -q -c +1 -f --pid=");
    // The 17th wrapper removes the files of the 16 steps before it, and only those.
    expect(scripts.slice(1).map((c) => c.includes(`rm -f ${dirWord}`))).toEqual(Array.from({ length: 18 }, (_, i) => i === 16));
    const removal = scripts[17]!.split("\n").find((l) => l.includes(`rm -f ${dirWord}`))!;
    for (const id of ids.slice(0, 16)) expect(removal).toContain(`${dirWord}/${id}.start`);
    expect(removal).not.toContain(ids[16]);
    await s.forget(true);
    expect(scripts).toHaveLength(20);
    expect(scripts[19]).toContain(`${dirWord}/${ids[16]}.out`);
    expect(scripts[19]).toContain(`${dirWord}/${ids[17]}.err`);
    expect(scripts[19]).not.toContain(ids[15]);
  });

  it("on a host: a step run again keeps the files of its new attempt (not removed with the old)", async () => {
    const s = fresh();
    const { host, scripts } = recordingHost();
    const first = s.next("again", host, "h", undefined, false)!;
    await s.exec(host, "true", first, {});
    s.stepFinished("again");
    await s.forget();
    const second = s.next("again", host, "h", undefined, false)!;
    expect(second.id).toBe(first.id);
    await s.exec(host, "true", second, {});
    for (let i = 0; i < 17; i++) {
      const x = s.next(`y${i}`, host, "h", undefined, false)!;
      await s.exec(host, "true", x, {});
      s.stepFinished(`y${i}`);
      await s.forget();
    }
    expect(scripts.some((c) => c.includes(`rm -f "$HOME`) && c.includes(`/${first.id}.`))).toBe(false);
  });

  it("on a host whose tail cannot follow for a pid: the polling wrapper", async () => {
    const s = fresh();
    const { host, scripts } = recordingHost();
    for (const step of ["x", "y"]) await s.exec(host, "true", s.next(step, host, "h", undefined, false), {});
    expect(scripts).toHaveLength(3);
    expect(scripts[1]).toContain("cat <&4");
    expect(scripts[2]).toContain("cat <&4");
  });
});

describe("tailProbeScript", () => {
  it("says GNU tail will do where it does, and not where `tail` is another", async () => {
    let out = "";
    const r = await driver.exec(tailProbeScript(status, false), { onStdout: (c) => (out += c) });
    expect(r.exitCode).toBe(0);
    expect(parseTailProbe(out)).toBe("tail");
    // A `tail` without --pid (BusyBox, BSD): first on PATH.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "tail"), "#!/bin/sh\necho 'tail: unrecognized option: pid' >&2\nexit 1\n", { mode: 0o755 });
    const other = new LocalDriver({ cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    out = "";
    await other.exec(tailProbeScript(status, false), { onStdout: (c) => (out += c) });
    expect(parseTailProbe(out)).toBe("poll");
    expect(readdirSync(status)).toEqual([]);
    // With the sweep: status files past the retention go (in the background), the others stay.
    writeFileSync(join(status, "old.start"), "");
    writeFileSync(join(status, "new.start"), "");
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    utimesSync(join(status, "old.start"), longAgo, longAgo);
    out = "";
    await driver.exec(tailProbeScript(status, true), { onStdout: (c) => (out += c) });
    expect(parseTailProbe(out)).toBe("tail");
    await until(() => !existsSync(join(status, "old.start")));
    expect(readdirSync(status)).toEqual(["new.start"]);
  });
});

describe("the following wrapper: GNU tail against the polling loop", () => {
  const commands = [
    // Prints right before exiting, on both streams.
    "echo one; echo two >&2; printf last; printf err-last >&2; exit 3",
    // Prints a lot, quickly, then ends.
    "head -c 300000 /dev/zero | tr '\\0' a; echo; seq 1 20000 >&2",
    // Prints, waits, prints again; stdin passed through.
    "echo before; sleep 0.3; cat; echo after",
    // Nothing at all.
    "true",
    // Nothing of the wrapper's own: variables, arguments.
    'printf "%s|" "$#" "${f-unset}" "${d-unset}" "${pg-unset}" "${_l-unset}" "${c-unset}"',
  ];

  it.each(commands)("the same output, status and files both ways: %s", async (command) => {
    const results = [];
    for (const follow of ["tail", "poll"] as const) {
      const id = `c-${follow}`;
      let out = "";
      let err = "";
      const r = await driver.exec(superviseScript(command, status, id, { follow }), { stdin: "in\n", onStdout: (c) => (out += c), onStderr: (c) => (err += c) });
      const file = (ext: string) => readFileSync(join(status, `${id}.${ext}`), "utf8");
      results.push({ code: r.exitCode, out, err, files: { out: file("out"), err: file("err"), end: endOf(id) }, state: await state(id) });
      expect(out).toBe(file("out"));
      expect(err).toBe(file("err"));
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]!.files.end).toBe(`exit ${results[0]!.code}\n`);
    if (command.startsWith("printf")) expect(results[0]!.out).toBe("0|unset|unset|unset|unset|unset|");
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
