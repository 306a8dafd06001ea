// The JSON Schemas in schemas/ against the runtime's types and real output: the
// committed files are what scripts/schemas.ts generates from the types now; every
// event of real runs (`run --json`: a run with output, guards, edits, data,
// questions, captures, a template upload; one that fails and rolls back; a dry run;
// a run on an sshd host group) validated against the schema its `type` names; and
// `plan --format json` of runbooks with every action kind, for each env and for
// all, against plan.schema.json.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RunEventType, RunStatus, StepStatus } from "../../runtime/events.js";
import type { Action } from "../../runtime/plan.js";
import { generateSchemas } from "../../scripts/schemas.js";
import { cli } from "../support/cli.js";
import { ajv, SCHEMAS, validateEvents } from "../support/event-schemas.js";
import { requireServer, sshdAvailable, sshdUnavailableReason, useSshHosts } from "../support/sshd.js";

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
step "Capture" as capture {
  run "echo r1" into revision
  run "echo s3cret" into secret key
  sql db "select count(*) from t" into rows
}
step "Template" as template {
  upload template "app.conf.tpl" to "app.conf"
  run "test -n \${key}"
}
`;

/** What `plan` must cover besides all-constructs.rb: captures, a template upload, a secret from a command, per-host values, approvals. */
const NEWER = `runbook "newer" version "1.0.0"
default env dev
secret token = command "echo t0ken"
host web = ["app@w1.example.org" { role = "primary" }, "app@w2.example.org" { role = "replica" }]
host one = "app@h1.example.org"
database db = sqlite "data.sqlite"
env dev {}
env prod {
  protected
  approvals 1 from "release-group" within 24h
}

step "Capture" as capture {
  run "echo r1" into revision
  run "echo k" into secret key
  sql db "select 1" into n
}
step "Template" as template on one {
  upload template "app.conf.tpl" to "/tmp/app.conf"
  run "echo \${revision} \${host.name} \${token}"
  edit "/tmp/app.conf" {
    replace "\${key}" with "x"
  }
}
step "Per host" as per_host on web {
  run "echo \${host.role}"
}
`;
const SIGNERS = `alice@example.org namespaces="runbook:release-group" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOsm83STLuWHrtp24eprG544q45jqb2oKXdpU+owIqZG\n`;

const GROUP = (targets: string[]) => `runbook "group" version "1.0.0"
host web = [${targets.map((t) => JSON.stringify(t)).join(", ")}]
step "Everywhere" as everywhere on web {
  run "echo \${host.name}"
}
step "Breaks" as breaks on web {
  run "exit 4"
}
`;

const sshd = sshdAvailable() || requireServer("sshd", false, sshdUnavailableReason() ?? undefined);

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
    const c = cli().file("r.rb", RUNBOOK).file("app.conf.tpl", "greeting = ${greeting}\nrevision = ${revision}\n");
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
        "run-finished", "dry-run-verdict", "progress", "failure-choice", "captured",
      ]),
    );
  });

  it("the committed schemas are what scripts/schemas.ts generates from the runtime's types (npm run schemas)", () => {
    const generated = generateSchemas();
    const committed = ["event.schema.json", "plan.schema.json", ...readdirSync(join(SCHEMAS, "events")).map((f) => `events/${f}`)];
    expect(committed.sort()).toEqual([...generated.keys()].sort());
    for (const [path, text] of generated) expect(readFileSync(join(SCHEMAS, path), "utf8"), `schemas/${path} (run npm run schemas)`).toBe(text);
  }, 180_000);

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
    const newer = cli().file("newer.rb", NEWER).file("app.conf.tpl", "x").file("allowed_signers", SIGNERS);
    const cases: [dir: string, file: string, envs: string[]][] = [
      [ROOT, "runbooks/haiti-release.rb", ["all", "dev", "uat", "prod"]],
      [ROOT, "tests/fixtures/all-constructs.rb", ["all", "dev", "prod"]],
      [newer.dir, join(newer.dir, "newer.rb"), ["all", "dev", "prod"]],
    ];
    const kinds = new Set<string>();
    for (const [dir, file, envs] of cases) {
      for (const env of envs) {
        const r = await cli(dir).args("plan", file, "--format", "json", "--env", env).run();
        expect(r.code, r.stderr).toBe(0);
        const plan = JSON.parse(r.stdout) as unknown;
        expect(validate(plan) ? [] : validate.errors, `${file} ${env}`).toEqual([]);
        for (const p of Array.isArray(plan) ? plan : [plan]) {
          for (const step of (p as { steps: { actions: { kind: string }[]; undo: { kind: string }[] }[] }).steps) {
            for (const a of [...step.actions, ...step.undo]) kinds.add(a.kind);
          }
        }
      }
    }
    const ACTION_KINDS: { [K in Action["kind"]]: true } = {
      require: true, confirm: true, manual: true, run: true, edit: true, upload: true, download: true, sql: true, export: true,
      import: true, sync: true, wait: true, note: true,
    };
    expect([...kinds].sort()).toEqual(Object.keys(ACTION_KINDS).sort());
  }, 120_000);

  describe.skipIf(!sshd)("on an sshd host group", () => {
    const hosts = useSshHosts(2);

    it("validates host-finished and the rest of a run on a group", async () => {
      const h = hosts();
      const seen = new Set<string>();
      const c = cli().file("g.rb", GROUP(h.hosts.map((x) => x.target))).env({ HOME: h.home });
      const r = await c.args("run", "g.rb", "--json", "--yes", "--on-failure", "stop").run();
      expect(r.code, r.stderr).toBe(1);
      validateEvents(r.stdout, seen);
      expect(seen).toContain("host-finished");
    }, 120_000);
  });
});
