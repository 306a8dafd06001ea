// `sync DB from ENV.DB [tables […]]`: replaces a database's data with another
// env's, once for all the members of a group; refused in a protected env. A dry
// run shows the source's row counts.

import * as data from "../data.js";
import { StepFailure } from "../step-errors.js";
import type { ActionContext, ActionOf, Handler } from "./context.js";
import { dataEvents, dryCounts, tableCounts } from "./data-common.js";
import { tablesWords } from "./words.js";

const describe = (a: ActionOf<"sync">): string => `sync ${a.db} from ${a.fromEnv}.${a.fromDb}${tablesWords(a.tables)}`;

function refuseProtected(a: ActionOf<"sync">, cx: ActionContext): void {
  if (cx.plan.protected) throw new StepFailure(`refusing to sync into ${a.db}: the ${cx.plan.env} env is protected`);
}

export const syncHandler: Handler<"sync"> = {
  describe,
  secrets: (a, use) => {
    use.db(a.db);
    use.foreign(`${a.fromEnv}.${a.fromDb}`);
  },
  changes: true,
  unknownWhenFailed: false,
  changedDb: (a) => a.db,
  crash: () => `it may have committed when runbook died, and its database holds no marker of it`,
  run: (a, cx) =>
    cx.once(a, async () => {
      refuseProtected(a, cx);
      const ev = dataEvents("sync", cx);
      const source = await cx.db(`${a.fromEnv}.${a.fromDb}`);
      const target = await cx.db(a.db);
      ev.action(describe(a));
      const r = await data.syncTables(source, target, a.tables, { onProgress: ev.onProgress });
      ev.summary(`copied ${tableCounts(r.tables)} from ${a.fromEnv}.${a.fromDb}${r.skipped.length ? ` (left alone, not in both: ${r.skipped.join(", ")})` : ""}`);
    }),
  dryRun: (a, cx) =>
    cx.once(a, async () => {
      refuseProtected(a, cx);
      const counts = await dryCounts(`${a.fromEnv}.${a.fromDb}`, a.tables, cx);
      dataEvents("sync", cx).action(`would replace the data of ${a.db}${tablesWords(a.tables)} with ${a.fromEnv}.${a.fromDb}'s: ${counts}`);
    }),
};
