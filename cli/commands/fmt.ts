// `runbook fmt FILE...`: rewrite runbooks in canonical form (language/format.ts).
// `--check` changes nothing: exit 1 and name the files that would change.
// A file that does not parse is left alone and its diagnostics are shown.

import { writeFileSync } from "node:fs";
import { format } from "../../language/format.js";
import { renderDiagnostics } from "../../language/diagnostics.js";
import { Exit, useColor, type CliIO } from "../io.js";
import { readSource } from "../source.js";

export interface FmtOptions {
  check?: boolean;
}

export async function fmtCommand(files: string[], options: FmtOptions, io: CliIO): Promise<number> {
  let exit: number = Exit.ok;
  const unformatted: string[] = [];
  for (const file of files) {
    const source = readSource(file, io);
    if (!source.ok) {
      io.stderr.write(`runbook: ${source.error}\n`);
      exit = Exit.usage;
      continue;
    }
    const result = format(source.text, file);
    if (result.diagnostics.some((d) => d.severity === "error")) {
      io.stderr.write(renderDiagnostics(result.diagnostics, "text", { sources: new Map([[file, source.text]]), color: useColor(io, "stderr") }));
      if (exit === Exit.ok) exit = Exit.failed;
      continue;
    }
    if (result.output === source.text) continue;
    unformatted.push(file);
    if (!options.check) writeFileSync(source.path, result.output);
  }
  if (options.check) {
    for (const f of unformatted) io.stdout.write(`${f}\n`);
    if (unformatted.length > 0) {
      io.stderr.write(`${unformatted.length} file${unformatted.length === 1 ? "" : "s"} not formatted; run \`runbook fmt\` on ${unformatted.length === 1 ? "it" : "them"}\n`);
      if (exit === Exit.ok) exit = Exit.failed;
    }
  } else {
    for (const f of unformatted) io.stdout.write(`formatted ${f}\n`);
  }
  return exit;
}
