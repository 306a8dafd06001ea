// The fast path of value placement (placeSimpleShellValues) against the plain way
// (mvdan/sh's parser): wherever the fast path answers, the parser gives the same
// placement, or finds the command is not valid shell at all (the fast path checks no
// syntax; a value is a word either way). And the fast path does answer for the
// commands real runbooks have, so `runbook check` rarely needs to load the parser.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StringLit } from "../../language/ast.js";
import { isSimpleShell, placeShellValuesByParser, placeSimpleShellValues, type Piece } from "../../language/value-placement.js";

const text = (t: string): Piece => ({ text: t });
const value: Piece = { value: true };

describe("the fast path of shell placement", () => {
  it("agrees with the parser on generated commands", () => {
    const bit = fc.constantFrom(
      "echo", "cd", " ", " ", "&&", "|", ";", "\n", ">", "2>&1", "<", "<<", "x=", "'a b'", "'", "\"", "$(", ")", "$((", "((", "#", "\\", "$", "{", "}", "[",
      "eval ", "let ", "case ", "esac", "*", "-n", "/tmp/", "=", "a'b'c", "if ", "then ", "fi", "~/", "x",
    );
    const piece = fc.oneof(fc.array(bit, { minLength: 1, maxLength: 6 }).map((b) => text(b.join(""))), fc.constant(value));
    let agreed = 0;
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (pieces) => {
        const fast = placeSimpleShellValues(pieces);
        // The checker's allocation-free form decides the same.
        const lit = { kind: "string", parts: pieces.map((p) => ("text" in p ? { kind: "text", value: p.text } : { kind: "interp", path: ["v"], raw: false })) } as unknown as StringLit;
        expect(isSimpleShell(lit)).toBe(fast !== undefined);
        if (!fast) return;
        const plain = placeShellValuesByParser(pieces);
        if (plain.ok) {
          expect(fast).toEqual(plain);
          agreed++;
        } else expect(plain.problem).toBe("shell-syntax");
      }),
      { numRuns: 3000 },
    );
    expect(agreed).toBeGreaterThan(100);
  });

  it.each([
    ["cd ", value, " && ./maintenance.on"],
    ["crontab -l > ", value, "/crontab.bak && crontab -r"],
    ["grep -c '^migrate = False' ", value, "/models/00_db.py"],
    ["cd ", value, " && bzr revert -r $(cat ", value, "/revno.before-release)"],
  ].map((row) => [row.map((p) => (typeof p === "string" ? p : "${…}")).join(""), row.map((p) => (typeof p === "string" ? text(p) : p))]))(
    "answers for %s, as the parser does",
    (_shown, pieces) => {
      const fast = placeSimpleShellValues(pieces as Piece[]);
      expect(fast).toBeDefined();
      expect(fast).toEqual(placeShellValuesByParser(pieces as Piece[]));
    },
  );

  it.each([
    ['echo "', value, '"'],
    ["echo $((1+", value, "))"],
    ["eval ", value],
    ["cat <<EOF\n", value, "\nEOF"],
    ["echo hi # ", value],
    ["echo 'a\n", value, "'"],
  ])("leaves %j to the parser", (...row) => {
    const pieces = row.map((p) => (typeof p === "string" ? text(p) : p)) as Piece[];
    expect(placeSimpleShellValues(pieces)).toBeUndefined();
  });
});
