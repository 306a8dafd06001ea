// Sign-off by someone else (`approvals N from "group"` in an env): the statement an
// approver signs, signing and verifying it with OpenSSH (`ssh-keygen -Y sign` /
// `-Y verify`, namespace `runbook:GROUP`), the plan digest it binds, and the gate the
// executor calls once before the first step: enough valid approvals let the run
// go on, else it stops "waiting" (exit 6) with what an approver needs.

import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { groupMembers, groupNamespace, parseAllowedSigners, principalsOfKey } from "../language/allowed-signers.js";
import { ALLOWED_SIGNERS_FILE } from "../language/ast.js";
import { maskUrlPasswords } from "../language/url-password.js";
import type { ApprovalRequest, RunEvent, SourceDigest } from "./events.js";
import type { Plan } from "./plan.js";

/** The exit code of a run that stops at its approval gate. */
export const WAITING_EXIT = 6;
/** A signature dated this far ahead of this machine's clock is refused. */
const FUTURE_SLACK_MS = 5 * 60 * 1000;
const STATEMENT_TYPE = "runbook-approval/1";
const RUNNER_NAMESPACE = "runbook-runner";

/** What an approver signs. */
export interface ApprovalStatement {
  type: typeof STATEMENT_TYPE;
  runId: string;
  runbook: string;
  env: string;
  step: string;
  group: string;
  sources: SourceDigest[];
  planDigest: string;
  approver: string;
  /** ISO 8601. */
  time: string;
}

/** A signed approval: the statement's exact text and its armored SSH signature. */
export interface SignedApproval {
  statement: string;
  signature: string;
}

/** JSON with sorted keys and no spaces: the same value is always the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * sha256 of the plan as the journal keeps it (URL passwords masked), leaving out where
 * the file was opened from and its git state: the same run's plan has the same digest
 * in the process that runs it, in `approve` reading the journal, and on resume.
 */
export function planDigest(plan: Plan): string {
  const { file: _file, git: _git, ...runbook } = plan.runbook;
  const stripped = JSON.parse(maskUrlPasswords(JSON.stringify({ ...plan, runbook }))) as unknown;
  return createHash("sha256").update(canonicalJson(stripped)).digest("hex");
}

/** What the gate before `stepId` asks for, or undefined when the plan's env requires no approvals. */
export function approvalRequest(plan: Plan, stepId: string): ApprovalRequest | undefined {
  const a = plan.approvals;
  if (!a) return undefined;
  return { stepId, group: a.group, count: a.count, sources: plan.runbook.sources ?? [], planDigest: planDigest(plan) };
}

export function statementFor(plan: Plan, request: ApprovalRequest, runId: string, approver: string, time: Date): ApprovalStatement {
  return {
    type: STATEMENT_TYPE,
    runId,
    runbook: plan.runbook.name,
    env: plan.env,
    step: request.stepId,
    group: request.group,
    sources: request.sources,
    planDigest: request.planDigest,
    approver,
    time: time.toISOString(),
  };
}

export function statementText(s: ApprovalStatement): string {
  return `${canonicalJson(s)}\n`;
}

// ---------------------------------------------------------------- ssh-keygen

export class SshSignError extends Error {}

