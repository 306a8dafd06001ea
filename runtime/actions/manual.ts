// `manual "…"`: something the operator does by hand and says is done (or aborts),
// once for all the members of a group. A dry run asks nothing.

import { RunAborted } from "../step-errors.js";
import type { Handler } from "./context.js";

export const manualHandler: Handler<"manual"> = {
  describe: (a) => `manual: ${a.text}`,
  secrets: () => undefined,
  changes: false,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  run: (a, cx) =>
    cx.once(a, async () => {
      const { step } = cx;
      const text = a.text;
      const answer = await cx.ask(cx.interaction.manual(text, { plan: cx.plan, step, index: cx.plan.steps.indexOf(step) }));
      if (answer === "unanswerable") {
        cx.emit({ type: "manual", stepId: step.id, text, answer: "unanswered", by: "nobody" });
        throw new RunAborted(
          `step ${step.id} ('${step.title}') is manual ("${text}"), and nobody can say here that it is done (no terminal); pass ${cx.answerFlag()} to mark it done`,
          true,
        );
      }
      cx.emit({ type: "manual", stepId: step.id, text, answer, by: cx.answeredBy() });
      if (answer === "abort") throw new RunAborted(`aborted by the operator at the manual step ${step.id}`);
    }),
  dryRun: (a, cx) =>
    cx.once(a, async () => {
      cx.emit({ type: "manual", stepId: cx.step.id, text: a.text, answer: "unanswered", by: "dry-run" });
    }),
};
