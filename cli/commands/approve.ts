// `runbook approve RUN_ID` (or `--request FILE`): someone other than the runner signs
// off a run waiting at its approval gate. It shows what they sign for (the plan,
// what has run, the source and plan digests, checked against the journaled plan and
// against the runbook's files when they are here), asks, then signs the statement
// with `ssh-keygen -Y sign` (--key FILE or ssh-agent) in the group's namespace, and
// stores the signature in the journal, or writes it to a file (--out) for
// `resume --approval FILE`. The run checks every signature itself when it resumes.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { groupMembers, groupNamespace, parseAllowedSigners, principalsOfKey } from "../../language/allowed-signers.js";
import { ALLOWED_SIGNERS_FILE } from "../../language/ast.js";
import { approvalWords, planDigest, signingKey, SshSignError, sshSign, sshVerify, statementFor, statementText, type SignedApproval } from "../../runtime/approvals.js";
import type { ApprovalRequest } from "../../runtime/events.js";
import type { Journal } from "../../runtime/journal/index.js";
import type { Plan } from "../../runtime/plan.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";
import { Exit, type CliIO } from "../io.js";
import { approveMessages as m } from "../messages.js";
import { renderPlanText } from "../views/plan.js";
import { withJournalReported } from "../journal-access.js";

export interface ApproveOptions {
  state?: string;
  /** A request file (`runbook show RUN_ID --approval-request`): no journal needed. */
  request?: string;
  key?: string;
  /** The approver's principal in allowed_signers (default: the key's one member of the group). */
  as?: string;
  yes?: boolean;
  /** Write the signed approval here instead of into the journal. */
  out?: string;
}

/** What `show --approval-request` prints and `approve --request` reads. */
export interface ApprovalBundle {
  type: "runbook-approval-request/1";
  runId: string;
  runbook: string;
  env: string;
  file: string;
  user: string;
  request: ApprovalRequest;
  plan: Plan;
  steps: { stepId: string; status: string }[];
}

/** The bundle of a waiting run, from its journal; a string saying why not. */
export async function approvalBundle(journal: Journal, runId: string): Promise<ApprovalBundle | string> {
  const run = await journal.getRun(runId);
  if (!run) return m.noRun(runId, journal.location);
  if (run.status !== "waiting") return m.notWaiting(run.id, run.status);
  const rows = (await journal.getApprovals(run.id)).filter((r) => r.kind === "request" && r.statement !== null);
  const last = rows[rows.length - 1];
  if (!last) return m.noRequest(run.id);
  const steps = (await journal.getSteps(run.id)).map((s) => ({ stepId: s.stepId, status: s.status }));
  return { type: "runbook-approval-request/1", runId: run.id, runbook: run.runbook, env: run.env, file: run.file, user: run.user, request: JSON.parse(last.statement!) as ApprovalRequest, plan: run.plan, steps };
}

export async function approveCommand(runId: string | undefined, opts: ApproveOptions, io: CliIO): Promise<number> {
  const fail = (message: string, code: number = Exit.failed) => {
    io.stderr.write(`runbook: ${message}\n`);
    return code;
  };
  if (opts.request !== undefined) {
    if (opts.out === undefined) return fail(m.requestNeedsOut, Exit.usage);
    let bundle: ApprovalBundle;
    try {
      bundle = JSON.parse(readFileSync(path.resolve(io.cwd, opts.request), "utf8")) as ApprovalBundle;
    } catch (e) {
      return fail(m.cannotReadRequest(opts.request, (e as Error).message), Exit.usage);
    }
    if (bundle?.type !== "runbook-approval-request/1") return fail(m.notARequest(opts.request), Exit.usage);
    if (runId !== undefined && !bundle.runId.startsWith(runId)) return fail(m.requestOfOtherRun(opts.request, bundle.runId, runId), Exit.usage);
    return approve(bundle, undefined, opts, io);
  }
  if (runId === undefined) return fail(m.nameTheRun, Exit.usage);
  return withJournalReported(io, opts.state, async (journal) => {
    const bundle = await approvalBundle(journal, runId);
    if (typeof bundle === "string") return fail(bundle, Exit.usage);
    return approve(bundle, journal, opts, io);
  });
}

