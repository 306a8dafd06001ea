// What `runbook --version` prints: the version of the installed package, read from
// its package.json (found from this module's place: cli/ from source, dist/cli/ or
// dist/bundle/ when built), and the Node it runs on, whose V8 decides whether the
// build's code cache can be used (bin/runbook.js).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's name, which the package.json searched for must have. */
export const PACKAGE_NAME = "runbook";

/**
 * The version in the package.json of the `runbook` package holding `file` (the nearest
 * one named so, going up), or undefined when there is none.
 */
export function packageVersion(file: string = fileURLToPath(import.meta.url)): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json here, or not JSON: look further up
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The line `runbook --version` prints (without the newline). */
export function versionText(
  version: string | undefined,
  node: Pick<NodeJS.Process, "version" | "platform" | "arch"> = process,
): string {
  return `${PACKAGE_NAME} ${version ?? "(version unknown: no package.json)"} on Node.js ${node.version} (${node.platform}-${node.arch})`;
}
