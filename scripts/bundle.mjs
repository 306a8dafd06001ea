// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/: chevrotain pulls
// in hundreds of lodash-es modules, and loading them one by one costs more than
// the whole `runbook check`. Heavy modules that commands import lazily (ink,
// react, ssh2, mysql2, better-sqlite3) stay external and load only when needed.
//
// Two bundles: main.js (ES modules, split in chunks), which every command can run
// from, and check-fmt.cjs, one CommonJS script with only what `check` and `fmt`
// need, with a V8 code cache (check-fmt.cjs.cache) made here by running both once
// on runbooks/haiti-release.rb, so that the functions they compile lazily are in
// it too. bin/runbook.js runs `check` and `fmt` from that script with the cache.
// The cache is only good for the Node (V8) that made it: `npm run build` (which
// `npm install` in a clone and `npm pack` run) makes it again; an installed package
// keeps the one it was packed with, which bin/runbook.js uses only on that Node.
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, transform } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const external = ["ink", "react", "react/*", "ssh2", "mysql2", "mysql2/*", "better-sqlite3", "cpu-features", "diff"];
/** The commands check-fmt.cjs can run: the other command modules are left out of it. */
const FAST_COMMANDS = ["check", "fmt"];

/**
 * Builds both bundles from `entry` (dist/cli/main.js; the tests give cli/main.ts)
 * into `outdir` and makes the code cache. Returns the paths of the script and cache.
 */
export async function bundle({ entry = join(ROOT, "dist/cli/main.js"), outdir = join(ROOT, "dist/bundle") } = {}) {
  rmSync(outdir, { recursive: true, force: true }); // no chunks (or cache) of an earlier build left behind

  await build({
    entryPoints: [entry],
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external,
    // CommonJS dependencies (commander) call require() for node builtins.
    banner: { js: "import { createRequire as __runbookRequire } from 'node:module'; const require = __runbookRequire(import.meta.url);" },
    logLevel: "warning",
    plugins: [charIndexOnDemand],
  });

  const { BUILD_LINE, SCRIPT_ENCODING, cacheFile, compileScript } = createRequire(import.meta.url)("../bin/runbook.js");
  const script = join(outdir, "check-fmt.cjs");
  const built = await build({
    entryPoints: [entry],
    write: false,
    outfile: script,
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    external,
    logLevel: "warning",
    plugins: [onlyCommands(FAST_COMMANDS), lazyChildProcess, bundledShellParser, versionFromScriptPlace, charIndexOnDemand],
  });
  const code = built.outputFiles[0].text;
  await sameAsLatin1(code);
  const buildId = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const bytes = Buffer.from(`${BUILD_LINE}${buildId}\n${code}`);
  mkdirSync(outdir, { recursive: true });
  writeFileSync(script, bytes);
  const source = bytes.toString(SCRIPT_ENCODING); // as bin/runbook.js reads it

  const cache = `${script}.cache`;
  const data = await codeCache(compileScript(source, script));
  writeFileSync(`${cache}.tmp`, cacheFile(buildId, data));
  renameSync(`${cache}.tmp`, cache);
  return { script, cache };
}

/**
 * An esbuild plugin that leaves out of the bundle the command modules
 * (cli/commands/NAME.js, imported lazily by cli/main.ts) not in `keep`: main.ts
 * defines only the command that is run, so those imports never run in it.
 */
function onlyCommands(keep) {
  return {
    name: "only-commands",
    setup(b) {
      b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) => {
        const name = /([a-z-]+)\.js$/.exec(args.path)[1];
        return keep.includes(name) ? undefined : { path: name, namespace: "left-out-command" };
      });
      b.onLoad({ filter: /.*/, namespace: "left-out-command" }, (args) => ({
        contents: `throw new Error("runbook ${args.path}: not in the check/fmt bundle (bin/runbook.js runs it from dist/bundle/main.js)");`,
        loader: "js",
      }));
    },
  };
}

/**
 * commander loads node:child_process (with net, dgram and more) at start-up, a
 * millisecond, for executable subcommands, which runbook has none of: in
 * check-fmt.cjs it is loaded when first used.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.namespace === "lazy-child-process" ? { path: "node:child_process", external: true } : { path: "child_process", namespace: "lazy-child-process" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-child-process" }, () => ({
      contents: `let cp; module.exports = new Proxy({}, { get: (_, key) => (cp ??= require("node:child_process"))[key] });`,
      loader: "js",
    }));
  },
};

/**
 * language/shell-parser.js loads mvdan-sh with createRequire(import.meta.url), which a
 * CommonJS bundle cannot hold. In check-fmt.cjs its body is a plain require: esbuild then
 * bundles mvdan-sh as a module run when first required (a command with a value), and the
 * code cache made below covers it. tests/cli/bundle.test.ts checks the bundle parses with it.
 */
