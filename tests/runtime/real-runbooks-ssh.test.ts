// What real runbooks need (issue 17, part 2), over real SSH (tests/support/sshd.ts):
// an idempotent `edit` (a re-run release passes), per-host values on a host group,
// captured values, and templated uploads.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { planFrom, runPlan, tempDir } from "./helpers.js";

const reason = sshdUnavailableReason();
const enabled = requireServer("sshd", reason === null, reason ?? undefined);

describe.skipIf(!enabled)("real runbooks over SSH", () => {
  let h: SshTestHosts;
  let env: NodeJS.ProcessEnv;
  let n = 0;

  beforeAll(async () => {
    h = await startSshHosts(2);
    env = { PATH: process.env.PATH, HOME: h.home };
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const hosts = () => `host box = "${h.hosts[0]!.target}"\nhost pool = ["${h.hosts[0]!.alias}", "${h.hosts[1]!.alias}"]\n`;
  const dir = () => `${h.remoteDir}/real-${process.pid}-${++n}`;

  it("an edit whose result is already there is already applied: a re-run passes and changes nothing", async () => {
    const cwd = tempDir();
    const d = dir();
    const src = `runbook "e" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box { run "mkdir -p ${d} && test -f ${d}/db.py || printf 'migrate = False\\nkeep = 1\\n' > ${d}/db.py" }
step "Migrate" as migrate on box {
  edit "${d}/db.py" { replace "migrate = False" with "migrate = True" }
}
step "Show" as show on box { run "cat ${d}/db.py" }
`;
    const first = await runPlan(planFrom(src), { cwd, env });
    expect(first.exitCode).toBe(0);
    expect(first.output.show).toBe("migrate = True\nkeep = 1\n");
    expect(first.events.some((e) => e.type === "diff")).toBe(true);

    const again = await runPlan(planFrom(src), { cwd, env });
    expect(again.exitCode).toBe(0);
    expect(again.steps.migrate).toBe("ok");
    expect(again.output.show).toBe("migrate = True\nkeep = 1\n");
    expect(again.events.some((e) => e.type === "diff")).toBe(false);
    const note = again.events.find((e) => e.type === "note" && e.stepId === "migrate") as { text: string } | undefined;
    expect(note?.text).toMatch(/already applied \("migrate = True" is there/);

    const dry = await runPlan(planFrom(src), { cwd, env, dryRun: true });
    expect(dry.exitCode).toBe(0);
    expect(dry.events.some((e) => e.type === "note" && /already applied/.test((e as { text: string }).text))).toBe(true);
  });

  it("an edit that finds neither the old nor the new text still fails", async () => {
    const cwd = tempDir();
    const d = dir();
    const src = `runbook "e" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box { run "mkdir -p ${d} && printf 'other = 1\\n' > ${d}/db.py" }
step "Migrate" as migrate on box {
  edit "${d}/db.py" { replace "migrate = False" with "migrate = True" }
}
`;
    const r = await runPlan(planFrom(src), { cwd, env });
    expect(r.exitCode).toBe(1);
    expect(r.finished.migrate!.reason).toMatch(/"migrate = False" is not in .*db\.py/);
  });
});
