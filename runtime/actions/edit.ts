// `edit PATH { replace "old" with "new" … }`: each replacement must match exactly
// once (or be already applied); the file is written once, exactly once across a
// crash (a marker says what it holds once edited), and recorded for a rollback to
// restore. A dry run reads the file and shows the unified diff it would make.

import { DryRunState } from "../dry-run.js";
import { showText } from "../plan.js";
import { editAppliedText } from "../journal-errors.js";
import { applyReplaces, editWords } from "../edit-apply.js";
import { StepFailure } from "../step-errors.js";
import { templateWords } from "../secret-wording.js";
import { hostField, type ActionContext, type ActionOf, type EditRecord, type Emit, type Handler } from "./context.js";
import { fileDiff } from "./file-diff.js";
import { removeUploaded } from "./upload.js";
import { testPauseAfterChange } from "./test-pause.js";

const describe = (a: ActionOf<"edit">): string =>
  [`edit ${a.path}`, ...a.replaces.map((r) => `  replace${r.all ? " all" : ""} ${JSON.stringify(showText(r.old))} with ${JSON.stringify(showText(r.new))}`)].join("\n");

export const editHandler: Handler<"edit"> = {
  describe,
  secrets: (a, use) => {
    for (const r of a.replaces) {
      use.text(r.old);
      use.text(r.new);
    }
  },
  changes: true,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  run: (a, cx) => edit(a, cx, false),
  async dryRun(a, cx) {
    if (!cx.probe) {
      cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "edit", description: `would ${describe(a)} (file not read: --no-probe)` });
      cx.tally.notVerify({ stepId: cx.step.id, what: `edit ${a.path}`, why: "the file was not read (--no-probe)" });
      return;
    }
    return edit(a, cx, true);
  },
};

/**
 * The edit itself; in a dry run the same reading and matching, with what an earlier
 * step would have changed making the outcome unknown instead of a failure, and nothing written.
 */
async function edit(a: ActionOf<"edit">, cx: ActionContext, dry: boolean): Promise<void> {
  const { step, driver } = cx;
  const host = hostField(cx);
  const where = cx.hostLabel ?? "this machine";
  const unknownBy = () => (dry ? cx.state.lastChange([DryRunState.hostKey(step.host)], step.id) : undefined);
  let st: Awaited<ReturnType<typeof driver.stat>>;
  try {
    st = await driver.stat(a.path);
  } catch (err) {
    if (!dry) throw err;
    const reason = cx.redact(err instanceof Error ? err.message : String(err));
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `would ${describe(a)}: diff unknown (cannot read the file: ${reason})` });
    cx.tally.notVerify({ stepId: step.id, what: `edit ${a.path}`, why: `cannot read the file: ${reason}` });
    return;
  }
  if (!st || st.isDirectory) {
    const by = unknownBy();
    if (by && !st) {
      cx.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `edit ${a.path}: the file does not exist yet: unknown until step ${by} runs` });
      cx.tally.pend({ stepId: step.id, what: `edit ${a.path}`, why: `the file does not exist yet: unknown until step ${by} runs` });
      return;
    }
    throw new StepFailure(`cannot edit ${a.path} on ${where}: ${st ? "it is a directory" : "no such file"}`);
  }
  const original = await driver.readFile(a.path);
  // Exactly once across a crash: the marker written before the rename says what the file holds once edited.
  const marker = dry ? undefined : cx.supervision.editMarker(step.id, cx.hostLabel);
  if (marker && (await cx.supervision.editApplied(step.id, marker, original))) {
    cx.emit({ type: "note", stepId: step.id, ...host, text: editAppliedText(a.path) });
    return;
  }
  const before = original.toString("utf8");
  const replaces = a.replaces.map((r) => ({ old: cx.secrets.materialize(r.old), new: cx.secrets.materialize(r.new), all: r.all }));
  const { after, outcomes } = applyReplaces(before, replaces);
  for (const [i, o] of outcomes.entries()) {
    const shownOld = JSON.stringify(showText(a.replaces[i]!.old));
    if (o.kind === "replaced") continue;
    if (o.kind === "already-applied") {
      cx.emit({ type: "note", stepId: step.id, text: editWords.alreadyApplied(a.path, JSON.stringify(showText(a.replaces[i]!.new)), cx.hostLabel) });
      continue;
    }
    if (o.kind === "empty") throw new StepFailure(`cannot edit ${a.path}: replace "" (an empty text) matches everywhere`);
    const problem = o.kind === "missing" ? editWords.missing(shownOld, a.path) : `${shownOld} is in ${a.path} ${o.count} times (use \`replace all\` to change every one)`;
    const by = unknownBy();
    if (by) {
      cx.emit({ type: "action", stepId: step.id, ...host, kind: "edit", description: `edit ${a.path}: ${problem} now: unknown until step ${by} runs` });
      cx.tally.pend({ stepId: step.id, what: `edit ${a.path}`, why: `${problem} now: unknown until step ${by} runs` });
      return;
    }
    throw new StepFailure(`cannot edit ${a.path} on ${where}: ${problem}${o.kind === "missing" ? "" : "; each replace must match exactly once"}`);
  }
  const diff = fileDiff(a.path, before, after, dry);
  const written = Buffer.from(after, "utf8");
  if (dry) cx.tally.check();
  // Every replacement already applied: nothing to show, write or restore.
  if (after === before && outcomes.every((o) => o.kind === "already-applied")) return;
  cx.emit({ type: "diff", stepId: step.id, ...host, path: a.path, diff });
  if (marker && after !== before) await cx.supervision.markEdit(marker, written);
  if (after !== before) await driver.writeFile(a.path, written);
  if (dry) return;
  await testPauseAfterChange();
  // Recorded once written: a write that failed left the file as it was, with nothing to restore.
  cx.edits.push({ host: driver, ...(cx.hostLabel !== undefined ? { hostLabel: cx.hostLabel } : {}), path: a.path, original, written });
}

/** An edit that undoes one: its replaces reversed, each one's new text back to its old (a resumed run's rollback, whose originals are gone). */
export function reversedEdit(a: ActionOf<"edit">): ActionOf<"edit"> {
  return { ...a, replaces: [...a.replaces].reverse().map((r) => ({ old: r.new, new: r.old, all: r.all })) };
}

/** A rollback's undo of a file an edit (or a templated upload) wrote: the old content back, or the file it made removed. */
export async function restoreWritten(e: EditRecord, stepId: string, emit: Emit, signal: AbortSignal): Promise<void> {
  const host = e.hostLabel ? { host: e.hostLabel } : {};
  const now = await e.host.readFile(e.path).catch(() => undefined);
  if (now && !now.equals(e.written)) {
    emit({ type: "note", stepId, text: `${e.path} changed after this step edited it; restoring it as it was before the step anyway` });
  }
  if (e.original === null) {
    await removeUploaded(e.host, e.path, signal);
    emit({ type: "action", stepId, ...host, kind: "upload", description: templateWords.removed(e.path) });
    return;
  }
  await e.host.writeFile(e.path, e.original);
  emit({ type: "action", stepId, ...host, kind: "edit", description: `restored ${e.path}` });
}

/** The same in a dry run: said, not done. */
export async function dryRestoreWritten(e: EditRecord, stepId: string, emit: Emit): Promise<void> {
  emit({ type: "action", stepId, ...(e.hostLabel ? { host: e.hostLabel } : {}), kind: "edit", description: `would restore ${e.path}` });
}
