// `note "…"`: a line in the run's output, once for all the members of a group.

import type { Handler } from "./context.js";

export const noteHandler: Handler<"note"> = {
  describe: (a) => `note: ${a.text}`,
  secrets: () => undefined,
  changes: false,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  run: (a, cx) => cx.once(a, async () => cx.emit({ type: "note", stepId: cx.step.id, text: a.text })),
  dryRun: (a, cx) => cx.once(a, async () => cx.emit({ type: "note", stepId: cx.step.id, text: a.text })),
};
