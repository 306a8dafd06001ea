// Test set-up for every test file: spans made by a SourceText hold only their offset and
// length and work out line and column when read, so `toEqual` compares them by all five
// fields, as plain objects (the way they serialize).

import { expect } from "vitest";
import { isTextSpan, plainSpan } from "../../language/span.js";

expect.addEqualityTesters([
  function spansByValue(a: unknown, b: unknown, customTesters) {
    if (!isTextSpan(a) && !isTextSpan(b)) return undefined;
    return this.equals(isTextSpan(a) ? plainSpan(a) : a, isTextSpan(b) ? plainSpan(b) : b, customTesters);
  },
]);
