// Draws pre-built styled lines, one terminal row each, cut to the pane's width.
// Every pane of the UI builds `Line[]` (see preview.ts) and hands them here, so
// the layout arithmetic (what fits in how many rows) stays in plain functions.

import { Box, Text } from "ink";
import type { Line, Seg } from "./preview.js";

/** Cut a line's segments to `width` columns (by code point), ending in … when cut. */
export function fit(line: Line, width: number): Line {
  const out: Seg[] = [];
  let left = width;
  for (let i = 0; i < line.length && left > 0; i++) {
    const s = line[i]!;
    const cps = Array.from(s.text);
    if (cps.length <= left) {
      out.push(s);
      left -= cps.length;
      continue;
    }
    out.push({ ...s, text: left <= 1 ? "…" : cps.slice(0, left - 1).join("") + "…" });
    left = 0;
  }
  return out;
}

export function lineText(line: Line): string {
  return line.map((s) => s.text).join("");
}

export function LineView({ line, width, color }: { line: Line; width: number; color: boolean }) {
  const segs = fit(line, width);
  if (segs.length === 0 || lineText(segs) === "") return <Text> </Text>;
  return (
    <Text wrap="truncate-end">
      {segs.map((s, i) => (
        <Text key={i} color={color ? s.color : undefined} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
}

export function Lines({ lines, width, height, color }: { lines: Line[]; width: number; height: number; color: boolean }) {
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {lines.slice(0, height).map((l, i) => (
        <LineView key={i} line={l} width={width} color={color} />
      ))}
    </Box>
  );
}
