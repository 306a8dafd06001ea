// The header: runbook name and version, the env (a protected env in red, with a
// PROTECTED badge that shows even without colour), the run id, the elapsed time,
// a DRY RUN badge, and a progress bar with what the run is doing now.

import type { Line, Seg } from "./preview.js";
import type { UiStore } from "./store/index.js";
import { CONFIRM_KEY_WORD, formatClock } from "./format.js";
import { VERDICT_WORD } from "../../runtime/verdict.js";
import { Lines } from "./Lines.js";

export function progressBar(done: number, total: number, width: number): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return "█".repeat(filled) + "░".repeat(Math.max(0, width - filled));
}

function state(store: UiStore): Seg {
  if (store.finished) {
    const ok = store.finished.status === "succeeded";
    if (store.verdict) return { text: `dry run: ${VERDICT_WORD[store.verdict.verdict]} (exit ${store.finished.exitCode})`, color: ok ? "green" : "red", bold: true };
    return { text: `finished: ${store.finished.status} (exit ${store.finished.exitCode})`, color: ok ? "green" : "red", bold: true };
  }
  if (store.quitting) return { text: "quit?", color: "yellow", bold: true };
  if (store.confirmingKey) return { text: CONFIRM_KEY_WORD[store.confirmingKey], color: "yellow", bold: true };
  if (store.flash) return { text: store.flash, color: "yellow" };
  if (store.rollback) {
    const n = store.rollback.steps.length;
    const done = store.rollback.steps.filter((id) => store.steps.get(id)?.rollback !== "pending").length;
    if (done < n) return { text: `ROLLING BACK ${done}/${n}`, color: "blue", bold: true };
  }
  const d = store.dialog;
  if (d) {
    const what = { step: "waiting for you to start the next step", confirm: "waiting for your confirmation", manual: "waiting for a manual step", failure: "a step failed: your choice", rerun: "an interrupted step: rerun it?", finished: "" }[d.kind];
    return { text: what, color: d.kind === "failure" ? "red" : "yellow", bold: true };
  }
  const r = store.running;
  if (r) return { text: `running ${r.title}${store.continuous ? " (continuing without stopping)" : ""}`, color: "cyan" };
  return { text: store.continuous ? "continuing without stopping" : "", dim: true };
}

export function headerLines(store: UiStore, width: number): Line[] {
  const p = store.plan;
  const sep: Seg = { text: " │ ", dim: true };
  const first: Line = [{ text: "runbook ", dim: true }, { text: `${p.runbook.name} ${p.runbook.version}`, bold: true }, sep, { text: "env " }];
  if (p.protected) first.push({ text: p.env, color: "red", bold: true }, { text: " " }, { text: " PROTECTED ", color: "red", bold: true, inverse: true });
  else first.push({ text: p.env, bold: true, color: "green" });
  first.push(sep, { text: "run " }, { text: store.runId, bold: true }, sep, { text: formatClock(store.elapsedMs()) });
  if (store.dryRun) first.push({ text: " " }, { text: " DRY RUN ", color: "yellow", bold: true, inverse: true });
  if (store.resumedFrom) first.push(sep, { text: `resumes ${store.resumedFrom}`, dim: true });
  const { done, total } = store.progress();
  const barWidth = width >= 100 ? 24 : 12;
  const second: Line = [
    { text: progressBar(done, total, barWidth), color: "green" },
    { text: ` ${done}/${total} steps` },
    { text: "  " },
    state(store),
  ];
  return [first, second];
}

export function Header({ store, width, color }: { store: UiStore; width: number; color: boolean }) {
  return <Lines lines={headerLines(store, width)} width={width} height={2} color={color} />;
}
