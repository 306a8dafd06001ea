// What real runbooks need (issue 17, part 2), over real SSH (tests/support/sshd.ts):
// an idempotent `edit` (a re-run release passes), per-host values on a host group,
// captured values, and templated uploads.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderPlanText } from "../../cli/views/plan.js";
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

  const hosts = () =>
    `host box = "${h.hosts[0]!.target}"\nhost pool = ["${h.hosts[0]!.alias}" { role = "primary" }, "${h.hosts[1]!.alias}" { role = "it's; $(touch pwned)" }]\n`;
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

  it("a step on a group sees each member's own ${host.…} values, as values, never as code", async () => {
    const cwd = tempDir();
    const d = dir();
    const src = `runbook "h" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box { run "mkdir -p ${d}" }
step "Each" as each on pool {
  run "printf '%s|%s|%s|%s\\n' \${host.name} \${host.address} \${host.user} \${host.role} > ${d}/\$(printf '%s' \${host.name} | tr -c 'a-zA-Z0-9' _).txt"
  require output "printf %s \${host.name}" == "\${host.name}"
}
step "Show" as show on box { run "cat ${d}/*.txt | sort" }
`;
    const plan = planFrom(src);
    const r = await runPlan(plan, { cwd, env });
    expect(r.error ?? "").toBe("");
    expect(r.exitCode).toBe(0);
    const lines = [`${h.hosts[0]!.alias}|${h.hosts[0]!.alias}||primary`, `${h.hosts[1]!.alias}|${h.hosts[1]!.alias}||it's; $(touch pwned)`].sort();
    expect(r.output.show).toBe(lines.join("\n") + "\n");
    // Each member's command shows its own value where the plan shows <host.name>.
    const shown = r.events.filter((e) => e.type === "action" && e.stepId === "each").map((e) => (e as { description: string }).description);
    expect(shown.some((t) => t.includes(h.hosts[0]!.alias))).toBe(true);
    expect(shown.some((t) => t.includes(h.hosts[1]!.alias))).toBe(true);
    // Shown quoted as the place needs; what ran held only references (the value reached printf whole).
    expect(shown.some((t) => t.includes(`'it'\\''s; $(touch pwned)'`))).toBe(true);
  });

  it("a host value with shell syntax in it stays one word", async () => {
    const cwd = tempDir();
    const d = dir();
    // user@address as written: the user part is a value like any other.
    const src = `runbook "h" version "1.0.0"
host box = "${h.hosts[0]!.target}"
step "Echo" as echo on box { run "mkdir -p ${d} && cd ${d} && printf '[%s]' \${host.user} \${host.address}; ls" }
`;
    const r = await runPlan(planFrom(src), { cwd, env });
    expect(r.exitCode).toBe(0);
    const [user, address] = [h.hosts[0]!.target.split("@")[0]!, h.hosts[0]!.target.split("@")[1]!.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")];
    expect(r.output.echo).toBe(`[${user}][${address}]`);
  });

  it("captures a command's output for later steps, on another host too; a secret capture is never shown", async () => {
    const cwd = tempDir();
    const d = dir();
    const token = `tok-${process.pid}-${Date.now()}-secret`;
    const src = `runbook "c" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box {
  run "mkdir -p ${d} && printf '547\\n' > ${d}/revno"
  upload "token.txt" to "${d}/token"
}
step "Revision before" as before on box {
  run "cat ${d}/revno" into revision_before
  run "cat ${d}/token" into secret token
}
step "Use" as use on pool {
  require output "echo 547" == revision_before
  run "echo before=\${revision_before}; test \\"\${token}\\" = \\"$(cat ${d}/token)\\" && echo token-ok; echo \${token}"
}
step "Edit" as edit_conf on box {
  run "printf 'rev = X\\n' > ${d}/conf"
  edit "${d}/conf" { replace "rev = X" with "rev = \${revision_before}" }
  run "cat ${d}/conf"
}
`;
    writeFileSync(join(cwd, "token.txt"), token);
    const plan = planFrom(src);
    const shownPlan = renderPlanText(plan);
    expect(shownPlan).toContain(`$ cat ${d}/revno   → into revision_before`);
    expect(shownPlan).toContain(`$ cat ${d}/token   → into secret token`);
    expect(shownPlan).toContain(`echo before=<revision_before: known after step before>; test "***" = `);
    expect(shownPlan).toContain(`replace "rev = X" with "rev = <revision_before: known after step before>"`);
    const r = await runPlan(plan, { cwd, env });
    expect(r.error ?? "").toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.output.use).toContain("before=547\ntoken-ok\n***\n");
    expect(r.output.edit_conf).toBe("rev = 547\n");
    const captured = r.events.filter((e) => e.type === "captured");
    expect(captured).toEqual([
      expect.objectContaining({ stepId: "before", name: "revision_before", secret: false, value: "547" }),
      expect.objectContaining({ stepId: "before", name: "token", secret: true }),
    ]);
    expect(JSON.stringify(r.events)).not.toContain(token);
  });

  it("a value captured by a step that did not run fails the step that needs it, saying why", async () => {
    const cwd = tempDir();
    const src = `runbook "c" version "1.0.0"
${hosts()}
step "Revision before" as before on box when env == "nowhere" { run "echo 1" into rev }
step "Use" as use on box { run "echo \${rev}" }
env nowhere {
}
env here {
}
`;
    const r = await runPlan(planFrom(src, { env: "here" }), { cwd, env });
    expect(r.exitCode).toBe(1);
    expect(r.finished.use!.reason).toMatch(/`\$\{rev\}` has no value: it is known after step before runs/);
  });

  it("a templated upload fills the template as text, shows the diff in a dry run, and a rollback puts the old file back", async () => {
    const cwd = tempDir();
    const d = dir();
    const password = `pw-${process.pid}-${Date.now()}-secret`;
    const runEnv = { ...env, T_DB_PASSWORD: password };
    writeFileSync(join(cwd, "app.conf.tpl"), "# app.conf for ${env}\nhome = ${home}\nme = ${host.name}\npassword = ${db_password}\nliteral = \\${home}\nodd = ${odd}\nrev = ${rev}\n");
    const src = `runbook "t" version "1.0.0"
var home = "/srv/app"
var odd = "it's $(touch ${d}/pwned) \\"quoted\\""
secret db_password = env "T_DB_PASSWORD"
${hosts()}
step "Configure" as configure on box {
  run "echo 547" into rev
  upload template "app.conf.tpl" to "${d}/app.conf"
  upload template "app.conf.tpl" to "${d}/new.conf"
}
step "Show" as show on box { run "cat ${d}/app.conf; test ! -e ${d}/pwned && echo not-run" }
step "Break" as break_it on box { run "exit 3" }
`;
    const plan = planFrom(src);
    expect(renderPlanText(plan)).toContain(`upload template app.conf.tpl to ${d}/app.conf`);
    const prepared = await runPlan(planFrom(`runbook "p" version "1.0.0"\n${hosts()}\nstep "Prepare" on box { run "mkdir -p ${d} && printf 'old = 1\\\\n' > ${d}/app.conf" }\n`), { cwd, env });
    expect(prepared.exitCode).toBe(0);

    const dry = await runPlan(plan, { cwd, env: runEnv, dryRun: true });
    const dryDiff = dry.events.filter((e) => e.type === "diff").map((e) => (e as { diff: string }).diff);
    expect(dryDiff[0]).toContain("-old = 1");
    expect(dryDiff[0]).toContain("+home = /srv/app");
    expect(dryDiff[0]).toContain("+password = ***");
    expect(dryDiff[0]).toContain("+rev = <rev: known after step configure>");
    expect(JSON.stringify(dry.events)).not.toContain(password);

    const r = await runPlan(plan, { cwd, env: runEnv, onFailure: "rollback" });
    expect(r.steps).toMatchObject({ configure: "rolled-back", show: "ok", break_it: "failed" });
    expect(r.output.show).toBe(
      `# app.conf for default\nhome = /srv/app\nme = ${h.hosts[0]!.target}\npassword = ***\nliteral = \${home}\nodd = it's $(touch ${d}/pwned) "quoted"\nrev = 547\nnot-run\n`,
    );
    expect(JSON.stringify(r.events)).not.toContain(password);
    // The rollback: the old file back, the new one gone.
    const after = await runPlan(planFrom(`runbook "a" version "1.0.0"\n${hosts()}\nstep "Look" as look on box { run "cat ${d}/app.conf; test -e ${d}/new.conf || echo no-new" }\n`), { cwd, env });
    expect(after.output.look).toBe("old = 1\nno-new\n");
  });

  it("a templated upload on a group fills each member's own values; an unknown name fails at TEMPLATE:LINE:COLUMN", async () => {
    const cwd = tempDir();
    const d = dir();
    writeFileSync(join(cwd, "me.tpl"), "me = ${host.name}\n");
    writeFileSync(join(cwd, "bad.tpl"), "ok = 1\nnope = ${nope}\n");
    const src = `runbook "g" version "1.0.0"
${hosts()}
step "Prepare" as prepare on box { run "mkdir -p ${d}" }
step "Each" as each on pool { upload template "me.tpl" to "${d}/me.conf" }
step "Bad" as bad on box { upload template "bad.tpl" to "${d}/bad.conf" }
`;
    const r = await runPlan(planFrom(src), { cwd, env });
    const diffs = r.events.filter((e) => e.type === "diff" && e.stepId === "each").map((e) => e as { host?: string; diff: string });
    expect(diffs.map((e) => e.host)).toEqual([h.hosts[0]!.alias, h.hosts[1]!.alias]);
    expect(diffs[0]!.diff).toContain(`+me = ${h.hosts[0]!.alias}`);
    expect(diffs[1]!.diff).toContain(`+me = ${h.hosts[1]!.alias}`);
    expect(r.finished.bad!.reason).toMatch(/^bad\.tpl:2:8: unknown name `nope` in the template/);
  });
});
