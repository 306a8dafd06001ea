// `upload template "local.conf.tpl" to "…"`: the local file's `${name}` are filled in
// when the step runs, as text (a value in a file has no quoting: it is written as it
// is), then the result is written on the host. What a template may name: the params
// and vars (their values in the run's env), `env`, `run.id`, the secrets (written into
// the file, shown as `***`), `host.name`/`host.address`/`host.user` (the member the step
// runs on), and values captured by earlier steps. `\${` writes a literal `${`; every
// other character, backslashes included, is written as it is. A name the template
// cannot have is an error at TEMPLATE:LINE:COLUMN, and nothing is written.

import type { LateContext } from "./late-values.js";
import { showLate, type LateValue, type Plan, type Text } from "./plan.js";
import { SecretError } from "./secrets.js";
import { lateValueMissing, templateWords } from "./secret-wording.js";

/** What a name in a template stands for: text, a secret (filled in at the last moment), or nothing known. */
export type TemplateValue = { text: string } | { secret: string } | { unknown: string };

export type TemplateLookup = (path: string[]) => TemplateValue;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function where(file: string, text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `${file}:${line}:${offset - lineStart + 1}`;
}

/** The template filled in: a Text whose secrets stay SecretParts (shown as `***`, read when written). */
export function renderTemplate(text: string, file: string, lookup: TemplateLookup): Text {
  const out: Text = [];
  let plain = "";
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("${", i);
    if (at === -1) {
      plain += text.slice(i);
      break;
    }
    if (at > 0 && text[at - 1] === "\\") {
      plain += text.slice(i, at - 1) + "${";
      i = at + 2;
      continue;
    }
    plain += text.slice(i, at);
    const end = text.indexOf("}", at + 2);
    const newline = text.indexOf("\n", at + 2);
    if (end === -1 || (newline !== -1 && newline < end)) throw new TemplateError(`${where(file, text, at)}: unclosed \`\${\` (write \`\\\${\` for a literal \`\${\`)`);
    const name = text.slice(at + 2, end).trim();
    if (!NAME.test(name)) throw new TemplateError(`${where(file, text, at)}: \`\${${name}}\` is not a name (a name or name.member)`);
    const v = lookup(name.split("."));
    if ("unknown" in v) throw new TemplateError(`${where(file, text, at)}: ${v.unknown}`);
    if ("text" in v) plain += v.text;
    else {
      if (plain) out.push(plain);
      plain = "";
      out.push({ secret: v.secret });
    }
    i = end + 1;
  }
  if (plain) out.push(plain);
  return out;
}

/**
 * What a template's `${…}` may name in a run, on the host it is written to. A value
 * an earlier step captures but has not (yet) is refused as any use of it is
 * (SecretError); in a dry run (`pending` given) it shows where it goes instead, and
 * `pending` hears why the result is not known yet.
 */
export function templateLookup(plan: Plan, runId: string, late: LateContext, pending?: (why: string) => void): TemplateLookup {
  return (path) => {
    const [a, b] = path as [string, string | undefined];
    if (b === undefined) {
      if (a === "env") return { text: plan.env };
      if (Object.prototype.hasOwnProperty.call(plan.values, a)) return { text: plan.values[a]! };
      if (plan.secrets.some((s) => s.name === a)) return { secret: a };
      const c = late.captured.get(a);
      if (c) return c.secret ? { secret: a } : { text: c.value };
      for (const step of plan.steps) {
        for (const x of step.actions) {
          const into = x.kind === "run" || x.kind === "sql" ? x.into : undefined;
          if (into?.name !== a) continue;
          const v: LateValue = { kind: "captured", name: a, step: step.id, secret: into.secret };
          if (!pending) throw new SecretError(lateValueMissing(v));
          pending(lateValueMissing(v));
          return { text: showLate(v) };
        }
      }
      return { unknown: templateWords.unknownName(a) };
    }
    if (a === "run" && b === "id") return { text: runId };
    const host = a === "host" ? late.host[b] : undefined;
    if (host !== undefined) return { text: host };
    return { unknown: templateWords.unknownName(`${a}.${b}`) };
  };
}
