// The question the executor is waiting on (next step, confirmation, protected
// confirmation, manual step, failure, interrupted step), the "quit?" question, or
// while a rollback runs, its progress. A bordered panel above the footer.

import { Box } from "ink";
import type { UiStore } from "./store/index.js";
import type { Line } from "./preview.js";
import { outputLines } from "./StepDetail.js";
import { glyph } from "./StepList.js";
import { Lines, wrapLine } from "./Lines.js";
import { wrapText } from "./format.js";
import { verdictLines } from "../../runtime/verdict.js";
import { assertNever } from "../../language/assert.js";

export interface Panel {
  lines: Line[];
  border: string;
}

const key = (k: string): Line[number] => ({ text: k, bold: true, color: "yellow" });
const txt = (t: string): Line[number] => ({ text: t });

function textLines(text: string, color?: string): Line[] {
  return text
    .replace(/\n+$/, "")
    .split("\n")
    .map((l) => [{ text: "  " + l, color }]);
}

/** The panel for the current state, cut to `maxLines` content lines; undefined when there is none. */
export function panelFor(store: UiStore, width: number, maxLines: number): Panel | undefined {
  const stepTitle = (id?: string) => {
    if (id === undefined) return "";
    const v = store.steps.get(id);
    return v ? `${v.title} (${v.id}${v.host ? ` on ${v.host}` : ""})` : id;
  };
  let panel: Panel | undefined;
  /** Lines shown as they are, cut at the edge (command output); every other line is wrapped, never cut. */
  const asIs = new Set<Line>();
  if (store.quitting) {
    panel = {
      border: "yellow",
      lines: [
        [{ text: "Quit? ", bold: true, color: "yellow" }, txt("This aborts the run; its finally steps still run.")],
        [key("y"), txt(" yes, abort   "), key("n"), txt(" no, go back")],
      ],
    };
  } else if (store.confirmingKey === "abort" && store.dialog) {
    const d = store.dialog;
    const what =
      d.kind === "failure"
        ? `the run stops with ${stepTitle(d.stepId)} failed; nothing is rolled back`
        : d.stepId !== undefined
          ? `the run stops before ${stepTitle(d.stepId)}`
          : "the run stops here";
    panel = {
      border: "yellow",
      lines: [
        [{ text: "Abort? ", bold: true, color: "yellow" }, txt(`${what}; its finally steps still run.`)],
        [key("y"), txt(" yes, abort   "), key("n"), txt(" no, go back")],
      ],
    };
  } else if (store.confirmingKey === "rollback" && store.dialog?.kind === "failure") {
    const plan = store.rollbackPlan(store.dialog.stepId);
    const lines: Line[] = [
      [{ text: "Roll back? ", bold: true, color: "blue" }, txt(plan.length ? "these undos run, in this order; then the finally steps:" : "no step done so far has an undo: nothing would be undone; then the finally steps run.")],
    ];
    let n = 0;
    for (const { step, undo } of plan) {
      for (const u of undo) {
        n++;
        lines.push([{ text: `  ${n}. `, dim: true }, { text: step.title, bold: true }, { text: ` (${step.id}${step.host ? ` on ${step.host}` : ""}): `, dim: true }, { text: u }]);
      }
    }
    lines.push([key("y"), txt(" yes, roll back   "), key("n"), txt(" no, go back")]);
    panel = { border: "blue", lines };
  } else if (store.dialog) {
    const d = store.dialog;
    switch (d.kind) {
      case "step":
        panel = {
          border: "cyan",
          lines: [
            [{ text: "Next step: ", bold: true, color: "cyan" }, { text: stepTitle(d.stepId), bold: true }],
            [key("Enter"), txt(" run it   "), key("s"), txt(" skip   "), key("c"), txt(" continue without stopping   "), key("a"), txt(" abort")],
          ],
        };
        break;
      case "confirm":
        if (d.protected) {
          const lines: Line[] = [
            [{ text: "Confirm in protected env ", bold: true, color: "red" }, { text: store.plan.env, bold: true, color: "red", inverse: true }, { text: d.stepId ? `  ${stepTitle(d.stepId)}` : "  before the first step", dim: true }],
            ...textLines(d.question, "yellow"),
            [txt("Type "), { text: store.plan.env, bold: true }, txt(" and press "), key("Enter"), txt(" to confirm; "), key("Esc"), txt(" answers no (aborts the run)")],
            [{ text: "> ", bold: true }, { text: d.typed }, { text: "█", dim: true }],
          ];
          if (d.error) lines.push([{ text: d.error, color: "red" }]);
          panel = { border: "red", lines };
        } else {
          panel = {
            border: "yellow",
            lines: [
              [{ text: "Confirm", bold: true, color: "yellow" }, { text: d.stepId ? `  ${stepTitle(d.stepId)}` : "  before the first step", dim: true }],
              ...textLines(d.question, "yellow"),
              [key("y"), txt(" yes   "), key("n"), txt(" no (aborts the run)")],
            ],
          };
        }
        break;
      case "manual":
        panel = {
          border: "magenta",
          lines: [
            [{ text: "Manual step: ", bold: true, color: "magenta" }, { text: stepTitle(d.stepId), bold: true }],
            ...textLines(d.text),
            [key("d"), txt(" done   "), key("a"), txt(" abort")],
          ],
        };
        break;
      case "failure": {
        const v = store.steps.get(d.stepId);
        const keys: Line = [key("r"), txt(" retry   "), key("s"), txt(" skip   "), key("b"), txt(" roll back   "), key("a"), txt(" abort")];
        // The whole reason, wrapped: its end ("still did not hold after 20s") is what matters.
        const errorLines = wrapText(d.error, width - 2).map((l): Line => [{ text: "  " + l, color: "red" }]);
        const fixed = 2 + errorLines.length;
        const outRoom = Math.max(0, Math.min(8, maxLines - fixed - 1));
        const out = v && outRoom > 0 ? outputLines(v, outRoom, 0, width).filter((l) => l.length > 0) : [];
        panel = {
          border: "red",
          lines: [
            [{ text: "✘ Step failed: ", bold: true, color: "red" }, { text: stepTitle(d.stepId), bold: true }],
            ...errorLines,
            ...(out.length ? [[{ text: "Last output:", dim: true }] as Line, ...out.map((l) => {
              const line: Line = [{ text: "  " }, ...l];
              asIs.add(line);
              return line;
            })] : []),
            keys,
          ],
        };
        break;
      }
      case "finished": {
        const v = store.verdict;
        const ok = v ? v.verdict === "would-run" : store.finished?.status === "succeeded";
        const [first, ...rest] = v ? verdictLines(v) : [`${store.finished?.status ?? "finished"}`];
        panel = {
          border: ok ? "green" : "red",
          lines: [
            [{ text: store.dryRun ? "Dry run finished: " : "Run finished: ", bold: true, color: ok ? "green" : "red" }, { text: first ?? "" }],
            ...rest.map((l): Line => [{ text: l, color: ok ? undefined : "red" }]),
            [key("↑↓"), txt(" read what each step would do   "), key("q"), txt("/"), key("Enter"), txt(" leave (the report is printed)")],
          ],
        };
        break;
      }
      case "rerun":
        panel = {
          border: "magenta",
          lines: [
            [{ text: "Interrupted: ", bold: true, color: "magenta" }, { text: stepTitle(d.stepId), bold: true }],
            [txt("  It was running when the earlier run stopped. Run it again?")],
            [key("y"), txt(" yes, rerun it   "), key("n"), txt(" no")],
          ],
        };
        break;
      default:
        assertNever(d, "dialog");
    }
  } else if (store.rollback && !store.finished) {
    const steps = store.rollback.steps.map((id) => store.steps.get(id)).filter((v) => v !== undefined);
    const firstPending = steps.findIndex((v) => v.rollback === "pending");
    panel = {
      border: "blue",
      lines: [
        [{ text: "Rolling back", bold: true, color: "blue" }, { text: `  undo in reverse order`, dim: true }],
        ...steps.map((v, i): Line => {
          const state = v.rollback === "pending" ? (i === firstPending ? "undoing…" : "waiting") : v.rollback === "ok" ? "undone" : `failed${v.rollbackError ? `: ${v.rollbackError}` : ""}`;
          const color = v.rollback === "failed" ? "red" : v.rollback === "ok" ? "blue" : undefined;
          return [{ text: `  ${v.rollback === "ok" ? "↺" : v.rollback === "failed" ? "✘" : i === firstPending ? glyph({ ...v, status: "running" }) : "○"} `, color }, { text: v.title }, { text: `  ${state}`, color, dim: v.rollback === "pending" }];
        }),
      ],
    };
  }
  if (!panel) return undefined;
  panel.lines = panel.lines.flatMap((l) => (asIs.has(l) ? [l] : wrapLine(l, width)));
  if (panel.lines.length > maxLines) {
    // Keep the first lines and the last (the keys); cut the middle.
    const last = panel.lines[panel.lines.length - 1]!;
    panel.lines = [...panel.lines.slice(0, Math.max(1, maxLines - 2)), [{ text: "  …", dim: true }], last].slice(0, Math.max(1, maxLines));
  }
  return panel;
}

export function DialogPanel({ panel, width, color }: { panel: Panel; width: number; color: boolean }) {
  return (
    <Box borderStyle="round" borderColor={color ? panel.border : undefined} width={width} flexDirection="column" paddingLeft={1} paddingRight={1}>
      <Lines lines={panel.lines} width={width - 4} height={panel.lines.length} color={color} />
    </Box>
  );
}
