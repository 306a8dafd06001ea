// The selected step: what it will do (commands with values filled in, secrets as
// ***, an edit's diff, SQL), then its live output (the bounded tail the store
// keeps, scrolled with PgUp/PgDn), with its status and result at the top.

import { PREFLIGHT_ID, type StepView, type UiStore } from "./store/index.js";
import { stepPreview, type Line } from "./preview.js";
import { displayWidth, PREFLIGHT_ABOUT, sanitizeLine, STATUS_COLOR, STATUS_WORD, waitText, wrapText } from "./format.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";
import { glyph, stepDuration } from "./StepList.js";
import { Lines } from "./Lines.js";
import type { DataProgress } from "../../runtime/events.js";
import { progressLine } from "../../runtime/views/plain-log.js";

function sizeText(chars: number): string {
  if (chars < 1024) return `${chars} B`;
  if (chars < 1024 * 1024) return `${(chars / 1024).toFixed(1)} kB`;
  return `${(chars / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The status line, and when it does not fit in `width`, the rest of it (the
 * reason, the rollback's error) wrapped below it in full: a failure's reason
 * is read whole, never cut.
 */
export function statusLines(v: StepView, width: number): Line[] {
  const line = statusLine(v);
  const text = line.map((p) => p.text).join("");
  if (displayWidth(escapeControls(text)) <= width) return [line];
  const out: Line[] = [];
  let first: Line = [];
  for (const seg of line) {
    // The head (word, attempt, times) stays on the first line; the long parts wrap below.
    if (seg.text.startsWith(": ") || seg.text.startsWith(" · rollback")) {
      const body = seg.text.startsWith(": ") ? seg.text.slice(2) : seg.text.slice(3);
      for (const l of wrapText(body, Math.max(10, width - 2))) out.push([{ text: `  ${l}`, color: seg.color }]);
    } else first.push(seg);
  }
  if (displayWidth(first.map((p) => p.text).join("")) > width) first = [{ text: wrapText(first.map((p) => p.text).join(""), width)[0] ?? "" }];
  return [first, ...out];
}

export function statusLine(v: StepView): Line {
  const color = STATUS_COLOR[v.status];
  const parts: Line = [{ text: STATUS_WORD[v.status], color, bold: true }];
  if (v.attempt > 1) parts.push({ text: ` · attempt ${v.attempt}` });
  const d = stepDuration(v);
  if (d) parts.push({ text: ` · ${d}` });
  const w = waitText(v.waitedMs);
  if (w) parts.push({ text: ` · ${w}`, dim: true });
  if (v.earlier) parts.push({ text: ` · in the earlier run`, dim: true });
  const detail = [v.reason, v.exitCode !== undefined && v.exitCode !== null && (v.exitCode !== 0 || v.status !== "ok") ? `exit ${v.exitCode}` : undefined, v.signal ? `signal ${v.signal}` : undefined].filter(Boolean);
  if (v.status !== "running" && detail.length) parts.push({ text: `: ${detail.join(", ")}`, color: v.status === "failed" ? "red" : undefined });
  if (v.rollback) parts.push({ text: ` · rollback ${v.rollback}${v.rollbackError ? `: ${v.rollbackError}` : ""}`, color: v.rollback === "failed" ? "red" : "blue" });
  return parts;
}

/** A data step's progress: a bar when the total is known, then the words of the plain log. */
export function progressBar(p: DataProgress, width = 24): Line {
  const words: Line = [{ text: progressLine(p), dim: p.done }];
  if (!p.total) return words;
  const filled = Math.min(width, Math.floor((width * p.rows) / p.total));
  return [{ text: "█".repeat(filled), color: "green" }, { text: "░".repeat(width - filled), dim: true }, { text: " " }, ...words];
}

/**
 * The last `count` rows of a step's output, `offset` lines up. The command's own
 * lines are cut at the edge; the UI's (a note, the command it runs, a guard) are
 * wrapped, so a note is read whole (one longer than the whole pane is cut).
 */
export function outputLines(v: StepView, count: number, offset: number, width: number): Line[] {
  const rows: Line[] = [];
  if (count <= 0) return rows;
  for (const l of v.output.tail(count, offset)) {
    if (!l.info) rows.push([{ text: sanitizeLine(l.text, width) || " " }]);
    else if (l.text.length > width * count) rows.push([{ text: sanitizeLine(l.text, width), color: "blue", dim: true }]);
    else wrapText(sanitizeLine(l.text, width * count), Math.max(10, width - 2)).forEach((t, i) => rows.push([{ text: i === 0 ? t : `  ${t}`, color: "blue", dim: true }]));
  }
  return rows.slice(-count);
}

/** The detail pane's lines, and how many of them show output (a page for PgUp/PgDn). */
export function detailLines(store: UiStore, width: number, height: number): { lines: Line[]; outputHeight: number } {
  const v = store.selected;
  if (!v) return { lines: [[{ text: "No step selected", dim: true }]], outputHeight: 0 };
  const where = [v.id === PREFLIGHT_ID ? "preflight" : v.id, v.host ? `on ${v.host}` : undefined, v.phase === "finally" ? "finally" : v.section].filter(Boolean).join(" · ");
  const head: Line[] = [
    [{ text: `${glyph(v)} `, color: STATUS_COLOR[v.status] }, { text: v.title, bold: true }, { text: `  ${where}`, dim: true }],
    ...statusLines(v, width),
  ];
  if (v.progress && v.status === "running") head.push(progressBar(v.progress));
  const preview: Line[] = v.planned
    ? stepPreview(v.planned, v.diffs)
    : v.id === PREFLIGHT_ID
      ? [[{ text: PREFLIGHT_ABOUT, dim: true }]]
      : [[{ text: "(not in the plan)", dim: true }]];
  const hasOutput = !v.output.empty || v.status === "running";
  const room = Math.max(0, height - head.length);

  if (!hasOutput) {
    const body = room - 1;
    const maxScroll = Math.max(0, preview.length - body);
    if (store.planScroll > maxScroll) store.planScroll = maxScroll;
    const shown = preview.slice(store.planScroll, store.planScroll + body);
    const more = preview.length - store.planScroll - shown.length;
    const title: Line = [{ text: "What it does", bold: true, color: "cyan" }];
    if (store.planScroll > 0 || more > 0) title.push({ text: `  (${store.planScroll > 0 ? `${store.planScroll} above, ` : ""}${more} more; PgUp/PgDn)`, dim: true });
    return { lines: [...head, title, ...shown], outputHeight: 0 };
  }

  // Output gets most of the room; the preview keeps a few lines above it.
  const previewRoom = Math.min(preview.length, Math.max(1, Math.floor(room * 0.3)));
  const outTitleAt = head.length + 1 + previewRoom;
  const outputHeight = Math.max(1, height - outTitleAt - 1);
  const maxScroll = Math.max(0, v.output.lineCount - outputHeight);
  if (store.scroll > maxScroll) store.scroll = maxScroll;
  const shownPreview = preview.slice(0, previewRoom);
  if (preview.length > previewRoom) {
    const last = shownPreview.length - 1;
    shownPreview[last] = [{ text: `… ${preview.length - previewRoom + 1} more lines of plan`, dim: true }];
  }
  const outTitle: Line = [
    { text: "Output", bold: true, color: "cyan" },
    { text: `  ${v.output.totalLines} lines, ${sizeText(v.output.totalChars)}`, dim: true },
  ];
  if (v.output.totalLines > v.output.lineCount) outTitle.push({ text: `; last ${v.output.lineCount} kept`, dim: true });
  if (store.scroll > 0) outTitle.push({ text: `  ↑ ${store.scroll} lines up (End: newest)`, color: "yellow" });
  const out = outputLines(v, outputHeight, store.scroll, width);
  return {
    lines: [...head, [{ text: "What it does", bold: true, color: "cyan" }], ...shownPreview, outTitle, ...out],
    outputHeight,
  };
}

export function StepDetail({ store, width, height, color }: { store: UiStore; width: number; height: number; color: boolean }) {
  const { lines, outputHeight } = detailLines(store, width, height);
  if (outputHeight > 0) store.page = outputHeight;
  return <Lines lines={lines} width={width} height={height} color={color} />;
}

