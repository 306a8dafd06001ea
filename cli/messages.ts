// The wording of the CLI's review features in one place: `diff` and `review`
// (git revisions, risks), and runs tied to a commit (`run --require-commit`).
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

/** The risks a diff calls out, ranked: the words for each (see docs/review.md). */
export const riskWords: { [K in RiskKind]: { title: string; explain: string } } = {
  "protection-removed": { title: "protection removed", explain: "`--yes` answers its confirmations again" },
  "confirm-removed": { title: "confirmation removed", explain: "nobody is asked any more" },
  "destructive-without-undo": { title: "destructive change without undo", explain: "a rollback cannot revert it" },
  "target-changed": { title: "protected target changed", explain: "the steps of a protected env run somewhere else" },
  "undo-removed": { title: "undo removed", explain: "a rollback cannot revert this step any more" },
};
