// Generates the JSON Schemas in schemas/ from the runtime's types: runtime/plan.ts's
// Plan, and runtime/events.ts's RunEvent as runtime/views/ndjson.ts prints it, with
// ts-json-schema-generator, so they cannot drift from what `plan --format json` and
// `run --json` print. `npm run schemas` writes them; tests/schemas/schemas.test.ts
// regenerates them in memory and fails when the committed files differ.

import { writeFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGenerator, type Config } from "ts-json-schema-generator";
import type { RunEventType } from "../runtime/events.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BASE = "https://unpkg.com/runbook/schemas/";
const DRAFT = "https://json-schema.org/draft/2020-12/schema";
/** ISO 8601 with a time zone, as `new Date().toISOString()` and the journal write it. */
const ISO_TIME = "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** What each event is, for its schema's title (a new event type is a type error here until it has one). */
const EVENT_TITLES: { [K in RunEventType]: string } = {
  "run-started": "a run (or a resumed run) starts; its steps in run order",
  "step-started": "a step (or one attempt of it) starts",
  output: "a line of a command's stdout or stderr (secrets redacted)",
  action: "an action of a step is about to be done",
  guard: "a step's `when`/`unless`, or a `require`, evaluated",
  confirm: "a `confirm` question and its answer",
  manual: "a `manual` instruction and its answer",
  note: "a `note` of a step",
  captured: "a value kept with `into NAME`; a secret one carries no value",
  progress: "how far a data step (export, import, sync) is",
  diff: "the unified diff an `edit` (or a template upload) makes",
  "step-finished": "a step finished: its status and why",
  "command-started": "a step's command started, and how resume finds it again",
  "command-ended": "a step's command ended",
  "host-finished": "one member of a host group finished a step",
  "rollback-started": "rollback starts: the steps it undoes, in order",
  "rollback-step": "one step undone (or its undo failed)",
  "failure-choice": "what was chosen after a failed step",
  "approval-waiting": "the run waits at an approval gate: what an approver signs",
  approval: "one signed approval and its verdict",
  "run-finished": "the run ended: its status and exit code",
  "preflight-started": "preflight starts: every target the plan can touch",
  "preflight-target": "one preflight target reached (or not)",
  "preflight-finished": "preflight ended: how many targets had each status",
  "dry-run-verdict": "a dry run's verdict, just before run-finished",
};

/** What a type cannot say: a secret captured value is never printed. */
const EVENT_EXTRA: Partial<Record<RunEventType, JsonObject>> = {
  captured: { if: { properties: { secret: { const: true } } }, then: { not: { required: ["value"] } } },
};

function generate(type: string, file: string, expose: Config["expose"]): JsonObject {
  const generator = createGenerator({
    path: join(ROOT, file),
    tsconfig: join(ROOT, "tsconfig.json"),
    type,
    expose,
    topRef: false,
    jsDoc: "extended",
    skipTypeCheck: true,
    additionalProperties: false,
    sortProps: true,
  });
  return generator.createSchema(type) as unknown as JsonObject;
}

/** Draft-07 output into draft 2020-12: `definitions` become `$defs`, and every `time` gets its ISO 8601 pattern. */
function toDraft2020(node: Json): Json {
  if (Array.isArray(node)) return node.map(toDraft2020);
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$schema") continue;
    if (k === "$ref" && typeof v === "string") out[k] = v.replace("#/definitions/", "#/$defs/");
    else out[k === "definitions" ? "$defs" : k] = toDraft2020(v);
  }
  return out;
}

function withTimePattern(event: JsonObject): JsonObject {
  const props = event.properties as JsonObject;
  props.time = { ...(props.time as JsonObject), pattern: ISO_TIME };
  return event;
}

/** As toJsonLine (runtime/views/ndjson.ts) prints an event: `stepId` always there, null for a run-level event. */
function asJsonLine(event: JsonObject): JsonObject {
  const props = event.properties as JsonObject;
  const required = event.required as string[];
  if (!props.stepId) props.stepId = { type: "null", description: "null: a run-level event." };
  else if (!required.includes("stepId")) props.stepId = { ...(props.stepId as JsonObject), type: ["string", "null"] };
  if (!required.includes("stepId")) required.push("stepId");
  required.sort();
  return event;
}

function header(id: string, title: string): JsonObject {
  return { $schema: DRAFT, $id: BASE + id, title };
}

/** Every schema file, by its path under schemas/, as the text to commit. */
export function generateSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  const put = (path: string, schema: JsonObject) => files.set(path, JSON.stringify(schema, null, 2) + "\n");

  const plan = toDraft2020(generate("Plan", "runtime/plan.ts", "export")) as JsonObject;
  const { $defs, ...planItself } = plan;
  put("plan.schema.json", {
    ...header("plan.schema.json", 'runbook plan --format json: a Plan (one env), or an array of them (--env all). "schema": 2 is this shape.'),
    oneOf: [{ $ref: "#/$defs/Plan" }, { type: "array", items: { $ref: "#/$defs/Plan" } }],
    $defs: { ...($defs as JsonObject), Plan: planItself },
  });

  const union = toDraft2020(generate("RunEvent", "runtime/events.ts", "none")) as JsonObject;
  const members = union.anyOf as JsonObject[];
  const types: string[] = [];
  for (const member of members) {
    const type = ((member.properties as JsonObject).type as JsonObject).const as RunEventType;
    types.push(type);
    put(`events/${type}.schema.json`, {
      ...header(`events/${type}.schema.json`, `runbook run --json: the \`${type}\` event (${EVENT_TITLES[type]})`),
      ...withTimePattern(asJsonLine(member)),
      ...EVENT_EXTRA[type],
    });
  }
  put("event.schema.json", {
    ...header("event.schema.json", "runbook run --json: one line of NDJSON (any event; its `type` names its schema in events/)"),
    oneOf: types.map((t) => ({ $ref: `events/${t}.schema.json` })),
  });
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = generateSchemas();
  const dir = join(ROOT, "schemas");
  for (const f of readdirSync(join(dir, "events"))) if (!files.has(`events/${f}`)) rmSync(join(dir, "events", f));
  for (const [path, text] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  process.stdout.write(`${files.size} schemas written to schemas/\n`);
}
