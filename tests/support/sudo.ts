// The sudo gate of the tests that run commands as another user (`as USER`): the
// local driver's `sudo -n -u`, and the sshd harness's sudoers drop-in (checked
// with visudo). Like sshd and MariaDB, a missing sudo skips those tests with a
// message that says what to install, and fails them under CI=true
// (requireServer in sshd.ts).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { requireServer } from "./sshd.js";

/** Whether `program` is an executable file in one of the PATH folders. */
export function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/**
 * Why commands cannot be run as another user here without a password, or null
 * when they can: sudo and visudo installed, and the tests running as root (root
 * may become any user with `sudo -n`; the harness writes /etc/sudoers.d).
 */
export function sudoUnavailableReason(): string | null {
  if (!onPath("sudo")) return "sudo is not installed (apt-get install sudo)";
  if (!onPath("visudo")) return "visudo is not installed (apt-get install sudo)";
  if (typeof process.getuid !== "function" || process.getuid() !== 0)
    return "running commands as another user without a password needs the tests to run as root";
  return null;
}

/** True when sudo can be used; else a visible skip message (an error under CI=true). */
export function requireSudo(what = "sudo"): boolean {
  const reason = sudoUnavailableReason();
  return requireServer(what, reason === null, reason ?? undefined);
}
