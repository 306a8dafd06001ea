import { spawn, type SpawnOptions } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalDriver } from "../../runtime/drivers/local.js";
import { goneWithin } from "../support/process.js";
import { requireServer } from "../support/sshd.js";
import { requireSudo } from "../support/sudo.js";

const dir = mkdtempSync(join(tmpdir(), "runbook-local-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path)) {
      const t = readFileSync(path, "utf8").trim();
      if (t) return t;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${path} never appeared`);
}

const driver = new LocalDriver({ cwd: dir, killGraceMs: 300 });

describe("LocalDriver.exec", () => {
  it("streams stdout and stderr in order, as they come", async () => {
    const seen: string[] = [];
    let resolved = false;
    let firstChunkBeforeEnd: boolean | undefined;
    const p = driver
      .exec("printf 'a\\n'; sleep 0.3; printf 'b\\n' >&2; sleep 0.3; printf 'c\\n'", {
        onStdout: (c) => {
          firstChunkBeforeEnd ??= !resolved;
          seen.push(`out:${c}`);
        },
        onStderr: (c) => seen.push(`err:${c}`),
      })
      .then((r) => {
        resolved = true;
        return r;
      });
    const r = await p;
    expect(seen).toEqual(["out:a\n", "err:b\n", "out:c\n"]);
    expect(firstChunkBeforeEnd).toBe(true);
    expect(r).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false });
  });

  it.each([
    ["exit 0", 0, null],
    ["exit 3", 3, null],
    ["kill -TERM $$", null, "SIGTERM"],
    ["kill -KILL $$", null, "SIGKILL"],
  ])("%s → exit %s, signal %s", async (command, exitCode, signal) => {
    const r = await driver.exec(command);
    expect(r.exitCode).toBe(exitCode);
    expect(r.signal).toBe(signal);
  });

  it("runs in the given working directory, with the given environment", async () => {
    let out = "";
    const d = new LocalDriver({ cwd: dir, env: { PATH: process.env.PATH, GREETING: "bonjou" } });
    await d.exec('pwd; echo "$GREETING"', { onStdout: (c) => (out += c) });
    expect(out).toBe(`${dir}\nbonjou\n`);
  });

  it("feeds stdin", async () => {
    let out = "";
    await driver.exec("tr a-z A-Z", { stdin: "hello", onStdout: (c) => (out += c) });
    expect(out).toBe("HELLO");
  });

  it("keeps multi-byte characters whole across chunks", async () => {
    let out = "";
    await driver.exec("printf '\\303'; sleep 0.1; printf '\\251\\n'", { onStdout: (c) => (out += c) });
    expect(out).toBe("é\n");
  });

  it("a timeout kills the whole process group, grandchildren included", async () => {
    const pidFile = join(dir, "grandchild.pid");
    const r = await driver.exec(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    const pid = Number(await waitForFile(pidFile));
    expect(await goneWithin(pid)).toBe(true);
  });

  it("a grandchild that ignores TERM gets KILL after the grace period", async () => {
    const pidFile = join(dir, "stubborn.pid");
    const r = await driver.exec(`trap '' TERM; sh -c 'trap "" TERM; while :; do sleep 0.1; done' & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    const pid = Number(await waitForFile(pidFile));
    expect(await goneWithin(pid)).toBe(true);
  });

  it("aborting ends the command the same way", async () => {
    const pidFile = join(dir, "aborted.pid");
    const ac = new AbortController();
    const p = driver.exec(`sleep 30 & echo $! > ${pidFile}; wait`, { signal: ac.signal });
    const pid = Number(await waitForFile(pidFile));
    ac.abort();
    const r = await p;
    expect(r.aborted).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(await goneWithin(pid)).toBe(true);
  });

  it("a command over 128 KiB is refused before it starts, saying why (not spawn E2BIG)", async () => {
    const err = await driver.exec(`echo ${"x".repeat(140 * 1024)} > /dev/null`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "command-too-long" });
    expect((err as Error).message).toMatch(/^the command is 141 KiB, more than the 128 KiB one command line may hold; put it in a script file/);
    let out = "";
    const ok = await driver.exec(`echo ${"x".repeat(120 * 1024)} | wc -c`, { onStdout: (c) => (out += c) });
    expect(ok.exitCode).toBe(0);
    expect(out.trim()).toBe(String(120 * 1024 + 1));
  });

    it("an already aborted signal runs nothing", async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await driver.exec(`touch ${join(dir, "never")}`, { signal: ac.signal });
    expect(r.aborted).toBe(true);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });

  it("does not wait for a background process that keeps the output open", async () => {
    const pidFile = join(dir, "daemon.pid");
    let out = "";
    const r = await driver.exec(`(sleep 20; echo late) & echo $! > ${pidFile}; echo now`, { onStdout: (c) => (out += c) });
    expect(r.exitCode).toBe(0);
    expect(out).toBe("now\n");
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
  });

  it("asUser goes through sudo -n -u (spawn injected)", async () => {
    const calls: { file: string; args: readonly string[]; options: SpawnOptions }[] = [];
    const d = new LocalDriver({
      spawn: (file, args, options) => {
        calls.push({ file, args, options });
        return spawn("/bin/sh", ["-c", "exit 0"], options);
      },
    });
    await d.exec("id -un", { asUser: "deploy" });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.file).toBe("sudo");
    expect(calls[0]!.args).toEqual(["-n", "-u", "deploy", "--", "/bin/sh", "-c", "id -un"]);
    expect(calls[0]!.options.detached).toBe(true);
  });

  it("asUser naming the user runbook runs as runs the command directly, values in its environment (spawn injected)", async () => {
    const calls: { file: string; args: readonly string[]; options: SpawnOptions }[] = [];
    const d = new LocalDriver({
      spawn: (file, args, options) => {
        calls.push({ file, args, options });
        return spawn("/bin/sh", ["-c", "exit 0"], options);
      },
    });
    await d.exec('echo "${__rb_1}"', { asUser: userInfo().username, values: ["v"] });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.file).toBe("/bin/sh");
    expect(calls[0]!.args).toEqual(["-c", 'echo "${__rb_1}"']);
    expect(calls[0]!.options.env?.__rb_1).toBe("v");
  });

  const sudo = requireSudo("sudo (local commands as another user)");
  it.runIf(sudo)("asUser runs as that user (real sudo, as root)", async () => {
    let out = "";
    const r = await driver.exec("id -un", { asUser: "nobody", onStdout: (c) => (out += c) });
    expect(r.exitCode).toBe(0);
    expect(out.trim()).toBe("nobody");
  });
});

