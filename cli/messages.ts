// The wording of the CLI's review features in one place: `diff` and `review`
// (git revisions, risks), runs tied to a commit (`run --require-commit`), and
// sign-off by someone else (`approve`, `show --approval-request`, `resume --approval`).
// Code decides by kinds and data, never by matching these texts.

import type { RiskKind } from "./risk.js";

export const cliMessages = {
  notInRepo: (ref: string) => `${ref}: not a file, and the working directory is not in a git repository`,
  unknownRevision: (ref: string, rev: string) => `${ref}: not a file, and git knows no revision \`${rev}\``,
  outsideRepo: (ref: string) => `${ref}: the path is outside the repository`,
  noSuchFile: (ref: string) => `${ref}: no such file`,
  absentBothSides: (oldRef: string, newRef: string) => `${oldRef} and ${newRef}: neither side has the runbook`,
  riskExit: (n: number) =>
    `${n} risk${n === 1 ? "" : "s"} found: exit 5 (give --accept-risk once a reviewer has accepted ${n === 1 ? "it" : "them"})`,
  reviewNoBase: (base: string) => `review: git knows no revision \`${base}\``,
  reviewNoMergeBase: (base: string, head: string) => `review: ${base} and ${head} share no history (no merge base)`,
  reviewNotInRepo: "review: the working directory is not in a git repository",
  reviewBadArg: (arg: string) => `review: ${arg} is neither a revision git knows nor a path (use -- before paths that do not exist)`,
  reviewTwoBases: (base: string, rev: string) => `review: --base ${base} and BASE ${rev} both given; give one`,
  requireCommitUnknown: (sha: string) => `--require-commit ${sha}: git knows no such commit`,
  requireCommitAbsent: (file: string, sha: string) => `--require-commit ${sha}: ${file} is not in that commit`,
  requireCommitDiffers: (file: string, sha: string) =>
    `--require-commit ${sha}: ${file} (with its includes) is not the runbook of that commit; refusing to run what was not reviewed`,
  requireCommitNotInRepo: (file: string) => `--require-commit: ${file} is not in a git repository`,
  dirtyInProtected: (file: string, env: string) =>
    `${file} (or a file it includes) has changes that are not committed, and env ${env} is protected: a protected env runs only what was committed (and reviewed); commit them, or give --allow-dirty`,
} as const;

/** `runbook approve` and its request and approval files (runtime/approvals.ts has the run's own checks). */
export const approveMessages = {
  requestNeedsOut: "--request needs --out FILE: without the run's journal the approval goes to a file",
  cannotReadRequest: (file: string, why: string) => `cannot read the approval request ${file}: ${why}`,
  notARequest: (file: string) => `${file} is not an approval request (\`runbook show RUN_ID --approval-request\` makes one)`,
  requestOfOtherRun: (file: string, runId: string, asked: string) => `${file} is the request of run ${runId}, not ${asked}`,
  nameTheRun: "name the run (`runbook approve RUN_ID`), or give --request FILE",
  noRun: (runId: string, journal: string) => `no run ${JSON.stringify(runId)} in the journal ${journal}`,
  notWaiting: (runId: string, status: string) => `run ${runId} is not waiting for approval (it is ${status})`,
  noRequest: (runId: string) => `run ${runId} has no approval request in the journal`,
  planNotRequested: (runId: string, digest: string, requested: string) =>
    `the plan of run ${runId} is not the one its request names (digest ${digest}, request ${requested}): not signing`,
  fileDiffers: (file: string, runId: string, here: string, there: string) =>
    `${file} here is not the one run ${runId} runs (sha256 ${here} here, ${there} in the run): not signing`,
  noSignersHere: (file: string) => `${file} is not here (or cannot be read): approve checks its own signature against it before storing one; approve from a checkout of the runbook`,
  notTheirKey: (who: string, group: string, why: string) =>
    `this key is not ${who}'s for group "${group}" in allowed_signers (ssh-keygen -Y verify: ${why}): nothing stored`,
  keyNotInGroup: (group: string) => `this key is not a member of "${group}" in allowed_signers`,
  keyIsSeveral: (principals: string[], group: string) => `this key is ${principals.join(", ")} in "${group}": choose with --as`,
  notInGroup: (who: string, group: string) => `${who} is not in group "${group}" in allowed_signers: the run would refuse this approval`,
  nobodyToAsk: "nobody can answer here (no terminal): pass --yes to sign",
  question: (runId: string, step: string, who: string) => `Sign off run ${runId} before step ${step} as ${who}? [y/N] `,
  notSigned: "not signed",
  writtenTo: (who: string, file: string, runId: string) => `Signed as ${who}; written to ${file}. The runner goes on with: runbook resume ${runId} --approval ${file}`,
  stored: (who: string, runId: string) => `Signed as ${who}; stored in the journal. The runner goes on with: runbook resume ${runId}`,
  notAnApproval: (file: string) => `${file} is not a signed approval (\`runbook approve --out\` writes one)`,
  cannotReadApproval: (file: string, why: string) => `cannot read the approval ${file}: ${why}`,
} as const;

/** The risks a diff calls out, ranked: the words for each (see docs/review.md). */
export const riskWords: { [K in RiskKind]: { title: string; explain: string } } = {
  "protection-removed": { title: "protection removed", explain: "`--yes` answers its confirmations again" },
  "confirm-removed": { title: "confirmation removed", explain: "nobody is asked any more" },
  "destructive-without-undo": { title: "destructive change without undo", explain: "a rollback cannot revert it" },
  "target-changed": { title: "protected target changed", explain: "the steps of a protected env run somewhere else" },
  "undo-removed": { title: "undo removed", explain: "a rollback cannot revert this step any more" },
};
