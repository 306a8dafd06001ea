import { spawn } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../language/compile.js";
import { Redaction } from "../../runtime/redact.js";

describe("Redaction.redact", () => {
  it.each([
    ["no secret", ["s3cret"], "nothing here", "nothing here"],
    ["one", ["s3cret"], "token=s3cret!", "token=***!"],
    ["several times", ["s3cret"], "s3cret s3cret", "*** ***"],
    ["longest first", ["abc", "abcdef"], "abcdef abc", "*** ***"],
    ["two secrets", ["pw1-xyz", "tok-987"], "pw1-xyz:tok-987", "***:***"],
    ["shell-quoted form", ["it's"], "echo 'it'\\''s'", "echo ***"],
    ["sql-quoted form", ["o'hara"], "WHERE name = 'o''hara'", "WHERE name = '***'"],
    ["trailing newline of a file secret", ["pass\n"], "pass", "***"],
  ])("%s", (_name, secrets, text, expected) => {
    expect(new Redaction(secrets).redact(text)).toBe(expected);
  });

  it("redacts every string in a value", () => {
    const r = new Redaction(["hunter22"]);
    expect(r.redactDeep({ a: "x hunter22", b: ["hunter22"], n: 3 })).toEqual({ a: "x ***", b: ["***"], n: 3 });
  });

  it("keeps spans and string nodes whole: what they serialize to, getters included", () => {
    const text = 'run "x hunter22"';
    const lit = compileSource(`runbook "r" version "1.0.0"\nstep "s" { ${text} }`, "r.rb").runbook!.items[0]!;
    const out = JSON.parse(JSON.stringify(new Redaction(["hunter22"]).redactDeep(lit))) as { span: { line: number; column: number; file: string } };
    expect(out.span).toEqual({ file: "r.rb", offset: 28, line: 2, column: 1, length: 29 });
    expect(JSON.stringify(out)).toContain('"value":"x ***"');
    expect(JSON.stringify(out)).not.toContain("hunter22");
  });
});

describe("Redactor (streams)", () => {
  const run = (secrets: string[], chunks: string[]) => {
    const s = new Redaction(secrets).stream();
    let out = "";
    for (const c of chunks) out += s.push(c);
    return out + s.end();
  };

  it.each([
    ["split in two", ["hunter22"], ["pass=hun", "ter22 ok"], "pass=*** ok"],
    ["split in three", ["hunter22"], ["h", "unter2", "2"], "***"],
    ["split at every char", ["abcdef"], ["a", "b", "c", "d", "e", "f", "!"], "***!"],
    ["prefix that is not the secret", ["hunter22"], ["hunt", "ing season"], "hunting season"],
    ["prefix at the very end", ["hunter22"], ["xx hunter2"], "xx hunter2"],
    ["longer secret decided later", ["abc", "abcdef"], ["x abc", "def y"], "x *** y"],
    ["shorter secret when the longer fails", ["abc", "abcdef"], ["x abc", "dx"], "x ***dx"],
    ["a short line of a multi-line secret split between chunks", ["first-line-of-it\nZm9v"], ["a\n+Zm", "9v\nb"], "a\n+***\nb"],
    ["… split at its line break", ["first-line-of-it\nZm9v"], ["a\nZm9v", "\nb"], "a\n***\nb"],
    ["… at the very end", ["first-line-of-it\nZm9v"], ["a\n Zm", "9v"], "a\n ***"],
    ["… a long line of it split", ["first-line-of-it\nZm9v"], ["cat: first-li", "ne-of-it!"], "cat: ***!"],
    ["… not it: a longer line", ["first-line-of-it\nZm9v"], ["a\nZm", "9vx\n"], "a\nZm9vx\n"],
  ])("%s", (_name, secrets, chunks, expected) => {
    expect(run(secrets, chunks)).toBe(expected);
  });

  it("passes text through at once when it cannot be the start of a secret", () => {
    const s = new Redaction(["hunter22"]).stream();
    expect(s.push("line one\n")).toBe("line one\n");
    expect(s.push("then hu")).toBe("then ");
    expect(s.push("mm\n")).toBe("humm\n");
  });

  it("holds back the start of a line only while it could still be a short line of a multi-line secret", () => {
    const s = new Redaction(["first-line-of-it\nZm9v"]).stream();
    expect(s.push("progress ")).toBe("progress ");
    expect(s.push("\nZm")).toBe("\n");
    expect(s.push("x")).toBe("Zmx");
  });

  it("holds back at most maxLength-1 characters", () => {
    const s = new Redaction(["abcdefgh"]).stream();
    const shown = s.push("xxabcdefg");
    expect(shown).toBe("xx");
    expect(s.end()).toBe("abcdefg");
  });

  it("never shows a secret however the stream is cut (property)", () => {
    const secret = "Zq9-secret-Zq9";
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.array(fc.nat(60), { maxLength: 6 }), (before, after, cuts) => {
        const text = `${before}${secret}${after}${secret}`;
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(text.slice(prev, p));
          prev = p;
        }
        chunks.push(text.slice(prev));
        const out = run([secret], chunks);
        expect(out).not.toContain(secret);
        expect(out).toBe(new Redaction([secret]).redact(text));
      }),
    );
  });
});

