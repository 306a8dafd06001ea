// runtime/late-values.ts: what the executor fills in just before an action runs. A value
// in code stays a bound reference (its value beside the code, never spliced in), a
// secret capture becomes a secret reference, plain text gets the value, and an unknown
// value is left for SecretStore to refuse, saying why.

import { describe, expect, it } from "vitest";
import { CapturedValues, fillText, hostValues } from "../../runtime/late-values.js";
import type { BoundPart, LateValue, Text } from "../../runtime/plan.js";
import { SecretError, SecretStore } from "../../runtime/secrets.js";

const captured = (): CapturedValues => {
  const c = new CapturedValues();
  c.set("rev", "547; rm -rf /", false);
  c.set("key", "s3cret-value", true);
  return c;
};
const ctx = () => ({ host: { ...hostValues("app@w1.example.org:2222"), role: "primary" }, captured: captured() });
const bound = (late: LateValue): BoundPart => ({ ref: '"${__rb_1}"', name: "x", context: "word", late });

describe("late values", () => {
  it.each([
    ["user@address:port", "app@w1.example.org:2222", { name: "app@w1.example.org:2222", address: "w1.example.org", user: "app" }],
    ["an alias", "w1", { name: "w1", address: "w1", user: "" }],
    ["IPv6 with a port", "root@[::1]:22", { name: "root@[::1]:22", address: "::1", user: "root" }],
  ])("host values of %s", (_n, target, want) => {
    expect(hostValues(target)).toEqual(want);
  });

  it.each<[string, LateValue, Partial<BoundPart>]>([
    ["a host value", { kind: "host", member: "address" }, { value: "w1.example.org" }],
    ["a member's own value", { kind: "host", member: "role" }, { value: "primary" }],
    ["a capture", { kind: "captured", name: "rev", step: "s", secret: false }, { value: "547; rm -rf /" }],
    ["a secret capture", { kind: "captured", name: "key", step: "s", secret: true }, { secret: "key" }],
  ])("in code, %s stays a bound reference", (_n, late, want) => {
    const [p] = fillText([bound(late)], ctx()) as [BoundPart];
    expect(p).toEqual({ ref: '"${__rb_1}"', name: "x", context: "word", ...want });
  });

  it("in plain text a capture is its value, a secret one a secret reference", () => {
    const text: Text = ["a=", { late: { kind: "captured", name: "rev", step: "s", secret: false } }, " k=", { late: { kind: "captured", name: "key", step: "s", secret: true } }];
    expect(fillText(text, ctx())).toEqual(["a=", "547; rm -rf /", " k=", { secret: "key" }]);
  });

  it("binds a filled command with its values apart from the code, and refuses one still unknown", () => {
    const store = new SecretStore([]);
    store.capture("key", "s3cret-value");
    const late: LateValue = { kind: "captured", name: "rev", step: "before", secret: false };
    const filled = fillText(["echo ", bound(late), " ", { ...bound({ kind: "captured", name: "key", step: "before", secret: true }), ref: '"${__rb_2}"' }], ctx());
    expect(store.bind(filled)).toEqual({ code: 'echo "${__rb_1}" "${__rb_2}"', values: ["547; rm -rf /", "s3cret-value"] });
    const unknown = fillText(["echo ", bound({ kind: "captured", name: "later", step: "after", secret: false })], ctx());
    expect(() => store.bind(unknown)).toThrow(SecretError);
    expect(() => store.bind(unknown)).toThrow("`${later}` has no value: it is known after step after runs");
  });
});
