// `run "…" [as USER] [into NAME]`: a shell command on the step's host, under its
// supervisor (exactly once across a crash, but `as USER`), its output streamed
// and redacted; `into` keeps what it printed for later steps. A dry run shows the
// command with its values filled in, and reads its secrets as the run would.

import { showText } from "../plan.js";
import { formatDuration } from "../describe.js";
import { captureWords } from "../secret-wording.js";
import { capturedOutput } from "../late-values.js";
import { Interrupted, StepFailure } from "../step-errors.js";
import { hostField, type Handler } from "./context.js";
import { testPauseAfterChange } from "./test-pause.js";
import { into } from "./words.js";
import { secretsOfText } from "../secrets.js";
import { preflightWhat } from "../verdict.js";

export const runHandler: Handler<"run"> = {
  describe: (a) => `$ ${showText(a.command)}${a.as ? `   (as ${a.as})` : ""}${into(a.into)}`,
  secrets: (a, use) => use.text(a.command),
  changes: true,
  unknownWhenFailed: true,
  changedDb: () => undefined,
  crash: (a) => (a.as === undefined ? undefined : `run as ${a.as}: it has no supervisor (its status files would not be runbook's)`),
  async run(a, cx) {
    const { step } = cx;
    const asUser = a.as;
    const host = hostField(cx);
    const shown = `$ ${showText(a.command)}${asUser ? `   (as ${asUser})` : ""}`;
    const { code, values } = cx.secrets.bind(a.command);
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "run", description: shown });
    const out = cx.redaction.stream();
    const err = cx.redaction.stream();
    const emitOut = (stream: "stdout" | "stderr", chunk: string) => {
      // What a command captures into a secret is the secret: none of its stdout is shown.
      if (chunk && !(stream === "stdout" && a.into?.secret)) cx.emit({ type: "output", stepId: step.id, ...host, stream, text: chunk });
    };
    const timeoutMs = cx.remaining();
    const watch = cx.watchCommand();
    let stdout = "";
    const onStdout = (c: string) => {
      if (a.into) stdout += c;
      emitOut("stdout", out.push(c));
    };
    const onStderr = (c: string) => emitOut("stderr", err.push(c));
    const sup = cx.supervision.next(step.id, cx.driver, cx.hostLabel, asUser, cx.driver.local === true);
    // Resume: an earlier attempt that ran to its end is not run again, one still running is followed.
    const earlier = sup && (await cx.supervision.earlier(step.id, cx.hostLabel, sup, { onStdout, onStderr, signal: cx.signal }));
    // Its end is seen now: the journal's record of the earlier attempt's command goes.
    if (earlier && !earlier.aborted) watch.endedEarlier();
    const res =
      earlier ||
      (await cx.supervision.exec(cx.driver, code, sup, {
        values,
        onStdout,
        onStderr,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        signal: cx.signal,
        ...(asUser ? { asUser } : {}),
        onStarted: watch.started,
      }));
    await testPauseAfterChange();
    watch.ended();
    emitOut("stdout", out.end());
    emitOut("stderr", err.end());
    if (res.aborted) throw new Interrupted();
    if (res.timedOut) throw new StepFailure(`timed out after ${formatDuration(step.timeoutMs ?? timeoutMs ?? 0)}: the command was ended`, res.exitCode, res.signal);
    if (res.exitCode !== 0) {
      if (res.exitCode === null) throw new StepFailure(`the command was killed by ${res.signal ?? "a signal"}`, null, res.signal);
      throw new StepFailure(`the command exited with status ${res.exitCode}`, res.exitCode, res.signal);
    }
    if (a.into) cx.capture(a.into, capturedOutput(stdout));
  },
  async dryRun(a, cx) {
    const shown = `$ ${showText(a.command)}${a.as ? `   (as ${a.as})` : ""}`;
    cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "run", description: `would run: ${shown}${a.into ? captureWords.wouldCapture(a.into) : ""}` });
    // Its secrets are read as the run would read them here: one that cannot be read fails the step, as it would.
    const settled = secretsOfText(a.command).filter((name) => cx.tally.settle(preflightWhat("secret", name)));
    cx.secrets.bind(a.command);
    for (const _ of settled) cx.tally.check();
  },
};
