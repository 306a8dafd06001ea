// Child process for the kill -9 test: writes runs to the journal at ARGV[2] in a
// loop, as fast as it can, printing each finished run's number, until it is killed.

import { openJournal } from "../../runtime/journal/index.js";
import { makePlan, runFinished, stepEvents, tick } from "./helpers.js";

const file = process.argv[2];
const journal = await openJournal(file);
const runbook = `kill9-${process.pid}`;
const stepIds = Array.from({ length: 8 }, (_, i) => `step-${i}`);
for (let i = 0; ; i++) {
  const runId = `${runbook}-${i}`;
  const plan = makePlan({ runbook, env: "prod", steps: stepIds });
  await journal.beginRun({ runId, plan, dryRun: false, params: { i: String(i) }, file: "kill9.rb" });
  journal.record({ type: "confirm", runId, time: tick(), question: `go ${i}?`, answer: "yes", by: "kill9" });
  for (const id of stepIds) {
    for (const e of stepEvents(runId, id, { output: [`${id} of run ${i}\n`, "x".repeat(200) + "\n"] })) journal.record(e);
  }
  journal.record(runFinished(runId, "succeeded"));
  process.stdout.write(`${i}\n`);
}
