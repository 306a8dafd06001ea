// The journal: every run, its steps, their output tails, the confirmations,
// rollbacks and notes, and the per-(runbook, env) locks, kept in a database so
// that `history`, `show`, `resume` and `unlock` can read them later. It only
// subscribes to RunEvents (record()); the executor never writes to it otherwise,
// except beginRun/reopenRun, which take the lock in the same transaction as the
// run row.
//
// types.ts is the API, recorder.ts the shared event → write translation, rows.ts
// the row → record mapping, locks.ts and identity.ts the lock decisions. The
// stores live in stores/sqlite.ts (a local file, the default) and stores/mysql.ts
// (a team-shared database); only open.ts loads them, lazily, so importing the
// journal loads no database library.
//
// A SQLite journal holds commands, output and answers: its files are 0600 and the
// folders runbook makes for it 0700 (location.ts).

export * from "./types.js";
export { openJournal } from "./open.js";
export { defaultStateDir, defaultStateLocation, describeLocation, isMysqlLocation, JournalLocationError, resolveStateLocation } from "./location.js";
export { currentIdentity, isStale, newRunId, pidAlive } from "./identity.js";
export { JournalRecorder, OutputTail, type WriteOp } from "./recorder.js";
export { TAIL_MAX_CHARS, TAIL_MAX_LINES } from "./rows.js";
