// `sql DB "…" [into NAME]`: statements run in one transaction with their values
// bound (never spliced), a failing one named by its line in the runbook with what
// stays applied; `into` runs a read-only query and keeps its first value. A dry
// run shows each statement with the rows it would touch, where a COUNT can tell.

import { implicitCommitStatements, lexSql, statementsWithParams, type StatementWithParams } from "../../language/sql/lexer.js";
import type { Engine } from "../../language/sql/index.js";
import { StatementError, type DatabaseDriver } from "../drivers/driver.js";
import * as data from "../data.js";
import { showText, type Text } from "../plan.js";
import { captureWords } from "../secret-wording.js";
import { StepFailure } from "../step-errors.js";
import { hostField, oneLine, type ActionContext, type ActionOf, type Handler } from "./context.js";
import { into } from "./words.js";

export const sqlHandler: Handler<"sql"> = {
  describe: (a) => {
    const text = showText(a.sql).trim();
    const atOnce = implicitCommitStatements(text, a.engine).map((st) => st.text.split("\n")[0]);
    return `sql ${a.db}: ${text}${atOnce.map((head) => `\n  (commits at once: ${head})`).join("")}${into(a.into)}`;
  },
  secrets: (a, use) => {
    use.text(a.sql);
    use.db(a.db);
  },
  changes: true,
  unknownWhenFailed: false,
  changedDb: (a) => a.db,
  crash: () => `it may have committed when runbook died, and its database holds no marker of it`,
  async run(a, cx) {
    const { step } = cx;
    const host = hostField(cx);
    const shown = showText(a.sql).trim();
    const db = await cx.db(a.db);
    if (a.into) {
      // A read-only query (the checker saw to it): its first value is the captured one.
      cx.emit({ type: "action", stepId: step.id, ...host, kind: "sql", description: `sql ${a.db}: ${shown}` });
      const q = cx.secrets.bind(a.sql);
      const rows = await db.probe(q.code, q.values);
      const v = rows[0] === undefined ? undefined : Object.values(rows[0])[0];
      if (v === null || v === undefined) throw new StepFailure(captureWords.nothingToCapture(a.into, rows[0] === undefined ? "no row" : "NULL"));
      cx.capture(a.into, Buffer.isBuffer(v) ? v.toString("utf8") : v instanceof Date ? v.toISOString() : String(v));
      return;
    }
    cx.emit({ type: "action", stepId: step.id, ...host, kind: "sql", description: `sql ${a.db}: ${shown}` });
    const { code, values } = cx.secrets.bind(a.sql);
    const statements = statementsWithParams(code, values, db.engine);
    let affected: number[];
    try {
      affected = (await db.runStatements(statements.map((st) => ({ sql: st.text, params: st.params })))).affectedRows;
    } catch (e) {
      if (!(e instanceof StatementError)) throw e;
      const stays = e.applied.map((i) => `statement ${i + 1} of ${statements.length} of the sql (${oneLine(statements[i]!.text)}) stays applied`);
      throw new StepFailure(statementFailure(a, code, statements, e, cx), null, null, stays.map((x) => cx.redact(x)));
    }
    const n = affected.reduce((x, y) => x + y, 0);
    cx.emit({ type: "output", stepId: step.id, ...host, stream: "stdout", text: `${n} row${n === 1 ? "" : "s"} changed\n` });
  },
  async dryRun(a, cx) {
    const lines = await describeSql(await dryDb(a.db, cx), a.sql, cx);
    cx.emit({ type: "action", stepId: cx.step.id, ...hostField(cx), kind: "sql", description: `would run on ${a.db}:\n${lines}${a.into ? captureWords.wouldCapture(a.into) : ""}` });
  },
};

/**
 * Which statement of a `sql` failed (its place in the runbook, how it begins) and
 * what of the others stays: rolled back, or committed by the engine itself.
 */
function statementFailure(a: ActionOf<"sql">, code: string, statements: StatementWithParams[], e: StatementError, cx: ActionContext): string {
  const st = statements[e.index];
  const n = statements.length;
  if (!st) return cx.redact(e.message);
  const line = a.line + (code.slice(0, st.start).match(/\n/g)?.length ?? 0);
  const head = (s: StatementWithParams) => oneLine(s.text);
  const which = n === 1 ? `the statement (${a.span.file}:${line})` : `statement ${e.index + 1} of ${n} (${a.span.file}:${line}, ${head(st)})`;
  let rest = "";
  if (n > 1 || e.applied.length > 0) {
    rest =
      e.applied.length === 0
        ? e.index === 0
          ? "; nothing of this sql was applied"
          : `; ${e.index === 1 ? "statement 1 was" : `statements 1–${e.index} were`} rolled back: nothing of this sql stays applied`
        : `; ${e.applied.map((i) => `statement ${i + 1} of ${n} (${head(statements[i]!)})`).join(", ")} ${e.applied.length === 1 ? "stays" : "stay"} applied: MySQL commits DDL at once, with what came before it`;
  }
  return cx.redact(`${which} failed: ${e.message}${rest}`);
}

