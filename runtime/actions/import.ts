// `import DB from FILE`: loads a file written by `export` into a database, in one
// transaction, once for all the members of a group. A dry run checks the file is there
// and, for a csv backup, its manifest and files (as the import does before it starts).

import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import * as data from "../data.js";
import { DryRunState } from "../dry-run.js";
import { StepFailure } from "../step-errors.js";
import { DriverError } from "../drivers/driver.js";
import type { ActionOf, Handler } from "./context.js";
import { dataEvents, tableCounts } from "./data-common.js";

const describe = (a: ActionOf<"import">): string => `import ${a.db} from ${a.from}`;

export const importHandler: Handler<"import"> = {
  describe,
  secrets: (a, use) => use.db(a.db),
  changes: true,
  unknownWhenFailed: false,
  changedDb: (a) => a.db,
  crash: () => `it may have committed when runbook died, and its database holds no marker of it`,
  run: (a, cx) =>
    cx.once(a, async () => {
      const ev = dataEvents("import", cx);
      ev.action(describe(a));
      const db = await cx.db(a.db);
      const r = await data.importFile(db, resolvePath(cx.cwd, a.from), { onProgress: ev.onProgress });
      ev.summary(`imported ${tableCounts(r.tables)} into ${a.db}`);
    }),
  dryRun: (a, cx) =>
    cx.once(a, async () => {
      const ev = dataEvents("import", cx);
      if (!existsSync(resolvePath(cx.cwd, a.from))) {
        const by = cx.state.lastChange([DryRunState.hostKey(undefined)], cx.step.id);
        if (!by) throw new StepFailure(`cannot import ${a.from}: no such file`);
        ev.action(`would import ${a.from} into ${a.db} (the file does not exist yet: unknown until step ${by} runs)`);
        cx.tally.pend({ stepId: cx.step.id, what: `import ${a.from}`, why: `the file does not exist yet: unknown until step ${by} runs` });
        return;
      }
      // What the import checks before it touches the database is checked here too: a
      // damaged backup is a failure of the dry run, not a "would import".
      let backup: data.TableCount[] | undefined;
      try {
        backup = await data.checkImport(resolvePath(cx.cwd, a.from));
      } catch (e) {
        if (e instanceof DriverError) throw new StepFailure(cx.redact(e.message));
        throw e;
      }
      ev.action(
        backup === undefined
          ? `would import ${a.from} into ${a.db}`
          : `would import ${a.from} into ${a.db}: a csv backup of ${tableCounts(backup)}, its manifest and files checked`,
      );
    }),
};
