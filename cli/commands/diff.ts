// `runbook diff OLD NEW`: what changed between two versions of a runbook, for
// reviewers. OLD and NEW are files or GIT_REV:PATH (PATH as git means it: from the
// repository root, or `./…` from the working directory); a revision's side is
// compiled with its includes read from the same revision, and a side the revision
// does not have is an empty runbook (a new or deleted one). The risks come first;
// any risk makes the exit code 5 unless --accept-risk.

import { relative } from "node:path";
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Runbook } from "../../language/ast.js";
import { compile, type CompileResult } from "../../language/compile.js";
import { hasErrors } from "../../language/diagnostics.js";
import { maskUrlPasswords } from "../../language/url-password.js";
import { compileAt, parseRevRef } from "../git-source.js";
import { escapeControls, toTerminalJson } from "../../runtime/views/escape-controls.js";
import { Exit, type CliIO } from "../io.js";
import { cliMessages } from "../messages.js";
import { diffRunbooks, type RunbookChanges } from "../runbook-diff.js";
import { printDiagnostics } from "../source.js";
import { renderDiffMarkdown, renderDiffText } from "../views/diff.js";

export interface DiffOptions {
  format?: "text" | "markdown" | "json";
  acceptRisk?: boolean;
}

/** One side: compiled (with the names to show its files by), absent at that revision, or a usage error. */
type Side = { kind: "compiled"; result: CompileResult; names: Map<string, string> } | { kind: "absent" } | { kind: "error"; error: string };

function loadSide(ref: string, io: CliIO): Side {
  const path = resolve(io.cwd, ref);
  if (existsSync(path) && statSync(path).isFile()) {
    return { kind: "compiled", result: compile(path, readFileSync(path, "utf8")), names: new Map([[path, ref]]) };
  }
  const rev = parseRevRef(ref, io.cwd);
  if (rev === undefined) return { kind: "error", error: cliMessages.noSuchFile(ref) };
  if ("error" in rev) return { kind: "error", error: rev.error };
  const result = compileAt(rev);
  if (!result) return { kind: "absent" };
  // Named as on the command line (the runbook), and its includes as REV:PATH from the root.
  const names = new Map([...result.sources.keys()].map((f) => [f, `${rev.rev}:${relative(rev.root, f).split("\\").join("/")}`]));
  names.set(rev.absPath, ref);
  return { kind: "compiled", result, names };
}

/** The changes between two refs, or an exit code (after printing why). */
export function changesBetween(oldRef: string, newRef: string, io: CliIO): RunbookChanges | number {
  const runbooks: (Runbook | undefined)[] = [];
  for (const ref of [oldRef, newRef]) {
    const side = loadSide(ref, io);
    if (side.kind === "error") {
      io.stderr.write(`runbook: ${side.error}\n`);
      return Exit.usage;
    }
    if (side.kind === "absent") {
      runbooks.push(undefined);
      continue;
    }
    const { result } = side;
    if (!result.runbook || hasErrors(result.diagnostics)) {
      printDiagnostics(io, result, side.names);
      return Exit.failed;
    }
    runbooks.push(result.runbook);
  }
  if (!runbooks[0] && !runbooks[1]) {
    io.stderr.write(`runbook: ${cliMessages.absentBothSides(oldRef, newRef)}\n`);
    return Exit.usage;
  }
  return diffRunbooks(runbooks[0], runbooks[1]);
}

export async function diffCommand(oldRef: string, newRef: string, options: DiffOptions, io: CliIO): Promise<number> {
  const changes = changesBetween(oldRef, newRef, io);
  if (typeof changes === "number") return changes;
  const format = options.format ?? "text";
  // A runbook's strings may hold control characters: shown escaped, never sent to the
  // terminal as they are (the CR of a CRLF line end is dropped, as in the run log); JSON
  // keeps the raw text, JSON-escaped.
  const shown = (out: string) => escapeControls(out.replaceAll("\r\n", "\n"));
  if (format === "json") io.stdout.write(maskUrlPasswords(`${toTerminalJson({ old: oldRef, new: newRef, ...changes }, 2)}\n`));
  else if (format === "markdown") io.stdout.write(shown(renderDiffMarkdown(changes, oldRef, newRef)));
  else io.stdout.write(shown(renderDiffText(changes, oldRef, newRef)));
  if (changes.risks.length > 0 && !options.acceptRisk) {
    io.stderr.write(`runbook: ${cliMessages.riskExit(changes.risks.length)}\n`);
    return Exit.risk;
  }
  return Exit.ok;
}
