// SSH step overhead, against the real sshd instances of tests/support/sshd.ts
// (loopback, user runbooktest, a temp HOME whose ~/.ssh/config names them).
//
// One host, 200 sequential `true`:
//   (a) `runbook run` of a runbook of 200 steps `on` an ssh-config alias,
//       through the real CLI in-process (--no-tui, a temp journal): per step,
//       the time between one step's end and the next one's (executor,
//       journal, plain log and the exec); and the whole run over 200, with
//       start-up, connecting and closing
//   (b) our SshPool exec, (c) a bare ssh2 Client exec loop with setNoDelay
//       (the limit for one connection), alternating command by command;
//   (d) a bash loop of OpenSSH `ssh` over a ControlMaster opened first;
//   (e) ansible-playbook, the same 200 tasks (`command`, pipelining), when
//       it is installed.
// Every command of (b), (c) and (d) is timed and the median reported, so
// other work on a shared machine does not decide the figures; (a) is five
// whole runs spread between them.
//
// Fan-out: 10 hosts x 20 `true` at once against 1 host x 20, through the
// pool (connected beforehand) and through `runbook run` (20 steps on a
// group of 10 with `parallel 10` against 20 steps on one host; connecting
// is inside both runs). For each window it prints the CPU this process and
// the sshd trees consumed and how busy the whole machine was, and from them
// the floor that CPU alone sets on the 10-host time with this many cores.