async function approve(b: ApprovalBundle, journal: Journal | undefined, opts: ApproveOptions, io: CliIO): Promise<number> {
  const fail = (message: string, code: number = Exit.failed) => {
    io.stderr.write(`runbook: ${message}\n`);
    return code;
  };
  const r = b.request;
  if (planDigest(b.plan) !== r.planDigest) return fail(m.planNotRequested(b.runId, planDigest(b.plan), r.planDigest));

  // The files here, when they are: the approver signs for what they can read.
  const base = path.dirname(b.file);
  const local = r.sources.map((d) => {
    try {
      return { ...d, here: createHash("sha256").update(readFileSync(path.join(base, d.path))).digest("hex") };
    } catch {
      return { ...d, here: undefined };
    }
  });
  const differs = local.find((d) => d.here !== undefined && d.here !== d.sha256);
  if (differs) return fail(m.fileDiffers(path.join(base, differs.path), b.runId, differs.here!, differs.sha256));

  const out: string[] = [];
  out.push(`Run ${b.runId}: ${b.runbook} in env ${b.env}, run by ${b.user}`);
  out.push(`waits before step ${r.stepId} for ${r.count} approval${r.count === 1 ? "" : "s"} from "${r.group}"`);
  for (const d of local) out.push(`  sha256 ${d.sha256}  ${d.path}${d.here === undefined ? "  (not here: not checked)" : "  (checked here)"}`);
  out.push(`  plan digest ${r.planDigest}`);
  out.push("");
  out.push(renderPlanText(b.plan).trimEnd());
  out.push("");
  out.push(b.steps.length > 0 ? `So far: ${b.steps.map((s) => `${s.stepId} ${s.status}`).join(", ")}` : "So far: no step has run");
  io.stdout.write(`${escapeControls(out.join("\n"))}\n`);

  let key;
  try {
    key = await signingKey(opts.key === undefined ? undefined : path.resolve(io.cwd, opts.key), io.env);
  } catch (e) {
    if (e instanceof SshSignError) return fail(e.message, Exit.usage);
    throw e;
  }
  // Who signs: --as, else the key's one principal in the group (allowed_signers beside the runbook, when here).
  // It is also what `approve` checks its own signature against before saying who signed.
  const signersFile = path.join(base, ALLOWED_SIGNERS_FILE);
  let signersText: string;
  try {
    signersText = readFileSync(signersFile, "utf8");
  } catch {
    return fail(m.noSignersHere(signersFile), Exit.usage);
  }
  const signers = parseAllowedSigners(signersText);
  let approver = opts.as;
  if (approver === undefined) {
    const members = groupMembers(signers, r.group);
    const mine = principalsOfKey(signers, key.publicKey.type, key.publicKey.key).filter((p) => members.includes(p));
    if (mine.length !== 1)
      return fail(mine.length === 0 ? m.keyNotInGroup(r.group) : m.keyIsSeveral(mine, r.group), Exit.failed);
    approver = mine[0]!;
  } else if (!groupMembers(signers, r.group).includes(approver)) {
    return fail(m.notInGroup(approver, r.group));
  }
  // The same rule as the run's check: who runs the release does not approve it.
  if (r.runner?.includes(approver)) return fail(approvalWords.selfApproval(approver));

  if (!opts.yes) {
    if (!io.stdin.isTTY) return fail(m.nobodyToAsk, Exit.aborted);
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    const answer = (await rl.question(m.question(b.runId, r.stepId, approver))).trim().toLowerCase();
    rl.close();
    if (answer !== "y" && answer !== "yes") return fail(m.notSigned, Exit.aborted);
  }

  const statement = statementText(statementFor(b.plan, r, b.runId, approver, new Date()));
  let signature: string;
  try {
    signature = await sshSign(statement, groupNamespace(r.group), key, io.env);
  } catch (e) {
    if (e instanceof SshSignError) return fail(e.message);
    throw e;
  }
  // Signed as `approver` only if allowed_signers says this key is theirs, for this group.
  const bad = await sshVerify(signersText, approver, groupNamespace(r.group), statement, signature, io.env);
  if (bad !== undefined) return fail(m.notTheirKey(approver, r.group, bad));
  const signed: SignedApproval = { statement, signature };
  if (opts.out !== undefined) {
    writeFileSync(path.resolve(io.cwd, opts.out), `${JSON.stringify(signed, null, 2)}\n`);
    io.stdout.write(`${m.writtenTo(approver, opts.out, b.runId)}\n`);
    return Exit.ok;
  }
  const statementTime = (JSON.parse(statement) as { time: string }).time;
  await journal!.addApproval({ runId: b.runId, kind: "signature", stepId: r.stepId, group: r.group, approver, time: statementTime, statement, signature, reason: null });
  io.stdout.write(`${m.stored(approver, b.runId)}\n`);
  return Exit.ok;
}
