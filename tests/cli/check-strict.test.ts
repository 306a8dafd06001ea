// `runbook check --strict`: every warning is an error (shown and counted as one, exit
// 1); without it a warning leaves the exit code 0. In-process, through main().

import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

const WARNS = 'runbook "r" version "1.0.0"\nparam branch = "main"\nstep "S" {\n  run "git checkout ${raw branch}"\n}\n';
const CLEAN = 'runbook "r" version "1.0.0"\nparam branch = "main"\nstep "S" {\n  run "git checkout ${branch}"\n}\n';

describe("check --strict", () => {
  it("without it, a warning is shown and the exit code is 0", async () => {
    const r = await cli().file("r.rb", WARNS).args("check", "r.rb").run();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("r.rb:4:21: warning: `${raw branch}` inserts param `branch`");
    expect(r.stdout).toBe("r.rb: ok (0 errors, 1 warning)\n");
  });

  it.each([
    ["text", (r: { stdout: string; stderr: string }) => expect(r.stderr).toContain("r.rb:4:21: error: `${raw branch}` inserts param `branch`")],
    ["json", (r: { stdout: string; stderr: string }) => expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ severity: "error", code: "raw-input", line: 4, column: 21 })])],
    ["github", (r: { stdout: string; stderr: string }) => expect(r.stdout).toMatch(/^::error file=r\.rb,line=4,col=21::/)],
  ])("with it, the warning is an error (--format %s) and the exit code 1", async (format, expectOutput) => {
    const r = await cli().file("r.rb", WARNS).args("check", "r.rb", "--strict", "--format", format).run();
    expect(r.code).toBe(1);
    expectOutput(r);
  });

  it("a runbook with no warnings passes --strict", async () => {
    const r = await cli().file("r.rb", CLEAN).args("check", "r.rb", "--strict").run();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("r.rb: ok\n");
  });
});
