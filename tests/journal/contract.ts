// The journal's behaviour, the same for every store: runs through record(),
// locks (live, stale, another machine's), unlock, reopen for resume, prefix ids,
// bounded output tails. journal-sqlite.test.ts and journal-mysql.test.ts run it.

import { afterEach, describe, expect, it } from "vitest";
import os from "node:os";
import { JournalError } from "../../runtime/journal-errors.js";
import { AmbiguousRunIdError, LockedError, TAIL_MAX_CHARS, TAIL_MAX_LINES, type Journal, type JournalIdentity } from "../../runtime/journal/index.js";
import { completeRun, deadPid, makePlan, makeStep, runFinished, stepEvents, tick } from "./helpers.js";

export type OpenStore = (identity?: Partial<JournalIdentity>) => Promise<Journal>;

export function journalContract(open: OpenStore, options: { bulkSteps: number }): void {
  const opened: Journal[] = [];
  const openJ: OpenStore = async (identity) => {
    const j = await open(identity);
    opened.push(j);
    return j;
  };
  let seq = 0;
  /** A runbook name unique to the test, so locks never collide between tests. */
  const fresh = (what = "rb") => `${what}-${process.pid}-${++seq}`;

  afterEach(async () => {
    for (const j of opened.splice(0)) await j.close().catch(() => undefined);
  });

  describe("runs and steps", () => {
    it("begins, records and finishes a run, releasing the lock", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "uat" });
      await j.beginRun({ runId: `${plan.runbook.name}-r1`, plan, dryRun: false, params: { revision: "r600" }, file: "demo.rb" });
      expect(await j.getLock(plan.runbook.name, "uat")).toMatchObject({ runId: `${plan.runbook.name}-r1`, stale: false });

      const runId = `${plan.runbook.name}-r1`;
      for (const s of plan.steps) for (const e of stepEvents(runId, s.id, { host: "portal" })) j.record(e);
      j.record(runFinished(runId, "succeeded"));
      await j.flush();

      const run = await j.getRun(runId);
      expect(run).toMatchObject({
        id: runId,
        runbook: plan.runbook.name,
        version: "1.0.0",
        file: "demo.rb",
        sourceHash: "sha256:0123456789abcdef",
        env: "uat",
        params: { revision: "r600" },
        status: "succeeded",
        dryRun: false,
        exitCode: 0,
        user: os.userInfo().username,
        machine: os.hostname(),
        pid: process.pid,
      });
      expect(run!.finishedAt).toBeDefined();
      expect(run!.plan).toEqual(plan);
      const steps = await j.getSteps(runId);
      expect(steps.map((s) => [s.stepId, s.status, s.host, s.exitCode, s.attempt])).toEqual([
        ["prepare", "ok", "portal", 0, 1],
        ["deploy", "ok", "portal", 0, 1],
        ["verify", "ok", "portal", 0, 1],
      ]);
      expect(steps[1].outputTail).toBe("deploy says hello\n");
      expect(steps[1].startedAt! < steps[1].finishedAt!).toBe(true);
      expect(await j.getLock(plan.runbook.name, "uat")).toBeUndefined();
    });

    it("writes a step as running as soon as it starts", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      j.record({ type: "step-started", runId, time: tick(), stepId: "prepare", title: "prepare", attempt: 1, preview: [] });
      j.record({ type: "output", runId, time: tick(), stepId: "prepare", stream: "stdout", text: "half way\n" });
      // Another connection sees it (for MySQL once the queue has drained).
      await j.flush();
      const other = await openJ();
      const [step] = await other.getSteps(runId);
      expect(step).toMatchObject({ stepId: "prepare", status: "running", attempt: 1, host: null, exitCode: null });
      // flush() also persisted the tail so far.
      expect(step.outputTail).toBe("half way\n");
      expect((await other.getRun(runId))!.status).toBe("running");
    });

    it("journals confirmations, manual steps, failure choices, notes and a rollback", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      j.record({ type: "confirm", runId, time: tick(), question: "Sign-off given?", answer: "yes", by: "alice" });
      for (const e of stepEvents(runId, "prepare")) j.record(e);
      j.record({ type: "note", runId, time: tick(), stepId: "prepare", text: "testers told" });
      j.record({ type: "manual", runId, time: tick(), stepId: "deploy", text: "Press the button", answer: "done", by: "alice" });
      for (const e of stepEvents(runId, "deploy", { status: "failed", output: ["boom\n"], reason: "exit status 1" })) j.record(e);
      j.record({ type: "failure-choice", runId, time: tick(), stepId: "deploy", choice: "rollback", by: "alice" });
      j.record({ type: "rollback-started", runId, time: tick(), steps: ["prepare"] });
      j.record({ type: "rollback-step", runId, time: tick(), stepId: "prepare", status: "ok" });
      j.record(runFinished(runId, "failed", "step deploy failed"));
      await j.flush();

      expect(await j.getRun(runId)).toMatchObject({ status: "failed", exitCode: 1, error: "step deploy failed" });
      const confirmations = await j.getConfirmations(runId);
      expect(confirmations.map((c) => [c.stepId, c.kind, c.question, c.answer, c.by])).toEqual([
        [null, "confirm", "Sign-off given?", "yes", "alice"],
        ["deploy", "manual", "Press the button", "done", "alice"],
        ["deploy", "failure-choice", "Step deploy failed: retry, skip, roll back or abort?", "rollback", "alice"],
      ]);
      expect(confirmations.every((c) => typeof c.time === "string" && c.time.length > 0)).toBe(true);
      const rollbacks = await j.getRollbacks(runId);
      expect(rollbacks.map((r) => [r.kind, r.stepId, r.status, r.steps])).toEqual([
        ["started", null, "started", ["prepare"]],
        ["step", "prepare", "ok", undefined],
      ]);
      expect(await j.getNotes(runId)).toMatchObject([{ stepId: "prepare", text: "testers told" }]);
      const steps = await j.getSteps(runId);
      expect(steps.map((s) => [s.stepId, s.status, s.reason])).toEqual([
        ["prepare", "rolled-back", null],
        ["deploy", "failed", "exit status 1"],
      ]);
      expect(steps[1].outputTail).toBe("boom\n");
    });

    it("records skipped steps without a start, retries as the latest attempt, host groups per member", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      for (const e of stepEvents(runId, "prepare", { status: "skipped", reason: 'when env == "uat" is false' })) j.record(e);
      // deploy fails once, then succeeds on attempt 2.
      for (const e of stepEvents(runId, "deploy", { status: "failed", output: ["try 1\n"] }).slice(0, -1)) j.record(e);
      for (const e of stepEvents(runId, "deploy", { output: ["try 2\n"], attempt: 2 })) j.record(e);
      // verify runs on a group of two hosts.
      j.record({ type: "step-started", runId, time: tick(), stepId: "verify", title: "verify", host: "workers", attempt: 1, preview: [] });
      j.record({ type: "output", runId, time: tick(), stepId: "verify", host: "w1", stream: "stdout", text: "one\n" });
      j.record({ type: "output", runId, time: tick(), stepId: "verify", host: "w2", stream: "stderr", text: "two\n" });
      j.record({ type: "host-finished", runId, time: tick(), stepId: "verify", host: "w1", status: "ok", exitCode: 0, durationMs: 10 });
      j.record({ type: "host-finished", runId, time: tick(), stepId: "verify", host: "w2", status: "failed", exitCode: 2, error: "exit status 2", durationMs: 12 });
      j.record({ type: "step-finished", runId, time: tick(), stepId: "verify", host: "workers", status: "failed", reason: "w2 failed", durationMs: 12, attempt: 1 });
      j.record(runFinished(runId, "failed"));
      await j.flush();

      const [prepare, deploy, verify] = await j.getSteps(runId);
      expect(prepare).toMatchObject({ stepId: "prepare", status: "skipped", reason: 'when env == "uat" is false', outputTail: "" });
      expect(prepare.startedAt).toBeUndefined();
      expect(deploy).toMatchObject({ status: "ok", attempt: 2, outputTail: "try 1\n--- attempt 2 ---\ntry 2\n" });
      expect(verify).toMatchObject({ status: "failed", host: "workers", reason: "w2 failed" });
      expect(verify.outputTail).toBe("[w1]\none\n[w2]\ntwo\n");
      expect(verify.hosts).toMatchObject([
        { host: "w1", status: "ok", exitCode: 0, error: null, durationMs: 10 },
        { host: "w2", status: "failed", exitCode: 2, error: "exit status 2", durationMs: 12 },
      ]);
    });

    it("keeps only a bounded tail of a step's output", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      const lines = Array.from({ length: 3000 }, (_, i) => `line ${String(i).padStart(5, "0")} ${"x".repeat(90)}\n`);
      // In uneven chunks that split lines.
      const all = lines.join("");
      const chunks: string[] = [];
      for (let i = 0; i < all.length; i += 777) chunks.push(all.slice(i, i + 777));
      for (const e of stepEvents(runId, "deploy", { output: chunks })) j.record(e);
      const [step] = await (async () => {
        await j.flush();
        return j.getSteps(runId);
      })();
      expect(step.outputTail.length).toBeLessThanOrEqual(TAIL_MAX_CHARS);
      const tailLines = step.outputTail.replace(/\n$/, "").split("\n");
      expect(tailLines.length).toBeLessThanOrEqual(TAIL_MAX_LINES);
      expect(tailLines.at(-1)).toBe(lines.at(-1)!.trimEnd());
      // Whole lines only, and the ones just before the end, in order.
      expect(step.outputTail).toBe(lines.slice(-tailLines.length).join(""));
      expect(step.outputTruncated).toBe(true);
    });

    it(`takes ${options.bulkSteps} steps through record()`, async () => {
      const j = await openJ();
      const ids = Array.from({ length: options.bulkSteps }, (_, i) => `step-${i}`);
      const plan = makePlan({ runbook: fresh(), steps: ids });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      for (const id of ids) for (const e of stepEvents(runId, id, { output: ["a\n", "b\n", "c\n"] })) j.record(e);
      j.record(runFinished(runId, "succeeded"));
      await j.flush();
      const steps = await j.getSteps(runId);
      expect(steps).toHaveLength(options.bulkSteps);
      expect(steps.every((s) => s.status === "ok" && s.outputTail === "a\nb\nc\n")).toBe(true);
      expect(steps.map((s) => s.stepId)).toEqual(ids);
    }, 120_000);
  });

  describe("listing and lookup", () => {
    it("lists newest first, filtered by runbook and env, limited", async () => {
      const j = await openJ();
      const name = fresh();
      const other = fresh();
      await completeRun(j, `${name}-1`, makePlan({ runbook: name, env: "dev" }));
      await completeRun(j, `${name}-2`, makePlan({ runbook: name, env: "prod" }));
      await completeRun(j, `${other}-3`, makePlan({ runbook: other, env: "dev" }), { dryRun: true });
      await completeRun(j, `${name}-4`, makePlan({ runbook: name, env: "dev" }));
      expect((await j.listRuns({ runbook: name })).map((r) => r.id)).toEqual([`${name}-4`, `${name}-2`, `${name}-1`]);
      expect((await j.listRuns({ runbook: name, env: "dev" })).map((r) => r.id)).toEqual([`${name}-4`, `${name}-1`]);
      expect((await j.listRuns({ runbook: name, limit: 1 })).map((r) => r.id)).toEqual([`${name}-4`]);
      const all = await j.listRuns();
      expect(all.map((r) => r.id).slice(0, 4)).toEqual([`${name}-4`, `${other}-3`, `${name}-2`, `${name}-1`]);
      expect(all[1].dryRun).toBe(true);
    });

    it("finds a run by a unique prefix of its id", async () => {
      const j = await openJ();
      const name = fresh();
      await completeRun(j, `${name}-abc123`, makePlan({ runbook: name }));
      await completeRun(j, `${name}-abd456`, makePlan({ runbook: name }));
      expect((await j.getRun(`${name}-abc`))?.id).toBe(`${name}-abc123`);
      expect((await j.getRun(`${name}-abc123`))?.id).toBe(`${name}-abc123`);
      await expect(j.getRun(`${name}-ab`)).rejects.toBeInstanceOf(AmbiguousRunIdError);
      await expect(j.getRun(`${name}-ab`)).rejects.toThrow(/ambiguous.*abc123.*abd456/);
      expect(await j.getRun(`${name}-zz`)).toBeUndefined();
      expect(await j.getRun("")).toBeUndefined();
      // LIKE wildcards in the prefix are literal.
      expect(await j.getRun(`${name}-a_c`)).toBeUndefined();
      expect(await j.getRun("%")).toBeUndefined();
      // The other getters take the prefix too.
      expect(await j.getSteps(`${name}-abd`)).toHaveLength(3);
    });
  });

  describe("locks", () => {
    it("refuses a second run in the same runbook and env, naming the holder", async () => {
      const a = await openJ();
      const b = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      await a.beginRun({ runId: `${plan.runbook.name}-a`, plan, dryRun: false, params: {}, file: "demo.rb" });
      const err = await b.beginRun({ runId: `${plan.runbook.name}-b`, plan, dryRun: false, params: {}, file: "demo.rb" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockedError);
      const locked = err as LockedError;
      expect(locked.stale).toBe(false);
      expect(locked.holder).toMatchObject({
        runbook: plan.runbook.name,
        env: "prod",
        runId: `${plan.runbook.name}-a`,
        user: os.userInfo().username,
        machine: os.hostname(),
        pid: process.pid,
      });
      expect(Number.isNaN(Date.parse(locked.holder.since))).toBe(false);
      expect(locked.message).toContain(`is locked in env prod by run ${plan.runbook.name}-a by ${os.userInfo().username}@${os.hostname()} (pid ${process.pid}) since`);
      // The refused run left nothing behind.
      expect(await b.getRun(`${plan.runbook.name}-b`)).toBeUndefined();
      // Another env, and a dry run, are not held up.
      await b.beginRun({ runId: `${plan.runbook.name}-c`, plan: { ...plan, env: "uat" }, dryRun: false, params: {}, file: "demo.rb" });
      await b.beginRun({ runId: `${plan.runbook.name}-d`, plan, dryRun: true, params: {}, file: "demo.rb" });
      expect((await b.getLock(plan.runbook.name, "prod"))?.runId).toBe(`${plan.runbook.name}-a`);
    });

    it("lets exactly one of two simultaneous runs take the lock", async () => {
      const a = await openJ();
      const b = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const results = await Promise.allSettled([
        a.beginRun({ runId: `${plan.runbook.name}-a`, plan, dryRun: false, params: {}, file: "demo.rb" }),
        b.beginRun({ runId: `${plan.runbook.name}-b`, plan, dryRun: false, params: {}, file: "demo.rb" }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(rejected).toHaveLength(1);
      expect(rejected[0].reason).toBeInstanceOf(LockedError);
    });

    it("takes no lock for a dry run", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      await j.beginRun({ runId: `${plan.runbook.name}-dry`, plan, dryRun: true, params: {}, file: "demo.rb" });
      expect(await j.getLock(plan.runbook.name, "dev")).toBeUndefined();
      expect((await j.getRun(`${plan.runbook.name}-dry`))?.dryRun).toBe(true);
    });

    it("detects a stale lock (dead pid, same machine) and unlock clears it", async () => {
      const pid = await deadPid();
      const dead = await openJ({ pid });
      const me = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const runId = `${plan.runbook.name}-dead`;
      await dead.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      dead.record({ type: "step-started", runId, time: tick(), stepId: "prepare", title: "prepare", attempt: 1, preview: [] });
      await dead.flush();

      const err = (await me.beginRun({ runId: `${plan.runbook.name}-new`, plan, dryRun: false, params: {}, file: "x.rb" }).catch((e: unknown) => e)) as LockedError;
      expect(err).toBeInstanceOf(LockedError);
      expect(err.stale).toBe(true);
      expect(err.holder.pid).toBe(pid);
      expect(err.message).toContain("that process is gone: `runbook unlock x.rb --env prod` clears the lock");
      expect(await me.getLock(plan.runbook.name, "prod")).toMatchObject({ runId, pid, stale: true });
      // Its run and its running step read as interrupted.
      expect((await me.getRun(runId))?.status).toBe("interrupted");
      expect((await me.listRuns({ runbook: plan.runbook.name }))[0].status).toBe("interrupted");
      expect((await me.getSteps(runId))[0].status).toBe("interrupted");

      const result = await me.unlock(plan.runbook.name, "prod");
      expect(result).toMatchObject({ cleared: true, holder: { runId, pid } });
      expect(result.reason).toMatch(/is gone/);
      expect(await me.getLock(plan.runbook.name, "prod")).toBeUndefined();
      await me.beginRun({ runId: `${plan.runbook.name}-new`, plan, dryRun: false, params: {}, file: "x.rb" });
    });

    it("unlock refuses a live holder unless forced", async () => {
      const a = await openJ();
      const b = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      await a.beginRun({ runId: `${plan.runbook.name}-live`, plan, dryRun: false, params: {}, file: "demo.rb" });
      const refused = await b.unlock(plan.runbook.name, "prod");
      expect(refused).toMatchObject({ cleared: false, holder: { runId: `${plan.runbook.name}-live`, pid: process.pid } });
      expect(refused.reason).toMatch(/still running/);
      expect(await b.getLock(plan.runbook.name, "prod")).toBeDefined();
      const forced = await b.unlock(plan.runbook.name, "prod", { force: true });
      expect(forced.cleared).toBe(true);
      expect(forced.reason).toMatch(/forced/);
      expect(await b.getLock(plan.runbook.name, "prod")).toBeUndefined();
      // A forced unlock of a live holder does not rewrite its run.
      expect((await b.getRun(`${plan.runbook.name}-live`))?.status).toBe("running");
    });

    it("a holder on another machine is never stale and needs --force", async () => {
      const elsewhere = await openJ({ machine: "build-host-7", user: "bob" });
      const me = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const runId = `${plan.runbook.name}-remote`;
      await elsewhere.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      expect(await me.getLock(plan.runbook.name, "prod")).toMatchObject({ machine: "build-host-7", user: "bob", stale: false });
      expect((await me.getRun(runId))?.status).toBe("running");
      const refused = await me.unlock(plan.runbook.name, "prod");
      expect(refused.cleared).toBe(false);
      expect(refused.reason).toMatch(/another machine \(build-host-7\).*--force/);
      const forced = await me.unlock(plan.runbook.name, "prod", { force: true });
      expect(forced.cleared).toBe(true);
      // That run is gone by the operator's word: it reads interrupted now.
      expect((await me.getRun(runId))?.status).toBe("interrupted");
    });

    it("unlock says when there is no lock", async () => {
      const j = await openJ();
      expect(await j.unlock(fresh(), "prod")).toEqual({ cleared: false, reason: expect.stringMatching(/no lock/) });
    });
  });

  describe("reopenRun (resume)", () => {
    it("takes over an interrupted run: running again, lock retaken, running steps interrupted", async () => {
      const pid = await deadPid();
      const dead = await openJ({ pid });
      const me = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const runId = `${plan.runbook.name}-r`;
      await dead.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      for (const e of stepEvents(runId, "prepare")) dead.record(e);
      dead.record({ type: "step-started", runId, time: tick(), stepId: "deploy", title: "deploy", attempt: 1, preview: [] });
      await dead.flush();

      const run = await me.reopenRun(runId);
      expect(run).toMatchObject({ id: runId, status: "running", pid: process.pid, machine: os.hostname() });
      expect(run.finishedAt).toBeUndefined();
      expect(await me.getLock(plan.runbook.name, "prod")).toMatchObject({ runId, pid: process.pid, stale: false });
      expect((await me.getSteps(runId)).map((s) => [s.stepId, s.status])).toEqual([
        ["prepare", "ok"],
        ["deploy", "interrupted"],
      ]);
      // It goes on and finishes.
      for (const e of stepEvents(runId, "deploy")) me.record(e);
      for (const e of stepEvents(runId, "verify")) me.record(e);
      me.record(runFinished(runId, "succeeded"));
      await me.flush();
      expect(await me.getRun(runId)).toMatchObject({ status: "succeeded", exitCode: 0 });
      expect(await me.getLock(plan.runbook.name, "prod")).toBeUndefined();
    });

    it("reopens a failed run, and refuses while another run holds the lock or the run is still alive", async () => {
      const a = await openJ();
      const b = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const failed = `${plan.runbook.name}-failed`;
      await a.beginRun({ runId: failed, plan, dryRun: false, params: {}, file: "demo.rb" });
      for (const e of stepEvents(failed, "prepare", { status: "failed" })) a.record(e);
      a.record(runFinished(failed, "failed"));
      await a.flush();

      // Another run holds the lock now.
      await a.beginRun({ runId: `${plan.runbook.name}-other`, plan, dryRun: false, params: {}, file: "demo.rb" });
      await expect(b.reopenRun(failed)).rejects.toBeInstanceOf(LockedError);
      a.record(runFinished(`${plan.runbook.name}-other`, "succeeded"));
      await a.flush();

      // A run whose process is alive on another machine (or here) cannot be taken over.
      const elsewhere = await openJ({ machine: "build-host-9" });
      const plan2 = makePlan({ runbook: fresh(), env: "prod" });
      await elsewhere.beginRun({ runId: `${plan2.runbook.name}-x`, plan: plan2, dryRun: false, params: {}, file: "demo.rb" });
      await expect(b.reopenRun(`${plan2.runbook.name}-x`)).rejects.toBeInstanceOf(LockedError);

      const reopened = await b.reopenRun(failed);
      expect(reopened).toMatchObject({ status: "running" });
      expect(reopened.exitCode).toBeUndefined();
      expect((await b.getLock(plan.runbook.name, "prod"))?.runId).toBe(failed);
      await expect(b.reopenRun("no-such-run")).rejects.toThrow(/no run no-such-run/);
    });
  });

  describe("approvals", () => {
    it("keeps a waiting run's request, another process's signature and the verdicts, in order; a waiting run reopens", async () => {
      const runner = await openJ();
      const approver = await openJ({ user: "bob", machine: "bobs-laptop", pid: 4242 });
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const runId = `${plan.runbook.name}-r`;
      await runner.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      const request = { stepId: "prepare", group: "release-group", count: 1, sources: [{ path: "demo.rb", sha256: "ab".repeat(32) }], planDigest: "cd".repeat(32) };
      runner.record({ type: "approval-waiting", runId, time: tick(), ...request, approvedBy: [] });
      runner.record(runFinished(runId, "waiting", "waiting for approval"));
      await runner.flush();
      expect(await runner.getRun(runId)).toMatchObject({ status: "waiting", error: "waiting for approval" });
      expect(await runner.getLock(plan.runbook.name, "prod")).toBeUndefined();

      const signedAt = tick();
      await approver.addApproval({ runId, kind: "signature", stepId: "prepare", group: "release-group", approver: "bob@example.org", time: signedAt, statement: '{"a":1}\n', signature: "-----BEGIN SSH SIGNATURE-----\nxyz\n-----END SSH SIGNATURE-----\n", reason: null });

      await runner.reopenRun(runId);
      const checkedAt = tick();
      runner.record({ type: "approval", runId, time: checkedAt, stepId: "prepare", group: "release-group", approver: "bob@example.org", signedAt, status: "verified" });
      runner.record({ type: "approval", runId, time: tick(), stepId: "prepare", group: "release-group", approver: "carol@example.org", signedAt, status: "refused", reason: "not in the group" });
      runner.record(runFinished(runId, "succeeded"));
      await runner.flush();

      const rows = await approver.getApprovals(runId.slice(0, -1));
      expect(rows.map((r) => [r.kind, r.approver, r.reason])).toEqual([
        ["request", null, null],
        ["signature", "bob@example.org", null],
        ["verified", "bob@example.org", null],
        ["refused", "carol@example.org", "not in the group"],
      ]);
      expect(JSON.parse(rows[0]!.statement!)).toEqual(request);
      expect(rows[1]).toMatchObject({ statement: '{"a":1}\n', signature: expect.stringContaining("xyz\n"), time: signedAt, group: "release-group", stepId: "prepare" });
      expect(rows[2]!.time).toBe(checkedAt); // a verdict is dated when it was checked, not when it was signed
      expect(await approver.getApprovals("no-such-run")).toEqual([]);
    });
  });

  describe("beginRun with resumedFrom", () => {
    it("takes over the stale lock of the run it resumes, and only that one", async () => {
      const pid = await deadPid();
      const dead = await openJ({ pid });
      const me = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const old = `${plan.runbook.name}-old`;
      await dead.beginRun({ runId: old, plan, dryRun: false, params: {}, file: "demo.rb" });
      // Not a resume of the holder: refused.
      await expect(
        me.beginRun({ runId: `${plan.runbook.name}-x`, plan, dryRun: false, params: {}, file: "demo.rb", resumedFrom: "something-else" }),
      ).rejects.toBeInstanceOf(LockedError);
      await me.beginRun({ runId: `${plan.runbook.name}-new`, plan, dryRun: false, params: {}, file: "demo.rb", resumedFrom: old });
      expect(await me.getLock(plan.runbook.name, "prod")).toMatchObject({ runId: `${plan.runbook.name}-new`, stale: false });
      expect(await me.getRun(`${plan.runbook.name}-new`)).toMatchObject({ resumedFrom: old, status: "running" });
      expect((await me.getRun(old))?.status).toBe("interrupted");
    });

    it("does not take over a live holder even when resuming it", async () => {
      const a = await openJ();
      const b = await openJ();
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      await a.beginRun({ runId: `${plan.runbook.name}-a`, plan, dryRun: false, params: {}, file: "demo.rb" });
      await expect(
        b.beginRun({ runId: `${plan.runbook.name}-b`, plan, dryRun: false, params: {}, file: "demo.rb", resumedFrom: `${plan.runbook.name}-a` }),
      ).rejects.toBeInstanceOf(LockedError);
    });
  });

  describe("verify (before each step)", () => {
    it("passes while the run holds its lock and every write landed", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.verify(); // no run yet: only that the journal answers
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      for (const e of stepEvents(runId, "prepare")) j.record(e);
      await j.verify();
      // The writes are in before verify() returns: another connection sees them.
      const other = await openJ();
      expect((await other.getSteps(runId)).map((s) => s.status)).toEqual(["ok"]);
    });

    it("fails for good once a write failed, even after flush() reported it", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      const bad = { type: "confirm", runId, time: tick(), answer: "yes", by: "x" } as unknown as Parameters<Journal["record"]>[0];
      j.record(bad);
      const first = (await j.verify().catch((e: unknown) => e)) as JournalError;
      expect(first).toBeInstanceOf(JournalError);
      expect(first.code).toBe("write-failed");
      expect(first.resumable).toBe(true);
      expect(first.message).toMatch(/^could not write to the journal /);
      await expect(j.flush()).rejects.toThrow(/could not write to the journal/);
      await expect(j.verify()).rejects.toMatchObject({ code: "write-failed" });
    });

    it("notices a lost lock: cleared by a forced unlock, or taken by another run", async () => {
      const j = await openJ();
      const other = await openJ({ machine: "elsewhere-1" });
      const plan = makePlan({ runbook: fresh(), env: "prod" });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      expect((await other.unlock(plan.runbook.name, "prod", { force: true })).cleared).toBe(true);
      const cleared = (await j.verify().catch((e: unknown) => e)) as JournalError;
      expect(cleared).toMatchObject({ code: "lock-lost" });
      expect(cleared.message).toMatch(/lock .* is gone: it was cleared/);
      await other.beginRun({ runId: `${plan.runbook.name}-other`, plan, dryRun: false, params: {}, file: "demo.rb" });
      await expect(j.verify()).rejects.toThrow(new RegExp(`run ${plan.runbook.name}-other by \\S+@elsewhere-1 .* holds it now`));
    });

    it("a dry run has no lock to lose", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      await j.beginRun({ runId: `${plan.runbook.name}-dry`, plan, dryRun: true, params: {}, file: "demo.rb" });
      await j.verify();
    });
  });

  describe("commands of running steps", () => {
    it("keeps a started command until it ends; forgetCommand drops one found gone", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh() });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      j.record({ type: "step-started", runId, time: tick(), stepId: "prepare", title: "prepare", attempt: 1, preview: [] });
      const local = { host: null, target: null, pid: 4242, pgid: 4242, startToken: "boot-1:12345" };
      j.record({ type: "command-started", runId, time: tick(), stepId: "prepare", command: local });
      j.record({ type: "command-ended", runId, time: tick(), stepId: "prepare", command: { host: null, target: null } });
      j.record({ type: "step-started", runId, time: tick(), stepId: "deploy", title: "deploy", host: "web", attempt: 1, preview: [] });
      j.record({ type: "command-started", runId, time: tick(), stepId: "deploy", host: "app@w1:22", command: { host: "web", target: "app@w1:22", execId: "abc123" } });
      j.record({ type: "command-started", runId, time: tick(), stepId: "deploy", host: "app@w2:22", command: { host: "web", target: "app@w2:22", execId: "abc124" } });
      j.record({ type: "step-started", runId, time: tick(), stepId: "verify", title: "verify", attempt: 1, preview: [] });
      j.record({ type: "command-started", runId, time: tick(), stepId: "verify", command: local });
      await j.flush();

      const other = await openJ();
      const found = await other.getCommands(runId);
      expect(found.map((c) => [c.stepId, c.host, c.target, c.pid, c.pgid, c.startToken, c.execId])).toEqual([
        ["deploy", "web", "app@w1:22", null, null, null, "abc123"],
        ["deploy", "web", "app@w2:22", null, null, null, "abc124"],
        ["verify", null, null, 4242, 4242, "boot-1:12345", null],
      ]);
      expect(found[2]).toMatchObject({ runId, machine: os.hostname() });
      await other.forgetCommand(runId, "deploy", { host: "web", target: "app@w1:22" });
      expect((await j.getCommands(runId)).map((c) => c.execId ?? c.pgid)).toEqual(["abc124", 4242]);
    });
  });

  describe("errors", () => {
    it("a failed write is reported by flush(), never thrown by record()", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh(), steps: [makeStep("a")] });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: false, params: {}, file: "demo.rb" });
      // A malformed event (no question) breaks a NOT NULL column.
      const bad = { type: "confirm", runId, time: tick(), answer: "yes", by: "x" } as unknown as Parameters<Journal["record"]>[0];
      expect(() => j.record(bad)).not.toThrow();
      await expect(j.flush()).rejects.toThrow(/could not write to the journal/);
      // Reported once; the journal goes on working.
      await j.flush();
      for (const e of stepEvents(runId, "a")) j.record(e);
      await j.flush();
      expect((await j.getSteps(runId))[0].status).toBe("ok");
    });

    it("refuses a duplicate run id; record() after close is ignored", async () => {
      const j = await openJ();
      const plan = makePlan({ runbook: fresh(), steps: [makeStep("a")] });
      const runId = `${plan.runbook.name}-r`;
      await j.beginRun({ runId, plan, dryRun: true, params: {}, file: "demo.rb" });
      await expect(j.beginRun({ runId, plan, dryRun: true, params: {}, file: "demo.rb" })).rejects.toThrow(
        `a run with id ${runId} is already in the journal`,
      );
      await j.close();
      expect(() => j.record(runFinished(runId, "succeeded"))).not.toThrow();
      await expect(j.getRun(runId)).rejects.toThrow(/closed/);
    });
  });
}
