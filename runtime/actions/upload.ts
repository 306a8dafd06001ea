// `upload LOCAL to REMOTE` copies a local file to the step's host; `upload
// template` fills the local file's `${…}` first (template.ts), shows the diff
// against the file there now, and is recorded so a rollback puts the old file back
// (or removes the one it made). A dry run checks the local file and shows the diff.

import { resolve as resolvePath } from "node:path";
import { DryRunState } from "../dry-run.js";
import type { HostDriver } from "../drivers/driver.js";
import { SecretError } from "../secrets.js";
import { templateWords } from "../secret-wording.js";
import { renderTemplate, TemplateError, templateLookup } from "../template.js";
import { shellValueName } from "../../language/value-placement.js";
import { StepFailure } from "../step-errors.js";
import { hostField, type ActionContext, type ActionOf, type Handler } from "./context.js";
import { fileDiff } from "./file-diff.js";

const describe = (a: ActionOf<"upload">): string => `upload ${a.template ? "template " : ""}${a.from} to ${a.to}`;

export const uploadHandler: Handler<"upload"> = {
  describe,
  secrets: () => undefined,
  changes: true,
  unknownWhenFailed: true,
  changedDb: () => undefined,
  crash: () => undefined,
  async run(a, cx) {
    if (a.template) return uploadTemplate(a, cx, false);
    cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "upload", description: `upload ${a.from} to ${a.to}` });
    await cx.driver.upload(resolvePath(cx.cwd, a.from), a.to);
  },
  async dryRun(a, cx) {
    if (a.template) return uploadTemplate(a, cx, true);
    const { step } = cx;
    const host = hostField(cx);
    const from = resolvePath(cx.cwd, a.from);
    const { existsSync } = await import("node:fs");
    if (!existsSync(from)) {
      const by = cx.state.lastChange([DryRunState.hostKey(undefined)], step.id);
      if (!by) throw new StepFailure(`cannot upload ${a.from}: no such file`);
      cx.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would upload ${a.from} to ${a.to} (${a.from} does not exist yet: unknown until step ${by} runs)` });
      cx.tally.pend({ stepId: step.id, what: `upload ${a.from}`, why: `${a.from} does not exist yet: unknown until step ${by} runs` });
      return;
    }
    await cx.driver.upload(from, a.to);
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would upload ${a.from} to ${a.to}` });
  },
};

/** `upload template`: fills the local file's `${…}`, shows the diff against the file there now, writes it; undone by putting the old file back. */
async function uploadTemplate(a: ActionOf<"upload">, cx: ActionContext, dry: boolean): Promise<void> {
  const { step, driver } = cx;
  const host = hostField(cx);
  const what = `upload template ${a.from}`;
  const { readFile, stat } = await import("node:fs/promises");
  const from = resolvePath(cx.cwd, a.from);
  let source: string;
  let mode: number;
  try {
    source = await readFile(from, "utf8");
    mode = (await stat(from)).mode & 0o777;
  } catch {
    const by = dry ? cx.state.lastChange([DryRunState.hostKey(undefined)], step.id) : undefined;
    if (!by) throw new StepFailure(templateWords.noSource(a.from));
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would ${describe(a)} (${templateWords.notYet(a.from, by)})` });
    cx.tally.pend({ stepId: step.id, what, why: templateWords.notYet(a.from, by) });
    return;
  }
  let content: string;
  const pending: string[] = [];
  try {
    const lookup = templateLookup(cx.plan, cx.runId, cx.late(), dry ? (why) => pending.push(why) : undefined);
    content = cx.secrets.materialize(renderTemplate(source, a.from, lookup));
  } catch (e) {
    if (e instanceof TemplateError) throw new StepFailure(e.message);
    if (!(dry && e instanceof SecretError)) throw e;
    const why = cx.redact(e.message);
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `would ${describe(a)}: diff unknown (${why})` });
    cx.tally.notVerify({ stepId: step.id, what, why });
    return;
  }
  const st = await driver.stat(a.to);
  if (st?.isDirectory) throw new StepFailure(templateWords.isDirectory(a.to, cx.hostLabel ?? "this machine"));
  const original = st ? await driver.readFile(a.to) : null;
  const written = Buffer.from(content, "utf8");
  if (dry && pending.length > 0) cx.tally.pend({ stepId: step.id, what, why: cx.redact(pending.join("; ")) });
  else if (dry) cx.tally.check();
  if (original?.equals(written)) {
    cx.emit({ type: "note", stepId: step.id, text: templateWords.same(a.to, cx.hostLabel) });
    return;
  }
  cx.emit({ type: "action", stepId: step.id, ...host, kind: "upload", description: `${dry ? "would " : ""}${describe(a)}` });
  cx.emit({ type: "diff", stepId: step.id, ...host, path: a.to, diff: fileDiff(a.to, original?.toString("utf8") ?? "", content, dry) });
  await driver.writeFile(a.to, written, original ? undefined : { mode });
  if (!dry) cx.edits.push({ host: driver, ...(cx.hostLabel !== undefined ? { hostLabel: cx.hostLabel } : {}), path: a.to, original, written });
}

/** Removes a file a templated upload made (a rollback): its path is a value, never code. */
export async function removeUploaded(host: HostDriver, path: string, signal: AbortSignal): Promise<void> {
  const res = await host.exec(`rm -f -- "\${${shellValueName(0)}}"`, { values: [path], signal });
  if (res.exitCode !== 0) throw new StepFailure(templateWords.notRemoved(path, res.exitCode));
}
