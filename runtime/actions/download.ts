// `download REMOTE to LOCAL`: copies a file from the step's host to this machine.
// A dry run checks the file is there (or says which earlier step would make it).

import { resolve as resolvePath } from "node:path";
import { DryRunState } from "../dry-run.js";
import { StepFailure } from "../step-errors.js";
import { hostField, type Handler } from "./context.js";
import { makeDirs } from "../make-dirs.js";

export const downloadHandler: Handler<"download"> = {
  describe: (a) => `download ${a.from} to ${a.to}`,
  secrets: () => undefined,
  changes: true,
  unknownWhenFailed: true,
  changedDb: () => undefined,
  crash: () => undefined,
  async run(a, cx) {
    const to = resolvePath(cx.cwd, a.to);
    cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "download", description: `download ${a.from} to ${a.to}` });
    const { dirname } = await import("node:path");
    await makeDirs(dirname(to));
    await cx.driver.download(a.from, to);
  },
  async dryRun(a, cx) {
    const { step } = cx;
    const host = hostField(cx);
    const st = await cx.driver.stat(a.from);
    if (!st) {
      const by = cx.state.lastChange([DryRunState.hostKey(step.host)], step.id);
      if (!by) throw new StepFailure(`cannot download ${a.from}: no such file on ${cx.hostLabel ?? "this machine"}`);
      cx.emit({ type: "action", stepId: step.id, ...host, kind: "download", description: `would download ${a.from} to ${a.to} (unknown until step ${by} runs)` });
      cx.tally.pend({ stepId: step.id, what: `download ${a.from}`, why: `${a.from} does not exist yet: unknown until step ${by} runs` });
      return;
    }
    cx.tally.check();
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "download", description: `would download ${a.from} to ${a.to}` });
  },
};
