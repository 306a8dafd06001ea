// Loads mvdan/sh's shell parser (the npm package mvdan-sh: shfmt's parser compiled
// to JavaScript) the first time a command with a value is read: it is 1.5 MB of
// script that `runbook check` of a runbook without such commands never needs. In
// the check/fmt bundle, scripts/bundle.mjs puts a plain `require` in place of this
// module's body, so esbuild bundles the parser (still loaded when first asked) and
// the build's V8 code cache covers it.

import { createRequire } from "node:module";

export function loadShellParser(): unknown {
  return createRequire(import.meta.url)("mvdan-sh");
}
