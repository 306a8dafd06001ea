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

/**
 * A line wrapped to `width` columns, its styles kept: broken after a space where it
 * can be, a word longer than the line cut; the lines after the first are indented
 * two columns more than the first (a wrapped line reads as one, apart from the next).
 * Every character is kept (for a question or a reason, the end is what matters).
 */
export function wrapLine(line: Line, width: number): Line[] {
  const segs = line.map((s) => ({ ...s, text: escapeControls(s.text) }));
  if (displayWidth(lineText(segs)) <= width) return [segs];
  const lead = /^ */.exec(lineText(segs))![0].length;
  const indent = " ".repeat(Math.min(lead + 2, Math.max(0, width - 8)));
  const out: Line[] = [];
  let cur: Seg[] = [];
  let used = 0;
  const push = (s: Seg, text: string) => {
    const last = cur[cur.length - 1];
    if (last && sameStyle(last, s)) cur[cur.length - 1] = { ...last, text: last.text + text };
    else cur.push({ ...s, text });
    used += displayWidth(text);
  };
  const newLine = () => {
    // The spaces a line was broken at are not shown at its end.
    const lastSeg = cur[cur.length - 1];
    if (lastSeg) cur[cur.length - 1] = { ...lastSeg, text: lastSeg.text.trimEnd() };
    out.push(cur.filter((x) => x.text !== ""));
    cur = [{ text: indent }];
    used = indent.length;
  };
  for (const s of segs) {
    for (let word of s.text.split(/(?<= )/)) {
      // A continuation line's leading spaces are its indent's, not the text's.
      if (out.length > 0 && used === indent.length) word = word.trimStart();
      if (word === "") continue;
      const bare = displayWidth(word.trimEnd());
      if (used + bare <= width) {
        push(s, word);
        continue;
      }
      if (cur.some((x) => x.text.trim() !== "")) {
        newLine();
        word = word.trimStart();
        if (displayWidth(word.trimEnd()) <= width - used) {
          push(s, word);
          continue;
        }
      }
      // Longer than a line: cut it.
      let rest = word;
      while (rest !== "") {
        let piece = "";
        let pw = 0;
        for (const ch of rest) {
          const cw = charWidth(ch.codePointAt(0)!);
          if (used + pw + cw > width && piece !== "") break;
          piece += ch;
          pw += cw;
        }
        push(s, piece);
        rest = rest.slice(piece.length);
        if (rest !== "") newLine();
      }
    }
  }
  if (cur.some((x) => x.text.trim() !== "")) out.push(cur.filter((x) => x.text !== ""));
  return out;
}

function sameStyle(a: Seg, b: Seg): boolean {
  return a.color === b.color && a.bold === b.bold && a.dim === b.dim && a.inverse === b.inverse;
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
