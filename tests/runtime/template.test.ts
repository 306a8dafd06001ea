// runtime/template.ts: a template's `${…}` filled in as text (no quoting), `\${` for a
// literal `${`, secrets kept as references (shown as ***), and a bad `${…}` reported at
// TEMPLATE:LINE:COLUMN.

import { describe, expect, it } from "vitest";
import { renderTemplate, TemplateError, type TemplateLookup } from "../../runtime/template.js";
import { showText } from "../../runtime/plan.js";

const lookup: TemplateLookup = (path) => {
  const name = path.join(".");
  if (name === "home") return { text: "/srv/app" };
  if (name === "odd") return { text: `it's "$(x)" \\n` };
  if (name === "host.name") return { text: "app@w1" };
  if (name === "pw") return { secret: "pw" };
  return { unknown: `unknown name \`${name}\`` };
};

describe("templates", () => {
  it.each([
    ["a value", "home = ${home}\n", "home = /srv/app\n"],
    ["spaces inside", "h = ${ home }", "h = /srv/app"],
    ["a value as it is", "odd = ${odd}", `odd = it's "$(x)" \\n`],
    ["a member", "me = ${host.name}", "me = app@w1"],
    ["a literal ${", "lit = \\${home} and \\n stays", "lit = ${home} and \\n stays"],
    ["a lone $ and braces", "cost = $5 {x}", "cost = $5 {x}"],
    ["a secret, shown as ***", "pw = ${pw}\n", "pw = ***\n"],
  ])("fills %s", (_n, text, shown) => {
    expect(showText(renderTemplate(text, "t.tpl", lookup))).toBe(shown);
  });

  it("keeps a secret as a reference", () => {
    expect(renderTemplate("a ${pw} b", "t.tpl", lookup)).toEqual(["a ", { secret: "pw" }, " b"]);
  });

  it.each([
    ["an unknown name", "ok\n  x = ${nope}\n", "t.tpl:2:7: unknown name `nope`"],
    ["an unclosed ${", "a = ${home\nb = 1\n", "t.tpl:1:5: unclosed `${` (write `\\${` for a literal `${`)"],
    ["not a name", "a = ${1x}", "t.tpl:1:5: `${1x}` is not a name (a name or name.member)"],
    ["too many parts", "a = ${a.b.c}", "t.tpl:1:5: `${a.b.c}` is not a name (a name or name.member)"],
  ])("refuses %s at its place", (_n, text, message) => {
    expect(() => renderTemplate(text, "t.tpl", lookup)).toThrow(TemplateError);
    expect(() => renderTemplate(text, "t.tpl", lookup)).toThrow(message);
  });
});
