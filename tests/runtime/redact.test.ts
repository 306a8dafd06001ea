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
  ])("%s", (_name, secrets, chunks, expected) => {
    expect(run(secrets, chunks)).toBe(expected);
  });

  it("passes text through at once when it cannot be the start of a secret", () => {
    const s = new Redaction(["hunter22"]).stream();
    expect(s.push("line one\n")).toBe("line one\n");
    expect(s.push("then hu")).toBe("then ");
    expect(s.push("mm\n")).toBe("humm\n");
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
