// `runbook diff` shows a runbook's control characters escaped (a string holding ESC ]0;…
// BEL must not retitle the reviewer's terminal); a CRLF line end shows as a line end.

import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

const V1 = 'runbook "r" version "1.0.0"\r\nstep "s" {\r\n  run "echo one"\r\n}\r\n';
const V2 = 'runbook "r" version "1.0.1"\r\nstep "s" {\r\n  run "echo \u001b]0;owned\u0007 \u001b[2J"\r\n}\r\n';

describe("runbook diff", () => {
  it.each(["text", "markdown"])("shows control characters escaped (--format %s)", async (format) => {
    const r = await cli().file("v1.rb", V1).file("v2.rb", V2).args("diff", "v1.rb", "v2.rb", "--format", format).run();
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain('run "echo \\e]0;owned\\a \\e[2J"');
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});