const bundledShellParser = {
  name: "bundled-shell-parser",
  setup(b) {
    b.onLoad({ filter: /[\\/]language[\\/]shell-parser\.(js|ts)$/ }, () => ({
      contents: `export const loadShellParser = () => require("mvdan-sh");`,
      loader: "js",
    }));
  },
};

/**
 * cli/version.ts finds package.json from import.meta.url, which a CommonJS bundle has
 * not: in check-fmt.cjs it is the script's own URL (from __filename, worked out only
 * when the version is asked for). tests/cli/fast-path.test.ts compares `--version` there.
 */
const versionFromScriptPlace = {
  name: "version-from-script-place",
  setup(b) {
    b.onLoad({ filter: /[\\/]cli[\\/]version\.(js|ts)$/ }, async (args) => ({
      contents: (await readFile(args.path, "utf8")).replaceAll("import.meta.url", 'require("node:url").pathToFileURL(__filename).href'),
      loader: args.path.endsWith(".ts") ? "ts" : "js",
    }));
  },
};

/**
 * Chevrotain's lexer (scan/lexer.js) fills a table of 65,536 entries when the first lexer is
 * made (5 ms and half a megabyte at every start) only to look up `255 + ~~(code / 255)` for
 * a character code above 255. In the bundles that value is worked out when asked, which is
 * what Chevrotain's own comment there suggests ("Perhaps it should be lazy initialized").
 * When Chevrotain's code is no longer as expected, the bundle keeps it as it is and the
 * build says so (tests/cli/bundle.test.ts checks the patch against the installed version).
 */
const charIndexOnDemand = {
  name: "char-index-on-demand",
  setup(b) {
    b.onLoad({ filter: /[\\/]chevrotain[\\/]lib[\\/]src[\\/]scan[\\/]lexer\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const patched = patchCharIndex(source);
      if (patched === undefined) return { contents: source, loader: "js", warnings: [{ text: "chevrotain's lexer.js is not as expected: its character table is left as it is" }] };
      return { contents: patched, loader: "js" };
    });
  },
};

const CHAR_INDEX_LOOKUP = ": charCodeToOptimizedIdxMap[charCode];";
const CHAR_INDEX_FILL = /function initCharCodeToOptimizedIndexMap\(\) \{\n    if \(isEmpty\(charCodeToOptimizedIdxMap\)\) \{\n        charCodeToOptimizedIdxMap = new Array\(65536\);\n        for \(let i = 0; i < 65536; i\+\+\) \{\n            charCodeToOptimizedIdxMap\[i\] = i > 255 \? 255 \+ ~~\(i \/ 255\) : i;\n        \}\n    \}\n\}/;

/** chevrotain's lexer.js with the character index worked out when asked; undefined when it is not as expected. */
export function patchCharIndex(source) {
  if (source.split(CHAR_INDEX_LOOKUP).length !== 2 || !CHAR_INDEX_FILL.test(source)) return undefined;
  return source
    .replace(CHAR_INDEX_LOOKUP, ": 255 + ~~(charCode / 255);")
    .replace(CHAR_INDEX_FILL, "function initCharCodeToOptimizedIndexMap() {}");
}

/**
 * bin/runbook.js reads check-fmt.cjs as Latin-1, which is right only when every
 * character that is not ASCII is in a comment (esbuild escapes the others): then
 * the code without comments is the same either way.
 */
async function sameAsLatin1(code) {
  const bare = async (text) => (await transform(text, { minifyWhitespace: true, legalComments: "none" })).code;
  if ((await bare(code)) !== (await bare(Buffer.from(code).toString("latin1")))) {
    throw new Error("check-fmt.cjs has characters that are not ASCII outside comments: bin/runbook.js cannot read it as Latin-1");
  }
}

/**
 * Runs `check` and `fmt --check` of the compiled script on the Haiti runbook
 * (output discarded), then returns its V8 code cache, which holds every function
 * compiled so far. Their exit codes do not matter: a runbook being edited may not
 * check or be formatted, and the cache is still good.
 */
async function codeCache({ script, run }) {
  const { main } = run();
  const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });
  const io = { stdout: sink(), stderr: sink(), stdin: Readable.from([]), env: {}, cwd: ROOT };
  const file = "runbooks/haiti-release.rb";
  await main(["check", file], io);
  await main(["fmt", "--check", file], io);
  return script.createCachedData();
}

// `node scripts/bundle.mjs` builds dist/bundle; `node scripts/bundle.mjs ENTRY OUTDIR` elsewhere (the tests).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [entry, outdir] = process.argv.slice(2);
  await bundle(entry && outdir ? { entry: resolve(entry), outdir: resolve(outdir) } : {});
}
