// Cold start of `runbook check runbooks/haiti-release.rb` beside `node -e 0`, in the
// same run: the check path must not load ink, ssh2 or mysql2. Goal: within 2x.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function median(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { cwd: root, stdio: "ignore" });
    times.push(performance.now() - t);
    if (r.status !== 0 && args[0] !== "-e") throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function benchColdStart(): Promise<void> {
  const runs = 15;
  median(process.execPath, ["bin/runbook.js", "check", "runbooks/haiti-release.rb"], 2); // warm the file cache
  const base = median(process.execPath, ["-e", "0"], runs);
  const ours = median(process.execPath, ["bin/runbook.js", "check", "runbooks/haiti-release.rb"], runs);
  console.log("cold start, median of 15");
  console.log(`  node -e 0:                                  ${base.toFixed(1)} ms`);
  console.log(`  runbook check runbooks/haiti-release.rb:   ${ours.toFixed(1)} ms`);
  console.log(`  ratio: ${(ours / base).toFixed(2)}x (goal: <= 2x)`);
}
