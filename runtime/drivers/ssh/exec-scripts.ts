// The shell lines that find and signal a command started on a host: each exec is
// tagged with a token (RUNBOOK_EXEC_ID) so that a timeout, an abort or a resumed
// run can find its process group remotely, and reports its pid with a marker.

import { shellQuote } from "../../quote.js";
import { randomBytes } from "node:crypto";

/** Time between TERM and KILL, and after KILL before the channel is given up. */
export const KILL_GRACE_MS = 2000;
export const MARKER = /@@runbook-pid:(\d+):(\d*)@@\n/;

/**
 * Shell lines that find the process of the command with this exec id (exit 3 when
 * there is none) and leave its pid in $p: its shell by the token in its command line
 * (pgrep -f), else any process with the token in its environment (one that exec'd).
 */
export function findExecScript(token: string): string[] {
  // [x]yz: the pattern does not match the command line of the shell running it.
  const pattern = `RUNBOOK_EXEC_ID=[${token[0]}]${token.slice(1)}`;
  // The token alone in `t`: this script's command line must not hold
  // RUNBOOK_EXEC_ID=TOKEN itself, or pgrep would find this very shell.
  return [
    `t=${token}`,
    `p=$(pgrep -o -f ${shellQuote(pattern)} 2>/dev/null)`,
    `[ -n "$p" ] || { f=$(grep -l -a -F "RUNBOOK_EXEC_ID=$t" /proc/[0-9]*/environ 2>/dev/null | head -n 1); p=\${f#/proc/}; p=\${p%/environ}; }`,
    `[ -n "$p" ] || exit 3`,
  ];
}

/** Sends `sig` to the process group of the command with this exec id (exit 3: not found). */
export function signalExecScript(token: string, sig: "TERM" | "KILL"): string {
  return [
    ...findExecScript(token),
    `pg=; { read -r _ _ _ _ pg _ < /proc/$p/stat; } 2>/dev/null`,
    // `kill -SIG -PGID`: dash (a common /bin/sh) takes neither `--` nor `-s SIG -PGID`.
    `kill -${sig} "-\${pg:-$p}" 2>/dev/null || kill -s ${sig} "$p"`,
  ].join("\n");
}

let tokenCounter = 0;
export const tokenPrefix = randomBytes(4).toString("hex");
/** A token unique to one exec (its process is found by it when it must be killed). */
export function nextToken(): string {
  // Fixed length, so no token is a prefix of another.
  return `${tokenPrefix}${(++tokenCounter).toString(36).padStart(8, "0")}`;
}
