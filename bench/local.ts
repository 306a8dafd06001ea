// 1,000 local steps of `true` through `runbook run` (planner, executor, journal,
// plain log) beside spawning `sh -c true` 1,000 times from Node, in the same run:
// the spawns are timed just before and just after the run, and the ratio taken
// against their mean (on a shared machine the load drifts during a run).
// Goal: the runtime's time per step within 1.5x of the bare spawn.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { PassThrough } from "node:stream";
import { main } from "../cli/main.js";

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

async function spawnLoop(n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn("/bin/sh", ["-c", "true"], { stdio: ["ignore", "pipe", "pipe"], detached: true });
      child.on("error", reject);
      child.on("close", () => resolve());
    });
  }
  return performance.now() - t;
}

export async function benchLocal(): Promise<void> {
  const n = 1000;
  const dir = mkdtempSync(join(tmpdir(), "runbook-bench-"));
  try {
    const steps = Array.from({ length: n }, (_, i) => `step "Step ${i}" {\n  run "true"\n}\n`).join("\n");
    writeFileSync(join(dir, "many.rb"), `runbook "many" version "1.0.0"\n\n${steps}`);
    await spawnLoop(50); // warm up
    const before = await spawnLoop(n);
    const io = { stdout: sink(), stderr: sink(), stdin: new PassThrough(), env: { ...process.env, NO_COLOR: "1" }, cwd: dir };
    const t = performance.now();
    const code = await main(["run", "many.rb", "--no-tui", "--state", join(dir, "journal.db")], io);
    const ours = performance.now() - t;
    if (code !== 0) throw new Error(`runbook run exited ${code}`);
    const after = await spawnLoop(n);
    const base = (before + after) / 2;
    console.log(`${n} local steps of \`true\``);
    console.log(`  spawn sh -c true from Node: ${(base / n).toFixed(2)} ms/step (${(before / n).toFixed(2)} before the run, ${(after / n).toFixed(2)} after)`);
    console.log(`  runbook run (journal on):   ${(ours / n).toFixed(2)} ms/step`);
    console.log(`  ratio: ${(ours / base).toFixed(2)}x (goal: <= 1.5x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
