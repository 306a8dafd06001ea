// Every diagnostic's wording, in one place. The lexer, parser, include resolver
// and checker build messages only through these functions, so wording stays
// consistent and golden files change in one place.

import type { PlacementProblem } from "./value-placement.js";
import type { OutsideSource } from "./check.js";
import { assertNever } from "./assert.js";
import { SSL_MODES, type MysqlUrlProblem } from "./mysql-url.js";

/** Code in a message: in backquotes, or in single quotes when it holds a backquote itself (never ``` ``` ```). */
const q = (s: string) => (s.includes("`") ? `'${s}'` : `\`${s}\``);

/** Why a value cannot stand at a place, and how to write it instead. */
const PLACEMENT: { [K in PlacementProblem]: { why: string; fix: string } } = {
  "shell-syntax": { why: "the command is not valid shell", fix: "fix the command's quoting; a literal `${` for the shell is written `\\${`" },
  arithmetic: {
    why: "the shell would evaluate the value as an arithmetic expression, which can run code",
    fix: 'check the value first and pass it as a word: `n=${count}; case $n in *[!0-9]*) exit 1;; esac; echo $((n + 1))`',
  },
  "not-expanded": { why: "the shell does not expand anything there (a comment, a quoted here-document, an escaped `$`)", fix: "move the value out of the comment or quoted text" },
  "ansi-c-quote": { why: "a value cannot be placed inside `$'…'`", fix: "close the `$'…'` before the value: `$'a\\tb'${name}`" },
  "backquote-in-double-quotes": { why: "values inside `…` within double quotes are read differently by each shell", fix: "use `$( … )` instead of backquotes" },
  eval: { why: "an argument of `eval` runs as code", fix: "run the command directly, with the value as one of its arguments" },
  "reserved-name": { why: "the names `__rb_1`, `__rb_2`, … carry runbook's values into commands", fix: "rename the shell variable" },
  "sql-string": { why: "a value cannot be spliced into an SQL string literal", fix: "give the value as its own operand: `'prefix ' || ${name}` (SQLite) or `CONCAT('prefix ', ${name})` (MySQL); `= ${name}` instead of `= '${name}'`" },
  "sql-name": { why: "a value cannot be a table or column name", fix: "write the name out, or use `${raw name}` for a name the runbook itself declares" },
  "sql-comment": { why: "a value inside an SQL comment (or a MySQL `/*! … */` comment) is not a value", fix: "move the value out of the comment" },
  "sql-param": { why: "the SQL has a parameter of its own (`?`, `:name`)", fix: "give values with `${name}`: each becomes a bound parameter" },
};

