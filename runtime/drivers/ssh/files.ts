// A host's files over its connection's SFTP session: read, stat, write and
// upload (each to a temporary file renamed into place), download.

import { chmod as localChmod, rename, stat as localStat, unlink, writeFile as writeLocalFile } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { randomBytes } from "node:crypto";
import type { SFTPWrapper } from "ssh2";
import { DriverError, type FileStat } from "../driver.js";

function sftpReason(err: Error & { code?: number | string }): string {
  switch (err.code) {
    case 2:
      return "no such file or directory";
    case 3:
      return "permission denied";
    default:
      return err.message;
  }
}


/** A host's files over SFTP: reads, stats, and writes that land whole (a temporary file renamed into place). */
export class SshFiles {
  constructor(
    private readonly label: string,
    private readonly withSftp: <T>(fn: (sftp: SFTPWrapper) => Promise<T>) => Promise<T>,
  ) {}

  private fileError(what: string, path: string, err: Error & { code?: number | string }): DriverError {
    if (err instanceof DriverError) return err;
    return new DriverError(`cannot ${what} ${path} on ${this.label}: ${sftpReason(err)}`, "file");
  }

  async readFile(path: string): Promise<Buffer> {
    return this.withSftp(
      (sftp) =>
        new Promise<Buffer>((resolve, reject) => {
          sftp.readFile(path, (err, data) => (err ? reject(this.fileError("read", path, err)) : resolve(data)));
        }),
    );
  }

  async stat(path: string): Promise<FileStat | null> {
    return this.withSftp(
      (sftp) =>
        new Promise<FileStat | null>((resolve, reject) => {
          sftp.stat(path, (err, st) => {
            if (err) {
              if ((err as Error & { code?: number }).code === 2) resolve(null);
              else reject(this.fileError("stat", path, err));
              return;
            }
            resolve({ mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, isDirectory: st.isDirectory() });
          });
        }),
    );
  }

  /**
   * Write `path` atomically: writeTemp fills a temp file beside it, which
   * gets the old file's owner and mode (or `mode`, or newMode for a new
   * file) and is then renamed over it (posix-rename@openssh.com). A symlink
   * stays a symlink: its target is replaced.
   */
  private async place(
    sftp: SFTPWrapper,
    path: string,
    what: string,
    writeTemp: (tmp: string) => Promise<void>,
    mode: number | undefined,
    newMode: number,
  ): Promise<void> {
    type Stats = import("ssh2").Stats;
    const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
      new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
    const realPath = await this.realTarget(sftp, path);
    let existing: Stats | undefined;
    try {
      existing = await call<Stats | undefined>((cb) =>
        sftp.stat(realPath, (err, st) =>
          err && (err as Error & { code?: number }).code === 2 ? cb(null, undefined) : cb(err, st),
        ),
      );
    } catch (err) {
      throw this.fileError(what, path, err as Error);
    }
    if (existing?.isDirectory()) throw new DriverError(`cannot ${what} ${path} on ${this.label}: it is a directory`, "file");
    const tmp = this.tempPath(realPath);
    try {
      await writeTemp(tmp);
      const tmpStat = await call<Stats>((cb) => sftp.stat(tmp, cb));
      if (existing && (existing.uid !== tmpStat.uid || existing.gid !== tmpStat.gid)) {
        const { uid, gid } = existing;
        try {
          await call((cb) => sftp.chown(tmp, uid, gid, cb));
        } catch (err) {
          throw new DriverError(
            `cannot ${what} ${path} on ${this.label} keeping its owner (uid ${uid}, gid ${gid}): ${sftpReason(err as Error)}`,
            "file",
          );
        }
      }
      const finalMode = mode ?? (existing ? existing.mode & 0o7777 : newMode);
      await call((cb) => sftp.chmod(tmp, finalMode, cb));
      try {
        await call((cb) => sftp.ext_openssh_rename(tmp, realPath, cb));
      } catch (err) {
        if (!/not supported/i.test((err as Error).message)) throw err;
        // Servers without posix-rename: not atomic, but the best there is.
        if (existing) await call((cb) => sftp.unlink(realPath, cb));
        await call((cb) => sftp.rename(tmp, realPath, cb));
      }
    } catch (err) {
      await call((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
      throw this.fileError(what, path, err as Error);
    }
  }

  /** The file to write when `path` is a symlink: the link's target (so the link stays). */
  private realTarget(sftp: SFTPWrapper, path: string): Promise<string> {
    return new Promise((resolve) => {
      sftp.lstat(path, (err, st) => {
        if (err || !st.isSymbolicLink()) return resolve(path);
        sftp.realpath(path, (err2, real) => resolve(err2 ? path : real));
      });
    });
  }

  private tempPath(path: string): string {
    return posix.join(posix.dirname(path), `.${posix.basename(path)}.runbook-${randomBytes(6).toString("hex")}.tmp`);
  }

  async writeFile(path: string, data: Buffer | string, options: { mode?: number } = {}): Promise<void> {
    await this.withSftp((sftp) =>
      this.place(
        sftp,
        path,
        "write",
        (tmp) =>
          new Promise<void>((resolve, reject) => {
            sftp.writeFile(tmp, data, { mode: 0o600 }, (err) => (err ? reject(err) : resolve()));
          }),
        options.mode,
        0o644,
      ),
    );
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    let localMode: number;
    try {
      localMode = (await localStat(localPath)).mode & 0o7777;
    } catch (err) {
      throw new DriverError(`cannot upload ${localPath} to ${this.label}: ${(err as Error).message}`, "file");
    }
    await this.withSftp((sftp) =>
      this.place(
        sftp,
        remotePath,
        "upload to",
        (tmp) =>
          new Promise<void>((resolve, reject) => {
            sftp.fastPut(localPath, tmp, { mode: 0o600 }, (err) => (err ? reject(err) : resolve()));
          }),
        undefined,
        localMode,
      ),
    );
  }

  /**
   * The local file gets the remote file's permission bits (a 0600 key stays 0600;
   * setuid, setgid and sticky are not carried over): it is made 0600 first, so it
   * is never readable by others on the way, then given the remote mode.
   */
  async download(remotePath: string, localPath: string): Promise<void> {
    const tmp = join(dirname(localPath), `.${basename(localPath)}.runbook-${randomBytes(6).toString("hex")}.tmp`);
    try {
      await this.withSftp(async (sftp) => {
        const remoteMode = await new Promise<number>((resolve, reject) => {
          sftp.stat(remotePath, (err, st) => (err ? reject(this.fileError("download", remotePath, err)) : resolve(st.mode & 0o777)));
        });
        await writeLocalFile(tmp, "", { mode: 0o600, flag: "wx" });
        await new Promise<void>((resolve, reject) => {
          sftp.fastGet(remotePath, tmp, (err) => (err ? reject(this.fileError("download", remotePath, err)) : resolve()));
        });
        await localChmod(tmp, remoteMode);
      });
      await rename(tmp, localPath);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (err instanceof DriverError) throw err;
      throw new DriverError(`cannot download ${remotePath} from ${this.label} to ${localPath}: ${(err as Error).message}`, "file");
    }
  }

}
