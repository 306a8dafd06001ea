// `approvals N from "group" [within D]` in an env block and the allowed_signers
// file beside the runbook: parsed, planned, formatted, and checked with
// FILE:LINE:COLUMN errors in the runbook and in the signers file.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllowedSigners } from "../../language/allowed-signers.js";
import { compile } from "../../language/compile.js";
import { renderText, type Diagnostic } from "../../language/diagnostics.js";
import { format } from "../../language/format.js";
import { buildPlan } from "../../runtime/planner.js";

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnbmMYW6w3Jk7D0zJvXQa6F3xVv3m2y0ZcGZpYk8U0a";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPu3bG7GmVq0L9gIc2oZ6o7eN0Xb1mQy6YcXk2cH9d1b";

const RB = (approvals: string) => `runbook "release" version "1.0.0"
env prod {
  ${approvals}
}
step "Deploy" {
  run "true"
}
`;

const SIGNERS = `# who may approve
alice@example.org namespaces="runbook:release-group,git" ${KEY_A}
bob@example.org namespaces="runbook:release-group" ${KEY_B}
`;

function compileWith(runbook: string, signers: string | undefined) {
  const files = new Map<string, string>([["/r/release.rb", runbook]]);
  if (signers !== undefined) files.set("/r/allowed_signers", signers);
  const result = compile("/r/release.rb", undefined, {
    readFile: (p) => {
      const t = files.get(p);
      if (t === undefined) throw new Error("ENOENT");
      return t;
    },
  });
  return { ...result, text: (ds: Diagnostic[] = result.diagnostics) => renderText(ds, { sources: result.sources }) };
}

