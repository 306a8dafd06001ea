// runtime/edit-apply.ts: what an edit's replacements do to a text. A replacement whose
// result is already there is "already applied" (a re-run passes); one that finds
// neither text, or its old text several times without `all`, is a problem.

import { describe, expect, it } from "vitest";
import { applyReplaces, type EditReplace } from "../../runtime/edit-apply.js";

const r = (old: string, neu: string, all = false): EditReplace => ({ old, new: neu, all });

describe("edit replacements", () => {
  it.each<[string, string, EditReplace[], string, string[]]>([
    ["replaces once", "migrate = False\n", [r("migrate = False", "migrate = True")], "migrate = True\n", ["replaced"]],
    ["its result is there", "migrate = True\n", [r("migrate = False", "migrate = True")], "migrate = True\n", ["already-applied"]],
    ["a new text holding the old one", "port = 80801\n", [r("port = 8080", "port = 80801")], "port = 80801\n", ["already-applied"]],
    ["the new text there, the old one too", "debug = off\n# was: debug = on\n", [r("debug = off", "debug = on")], "debug = on\n# was: debug = on\n", ["replaced"]],
    ["replace all, already applied", "y y\n", [r("x", "y", true)], "y y\n", ["already-applied"]],
    ["one applied, one to do", "a = 2\nb = 1\n", [r("a = 1", "a = 2"), r("b = 1", "b = 2")], "a = 2\nb = 2\n", ["already-applied", "replaced"]],
    ["neither text", "other\n", [r("a = 1", "a = 2")], "other\n", ["missing"]],
    ["an empty new text is never already there", "x\n", [r("gone", "")], "x\n", ["missing"]],
    ["twice without all", "x x\n", [r("x", "y")], "x x\n", ["ambiguous"]],
  ])("%s", (_n, before, replaces, after, kinds) => {
    const result = applyReplaces(before, replaces);
    expect(result.outcomes.map((o) => o.kind)).toEqual(kinds);
    if (kinds.every((k) => k === "replaced" || k === "already-applied")) expect(result.after).toBe(after);
  });
});