import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { main } from "../cli/main.js";
import { SshPool } from "../runtime/drivers/ssh/index.js";
import { shellQuote } from "../runtime/quote.js";
import { sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../tests/support/sshd.js";
import { childrenNamed, cores, cpuBetween, cpuSnapshot, measureCpu, type CpuSnapshot, type CpuWindow } from "./cpu.js";

const STEPS = 200;
const BLOCK = 20;
/** Whole `runbook run`s of STEPS steps, spread over the one-host loop. */
const RUNS = 5;
const FAN_HOSTS = 10;
const FAN_STEPS = 20;
const ROUNDS = 5;
const run = promisify(execFile);

function onPath(program: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${shellQuote(program)}`]).then(
    () => true,
    () => false,
  );
}

function fmt(ms: number): string {
  return ms.toFixed(2);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.round(q * (s.length - 1))]!;
}
const median = (xs: number[]) => quantile(xs, 0.5);
const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);

async function bareSsh2Loop(h: SshTestHosts): Promise<{ loop: (n: number) => Promise<void>; close: () => void }> {
  const ssh2 = (await import("ssh2")).default;
  const client = new ssh2.Client();
  const port = h.hosts[0]!.port;
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

// ---------------------------------------------------------------------------
// `runbook run`, in-process through cli/main.ts as bench/local.ts does

/** A runbook of `steps` steps of `run "true"` on `host` (declared by `decl`). */
function runbookSource(name: string, decl: string, host: string, steps: number, parallel?: number): string {
  const body = Array.from(
    { length: steps },
    (_, i) => `step "Step ${i}" on ${host} {\n  run "true"\n${parallel ? `  parallel ${parallel}\n` : ""}}\n`,
  ).join("\n");
  return `runbook "${name}" version "1.0.0"\n\n${decl}\n\n${body}`;
}

interface RunbookRun {
  /** main() from call to return: compile, plan, journal, connecting, every step, closing. */
  totalMs: number;
  /** From the call to the end of the first step (start-up and connecting are in it). */
  firstStepMs: number;
  /** Between consecutive step ends: one step each, executor, journal and log included. */
  stepMs: number[];
  /** From the call to the end of the last step, while the connections are still open. */
  cpu: CpuWindow;
}

/**
 * `runbook run FILE --no-tui --state JOURNAL` in-process, HOME the harness's
 * temp home. The plain log is read as it is written: each step's "ok in"
 * line is timestamped, and a CPU snapshot is taken at the last one, before
 * the run closes its connections (see bench/cpu.ts).
 */
async function runbookRun(h: SshTestHosts, dir: string, file: string, steps: number, roots: number[]): Promise<RunbookRun> {
  const ends: number[] = [];
  let last: CpuSnapshot | undefined;
  let partial = "";
  const stdout = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const now = performance.now();
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (!/\] ok in /.test(line)) continue;
        ends.push(now);
        if (ends.length === steps) last = cpuSnapshot(roots);
      }
      cb();
    },
  });
  let errText = "";
  const stderr = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      errText += chunk.toString();
      cb();
    },
  });
  const io = {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: { PATH: process.env.PATH, HOME: h.home, NO_COLOR: "1" },
    cwd: dir,
  };
  const first = cpuSnapshot(roots);
  const code = await main(["run", file, "--no-tui", "--state", join(dir, "journal.db")], io);
  const totalMs = performance.now() - first.at;
  if (code !== 0 || ends.length !== steps || !last) {
    throw new Error(`runbook run ${file} exited ${code} after ${ends.length} of ${steps} steps: ${errText.trim()}`);
  }
  return {
    totalMs,
    firstStepMs: ends[0]! - first.at,
    stepMs: ends.slice(1).map((t, i) => t - ends[i]!),
    cpu: cpuBetween(first, last),
  };
}

// ---------------------------------------------------------------------------
// ansible-playbook

async function ansibleBench(h: SshTestHosts): Promise<{ perStep: number; perStepNoStartup: number } | undefined> {
  if (!(await onPath("ansible-playbook"))) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "runbook-ansible-"));
  try {
    const host = h.hosts[0]!;
    // Host key checking off for ansible only (the bench's sshd keys are in the temp known_hosts anyway).
    await writeFile(
      join(dir, "inventory.ini"),
      `rbhost0 ansible_host=127.0.0.1 ansible_port=${host.port} ansible_user=${h.user} ` +
        `ansible_ssh_private_key_file=${h.clientKey} ansible_python_interpreter=/usr/bin/python3\n`,
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
    await mkdir(join(dir, "home"));
    const env = {
      ...process.env,
      ANSIBLE_CONFIG: join(dir, "ansible.cfg"),
      // Its temp files, control sockets and caches in the temp dir, not in ~/.ansible.
      ANSIBLE_HOME: join(dir, "home"),
      ANSIBLE_LOCAL_TEMP: join(dir, "tmp"),
      ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, "cp"),
      ANSIBLE_NOCOLOR: "1",
    };
    const play = (file: string) =>
      timed(() =>
        run("ansible-playbook", ["-i", join(dir, "inventory.ini"), join(dir, file)], { env, cwd: dir, maxBuffer: 64 << 20 }).then(
          () => {},
          (err: Error & { stdout?: string }) => {
            const tail = (err.stdout ?? "").trim().split("\n").slice(-8).join("\n");
            throw new Error(`ansible-playbook ${file} failed: ${err.message.split("\n")[0]}\n${tail}`);
          },
        ),
      );
    await play("one.yml"); // warm the ControlMaster
    const one = await play("one.yml");
    const many = await play("many.yml");
    return { perStep: many / STEPS, perStepNoStartup: (many - one) / (STEPS - 1) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

export async function benchSsh(): Promise<void> {
  const reason = sshdUnavailableReason();
  if (reason) {
    console.log(`ssh: skipped (${reason})`);
    return;
  }
  const h = await startSshHosts(FAN_HOSTS);
  const sshd = childrenNamed("sshd");
  const pool = new SshPool({ homeDir: h.home });
  const ctlDir = await mkdtemp(join(tmpdir(), "runbook-ctl-"));
  const work = await mkdtemp(join(tmpdir(), "runbook-bench-ssh-"));
  try {
    const cfg = join(h.home, ".ssh", "config");
    const ctl = join(ctlDir, "%C");
    const host0 = pool.host("rbhost0");
    const bare = await bareSsh2Loop(h);
    await writeFile(join(work, "one-step.rb"), runbookSource("warm-up", `host box = "rbhost0"`, "box", 1));
    await writeFile(join(work, "steps.rb"), runbookSource("ssh-steps", `host box = "rbhost0"`, "box", STEPS));

    // Warm up: connect, first channels, ssh2 and the CLI's modules loaded, the journal created.
    for (let i = 0; i < 5; i++) await host0.exec("true");
    await bare.loop(5);
    await runbookRun(h, work, "one-step.rb", 1, sshd);
    await run("ssh", ["-F", cfg, "-o", "BatchMode=yes", "-o", "ControlMaster=yes", "-o", `ControlPath=${ctl}`,
      "-o", "ControlPersist=120", "-fN", "rbhost0"]);
    // Each ssh timed by bash itself ($EPOCHREALTIME: no extra process), in µs.
    const sshLoop =
      `for i in $(seq ${BLOCK}); do s=\${EPOCHREALTIME/./}; ` +
      `ssh -F ${shellQuote(cfg)} -o BatchMode=yes -o ControlMaster=no -o ControlPath=${shellQuote(ctl)} rbhost0 true || exit 1; ` +
      `echo $(( \${EPOCHREALTIME/./} - s )); done`;
    await bash(sshLoop.replace(`seq ${BLOCK}`, "seq 3"));

    // 200 commands per method. (b) and (c) alternate command by command, so
    // both see the same machine; after every 20 rounds, 20 of (d); RUNS
    // whole `runbook run`s of 200 steps spread from before the first block
    // to after the last.
    const times = { pool: [] as number[], bare: [] as number[], ssh: [] as number[] };
    const once = {
      pool: () => host0.exec("true").then(() => {}),
      bare: () => bare.loop(1),
    };
    const runs: RunbookRun[] = [];
    const blocks = STEPS / BLOCK;
    const runAt = new Set(Array.from({ length: RUNS }, (_, i) => Math.round((i * blocks) / (RUNS - 1))));
    for (let block = 0; block <= blocks; block++) {
      if (runAt.has(block)) runs.push(await runbookRun(h, work, "steps.rb", STEPS, sshd));
      if (block === blocks) break;
      for (let i = 0; i < BLOCK; i++) {
        const order = (block * BLOCK + i) % 2 === 0 ? (["pool", "bare"] as const) : (["bare", "pool"] as const);
        for (const name of order) times[name].push(await timed(once[name]));
      }
      const out = await bash(sshLoop);
      times.ssh.push(...out.trim().split("\n").map((us) => Number(us) / 1000));
    }
    bare.close();

    const stepTimes = runs.flatMap((r) => r.stepMs);
    const runStep = median(stepTimes);
    const runWhole = median(runs.map((r) => r.totalMs)) / STEPS;
    const runFirst = median(runs.map((r) => r.firstStepMs));
    const runCpu = median(runs.map((r) => (r.cpu.selfMs + r.cpu.treesMs) / STEPS));
    const runSelfCpu = median(runs.map((r) => r.cpu.selfMs / STEPS));
    const pool1 = median(times.pool);
    const bare1 = median(times.bare);
    const ssh1 = median(times.ssh);
    const line = (xs: number[]) =>
      `${fmt(median(xs))} ms/step (p25 ${fmt(quantile(xs, 0.25))}, p75 ${fmt(quantile(xs, 0.75))}; ` +
      `all ${xs.length}: ${fmt(sum(xs))} ms)`;
    console.log(`ssh: ${STEPS} sequential \`true\` on one host, loopback sshd; median per step or command`);
    console.log(`  (a) runbook run, ${STEPS} steps \`on\` an alias  ${line(stepTimes)}`);
    console.log(
      `      whole run / ${STEPS} (start-up, connect, close)  ${fmt(runWhole)} ms/step (median of ${RUNS} runs; first step with connect ${fmt(runFirst)} ms)`,
    );
    console.log(`      CPU per step, start-up included: this process ${fmt(runSelfCpu)} ms, with sshd ${fmt(runCpu)} ms`);
    console.log(`  (b) runbook SshPool exec                ${line(times.pool)}`);
    console.log(`  (c) bare ssh2 exec, setNoDelay          ${line(times.bare)}   (the limit)`);
    console.log(`  (d) ssh + ControlMaster loop            ${line(times.ssh)}`);
    const ansible = await ansibleBench(h);
    if (ansible) {
      console.log(
        `  (e) ansible-playbook, pipelining        ${fmt(ansible.perStep)} ms/step whole run / ${STEPS} (${fmt(ansible.perStepNoStartup)} without its start-up)`,
      );
    } else {
      console.log("  (e) ansible-playbook: not installed, skipped (Debian: apt-get install ansible)");
    }
    console.log(`  runbook run vs bare ssh2 (a/c)       ${(runStep / bare1).toFixed(2)}x   (goal <= 1.2x)`);
    console.log(`  SshPool vs bare ssh2 (b/c)           ${(pool1 / bare1).toFixed(2)}x`);
    console.log(`  ControlMaster vs runbook run (d/a)   ${(ssh1 / runStep).toFixed(2)}x faster   (goal >= 3x)`);
    if (ansible) {
      console.log(
        `  ansible vs runbook run (e/a)         ${(ansible.perStep / runWhole).toFixed(1)}x faster, whole runs on both sides; ` +
          `${(ansible.perStepNoStartup / runStep).toFixed(1)}x per step without start-up   (goal >= 100x)`,
      );
      console.log(
        `  ansible vs bare ssh2 (e/c)           ${(ansible.perStepNoStartup / bare1).toFixed(1)}x: the most e/a can be with one exec per step`,
      );
    }

    await fanOut(h, pool, work, sshd);
  } finally {
    await run("ssh", ["-F", join(h.home, ".ssh", "config"), "-o", `ControlPath=${join(ctlDir, "%C")}`, "-O", "exit", "rbhost0"])
      .catch(() => undefined);
    await pool.closeAll();
    await h.stop();
    await rm(ctlDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** 10 hosts x 20 `true` at once against 1 host x 20: through the pool, then through `runbook run`. */
async function fanOut(h: SshTestHosts, pool: SshPool, work: string, sshd: number[]): Promise<void> {
  const n = cores();
  // "anything else": other processes on the machine (a shared one) and kernel work not charged to a process.
  const cpuLine = (w: CpuWindow) =>
    `CPU: this process ${w.selfMs.toFixed(0)} ms, sshd ${w.treesMs.toFixed(0)} ms, anything else ` +
    `${Math.max(0, w.machineBusyMs - w.selfMs - w.treesMs).toFixed(0)} ms; machine busy ${(w.machineBusyShare * 100).toFixed(0)}% of ${n} cores`;
  /** Each figure's median over the rounds. */
  const medianWindow = (ws: CpuWindow[]): CpuWindow => ({
    wallMs: median(ws.map((w) => w.wallMs)),
    selfMs: median(ws.map((w) => w.selfMs)),
    treesMs: median(ws.map((w) => w.treesMs)),
    machineBusyMs: median(ws.map((w) => w.machineBusyMs)),
    machineBusyShare: median(ws.map((w) => w.machineBusyShare)),
  });
  const verdict = (oneMs: number, ten: CpuWindow) => {
    const cpu = ten.selfMs + ten.treesMs;
    const floor = cpu / n;
    const needed = Math.ceil(cpu / (1.5 * oneMs));
    return (
      `CPU floor for 10 hosts on ${n} cores: (${ten.selfMs.toFixed(0)} + ${ten.treesMs.toFixed(0)}) ms / ${n} = ${floor.toFixed(0)} ms = ` +
      `${(floor / oneMs).toFixed(2)}x one host; 1.5x would need at least ${needed} cores at this CPU cost` +
      (floor / oneMs > 1.5 ? " (CPU-bound here)" : "")
    );
  };

  console.log(`ssh fan-out: ${FAN_HOSTS} hosts x ${FAN_STEPS} \`true\` at once against 1 host x ${FAN_STEPS}; median of ${ROUNDS} rounds`);
  console.log(
    "  (CPU of each timed window; \"anything else\" is other work on this machine and kernel time charged to no process)",
  );

  // Through the pool, every connection open before the timing (connecting is outside both sides).
  const hosts = h.hosts.map((x) => pool.host(x.alias));
  await Promise.all(hosts.map((x) => x.exec("true")));
  const one: CpuWindow[] = [];
  const ten: CpuWindow[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    one.push(
      await measureCpu(sshd, async () => {
        for (let i = 0; i < FAN_STEPS; i++) await hosts[0]!.exec("true");
      }),
    );
    ten.push(
      await measureCpu(sshd, () =>
        Promise.all(
          hosts.map(async (x) => {
            for (let i = 0; i < FAN_STEPS; i++) await x.exec("true");
          }),
        ).then(() => {}),
      ),
    );
  }
  const pOne = medianWindow(one);
  const pTen = medianWindow(ten);
  console.log("  SshPool, connected beforehand (connecting excluded on both sides):");
  console.log(`    1 host   ${pOne.wallMs.toFixed(1).padStart(7)} ms   ${cpuLine(pOne)}`);
  console.log(`    10 hosts ${pTen.wallMs.toFixed(1).padStart(7)} ms   ${cpuLine(pTen)}`);
  console.log(`    ratio ${(pTen.wallMs / pOne.wallMs).toFixed(2)}x   (goal <= 1.5x)`);
  console.log(`    ${verdict(pOne.wallMs, pTen)}`);

  // Through `runbook run`: 20 steps on one host against 20 steps on a group
  // of 10 with parallel 10. Each run connects (1 against 10 connections).
  const members = h.hosts.slice(0, FAN_HOSTS).map((x) => `"${x.alias}"`).join(", ");
  await writeFile(join(work, "fan-one.rb"), runbookSource("fan-one", `host box = "rbhost0"`, "box", FAN_STEPS));
  await writeFile(
    join(work, "fan-ten.rb"),
    runbookSource("fan-ten", `host fleet = [${members}]`, "fleet", FAN_STEPS, FAN_HOSTS),
  );
  await runbookRun(h, work, "fan-ten.rb", FAN_STEPS, sshd); // warm up
  const rOne: RunbookRun[] = [];
  const rTen: RunbookRun[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rOne.push(await runbookRun(h, work, "fan-one.rb", FAN_STEPS, sshd));
    rTen.push(await runbookRun(h, work, "fan-ten.rb", FAN_STEPS, sshd));
  }
  const whole = (rs: RunbookRun[]) => median(rs.map((r) => r.totalMs));
  const later = (rs: RunbookRun[]) => median(rs.map((r) => sum(r.stepMs)));
  const first = (rs: RunbookRun[]) => median(rs.map((r) => r.firstStepMs));
  const cOne = medianWindow(rOne.map((r) => r.cpu));
  const cTen = medianWindow(rTen.map((r) => r.cpu));
  console.log(
    `  runbook run, ${FAN_STEPS} steps on one host against ${FAN_STEPS} steps on a group of ${FAN_HOSTS} with \`parallel ${FAN_HOSTS}\`` +
      ` (whole runs: connecting is in both, 1 against ${FAN_HOSTS} connections):`,
  );
  const row = (label: string, rs: RunbookRun[], c: CpuWindow) =>
    `    ${label} ${whole(rs).toFixed(1).padStart(7)} ms   (first step, with connecting ${first(rs).toFixed(1)} ms; ` +
    `steps 2-${FAN_STEPS} ${later(rs).toFixed(1)} ms)   ${cpuLine(c)}`;
  console.log(row("1 host  ", rOne, cOne));
  console.log(row("10 hosts", rTen, cTen));
  console.log(
    `    ratio ${(whole(rTen) / whole(rOne)).toFixed(2)}x whole runs; ${(later(rTen) / later(rOne)).toFixed(2)}x steps 2-${FAN_STEPS}` +
      ` (connecting excluded)   (goal <= 1.5x)`,
  );
  console.log(`    ${verdict(cOne.wallMs, cTen)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchSsh();
}
