// `require COND [else "…"]`: checked by the executor before anything else of its
// step runs (runOn), so running it here does nothing.

import { describeCond } from "../describe.js";
import type { Handler } from "./context.js";

export const requireHandler: Handler<"require"> = {
  describe: (a) => `require ${describeCond(a.cond)}${a.else ? ` else ${JSON.stringify(a.else)}` : ""}`,
  secrets: (a, use) => use.cond(a.cond),
  changes: false,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  run: async () => undefined,
  dryRun: async () => undefined,
};
