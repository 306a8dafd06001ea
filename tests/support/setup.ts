// Test set-up for every test file. Spans made by a SourceText hold only their offset and
// length and work out line and column when read; the nodes of decoded strings make their
// span when read (language/strings.ts). `toEqual` compares both the way they serialize:
// as plain objects with every field, the span included.

import { expect } from "vitest";
import { isTextSpan, plainSpan } from "../../language/span.js";
import { isParsedStringNode } from "../../language/strings.js";

const asPlain = (x: unknown): unknown => (isTextSpan(x) ? plainSpan(x) : isParsedStringNode(x) ? x.toJSON() : x);

expect.addEqualityTesters([
  function byValue(a: unknown, b: unknown, customTesters) {
    const pa = asPlain(a);
    const pb = asPlain(b);
    if (Object.is(pa, a) && Object.is(pb, b)) return undefined;
    return this.equals(pa, pb, customTesters);
  },
]);
