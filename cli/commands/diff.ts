// `runbook diff OLD NEW`: what changed between two versions of a runbook, for
// reviewers: the header version, declarations and env overrides that were added,
// removed or changed, and steps added, removed, moved or changed (each change as
// a unified diff of the step's source). OLD and NEW are files or GIT_REV:PATH.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createPatch } from "diff";
import { allSteps, type Decl, type Runbook, type Step } from "../../language/ast.js";
import { compile } from "../../language/compile.js";
import { hasErrors } from "../../language/diagnostics.js";
import type { Span } from "../../language/span.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";
import { Exit, type CliIO } from "../io.js";
import { printDiagnostics } from "../source.js";

export interface DiffOptions {
  format?: "text" | "markdown";
}

type Loaded = { ok: true; label: string; file: string; text: string } | { ok: false; error: string };

function load(ref: string, io: CliIO): Loaded {
  const path = resolve(io.cwd, ref);
  if (existsSync(path)) return { ok: true, label: ref, file: path, text: readFileSync(path, "utf8") };
  const colon = ref.indexOf(":");
  if (colon > 0) {
    const rev = ref.slice(0, colon);
    const gitPath = ref.slice(colon + 1);
    try {
      const text = execFileSync("git", ["show", `${rev}:${gitPath.startsWith("/") || gitPath.startsWith("./") ? gitPath : `./${gitPath}`}`], {
        cwd: io.cwd,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { ok: true, label: ref, file: resolve(io.cwd, gitPath), text };
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? "").trim().split("\n")[0];
      return { ok: false, error: `${ref}: not a file, and git cannot show it${stderr ? ` (${stderr})` : ""}` };
    }
  }
  return { ok: false, error: `${ref}: no such file` };
}

function textOf(rb: Runbook, span: Span): string {
  const text = rb.sources.find((s) => s.file === span.file)?.text ?? "";
  return text.slice(span.offset, span.offset + span.length);
}

function declKey(d: Decl): string {
  return `${d.kind} ${d.name.name}`;
}

export interface RunbookChanges {
  version?: { old: string; new: string };
  lines: { kind: "added" | "removed" | "changed" | "moved"; what: string; detail?: string }[];
}

/** The semantic changes between two compiled runbooks. */
export function diffRunbooks(oldRb: Runbook, newRb: Runbook): RunbookChanges {
  const changes: RunbookChanges = { lines: [] };
  const ov = textOf(oldRb, oldRb.header.version.span);
  const nv = textOf(newRb, newRb.header.version.span);
  if (ov !== nv) changes.version = { old: ov, new: nv };

  const declMap = (rb: Runbook, env?: string) => {
    const decls = env === undefined ? rb.decls : (rb.envs.find((e) => e.name.name === env)?.overrides ?? []);
    return new Map(decls.map((d) => [declKey(d), textOf(rb, d.span).replace(/\s+/g, " ")]));
  };
  const compareMaps = (a: Map<string, string>, b: Map<string, string>, where: string) => {
    for (const [k, v] of a) {
      if (!b.has(k)) changes.lines.push({ kind: "removed", what: `${k}${where}`, detail: v });
      else if (b.get(k) !== v) changes.lines.push({ kind: "changed", what: `${k}${where}`, detail: `${v}  →  ${b.get(k)}` });
    }
    for (const [k, v] of b) if (!a.has(k)) changes.lines.push({ kind: "added", what: `${k}${where}`, detail: v });
  };
  compareMaps(declMap(oldRb), declMap(newRb), "");

  const oldEnvs = new Map(oldRb.envs.map((e) => [e.name.name, e]));
  const newEnvs = new Map(newRb.envs.map((e) => [e.name.name, e]));
  for (const [name] of oldEnvs) if (!newEnvs.has(name)) changes.lines.push({ kind: "removed", what: `env ${name}` });
  for (const [name, e] of newEnvs) {
    const o = oldEnvs.get(name);
    if (!o) {
      changes.lines.push({ kind: "added", what: `env ${name}`, detail: e.protected ? "protected" : undefined });
      continue;
    }
    if (Boolean(o.protected) !== Boolean(e.protected)) changes.lines.push({ kind: "changed", what: `env ${name}`, detail: e.protected ? "now protected" : "no longer protected" });
    const oc = o.confirms.map((c) => textOf(oldRb, c.span)).join("\n");
    const nc = e.confirms.map((c) => textOf(newRb, c.span)).join("\n");
    if (oc !== nc) changes.lines.push({ kind: "changed", what: `env ${name} confirmations`, detail: `${oc || "(none)"}  →  ${nc || "(none)"}` });
    compareMaps(declMap(oldRb, name), declMap(newRb, name), ` in env ${name}`);
  }

  const oldSteps = allSteps(oldRb);
  const newSteps = allSteps(newRb);
  const oldById = new Map<string, Step>(oldSteps.map((s) => [s.id, s]));
  const newById = new Map<string, Step>(newSteps.map((s) => [s.id, s]));
  const oldOrder = oldSteps.map((s) => s.id).filter((id) => newById.has(id));
  const newOrder = newSteps.map((s) => s.id).filter((id) => oldById.has(id));
  for (const s of oldSteps) if (!newById.has(s.id)) changes.lines.push({ kind: "removed", what: `step ${s.id}`, detail: textOf(oldRb, s.title.span) });
  for (const s of newSteps) {
    const o = oldById.get(s.id);
    if (!o) {
      changes.lines.push({ kind: "added", what: `step ${s.id}`, detail: textOf(newRb, s.span) });
      continue;
    }
    const ot = `${textOf(oldRb, o.span)}\n`;
    const nt = `${textOf(newRb, s.span)}\n`;
    if (ot !== nt) {
      const patch = createPatch(s.id, ot, nt, "old", "new", { context: 2 }).split("\n").slice(4).join("\n").trimEnd();
      changes.lines.push({ kind: "changed", what: `step ${s.id}`, detail: patch });
    }
    if (oldOrder.indexOf(s.id) !== newOrder.indexOf(s.id)) {
      changes.lines.push({ kind: "moved", what: `step ${s.id}`, detail: `position ${oldOrder.indexOf(s.id) + 1} → ${newOrder.indexOf(s.id) + 1}` });
    }
  }
  return changes;
}

const SIGN = { added: "+", removed: "-", changed: "~", moved: ">" } as const;

function renderText(c: RunbookChanges, oldLabel: string, newLabel: string): string {
  const out = [`runbook diff ${oldLabel} → ${newLabel}`];
  if (c.version) out.push(`version ${c.version.old} → ${c.version.new}`);
  if (!c.version && c.lines.length > 0) out.push("warning: the runbook changed but its version did not");
  for (const l of c.lines) {
    out.push(`${SIGN[l.kind]} ${l.kind} ${l.what}${l.detail && !l.detail.includes("\n") ? `: ${l.detail}` : ""}`);
    if (l.detail?.includes("\n")) for (const d of l.detail.split("\n")) out.push(`    ${d}`);
  }
  if (!c.version && c.lines.length === 0) out.push("no changes");
  return `${out.join("\n")}\n`;
}

function renderMarkdown(c: RunbookChanges, oldLabel: string, newLabel: string): string {
  const out = [`## Runbook changes: \`${oldLabel}\` → \`${newLabel}\``, ""];
  if (c.version) out.push(`**Version** ${c.version.old} → ${c.version.new}`, "");
  else if (c.lines.length > 0) out.push("> ⚠️ The runbook changed but its version did not.", "");
  for (const kind of ["added", "removed", "changed", "moved"] as const) {
    const ls = c.lines.filter((l) => l.kind === kind);
    if (!ls.length) continue;
    out.push(`### ${kind[0]!.toUpperCase()}${kind.slice(1)}`, "");
    for (const l of ls) {
      if (l.detail?.includes("\n")) out.push(`- \`${l.what}\``, "", "```diff", l.detail, "```", "");
      else out.push(`- \`${l.what}\`${l.detail ? `: \`${l.detail}\`` : ""}`);
    }
    out.push("");
  }
  if (!c.version && c.lines.length === 0) out.push("No changes.");
  return `${out.join("\n").trimEnd()}\n`;
}

export async function diffCommand(oldRef: string, newRef: string, options: DiffOptions, io: CliIO): Promise<number> {
  const compiled: Runbook[] = [];
  for (const ref of [oldRef, newRef]) {
    const loaded = load(ref, io);
    if (!loaded.ok) {
      io.stderr.write(`runbook: ${loaded.error}\n`);
      return Exit.usage;
    }
    const result = compile(loaded.file, loaded.text);
    if (!result.runbook || hasErrors(result.diagnostics)) {
      // Named as on the command line (a file, or GIT_REV:PATH), not by the absolute path it was compiled under.
      printDiagnostics(io, result, new Map([[loaded.file, loaded.label]]));
      return Exit.failed;
    }
    compiled.push(result.runbook);
  }
  const changes = diffRunbooks(compiled[0]!, compiled[1]!);
  const out = options.format === "markdown" ? renderMarkdown(changes, oldRef, newRef) : renderText(changes, oldRef, newRef);
  // A runbook's strings may hold control characters: shown escaped, never sent to the terminal
  // as they are (the CR of a CRLF line end is dropped, as in the run log).
  io.stdout.write(escapeControls(out.replaceAll("\r\n", "\n")));
  return Exit.ok;
}
