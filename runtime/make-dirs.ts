// `mkdir -p`, without Node's `mkdir(…, { recursive: true })`, which never returns
// for a path where the kernel says ENOENT although the parent is there (under
// /proc, say: it makes the parent again and retries, forever). Here the missing
// folders are found walking up, then made one at a time; any error is thrown.

import { mkdirSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";

function code(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function notADirectory(dir: string): Error {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: "ENOTDIR", path: dir });
}

/** The folders of `dir` that do not exist yet, outermost first (a few stats: no need to wait on them). */
function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if (!statSync(d).isDirectory()) throw notADirectory(d);
      break;
    } catch (e) {
      if (code(e) !== "ENOENT") throw e;
      missing.unshift(d);
      if (path.dirname(d) === d) break;
    }
  }
  return missing;
}

export async function makeDirs(dir: string, mode?: number): Promise<void> {
  for (const d of missingDirs(dir)) {
    try {
      await mkdir(d, mode === undefined ? {} : { mode });
    } catch (e) {
      if (code(e) !== "EEXIST") throw e;
    }
  }
}

export function makeDirsSync(dir: string, mode?: number): void {
  for (const d of missingDirs(dir)) {
    try {
      mkdirSync(d, mode === undefined ? {} : { mode });
    } catch (e) {
      if (code(e) !== "EEXIST") throw e;
    }
  }
}
