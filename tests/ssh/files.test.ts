// Files over SFTP against a real sshd: atomic writes that keep mode and
// owner, stat, read, upload and download.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriverError, type HostDriver } from "../../runtime/drivers/driver.js";
import { SshPool } from "../../runtime/drivers/ssh/index.js";
import { startSshHosts, type SshTestHosts } from "../support/sshd.js";
import { collect, sshdEnabled } from "./helpers.js";

describe.skipIf(!sshdEnabled)("ssh files", () => {
  let h: SshTestHosts;
  let pool: SshPool;
  let host: HostDriver;
  let local: string;
  let n = 0;
  const remote = (name: string) => `${h.remoteDir}/${++n}-${name}`;
  const leftovers = async () => (await collect(host, `ls -A ${h.remoteDir} | grep -c runbook- || true`)).out.trim();

  beforeAll(async () => {
    h = await startSshHosts(1);
    pool = new SshPool({ homeDir: h.home });
    host = pool.host("rbhost0");
    local = await mkdtemp(join(tmpdir(), "runbook-ssh-files-"));
  });
  afterAll(async () => {
    await pool?.closeAll();
    await h?.stop();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it.each([
    ["0750", 0o750],
    ["0600", 0o600],
    ["0644", 0o644],
    ["4755 (setuid kept)", 0o4755],
  ])("writes a new file with mode %s", async (_what, mode) => {
    const path = remote("new.sh");
    await host.writeFile(path, "#!/bin/sh\necho hi\n", { mode });
    const st = await host.stat(path);
    expect(st).toMatchObject({ size: 18, isDirectory: false });
    expect(st!.mode & 0o7777).toBe(mode);
    expect((await host.readFile(path)).toString()).toBe("#!/bin/sh\necho hi\n");
    expect((await collect(host, `stat -c %a ${path}`)).out.trim()).toBe(mode.toString(8));
  });

  it("a new file without a mode gets 0644", async () => {
    const path = remote("plain.txt");
    await host.writeFile(path, "x");
    expect((await host.stat(path))!.mode & 0o7777).toBe(0o644);
  });

  it("overwriting keeps the existing mode and owner, atomically, without leftovers", async () => {
    const path = remote("config.ini");
    await collect(host, `printf 'old' > ${path}; chmod 0640 ${path}`);
    const before = await host.stat(path);
    // A reader that holds the old file open still sees the old content: it was replaced, not rewritten.
    await host.writeFile(path, Buffer.from("new content\n"));
    const after = await host.stat(path);
    expect(after!.mode & 0o7777).toBe(0o640);
    expect([after!.uid, after!.gid]).toEqual([before!.uid, before!.gid]);
    expect((await host.readFile(path)).toString()).toBe("new content\n");
    expect(await leftovers()).toBe("0");
  });

  it("an explicit mode wins over the existing one", async () => {
    const path = remote("mode.txt");
    await host.writeFile(path, "a", { mode: 0o600 });
    await host.writeFile(path, "b", { mode: 0o755 });
    expect((await host.stat(path))!.mode & 0o7777).toBe(0o755);
  });

  it("writing through a symlink replaces the target and keeps the link", async () => {
    const target = remote("real.txt");
    const link = remote("link.txt");
    await collect(host, `printf 'one' > ${target}; chmod 0604 ${target}; ln -s ${target} ${link}`);
    await host.writeFile(link, "two");
    expect((await collect(host, `test -L ${link} && cat ${target} && stat -c %a ${target}`)).out).toBe("two604\n");
  });

  it("stat says null for a missing path and describes a directory", async () => {
    expect(await host.stat(`${h.remoteDir}/does-not-exist`)).toBeNull();
    const dir = await host.stat(h.remoteDir);
    expect(dir?.isDirectory).toBe(true);
  });

  it.each([
    ["read a missing file", () => host.readFile(`${h.remoteDir}/missing.txt`), "cannot read", "no such file or directory"],
    ["write into a missing directory", () => host.writeFile(`${h.remoteDir}/no/such/dir.txt`, "x"), "cannot write", "no such file"],
    ["write where it may not", () => host.writeFile("/etc/runbook-test-denied", "x"), "cannot write", "permission denied"],
    ["write over a directory", () => host.writeFile(h.remoteDir, "x"), "cannot write", "directory"],
  ])("%s: a clear error", async (_what, op, verb, reason) => {
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).message).toContain(verb);
    expect((err as DriverError).message).toContain("on rbhost0");
    expect((err as DriverError).message.toLowerCase()).toContain(reason);
  });

  it("uploads and downloads, binary-safe", async () => {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
    const src = join(local, "blob.bin");
    await writeFile(src, data, { mode: 0o640 });
    const dst = remote("blob.bin");
    await host.upload(src, dst);
    expect((await host.stat(dst))!.size).toBe(data.length);
    expect((await host.stat(dst))!.mode & 0o777).toBe(0o640);
    const back = join(local, "back.bin");
    await host.download(dst, back);
    expect((await readFile(back)).equals(data)).toBe(true);
    expect((await stat(back)).size).toBe(data.length);
  });

  it("upload over an existing file keeps its mode", async () => {
    const src = join(local, "up.txt");
    await writeFile(src, "fresh", { mode: 0o600 });
    const dst = remote("existing.txt");
    await collect(host, `printf 'stale' > ${dst}; chmod 0664 ${dst}`);
    await host.upload(src, dst);
    expect((await host.readFile(dst)).toString()).toBe("fresh");
    expect((await host.stat(dst))!.mode & 0o777).toBe(0o664);
  });

  it.each([
    ["0600 (a key)", 0o600, 0o600],
    ["0640", 0o640, 0o640],
    ["0755", 0o755, 0o755],
    ["0400", 0o400, 0o400],
    ["4755 (setuid not carried over)", 0o4755, 0o755],
  ])("download keeps the remote file's mode: %s", async (_what, remoteMode, localMode) => {
    const src = remote("moded.bin");
    await host.writeFile(src, "secret material\n", { mode: remoteMode });
    expect((await host.stat(src))!.mode & 0o7777).toBe(remoteMode);
    const dst = join(local, `moded-${n}.bin`);
    await host.download(src, dst);
    expect((await stat(dst)).mode & 0o7777).toBe(localMode);
    expect(await readFile(dst, "utf8")).toBe("secret material\n");
  });

  it("download of a missing file fails clearly and leaves nothing behind", async () => {
    const dst = join(local, "never.txt");
    const err = await host.download(`${h.remoteDir}/missing.bin`, dst).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).message).toContain("cannot download");
    await expect(stat(dst)).rejects.toThrow();
  });

  it("many file operations and commands at once share the one connection", async () => {
    const paths = Array.from({ length: 20 }, (_, i) => remote(`many-${i}.txt`));
    await Promise.all(paths.map((p, i) => host.writeFile(p, `file ${i}`)));
    const [contents, outs] = await Promise.all([
      Promise.all(paths.map((p) => host.readFile(p))),
      Promise.all(paths.map((p) => collect(host, `cat ${p}`))),
    ]);
    expect(contents.map((c) => c.toString())).toEqual(paths.map((_, i) => `file ${i}`));
    expect(outs.map((o) => o.out)).toEqual(paths.map((_, i) => `file ${i}`));
  });
});
