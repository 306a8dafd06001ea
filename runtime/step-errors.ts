// The errors that end an action inside a step, shared by the executor, the
// action handlers (runtime/actions/) and the conditions: a failure in plain
// words, an interruption (Ctrl-C), or a run the operator aborted.

/** The step failed: the message says why in plain words. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null = null,
    readonly signal: string | null = null,
    /** What the failing action itself left applied ("statement 1 of 2 (ALTER TABLE …)"). */
    readonly remains: string[] = [],
  ) {
    super(message);
  }
}

/** Ctrl-C (or an abort) ended the step. */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

/** The operator said no (confirm/manual/step-through), or nobody could answer: the run ends with exit 3. */
export class RunAborted extends Error {
  constructor(
    message: string,
    readonly unanswerable = false,
  ) {
    super(message);
  }
}

/** Waits ms, or ends with Interrupted when the signal aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Interrupted());
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Interrupted());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
