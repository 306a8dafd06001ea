// Sign-off by someone else (issue 21), end to end with real OpenSSH signatures:
// three identities generated with ssh-keygen (alice and bob in release-group,
// carol in ops). A run in an env with `approvals 1 from "release-group"` stops
// waiting (exit 6); bob's approval lets it go on; self-approval, a non-member, a
// changed runbook, a changed plan, a stale, a forged or a tampered signature are
// refused with the reason. The journal flow (SQLite in-process, MariaDB across
// processes) and the file flow (show --approval-request, approve --request --out,
// resume --approval) both end with the run done and `show` listing the approval.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupNamespace } from "../../language/allowed-signers.js";
import { sshSign, type SignedApproval } from "../../runtime/approvals.js";
import { cli, type CliBuilder } from "../support/cli.js";
import { validateEvents } from "../support/event-schemas.js";
import { createTestDatabase, requireMariadb, type TestDatabase } from "../support/mariadb.js";

const RUNBOOK = `runbook "release" version "1.0.0"
param revision = "547"
env prod {
  approvals 1 from "release-group"
}
step "Deploy" {
  run "echo deploying \${revision} > deployed.txt"
}
`;

function keygen(dir: string, name: string): string {
  const file = path.join(dir, "keys", name);
  execFileSync("mkdir", ["-p", path.dirname(file)]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  return readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

/** A fresh folder with the runbook, three keys and the allowed-signers file. */
function setup(runbook = RUNBOOK): CliBuilder {
  const b = cli();
  const alice = keygen(b.dir, "alice");
  const bob = keygen(b.dir, "bob");
  const carol = keygen(b.dir, "carol");
  b.file("release.rb", runbook);
  b.file(
    "allowed_signers",
    [
      `alice@example.org namespaces="runbook:release-group,git" ${alice}`,
      `bob@example.org namespaces="runbook:release-group" ${bob}`,
      `carol@example.org namespaces="runbook:ops" ${carol}`,
      "",
    ].join("\n"),
  );
  return b;
}

const key = (b: CliBuilder, who: string) => path.join(b.dir, "keys", who);

async function waitingRun(b: CliBuilder, ...extra: string[]): Promise<string> {
  const r = await cli(b.dir).args("run", "release.rb", "--no-tui", "--key", key(b, "alice"), ...extra).run();
  expect(r.stderr).toBe("");
  expect(r.code).toBe(6);
  expect(r.stdout).toContain('waiting for approval: 1 from "release-group" before step deploy');
  expect(r.stdout).toMatch(/plan digest: [0-9a-f]{64}/);
  expect(r.stdout).toMatch(/sha256: +[0-9a-f]{64} {2}release\.rb/);
  expect(r.stdout).toMatch(/sha256: +[0-9a-f]{64} {2}allowed_signers/);
  expect(existsSync(path.join(b.dir, "deployed.txt"))).toBe(false);
  return /run id: +(\S+)/.exec(r.stdout)![1]!;
}

/** An approval file signed by `who` over `statement` (changed as a test needs), as `approve --out` writes one. */
async function signAs(b: CliBuilder, who: string, statement: Record<string, unknown>, group = "release-group"): Promise<string> {
  const text = `${JSON.stringify(statement)}\n`;
  const signature = await sshSign(text, groupNamespace(group), { file: key(b, who), publicKey: { type: "", key: "" } }, { PATH: process.env.PATH });
  const file = path.join(b.dir, `forged-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ statement: text, signature } satisfies SignedApproval));
  return file;
}

/** Bob's genuine approval of the run, written to a file; its statement parsed. */
async function bobApproves(b: CliBuilder, runId: string): Promise<{ file: string; statement: Record<string, unknown> }> {
  const file = path.join(b.dir, `bob-${runId}.json`);
  const r = await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes", "--out", file).run();
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const signed = JSON.parse(readFileSync(file, "utf8")) as SignedApproval;
  return { file, statement: JSON.parse(signed.statement) as Record<string, unknown> };
}

async function resumeWith(b: CliBuilder, runId: string, ...extra: string[]) {
  return cli(b.dir).args("resume", runId, "--no-tui", "--key", key(b, "alice"), ...extra).run();
}

describe("approvals: the journal flow", () => {
  it("waits (exit 6); bob approves into the journal; the run goes on; show and history list the approval", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    const shown = await cli(b.dir).args("show", runId).run();
    expect(shown.stdout).toMatch(/status +waiting \(exit 6\)/);
    expect(shown.stdout).toContain('[deploy] waiting for approval from "release-group"');

    const approve = await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes").run();
    expect(approve.stderr).toBe("");
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain(`Run ${runId}: release in env prod, run by`);
    expect(approve.stdout).toContain("(checked here)");
    expect(approve.stdout).toContain("So far: no step has run");
    expect(approve.stdout).toContain("Signed as bob@example.org; stored in the journal");

    const resumed = await resumeWith(b, runId, "--json");
    expect(resumed.code).toBe(0);
    const events = resumed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; status?: string; approver?: string });
    expect(events.filter((e) => e.type === "approval")).toEqual([expect.objectContaining({ approver: "bob@example.org", status: "verified" })]);
    validateEvents(resumed.stdout, new Set());
    expect(readFileSync(path.join(b.dir, "deployed.txt"), "utf8")).toBe("deploying 547\n");

    const after = await cli(b.dir).args("show", runId).run();
    expect(after.stdout).toMatch(/\[deploy\] signed by bob@example\.org/);
    expect(after.stdout).toMatch(/\[deploy\] approved by bob@example\.org: signature verified/);
    const history = await cli(b.dir).args("history").run();
    expect(history.stdout).toContain(`${runId}: approved by bob@example.org before deploy`);
  });

  it("says it waits in NDJSON: an approval-waiting event valid against its schema, exit 6", async () => {
    const b = setup();
    const r = await cli(b.dir).args("run", "release.rb", "--json", "--key", key(b, "alice")).run();
    expect(r.code).toBe(6);
    const seen = new Set<string>();
    validateEvents(r.stdout, seen);
    expect(seen).toContain("approval-waiting");
  });

  it("takes the approver's key from ssh-agent when no --key is given", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    const sock = path.join(b.dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      execFileSync("ssh-add", ["-q", key(b, "bob")], { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
      const approve = await cli(b.dir).env({ SSH_AUTH_SOCK: sock }).args("approve", runId, "--yes").run();
      expect(approve.stderr).toBe("");
      expect(approve.stdout).toContain("Signed as bob@example.org; stored in the journal");
    } finally {
      agent.kill("SIGTERM");
    }
    const r = await resumeWith(b, runId);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("approved by bob@example.org");
  });

  it("approve refuses a key outside the group, a run that is not waiting, and asks nobody without a terminal", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    const carol = await cli(b.dir).args("approve", runId, "--key", key(b, "carol"), "--yes").run();
    expect(carol.code).toBe(1);
    expect(carol.stderr).toBe('runbook: this key is not a member of "release-group" in allowed_signers\n');
    const asCarol = await cli(b.dir).args("approve", runId, "--key", key(b, "carol"), "--as", "carol@example.org", "--yes").run();
    expect(asCarol.stderr).toBe('runbook: carol@example.org is not in group "release-group" in allowed_signers: the run would refuse this approval\n');
    const unasked = await cli(b.dir).args("approve", runId, "--key", key(b, "bob")).run();
    expect(unasked.code).toBe(3);
    expect(unasked.stderr).toBe("runbook: nobody can answer here (no terminal): pass --yes to sign\n");
    expect((await cli(b.dir).args("show", runId).run()).stdout).not.toContain("signed by");
    expect((await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes").run()).code).toBe(0);
    expect((await resumeWith(b, runId)).code).toBe(0);
    const again = await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes").run();
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`runbook: run ${runId} is not waiting for approval (it is succeeded)\n`);
    const json = JSON.parse((await cli(b.dir).args("history", "--json").run()).stdout) as { id: string; approvals?: { approver: string; status: string }[] }[];
    expect(json.find((r) => r.id === runId)?.approvals).toEqual([expect.objectContaining({ approver: "bob@example.org", status: "verified", stepId: "deploy" })]);
  });

  it("refuses self-approval: approve refuses alice up front; the run refuses alice's signature made by hand", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    const own = await cli(b.dir).args("approve", runId, "--key", key(b, "alice"), "--yes").run();
    expect(own.code).toBe(1);
    expect(own.stderr).toBe("runbook: alice@example.org is running this release: an approver must be someone else\n");
    expect(own.stdout).not.toContain("Signed as");
    const out = path.join(b.dir, "alice.json");
    const toFile = await cli(b.dir).args("approve", runId, "--key", key(b, "alice"), "--yes", "--out", out).run();
    expect(toFile.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect((await cli(b.dir).args("show", runId).run()).stdout).not.toContain("signed by");

    const bob = await bobApproves(b, runId);
    const forged = await signAs(b, "alice", { ...bob.statement, approver: "alice@example.org" });
    const r = await resumeWith(b, runId, "--approval", forged);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain("alice@example.org is running this release: an approver must be someone else");
    expect(existsSync(path.join(b.dir, "deployed.txt"))).toBe(false);
    expect((await cli(b.dir).args("show", runId).run()).stdout).toMatch(/approval by alice@example\.org refused: alice@example\.org is running this release/);
  });

  it("approve verifies its own signature: carol's key with --as bob is refused, nothing stored or written", async () => {
    const b = setup();
    // carol in release-group too, so --as bob passes the group check and only the key is wrong.
    const signers = readFileSync(path.join(b.dir, "allowed_signers"), "utf8").replace('namespaces="runbook:ops"', 'namespaces="runbook:ops,runbook:release-group"');
    b.file("allowed_signers", signers);
    const runId = await waitingRun(b);
    const r = await cli(b.dir).args("approve", runId, "--key", key(b, "carol"), "--as", "bob@example.org", "--yes").run();
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("Signed as");
    expect(r.stderr).toMatch(/^runbook: this key is not bob@example\.org's for group "release-group" in allowed_signers \(ssh-keygen -Y verify: .+\): nothing stored\n$/);
    expect((await cli(b.dir).args("show", runId).run()).stdout).not.toContain("signed by");
    const out = path.join(b.dir, "carol-as-bob.json");
    const toFile = await cli(b.dir).args("approve", runId, "--key", key(b, "carol"), "--as", "bob@example.org", "--yes", "--out", out).run();
    expect(toFile.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    const own = await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--as", "bob@example.org", "--yes").run();
    expect(own.code).toBe(0);
    expect(own.stdout).toContain("Signed as bob@example.org; stored in the journal");
  });

  it("a runner not in allowed_signers, or with no key, fails at the gate (exit 1, journaled failed), printing no approver instructions", async () => {
    const b = setup();
    keygen(b.dir, "dave");
    const unknown = await cli(b.dir).args("run", "release.rb", "--no-tui", "--key", key(b, "dave")).run();
    expect(unknown.code).toBe(1);
    const all = unknown.stdout + unknown.stderr;
    expect(all).toMatch(/the key running the release \(ssh-ed25519 \S+…\) is not in \S+allowed_signers: .*add the runner's key to allowed_signers, or pass --key/);
    expect(all).not.toContain("waiting for approval");
    expect(all).not.toContain("runbook approve");
    const history = JSON.parse((await cli(b.dir).args("history", "--json").run()).stdout) as { id: string; status: string }[];
    expect(history.map((h) => h.status)).toEqual(["failed"]);
    const shown = await cli(b.dir).args("show", history[0]!.id).run();
    expect(shown.stdout).toMatch(/status +failed \(exit 1\)/);
    expect(shown.stdout).toContain("add the runner's key to allowed_signers, or pass --key");

    const noKey = await cli(b.dir).args("run", "release.rb", "--no-tui").run();
    expect(noKey.code).toBe(1);
    expect(noKey.stdout + noKey.stderr).toContain("who runs the release must be known before anyone can approve it: no key to sign with: pass --key FILE, or load a key into ssh-agent");
    expect(noKey.stdout + noKey.stderr).not.toContain("waiting for approval");
    expect(existsSync(path.join(b.dir, "deployed.txt"))).toBe(false);
  });

  it("a changed allowed_signers: the resumed run fails at the gate (exit 1), never waits for an approval nobody could give; a missing one stops it too", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    expect((await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes").run()).code).toBe(0);
    const signers = readFileSync(path.join(b.dir, "allowed_signers"), "utf8");
    // carol dropped: bob's approval, and any `approve` of this run, is over the file as it was
    b.file("allowed_signers", signers.split("\n").filter((l) => !l.startsWith("carol")).join("\n"));
    const changed = await resumeWith(b, runId);
    expect(changed.code).toBe(1);
    expect(changed.stdout + changed.stderr).toMatch(/this run's plan changed since it began \(plan [0-9a-f]{12}…, now [0-9a-f]{12}…: the runbook, a file it includes or allowed_signers differs\); .*start a new run/);
    expect(changed.stdout + changed.stderr).not.toContain("waiting for approval");
    expect(changed.stdout + changed.stderr).not.toContain("runbook approve");
    expect((await cli(b.dir).args("show", runId).run()).stdout).toMatch(/status +failed \(exit 1\)/);
    expect(existsSync(path.join(b.dir, "deployed.txt"))).toBe(false);
    // put back as it was, the run goes on with bob's approval
    b.file("allowed_signers", signers);
    expect((await resumeWith(b, runId)).code).toBe(0);
    expect(existsSync(path.join(b.dir, "deployed.txt"))).toBe(true);

    const c = setup();
    const second = await waitingRun(c);
    rmSync(path.join(c.dir, "allowed_signers"));
    const missing = await resumeWith(c, second);
    expect(missing.code).not.toBe(0);
    expect(missing.code).not.toBe(6);
    expect(missing.stdout + missing.stderr).toContain("allowed_signers is not there");
    expect(missing.stdout + missing.stderr).not.toContain("waiting for approval");
  });

  it("show: verdicts in the order they were checked, a repeated one listed once", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    const bob = await bobApproves(b, runId);
    const stale = await signAs(b, "bob", { ...bob.statement, time: new Date(Date.now() - 3 * 86_400_000).toISOString() });
    expect((await resumeWith(b, runId, "--approval", stale)).code).toBe(6);
    expect((await resumeWith(b, runId, "--approval", stale)).code).toBe(6);
    const shown = (await cli(b.dir).args("show", runId).run()).stdout;
    const section = shown.slice(shown.indexOf("Approvals"));
    const rows = section.split("\n").slice(1).filter((l) => l.startsWith("  ") && l.includes("[deploy]"));
    const refused = rows.filter((l) => l.includes("refused"));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/approval by bob@example\.org refused: signed at .* longer ago than the 24h an approval holds \(2 times\)$/);
    // The refusal comes after the first request, though its signature is dated three days before.
    expect(rows.findIndex((l) => l.includes("waiting for approval"))).toBeLessThan(rows.indexOf(refused[0]!));
  });

  it("refuses a changed runbook: resume refuses it, and with --force the gate fails (the approvals are over the plan it began with)", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    expect((await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes").run()).code).toBe(0);
    b.file("release.rb", RUNBOOK.replace('run "echo', 'run "echo changed; echo'));
    const plain = await resumeWith(b, runId);
    expect(plain.code).toBe(1); // resume itself refuses a changed source
    const forced = await resumeWith(b, runId, "--force");
    // approvals are over the plan the run began with: with another runbook, none could be given
    expect(forced.code).toBe(1);
    expect(forced.stdout + forced.stderr).toContain("this run's plan changed since it began");
    expect(forced.stdout + forced.stderr).not.toContain("waiting for approval");
  });
});

describe("approvals: refused signatures (files)", () => {
  let b: CliBuilder;
  let runId: string;
  let bob: { file: string; statement: Record<string, unknown> };
  beforeAll(async () => {
    b = setup();
    runId = await waitingRun(b, "--set", "revision=600");
    bob = await bobApproves(b, runId);
  });

  it("a non-member's signature (carol, in ops)", async () => {
    const file = await signAs(b, "carol", { ...bob.statement, approver: "carol@example.org" });
    const r = await resumeWith(b, runId, "--approval", file);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('carol@example.org is not in group "release-group" in allowed_signers');
  });

  it("carol signing as bob: the signature is not bob's", async () => {
    const file = await signAs(b, "carol", { ...bob.statement });
    const r = await resumeWith(b, runId, "--approval", file);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain("the signature is not bob@example.org's over this statement");
  });

  it("a tampered statement (bob's signature, another time written in)", async () => {
    const signed = JSON.parse(readFileSync(bob.file, "utf8")) as SignedApproval;
    const file = path.join(b.dir, "tampered.json");
    writeFileSync(file, JSON.stringify({ ...signed, statement: signed.statement.replace(/"time":"[^"]+"/, `"time":"${new Date().toISOString()}"`) }));
    expect(JSON.parse(readFileSync(file, "utf8")).statement).not.toBe(signed.statement);
    const r = await resumeWith(b, runId, "--approval", file);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain("the signature is not bob@example.org's over this statement");
  });

  it("a stale signature (bob's, three days old)", async () => {
    const file = await signAs(b, "bob", { ...bob.statement, time: new Date(Date.now() - 3 * 86_400_000).toISOString() });
    const r = await resumeWith(b, runId, "--approval", file);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain("longer ago than the 24h an approval holds");
  });

  it("a changed plan: bob's signature over the plan of a run with another --set", async () => {
    const other = await waitingRun(b, "--set", "revision=601");
    const file = await signAs(b, "bob", { ...bob.statement, runId: other });
    const r = await resumeWith(b, other, "--approval", file);
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/signed for plan [0-9a-f]{12}…, this run's plan is [0-9a-f]{12}… \(its params or values differ\)/);
    expect(existsSync(path.join(b.dir, "deployed.txt"))).toBe(false);
  });

  it("bob's genuine approval file lets it go on (resume --approval)", async () => {
    const r = await resumeWith(b, runId, "--approval", bob.file);
    expect(r.stderr).toBe(`runbook: resuming run ${runId} at step deploy\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("approved by bob@example.org");
    expect(readFileSync(path.join(b.dir, "deployed.txt"), "utf8")).toBe("deploying 600\n");
  });
});

