// The footer: the keys that work right now.

import type { UiStore } from "./store/index.js";
import type { Line } from "./preview.js";
import { Lines } from "./Lines.js";
import { assertNever } from "../../language/assert.js";

export function footerKeys(store: UiStore): [string, string][] {
  const nav: [string, string][] = [
    ["↑↓", "select"],
    ["PgUp/PgDn", "scroll"],
  ];
  if (!store.follow) nav.push(["f", "follow"]);
  if (store.dialog?.kind === "finished") return [["q/Enter", "leave (the report is printed)"], ...nav];
  if (store.finished) return [...nav];
  if (store.quitting) return [["y", "abort the run"], ["n", "go back"]];
  if (store.confirmingKey === "abort") return [["y", "abort the run"], ["n", "go back"]];
  if (store.confirmingKey === "rollback") return [["y", "run these undos"], ["n", "go back"], ...nav];
  const d = store.dialog;
  const tail: [string, string][] = [...nav, ["q", "quit"]];
  if (!d) return [...nav, ["q", "quit"], ["Ctrl-C", "interrupt"]];
  switch (d.kind) {
    case "step":
      return [["Enter", "run"], ["s", "skip"], ["c", "continue"], ["a", "abort"], ...tail];
    case "confirm":
      if (d.protected) return [[`type ${store.plan.env}`, ""], ["Enter", "confirm"], ["Esc", "no (abort)"], ["↑↓", "select"]];
      return [["y", "yes"], ["n", "no (abort)"], ...tail];
    case "manual":
      return [["d", "done"], ["a", "abort"], ...tail];
    case "failure":
      return [["r", "retry"], ["s", "skip"], ["b", "roll back"], ["a", "abort"], ...tail];
    case "rerun":
      return [["y", "rerun"], ["n", "leave it"], ...tail];
    default:
      return assertNever(d, "dialog");
  }
}

export function footerLine(store: UiStore): Line {
  const line: Line = [];
  for (const [k, what] of footerKeys(store)) {
    if (line.length) line.push({ text: "  " });
    line.push({ text: k, bold: true, color: "yellow" });
    if (what) line.push({ text: " " + what, dim: true });
  }
  return line;
}

export function Footer({ store, width, color }: { store: UiStore; width: number; color: boolean }) {
  return <Lines lines={[footerLine(store)]} width={width} height={1} color={color} />;
}
