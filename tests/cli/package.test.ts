// The package as operators get it. `npm pack` in a copy of the checkout (its prepack
// builds dist/), the copy removed, then `npm install -g --prefix` of the tarball into an
// empty prefix, offline from npm's cache as a user's install would resolve it, and the
// installed `runbook` run from another folder on this Node: --version, check of the
// Haiti runbook (from the code cache the build made), plan, and a run of a one-step
// runbook. Also what the tarball holds: the built CLI, docs, examples; no tests, no
// TypeScript. RUNBOOK_TEST_OTHER_NODE=/path/to/node (.ci/run sets it to a Node 22) also
// runs the installed CLI on that Node, where the code cache made here must not be used.
//
// better-sqlite3 installs through its own install script: prebuild-install, given the
// binary of this checkout's node_modules as a local prebuild when it loads on this Node
// (no download), else node-gyp builds it (with this Node's headers when they sit beside it).
// When npm cannot install offline (its cache lacks the full metadata of a package, which
// the project's own `npm install` does not fetch: .ci/npm-cache does), the install tests
// are skipped with the reason, and fail under CI=true.

import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PROBE = join(ROOT, "tests/cli/vm-probe.cjs");
const CI = process.env.CI === "true";
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
/** What a user's install lets run (README, "Install"). */
const ALLOW_SCRIPTS = "--allow-scripts=better-sqlite3,ssh2,cpu-features";
/** npm's answers when the cache cannot serve an offline install: a skip outside CI, not a broken package. */
const OFFLINE_MISS = /ENOTCACHED|only-if-cached|EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT/;

const ONE_STEP = `runbook "one" version "1.0.0"

section "Go" {
  step "Say" {
    run "echo hello from one"
  }
}
`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let base: string;
/** The empty prefix the tarball is installed into. */
let prefix: string;
/** A folder with nothing of the project around it, where the installed CLI runs. */
let elsewhere: string;
/** `npm pack --json`: the tarball and its file list. */
let packed: { filename: string; files: { path: string }[] };
/** Why the install could not be tested here (npm could not install offline), or undefined. */
let notInstalled: string | undefined;
let installOutput = "";

/** The environment of every child: this Node first on PATH (npm, the build and `runbook` run on it); npm's own variables of a surrounding `npm test` left out. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_userconfig", "npm_config_globalconfig", "npm_config_registry"]);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.has(k.toLowerCase())));
  delete env.INIT_CWD;
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`, NO_COLOR: "1", ...extra };
}

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, env: childEnv(), ...opts });
  if (r.error) throw r.error;
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The installed `runbook` command (prefix/bin/runbook, as on a user's PATH), run in `elsewhere`. */
function runbook(args: string[], env: NodeJS.ProcessEnv = {}): Ran {
  return sh(join(prefix, "bin/runbook"), args, { cwd: elsewhere, env: childEnv(env) });
}

