// How the values of a command reach it without ever being part of its text. The
// planner writes each `${…}` as a reference to a shell variable `__rb_N`
// (language/value-placement.ts); a driver hands the values over apart from the
// code, by one of two ways:
// - the environment of the local `sh -c` (nothing on the command line, so `ps`
//   shows only the references);
// - stdin, read by a short prelude before the command: on a host (sshd gives the
//   command line to the login shell, and AcceptEnv is rarely set) and under sudo
//   (which resets the environment). Each value is one line of stdin, every byte
//   outside [A-Za-z0-9] written as `\0ooo`, decoded by `printf %b`: the line holds
//   no character the shell could read as code, and the value comes back byte for
//   byte. What is left of stdin after the values is the command's own.

import { shellValueName } from "../language/value-placement.js";
import { DriverError } from "./drivers/driver.js";

/** A value with a NUL byte cannot be a shell variable (nor an environment variable). */
function checkValue(value: string, i: number): void {
  if (value.includes("\0")) {
    throw new DriverError(`value ${i + 1} of the command holds a NUL byte, which no shell variable can carry`, "nul-value");
  }
}

/** The values as environment variables `__rb_1`, `__rb_2`, … */
export function valueEnv(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  values.forEach((v, i) => {
    checkValue(v, i);
    env[shellValueName(i)] = v;
  });
  return env;
}

/** POSIX sh that reads `count` values from stdin into `__rb_1` … (exported), one line each; empty for none. */
export function valuePrelude(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const v = shellValueName(i);
    // The trailing `x` keeps $( … ) from eating the value's own final line breaks.
    lines.push(`IFS= read -r ${v} && ${v}=$(printf '%bx' "$${v}") && ${v}=\${${v}%x} && export ${v} || exit 125`);
  }
  return lines.join("\n");
}

const PLAIN = /[A-Za-z0-9]/;

/** The stdin lines that valuePrelude reads back as `values`. */
export function encodeValues(values: readonly string[]): Buffer {
  const out: string[] = [];
  values.forEach((v, i) => {
    checkValue(v, i);
    let line = "";
    for (const byte of Buffer.from(v, "utf8")) {
      const c = String.fromCharCode(byte);
      line += PLAIN.test(c) ? c : "\\0" + byte.toString(8).padStart(3, "0");
    }
    out.push(line + "\n");
  });
  return Buffer.from(out.join(""), "latin1");
}

/**
 * Linux takes at most 128 KiB in one argument (MAX_ARG_STRLEN), and a command is one
 * argument of `sh -c` here and of the login shell on a host: past that the kernel says
 * only E2BIG (locally) or the host's shell exits 1. Said before anything starts.
 */
export const MAX_COMMAND_BYTES = 128 * 1024;

export function checkCommandLength(command: string): void {
  const bytes = Buffer.byteLength(command);
  if (bytes < MAX_COMMAND_BYTES) return;
  throw new DriverError(
    `the command is ${Math.ceil(bytes / 1024)} KiB, more than the ${MAX_COMMAND_BYTES / 1024} KiB one command line may hold; put it in a script file (upload it, then run the script)`,
    "command-too-long",
  );
}