/**
 * A database for a dry run's row counts, or why it cannot be opened now (a secret not
 * set, a host not reachable, an SQLite file the run would create): the counts are then
 * unknown, never a failure.
 */
export async function dryDb(name: string, cx: ActionContext): Promise<{ db: DatabaseDriver } | { why: string }> {
  try {
    return { db: await cx.db(name) };
  } catch (err) {
    return { why: `cannot open ${name}: ${cx.redact(err instanceof Error ? err.message : String(err))}` };
  }
}

/** The dry-run view of SQL: each statement and the rows it would touch, where a read-only count can tell. */
async function describeSql(target: { db: DatabaseDriver } | { why: string }, sql: Text, cx: ActionContext): Promise<string> {
  const shown = showText(sql);
  const engine = "db" in target ? target.db.engine : "sqlite";
  let real: StatementWithParams[] | undefined;
  try {
    const { code, values } = cx.secrets.bind(sql);
    real = statementsWithParams(code, values, engine);
  } catch {
    real = undefined;
  }
  const described = data.describeSql(shown, engine);
  const lines = [`  ${described.summary}`];
  for (const [i, st] of described.statements.entries()) {
    let rows = "";
    const r = real?.[i];
    if (r && "why" in target) {
      if (countQuery(r.text, "sqlite")) rows = `   -- rows unknown (${target.why})`;
    } else if (r && "db" in target) {
      const db = target.db;
      const count = countQuery(r.text, db.engine);
      if (count) {
        try {
          // The count's `?` are the statement's last ones: its WHERE is the statement's end.
          const k = lexSql(count.sql, db.engine).filter((t) => t.kind === "param").length;
          const res = await db.probe(count.sql, k === 0 ? [] : r.params.slice(-k));
          const n = Object.values(res[0] ?? {})[0];
          rows = `   -- ${count.prefix}${String(n)} row${String(n) === "1" ? "" : "s"}`;
        } catch (e) {
          rows = `   -- rows unknown (${cx.redact(e instanceof Error ? e.message : String(e))})`;
        }
      }
    }
    const atOnce = st.commitsAtOnce && described.statements.length > 1 ? `   -- commits at once (${engine} cannot roll it back)` : "";
    lines.push(`  ${st.text.replace(/\n/g, "\n  ")};${rows}${atOnce}`);
  }
  return lines.join("\n");
}

/**
 * A read-only COUNT(*) of the rows an UPDATE / DELETE / TRUNCATE would touch, when
 * the statement is simple enough to tell (no LIMIT, no ORDER BY, no join).
 */
export function countQuery(statement: string, engine: Engine): { sql: string; prefix: string } | undefined {
  const text = statement.trim().replace(/;\s*$/, "");
  const ident = String.raw`((?:\`[^\`]+\`|"[^"]+"|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)(?:\.(?:\`[^\`]+\`|"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))?)`;
  let m = new RegExp(String.raw`^DELETE\s+FROM\s+${ident}\s*(?:WHERE\s+([\s\S]+))?$`, "i").exec(text);
  if (m) {
    if (m[2] && /\b(LIMIT|ORDER\s+BY|RETURNING)\b/i.test(m[2])) return undefined;
    return { sql: `SELECT COUNT(*) FROM ${m[1]}${m[2] ? ` WHERE ${m[2]}` : ""}`, prefix: "deletes " };
  }
  m = new RegExp(String.raw`^TRUNCATE\s+(?:TABLE\s+)?${ident}$`, "i").exec(text);
  if (m) return { sql: `SELECT COUNT(*) FROM ${m[1]}`, prefix: "deletes " };
  m = new RegExp(String.raw`^UPDATE\s+${ident}\s+SET\s+[\s\S]+$`, "i").exec(text);
  if (m) {
    const where = lastTopLevelWhere(text, engine);
    const tail = where === undefined ? "" : text.slice(where + 5).trim();
    if (/\b(LIMIT|ORDER\s+BY|RETURNING|FROM)\b/i.test(tail)) return undefined;
    return { sql: `SELECT COUNT(*) FROM ${m[1]}${tail ? ` WHERE ${tail}` : ""}`, prefix: "changes " };
  }
  return undefined;
}

/** Index of the last WHERE keyword outside strings, comments and parentheses, if any (sql-lexer.ts). */
function lastTopLevelWhere(sql: string, engine: Engine): number | undefined {
  let depth = 0;
  let found: number | undefined;
  for (const t of lexSql(sql, engine)) {
    const text = sql.slice(t.start, t.end);
    if (t.kind === "punct" && text === "(") depth++;
    else if (t.kind === "punct" && text === ")") depth--;
    else if (t.kind === "word" && depth === 0 && text.toUpperCase() === "WHERE") found = t.start;
  }
  return found;
}
