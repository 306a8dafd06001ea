// The executor over real SSH (sshd instances from tests/support/sshd.ts): steps
// `on` a host and on a host group, edits and copies on the remote side, probes
// in a dry run, and a connection that drops in the middle of a step.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireServer, sshdUnavailableReason, startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { planFrom, runPlan, tempDir } from "./helpers.js";

const reason = sshdUnavailableReason();
const enabled = requireServer("sshd", reason === null, reason ?? undefined);

describe.skipIf(!enabled)("executor over SSH", () => {
  let h: SshTestHosts;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startSshHosts(2);
    env = { PATH: process.env.PATH, HOME: h.home };
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const hosts = () => `host box = "${h.hosts[0]!.target}"\nhost pool = ["${h.hosts[0]!.alias}", "${h.hosts[1]!.alias}"]\n`;

  it("runs steps on a host: commands, edits, upload and download", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "local.txt"), "from here\n");
    const d = `${h.remoteDir}/exec-${Date.now()}`;
    const plan = planFrom(`runbook "s" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box { run "mkdir -p ${d} && printf 'migrate = False\\n' > ${d}/db.py && id -un" }
step "Migrate" as migrate on box { edit "${d}/db.py" { replace "migrate = False" with "migrate = True" } }
step "Copy" as copy on box {
  upload "local.txt" to "${d}/up.txt"
  download "${d}/db.py" to "back/db.py"
}
`);
    const r = await runPlan(plan, { cwd, env });
    expect(r.error ?? "").toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.output.prepare).toBe("runbooktest\n");
    expect(r.events.find((e) => e.type === "output")).toMatchObject({ host: "box" });
    expect(readFileSync(join(cwd, "back/db.py"), "utf8")).toBe("migrate = True\n");
  });

  it("runs a group step on every member, in parallel when asked", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "g" version "1.0.0"\n${hosts()}\nstep "Each" as each on pool {\n  run "echo on-$(id -un)"\n  parallel 2\n}\n`);
    const r = await runPlan(plan, { cwd, env });
    expect(r.exitCode).toBe(0);
    const finished = r.events.filter((e) => e.type === "host-finished").map((e) => (e as { host: string }).host).sort();
    expect(finished).toEqual([h.hosts[0]!.alias, h.hosts[1]!.alias].sort());
  });

  it("a dry run evaluates remote probes for real and changes nothing", async () => {
    const cwd = tempDir();
    const f = `${h.remoteDir}/dry-${Date.now()}`;
    const plan = planFrom(`runbook "d" version "1.0.0"\n${hosts()}\nstep "Only if there" as only on box when exists "${f}" { run "touch ${f}.ran" }\nstep "Touch" as touch on box { run "touch ${f}" }\n`);
    const r = await runPlan(plan, { cwd, env, dryRun: true });
    expect(r.exitCode).toBe(0);
    expect(r.finished.only).toMatchObject({ status: "skipped" });
    expect(r.events.find((e) => e.type === "action" && e.stepId === "touch")).toMatchObject({ description: `would run: $ touch ${f}` });
    expect(existsSync(f)).toBe(false);
  });

  it("a connection lost during a step is told as such", async () => {
    const cwd = tempDir();
    const plan = planFrom(`runbook "l" version "1.0.0"\n${hosts()}\nstep "Long job" as long on box { run "echo started; sleep 30" }\n`);
    const r = await runPlan(plan, {
      cwd,
      env,
      onEvent: (e) => {
        if (e.type === "output" && e.text.includes("started")) void h.killSessions(0);
      },
    });
    expect(r.exitCode).toBe(1);
    expect(r.finished.long!.reason).toBe("connection to box lost during 'Long job'");
  });
});