describe("approvals in the language", () => {
  it("compiles, plans the requirement (count, group, age) and each source file's sha256", () => {
    const r = compileWith(RB('approvals 2 from "release-group" within 12h'), SIGNERS);
    expect(r.diagnostics).toEqual([]);
    const built = buildPlan(r.runbook!, { env: "prod", sets: {}, runId: "r1", builtins: { "run.user": "alice", "run.started": "2026-12-07T00:00:00Z" } });
    if ("error" in built) throw new Error(built.error);
    expect(built.plan.approvals).toEqual({ count: 2, group: "release-group", maxAgeMs: 12 * 3_600_000 });
    expect(built.plan.runbook.sources?.map((s) => s.path)).toEqual(["release.rb", "allowed_signers"]);
    expect(built.plan.runbook.sources?.every((s) => /^[0-9a-f]{64}$/.test(s.sha256))).toBe(true);
  });

  it("defaults to 24 hours, and a runbook without approvals plans none (its plan is unchanged)", () => {
    const r = compileWith(RB('approvals 1 from "release-group"'), SIGNERS);
    const built = buildPlan(r.runbook!, { env: "prod", sets: {}, runId: "r1", builtins: {} });
    if ("error" in built) throw new Error(built.error);
    expect(built.plan.approvals?.maxAgeMs).toBe(24 * 3_600_000);
    const none = compileWith(RB(""), undefined);
    const plain = buildPlan(none.runbook!, { env: "prod", sets: {}, runId: "r1", builtins: {} });
    if ("error" in plain) throw new Error(plain.error);
    expect(plain.plan.approvals).toBeUndefined();
    expect(plain.plan.runbook.sources).toBeUndefined();
  });

  it("formats as written, on its own line", () => {
    const src = RB('approvals   1 from "release-group"   within 2h');
    expect(format(src).output).toContain('\n  approvals 1 from "release-group" within 2h\n');
  });

  it("no allowed_signers beside the runbook: an error at the statement", () => {
    const r = compileWith(RB('approvals 1 from "release-group"'), undefined);
    expect(r.runbook).toBeUndefined();
    expect(r.text()).toContain("/r/release.rb:3:3: error: `approvals` needs the allowed-signers file beside the runbook, and /r/allowed_signers is not there");
    expect(r.diagnostics[0]!.code).toBe("allowed-signers");
  });

  it("an unknown group, or more approvals than members: errors at the group and the count", () => {
    const unknown = compileWith(RB('approvals 1 from "release-grop"'), SIGNERS);
    expect(unknown.diagnostics.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["unknown-group", 3, 20]]);
    expect(unknown.text()).toContain('no key in /r/allowed_signers signs for group "release-grop"');
    const many = compileWith(RB('approvals 3 from "release-group"'), SIGNERS);
    expect(many.diagnostics.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["bad-count", 3, 13]]);
    expect(many.text()).toContain('3 approvals from "release-group" can never be given: it has 2 members (alice@example.org, bob@example.org)');
  });

  it("a zero count or age, a second approvals, an interpolated group", () => {
    expect(compileWith(RB('approvals 0 from "release-group"'), SIGNERS).diagnostics.map((d) => d.code)).toEqual(["bad-count"]);
    expect(compileWith(RB('approvals 1 from "release-group" within 0s'), SIGNERS).diagnostics.map((d) => d.code)).toEqual(["bad-duration"]);
    const twice = compileWith(RB('approvals 1 from "release-group"\n  approvals 2 from "release-group"'), SIGNERS);
    expect(twice.text()).toContain("/r/release.rb:4:3: error: `approvals` is given twice");
    const interp = compileWith(RB('approvals 1 from "${env}-group"'), SIGNERS);
    expect(interp.text()).toContain("/r/release.rb:3:20: error: an approval group cannot contain `${…}`");
  });

  it("errors in allowed_signers are reported at their line and column, with the line and a caret", () => {
    const bad = [
      `alice@example.org ${KEY_A}`, // no namespaces: a member of every group
      `bob@* namespaces="runbook:release-group" ${KEY_B}`,
      `carol@example.org namespaces="runbook:*" ${KEY_B}`,
      `dave@example.org namespaces="runbook:release-group" ssh-ed25519`,
      `erin@example.org namespaces="runbook:release-group" ${KEY_B}`,
    ].join("\n");
    const r = compileWith(RB('approvals 1 from "release-group"'), bad);
    const signers = r.diagnostics.filter((d) => d.span.file === "/r/allowed_signers");
    expect(signers.map((d) => [d.span.line, d.span.column])).toEqual([
      [1, 1],
      [2, 1],
      [3, 19],
      [4, 53],
    ]);
    const text = r.text(signers);
    expect(text).toContain('/r/allowed_signers:1:1: error: this key has no `namespaces="runbook:GROUP,…"`: it would sign for every group');
    expect(text).toContain("/r/allowed_signers:2:1: error: principal `bob@*` is a pattern: an approver must be one identity");
    expect(text).toContain("/r/allowed_signers:3:19: error: namespace `runbook:*` is a pattern");
    expect(text).toContain("/r/allowed_signers:4:53: error: the key is missing or is not base64");
    expect(text).toContain("\n2 | bob@* namespaces=");
    expect(text).toContain("\n  |                   ^^^^^^^^^^^^^^^^^^^^^^\n");
    expect(r.diagnostics.some((d) => d.code === "unknown-group")).toBe(false); // erin is in the group
  });

  it("an unclosed quote in allowed_signers is reported at the quote, with a caret there", () => {
    const bad = `alice@example.org namespaces="runbook:release-group ${KEY_A}\nbob@example.org namespaces="runbook:release-group" ${KEY_B}`;
    const r = compileWith(RB('approvals 1 from "release-group"'), bad);
    const signers = r.diagnostics.filter((d) => d.span.file === "/r/allowed_signers");
    expect(signers.map((d) => [d.span.line, d.span.column, d.span.length])).toEqual([[1, 30, 1]]);
    const text = r.text(signers);
    expect(text).toContain('/r/allowed_signers:1:30: error: this `"` is not closed: a quoted field ends with a second `"` on the same line');
    expect(text).not.toContain("key type");
    expect(text).toContain(`\n  | ${" ".repeat(29)}^\n`);
  });

  it("allowed_signers that is a directory: says it is a directory", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "runbook-signers-"));
    try {
      writeFileSync(path.join(dir, "release.rb"), RB('approvals 1 from "release-group"'));
      mkdirSync(path.join(dir, "allowed_signers"));
      const r = compile(path.join(dir, "release.rb"));
      const text = renderText(r.diagnostics, { sources: r.sources });
      expect(r.diagnostics.map((d) => d.code)).toEqual(["allowed-signers"]);
      expect(text).toContain(`${path.join(dir, "allowed_signers")} is a directory, not a file`);
      expect(text).not.toContain("is not there");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("parses groups from namespaces; other namespaces (git) are not groups", () => {
    const s = parseAllowedSigners(SIGNERS);
    expect(s.problems).toEqual([]);
    expect(s.lines.map((l) => [l.principals, l.groups])).toEqual([
      [["alice@example.org"], ["release-group"]],
      [["bob@example.org"], ["release-group"]],
    ]);
  });
});
