// Follows growing local files from Node: what a locally supervised command writes to
// its output files (supervisor.ts) is read from the last offset on a short timer, and
// once more, to the end, when the command is over. No process is spawned for it.

import type { FileHandle } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

const CHUNK = 64 * 1024;
/** Quick at first (most commands are short), then ten rounds a second. */
const QUICK_ROUNDS = 25;
const QUICK_MS = 20;
const SLOW_MS = 100;

/** One file read from where the last read stopped, its text passed on as UTF-8 (a character split across reads is kept whole). */
class Follower {
  private pos = 0;
  private readonly decoder = new StringDecoder("utf8");
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly fh: FileHandle,
    private readonly emit: ((chunk: string) => void) | undefined,
  ) {}

  async drain(): Promise<void> {
    for (;;) {
      const { bytesRead } = await this.fh.read(this.buf, 0, CHUNK, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      const s = this.decoder.write(this.buf.subarray(0, bytesRead));
      if (s) this.emit?.(s);
    }
  }

  async close(): Promise<void> {
    const rest = this.decoder.end();
    if (rest) this.emit?.(rest);
    await this.fh.close();
  }
}

/** Files followed until stop(): each handle is read (not reopened), so a file removed meanwhile is still read to its end. */
export class FileTail {
  private readonly followers: Follower[];
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private rounds = 0;
  private stopped = false;

  constructor(files: readonly { fh: FileHandle; emit: ((chunk: string) => void) | undefined }[]) {
    this.followers = files.map((f) => new Follower(f.fh, f.emit));
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const ms = this.rounds++ < QUICK_ROUNDS ? QUICK_MS : SLOW_MS;
    this.timer = setTimeout(() => {
      this.round = this.drainAll().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, ms);
  }

  private async drainAll(): Promise<void> {
    await Promise.all(this.followers.map((f) => f.drain()));
  }

  /** The writer is done: the rest is read, the handles closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round.catch(() => undefined);
    try {
      await this.drainAll();
    } finally {
      await Promise.all(this.followers.map((f) => f.close().catch(() => undefined)));
    }
  }
}
