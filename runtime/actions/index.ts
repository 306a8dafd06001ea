// Every action kind's handler, in one table the compiler checks: a kind without
// its handler fails to compile (tests/compile/ proves it).

import type { Action } from "../plan.js";
import type { ActionContext, Handler } from "./context.js";
import { confirmHandler } from "./confirm.js";
import { downloadHandler } from "./download.js";
import { editHandler } from "./edit.js";
import { exportHandler } from "./export.js";
import { importHandler } from "./import.js";
import { manualHandler } from "./manual.js";
import { noteHandler } from "./note.js";
import { requireHandler } from "./require.js";
import { runHandler } from "./run.js";
import { sqlHandler } from "./sql.js";
import { syncHandler } from "./sync.js";
import { uploadHandler } from "./upload.js";
import { waitHandler } from "./wait.js";

export type Handlers = { [K in Action["kind"]]: Handler<K> };

export const HANDLERS: Handlers = {
  require: requireHandler,
  confirm: confirmHandler,
  manual: manualHandler,
  run: runHandler,
  edit: editHandler,
  upload: uploadHandler,
  download: downloadHandler,
  sql: sqlHandler,
  export: exportHandler,
  import: importHandler,
  sync: syncHandler,
  wait: waitHandler,
  note: noteHandler,
};

/** The handler of an action's kind, typed for that action. */
export function handlerOf<A extends Action>(a: A): Handler<A["kind"]> {
  return HANDLERS[a.kind] as unknown as Handler<A["kind"]>;
}

/** Runs an action (or, in a dry run, what it would do) through its kind's handler. */
export function runAction(a: Action, cx: ActionContext, dry: boolean): Promise<void> {
  const h = handlerOf(a) as Handler<Action["kind"]>;
  return dry ? h.dryRun(a as never, cx) : h.run(a as never, cx);
}
