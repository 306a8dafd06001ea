// The executor over real SSH (sshd instances from tests/support/sshd.ts): steps
// `on` a host and on a host group, edits and copies on the remote side, probes
// in a dry run, a connection that drops in the middle of a step, and closing
// every connection at the end.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Connections } from "../../runtime/connections.js";
import { SshPool } from "../../runtime/drivers/ssh/index.js";
import { parseTailProbe, superviseScript, tailProbeScript } from "../../runtime/supervisor.js";
import { SecretStore } from "../../runtime/secrets.js";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { planFrom, runPlan, tempDir } from "./helpers.js";

const reason = sshdUnavailableReason();
const enabled = requireServer("sshd", reason === null, reason ?? undefined);

describe.skipIf(!enabled)("executor over SSH", () => {
  let h: SshTestHosts;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startSshHosts(2);
    env = { PATH: process.env.PATH, HOME: h.home };
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const hosts = () => `host box = "${h.hosts[0]!.target}"\nhost pool = ["${h.hosts[0]!.alias}", "${h.hosts[1]!.alias}"]\n`;

  it("runs steps on a host: commands, edits, upload and download", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "local.txt"), "from here\n");
    const d = `${h.remoteDir}/exec-${Date.now()}`;
    const plan = planFrom(`runbook "s" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box { run "mkdir -p ${d} && printf 'migrate = False\\n' > ${d}/db.py && id -un" }
step "Migrate" as migrate on box { edit "${d}/db.py" { replace "migrate = False" with "migrate = True" } }
step "Copy" as copy on box {
  upload "local.txt" to "${d}/up.txt"
  download "${d}/db.py" to "back/db.py"
}
`);
    const r = await runPlan(plan, { cwd, env });
    expect(r.error ?? "").toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.output.prepare).toBe("runbooktest\n");
    expect(r.events.find((e) => e.type === "output")).toMatchObject({ host: "box" });
    expect(readFileSync(join(cwd, "back/db.py"), "utf8")).toBe("migrate = True\n");
  });

  it("runs a group step on every member, in parallel when asked", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "g" version "1.0.0"\n${hosts()}\nstep "Each" as each on pool {\n  run "echo on-$(id -un)"\n  parallel 2\n}\n`);
    const r = await runPlan(plan, { cwd, env });
    expect(r.exitCode).toBe(0);
    const finished = r.events.filter((e) => e.type === "host-finished").map((e) => (e as { host: string }).host).sort();
    expect(finished).toEqual([h.hosts[0]!.alias, h.hosts[1]!.alias].sort());
  });

  it("closes every member's connection at the end of a run, all at once", async () => {
    // Host 0 through a relay that can go silent: its close then gets no
    // answer and is given up (the ssh2 client destroyed) after a grace period.
    const relayed = new Set<Socket>();
    let silent = false;
    const relay = createServer({ allowHalfOpen: true }, (client) => {
      const server = connect(h.hosts[0]!.port, "127.0.0.1");
      relayed.add(client).add(server);
      client.on("data", (d: Buffer) => void (silent || server.write(d)));
      server.on("data", (d: Buffer) => void (silent || client.write(d)));
      client.on("error", () => {});
      server.on("error", () => {});
    });
    await new Promise<void>((res) => relay.listen(0, "127.0.0.1", () => res()));
    const port = (relay.address() as AddressInfo).port;
    const known = await h.readKnownHosts();
    await h.writeKnownHosts(known + h.knownHostsLines(0).map((l) => l.replace(h.hosts[0]!.knownName, `[127.0.0.1]:${port}`) + "\n").join(""));
    const destroyOriginal = ssh2.Client.prototype.destroy;
    const givenUp: number[] = [];
    const destroy = vi.spyOn(ssh2.Client.prototype, "destroy").mockImplementation(function (this: InstanceType<typeof ssh2.Client>) {
      givenUp.push(h.sessions(1).length);
      return destroyOriginal.call(this);
    });
    try {
      const cwd = tempDir();
      const plan = planFrom(
        `runbook "c" version "1.0.0"\nhost pair = ["${h.user}@127.0.0.1:${port}", "${h.hosts[1]!.alias}"]\n` +
          `step "Each" as each on pair {\n  run "true"\n  parallel 2\n}\n`,
      );
      const real = new Connections(plan, { secrets: new SecretStore(plan.secrets, { env, cwd }), env, cwd });
      // The run leaves its connections open; closing them is the test.
      const r = await runPlan(plan, { cwd, env, connections: { hosts: (n) => real.hosts(n), database: (n) => real.database(n), closeAll: async () => {} } });
      expect(r.exitCode).toBe(0);
      expect(h.sessions(1)).not.toEqual([]);
      silent = true;
      await real.closeAll();
      // Host 0 was given up once, and by then host 1 was closed already:
      // closed one after the other, host 1 would still have been open.
      expect(givenUp).toEqual([0]);
    } finally {
      destroy.mockRestore();
      for (const s of relayed) s.destroy();
      relay.close();
      await h.writeKnownHosts(known);
    }
  });

  it("a dry run evaluates remote probes for real and changes nothing", async () => {
    const cwd = tempDir();
    const f = `${h.remoteDir}/dry-${Date.now()}`;
    const plan = planFrom(`runbook "d" version "1.0.0"\n${hosts()}\nstep "Only if there" as only on box when exists "${f}" { run "touch ${f}.ran" }\nstep "Touch" as touch on box { run "touch ${f}" }\n`);
    const r = await runPlan(plan, { cwd, env, dryRun: true });
    expect(r.exitCode).toBe(0);
    expect(r.finished.only).toMatchObject({ status: "skipped" });
    expect(r.events.find((e) => e.type === "action" && e.stepId === "touch")).toMatchObject({ description: `would run: $ touch ${f}` });
    expect(existsSync(f)).toBe(false);
  });

  it("a connection lost during a step is told as such", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "l" version "1.0.0"\n${hosts()}\nstep "Long job" as long on box { run "echo started; sleep 30" }\n`);
    const r = await runPlan(plan, {
      cwd,
      env,
      onEvent: (e) => {
        if (e.type === "output" && e.text.includes("started")) void h.killSessions(0);
      },
    });
    expect(r.exitCode).toBe(1);
    expect(r.finished.long!.reason).toBe("connection to box lost during 'Long job'");
  });

  it("the supervisor's wrapper on a real sshd: GNU tail (found there) and the polling loop deliver the same output, all of it, and the command's status", async () => {
    const pool = new SshPool({ homeDir: h.home });
    try {
      const host = pool.host(h.hosts[0]!.alias);
      const dir = `${h.remoteDir}/sup-${Date.now()}`;
      let probe = "";
      await host.exec(tailProbeScript(dir, false), { onStdout: (c) => (probe += c) });
      expect(parseTailProbe(probe)).toBe("tail");
      // A lot of output, then some printed right before the command exits.
      const command = "seq 1 100000; seq 1 3000 >&2; printf end; printf err-end >&2; exit 5";
      const results = [];
      for (const follow of ["tail", "poll"] as const) {
        let out = "";
        let err = "";
        const r = await host.exec(superviseScript(command, dir, `c-${follow}`, { follow }), { onStdout: (c) => (out += c), onStderr: (c) => (err += c) });
        results.push({ code: r.exitCode, out, err });
      }
      const seq = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
      expect(results[0]).toEqual({ code: 5, out: `${seq(100000)}end`, err: `${seq(3000)}err-end` });
      expect(results[1]).toEqual(results[0]);
    } finally {
      await pool.closeAll();
    }
  });
});
