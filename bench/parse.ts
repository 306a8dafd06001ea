// Parse + check throughput: a generated 10,000-step runbook (about 1.5 MB) against
// the `yaml` package parsing an equivalent Ansible-style playbook, in the same run.
// Goal: ours at least 5x faster than the YAML parse. Both are measured the same way:
// the shipped JavaScript (dist/, built by `npm run bench` first; not the TypeScript
// through tsx), warmed up by the same number of runs, then the best of the same number.

import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";

const BUILT = fileURLToPath(new URL("../dist/language/compile.js", import.meta.url));

export function generateRunbook(steps: number): string {
  const out: string[] = [
    'runbook "generated" version "1.0.0"',
    'description "A generated runbook for the parse benchmark"',
    'owner "bench"',
    "default env dev",
    "",
    'param revision = "r547"',
    'var   home     = "/home/app"',
    'var   web2py   = "${home}/web2py"',
    'host  portal   = "app@127.0.0.1:2222"',
    "",
    "env dev {",
    '  var home = "/home/app-dev"',
    "}",
    "env prod {",
    "  protected",
    '  confirm "Sign-off has come from the release group"',
    "}",
    "",
  ];
  const perSection = 100;
  for (let s = 0; s < steps / perSection; s++) {
    out.push(`section "Section ${s}" {`);
    for (let i = 0; i < perSection; i++) {
      const n = s * perSection + i;
      out.push(
        `  step "Deploy component ${n}" on portal when env != "prod" {`,
        `    run "cd \${web2py}/applications/app${n} && bzr pull -r \${revision}"`,
        "    timeout 10m",
        "  }",
        "",
      );
    }
    out.push("}", "");
  }
  return out.join("\n");
}

export function generatePlaybook(steps: number): string {
  const out: string[] = [
    "- name: generated",
    "  hosts: portal",
    "  vars:",
    "    revision: r547",
    "    home: /home/app",
    '    web2py: "{{ home }}/web2py"',
    "  tasks:",
  ];
  for (let n = 0; n < steps; n++) {
    out.push(
      `    - name: Deploy component ${n}`,
      `      when: env != "prod"`,
      `      ansible.builtin.shell: "cd {{ web2py }}/applications/app${n} && bzr pull -r {{ revision }}"`,
      "      timeout: 600",
    );
  }
  return `${out.join("\n")}\n`;
}

const WARM_UP = 10;
const BLOCKS = 4;
const RUNS_PER_BLOCK = 5;

/**
 * The fastest run of each of two functions. Each is warmed up by the same number of runs;
 * then they take turns in blocks of runs: each block sees the function's own steady state
 * (its garbage, not the other's), and a machine busy for a while slows both alike.
 */
function bestOfEach(a: () => void, b: () => void): [number, number] {
  const best = [Infinity, Infinity];
  const fns = [a, b];
  for (const fn of fns) for (let k = 0; k < WARM_UP; k++) fn();
  for (let block = 0; block < BLOCKS; block++) {
    for (const [i, fn] of fns.entries()) {
      for (let k = 0; k < RUNS_PER_BLOCK; k++) {
        const t = performance.now();
        fn();
        best[i] = Math.min(best[i]!, performance.now() - t);
      }
    }
  }
  return [best[0]!, best[1]!];
}

export async function benchParse(): Promise<void> {
  if (!existsSync(BUILT)) throw new Error("dist/ is missing: run `npm run build` first");
  const { compileSource } = (await import(pathToFileURL(BUILT).href)) as typeof import("../language/compile.js");
  const rb = generateRunbook(10_000);
  const yml = generatePlaybook(10_000);
  const mb = (s: string) => Buffer.byteLength(s) / 1e6;
  const problem = compileSource(rb, "generated.rb").diagnostics.find((d) => d.severity === "error");
  if (problem) throw new Error(`the generated runbook does not compile: ${problem.message}`);
  const [ours, theirs] = bestOfEach(
    () => compileSource(rb, "generated.rb"),
    () => parseYaml(yml),
  );
  const oursRate = mb(rb) / (ours / 1000);
  const yamlRate = mb(yml) / (theirs / 1000);
  console.log(`parse + check, 10,000 steps (built code; best of ${BLOCKS * RUNS_PER_BLOCK} runs each, in blocks of ${RUNS_PER_BLOCK} taking turns, after ${WARM_UP} warm-up runs each)`);
  console.log(`  runbook: ${mb(rb).toFixed(2)} MB in ${ours.toFixed(0)} ms = ${oursRate.toFixed(1)} MB/s`);
  console.log(`  yaml:    ${mb(yml).toFixed(2)} MB in ${theirs.toFixed(0)} ms = ${yamlRate.toFixed(1)} MB/s`);
  console.log(`  ratio: ${(oursRate / yamlRate).toFixed(1)}x the YAML parse's throughput (goal: >= 5x)`);
}
