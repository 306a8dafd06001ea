// `confirm "…"`: a yes/no question to the operator, once for all the members of a
// group; no (or nobody to answer) aborts the run. A dry run asks nothing.

import { RunAborted } from "../step-errors.js";
import type { Handler } from "./context.js";

export const confirmHandler: Handler<"confirm"> = {
  describe: (a) => `confirm ${JSON.stringify(a.question)}`,
  secrets: () => undefined,
  changes: false,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  run: (a, cx) =>
    cx.once(a, async () => {
      const { step } = cx;
      const question = a.question;
      const answer = await cx.ask(cx.interaction.confirm(question, { plan: cx.plan, step }));
      if (answer === "unanswerable") {
        cx.emit({ type: "confirm", stepId: step.id, question, answer: "unanswered", by: "nobody" });
        throw new RunAborted(
          `step ${step.id} ('${step.title}') asks "${question}", and nobody can answer it here (no terminal); pass ${cx.answerFlag()} to answer it`,
          true,
        );
      }
      cx.emit({ type: "confirm", stepId: step.id, question, answer: answer ? "yes" : "no", by: cx.answeredBy() });
      if (!answer) throw new RunAborted(`aborted at step ${step.id}: the answer to "${question}" was no`);
    }),
  dryRun: (a, cx) =>
    cx.once(a, async () => {
      cx.emit({ type: "confirm", stepId: cx.step.id, question: a.question, answer: "unanswered", by: "dry-run", dryRun: true });
    }),
};
