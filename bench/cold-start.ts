// Cold start of `runbook check runbooks/haiti-release.rb` beside `node -e 0`, in the
// same run: the check path must not load ink, ssh2 or mysql2. Goal: within 2x. The two
// commands take turns, so that a busy machine slows both alike.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Where bin/runbook.js will run `check` from: the script with its code cache (scripts/bundle.mjs), or the ES modules. */
function checkPath(): string {
  const bin = createRequire(import.meta.url)("../bin/runbook.js") as {
    FAST_SCRIPT: string;
    FAST_CACHE: string;
    SCRIPT_ENCODING: BufferEncoding;
    buildIdOf(source: string): string | undefined;
    cachedDataIn(bytes: Buffer, buildId: string): Buffer | undefined;
  };
  if (!existsSync(bin.FAST_SCRIPT) || !existsSync(bin.FAST_CACHE)) return "the ES module bundle (no check-fmt.cjs or no code cache)";
  const buildId = bin.buildIdOf(readFileSync(bin.FAST_SCRIPT, bin.SCRIPT_ENCODING));
  const data = buildId === undefined ? undefined : bin.cachedDataIn(readFileSync(bin.FAST_CACHE), buildId);
  if (data === undefined) return "the ES module bundle (the code cache is not for this build or this Node)";
  return `dist/bundle/check-fmt.cjs with its code cache (${(data.length / 1024).toFixed(0)} KiB, V8 ${process.versions.v8})`;
}

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
  console.log(`  check runs from ${checkPath()}`);
  console.log(`  node -e 0:                                  ${median(base).toFixed(1)} ms (${Math.min(...base).toFixed(1)})`);
  console.log(`  runbook check runbooks/haiti-release.rb:   ${median(ours).toFixed(1)} ms (${Math.min(...ours).toFixed(1)})`);
  console.log(`  ratio: ${(median(ours) / median(base)).toFixed(2)}x (goal: <= 2x)`);
}
