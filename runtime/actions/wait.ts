// `wait until COND every D [timeout T]`: checks the condition at once, then every
// D, failing the step when the timeout (or the step's own) runs out. A dry run
// checks it once and says whether it holds now.

import { describeCond, formatDuration } from "../describe.js";
import { Interrupted, sleep, StepFailure } from "../step-errors.js";
import { hostField, type Handler } from "./context.js";

export const waitHandler: Handler<"wait"> = {
  describe: (a) => `wait until ${describeCond(a.cond)} every ${formatDuration(a.everyMs)}${a.timeoutMs !== undefined ? ` timeout ${formatDuration(a.timeoutMs)}` : ""}`,
  secrets: (a, use) => use.cond(a.cond),
  changes: false,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  async run(a, cx) {
    const limit = a.timeoutMs !== undefined ? ` (at most ${formatDuration(a.timeoutMs)})` : "";
    cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "wait", description: `waiting until ${a.source}, checking every ${formatDuration(a.everyMs)}${limit}` });
    // Checked at once, then every `everyMs`; with a timeout, checked one last time when
    // it runs out, so a condition that comes true in the last interval is still seen.
    const giveUpAt = a.timeoutMs !== undefined ? Date.now() + a.timeoutMs : undefined;
    for (;;) {
      const r = await cx.evalCond(a.cond, true);
      if (r.value === true) return;
      const now = Date.now();
      if (giveUpAt !== undefined && now >= giveUpAt) {
        throw new StepFailure(`${a.source} still did not hold after ${formatDuration(a.timeoutMs!)}`);
      }
      let pause = a.everyMs;
      if (giveUpAt !== undefined) pause = Math.min(pause, giveUpAt - now);
      const left = cx.remaining();
      if (left !== undefined) pause = Math.min(pause, left);
      try {
        await sleep(pause, cx.signal);
      } catch {
        throw new Interrupted();
      }
      cx.remaining();
    }
  },
  async dryRun(a, cx) {
    const limit = a.timeoutMs !== undefined ? ` (at most ${formatDuration(a.timeoutMs)})` : "";
    const r = await cx.evalCond(a.cond, true);
    cx.tallyCond(`wait until ${a.source}`, r);
    const now = r.value === "unknown" ? `unknown now (${r.reason})` : r.value ? "it holds now" : "it does not hold now";
    cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "wait", description: `would wait until ${a.source}, checking every ${formatDuration(a.everyMs)}${limit}: ${now}` });
  },
};