/** `node -r vm-probe.cjs INSTALLED/bin/runbook.js ARGS` with `node`: the result and whether the code cache was used. */
function probed(node: string, args: string[]): Ran & { codeCache: boolean } {
  const r = spawnSync(node, ["-r", PROBE, join(installed(), "bin/runbook.js"), ...args], {
    cwd: elsewhere,
    env: childEnv(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  if (r.error) throw r.error;
  const scripts = JSON.parse(String(r.output[3] || "[]")) as { file: string; cachedData: boolean; rejected: boolean }[];
  const codeCache = scripts.some((s) => s.file.endsWith("check-fmt.cjs") && s.cachedData && !s.rejected);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, codeCache };
}

const installed = () => join(prefix, "lib/node_modules", PKG.name);
const haiti = () => join(installed(), "runbooks/haiti-release.rb");

/**
 * A local prebuild of better-sqlite3 for this Node, made from this checkout's own build,
 * in `dir` under the name prebuild-install looks for; false when that build does not load
 * here (another Node's ABI: npm then builds it) or the platform is not glibc Linux.
 */
function localPrebuild(dir: string): boolean {
  const glibc = process.platform === "linux" && (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  if (!glibc) return false;
  const req = createRequire(join(ROOT, "package.json"));
  try {
    const Database = req("better-sqlite3") as new (file: string) => { close(): void };
    new Database(":memory:").close();
  } catch {
    return false;
  }
  const pkgDir = dirname(req.resolve("better-sqlite3/package.json"));
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  const staging = join(dir, "staging");
  mkdirSync(join(staging, "build/Release"), { recursive: true });
  cpSync(join(pkgDir, "build/Release/better_sqlite3.node"), join(staging, "build/Release/better_sqlite3.node"));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const tar = sh("tar", ["-czf", join(dir, name), "-C", staging, "build"]);
  if (tar.code !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  return true;
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "runbook-package-"));
  // The checkout without what is built or installed: npm pack must build it.
  const checkout = mkdtempSync(join(tmpdir(), "runbook-checkout-"));
  const skip = new Set(["node_modules", "dist", ".git", "tmp", ".vitest-cache"]);
  cpSync(ROOT, checkout, { recursive: true, filter: (src) => !(dirname(src) === ROOT && skip.has(basename(src))) });
  symlinkSync(join(ROOT, "node_modules"), join(checkout, "node_modules")); // the build's tools (tsc, esbuild)
  try {
    const pack = sh("npm", ["pack", "--json", "--pack-destination", base], { cwd: checkout });
    if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stdout}${pack.stderr}`);
    const json = pack.stdout.search(/^\[\s*$/m); // after any output of the build
    packed = (JSON.parse(pack.stdout.slice(json)) as (typeof packed)[])[0]!;
  } finally {
    rmSync(checkout, { recursive: true, force: true }); // nothing of the source tree is left around the install
  }

  prefix = join(base, "prefix");
  elsewhere = join(base, "elsewhere");
  const prebuilds = join(base, "prebuilds");
  for (const d of [prefix, elsewhere, prebuilds]) mkdirSync(d);
  const env: NodeJS.ProcessEnv = {};
  if (localPrebuild(prebuilds)) env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  const headers = join(dirname(dirname(process.execPath)), "include/node/node_version.h");
  if (existsSync(headers)) env.npm_config_nodedir = dirname(dirname(dirname(headers))); // node-gyp builds offline
  const install = sh(
    "npm",
    ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", ALLOW_SCRIPTS, join(base, packed.filename)],
    { cwd: elsewhere, env: childEnv(env) },
  );
  installOutput = `${install.stdout}${install.stderr}`;
  if (install.code !== 0) {
    const lines = installOutput.split("\n").filter((l) => OFFLINE_MISS.test(l));
    if (lines.length === 0 || CI) throw new Error(`npm install -g of the packed tarball failed:\n${installOutput}`);
    const why = (lines.find((l) => l.includes("request to")) ?? lines[0]!).replace(/^npm error\s*/, "").trim();
    notInstalled = `npm cannot install the tarball offline here (${why}); \`bash .ci/npm-cache\` run once with network fills npm's cache`;
    console.warn(`SKIPPED the installed-package tests of tests/cli/package.test.ts: ${notInstalled}`);
  }
}, 900_000);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

/** Skips a test that needs the installed package when npm could not install it offline (outside CI: under CI=true the install failed the suite). */
function needInstall(ctx: { skip(note?: string): never }): void {
  if (notInstalled !== undefined) ctx.skip(notInstalled);
}

