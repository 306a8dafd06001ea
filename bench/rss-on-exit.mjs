// Preloaded (`node --import`) into a `runbook` process by the db-memory bench: the
// process's peak RSS in MB, written at its exit to the file $RUNBOOK_BENCH_RSS_FILE.
import { writeFileSync } from "node:fs";

process.on("exit", () => {
  writeFileSync(process.env.RUNBOOK_BENCH_RSS_FILE, String(Math.round(process.resourceUsage().maxRSS / 1024)));
});
