// A builder for end-to-end tests of the `runbook` command in a temp directory:
//
//   const r = await cli().file("r.rb", src).env({ TOK: "x" }).args("run", "r.rb", "--no-tui").run();
//   r.code, r.stdout, r.stderr, r.dir
//
// run() calls main() in-process with captured streams (stdin is not a terminal),
// which is fast; spawn() starts a real process (node + tsx on the sources) for
// what needs one: signals, kill -9, a lock held by another process. Both use the
// same directory, environment and journal ($RUNBOOK_STATE = DIR/journal.db), so a
// test can mix them (spawn a run, kill it, then `resume` in-process).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CliIO } from "../../cli/io.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/esm/index.mjs")).href;
const BIN = join(ROOT, "tests/support/runbook-bin.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  dir: string;
}

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface Spawned {
  proc: ChildProcess;
  dir: string;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout (or stderr) matches; rejects when the process ends first. */
  waitFor(pattern: RegExp, stream?: "stdout" | "stderr"): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export class CliBuilder {
  readonly dir: string;
  private argv: string[] = [];
  private extraEnv: NodeJS.ProcessEnv = {};

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), "runbook-cli-"));
  }

  file(path: string, content: string): this {
    const p = join(this.dir, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    return this;
  }

  env(vars: NodeJS.ProcessEnv): this {
    this.extraEnv = { ...this.extraEnv, ...vars };
    return this;
  }

  args(...argv: string[]): this {
    this.argv = argv;
    return this;
  }

  get journalPath(): string {
    return join(this.dir, "journal.db");
  }

  fullEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.dir,
      RUNBOOK_STATE: this.journalPath,
      NO_COLOR: "1",
      ...this.extraEnv,
    };
  }

  /**
   * main() in-process, stdin not a terminal. `streams` replaces any of the three
   * (a fake terminal on stdin, a stdout that fails); the result's text is then
   * empty for the replaced ones.
   */
  async run(streams: Partial<Pick<CliIO, "stdin" | "stdout" | "stderr">> = {}): Promise<CliResult> {
    const { main } = await import("../../cli/main.js");
    const stdout = new Capture();
    const stderr = new Capture();
    const io: CliIO = {
      stdout: streams.stdout ?? stdout,
      stderr: streams.stderr ?? stderr,
      stdin: streams.stdin ?? Readable.from([]),
      env: this.fullEnv(),
      cwd: this.dir,
    };
    const code = await main(this.argv, io);
    return { code, stdout: stdout.text, stderr: stderr.text, dir: this.dir };
  }

  /** A real `runbook` process (node + tsx), stdin a pipe that is closed. */
  spawn(): Spawned {
    const proc = spawn(process.execPath, ["--import", TSX, BIN, ...this.argv], {
      cwd: this.dir,
      env: this.fullEnv(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    proc.stdin!.end();
    let out = "";
    let err = "";
    const waiters: { pattern: RegExp; stream: "stdout" | "stderr"; resolve: () => void; reject: (e: Error) => void }[] = [];
    const check = () => {
      for (const w of [...waiters]) {
        if (w.pattern.test(w.stream === "stdout" ? out : err)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    const outStream = new PassThrough();
    proc.stdout!.pipe(outStream);
    outStream.on("data", (c: Buffer) => {
      out += c.toString();
      check();
    });
    proc.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
      check();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) => {
      proc.on("close", (code, signal) => {
        for (const w of waiters.splice(0)) w.reject(new Error(`runbook exited (code ${code}, signal ${signal}) before ${w.stream} matched ${w.pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        res({ code, signal, stdout: out, stderr: err });
      });
    });
    return {
      proc,
      dir: this.dir,
      stdout: () => out,
      stderr: () => err,
      waitFor: (pattern, stream = "stdout") =>
        new Promise<void>((res, rej) => {
          waiters.push({ pattern, stream, resolve: res, reject: rej });
          check();
        }),
      kill: (signal) => proc.kill(signal),
      exited,
    };
  }
}

/** A builder in a fresh temp directory, or in `dir` to continue there. */
export function cli(dir?: string): CliBuilder {
  return new CliBuilder(dir);
}
