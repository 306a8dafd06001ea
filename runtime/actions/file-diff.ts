// The unified diff an edit or a templated upload shows of the file it writes.

import { createTwoFilesPatch } from "diff";

/** A unified diff of a file's text, as edits and templated uploads show it. */
export function fileDiff(path: string, before: string, after: string, dry: boolean): string {
  return createTwoFilesPatch(path, path, before, after, dry ? "now" : "before", dry ? "after this step" : "after", { context: 3 })
    .split("\n")
    .filter((l, i) => !(i < 2 && (l.startsWith("Index: ") || /^=+$/.test(l))))
    .join("\n");
}
