// `export DB [tables […]] to FILE format F`: writes a database's tables to a local
// file, once for all the members of a group. A dry run shows the row counts.

import { resolve as resolvePath } from "node:path";
import * as data from "../data.js";
import type { ActionOf, Handler } from "./context.js";
import { dataEvents, dryCounts, tableCounts } from "./data-common.js";
import { tablesWords } from "./words.js";

const describe = (a: ActionOf<"export">): string => `export ${a.db}${tablesWords(a.tables)} to ${a.to} (format ${a.format})`;

export const exportHandler: Handler<"export"> = {
  describe,
  secrets: (a, use) => use.db(a.db),
  changes: false,
  unknownWhenFailed: false,
  changedDb: () => undefined,
  crash: () => undefined,
  run: (a, cx) =>
    cx.once(a, async () => {
      const ev = dataEvents("export", cx);
      const db = await cx.db(a.db);
      const to = resolvePath(cx.cwd, a.to);
      ev.action(describe(a));
      const r = await data.exportTables(db, a.tables, to, a.format, { runId: cx.runId, onProgress: ev.onProgress, onWarning: ev.warning });
      ev.summary(`exported ${tableCounts(r.tables)} to ${a.to}`);
    }),
  dryRun: (a, cx) =>
    cx.once(a, async () => {
      const counts = await dryCounts(a.db, a.tables, cx);
      dataEvents("export", cx).action(`would export ${a.db}${tablesWords(a.tables)} to ${a.to} (format ${a.format}): ${counts}`);
    }),
};
