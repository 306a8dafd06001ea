// npm's `prepare` script. npm runs it after `npm install` in a clone of the repository
// (and when the package is installed from git): the CLI is built there, as always. npm
// also runs it in `npm pack` and `npm publish`, right after `prepack`, which has just
// built: it does not build twice. An install of the packed tarball runs neither.
import { spawnSync } from "node:child_process";

const packing = ["pack", "publish"].includes(process.env.npm_command ?? "");
if (!packing) {
  const npm = process.env.npm_execpath;
  const r = npm
    ? spawnSync(process.execPath, [npm, "run", "build"], { stdio: "inherit" })
    : spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: process.platform === "win32" });
  process.exitCode = r.status ?? 1;
}
