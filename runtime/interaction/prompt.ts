// A plain terminal prompt (node:readline) for `run --no-tui` when stdin is a
// terminal: y/n for confirmations, d/a for manual steps, retry / skip / rollback
// / abort when a step fails, y/n to rerun an interrupted step. Questions go to
// stderr so they never mix into stdout (the plain log or NDJSON). Each question
// opens its own readline and closes it after the answer, so between questions
// the terminal is left alone and Ctrl-C reaches the run as a signal. Flags still
// answer first: wrap it with withFlags(). Control characters in the questions'
// text are shown escaped (escape-controls.ts).

import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { FailureChoice, Interaction, StepChoice } from "../events.js";
import { escapeControls } from "../views/escape-controls.js";

export interface PromptStreams {
  input: Readable & { isTTY?: boolean };
  output: Writable;
}

/** Asks one question; undefined when the input ended (nobody can answer). */
export function askLine(streams: PromptStreams, question: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: streams.input, output: streams.output, terminal: Boolean(streams.input.isTTY) });
    let answered = false;
    let interrupted = false;
    rl.on("SIGINT", () => {
      // The readline owns the terminal while it asks: pass Ctrl-C on to the run. The
      // question is left unanswered, not "nobody can answer": the run's Ctrl-C handler
      // stops it (the executor gives up on a question when the run is interrupted), and
      // is called at once, so the interrupt lands on this step, not on the next one.
      interrupted = true;
      streams.output.write("\n");
      rl.close();
      if (process.listenerCount("SIGINT") > 0) process.emit("SIGINT", "SIGINT");
      else process.kill(process.pid, "SIGINT");
    });
    rl.on("close", () => {
      if (!answered && !interrupted) resolve(undefined);
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer.trim());
    });
  });
}

/** Asks until one of `choices` (first letters or whole words) is given. */
async function choose<T extends string>(streams: PromptStreams, question: string, choices: Record<string, T>): Promise<T | undefined> {
  for (;;) {
    const a = await askLine(streams, question);
    if (a === undefined) return undefined;
    const hit = choices[a.toLowerCase()];
    if (hit !== undefined) return hit;
    streams.output.write(`  please answer ${Object.keys(choices).filter((k) => k.length === 1).join("/")}\n`);
  }
}

export function promptInteraction(streams: PromptStreams): Interaction {
  const yn = (q: string) => choose(streams, q, { y: "y", yes: "y", n: "n", no: "n" } as Record<string, "y" | "n">);
  return {
    async beforeStep(): Promise<StepChoice> {
      return "run";
    },
    async confirm(question, ctx) {
      const where = ctx.step ? `[${ctx.step.id}] ` : `[env ${ctx.plan.env}] `;
      const a = await yn(`${where}${escapeControls(question)} [y/n] `);
      return a === undefined ? "unanswerable" : a === "y";
    },
    async manual(text, ctx) {
      streams.output.write(`[${ctx.step.id}] manual step: ${escapeControls(text)}\n`);
      const a = await choose(streams, `[${ctx.step.id}] done, or abort the run? [d/a] `, { d: "done", done: "done", a: "abort", abort: "abort" } as Record<
        string,
        "done" | "abort"
      >);
      return a ?? "unanswerable";
    },
    async onFailure(error, ctx) {
      streams.output.write(`[${ctx.step.id}] failed: ${escapeControls(error)}\n`);
      const a = await choose<FailureChoice>(streams, `[${ctx.step.id}] [r]etry, [s]kip, roll[b]ack or [a]bort? `, {
        r: "retry",
        retry: "retry",
        s: "skip",
        skip: "skip",
        b: "rollback",
        rollback: "rollback",
        a: "abort",
        abort: "abort",
      });
      return a ?? "unanswerable";
    },
    async rerunInterrupted(ctx) {
      const a = await yn(`[${ctx.step.id}] '${escapeControls(ctx.step.title)}' was interrupted when the run stopped. Run it again? [y/n] `);
      return a === undefined ? "unanswerable" : a === "y";
    },
  };
}
