// Where the plain log and NDJSON write (each gives it one string per event, so a
// chunk of command output is one write however many lines it holds): stdout, in
// order.
// - Backpressure. On a pipe, Node writes stdout asynchronously and queues what
//   the reader has not taken yet, without limit (and process.exit() drops the
//   queue). The sink switches such a stream to blocking writes, as Node already
//   does for terminals and files: a slow reader slows the run down (the step's
//   own output pipe fills and its command waits), memory stays flat, and nothing
//   is lost on exit. A stream that still says "full" (write() returns false: one
//   without a blocking mode) gets the text that follows as one string when it
//   drains, so the order holds and its queue has a few large entries, not one per
//   event.
// - Errors. A reader that goes away (`runbook run … | head`: EPIPE) must not
//   crash the run halfway through a step with a stack trace and a stale lock: the
//   sink reports it once (onError), drops what follows, and the run goes on.

import type { Writable } from "node:stream";

export interface OutputSink {
  /** Writes text after everything written before it. */
  write(text: string): void;
}

export interface OutputSinkOptions {
  /** Called once, with the stream's error, when writing fails; later text is dropped. */
  onError?: (error: Error) => void;
}

/** The stream's libuv handle, for pipes and sockets (process.stdout on a pipe). */
type WithHandle = { _handle?: { setBlocking?: (blocking: boolean) => unknown } };

/** Makes a pipe or socket stream write synchronously, like a terminal or a file; other streams are left as they are. */
export function blockingWrites(out: Writable): void {
  const handle = (out as Writable & WithHandle)._handle;
  if (typeof handle?.setBlocking !== "function") return;
  try {
    handle.setBlocking(true);
  } catch {
    // not a stream libuv can switch: it stays asynchronous, and the drain logic below applies
  }
}

export function createOutputSink(out: Writable, options: OutputSinkOptions = {}): OutputSink {
  blockingWrites(out);
  /** Text held while the stream is full, in order. */
  let held: string[] = [];
  let full = false;
  let failed = false;

  const onDrain = () => {
    full = false;
    if (held.length > 0) {
      const text = held.length === 1 ? held[0]! : held.join("");
      held = [];
      send(text);
    }
  };
  const send = (text: string) => {
    if (out.write(text)) return;
    full = true;
    out.once("drain", onDrain);
  };
  // A listener stays for the stream's life: a later write (the run's summary line)
  // to a closed pipe must not become an uncaught 'error' either.
  out.on("error", (error: Error) => {
    if (failed) return;
    failed = true;
    held = [];
    out.off("drain", onDrain);
    options.onError?.(error);
  });

  return {
    write(text) {
      if (failed || text === "") return;
      if (full) held.push(text);
      else send(text);
    },
  };
}
