// The JSON Schemas in schemas/ loaded once (ajv, draft 2020-12), and a check of
// `run --json` output: every line valid against the schema its `type` names and
// against event.schema.json.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { expect } from "vitest";

export const SCHEMAS = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "schemas");

function loadAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  const files = ["plan.schema.json", "event.schema.json", ...readdirSync(join(SCHEMAS, "events")).map((f) => `events/${f}`)];
  for (const f of files) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), "utf8")) as object);
  return ajv;
}


export const ajv = loadAjv();

export function validateEvents(stdout: string, seen: Set<string>): void {
  const lines = stdout.split("\n").filter((l) => l !== "");
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    const event = JSON.parse(line) as { type: string };
    seen.add(event.type);
    const own = ajv.getSchema(`https://unpkg.com/runbook/schemas/events/${event.type}.schema.json`);
    expect(own, `a schema for ${event.type}`).toBeDefined();
    expect(own!(event) ? [] : own!.errors, line).toEqual([]);
    const any = ajv.getSchema("https://unpkg.com/runbook/schemas/event.schema.json")!;
    expect(any(event), line).toBe(true);
  }
}

