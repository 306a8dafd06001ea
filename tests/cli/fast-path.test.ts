// `runbook check` and `runbook fmt` run from dist/bundle/check-fmt.cjs compiled with
// its V8 code cache (bin/runbook.js; scripts/bundle.mjs builds both). They must print
// and exit exactly as from the ES module bundle that every other command runs from,
// and a cache that cannot be used (missing, damaged, of another build or another V8)
// must leave them on that normal path, or, when V8 itself rejects it, compile the
// script without it. The CLI is built here, from the sources, into a temp package
// (bin/ and dist/bundle/), as `npm run build` does; a probe preloaded in each process
// (vm-probe.cjs) tells which path it took.

import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PROBE = join(ROOT, "tests/cli/vm-probe.cjs");
/** What bin/runbook.js exports for the build: how the cache file is made. */
const loader = createRequire(import.meta.url)("../../bin/runbook.js") as {
  BUILD_LINE: string;
  SCRIPT_ENCODING: BufferEncoding;
  buildIdOf(source: string): string | undefined;
  cacheFile(buildId: string, data: Buffer): Buffer;
};

type Path = "code cache" | "cache rejected by V8" | "no cache" | "ES modules";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The runbook files of the working directory after the command. */
  files: Record<string, string>;
  path: Path;
}

const SEMANTIC = `runbook "semantic" version "1.0.0"
host web = "deploy@web"

section "Go" {
  step "One" on missing {
    run "echo \${nope}"
  }
}
`;

const SYNTAX = `runbook "syntax" version "1.0.0"

section "Go" {
  step "One" {
    run "echo hi" on web
    run 'single'
  }
`;

let base: string;
/** The package built with its code cache. */
let fast: string;
/** The same package without the cache: check and fmt run from the ES modules, like every other command. */
let plain: string;
/** The working directory every run starts from a copy of. */
let work: string;

/** A copy of package `from` (its bin/ and dist/) named `name`, changed by `change(bundleDir)`. */
function copyPackage(from: string, name: string, change: (bundle: string) => void = () => {}): string {
  const pkg = join(base, name);
  cpSync(from, pkg, { recursive: true, verbatimSymlinks: true });
  change(join(pkg, "dist/bundle"));
  return pkg;
}

