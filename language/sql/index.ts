// The SQL dialects by engine name: the one lookup every per-engine difference goes through.

import type { SqlDialect } from "./dialect.js";
import type { Engine } from "./engine.js";
import { mysql } from "./mysql.js";
import { sqlite } from "./sqlite.js";

export type { Engine } from "./engine.js";
export type { SqlDialect } from "./dialect.js";

export const DIALECTS: { readonly [E in Engine]: SqlDialect } = { sqlite, mysql };

export function dialectOf(engine: Engine): SqlDialect {
  return DIALECTS[engine];
}
