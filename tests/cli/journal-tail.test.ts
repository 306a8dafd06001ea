// A running step's output reaches the journal while the step runs (at most
// TAIL_FLUSH_MS after it is printed), not only when it ends: after `kill -9`,
// `show` still has what the log had printed (issue 16, part 2).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { cli } from "../support/cli.js";
import { alive } from "../support/process.js";

vi.setConfig({ testTimeout: 300_000 });

const RUNBOOK = `runbook "tail" version "1.0.0"
step "Long" as long { run "echo first-line-$((6*7)); echo $$ > sleeper.pid; exec sleep 600" }
`;

describe("the journal during a step", () => {
  it("has the step's output before it ends, and keeps it after kill -9", async () => {
    const c = cli().file("rb.rb", RUNBOOK);
    const p = c.args("run", "rb.rb", "--no-tui").spawn();
    await p.waitFor(/first-line-42/);
    const showTail = async () => {
      const r = await cli(c.dir).args("history", "--json").run();
      const id = (JSON.parse(r.stdout) as { id: string }[])[0]!.id;
      const s = await cli(c.dir).args("show", id, "--json").run();
      return ((JSON.parse(s.stdout) as { steps: { stepId: string; outputTail: string }[] }).steps.find((st) => st.stepId === "long")?.outputTail) ?? "";
    };
    // While the step still runs (a bounded wait for the write, not a timing assertion).
    let tail = "";
    for (let i = 0; i < 600 && !tail.includes("first-line-42"); i++) {
      tail = await showTail();
      if (!tail.includes("first-line-42")) await new Promise((r) => setTimeout(r, 100));
    }
    expect(tail).toContain("first-line-42");
    p.kill("SIGKILL");
    await p.exited;
    expect(await showTail()).toContain("first-line-42");
    const pidFile = join(c.dir, "sleeper.pid");
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8"));
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
