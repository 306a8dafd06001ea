// SSH step overhead: 200 sequential `true` commands on one loopback sshd, run
// (a) through our SshPool, (b) as a bare ssh2 Client exec loop with
// setNoDelay (the limit for one connection), (c) as a bash loop of OpenSSH
// `ssh` over a ControlMaster opened first, and (d) with ansible-playbook
// (pipelining) when it is installed; then 10 hosts x 20 commands in parallel
// against 1 host x 20. Uses the real sshd instances of tests/support/sshd.ts.
// (a) and (b) alternate command by command and (c) runs in blocks of 20
// between them; every command is timed and the median reported, so other
// work on a shared machine does not decide the figures.

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

/** Run a bash script; its stdout. */
function bash(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`bash loop failed (${code}): ${err}`))));
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
    // Each ssh timed by bash itself ($EPOCHREALTIME: no extra process), in µs.
    const sshLoop =
      `for i in $(seq ${BLOCK}); do s=\${EPOCHREALTIME/./}; ` +
      `ssh -F ${cfg} -o BatchMode=yes -o ControlMaster=no -o ControlPath=${ctl} rbhost0 true || exit 1; ` +
      `echo $(( \${EPOCHREALTIME/./} - s )); done`;
    await bash(sshLoop.replace(`seq ${BLOCK}`, "seq 3"));

    // 200 steps per method. (a) and (b) alternate command by command, so
    // both see the same machine; after every 20 rounds, 20 of (c). Each
    // command is timed, and the median is reported as ms/step: one command
    // that other work on the machine stalled does not decide it.
    const times = { pool: [] as number[], bare: [] as number[], ssh: [] as number[] };
    const once = {
      pool: () => host0.exec("true").then(() => {}),
      bare: () => bare.loop(1),
    };
    for (let block = 0; block < STEPS / BLOCK; block++) {
      for (let i = 0; i < BLOCK; i++) {
        const order = (block * BLOCK + i) % 2 === 0 ? (["pool", "bare"] as const) : (["bare", "pool"] as const);
        for (const name of order) times[name].push(await timed(once[name]));
      }
      const out = await bash(sshLoop);
      times.ssh.push(...out.trim().split("\n").map((us) => Number(us) / 1000));
    }
    bare.close();
    const quantile = (xs: number[], q: number) => {
      const s = [...xs].sort((x, y) => x - y);
      return s[Math.round(q * (s.length - 1))];
    };
    const median = (xs: number[]) => quantile(xs, 0.5);
    const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    const pool1 = median(times.pool);
    const bare1 = median(times.bare);
    const ssh1 = median(times.ssh);
    const line = (name: keyof typeof times) =>
      `${fmt(median(times[name]))} ms/step (p25 ${fmt(quantile(times[name], 0.25))}, p75 ${fmt(quantile(times[name], 0.75))}; ` +
      `all ${times[name].length}: ${fmt(sum(times[name]))} ms)`;
    console.log(`ssh: ${STEPS} sequential \`true\` on one host, loopback; median per command`);
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
