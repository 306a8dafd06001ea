// A test hook for crash tests: with RUNBOOK_TEST_PAUSE_AFTER_CHANGE set to a file
// path, the runner writes that file once a command has ended (or an edit is
// written) and then waits, before the journal hears of it (tests kill it there).

export async function testPauseAfterChange(): Promise<void> {
  const file = process.env.RUNBOOK_TEST_PAUSE_AFTER_CHANGE;
  if (!file) return;
  const { writeFileSync } = await import("node:fs");
  writeFileSync(file, String(process.pid));
  await new Promise<void>(() => undefined);
}