/** `node PKG/bin/runbook.js ARGS` in a fresh copy of the working directory. */
function runbook(pkg: string, args: string[], env: NodeJS.ProcessEnv = {}): Result {
  const cwd = mkdtempSync(join(base, "run-"));
  cpSync(work, cwd, { recursive: true });
  const r = spawnSync(process.execPath, ["-r", PROBE, join(pkg, "bin/runbook.js"), ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: base, NO_COLOR: "1", ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  if (r.error) throw r.error;
  const scripts = (JSON.parse(String(r.output[3] || "[]")) as { file: string; cachedData: boolean; rejected: boolean }[]).filter((s) =>
    s.file.endsWith("check-fmt.cjs"),
  );
  const s = scripts[0];
  const path: Path = s === undefined ? "ES modules" : !s.cachedData ? "no cache" : s.rejected ? "cache rejected by V8" : "code cache";
  const files = Object.fromEntries(["semantic.rb", "syntax.rb", "messy.rb", "runbooks/haiti-release.rb"].map((f) => [f, readFileSync(join(cwd, f), "utf8")]));
  rmSync(cwd, { recursive: true, force: true });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, files, path };
}

const said = ({ code, stdout, stderr, files }: Result) => ({ code, stdout, stderr, files });

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "runbook-fast-path-"));
  fast = join(base, "fast");
  mkdirSync(join(fast, "bin"), { recursive: true });
  for (const f of ["runbook.js", "package.json"]) cpSync(join(ROOT, "bin", f), join(fast, "bin", f));
  writeFileSync(join(fast, "package.json"), JSON.stringify({ name: "runbook", version: "9.8.7", type: "module" })); // what --version reads
  symlinkSync(join(ROOT, "node_modules"), join(fast, "node_modules")); // for what other commands load lazily (ink, …)
  const built = spawnSync(process.execPath, ["scripts/bundle.mjs", "cli/main.ts", join(fast, "dist/bundle")], { cwd: ROOT, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`scripts/bundle.mjs failed:\n${built.stdout}${built.stderr}`);
  plain = copyPackage(fast, "plain", (bundle) => rmSync(join(bundle, "check-fmt.cjs.cache")));

  work = join(base, "work");
  cpSync(join(ROOT, "runbooks"), join(work, "runbooks"), { recursive: true });
  writeFileSync(join(work, "semantic.rb"), SEMANTIC);
  writeFileSync(join(work, "syntax.rb"), SYNTAX);
  cpSync(join(ROOT, "tests/fixtures/fmt/haiti-messy.rb"), join(work, "messy.rb"));
}, 120_000);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe("check and fmt from the code cache say and exit as from the ES modules", () => {
  const clean = "runbooks/haiti-release.rb";
  it.each<[string, string[], number, NodeJS.ProcessEnv?]>([
    ["a clean runbook", ["check", clean], 0],
    ["semantic errors", ["check", "semantic.rb"], 1],
    ["syntax errors", ["check", "syntax.rb"], 1],
    ["a clean file and one with errors", ["check", clean, "semantic.rb"], 1],
    ["errors in colour", ["check", "semantic.rb", "syntax.rb"], 1, { FORCE_COLOR: "1" }],
    ["errors as JSON", ["check", "--format", "json", "syntax.rb"], 1],
    ["errors for GitHub", ["check", "semantic.rb", "--format", "github"], 1],
    ["a clean runbook planned for an env", ["check", clean, "--env", "uat"], 0],
    ["an unknown env", ["check", clean, "--env", "nope"], 2],
    ["a missing file", ["check", "nope.rb"], 2],
    ["no file", ["check"], 2],
    ["an unknown flag", ["check", "--bogus", clean], 2],
    ["a bad --format", ["check", "--format", "xml", clean], 2],
    ["help", ["check", "--help"], 0],
    ["--version", ["check", "--version"], 0],
    ["fmt --check of a formatted file", ["fmt", "--check", clean], 0],
    ["fmt --check of a file that is not", ["fmt", "--check", "messy.rb", clean], 1],
    ["fmt of a file that does not parse", ["fmt", "syntax.rb"], 1],
    ["fmt rewriting a file", ["fmt", "messy.rb"], 0],
    ["fmt help", ["fmt", "-h"], 0],
  ])("%s", (_what, args, code, env) => {
    const viaCache = runbook(fast, args, env);
    const viaModules = runbook(plain, args, env);
    expect(viaCache.path).toBe("code cache");
    expect(viaModules.path).toBe("ES modules");
    expect(viaCache.code).toBe(code);
    expect(said(viaCache)).toEqual(said(viaModules));
  });

  it("carries Chevrotain's lexer without its character table (scripts/bundle.mjs)", () => {
    const bundle = join(fast, "dist/bundle");
    const lexers = readdirSync(bundle)
      .filter((f) => f.endsWith(".js") || f.endsWith(".cjs"))
      .map((f) => readFileSync(join(bundle, f), "utf8"))
      .filter((code) => code.includes("function charCodeToOptimizedIndex("));
    expect(lexers.length).toBe(2); // check-fmt.cjs and a chunk of main.js
    for (const code of lexers) expect(code).not.toContain("new Array(65536)");
  });

  it("--version names the package's version, read from its package.json by the script (cli/version.ts)", () => {
    const r = runbook(fast, ["check", "--version"]);
    expect(r.path).toBe("code cache");
    expect(r.stdout).toBe(`runbook 9.8.7 on Node.js ${process.version} (${process.platform}-${process.arch})\n`);
  });

  it("the file fmt rewrote is the canonical form", () => {
    const r = runbook(fast, ["fmt", "messy.rb"]);
    expect(r.files["messy.rb"]).toBe(readFileSync(join(ROOT, "tests/fixtures/fmt/haiti-messy.expected.rb"), "utf8"));
  });
});

