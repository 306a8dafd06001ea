// cli/version.ts: `runbook --version` names the version of the package.json of the
// `runbook` package holding the module (the nearest one so named, going up) and the
// Node it runs on; main() prints it for -V and --version, before or after a command.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { packageVersion, versionText } from "../../cli/version.js";
import { cli } from "../support/cli.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const base = mkdtempSync(join(tmpdir(), "runbook-version-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A tree of package.json files under a fresh folder; returns the path of a module file in `at`. */
function tree(files: Record<string, unknown>, at: string): string {
  const dir = mkdtempSync(join(base, "t-"));
  for (const [path, json] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), typeof json === "string" ? json : JSON.stringify(json));
  }
  mkdirSync(join(dir, at), { recursive: true });
  return join(dir, at, "version.js");
}

describe("packageVersion", () => {
  it.each<[string, Record<string, unknown>, string, string | undefined]>([
    ["the package's, from dist/bundle/", { "package.json": { name: "runbook", version: "1.2.3" } }, "dist/bundle", "1.2.3"],
    ["past a package.json of another name (bin/package.json)", { "package.json": { name: "runbook", version: "2.0.0" }, "bin/package.json": { type: "commonjs" } }, "bin", "2.0.0"],
    ["past one that is not JSON", { "package.json": { name: "runbook", version: "3.1.0" }, "dist/package.json": "{ nope" }, "dist/cli", "3.1.0"],
    ["the nearest runbook package", { "package.json": { name: "runbook", version: "1.0.0" }, "node_modules/runbook/package.json": { name: "runbook", version: "4.0.0" } }, "node_modules/runbook/dist/bundle", "4.0.0"],
    ["none without a version", { "package.json": { name: "runbook" } }, "dist", undefined],
  ])("%s", (_what, files, at, version) => {
    expect(packageVersion(tree(files, at))).toBe(version);
  });

  it("of this checkout, from cli/", () => {
    expect(packageVersion()).toBe(VERSION);
  });
});

describe("runbook --version", () => {
  it.each([["--version"], ["-V"], ["check", "--version"], ["run", "--version"]])("%s %s", async (...args) => {
    const r = await cli().args(...args).run();
    expect(r).toMatchObject({ code: 0, stdout: `runbook ${VERSION} on Node.js ${process.version} (${process.platform}-${process.arch})\n`, stderr: "" });
  });

  it("says when the version is unknown", () => {
    expect(versionText(undefined, { version: "v22.1.0", platform: "linux", arch: "arm64" })).toBe("runbook (version unknown: no package.json) on Node.js v22.1.0 (linux-arm64)");
  });
});
