// The steps, grouped by section (finally steps last), each with its status
// glyph, host and duration. The selected step is highlighted and kept in view.

import { PREFLIGHT_ID, type StepView, type UiStore } from "./store/index.js";
import type { Line } from "./preview.js";
import { displayWidth, GLYPH, SPINNER, STATUS_COLOR, pad, stepTime, truncate } from "./format.js";
import { Lines } from "./Lines.js";

export function glyph(v: StepView, now = Date.now()): string {
  if (v.status === "running") return SPINNER[Math.floor(now / 100) % SPINNER.length]!;
  if (v.rollback === "pending") return "↺";
  if (v.rollback === "failed") return "✘";
  return GLYPH[v.status];
}

export function stepDuration(v: StepView, now = Date.now()): string {
  return stepTime(v, now);
}

/** All rows (section headers and steps) and the row of the selected step. */
export function stepRows(store: UiStore, width: number): { rows: Line[]; selectedRow: number } {
  const rows: Line[] = [];
  let selectedRow = 0;
  let section: string | null = null;
  const activeId = store.activeStepId();
  const now = Date.now();
  for (const id of store.order) {
    const v = store.steps.get(id)!;
    const group = v.phase === "finally" ? "finally" : (v.section ?? "");
    // The preflight comes first, outside any section.
    if (group !== section && id !== PREFLIGHT_ID) {
      if (group !== "" || section !== null) rows.push([{ text: group === "" ? "(no section)" : group, bold: true, dim: true }]);
      section = group;
    }
    const selected = id === store.selectedId;
    if (selected) selectedRow = rows.length;
    const marker = id === activeId ? "▶" : " ";
    const g = glyph(v, now);
    const right = [v.host, stepDuration(v, now)].filter(Boolean).join(" ");
    const titleWidth = Math.max(4, width - 3 - (right ? displayWidth(right) + 1 : 0));
    const title = truncate(v.title, titleWidth);
    const color = v.rollback === "failed" ? "red" : v.rollback === "pending" ? "blue" : STATUS_COLOR[v.status];
    rows.push([
      { text: marker, color: "yellow", bold: true, inverse: selected },
      { text: g, color, inverse: selected },
      { text: " " + pad(title, titleWidth), inverse: selected, bold: id === activeId, dim: v.status === "skipped" },
      { text: right ? " " + right : "", dim: !selected, inverse: selected },
    ]);
  }
  return { rows, selectedRow };
}

export function visibleStepRows(store: UiStore, width: number, height: number): Line[] {
  // Which step is selected (not how many are done: the header says that).
  const steps = store.order.filter((id) => id !== PREFLIGHT_ID);
  const at = steps.indexOf(store.selectedId ?? "");
  const where = store.selectedId === PREFLIGHT_ID ? "  ▶ preflight" : at < 0 ? `  ${steps.length}` : `  ▶ ${at + 1} of ${steps.length}`;
  const title: Line = [{ text: "Steps", bold: true, color: "cyan" }, { text: where, dim: true }];
  const { rows, selectedRow } = stepRows(store, width);
  const h = Math.max(0, height - 1);
  const start = Math.max(0, Math.min(selectedRow - Math.floor(h / 2), rows.length - h));
  return [title, ...rows.slice(start, start + h)];
}

export function StepList({ store, width, height, color }: { store: UiStore; width: number; height: number; color: boolean }) {
  return <Lines lines={visibleStepRows(store, width, height)} width={width} height={height} color={color} />;
}
