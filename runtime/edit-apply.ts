// What an `edit`'s replacements do to a file's text, apart from reading and writing it:
// each `replace` must find its old text (exactly once, or at least once for `replace
// all`), except when its result is already there — the new text is in the file and the
// old text is nowhere outside it — which is "already applied" (a resumed or re-run
// release passes), not a failure. The executor reads, writes and reports; this decides.

export interface EditReplace {
  old: string;
  new: string;
  all: boolean;
}

export type ReplaceOutcome =
  | { kind: "replaced"; count: number }
  | { kind: "already-applied" }
  | { kind: "missing" }
  | { kind: "ambiguous"; count: number }
  | { kind: "empty" };

export interface EditResult {
  after: string;
  /** One outcome per replace, in order; the first that is a problem stops the walk. */
  outcomes: ReplaceOutcome[];
}

export function occurrences(text: string, needle: string): number {
  if (needle === "") return 0;
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Whether `text` already holds the replacement's result: its new text, and its old text only inside the new one. */
export function alreadyApplied(text: string, r: EditReplace): boolean {
  if (r.new === "" || occurrences(text, r.new) === 0) return false;
  return occurrences(text.split(r.new).join("\u0000"), r.old) === 0;
}

export function applyReplaces(before: string, replaces: readonly EditReplace[]): EditResult {
  let after = before;
  const outcomes: ReplaceOutcome[] = [];
  for (const r of replaces) {
    if (r.old === "") {
      outcomes.push({ kind: "empty" });
      break;
    }
    if (alreadyApplied(after, r)) {
      outcomes.push({ kind: "already-applied" });
      continue;
    }
    const count = occurrences(after, r.old);
    if (count === 0) {
      outcomes.push({ kind: "missing" });
      break;
    }
    if (!r.all && count > 1) {
      outcomes.push({ kind: "ambiguous", count });
      break;
    }
    const at = after.indexOf(r.old);
    after = r.all ? after.split(r.old).join(r.new) : after.slice(0, at) + r.new + after.slice(at + r.old.length);
    outcomes.push({ kind: "replaced", count });
  }
  return { after, outcomes };
}

/** The wording of what an edit reports. */
export const editWords = {
  alreadyApplied: (path: string, shownNew: string, host: string | undefined) =>
    `edit ${path}${host !== undefined ? ` on ${host}` : ""}: already applied (${shownNew} is there and the text it replaces is not)`,
  missing: (shownOld: string, path: string) => `${shownOld} is not in ${path}`,
};
