// Commands over SSH against real sshd instances: exit codes, streaming,
// stdin, timeouts and aborts that kill the remote process group, concurrency
// over one connection, the channel cap, and sudo.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriverError, type HostDriver } from "../../runtime/drivers/driver.js";
import { SshPool } from "../../runtime/drivers/ssh/index.js";
import { startSshHosts, SUDO_TARGET_USER, type SshTestHosts } from "../support/sshd.js";
import { requireSudo } from "../support/sudo.js";
import { collect, marker, sleeping, sshdEnabled } from "./helpers.js";

/** The sudo tests need sudo and visudo (the harness installs a sudoers drop-in). */
const sudo = sshdEnabled && requireSudo("sudo (commands as another user over SSH)");

describe.skipIf(!sshdEnabled)("ssh exec", () => {
  let h: SshTestHosts;
  let pool: SshPool;
  let host: HostDriver;

  beforeAll(async () => {
    h = await startSshHosts(1, { sudo });
    pool = new SshPool({ homeDir: h.home });
    host = pool.host("rbhost0");
  });
  afterAll(async () => {
    await pool?.closeAll();
    await h?.stop();
  });

  it.each([
    ["exit 0", "true", 0, "", ""],
    ["non-zero exit with stderr", "echo out; echo 'it broke' >&2; exit 3", 3, "out\n", "it broke\n"],
    ["login user", "id -un", 0, "runbooktest\n", ""],
    ["quotes and newlines pass through", "printf '%s\\n' \"a'b\" 'c\"d'\necho second line", 0, "a'b\nc\"d\nsecond line\n", ""],
    ["unicode output", "printf 'h\\303\\251llo \\342\\234\\223\\n'", 0, "héllo ✓\n", ""],
  ])("%s", async (_what, command, exitCode, out, err) => {
    const r = await collect(host, command);
    expect(r).toMatchObject({ exitCode, signal: null, timedOut: false, aborted: false, out, err });
  });

  it("a command over 128 KiB is refused before it is sent, saying why (not a bare exit 1)", async () => {
    const err = await host.exec(`echo ${"x".repeat(140 * 1024)} > /dev/null`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).code).toBe("command-too-long");
    expect((err as DriverError).message).toMatch(/^the command is 141 KiB, more than the 128 KiB one command line may hold; put it in a script file/);
    // Just under the limit, it runs.
    expect((await collect(host, `echo ${"x".repeat(120 * 1024)} | wc -c`)).out).toBe(`${120 * 1024 + 1}\n`);
  });

    it("a command ended by a signal reports the signal", async () => {
    const r = await collect(host, "kill -s KILL $$");
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe("SIGKILL");
  });

  it("streams stderr while the command runs (it waits for us to react to its first line)", async () => {
    const flag = `${h.remoteDir}/flag-${Date.now()}`;
    const chunks: string[] = [];
    const r = await collect(
      host,
      `echo first >&2; while [ ! -e ${flag} ]; do sleep 0.05; done; echo second >&2; exit 4`,
      {
        timeoutMs: 20_000,
        onStderr: (s) => {
          chunks.push(s);
          if (s.includes("first")) void host.writeFile(flag, "");
        },
      },
    );
    // Buffered output would never have let the command finish: it would time out.
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(4);
    expect(r.err).toBe("first\nsecond\n");
    expect(chunks[0]).toBe("first\n");
  });

  it("writes stdin and closes it", async () => {
    const r = await collect(host, "cat; echo '<eof>'", { stdin: "line 1\nline 2\n" });
    expect(r.out).toBe("line 1\nline 2\n<eof>\n");
  });

  it("gives a command no stdin when none is passed (it sees end of file)", async () => {
    const r = await collect(host, "cat; echo done", { timeoutMs: 10_000 });
    expect(r).toMatchObject({ timedOut: false, out: "done\n" });
  });

  it("a timeout kills the remote process group, background children included", async () => {
    const a = marker();
    const b = marker();
    const r = await collect(host, `sleep ${a} & sleep ${b}; wait`, { timeoutMs: 1000 });
    expect(r.timedOut).toBe(true);
    expect(r.aborted).toBe(false);
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe("SIGTERM");
    expect(await sleeping(host, a)).toBe(false);
    expect(await sleeping(host, b)).toBe(false);
  });

  it("a command that ignores TERM is killed with KILL after the grace period", async () => {
    const a = marker();
    const r = await collect(host, `trap '' TERM; sleep ${a}`, { timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(await sleeping(host, a)).toBe(false);
  });

  it("a timeout also works when the login shell would exec the last command", async () => {
    const a = marker();
    const r = await collect(host, `exec sleep ${a}`, { timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(await sleeping(host, a)).toBe(false);
  });

  it("aborting ends the command the same way", async () => {
    const a = marker();
    const controller = new AbortController();
    const r = await collect(host, `echo started; sleep ${a}`, {
      signal: controller.signal,
      onStdout: (s) => {
        if (s.includes("started")) controller.abort();
      },
    });
    expect(r).toMatchObject({ aborted: true, timedOut: false, exitCode: null });
    expect(await sleeping(host, a)).toBe(false);
  });

  it("an already aborted signal runs nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await collect(host, "echo should-not-run", { signal: controller.signal });
    expect(r).toMatchObject({ aborted: true, exitCode: null, out: "" });
  });

  it("runs two commands over one connection at the same time", async () => {
    const cmd = "echo $SSH_CONNECTION; date +%s%N; sleep 1; date +%s%N";
    const [a, b] = await Promise.all([collect(host, cmd), collect(host, cmd)]);
    const [connA, startA, endA] = a.out.trim().split("\n");
    const [connB, startB, endB] = b.out.trim().split("\n");
    // Same client port: the same TCP connection.
    expect(connA).toBe(connB);
    // The intervals overlap: each started before the other ended.
    expect(BigInt(startA) < BigInt(endB)).toBe(true);
    expect(BigInt(startB) < BigInt(endA)).toBe(true);
  });

  it("caps the channels per connection and queues the rest", async () => {
    const capped = new SshPool({ homeDir: h.home, maxChannelsPerConnection: 2 });
    try {
      const c = capped.host("rbhost0");
      const results = await Promise.all(
        Array.from({ length: 5 }, () => collect(c, "date +%s%N; sleep 0.3; date +%s%N")),
      );
      const intervals = results.map((r) => r.out.trim().split("\n").map(BigInt));
      expect(results.every((r) => r.exitCode === 0)).toBe(true);
      // At no instant were more than 2 commands running.
      const events = intervals.flatMap(([s, e]) => [
        [s, 1],
        [e, -1],
      ] as const);
      events.sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : x[0] < y[0] ? -1 : 1));
      let running = 0;
      let most = 0;
      for (const [, d] of events) {
        running += d;
        most = Math.max(most, running);
      }
      expect(most).toBe(2);
    } finally {
      await capped.closeAll();
    }
  });

  it("many concurrent commands over one connection all finish (default cap, queue)", async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => collect(host, `echo ${i}`)));
    expect(results.map((r) => r.out)).toEqual(Array.from({ length: 30 }, (_, i) => `${i}\n`));
  });

  it("as the login user itself needs no sudo", async () => {
    const r = await collect(host, "id -un", { asUser: "runbooktest" });
    expect(r.out).toBe("runbooktest\n");
  });

  describe.runIf(sudo)("as another user (sudo -n)", () => {
    it("runs the command as that user", async () => {
      expect(h.sudo).toBe(true);
      const r = await collect(host, "id -un; echo to-stderr >&2; exit 5", { asUser: SUDO_TARGET_USER });
      expect(r).toMatchObject({ exitCode: 5, out: `${SUDO_TARGET_USER}\n`, err: "to-stderr\n" });
    });

    it("says so clearly when sudo wants a password", async () => {
      // daemon: a user no sudoers drop-in of the tests grants (they grant nobody, and root for the three-host test).
      const err = await host.exec("id -un", { asUser: "daemon" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DriverError);
      expect((err as DriverError).code).toBe("sudo-password");
      expect((err as DriverError).message).toBe(
        'sudo on rbhost0 needs a password for runbooktest to run commands as daemon; allow NOPASSWD for runbooktest in sudoers, or run the step as runbooktest (without "as daemon")',
      );
    });

    it("a timeout kills the command running under sudo", async () => {
      const a = marker();
      const r = await collect(host, `sleep ${a}`, { asUser: SUDO_TARGET_USER, timeoutMs: 1000 });
      expect(r.timedOut).toBe(true);
      expect(await sleeping(host, a)).toBe(false);
    });

    it("a timeout under sudo kills its whole process group, background children included", async () => {
      const a = marker();
      const b = marker();
      const r = await collect(host, `sleep ${a} & sleep ${b}; wait`, { asUser: SUDO_TARGET_USER, timeoutMs: 1000 });
      expect(r.timedOut).toBe(true);
      expect(await sleeping(host, a)).toBe(false);
      expect(await sleeping(host, b)).toBe(false);
    });
  });
});