function sshKeygen(args: string[], input: string | undefined, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile("ssh-keygen", args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 255) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "runbook-sig-"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The key to sign with: a private key file (--key), or the first key of ssh-agent. */
export interface SigningKey {
  /** The private key file given to `ssh-keygen -Y sign -f`; undefined: the agent holds it. */
  file?: string;
  /** `TYPE BASE64` of its public key. */
  publicKey: { type: string; key: string };
}

/** The public half of --key FILE (FILE.pub, else derived with `ssh-keygen -y`), or ssh-agent's first key. */
export async function signingKey(keyFile: string | undefined, env: NodeJS.ProcessEnv): Promise<SigningKey> {
  if (keyFile !== undefined) {
    let pub: string | undefined;
    try {
      pub = readFileSync(`${keyFile}.pub`, "utf8");
    } catch {
      const r = await sshKeygen(["-y", "-f", keyFile], undefined, env);
      if (r.code !== 0) throw new SshSignError(approvalWords.cannotReadKey(keyFile, r.stderr.trim()));
      pub = r.stdout;
    }
    return { file: keyFile, publicKey: splitPublicKey(pub) };
  }
  if (!env.SSH_AUTH_SOCK) throw new SshSignError(approvalWords.noKey);
  const listed = await new Promise<string>((resolve) => execFile("ssh-add", ["-L"], { env, timeout: 10_000 }, (err, stdout) => resolve(err ? "" : String(stdout))));
  const first = listed.split("\n").find((l) => /^\S+ [A-Za-z0-9+/=]+/.test(l));
  if (!first) throw new SshSignError(approvalWords.noKey);
  return { publicKey: splitPublicKey(first) };
}

function splitPublicKey(text: string): { type: string; key: string } {
  const [type = "", key = ""] = text.trim().split(/\s+/);
  return { type, key };
}

/** Signs `text` in `namespace` with `ssh-keygen -Y sign`: the armored signature. */
export async function sshSign(text: string, namespace: string, key: SigningKey, env: NodeJS.ProcessEnv): Promise<string> {
  const t = tempDir();
  try {
    const file = path.join(t.dir, "statement");
    writeFileSync(file, text);
    let keyFile = key.file;
    if (keyFile === undefined) {
      // The agent's key: ssh-keygen is given its public half and asks the agent to sign.
      keyFile = path.join(t.dir, "agent-key.pub");
      writeFileSync(keyFile, `${key.publicKey.type} ${key.publicKey.key}\n`);
    }
    const r = await sshKeygen(["-Y", "sign", "-q", "-f", keyFile, "-n", namespace, file], undefined, env);
    if (r.code !== 0) throw new SshSignError(approvalWords.signFailed(r.stderr.trim()));
    return readFileSync(`${file}.sig`, "utf8");
  } finally {
    t.done();
  }
}

/** `ssh-keygen -Y verify`: undefined when `signature` is `principal`'s over `text` in `namespace`, else why not. */
export async function sshVerify(signersText: string, principal: string, namespace: string, text: string, signature: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const t = tempDir();
  try {
    const signers = path.join(t.dir, "allowed_signers");
    const sig = path.join(t.dir, "statement.sig");
    writeFileSync(signers, signersText);
    writeFileSync(sig, signature);
    const r = await sshKeygen(["-Y", "verify", "-f", signers, "-I", principal, "-n", namespace, "-s", sig], text, env);
    if (r.code === 0) return undefined;
    return `${r.stderr}\n${r.stdout}`.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? `ssh-keygen exit ${r.code}`;
  } finally {
    t.done();
  }
}

/** Who runs the release: the public key it signs with, proved by signing a fresh nonce with it. */
export async function proveRunner(key: SigningKey, env: NodeJS.ProcessEnv): Promise<{ type: string; key: string }> {
  const nonce = `runbook runner ${randomBytes(16).toString("hex")}\n`;
  const signature = await sshSign(nonce, RUNNER_NAMESPACE, key, env);
  const line = `runner namespaces="${RUNNER_NAMESPACE}" ${key.publicKey.type} ${key.publicKey.key}\n`;
  const bad = await sshVerify(line, "runner", RUNNER_NAMESPACE, nonce, signature, env);
  if (bad !== undefined) throw new SshSignError(approvalWords.runnerKeyUnproved(bad));
  return key.publicKey;
}

// ---------------------------------------------------------------- verification

export interface ApprovalVerdict {
  approver: string;
  signedAt: string;
  status: "verified" | "refused";
  reason?: string;
}

export interface VerifyInput {
  plan: Plan;
  runId: string;
  request: ApprovalRequest;
  signersText: string;
  /** Principals of the key running the release (never empty: an unknown runner is refused before). */
  runnerPrincipals: string[];
  now: Date;
  env: NodeJS.ProcessEnv;
}

/** One approval's verdict: the signature (ssh-keygen), the group, who, for what, when. */
export async function verifyApproval(a: SignedApproval, input: VerifyInput): Promise<ApprovalVerdict> {
  let s: ApprovalStatement;
  try {
    s = JSON.parse(a.statement) as ApprovalStatement;
  } catch {
    return { approver: "?", signedAt: "?", status: "refused", reason: approvalWords.notAStatement };
  }
  if (s === null || typeof s !== "object" || s.type !== STATEMENT_TYPE || typeof s.approver !== "string" || typeof s.time !== "string")
    return { approver: "?", signedAt: "?", status: "refused", reason: approvalWords.notAStatement };
  const refuse = (reason: string): ApprovalVerdict => ({ approver: s.approver, signedAt: s.time, status: "refused", reason });
  const req = input.request;
  const signers = parseAllowedSigners(input.signersText);
  if (s.group !== req.group) return refuse(approvalWords.otherGroup(s.group, req.group));
  if (!groupMembers(signers, req.group).includes(s.approver)) return refuse(approvalWords.notMember(s.approver, req.group));
  const bad = await sshVerify(input.signersText, s.approver, groupNamespace(req.group), a.statement, a.signature, input.env);
  if (bad !== undefined) return refuse(approvalWords.badSignature(s.approver, bad));
  if (input.runnerPrincipals.includes(s.approver)) return refuse(approvalWords.selfApproval(s.approver));
  if (s.runId !== input.runId) return refuse(approvalWords.otherRun(s.runId, input.runId));
  if (s.step !== req.stepId) return refuse(approvalWords.otherStep(s.step, req.stepId));
  const changed = sourcesDiffer(s.sources, req.sources);
  if (changed) return refuse(approvalWords.otherSources(changed));
  if (s.planDigest !== req.planDigest) return refuse(approvalWords.otherPlan(s.planDigest, req.planDigest));
  const at = Date.parse(s.time);
  if (Number.isNaN(at)) return refuse(approvalWords.notAStatement);
  const age = input.now.getTime() - at;
  const max = input.plan.approvals?.maxAgeMs ?? 0;
  if (age > max) return refuse(approvalWords.stale(s.time, max));
  if (age < -FUTURE_SLACK_MS) return refuse(approvalWords.future(s.time));
  return { approver: s.approver, signedAt: s.time, status: "verified" };
}

function sourcesDiffer(signed: SourceDigest[] | undefined, now: SourceDigest[]): string | undefined {
  const list = Array.isArray(signed) ? signed : [];
  const had = new Map(list.map((d) => [d.path, d.sha256]));
  for (const d of now) if (had.get(d.path) !== d.sha256) return d.path;
  for (const d of list) if (!now.some((n) => n.path === d.path)) return d.path;
  return undefined;
}

// ---------------------------------------------------------------- the gate

export type GateEvent = Extract<RunEvent, { type: "approval" | "approval-waiting" }>;
type GateEventBody = { [K in GateEvent["type"]]: Omit<Extract<GateEvent, { type: K }>, "runId" | "time"> }[GateEvent["type"]];

export interface GateResult {
  events: GateEventBody[];
  /** Enough approvals: the run goes on. */
  pass: boolean;
  /** No approval could ever let it go on (who runs it is not known): the run fails. */
  failed?: boolean;
  /** Why it waits (with what the approver needs), when it does not pass. */
  error?: string;
}

/** Where approvals come from: the journal's signatures and the files given to `resume --approval`. */
export interface GateSources {
  approvals: () => Promise<SignedApproval[]>;
  /** The key running the release (--key or ssh-agent); proved before the run waits. */
  runnerKey: () => Promise<SigningKey>;
  env: NodeJS.ProcessEnv;
  now?: () => Date;
  /** The plan the run began with, as its journal holds it: `approve` signs over that one. */
  startedPlan?: () => Promise<Plan | undefined>;
}

/** The gate before `stepId`: called by the executor once, before the run's first step. */
export async function approvalGate(plan: Plan, runId: string, stepId: string, src: GateSources): Promise<GateResult> {
  const request = approvalRequest(plan, stepId);
  if (!request) return { events: [], pass: true };
  const waiting = (approvedBy: string[], why: string): GateResult => ({
    events: [...verdictEvents, { type: "approval-waiting", ...request, approvedBy }],
    pass: false,
    error: why,
  });
  const failing = (why: string): GateResult => ({ events: [], pass: false, failed: true, error: why });
  const verdictEvents: GateEventBody[] = [];
  // A resumed run whose plan is no longer the one it began with (its runbook, an
  // include or allowed_signers changed): `approve` signs over the plan the journal
  // holds, so no approval could ever match this one, and waiting would be a lie.
  const started = await src.startedPlan?.();
  if (started !== undefined && planDigest(started) !== request.planDigest) return failing(approvalWords.planChanged(planDigest(started), request.planDigest));
  const signersFile = path.join(path.dirname(plan.runbook.file), ALLOWED_SIGNERS_FILE);
  let signersText: string;
  try {
    signersText = readFileSync(signersFile, "utf8");
  } catch (e) {
    // No approval can be checked, so none is asked for: the run fails (resume once the file is back).
    const isDir = (e as { code?: unknown } | null)?.code === "EISDIR";
    return failing(isDir ? approvalWords.signersIsDirectory(signersFile) : approvalWords.signersMissing(signersFile));
  }
  const digest = createHash("sha256").update(signersText).digest("hex");
  const planned = request.sources.find((d) => d.path === ALLOWED_SIGNERS_FILE);
  // Approvals are signed over the sources as planned: none made now could count for this run.
  if (planned && planned.sha256 !== digest) return failing(approvalWords.signersChanged(signersFile));
  // Who runs it must be known before anyone is asked: with no key, or a key not in
  // allowed_signers, no approval could ever be told apart from self-approval.
  let runner: string[];
  try {
    const key = await proveRunner(await src.runnerKey(), src.env);
    runner = principalsOfKey(parseAllowedSigners(signersText), key.type, key.key);
    if (runner.length === 0) return failing(approvalWords.runnerUnknown(`${key.type} ${key.key.slice(0, 16)}…`, signersFile));
  } catch (e) {
    if (e instanceof SshSignError) return failing(approvalWords.runnerNeeded(e.message));
    throw e;
  }
  request.runner = runner;
  const approvals = await src.approvals();
  if (approvals.length === 0) return waiting([], approvalWords.waiting(request, []));
  const input: VerifyInput = { plan, runId, request, signersText, runnerPrincipals: runner, now: (src.now ?? (() => new Date()))(), env: src.env };
  const verified: string[] = [];
  for (const a of approvals) {
    const v = await verifyApproval(a, input);
    if (v.status === "verified" && verified.includes(v.approver)) continue; // one person counts once
    if (v.status === "verified") verified.push(v.approver);
    verdictEvents.push({ type: "approval", stepId, group: request.group, approver: v.approver, signedAt: v.signedAt, status: v.status, ...(v.reason !== undefined ? { reason: v.reason } : {}) });
  }
  if (verified.length >= request.count) return { events: verdictEvents, pass: true };
  const refused = verdictEvents.flatMap((e) => (e.type === "approval" && e.status === "refused" ? [`${e.approver}: ${e.reason}`] : []));
  return waiting(verified, approvalWords.waiting(request, verified, refused));
}

export const approvalWords = {
  noKey: "no key to sign with: pass --key FILE, or load a key into ssh-agent",
  cannotReadKey: (file: string, why: string) => `cannot read the key ${file}${why ? `: ${why}` : ""}`,
  signFailed: (why: string) => `ssh-keygen -Y sign failed${why ? `: ${why}` : ""}`,
  runnerKeyUnproved: (why: string) => `the key running the release could not be proved: ${why}`,
  notAStatement: "not a runbook approval statement",
  otherGroup: (signed: string, needed: string) => `signed for group "${signed}", this run needs "${needed}"`,
  notMember: (who: string, group: string) => `${who} is not in group "${group}" in allowed_signers`,
  badSignature: (who: string, why: string) => `the signature is not ${who}'s over this statement (tampered, or another key): ${why}`,
  selfApproval: (who: string) => `${who} is running this release: an approver must be someone else`,
  otherRun: (signed: string, run: string) => `signed for run ${signed}, not ${run}`,
  otherStep: (signed: string, step: string) => `signed for step ${signed}, the run waits before ${step}`,
  otherSources: (file: string) => `signed for another version of ${file}: ${file === ALLOWED_SIGNERS_FILE ? "the allowed-signers file" : "the runbook"} changed since`,
  otherPlan: (signed: string, now: string) => `signed for plan ${signed.slice(0, 12)}…, this run's plan is ${now.slice(0, 12)}… (its params or values differ)`,
  stale: (time: string, maxMs: number) => `signed at ${time}, longer ago than the ${formatAge(maxMs)} an approval holds`,
  future: (time: string) => `signed at ${time}, in the future by this machine's clock`,
  signersMissing: (file: string) => `the allowed-signers file ${file} is not there: no approval can be checked without it; put it back, then resume`,
  signersIsDirectory: (file: string) => `the allowed-signers file ${file} is a directory, not a file: no approval can be checked without it`,
  signersChanged: (file: string) => `${file} changed since the plan was made, and approvals are signed over it as it was: no approval can let this run go on; start a new run`,
  runnerUnknown: (key: string, file: string) =>
    `the key running the release (${key}) is not in ${file}: who runs it must be known, to tell them from the approvers; add the runner's key to allowed_signers, or pass --key with a key that is there`,
  planChanged: (began: string, now: string) =>
    `this run's plan changed since it began (plan ${began.slice(0, 12)}…, now ${now.slice(0, 12)}…: the runbook, a file it includes or allowed_signers differs); approvals are signed over the plan a run began with, so none could let it go on: start a new run`,
  runnerNeeded: (why: string) => `who runs the release must be known before anyone can approve it: ${why}`,
  waiting: (r: ApprovalRequest, approvedBy: string[], refused: string[] = []) =>
    `waiting for approval: ${approvedBy.length} of ${r.count} from "${r.group}" before step ${r.stepId}` +
    (approvedBy.length > 0 ? ` (approved by ${approvedBy.join(", ")})` : "") +
    (refused.length > 0 ? `; refused: ${refused.join("; ")}` : ""),
};

function formatAge(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
