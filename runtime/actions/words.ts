// Small pieces of wording the action handlers' descriptions share.

import type { Capture } from "../plan.js";

/** Where a captured value goes: `   → into revision` (`into secret token`: never shown). */
export const into = (c: Capture | undefined): string => (c ? `   → into ${c.secret ? "secret " : ""}${c.name}` : "");

/** `tables [a, b]` when an action names its tables. */
export const tablesWords = (tables: string[] | undefined): string => (tables ? ` tables [${tables.join(", ")}]` : "");
