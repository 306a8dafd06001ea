// What the data actions (export, import, sync) share: their events (the action,
// progress, a summary line) and the row counts a dry run shows.

import type { DatabaseDriver } from "../drivers/driver.js";
import type { DataProgress } from "../events.js";
import type * as data from "../data.js";
import { hostField, type ActionContext } from "./context.js";
import { dryDb } from "./sql.js";

export function dataEvents(kind: "export" | "import" | "sync", cx: ActionContext) {
  const host = hostField(cx);
  const stepId = cx.step.id;
  return {
    action: (description: string) => cx.emit({ type: "action", stepId, ...host, kind, description }),
    onProgress: (p: DataProgress) => cx.emit({ type: "progress", stepId, ...host, ...p }),
    warning: (text: string) => cx.emit({ type: "note", stepId, text }),
    summary: (message: string) => cx.emit({ type: "output", stepId, ...host, stream: "stdout", text: message.endsWith("\n") ? message : `${message}\n` }),
  };
}

/** Row counts for a dry run; a database that cannot be reached (or --no-probe) leaves them unknown instead of failing. */
export async function dryCounts(name: string, tables: string[] | undefined, cx: ActionContext): Promise<string> {
  if (!cx.probe) return "row counts not read (--no-probe)";
  const target = await dryDb(name, cx);
  return "why" in target ? `row counts unknown (${target.why})` : liveCounts(target.db, tables, cx);
}

async function liveCounts(db: DatabaseDriver, tables: string[] | undefined, cx: ActionContext): Promise<string> {
  try {
    const names = tables ?? (await db.tables());
    const parts: string[] = [];
    for (const t of names) {
      const q = db.engine === "mysql" ? `\`${t.replace(/`/g, "``")}\`` : `"${t.replace(/"/g, '""')}"`;
      const rows = await db.query(`SELECT COUNT(*) AS n FROM ${q}`);
      parts.push(`${t} (${String(Object.values(rows[0] ?? {})[0] ?? "?")} rows)`);
    }
    return parts.length ? parts.join(", ") : "no tables";
  } catch (e) {
    return `row counts unknown (${cx.redact(e instanceof Error ? e.message : String(e))})`;
  }
}

/** "2 tables, 10 rows (a 4, b 6)". */
export function tableCounts(tables: data.TableCount[]): string {
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const list = tables.map((t) => `${t.name} ${t.rows}`).join(", ");
  return `${tables.length} table${tables.length === 1 ? "" : "s"}, ${rows} row${rows === 1 ? "" : "s"}${tables.length ? ` (${list})` : ""}`;
}
