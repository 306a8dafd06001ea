// A captured value (`run "…" into NAME`) is journaled, so a resumed run has it: the step
// that captured it is done and does not run again, and a later step uses what it
// captured then. A value captured into a secret is never journaled: a resumed run that
// needs it fails that step, saying why (and its value is in no byte of the journal).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, type CliBuilder } from "../support/cli.js";
import { validateEvents } from "../support/event-schemas.js";

type Ev = { type: string; runId?: string; stepId?: string; name?: string; value?: string; secret?: boolean; status?: string; reason?: string };
const events = (stdout: string): Ev[] => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Ev);

function journalBytes(c: CliBuilder): Buffer {
  return Buffer.concat(["journal.db", "journal.db-wal"].map((f) => join(c.dir, f)).filter(existsSync).map((p) => readFileSync(p)));
}

describe("captured values and resume", () => {
  const src = `runbook "c" version "1.0.0"
step "Capture" as capture {
  run "date +%s%N" into stamp
  run "printf 'key-%s-secret' $(date +%s%N)" into secret key
}
step "Gate" as gate { run "test -f go" }
step "Use" as use { run "printf '%s' \${stamp} > used.txt" }
step "Use the key" as use_key { run "test -n \\"\${key}\\"" }
`;

  it("a resumed run uses the value its first attempt captured; a secret one is gone, and the step that needs it says why", async () => {
    const c = cli().file("c.rb", src);
    const first = await c.args("run", "c.rb", "--json").run();
    expect(first.code).toBe(1);
    const evs = events(first.stdout);
    const stamp = evs.find((e) => e.type === "captured" && e.name === "stamp")?.value;
    expect(stamp).toMatch(/^\d+$/);
    expect(evs.find((e) => e.type === "captured" && e.name === "key")).toEqual(expect.objectContaining({ secret: true }));
    expect(evs.find((e) => e.type === "captured" && e.name === "key")).not.toHaveProperty("value");
    expect(first.stdout + first.stderr).not.toMatch(/key-\d+-secret/);
    const runId = evs.find((e) => e.type === "run-started")!.runId!;
    const seen = new Set<string>();
    validateEvents(first.stdout, seen);
    expect(seen).toContain("captured");

    c.file("go", "");
    const resumed = await c.args("resume", runId, "--json").run();
    const again = events(resumed.stdout);
    expect(again.some((e) => e.type === "step-started" && e.stepId === "capture")).toBe(false);
    expect(readFileSync(join(c.dir, "used.txt"), "utf8")).toBe(stamp);
    const useKey = again.find((e) => e.type === "step-finished" && e.stepId === "use_key");
    expect(useKey?.status).toBe("failed");
    expect(useKey?.reason).toMatch(/`\$\{key\}` has no value: step capture has not captured it in this run \(a value captured into a secret is never journaled/);
    expect(resumed.code).toBe(1);
    expect(journalBytes(c).toString("latin1")).not.toMatch(/key-\d+-secret/);
  });
});