describe("approvals: the file flow, without a shared journal", () => {
  it("show --approval-request, approve --request --out elsewhere, resume --approval", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    const req = await cli(b.dir).args("show", runId, "--approval-request").run();
    expect(req.code).toBe(0);
    // The approver's own folder: the same checkout, no journal of the run's.
    const approver = cli();
    approver.file("checkout/release.rb", RUNBOOK).file("checkout/allowed_signers", readFileSync(path.join(b.dir, "allowed_signers"), "utf8"));
    const bundle = JSON.parse(req.stdout) as { file: string };
    approver.file("request.json", JSON.stringify({ ...bundle, file: path.join(approver.dir, "checkout/release.rb") }));
    const a = await cli(approver.dir).args("approve", "--request", "request.json", "--out", "approval.json", "--key", key(b, "bob"), "--yes").run();
    expect(a.stderr).toBe("");
    expect(a.code).toBe(0);
    expect(a.stdout).toContain("(checked here)");
    expect(existsSync(path.join(approver.dir, "journal.db"))).toBe(false);
    const r = await resumeWith(b, runId, "--approval", path.join(approver.dir, "approval.json"));
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(b.dir, "deployed.txt"), "utf8")).toBe("deploying 547\n");
  });

  it("approve refuses to sign when the runbook in the approver's checkout differs", async () => {
    const b = setup();
    const runId = await waitingRun(b);
    b.file("release.rb", `${RUNBOOK}# edited\n`);
    const a = await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes").run();
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/release\.rb here is not the one run \S+ runs .*: not signing/);
  });
});

const mariadb = await requireMariadb();
describe.runIf(mariadb)("approvals: the MySQL journal across processes", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("runbook_approvals");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("runs in one process, is approved from another, goes on in a third", async () => {
    const b = setup();
    const run = cli(b.dir).args("run", "release.rb", "--no-tui", "--key", key(b, "alice"), "--state", db.url).spawn();
    const ran = await run.exited;
    expect(ran.code).toBe(6);
    const runId = /run id: +(\S+)/.exec(ran.stdout)![1]!;
    const approve = await cli(b.dir).args("approve", runId, "--key", key(b, "bob"), "--yes", "--state", db.url).spawn().exited;
    expect(approve.stderr).toBe("");
    expect(approve.code).toBe(0);
    const resumed = await cli(b.dir).args("resume", runId, "--no-tui", "--key", key(b, "alice"), "--state", db.url).spawn().exited;
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("approved by bob@example.org");
    expect(readFileSync(path.join(b.dir, "deployed.txt"), "utf8")).toBe("deploying 547\n");
    const shown = await cli(b.dir).args("show", runId, "--state", db.url).run();
    expect(shown.stdout).toMatch(/approved by bob@example\.org: signature verified/);
  }, 60_000);
});
