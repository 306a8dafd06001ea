// The TLS options of a MySQL URL (`mysql://u@host/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem`),
// read the same way by the checker (which reports a bad one at the URL) and by
// the MySQL driver (which connects with them). The modes are the mysql client's
// `--ssl-mode` values; `ssl-ca`, `ssl-cert`, `ssl-key` are PEM files on the
// machine running the runbook.

export const SSL_MODES = ["DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface MysqlTls {
  mode: SslMode;
  ca?: string;
  cert?: string;
  key?: string;
}

export type MysqlUrlProblem =
  | { kind: "unknown-option"; name: string }
  | { kind: "bad-mode"; value: string }
  | { kind: "repeated"; name: string }
  | { kind: "needs-ca"; mode: SslMode }
  | { kind: "cert-key-pair" }
  | { kind: "tls-off"; name: string };

const FILES = { "ssl-ca": "ca", "ssl-cert": "cert", "ssl-key": "key" } as const;

/**
 * The TLS settings of a URL's query (`?a=b&c=d`, with or without the `?`). No
 * `ssl-mode`: VERIFY_CA when `ssl-ca` is given, else DISABLED. `_` and `-` are
 * the same in a name, and a mode is read in any case, as the mysql client reads them.
 */
export function mysqlUrlTls(search: string): { tls: MysqlTls } | { problem: MysqlUrlProblem } {
  const params = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  const seen = new Set<string>();
  let mode: SslMode | undefined;
  const files: { ca?: string; cert?: string; key?: string } = {};
  for (const [raw, value] of params) {
    const name = raw.toLowerCase().replace(/_/g, "-");
    if (seen.has(name)) return { problem: { kind: "repeated", name } };
    seen.add(name);
    if (name === "ssl-mode") {
      const m = SSL_MODES.find((s) => s === value.toUpperCase());
      if (m === undefined) return { problem: { kind: "bad-mode", value } };
      mode = m;
    } else if (name in FILES) {
      files[FILES[name as keyof typeof FILES]] = value;
    } else {
      return { problem: { kind: "unknown-option", name: raw } };
    }
  }
  const resolved: SslMode = mode ?? (files.ca !== undefined ? "VERIFY_CA" : "DISABLED");
  if ((resolved === "VERIFY_CA" || resolved === "VERIFY_IDENTITY") && files.ca === undefined) return { problem: { kind: "needs-ca", mode: resolved } };
  if ((files.cert === undefined) !== (files.key === undefined)) return { problem: { kind: "cert-key-pair" } };
  if (resolved === "DISABLED") {
    const given = Object.keys(FILES).find((n) => seen.has(n));
    if (given !== undefined) return { problem: { kind: "tls-off", name: given } };
  }
  return { tls: { mode: resolved, ...files } };
}
