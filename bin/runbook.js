#!/usr/bin/env node
// Entry point of the `runbook` command. CommonJS (bin/package.json): on Node 20 a
// CommonJS entry starts a few milliseconds sooner than an ES module one.
//
// `check` and `fmt`, the commands that must start fast, run from
// dist/bundle/check-fmt.cjs, a script compiled with the V8 code cache that the build
// (scripts/bundle.mjs) made by running them once: the CLI, commander and Chevrotain
// are then neither parsed nor compiled at start-up. Every other command, and these
// two when the cache is missing or was made by another build, another Node or is
// damaged, loads as it always did: the ES module bundle (dist/bundle/main.js), or
// the plain compiled CLI (dist/cli/main.js) when there is no bundle.
//
// The pieces the build shares with this loader (how the script is wrapped and
// compiled, the cache file's header) are exported when this file is required.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const BUNDLE = path.join(__dirname, "../dist/bundle");
const FAST_SCRIPT = path.join(BUNDLE, "check-fmt.cjs");
const FAST_CACHE = `${FAST_SCRIPT}.cache`;
const FAST_COMMANDS = ["check", "fmt"];

// The script's first line names its build: `// runbook-build ID`.
const BUILD_LINE = "// runbook-build ";
// The script is read as Latin-1, a byte per character: its code is ASCII (esbuild
// escapes the rest; the build checks), only comments may hold other UTF-8, and the
// source must be the same string when the cache is made and when it is used.
// Decoding UTF-8 costs a millisecond more, and a comment's "…" doubles the string's size.
const SCRIPT_ENCODING = "latin1";
// The cache file: a header of HEADER_SIZE bytes (ASCII, space-padded, ending in a
// newline), then the V8 code cache. The header says for which build, V8 and
// architecture the cache was made, and the checksum of the code cache (V8 itself
// does not verify one in release builds, and would crash on damaged data).
const HEADER_SIZE = 256;
const HEADER_MAGIC = "runbook-code-cache 1";

/** The build id in the first line of the script's source, or undefined. */
function buildIdOf(source) {
  const end = source.indexOf("\n");
  const first = end < 0 ? source : source.slice(0, end);
  return first.startsWith(BUILD_LINE) ? first.slice(BUILD_LINE.length).trim() : undefined;
}

/** The start of the header of a cache made by this Node (V8 version and architecture). */
function headerStart() {
  return `${HEADER_MAGIC} ${process.versions.v8} ${process.arch} `;
}

/** The header's text up to the checksum: what must match for the cache to be used here. */
function headerPrefix(buildId) {
  return `${headerStart()}${buildId} `;
}

/** FNV-1a over 32-bit words (then the last bytes), as 8 hex digits. */
function checksum(bytes) {
  const whole = bytes.length & ~3;
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes.subarray(0, whole));
  const words = new Int32Array(aligned.buffer, aligned.byteOffset, whole >> 2);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 16777619);
  for (let i = whole; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The cache file's bytes for V8 code cache `data` of the script of build `buildId`. */
function cacheFile(buildId, data) {
  const header = `${headerPrefix(buildId)}${checksum(data)}`;
  if (header.length >= HEADER_SIZE) throw new Error(`code cache header too long: ${header}`);
  return Buffer.concat([Buffer.from(`${header.padEnd(HEADER_SIZE - 1)}\n`, "latin1"), data]);
}

/** The V8 code cache in `bytes` (a cache file) when it was made for this build here and is intact. */
function cachedDataIn(bytes, buildId) {
  if (bytes.length <= HEADER_SIZE) return undefined;
  const prefix = headerPrefix(buildId);
  const header = bytes.toString("latin1", 0, HEADER_SIZE);
  if (!header.startsWith(prefix) || header[HEADER_SIZE - 1] !== "\n") return undefined;
  const data = bytes.subarray(HEADER_SIZE);
  return header.slice(prefix.length).trimEnd() === checksum(data) ? data : undefined;
}

/**
 * Compiles the check/fmt script `source` (with V8 code cache `cachedData`, if any)
 * as a CommonJS module of file `file`. Returns the vm.Script (for its cache) and
 * run(), which runs it once and returns its exports.
 */
function compileScript(source, file, cachedData) {
  const vm = require("node:vm");
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  const run = () => {
    const mod = { exports: {} };
    const { createRequire } = require("node:module");
    script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file));
    return mod.exports;
  };
  return { script, run };
}

/** main() of the check/fmt script compiled with its code cache, or undefined when there is no usable cache. */
function fastMain() {
  let source;
  let cachedData;
  try {
    const cache = fs.readFileSync(FAST_CACHE);
    if (cache.toString("latin1", 0, headerStart().length) !== headerStart()) return undefined; // made by another Node
    source = fs.readFileSync(FAST_SCRIPT, SCRIPT_ENCODING);
    const buildId = buildIdOf(source);
    if (buildId === undefined) return undefined;
    cachedData = cachedDataIn(cache, buildId);
  } catch {
    return undefined; // no script or no cache: not built (or not yet)
  }
  if (cachedData === undefined) return undefined;
  // V8 may still reject the cache (other V8 flags): the script is then compiled as usual.
  return compileScript(source, FAST_SCRIPT, cachedData).run().main;
}

async function start() {
  const argv = process.argv.slice(2);
  let main = FAST_COMMANDS.includes(argv[0]) ? fastMain() : undefined;
  if (main === undefined) {
    // Node 22+ keeps compiled code of the ES modules on disk between runs (faster start).
    require("node:module").enableCompileCache?.();
    const bundled = path.join(BUNDLE, "main.js");
    const url = require("node:url").pathToFileURL(fs.existsSync(bundled) ? bundled : path.join(__dirname, "../dist/cli/main.js"));
    ({ main } = await import(url.href));
  }
  process.exitCode = await main(argv);
}

if (require.main === module) {
  void start(); // main() reports every error itself; one in loading it ends the process with its stack (exit 1)
} else {
  module.exports = { FAST_SCRIPT, FAST_CACHE, BUILD_LINE, SCRIPT_ENCODING, buildIdOf, cacheFile, cachedDataIn, compileScript };
}
