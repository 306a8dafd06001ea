// Reading runbook files for commands: one place that turns a missing or
// unreadable file into a one-line usage error instead of a stack trace.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CliIO } from "./io.js";

export type SourceResult = { ok: true; text: string; path: string } | { ok: false; error: string };

export function readSource(file: string, io: CliIO): SourceResult {
  const path = resolve(io.cwd, file);
  try {
    return { ok: true, text: readFileSync(path, "utf8"), path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, error: `${file}: no such file` };
    if (code === "EISDIR") return { ok: false, error: `${file}: is a directory, not a runbook` };
    return { ok: false, error: `${file}: cannot read it (${code ?? String(err)})` };
  }
}