describe("the tarball npm pack makes", () => {
  const paths = () => packed.files.map((f) => f.path).sort();

  it("holds the CLI, built, with its code cache, the docs, the examples, README and LICENSE", () => {
    expect(paths()).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "LICENSE",
        "bin/runbook.js",
        "bin/package.json",
        "dist/bundle/main.js",
        "dist/bundle/check-fmt.cjs",
        "dist/bundle/check-fmt.cjs.cache",
        "docs/cli.md",
        "docs/language.md",
        "runbooks/haiti-release.rb",
        "runbooks/lib/notify.rb",
        "schemas/plan.schema.json",
        "schemas/event.schema.json",
        "schemas/events/run-started.schema.json",
      ]),
    );
  });

  it("holds nothing else: no tests, no TypeScript, no build scripts, no compiled sources beside the bundle", () => {
    const allowed = /^(package\.json|README\.md|LICENSE|bin\/[^/]+\.(js|json)|dist\/bundle\/[^/]+\.(js|cjs|cjs\.cache)|docs\/(ci\/)?[^/]+\.(md|yml)|runbooks\/.+|schemas\/(events\/)?[^/]+\.schema\.json)$/;
    expect(paths().filter((p) => !allowed.test(p))).toEqual([]);
    expect(paths().filter((p) => /(^|\/)tests?\/|\.tsx?$/.test(p))).toEqual([]);
  });
});

describe("installed from the tarball into an empty prefix, run from another folder", () => {
  it("needed no build of its own: no TypeScript, no build script in the installed package", (ctx) => {
    needInstall(ctx);
    expect(existsSync(join(installed(), "dist/bundle/check-fmt.cjs.cache"))).toBe(true);
    for (const absent of ["scripts", "tests", "tsconfig.json", "cli", "dist/cli"]) expect(existsSync(join(installed(), absent)), absent).toBe(false);
  });

  it("--version prints the package's version and the Node it runs on", (ctx) => {
    needInstall(ctx);
    const r = runbook(["--version"]);
    expect(r).toEqual({ code: 0, stdout: `runbook ${PKG.version} on Node.js ${process.version} (${process.platform}-${process.arch})\n`, stderr: "" });
  });

  it("checks the Haiti runbook, from the code cache the build made on this Node", (ctx) => {
    needInstall(ctx);
    expect(runbook(["check", haiti()])).toEqual({ code: 0, stdout: `${haiti()}: ok\n`, stderr: "" });
    const r = probed(process.execPath, ["check", haiti()]);
    expect(r.stdout).toBe(`${haiti()}: ok\n`);
    expect(r.codeCache).toBe(true);
  });

  it("reports a runbook's errors with the right exit code", (ctx) => {
    needInstall(ctx);
    writeFileSync(join(elsewhere, "broken.rb"), ONE_STEP.replace('run "echo', 'run "echo ${nope}'));
    const r = runbook(["check", "broken.rb"]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/^broken\.rb:5:\d+: /m);
  });

  it("plans the Haiti runbook", (ctx) => {
    needInstall(ctx);
    const r = runbook(["plan", haiti(), "--env", "dev"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Plan for haiti-release \d+\.\d+\.\d+, env dev\n/);
  });

  it("runs a one-step runbook, journaled by its better-sqlite3", (ctx) => {
    needInstall(ctx);
    writeFileSync(join(elsewhere, "one.rb"), ONE_STEP);
    const journal = join(elsewhere, "journal.db");
    const r = runbook(["run", "one.rb", "--no-tui"], { RUNBOOK_STATE: journal });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[say] local | hello from one\n");
    expect(r.stdout).toMatch(/^steps: 1 ok$/m);
    const history = runbook(["history", "--json"], { RUNBOOK_STATE: journal });
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual([expect.objectContaining({ runbook: "one", status: "succeeded" })]);
  });

  const other = process.env.RUNBOOK_TEST_OTHER_NODE;
  it.runIf(other !== undefined)("on another Node (RUNBOOK_TEST_OTHER_NODE), checks without the code cache made here", (ctx) => {
    needInstall(ctx);
    const [v8, version] = sh(other!, ["-p", "process.versions.v8 + ' ' + process.version"]).stdout.trim().split(" ");
    expect(v8).not.toBe(process.versions.v8); // another V8, or the test proves nothing
    const r = probed(other!, ["check", haiti()]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `${haiti()}: ok\n`, stderr: "" });
    expect(r.codeCache).toBe(false);
    const v = probed(other!, ["--version"]);
    expect(v.stdout).toBe(`runbook ${PKG.version} on Node.js ${version} (${process.platform}-${process.arch})\n`);
  });
});
