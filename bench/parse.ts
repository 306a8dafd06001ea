// Parse + check throughput: a generated 10,000-step runbook (about 1.5 MB) against
// the `yaml` package parsing an equivalent Ansible-style playbook, in the same run.
// Goal: ours at least 5x faster than the YAML parse. Both are measured the same way
// (bench/parse-worker.ts): the shipped JavaScript (dist/, built by `npm run bench` first;
// not the TypeScript through tsx), each in a process of its own, warmed up by the same
// number of runs, then the best of the same number.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

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

export const STEPS = 10_000;
export const WARM_UP = 10;
export const RUNS = 15;
/** Processes per side, taking turns: a machine busy for a while slows both alike. */
const ROUNDS = 3;

function measure(side: "runbook" | "yaml"): { bytes: number; best: number } {
  const worker = fileURLToPath(new URL("./parse-worker.ts", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", "tsx", worker, side], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the ${side} side failed: ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(r.stdout) as { bytes: number; best: number };
}

export async function benchParse(): Promise<void> {
  let ours = { bytes: 0, best: Infinity };
  let theirs = { bytes: 0, best: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const a = measure("runbook");
    const b = measure("yaml");
    ours = a.best < ours.best ? a : ours;
    theirs = b.best < theirs.best ? b : theirs;
  }
  const mb = (bytes: number) => bytes / 1e6;
  const oursRate = mb(ours.bytes) / (ours.best / 1000);
  const yamlRate = mb(theirs.bytes) / (theirs.best / 1000);
  console.log(`parse + check, ${STEPS.toLocaleString("en")} steps (built code; each side in its own process: ${WARM_UP} warm-up runs, best of ${RUNS}; ${ROUNDS} processes each, taking turns)`);
  console.log(`  runbook: ${mb(ours.bytes).toFixed(2)} MB in ${ours.best.toFixed(0)} ms = ${oursRate.toFixed(1)} MB/s`);
  console.log(`  yaml:    ${mb(theirs.bytes).toFixed(2)} MB in ${theirs.best.toFixed(0)} ms = ${yamlRate.toFixed(1)} MB/s`);
  console.log(`  ratio: ${(oursRate / yamlRate).toFixed(1)}x the YAML parse's throughput (goal: >= 5x)`);
}
