// Draws pre-built styled lines, cut to the pane's width, as one Ink <Text> per
// pane: the styles are turned into SGR escape codes here (colours only when
// `color` is on, so NO_COLOR is decided in one place), which keeps each frame to a
// handful of Ink nodes however much is on screen. Every pane of the UI builds
// `Line[]` (see preview.ts), so the layout arithmetic stays in plain functions.
// Control characters in the text (values, titles, errors) are shown escaped
// (escape-controls.ts) before the width is measured.

import { Box, Text } from "ink";
import type { Line, Seg } from "./preview.js";
import { charWidth, displayWidth } from "./format.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";

const FG: Record<string, number> = {
  black: 30,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  white: 37,
  gray: 90,
  grey: 90,
};

/** Cut a line's segments to `width` columns, ending in … when cut. */
export function fit(line: Line, width: number): Line {
  const out: Seg[] = [];
  let left = width;
  for (let i = 0; i < line.length && left > 0; i++) {
    let s = line[i]!;
    const shown = escapeControls(s.text);
    if (shown !== s.text) s = { ...s, text: shown };
    const w = displayWidth(s.text);
    if (w <= left) {
      out.push(s);
      left -= w;
      continue;
    }
    let text = "";
    let used = 0;
    for (const ch of s.text) {
      const cw = charWidth(ch.codePointAt(0)!);
      if (used + cw > left - 1) break;
      text += ch;
      used += cw;
    }
    out.push({ ...s, text: text + "…" });
    left = 0;
  }
  return out;
}

export function lineText(line: Line): string {
  return line.map((s) => s.text).join("");
}

/** One line as text with SGR codes (no colour codes when `color` is off). */
export function styleLine(line: Line, color: boolean): string {
  let out = "";
  for (const s of line) {
    const text = escapeControls(s.text);
    if (text === "") continue;
    const codes: number[] = [];
    if (s.bold) codes.push(1);
    if (s.dim) codes.push(2);
    if (s.inverse) codes.push(7);
    if (color && s.color && FG[s.color] !== undefined) codes.push(FG[s.color]!);
    out += codes.length ? `\u001B[${codes.join(";")}m${text}\u001B[0m` : text;
  }
  return out;
}

export function Lines({ lines, width, height, color }: { lines: Line[]; width: number; height: number; color: boolean }) {
  const text = lines
    .slice(0, height)
    .map((l) => styleLine(fit(l, width), color))
    .join("\n");
  return (
    <Box width={width} height={height}>
      <Text>{text === "" ? " " : text}</Text>
    </Box>
  );
}
