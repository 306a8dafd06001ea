// What a step will do, as styled lines for the UI's detail pane: commands with
// their values filled in (secrets as ***, via showText), SQL, an edit's unified
// diff once the executor has shown one (else its replacements), guards, undo and
// options. Pure functions of the PlannedStep and the diffs seen so far.

import { assertNever } from "../../language/assert.js";
import { describeAction, describeCond, describeOptions } from "../../runtime/describe.js";
import { showText, type Action, type PlannedStep } from "../../runtime/plan.js";

export interface Seg {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

export type Line = Seg[];

const seg = (text: string, style: Omit<Seg, "text"> = {}): Seg => ({ text, ...style });

/** A unified diff, coloured by line kind. */
export function diffLines(diff: string, indent = "  "): Line[] {
  const out: Line[] = [];
  for (const l of diff.replace(/\n$/, "").split("\n")) {
    if (l.startsWith("+++") || l.startsWith("---") || l.startsWith("Index:") || l.startsWith("====")) out.push([seg(indent + l, { dim: true })]);
    else if (l.startsWith("@@")) out.push([seg(indent + l, { color: "cyan" })]);
    else if (l.startsWith("+")) out.push([seg(indent + l, { color: "green" })]);
    else if (l.startsWith("-")) out.push([seg(indent + l, { color: "red" })]);
    else out.push([seg(indent + l)]);
  }
  return out;
}

function actionLines(a: Action, diffs: { path: string; diff: string }[], prefix = ""): Line[] {
  const block = (head: string, text: string, color?: string): Line[] => {
    const lines = text.replace(/^\n+|\n+$/g, "").split("\n");
    return [[seg(prefix + head, { bold: true }), seg(lines[0] ?? "", { color })], ...lines.slice(1).map((l) => [seg(prefix + " ".repeat(head.length) + l, { color })])];
  };
  switch (a.kind) {
    case "run": {
      const lines = block("$ ", showText(a.command), "white");
      if (a.as) lines[lines.length - 1]!.push(seg(`   (as ${a.as})`, { dim: true }));
      return lines;
    }
    case "sql":
      return [[seg(prefix + `sql ${a.db}:`, { bold: true })], ...showText(a.sql).replace(/^\n+|\n+$/g, "").split("\n").map((l) => [seg(prefix + "  " + l, { color: "cyan" })])];
    case "edit": {
      const shown = diffs.find((d) => d.path === a.path || d.path.endsWith(a.path) || a.path.endsWith(d.path));
      if (shown) return [[seg(prefix + `edit ${a.path}`, { bold: true })], ...diffLines(shown.diff, prefix + "  ")];
      const lines: Line[] = [[seg(prefix + `edit ${a.path}`, { bold: true })]];
      for (const r of a.replaces) {
        lines.push([seg(prefix + `  replace${r.all ? " all" : ""} `), seg(JSON.stringify(showText(r.old)), { color: "red" })]);
        lines.push([seg(prefix + "     with "), seg(JSON.stringify(showText(r.new)), { color: "green" })]);
      }
      return lines;
    }
    case "confirm":
      return [[seg(prefix + "? ", { bold: true, color: "yellow" }), seg(a.question, { color: "yellow" })]];
    case "manual":
      return block("manual: ", a.text, "magenta");
    case "note":
      return block("note: ", a.text);
    case "require":
    case "upload":
    case "download":
    case "export":
    case "import":
    case "sync":
    case "wait":
      return describeAction(a)
        .split("\n")
        .map((l) => [seg(prefix + l)]);
    default:
      return assertNever(a);
  }
}

/** The preview of a planned step. */
export function stepPreview(step: PlannedStep, diffs: { path: string; diff: string }[] = []): Line[] {
  const out: Line[] = [];
  if (step.skip) out.push([seg(`skipped in this env: ${step.skip}`, { color: "yellow" })]);
  for (const g of step.guards) {
    const known = g.static === "probe" ? "checked when the step runs" : `${g.static}`;
    // With its values filled in, as `plan` shows it (the source has `${name}`s).
    out.push([seg(`${g.kind} `, { bold: true }), seg(describeCond(g.cond) || g.source), seg(`   (${known})`, { dim: true })]);
  }
  for (const a of step.actions) out.push(...actionLines(a, diffs));
  const edits = new Set(step.actions.filter((a) => a.kind === "edit").map((a) => (a as { path: string }).path));
  for (const d of diffs) {
    const matched = [...edits].some((p) => d.path === p || d.path.endsWith(p) || p.endsWith(d.path));
    if (!matched) out.push([seg(`diff ${d.path}`, { bold: true })], ...diffLines(d.diff));
  }
  for (const a of step.undo) {
    const lines = actionLines(a, [], "");
    lines[0]!.unshift(seg("undo: ", { dim: true }));
    for (const l of lines.slice(1)) l.unshift(seg("      "));
    out.push(...lines.map((l) => l.map((s) => ({ ...s, dim: true }))));
  }
  const opts = describeOptions(step);
  if (opts) out.push([seg(`(${opts})`, { dim: true })]);
  if (out.length === 0) out.push([seg("(nothing to do)", { dim: true })]);
  return out;
}
