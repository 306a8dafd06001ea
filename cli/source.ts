// Reading runbook files for commands: one place that turns a missing or
// unreadable file into a one-line usage error instead of a stack trace, and one
// that prints a compilation's diagnostics under the paths the operator knows.

import { readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { renderDiagnostics, type Diagnostic } from "../language/diagnostics.js";
import { plainSpan } from "../language/span.js";
import { useColor, type CliIO } from "./io.js";

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

/** A path as shown to the operator: relative to the working directory when it is under it, else as it is. */
export function shownPath(file: string, cwd: string): string {
  if (!isAbsolute(file)) return file;
  const r = relative(cwd, file);
  return r !== "" && !r.startsWith("..") && !isAbsolute(r) ? r : file;
}

/**
 * Prints diagnostics (text, on stderr) of a file compiled under an absolute path,
 * naming each file as the operator knows it: `names` first (the runbook as it was
 * given on the command line, e.g. `HEAD:runbooks/x.rb`), else relative to the
 * working directory.
 */
export function printDiagnostics(
  io: CliIO,
  result: { diagnostics: readonly Diagnostic[]; sources: Map<string, string> },
  names: Map<string, string> = new Map(),
): void {
  if (result.diagnostics.length === 0) return;
  const shown = (f: string) => names.get(f) ?? shownPath(f, io.cwd);
  const diagnostics = result.diagnostics.map((d) => ({ ...d, span: { ...plainSpan(d.span), file: shown(d.span.file) } }));
  const sources = new Map([...result.sources].map(([f, t]) => [shown(f), t]));
  io.stderr.write(renderDiagnostics(diagnostics, "text", { sources, color: useColor(io, "stderr") }));
}
