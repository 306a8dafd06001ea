// The allowed-signers file beside a runbook (OpenSSH's format, as read by
// `ssh-keygen -Y verify`, see ssh-keygen(1) "ALLOWED SIGNERS"): who may approve a
// run, and for which groups. A line's principals are people (e.g. e-mail addresses,
// as in git's allowed_signers); its `namespaces="runbook:GROUP,…"` option makes the
// key a member of those groups. Because an approval is signed in the namespace
// `runbook:GROUP`, ssh-keygen itself refuses a key that is not in the group.
// Parsed here for the checker (FILE:LINE:COLUMN errors) and for the approval gate.

/** The signature namespace of a group's approvals. */
export function groupNamespace(group: string): string {
  return `${NAMESPACE_PREFIX}${group}`;
}
export const NAMESPACE_PREFIX = "runbook:";

export interface SignerLine {
  /** 1-based. */
  line: number;
  principals: string[];
  /** Groups (namespaces `runbook:GROUP`) this key signs for. */
  groups: string[];
  keyType: string;
  /** The key's base64 blob, as written. */
  key: string;
}

export interface SignersProblem {
  line: number;
  column: number;
  length: number;
  message: string;
}

export interface AllowedSigners {
  lines: SignerLine[];
  problems: SignersProblem[];
}

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

interface Field {
  text: string;
  column: number;
}

/** Splits a line into whitespace-separated fields; double quotes keep spaces inside a field. */
function fields(line: string): { fields: Field[]; unclosedQuote?: number } {
  const out: Field[] = [];
  let openedAt = -1;
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let quoted = false;
    while (i < line.length && (quoted || !/\s/.test(line[i]!))) {
      if (line[i] === '"') {
        quoted = !quoted;
        if (quoted) openedAt = i;
      }
      i++;
    }
    out.push({ text: line.slice(start, i), column: start + 1 });
    if (quoted) return { fields: out, unclosedQuote: openedAt + 1 };
  }
  return { fields: out };
}

/** Splits `a,b="x,y",c` at commas outside quotes. */
function splitOptions(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const unquote = (s: string) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

export function parseAllowedSigners(text: string): AllowedSigners {
  const lines: SignerLine[] = [];
  const problems: SignersProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const split = fields(raw);
    if (split.unclosedQuote !== undefined) return void problems.push({ line, column: split.unclosedQuote, length: 1, message: signersWords.unclosedQuote });
    const fs = split.fields;
    const problem = (f: Field | undefined, message: string) =>
      problems.push({ line, column: f?.column ?? 1, length: f ? f.text.length : raw.length, message });
    const [principalsField, second] = fs;
    if (!principalsField || !second) return problem(principalsField, signersWords.noKey);
    const hasOptions = !KEY_TYPE.test(second.text);
    const optionsField = hasOptions ? second : undefined;
    const typeField = hasOptions ? fs[2] : second;
    const keyField = hasOptions ? fs[3] : fs[2];
    if (!typeField || !KEY_TYPE.test(typeField.text)) return problem(typeField ?? second, signersWords.badKeyType(typeField?.text));
    if (!keyField || !/^[A-Za-z0-9+/]+={0,2}$/.test(keyField.text)) return problem(keyField ?? typeField, signersWords.badKey);
    const principals = unquote(principalsField.text).split(",");
    for (const p of principals) {
      if (p === "") return problem(principalsField, signersWords.emptyPrincipal);
      if (/[*?!]/.test(p)) return problem(principalsField, signersWords.principalPattern(p));
    }
    let namespaces: string[] | undefined;
    for (const opt of optionsField ? splitOptions(optionsField.text) : []) {
      const eq = opt.indexOf("=");
      const name = (eq < 0 ? opt : opt.slice(0, eq)).toLowerCase();
      const value = eq < 0 ? "" : unquote(opt.slice(eq + 1));
      if (name === "namespaces") namespaces = value.split(",").filter((n) => n !== "");
      else if (name === "cert-authority") return problem(optionsField, signersWords.certAuthority);
      else if (name !== "valid-after" && name !== "valid-before") return problem(optionsField, signersWords.unknownOption(name));
    }
    // A key with no namespaces signs in every namespace: it would be a member of every group.
    if (namespaces === undefined) return problem(principalsField, signersWords.noNamespaces);
    const groups: string[] = [];
    for (const ns of namespaces) {
      if (/[*?]/.test(ns)) return problem(optionsField, signersWords.namespacePattern(ns));
      if (ns.startsWith(NAMESPACE_PREFIX)) {
        const g = ns.slice(NAMESPACE_PREFIX.length);
        if (g === "") return problem(optionsField, signersWords.emptyGroup);
        groups.push(g);
      }
    }
    lines.push({ line, principals, groups, keyType: typeField.text, key: keyField.text });
  });
  return { lines, problems };
}

/** The distinct principals whose keys sign for the group. */
export function groupMembers(signers: AllowedSigners, group: string): string[] {
  const out = new Set<string>();
  for (const l of signers.lines) if (l.groups.includes(group)) for (const p of l.principals) out.add(p);
  return [...out];
}

/** The principals listed with this key (type and base64 blob), in any group or none. */
export function principalsOfKey(signers: AllowedSigners, keyType: string, key: string): string[] {
  const out = new Set<string>();
  for (const l of signers.lines) if (l.keyType === keyType && l.key === key) for (const p of l.principals) out.add(p);
  return [...out];
}

/** Every group named in the file. */
export function allGroups(signers: AllowedSigners): string[] {
  return [...new Set(signers.lines.flatMap((l) => l.groups))];
}

export const signersWords = {
  noKey: "expected `PRINCIPALS [OPTIONS] KEYTYPE KEY` (OpenSSH allowed_signers format)",
  badKeyType: (t: string | undefined) => (t === undefined ? "a key type (e.g. ssh-ed25519) is missing" : `\`${t}\` is not an SSH key type (e.g. ssh-ed25519)`),
  badKey: "the key is missing or is not base64",
  unclosedQuote: 'this `"` is not closed: a quoted field ends with a second `"` on the same line',
  emptyPrincipal: "an empty principal (two commas, or one at an end)",
  principalPattern: (p: string) => `principal \`${p}\` is a pattern: an approver must be one identity`,
  certAuthority: "`cert-authority` is not supported: list each approver's own key",
  unknownOption: (o: string) => `unknown option \`${o}\` (namespaces, valid-after, valid-before)`,
  noNamespaces: 'this key has no `namespaces="runbook:GROUP,…"`: it would sign for every group',
  namespacePattern: (n: string) => `namespace \`${n}\` is a pattern: name each group (\`runbook:GROUP\`)`,
  emptyGroup: "`runbook:` names no group",
};