/** Every piece of `secret` of `n` characters. */
function pieces(secret: string, n = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= secret.length; i++) out.push(secret.slice(i, i + n));
  return out;
}

describe("secrets of every shape", () => {
  const pem = [
    "-----BEGIN PRIVATE KEY-----",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
    "Zm9v",
    "-----END PRIVATE KEY-----",
    "",
  ].join("\n");
  const keyLines = pem.split("\n").filter((l) => l !== "");

  it.each([
    ["a unified diff (each line starts with + or -)", (l: string) => `+${l}`],
    ["a diff's context line", (l: string) => ` ${l}`],
    ["an indented line", (l: string) => `    ${l}  `],
    ["a line with more before it (long lines only)", (l: string) => (l.length >= 8 ? `key: ${l}` : l)],
    ["CRLF line ends", (l: string) => `+${l}\r`],
  ])("masks each line of a multi-line secret in %s", (_where, shape) => {
    const r = new Redaction([pem]);
    const text = ["--- a/key.conf", "+++ b/key.conf", "@@ -1,1 +1,5 @@", "-KEY_HERE", ...keyLines.map(shape), " tail = 1", ""].join("\n");
    const out = r.redact(text);
    for (const line of keyLines) {
      for (const shown of out.split("\n")) expect(shown.replace(/^[+\- ]|\s+$/g, "").trim()).not.toBe(line);
      if (line.length >= 8) expect(out).not.toContain(line);
    }
    expect(out).toContain("-KEY_HERE");
    expect(out).toContain(" tail = 1");
  });

  it("leaves a short line of a multi-line secret alone inside a longer line (only whole lines are it)", () => {
    const r = new Redaction([pem]);
    expect(r.redact("Zm9vbar and Zm9v here")).toBe("Zm9vbar and Zm9v here");
    expect(r.redact("a\n+Zm9v\nb")).toBe("a\n+***\nb");
  });

  it("masks a secret holding a NUL byte as Node's own error message shows it (spawn)", () => {
    const secret = "hunt\0er2-Zq81x";
    let message = "";
    try {
      spawn("/bin/sh", ["-c", `echo using ${secret}`]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("Received");
    expect(message).toContain("hunt\\x00er2-Zq81x"); // the shape it takes there
    const out = new Redaction([secret]).redactMessage(message);
    expect(out).toContain("Received 'echo using ***'");
    for (const p of ["hunt", "er2-Zq81x"]) expect(out).not.toContain(p);
  });

  it("masks a NUL-holding secret cut by Node's 128-character limit, and its pieces between NULs", () => {
    const secret = "Kq3-first-half\0second-half-Kq3";
    let message = "";
    try {
      spawn("/bin/sh", ["-c", `echo ${"x".repeat(100)} ${secret}`]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("Kq3-first-half\\x00sec"); // cut inside the secret
    expect(message).not.toContain("second-half-Kq3");
    const out = new Redaction([secret]).redactMessage(message);
    expect(out).not.toMatch(/Kq3|first|half/);
    expect(new Redaction([secret]).redact("read second-half-Kq3 from C")).toBe("read *** from C");
  });

  it.each([
    ["a cut prefix", (s: string) => `near '${s.slice(0, 30)}' at line 1`],
    ["a cut suffix", (s: string) => `near '${s.slice(-12)}' at line 1`],
    ["a middle piece of 8", (s: string) => `x${s.slice(10, 18)}y`],
    ["two pieces", (s: string) => `${s.slice(0, 9)} and ${s.slice(20, 30)}`],
  ])("redactMessage masks %s of a secret (8 characters or more)", (_what, shape) => {
    const secret = "Wq7_zz-0123456789-abcdefghij-KLMN";
    const text = shape(secret);
    expect(new Redaction([secret]).redact(text)).toBe(text); // whole-value masking alone misses it
    const out = new Redaction([secret]).redactMessage(text);
    for (const p of pieces(secret)) expect(out).not.toContain(p);
  });

  it("redactMessage leaves pieces shorter than 8 characters, and unrelated text", () => {
    const secret = "Wq7_zz-0123456789";
    expect(new Redaction([secret]).redactMessage("near '0123456' at line 1")).toBe("near '0123456' at line 1");
    expect(new Redaction([secret]).redactMessage("near 'x' at line 1: Wq7_zz-0123456789")).toBe("near 'x' at line 1: ***");
  });

  it("redactMessage masks pieces of the quoted forms too (a ' doubled for SQL)", () => {
    const secret = "it's-a-long-sekrit-value";
    const out = new Redaction([secret]).redactMessage("near 'SELECT 'it''s-a-long-sek' at line 1");
    expect(out).not.toContain("long-sek");
    expect(out).not.toContain("s-a-long");
  });
});
