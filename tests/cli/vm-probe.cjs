// Preloaded (`node -r`) by fast-path.test.ts into the `runbook` processes it starts:
// writes on fd 3, at exit, how each vm.Script was compiled (bin/runbook.js compiles
// dist/bundle/check-fmt.cjs with one): its file, whether a code cache was given,
// and whether V8 rejected it. No vm.Script: the command ran from the ES modules.
"use strict";
const vm = require("node:vm");
const { writeSync } = require("node:fs");

const scripts = [];
vm.Script = class extends vm.Script {
  constructor(code, options) {
    super(code, options);
    scripts.push({ file: options?.filename, cachedData: options?.cachedData !== undefined, rejected: this.cachedDataRejected === true });
  }
};
process.on("exit", () => writeSync(3, JSON.stringify(scripts)));
