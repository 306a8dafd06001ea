// The JSON Schemas in schemas/ against real output: every event of real runs
// (`run --json`: a run with output, guards, edits, data, questions; one that fails
// and rolls back; a dry run) validated against the schema its `type` names, and
// `plan --format json` for one env and for all against plan.schema.json.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RunEventType, RunStatus, StepStatus } from "../../runtime/events.js";
import { cli } from "../support/cli.js";
import { ajv, SCHEMAS, validateEvents } from "../support/event-schemas.js";

/** Every event type (a new one is a type error here until it is listed, then a test failure until it has a schema). */
const EVENT_TYPES: { [K in RunEventType]: true } = {
  "run-started": true, "step-started": true, output: true, action: true, guard: true, confirm: true, manual: true, note: true,
  progress: true, diff: true, "step-finished": true, "command-started": true, "command-ended": true, "host-finished": true,
  "rollback-started": true, "rollback-step": true, "failure-choice": true, "run-finished": true, "preflight-started": true,
  "preflight-target": true, "preflight-finished": true, "dry-run-verdict": true, "approval-waiting": true, approval: true, captured: true,
};

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const RUNBOOK = `runbook "schemas" version "1.0.0"
default env dev
var greeting = "hello"
database db = sqlite "data.sqlite"
env dev {}
env prod {
  protected
}

step "Prepare" as prepare {
  run "echo \${greeting}; echo oops >&2"
  run "printf 'debug = 1\\\\n' > config.py"
  undo "rm -f config.py"
}
step "Edit" as edit_it {
  confirm "Go on?"
  manual "Look at the dashboard"
  edit "config.py" {
    replace "debug = 1" with "debug = 0"
  }
  note "edited"
}
step "Data" as data {
  sql db "create table if not exists t (a integer); insert into t values (1);"
  export db tables ["t"] to "backup.csv"
  undo "true"
}
step "Guarded" as guarded when env == "prod" {
  run "echo never"
  undo "true"
}
step "Checked" as checked unless succeeds "false" {
  require succeeds "true"
  note "ok"
}
`;

const FAILING = `runbook "failing" version "1.0.0"
step "Works" as works {
  run "echo fine"
  undo "echo undoing"
}
step "Breaks" as breaks {
  run "exit 3"
  undo "true"
}
`;

describe("JSON Schemas against real output", () => {
  it("validates every event of real runs against its schema", async () => {
    const seen = new Set<string>();
    const c = cli().file("r.rb", RUNBOOK);
    const ok = await c.args("run", "r.rb", "--json", "--yes").run();
    expect(ok.code, ok.stderr).toBe(0);
    validateEvents(ok.stdout, seen);

    const dry = await cli(c.dir).args("run", "r.rb", "--json", "--dry-run", "--yes").run();
    validateEvents(dry.stdout, seen);

    const f = cli().file("f.rb", FAILING);
    const failed = await f.args("run", "f.rb", "--json", "--yes", "--on-failure", "rollback").run();
    expect(failed.code).toBe(1);
    validateEvents(failed.stdout, seen);

    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        "run-started", "preflight-started", "preflight-target", "preflight-finished", "step-started", "output", "action", "guard",
        "confirm", "manual", "note", "diff", "step-finished", "command-started", "command-ended", "rollback-started", "rollback-step",
        "run-finished", "dry-run-verdict", "progress", "failure-choice",
      ]),
    );
  });

  it("has one schema for each event type, and event.schema.json names them all", () => {
    const files = readdirSync(join(SCHEMAS, "events")).sort();
    expect(files).toEqual(Object.keys(EVENT_TYPES).map((t) => `${t}.schema.json`).sort());
    const any = JSON.parse(readFileSync(join(SCHEMAS, "event.schema.json"), "utf8")) as { oneOf: { $ref: string }[] };
    expect(any.oneOf.map((r) => r.$ref).sort()).toEqual(files.map((f) => `events/${f}`));
  });

  it("names every run status and step status the runtime has", () => {
    const RUN: { [K in RunStatus]: true } = { running: true, succeeded: true, failed: true, aborted: true, interrupted: true, waiting: true };
    const STEP: { [K in StepStatus]: true } = { pending: true, running: true, ok: true, failed: true, skipped: true, interrupted: true, "rolled-back": true };
    const statusEnum = (type: string) => (JSON.parse(readFileSync(join(SCHEMAS, "events", `${type}.schema.json`), "utf8")) as { properties: { status: { enum: string[] } } }).properties.status.enum;
    expect(statusEnum("run-finished").sort()).toEqual(Object.keys(RUN).sort());
    expect(statusEnum("step-finished").sort()).toEqual(expect.arrayContaining(Object.keys(STEP).filter((s) => s !== "pending" && s !== "running").sort()));
  });

  it("a schema refuses what is not an event", () => {
    const own = ajv.getSchema("https://unpkg.com/runbook/schemas/events/note.schema.json")!;
    expect(own({ type: "note", runId: "r", stepId: "s", time: "2026-01-01T00:00:00.000Z", text: "x" })).toBe(true);
    expect(own({ type: "note", runId: "r", stepId: "s", time: "2026-01-01T00:00:00.000Z", text: 1 })).toBe(false);
    expect(own({ type: "note", runId: "r", stepId: "s", time: "2026-01-01T00:00:00.000Z", text: "x", extra: true })).toBe(false);
  });

  it("validates `plan --format json`, one env and all", async () => {
    const validate = ajv.getSchema("https://unpkg.com/runbook/schemas/plan.schema.json")!;
    for (const file of ["runbooks/haiti-release.rb", "tests/fixtures/all-constructs.rb"]) {
      for (const env of ["all", undefined]) {
        const r = await cli(ROOT).args("plan", file, "--format", "json", ...(env ? ["--env", env] : [])).run();
        expect(r.code, r.stderr).toBe(0);
        const plan = JSON.parse(r.stdout) as unknown;
        expect(validate(plan) ? [] : validate.errors, `${file} ${env}`).toEqual([]);
      }
    }
  });
});