describe("LocalDriver files", () => {
  it("writeFile replaces atomically and keeps the mode", async () => {
    const f = join(dir, "config.py");
    writeFileSync(f, "migrate = False\n");
    chmodSync(f, 0o640);
    await driver.writeFile("config.py", "migrate = True\n");
    expect(readFileSync(f, "utf8")).toBe("migrate = True\n");
    expect(statSync(f).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).filter((n) => n.includes(".runbook-"))).toEqual([]);
  });

  // chown clears setuid and setgid: the mode must be set after the owner.
  const asRoot = requireServer("root (to give a file to another user)", process.getuid?.() === 0, "run the tests as root");
  it.runIf(asRoot).each([
    ["setuid and setgid", 0o6755],
    ["setgid on a group-writable file", 0o2775],
    ["setuid alone", 0o4750],
    ["sticky and plain bits", 0o1644],
  ])("writeFile of a file owned by another user keeps its owner and %s", async (_what, mode) => {
    const f = join(dir, `suid-${mode.toString(8)}`);
    writeFileSync(f, "#!/bin/sh\necho old\n");
    chownSync(f, 65534, 65534);
    chmodSync(f, mode);
    expect(statSync(f).mode & 0o7777).toBe(mode);
    await driver.writeFile(f, "#!/bin/sh\necho new\n");
    const st = statSync(f);
    expect([st.uid, st.gid]).toEqual([65534, 65534]);
    expect(st.mode & 0o7777).toBe(mode);
    expect(readFileSync(f, "utf8")).toBe("#!/bin/sh\necho new\n");
  });

  it.each([
    [0o600, 0o600],
    [0o750, 0o750],
    [0o4755, 0o755],
  ])("download on this machine keeps mode %o as %o (setuid not carried over)", async (from, to) => {
    const src = join(dir, `dl-src-${from.toString(8)}`);
    writeFileSync(src, "x");
    chmodSync(src, from);
    await driver.download(src, join(dir, `dl-dst-${from.toString(8)}`));
    expect(statSync(join(dir, `dl-dst-${from.toString(8)}`)).mode & 0o7777).toBe(to);
  });

  it("writeFile through a symlink writes the target and keeps the link", async () => {
    const target = join(dir, "real.txt");
    writeFileSync(target, "old");
    symlinkSync(target, join(dir, "link.txt"));
    await driver.writeFile("link.txt", "new");
    expect(lstatSync(join(dir, "link.txt")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "link.txt"))).toBe(target);
    expect(readFileSync(target, "utf8")).toBe("new");
  });

  it("stat is null for a missing path", async () => {
    expect(await driver.stat("nope")).toBeNull();
    expect(await driver.stat(".")).toMatchObject({ isDirectory: true });
  });

  it("readFile of a missing file says so", async () => {
    await expect(driver.readFile("missing.txt")).rejects.toThrow(/cannot read missing.txt: no such file/);
  });

  it("upload and download are copies", async () => {
    writeFileSync(join(dir, "a.txt"), "payload");
    await driver.upload("a.txt", "sub/b.txt");
    expect(readFileSync(join(dir, "sub/b.txt"), "utf8")).toBe("payload");
    await driver.download("sub/b.txt", "c.txt");
    expect(readFileSync(join(dir, "c.txt"), "utf8")).toBe("payload");
    await expect(driver.upload("none.txt", "x.txt")).rejects.toThrow(/no such file/);
  });
});
