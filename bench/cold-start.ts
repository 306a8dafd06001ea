// Cold start of `runbook check runbooks/haiti-release.rb` beside `node -e 0`, in the
// same run: the check path must not load ink, ssh2 or mysql2. Goal: within 2x. The two
// commands take turns, so that a busy machine slows both alike.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function time(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "ignore" });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchColdStart(): Promise<void> {
  const runs = 21;
  const check = ["bin/runbook.js", "check", "runbooks/haiti-release.rb"];
  time(check); // warm the file cache
  const base: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < runs; i++) {
    base.push(time(["-e", "0"]));
    ours.push(time(check));
  }
  console.log(`cold start, median of ${runs} (fastest in brackets), taking turns`);
  console.log(`  node -e 0:                                  ${median(base).toFixed(1)} ms (${Math.min(...base).toFixed(1)})`);
  console.log(`  runbook check runbooks/haiti-release.rb:   ${median(ours).toFixed(1)} ms (${Math.min(...ours).toFixed(1)})`);
  console.log(`  ratio: ${(median(ours) / median(base)).toFixed(2)}x (goal: <= 2x)`);
}
