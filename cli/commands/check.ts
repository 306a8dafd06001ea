// `runbook check FILE...`: parse and check, report every diagnostic in one pass.
// Text diagnostics go to stderr (like a compiler); json and github go to stdout
// for tools to read. Exit 1 when any file has errors, 2 for an unknown env.
// `--strict` makes every warning an error (reported as one, exit 1).

import { compile } from "../../language/compile.js";
import { renderDiagnostics, summarize, hasErrors, type Diagnostic, type DiagnosticFormat } from "../../language/diagnostics.js";
import { selectEnv } from "../../language/scope.js";
import { Exit, useColor, type CliIO } from "../io.js";
import { readSource } from "../source.js";

export interface CheckOptions {
  env?: string;
  format?: DiagnosticFormat;
  /** Warnings are errors. */
  strict?: boolean;
}

export async function checkCommand(files: string[], options: CheckOptions, io: CliIO): Promise<number> {
  const format = options.format ?? "text";
  const all: Diagnostic[] = [];
  const sources = new Map<string, string>();
  let exit: number = Exit.ok;
  for (const file of files) {
    const source = readSource(file, io);
    if (!source.ok) {
      io.stderr.write(`runbook: ${source.error}\n`);
      exit = Exit.usage;
      continue;
    }
    const result = compile(file, source.text);
    for (const [f, t] of result.sources) sources.set(f, t);
    const diagnostics = options.strict ? result.diagnostics.map(strictly) : result.diagnostics;
    all.push(...diagnostics);
    if (hasErrors(diagnostics) && exit === Exit.ok) exit = Exit.failed;
    if (result.runbook && options.env) {
      const selected = selectEnv(result.runbook, options.env);
      if ("error" in selected) {
        io.stderr.write(`runbook: ${file}: ${selected.error}\n`);
        exit = Exit.usage;
      }
    }
  }
  if (format === "text") {
    if (all.length > 0) io.stderr.write(renderDiagnostics(all, "text", { sources, color: useColor(io, "stderr") }));
    const bad = all.length > 0 ? `${summarize(all)}` : "";
    if (exit === Exit.ok) io.stdout.write(`${files.length === 1 ? files[0] : `${files.length} files`}: ok${bad ? ` (${bad})` : ""}\n`);
    else if (all.length > 0) io.stderr.write(`${bad}\n`);
  } else {
    const out = renderDiagnostics(all, format, { sources });
    if (out) io.stdout.write(`${out}\n`);
  }
  return exit;
}

/** A warning as an error (`--strict`); an error as it is. */
function strictly(d: Diagnostic): Diagnostic {
  return d.severity === "warning" ? { ...d, severity: "error" } : d;
}
