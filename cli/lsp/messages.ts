// Wording of what the language server shows people: hover text, completion details,
// rename refusals. Markdown where the editor renders it.

import type { SecretSource } from "../../language/ast.js";
import type { SymbolKind } from "./analysis.js";

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

export const lspMessages = {
  /** Hover title: `var home`. */
  hoverTitle: (kind: SymbolKind, name: string) => `**${kind}** ${code(name)}`,
  /** One env's value of a name, a line of the hover. */
  envValue: (env: string, value: string) => `- ${code(env)}: ${value === "" ? "(empty)" : code(value)}`,
  /** One env's line of a hover, with text already marked up. */
  envLine: (env: string, text: string) => `- ${code(env)}: ${text}`,
  /** A secret's line: never its value. */
  envSecret: (env: string) => `- ${code(env)}: secret`,
  envMissing: (env: string) => `- ${code(env)}: (not declared)`,
  secretSource: (source: SecretSource, ref: string): string => SECRET_SOURCE[source](code(ref)),
  envBlock: (isProtected: boolean, overrides: string[]) =>
    [isProtected ? "protected" : "not protected", overrides.length ? `overrides ${overrides.map(code).join(", ")}` : "no overrides"].join("; "),
  step: (title: string, id: string, host?: string) => `step ${code(id)}: ${title}${host ? ` (on ${code(host)})` : ""}`,
  include: (file: string) => `includes ${code(file)}`,
  local: "local (this machine)",
  sqlite: (p: string, host?: string) => `sqlite ${code(p)}${host ? ` on ${code(host)}` : ""}`,
  mysql: (url: string, via?: string) => `mysql ${code(url)}${via ? ` via ${code(via)}` : ""}`,
  renameNotAName: (name: string) => `${code(name)} is not a name: a letter or _, then letters, digits or _.`,
  renameKeyword: (name: string) => `${code(name)} is a keyword of the language.`,
  renameTaken: (name: string) => `${code(name)} is already declared.`,
  renameNothing: "Only a declared name (var, param, secret, host, database, env) or a step id can be renamed.",
} as const;

/** Where a secret is read from, for its hover: one wording per source. */
const SECRET_SOURCE: { [K in SecretSource]: (ref: string) => string } = {
  env: (ref) => `read from the environment variable ${ref}`,
  file: (ref) => `read from the file ${ref}`,
  command: (ref) => `the output of the command ${ref}, run on this machine at first use`,
};