export const messages = {
  // ---------------------------------------------------------------- lexer / parser
  /** `shown` is the text with invisible characters spelled `U+00A0`; `count` how many characters it is. */
  unexpectedCharacter: (shown: string, count: number) => `unexpected character${count > 1 ? "s" : ""} ${q(shown)}`,
  singleQuoteNote: () => `strings are written in double quotes: "…"`,
  unterminatedString: () => "unterminated string",
  unterminatedStringNote: () => `close it with \`"\` on the same line; text over several lines goes in """…"""`,
  unterminatedTripleString: () => `unterminated string: the \`"""\` is never closed`,
  /** "expected a string after `run`" */
  expected: (what: string, after?: string) => (after ? `expected ${what} after ${after}` : `expected ${what}`),
  /** "unexpected `}`" */
  unexpected: (what: string) => `unexpected ${what}`,
  unexpectedIn: (what: string, where: string) => `unexpected ${what} in ${where}`,
  reservedWordNote: (word: string) => `\`${word}\` is a reserved word and cannot be a name; choose another one`,
  unknownStatement: (word: string) => `unknown statement ${q(word)}`,
  statementsNote: (words: readonly string[]) => `a step holds statements: ${words.map(q).join(", ")}`,
  sectionNote: () => 'a section holds steps: `step "Title" { … }`',
  envBlockNote: () => "an env block holds `protected`, `confirm \"…\"` and overrides like `var home = \"…\"`",
  topLevelNote: () =>
    "expected a declaration (`param`, `var`, `secret`, `host`, `database`), `include`, `env`, `section`, `step` or `finally`",
  compareNote: () => "to compare two values, write `==`",
  durationNote: () => "a duration is a whole number with a unit: `500ms`, `30s`, `10m`, `2h`, `1d`",
  unclosedBlock: (what: string) => `expected \`}\` to close ${what} before the end of the file`,
  missingHeader: () => 'missing header: a runbook starts with `runbook "NAME" version "1.0.0"`',
  headerNotFirst: () => "the header `runbook NAME version SEMVER` must be the first statement",
  headerInInclude: (word: string) => `${q(word)} in an included file is ignored: only the main file's header counts`,
  duplicate: (what: string) => `${q(what)} is given twice`,
  duplicateFinally: () => "a file has one `finally` block: move these steps into the first one",
  defaultEnvInInclude: () => "`default env` belongs in the main file, not in an included one",
  emptyInterpolation: () => "empty `${}`: put a name inside, like `${home}`",
  badInterpolation: (text: string, what: string, after: string) => `bad interpolation ${q(text)}: expected ${what} after ${q(after)}`,
  unclosedInterpolation: () => "unclosed `${` in string: expected `}`",
  unknownEscape: (esc: string) => `unknown escape ${q(esc)} is kept as written`,
  unknownEscapeNote: () => "the escapes are \\\" \\\\ \\n \\t \\$; write \\\\ for a backslash",
  emptyApprovalGroup: () => "an approval group cannot be empty",
  noAllowedSigners: (path: string) =>
    `\`approvals\` needs the allowed-signers file beside the runbook, and ${path} is not there (OpenSSH allowed_signers format; see docs/language.md "Approvals")`,
  allowedSignersIsDirectory: (path: string) =>
    `\`approvals\` needs the allowed-signers file beside the runbook, and ${path} is a directory, not a file (OpenSSH allowed_signers format; see docs/language.md "Approvals")`,
  unknownApprovalGroup: (group: string, file: string) => `no key in ${file} signs for group "${group}" (a line with namespaces="runbook:${group}")`,
  tooFewApprovers: (n: number, group: string, members: string[]) =>
    `${n} approvals from "${group}" can never be given: it has ${members.length} member${members.length === 1 ? "" : "s"} (${members.join(", ")})`,
  noInterpolationIn: (what: string) => `${what} cannot contain \`\${…}\``,
  nestedTooDeep: (max: number) => `nested more than ${max} levels deep (\`(\`, \`[\` and \`not\` each open a level)`,
  nestedTooDeepNote: () => "write the condition flatter: `not (a or b)` is `not a and not b`, and a chain of `and`/`or` needs no parentheses",
  nestedTooDeeply: () => "the file is nested too deeply to read (hundreds of levels of `(` or `not`)",
  internal: (message: string) => `internal error: ${message}`,
  cannotRead: (file: string) => `cannot read ${q(file)}`,
  // ---------------------------------------------------------------- includes
  includeMissing: (path: string) => `cannot read included file ${q(path)}`,
  includeCycle: (chain: string[]) => `include cycle: ${chain.map(q).join(" → ")}`,
  includeTwice: (path: string) => `${q(path)} is already included`,
  // ---------------------------------------------------------------- checker
  didYouMean: (name: string) => `did you mean ${q(name)}?`,
  // names
  unknownName: (name: string) => `unknown name ${q(name)}`,
  unknownHost: (name: string) => `unknown host ${q(name)}`,
  unknownDatabase: (name: string) => `unknown database ${q(name)}`,
  unknownSecret: (name: string) => `unknown secret ${q(name)}`,
  unknownEnv: (name: string) => `unknown env ${q(name)}`,
  envsAre: (names: string[]) =>
    names.length ? `the envs are ${names.map(q).join(", ")}` : "this runbook has no env blocks: its one env is `default`",
  unknownRunMember: (member: string) => `\`run\` has no member ${q(member)}`,
  runMembersAre: (names: readonly string[]) => `the run values are ${names.map(q).join(", ")}`,
  runValueNotYet: (name: string) => `${q(name)} is known only while the runbook runs`,
  unknownEnvMember: (env: string, name: string) => `env ${q(env)} has no ${q(name)}: no param or var ${q(name)} is declared at top level`,
  otherEnvKind: (env: string, name: string, kind: string) =>
    `${q(`${env}.${name}`)} is a ${kind}: only another env's params and vars can be read`,
  noMembers: (name: string, kind: string, member: string) => `${q(name)} is a ${kind} and has no member ${q(member)}`,
  tooManyParts: (path: string) => `${q(path)} has too many parts: write \`name\` or \`env.name\``,
  valueTooLarge: (kind: string, name: string, length: number, env: string, max: number, fromSet: boolean) =>
    `${kind} ${q(name)} would be ${length.toLocaleString("en-US")} characters long in env ${q(env)}${fromSet ? " (its value from --set)" : ""}: the limit for a value is ${max.toLocaleString("en-US")} (1 MB)`,
  valueTooLargeNote: () => "each `${…}` copies the whole value it names: a value that interpolates others several times, through a chain of vars, grows fast",
  noValue: (name: string) => `${q(name)} has no value: its value refers back to itself`,
  wrongKind: (name: string, actual: string, expected: string) => `${q(name)} is a ${actual}, not a ${expected}`,
  notAValue: (name: string, kind: string, where: string) => `${q(name)} is a ${kind} and can't be used in ${where}`,
  valueKinds: "a value can only use params, vars, `env`, `run.*` and other envs' params and vars",
  secretExposed: (name: string, where: string) => `secret ${q(name)} can't be used in ${where}: it would be shown`,
  secretMasked: (name: string, where: string) => `secret ${q(name)} in ${where} is shown as \`***\`, never as its value`,
  secretMaskedHint: "to use its value, interpolate it into a command (`run`, `undo`, `succeeds`, `output`), SQL or an `edit` replacement",
  secretPlaces:
    "secrets can be interpolated only into commands (`run`, `undo`, `succeeds`, `output`), SQL (`sql`, `query`) and `edit` replacements",
  passwordHint: "give a MySQL database's password with `password SECRET`",
  // env blocks
  undeclaredOverride: (env: string, name: string) => `env ${q(env)} overrides ${q(name)}, which is not declared at top level`,
  declareFirst: (kind: string, name: string) => `declare it at top level first: \`${kind} ${name} = …\``,
  overrideKind: (env: string, name: string, kind: string, topKind: string) =>
    `env ${q(env)} overrides ${q(name)} as a ${kind}, but it is declared as a ${topKind}`,
  // duplicates
  duplicateDecl: (name: string) => `${q(name)} is already declared`,
  duplicateOverride: (env: string, name: string) => `env ${q(env)} already overrides ${q(name)}`,
  duplicateEnv: (name: string) => `env ${q(name)} is already declared`,
  duplicateStepId: (id: string) => `step id ${q(id)} is already used`,
  firstAt: (what: string, where: string) => `first ${what} at ${where}`,
  stepIdHint: "give one of the steps its own id with `as NAME`",
  duplicateOption: (keyword: string) => `this step already has \`${keyword}\``,
  misplacedInUndo: (keyword: string) => `\`${keyword}\` can't be used inside \`undo { … }\``,
  // values
  interpolationCycle: (chain: string[]) => `interpolation cycle: ${chain.map(q).join(" → ")}`,
  inEnvs: (envs: string[]) => `in env ${envs.map(q).join(", ")}`,
  badSemver: (text: string) => `${q(text)} is not a semantic version`,
  semverHint: "write MAJOR.MINOR.PATCH, e.g. `1.0.0` (a pre-release `-rc.1` and build `+abc` may follow)",
  zeroDuration: (keyword: string) => `\`${keyword}\` must be longer than 0`,
  badCount: (keyword: string, value: string) => `\`${keyword}\` needs a whole number of at least 1, not ${value}`,
  badRegex: (error: string) => `invalid regular expression: ${error}`,
  badFormat: (name: string) => `unknown export format ${q(name)}: use \`csv\` or \`web2py\``,
  badHostTarget: (target: string) => `${q(target)} is not a host target: write \`user@address\` or \`user@address:port\``,
  emptyGroup: "a host group needs at least one member",
  captureOnGroup: (name: string, host: string, env: string) =>
    `\`into ${name}\` is in a step on ${host}, a host group in env ${env}: each member would give a value; capture it in a step on one host`,
  captureInUndo: "`into` cannot capture a value in `undo`: a rollback's values are never read again",
  duplicateCapture: (name: string) => `${q(name)} is already a name: a captured value needs a name of its own`,
  reservedCapture: "`env`, `run` and `host` are names of the language",
  capturedTooEarly: (name: string, by: string, at: string | undefined, same: boolean) =>
    at === undefined
      ? `${q(name)} is captured by step ${by}: it has no value outside the steps after it`
      : same
        ? `${q(name)} is captured further down in this step`
        : `${q(name)} is captured by step ${by}, which does not run before step ${at}`,
  capturedTooEarlyHint: "a captured value can be used after the statement that captures it: later in its step, in its `undo`, and in the steps that run after it",
  capturedBy: (step: string) => `captured by step ${step} when it runs`,
  hostValueWhat: "a value of the member of the step's host it runs on",
  lateValuePlace: (name: string, what: string, where: string) => `${q(name)} is ${what}, and can't be used in ${where}`,
  lateValuePlaces: "use it in a command (`run`, `undo`, `succeeds`, `output`), SQL (`sql`, `query`), an `edit`'s texts or a condition in the step's body",
  lateInGuard: (name: string, what: string) => `${q(name)} is ${what}: a step's \`when\`/\`unless\` is decided before that; use \`require\` in its body`,
  rawLateValue: (name: string) => `\`\${raw ${name}}\` cannot be placed: its value is known only when the step runs, so where it stands cannot be checked; drop \`raw\``,
  unknownHostValue: (member: string, host: string, env: string | undefined) =>
    `unknown host value ${q(`host.${member}`)}: not every member of ${host} has a value ${q(member)}${env !== undefined ? ` in env ${env}` : ""}`,
  memberValuesHint: 'give each member of the group its own: `host web = ["app@w1" { role = "primary" }, "app@w2" { role = "replica" }]`',
  memberValueBuiltin: (name: string) => `${q(name)} is a host value of its own (\`\${host.${name}}\`): a member's value needs another name`,
  duplicateMemberValue: (name: string) => `${q(name)} is given twice for this member`,
  hostValuesAre: (names: readonly string[]) => `the host values are ${names.map((n) => q(`host.${n}`)).join(", ")}`,
  hostValueWithoutHost: (member: string) => `${q(`host.${member}`)} is the host the step runs on, and this step has no \`on HOST\``,
  hostValueWithoutHostHint: "give the step `on HOST`, or write the value out",
  secretCommandValue: "a secret's command cannot hold `${…}`: it runs as it is written, and a value must never become code",
  secretCommandValueHint: "write the command out in full, or read the secret with `env` or `file`",
  badSecretSource: () => "expected `env`, `file` or `command` after `=`",
  badHostValue: (actual: string) => `expected a host after \`=\`: \`"user@address"\`, a list of them, or \`local\` (this machine), not ${actual}`,
  notAString: (what: string) => `${what} must be a string`,
  badMysqlUrl: (url: string) => `${q(url)} is not a MySQL URL: write \`mysql://user@host[:port]/database\``,
  badMysqlUrlOption: (problem: MysqlUrlProblem) => mysqlUrlProblemText(problem),
  mysqlUrlPassword: (maskedUrl: string) =>
    `the MySQL URL ${q(maskedUrl)} holds a password: write \`mysql://user@host[:port]/database\` and give the password with \`password SECRET\``,
  // safety
  syncIntoProtected: (db: string, envs: string[]) =>
    `\`sync\` would write into ${q(db)} in protected env ${envs.map(q).join(", ")}`,
  syncGuardHint: (envs: string[]) =>
    `syncing into a protected env is refused: guard the step with ${envs.map((e) => `\`when env != "${e}"\``).join(" and ")}`,
  syncFromSelf: (db: string, envs: string[]) => `in env ${envs.map(q).join(", ")} this copies ${q(db)} onto itself`,
  parallelNoGroup: (host: string) => `\`parallel\` has no effect: ${q(host)} is a single host in every env, not a group`,
  parallelLocal: "`parallel` has no effect: the step runs on this machine, not on a host group",
  missingUndo: (id: string, envs: string[]) =>
    `step ${q(id)} makes changes but has no \`undo\`, and it can run in protected env ${envs.map(q).join(", ")}`,
  missingUndoHint: 'add `undo "command"` or `undo { … }` so that a rollback can revert it',
  destructiveSql: (what: string) => `destructive SQL (${what}) without a \`confirm\` before it in this step`,
  destructiveSqlHint: 'add `confirm "…"` before the `sql` statement',
  /** A `${…}` where no reference to its value is sound (value-placement.ts). */
  valuePlacement: (name: string, problem: PlacementProblem, detail?: string) => `\`\${${name}}\` cannot stand here: ${PLACEMENT[problem].why}${detail ? ` (${detail})` : ""}`,
  valuePlacementFix: (problem: PlacementProblem) => PLACEMENT[problem].fix,
  commandPlacement: (problem: PlacementProblem, detail?: string) => `cannot tell where this command's values stand: ${PLACEMENT[problem].why}${detail ? ` (${detail})` : ""}`,
  implicitCommit: (word: string, count: number) =>
    `MySQL commits \`${word}\` at once: if a later statement of these ${count} fails, it and every statement before it stay applied`,
  implicitCommitHint: "put the DDL in an `sql` of its own (a step of its own, with an `undo`), so a failure leaves nothing half done",
  rawInput: (shown: string, why: OutsideSource, where: string) =>
    `\`\${raw ${shown}}\` inserts ${
      why.kind === "param" ? `param ${q(shown)}, which \`--set\` can change,` : why.kind === "secret" ? `secret ${q(shown)}` : `var ${q(shown)}, made from ${q(why.from)},`
    } into ${where} unquoted: a value from outside the runbook can become ${where === "SQL" ? "SQL" : "shell syntax"}`,
  rawInputHint: "drop `raw` to insert it quoted, as one value; keep `raw` only for text written in the runbook itself",
  queryNotReadOnly: (keyword: string, capture?: boolean) =>
    capture
      ? `\`sql … into\` captures what a query reads and must be read-only, but this one runs \`${keyword}\``
      : `a \`query\` probe must be read-only, but this one runs \`${keyword}\``,
  // env selection and --set (scope.ts)
  unknownEnvRequested: (name: string, names: string[]) =>
    names.length
      ? `unknown env ${q(name)}: the envs are ${names.join(", ")}`
      : `unknown env ${q(name)}: this runbook has no env blocks, its one env is \`default\``,
  noEnvChosen: (names: string[]) => `this runbook has several envs (${names.join(", ")}): choose one with --env`,
  /** `key` as given (NAME or ENV.NAME), `name` the param's name. */
  setUnknown: (key: string, name = key) => `--set ${key}: no param ${q(name)} is declared`,
  setNotParam: (key: string, kind: string, name = key) => `--set ${key}: ${q(name)} is a ${kind}, and only params can be set`,
  setUnknownEnv: (key: string, env: string, envs: string[]) =>
    `--set ${key}: no env ${q(env)}${envs.length ? ` (the envs are ${envs.join(", ")})` : ""}`,
};

/** What is wrong with a MySQL URL's TLS options (the checker's bad-value, and the driver's error for a URL made from a param). */
export function mysqlUrlProblemText(p: MysqlUrlProblem): string {
  const modes = SSL_MODES.join(", ");
  switch (p.kind) {
    case "unknown-option":
      return `the MySQL URL option ${q(p.name)} is not one runbook reads: use \`ssl-mode\`, \`ssl-ca\`, \`ssl-cert\`, \`ssl-key\``;
    case "bad-mode":
      return `unknown \`ssl-mode\` ${q(p.value)}: use one of ${modes} (VERIFY_IDENTITY across networks)`;
    case "repeated":
      return `the MySQL URL option ${q(p.name)} is given twice`;
    case "needs-ca":
      return `\`ssl-mode=${p.mode}\` checks the server's certificate against a CA: give its file with \`ssl-ca=PATH\``;
    case "cert-key-pair":
      return "a client certificate needs both `ssl-cert` and `ssl-key`";
    case "tls-off":
      return `${q(p.name)} is given but \`ssl-mode=DISABLED\` turns TLS off`;
    default:
      return assertNever(p, "MySQL URL problem");
  }
}
