// The non-interactive Interaction: answers from command-line flags alone.
// - `--yes` answers confirmations and manual steps, except in a protected env.
// - `--approve STEP_ID` answers that step's confirmations and manual steps (in any
//   env, and the only way in a protected one); `--approve env` answers the env's
//   own confirmations.
// - `--yes` also says "rerun it" for a step found interrupted on resume.
// Anything else is "unanswerable": the executor fails the run at once with exit 3
// and names the flag that would have answered. Failures are never answered here:
// the executor applies `--on-failure stop|rollback` itself.
// withFlags() puts the flags in front of an interactive Interaction (the prompt
// or the UI): flags answer first, the person answers the rest.

import type { FailureChoice, Interaction, StepChoice, StepContext } from "../events.js";
import type { Plan, PlannedStep } from "../plan.js";

export interface FlagAnswers {
  yes?: boolean;
  approve?: string[];
}

/** An Interaction that can say who gave its last answer (journaled as `by`). */
export type AnsweringInteraction = Interaction & { lastAnsweredBy?: string };

/** The flag that answers a question about this step, or undefined. */
function flagFor(flags: FlagAnswers, plan: Plan, step: PlannedStep | undefined): string | undefined {
  const approve = flags.approve ?? [];
  if (step === undefined) {
    if (approve.includes("env")) return "--approve env";
  } else if (approve.includes(step.id)) return `--approve ${step.id}`;
  if (flags.yes && !plan.protected) return "--yes";
  return undefined;
}

export function flagInteraction(flags: FlagAnswers): AnsweringInteraction {
  const self: AnsweringInteraction = {
    async beforeStep(): Promise<StepChoice> {
      return "run";
    },
    async confirm(_question, ctx) {
      const flag = flagFor(flags, ctx.plan, ctx.step);
      if (!flag) return "unanswerable";
      self.lastAnsweredBy = flag;
      return true;
    },
    async manual(_text, ctx) {
      const flag = flagFor(flags, ctx.plan, ctx.step);
      if (!flag) return "unanswerable";
      self.lastAnsweredBy = flag;
      return "done";
    },
    async onFailure(): Promise<FailureChoice | "unanswerable"> {
      return "unanswerable";
    },
    async rerunInterrupted(ctx: StepContext) {
      const approve = flags.approve ?? [];
      if (flags.yes) self.lastAnsweredBy = "--yes";
      else if (approve.includes(ctx.step.id)) self.lastAnsweredBy = `--approve ${ctx.step.id}`;
      else return "unanswerable";
      return true;
    },
  };
  return self;
}

/** Flags answer first; what they cannot answer goes to `person` (a prompt or the UI). */
export function withFlags(flags: FlagAnswers, person: Interaction): AnsweringInteraction {
  const f = flagInteraction(flags);
  const self: AnsweringInteraction = {
    beforeStep: (ctx) => person.beforeStep(ctx),
    async confirm(question, ctx) {
      const a = await f.confirm(question, ctx);
      if (a !== "unanswerable") {
        self.lastAnsweredBy = f.lastAnsweredBy;
        return a;
      }
      self.lastAnsweredBy = "operator";
      return person.confirm(question, ctx);
    },
    async manual(text, ctx) {
      const a = await f.manual(text, ctx);
      if (a !== "unanswerable") {
        self.lastAnsweredBy = f.lastAnsweredBy;
        return a;
      }
      self.lastAnsweredBy = "operator";
      return person.manual(text, ctx);
    },
    async onFailure(error, ctx) {
      self.lastAnsweredBy = "operator";
      return person.onFailure(error, ctx);
    },
    async rerunInterrupted(ctx) {
      const a = await f.rerunInterrupted!(ctx);
      if (a !== "unanswerable") {
        self.lastAnsweredBy = f.lastAnsweredBy;
        return a;
      }
      self.lastAnsweredBy = "operator";
      return person.rerunInterrupted ? person.rerunInterrupted(ctx) : "unanswerable";
    },
  };
  return self;
}
