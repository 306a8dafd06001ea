// The executor's questions as the UI holds them: each open question is a Dialog
// waiting for its answer, and what an abort answers to each kind.

import { assertNever } from "../../../language/assert.js";
import type { Dialog } from "./types.js";

export interface Pending {
  dialog: Dialog;
  resolve: (value: unknown) => void;
}

/** The answer that aborts: what a question closed by Ctrl-C or a confirmed quit gets. */
export function abortAnswer(d: Dialog): unknown {
  switch (d.kind) {
    case "step":
      return "abort";
    case "confirm":
      return false;
    case "manual":
      return "abort";
    case "failure":
      return "abort";
    case "rerun":
      return false;
    case "finished":
      return undefined;
    default:
      return assertNever(d, "dialog");
  }
}