describe("a cache that cannot be used: the same output, from the normal path", () => {
  const cacheOf = (bundle: string) => join(bundle, "check-fmt.cjs.cache");
  const scriptOf = (bundle: string) => join(bundle, "check-fmt.cjs");
  const buildIdIn = (bundle: string) => loader.buildIdOf(readFileSync(scriptOf(bundle), loader.SCRIPT_ENCODING))!;
  /** The cache file's header, changed by `edit`, keeping its size (space-padded, then a newline). */
  const editHeader = (bundle: string, edit: (header: string) => string) => {
    const bytes = readFileSync(cacheOf(bundle));
    const size = bytes.indexOf(10) + 1;
    const header = edit(bytes.toString("latin1", 0, size - 1).trimEnd()).padEnd(size - 1);
    expect(header.length).toBe(size - 1);
    writeFileSync(cacheOf(bundle), Buffer.concat([Buffer.from(`${header}\n`, "latin1"), bytes.subarray(size)]));
  };

  it.each<[string, (bundle: string) => void, Path]>([
    ["no cache file", (b) => rmSync(cacheOf(b)), "ES modules"],
    ["an empty cache file", (b) => writeFileSync(cacheOf(b), ""), "ES modules"],
    ["a truncated cache", (b) => writeFileSync(cacheOf(b), readFileSync(cacheOf(b)).subarray(0, 100_000)), "ES modules"],
    [
      "a changed byte in the code cache",
      (b) => {
        const bytes = readFileSync(cacheOf(b));
        bytes[Math.floor(bytes.length / 2)] ^= 0x5a;
        writeFileSync(cacheOf(b), bytes);
      },
      "ES modules",
    ],
    ["a cache made by another V8", (b) => editHeader(b, (h) => h.replace(` ${process.versions.v8} `, " 1.2.3.4-node.0 ")), "ES modules"],
    ["a cache made for another architecture", (b) => editHeader(b, (h) => h.replace(` ${process.arch} `, " pdp11 ")), "ES modules"],
    ["a cache of another build", (b) => editHeader(b, (h) => h.replace(buildIdIn(b), "0123456789abcdef")), "ES modules"],
    [
      "a script of another build",
      (b) => {
        const source = readFileSync(scriptOf(b), loader.SCRIPT_ENCODING);
        writeFileSync(scriptOf(b), source.replace(buildIdIn(b), "0123456789abcdef"), loader.SCRIPT_ENCODING);
      },
      "ES modules",
    ],
    ["no script", (b) => rmSync(scriptOf(b)), "ES modules"],
    [
      // An intact cache file of this build whose code cache V8 refuses (it is another script's).
      "a code cache V8 rejects",
      (b) => {
        const vm = createRequire(import.meta.url)("node:vm") as typeof import("node:vm");
        const other = new vm.Script("(function () { return 42; })").createCachedData();
        writeFileSync(cacheOf(b), loader.cacheFile(buildIdIn(b), other));
      },
      "cache rejected by V8",
    ],
  ])("%s", (what, damage, path) => {
    const pkg = copyPackage(fast, what.replace(/\W+/g, "-"), damage);
    for (const args of [["check", "runbooks/haiti-release.rb"], ["check", "semantic.rb"], ["fmt", "--check", "messy.rb"]]) {
      const r = runbook(pkg, args);
      expect(r.path).toBe(path);
      expect(said(r)).toEqual(said(runbook(plain, args)));
    }
  });
});

describe("every other command runs from the ES modules, as before", () => {
  it.each<[string, string[], number]>([
    ["plan", ["plan", "runbooks/haiti-release.rb", "--env", "dev"], 0],
    ["--version", ["--version"], 0],
    ["--help", ["--help"], 0],
    ["help check", ["help", "check"], 0],
    ["no command", [], 2],
    ["an unknown command", ["chek", "runbooks/haiti-release.rb"], 2],
  ])("%s", (_what, args, code) => {
    const r = runbook(fast, args);
    expect(r.path).toBe("ES modules");
    expect(r.code).toBe(code);
    expect(said(r)).toEqual(said(runbook(plain, args)));
  });
});
