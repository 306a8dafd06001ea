// SSH step overhead: 200 sequential `true` commands on one loopback sshd, run
// (a) through our SshPool, (b) as a bare ssh2 Client exec loop with
// setNoDelay (the limit for one connection), (c) as a bash loop of OpenSSH
// `ssh` over a ControlMaster opened first, and (d) with ansible-playbook
// (pipelining) when it is installed; then 10 hosts x 20 commands in parallel
// against 1 host x 20. Uses the real sshd instances of tests/support/sshd.ts.
// (a) and (b) alternate command by command and (c) runs in blocks between
// them; the median block is reported, so other work on a shared machine does
// not decide the figures.

import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { SshPool } from "../runtime/drivers/ssh.js";
import { sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../tests/support/sshd.js";

const STEPS = 200;
const BLOCK = 20;
const ROUNDS = 5;
const run = promisify(execFile);

function onPath(program: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${program}`]).then(
    () => true,
    () => false,
  );
}

function fmt(ms: number): string {
  return ms.toFixed(2);
}

async function bareSsh2Loop(h: SshTestHosts): Promise<{ loop: (n: number) => Promise<void>; close: () => void }> {
  const ssh2 = (await import("ssh2")).default;
  const client = new ssh2.Client();
  const port = h.hosts[0].port;
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", reject);
    client.connect({ host: "127.0.0.1", port, username: h.user, privateKey: readFileSync(h.clientKey) });
  });
  client.setNoDelay(true);
  const once = () =>
    new Promise<void>((resolve, reject) => {
      client.exec("true", (err, stream) => {
        if (err) return reject(err);
        stream.on("close", () => resolve());
        stream.resume();
        stream.stderr.resume();
      });
    });
  return {
    loop: async (n) => {
      for (let i = 0; i < n; i++) await once();
    },
    close: () => client.end(),
  };
}

function bash(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bash loop failed (${code}): ${err}`))));
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function ansibleBench(h: SshTestHosts): Promise<{ perStep: number; perStepNoStartup: number } | undefined> {
  if (!(await onPath("ansible-playbook"))) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "runbook-ansible-"));
  try {
    const host = h.hosts[0];
    await writeFile(
      join(dir, "inventory.ini"),
      `rbhost0 ansible_host=127.0.0.1 ansible_port=${host.port} ansible_user=${h.user} ` +
        `ansible_ssh_private_key_file=${h.clientKey} ansible_python_interpreter=auto_silent\n`,
    );
    await writeFile(
      join(dir, "ansible.cfg"),
      [
        "[defaults]",
        "host_key_checking = False",
        "gathering = explicit",
        "",
        "[ssh_connection]",
        "pipelining = True",
        `ssh_args = -F ${join(h.home, ".ssh", "config")} -o ControlMaster=auto -o ControlPersist=60s`,
        "",
      ].join("\n"),
    );
    const playbook = (n: number) =>
      [
        "- hosts: rbhost0",
        "  gather_facts: false",
        "  tasks:",
        ...Array.from({ length: n }, (_, i) => `    - name: step ${i}\n      command: "true"`),
        "",
      ].join("\n");
    await writeFile(join(dir, "one.yml"), playbook(1));
    await writeFile(join(dir, "many.yml"), playbook(STEPS));
    const env = { ...process.env, ANSIBLE_CONFIG: join(dir, "ansible.cfg") };
    const play = (file: string) =>
      timed(() => run("ansible-playbook", ["-i", join(dir, "inventory.ini"), join(dir, file)], { env, cwd: dir }).then(() => {}));
    await play("one.yml"); // warm the ControlMaster
    const one = await play("one.yml");
    const many = await play("many.yml");
    return { perStep: many / STEPS, perStepNoStartup: (many - one) / (STEPS - 1) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchSsh(): Promise<void> {
  const reason = sshdUnavailableReason();
  if (reason) {
    console.log(`ssh: skipped (${reason})`);
    return;
  }
  const h = await startSshHosts(10);
  const pool = new SshPool({ homeDir: h.home });
  const ctlDir = await mkdtemp(join(tmpdir(), "runbook-ctl-"));
  try {
    const cfg = join(h.home, ".ssh", "config");
    const ctl = join(ctlDir, "%C");
    const host0 = pool.host("rbhost0");
    const bare = await bareSsh2Loop(h);

    // Warm up: connect, first channels, ssh2 loaded.
    for (let i = 0; i < 5; i++) await host0.exec("true");
    await bare.loop(5);
    await run("ssh", ["-F", cfg, "-o", "BatchMode=yes", "-o", "ControlMaster=yes", "-o", `ControlPath=${ctl}`,
      "-o", "ControlPersist=120", "-fN", "rbhost0"]);
    const sshLoop = `for i in $(seq ${BLOCK}); do ssh -F ${cfg} -o BatchMode=yes -o ControlMaster=no -o ControlPath=${ctl} rbhost0 true || exit 1; done`;
    await bash(sshLoop);

    // 200 steps per method. (a) and (b) alternate command by command, so
    // both see the same machine; every 20 rounds a block of 20 (c) runs.
    // Reported: the median of the 10 blocks' mean ms/step for each method
    // (one block that other work on the machine stalled does not decide
    // it), plus the per-command median for (a) and (b).
    const perExec = { pool: [] as number[], bare: [] as number[] };
    const blocks = { pool: [] as number[], bare: [] as number[], ssh: [] as number[] };
    // This process's CPU time per step: what our code costs on top of ssh2.
    const cpu = { pool: 0, bare: 0 };
    const once = {
      pool: () => host0.exec("true").then(() => {}),
      bare: () => bare.loop(1),
    };
    for (let block = 0; block < STEPS / BLOCK; block++) {
      const sums = { pool: 0, bare: 0 };
      for (let i = 0; i < BLOCK; i++) {
        const order = (block * BLOCK + i) % 2 === 0 ? (["pool", "bare"] as const) : (["bare", "pool"] as const);
        for (const name of order) {
          const before = process.cpuUsage();
          const ms = await timed(once[name]);
          const used = process.cpuUsage(before);
          cpu[name] += (used.user + used.system) / 1000;
          perExec[name].push(ms);
          sums[name] += ms;
        }
      }
      blocks.pool.push(sums.pool / BLOCK);
      blocks.bare.push(sums.bare / BLOCK);
      blocks.ssh.push((await timed(() => bash(sshLoop))) / BLOCK);
    }
    bare.close();
    const median = (xs: number[]) => {
      const s = [...xs].sort((x, y) => x - y);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const total = (xs: number[]) => xs.reduce((x, y) => x + y, 0) * BLOCK;
    const pool1 = median(blocks.pool);
    const bare1 = median(blocks.bare);
    const ssh1 = median(blocks.ssh);
    const line = (name: keyof typeof blocks) => {
      const each = name === "ssh" ? "" : `, per command ${fmt(median(perExec[name]))}`;
      return `${fmt(median(blocks[name]))} ms/step (${STEPS} in ${fmt(total(blocks[name]))} ms${each})`;
    };
    console.log(`ssh: ${STEPS} sequential \`true\` on one host, loopback; median of ${STEPS / BLOCK} interleaved blocks of ${BLOCK}`);
    console.log(`  (a) runbook SshPool exec        ${line("pool")}`);
    console.log(`  (b) bare ssh2 exec, setNoDelay  ${line("bare")}   (the limit)`);
    console.log(`  (c) ssh + ControlMaster loop    ${line("ssh")}`);
    const ansible = await ansibleBench(h);
    if (ansible) {
      console.log(
        `  (d) ansible-playbook, pipelining ${fmt(ansible.perStep)} ms/step (${fmt(ansible.perStepNoStartup)} without its startup)`,
      );
    } else {
      console.log("  (d) ansible-playbook not installed, skipped");
    }
    console.log(`  client CPU: runbook ${fmt(cpu.pool / STEPS)} ms/step, bare ssh2 ${fmt(cpu.bare / STEPS)} ms/step`);
    console.log(`  ratio a/b ${(pool1 / bare1).toFixed(2)}x (goal <= 1.2x)`);
    console.log(`  ratio c/a ${(ssh1 / pool1).toFixed(2)}x faster than ControlMaster (goal >= 3x)`);
    if (ansible) console.log(`  ratio d/a ${(ansible.perStep / pool1).toFixed(2)}x faster than ansible-playbook`);

    // Fan-out: 10 hosts x 20 sequential each, all hosts at once, vs 1 host x 20.
    const hosts = h.hosts.map((x) => pool.host(x.alias));
    await Promise.all(hosts.map((x) => x.exec("true")));
    const one: number[] = [];
    const ten: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      one.push(
        await timed(async () => {
          for (let i = 0; i < 20; i++) await host0.exec("true");
        }),
      );
      ten.push(
        await timed(() =>
          Promise.all(
            hosts.map(async (x) => {
              for (let i = 0; i < 20; i++) await x.exec("true");
            }),
          ).then(() => {}),
        ),
      );
    }
    const oneHost = median(one);
    const tenHosts = median(ten);
    console.log(`ssh: 10 hosts x 20 \`true\` in parallel ${fmt(tenHosts)} ms vs 1 host x 20 ${fmt(oneHost)} ms ` +
      `(${(tenHosts / oneHost).toFixed(2)}x the time for 10x the work)`);
  } finally {
    await run("ssh", ["-F", join(h.home, ".ssh", "config"), "-o", `ControlPath=${join(ctlDir, "%C")}`, "-O", "exit", "rbhost0"])
      .catch(() => undefined);
    await pool.closeAll();
    await h.stop();
    await rm(ctlDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchSsh();
}
