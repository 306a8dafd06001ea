// SSH authentication, as OpenSSH tries it: the agent (unless IdentitiesOnly),
// then the IdentityFiles, then the default keys, each file once, asking for a
// passphrase (RUNBOOK_SSH_PASSPHRASE, else askPassphrase) off the connect clock.
// Only publickey; `offered` says what was tried, for the failure message.

import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AnyAuthMethod, AuthenticationType, ParsedKey } from "ssh2";
import type { ResolvedHost } from "../ssh-config.js";

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];

export interface PublickeyAuthInput {
  resolved: ResolvedHost;
  /** Where .ssh/ lives. */
  home: string;
  agentSocket: string | undefined;
  askPassphrase: ((keyPath: string) => Promise<string | undefined>) | undefined;
  /** Keys decrypted with a passphrase, by path: asked once per pool, not again on every reconnect. */
  decryptedKeys: Map<string, ParsedKey>;
  parseKey: (data: Buffer, passphrase?: string) => ParsedKey | ParsedKey[] | Error;
  /** Runs local work (asking, decrypting) with the connect timer paused. */
  offTheClock: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface PublickeyAuth {
  /** ssh2's authHandler. */
  handler: (methodsLeft: AuthenticationType[] | null, partial: boolean | null, callback: (m: AnyAuthMethod | false) => void) => void;
  /** What was offered, in order, or why nothing was: for the failure message. */
  offered(): string;
  /** The methods the server said it accepts, once it said. */
  serverMethods(): string[] | null;
}

export function publickeyAuth(input: PublickeyAuthInput): PublickeyAuth {
  const { resolved: r, home, agentSocket, askPassphrase, decryptedKeys, parseKey, offTheClock } = input;
  const tried: string[] = [];
  let serverMethods: string[] | null = null;
  const keyPaths: Array<{ path: string; configured: boolean }> = [];
  for (const path of r.identityFiles) keyPaths.push({ path, configured: true });
  for (const name of DEFAULT_KEYS) {
    const path = join(home, ".ssh", name);
    if (!keyPaths.some((k) => k.path === path)) keyPaths.push({ path, configured: false });
  }
  const candidates: Array<() => Promise<AnyAuthMethod | null>> = [];
  if (agentSocket && !r.identitiesOnly) {
    candidates.push(async () => {
      if (!existsSync(agentSocket)) return null;
      tried.push(`agent (${agentSocket})`);
      return { type: "agent", username: r.user, agent: agentSocket };
    });
  }
  for (const { path, configured } of keyPaths) {
    candidates.push(async () => {
      const cached = decryptedKeys.get(path);
      if (cached) {
        tried.push(`key ${path}`);
        return { type: "publickey", username: r.user, key: cached };
      }
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch {
        if (configured) tried.push(`key ${path} (not found)`);
        return null;
      }
      const parse = (passphrase?: string): ParsedKey | Error => {
        const k = parseKey(data, passphrase);
        return Array.isArray(k) ? (k[0] as ParsedKey) : k;
      };
      let parsed = parse();
      if (parsed instanceof Error && /passphrase|encrypted/i.test(parsed.message)) {
        const result = await offTheClock(async () => {
          let passphrase = process.env.RUNBOOK_SSH_PASSPHRASE;
          let key: ParsedKey | Error | undefined = passphrase !== undefined ? parse(passphrase) : undefined;
          if ((key === undefined || key instanceof Error) && askPassphrase) {
            passphrase = await askPassphrase(path);
            key = passphrase !== undefined ? parse(passphrase) : undefined;
          }
          return key;
        });
        if (result === undefined) {
          tried.push(`key ${path} (encrypted; no passphrase given: set RUNBOOK_SSH_PASSPHRASE)`);
          return null;
        }
        if (result instanceof Error) {
          tried.push(`key ${path} (wrong passphrase)`);
          return null;
        }
        parsed = result;
        // Ask once per pool, not again on every reconnect.
        decryptedKeys.set(path, parsed);
      } else if (parsed instanceof Error) {
        tried.push(`key ${path} (unreadable: ${parsed.message})`);
        return null;
      }
      tried.push(`key ${path}`);
      return { type: "publickey", username: r.user, key: parsed };
    });
  }
  let next = 0;
  const authHandler = (
    methodsLeft: AuthenticationType[] | null,
    _partial: boolean | null,
    callback: (m: AnyAuthMethod | false) => void,
  ) => {
    if (methodsLeft) serverMethods = methodsLeft;
    if (methodsLeft && !methodsLeft.includes("publickey")) {
      callback(false);
      return;
    }
    void (async () => {
      while (next < candidates.length) {
        let method: AnyAuthMethod | null = null;
        try {
          method = await candidates[next++]();
        } catch {
          method = null;
        }
        if (method) return callback(method);
      }
      callback(false);
    })();
  };
  const offered = () => {
    const none = [
      !agentSocket ? "no SSH agent" : r.identitiesOnly ? "the SSH agent not used (IdentitiesOnly yes)" : "",
      "no key files found",
    ].filter(Boolean);
    return tried.length ? tried.join(", ") : `nothing (${none.join(", ")})`;
  };
  return { handler: authHandler, offered, serverMethods: () => serverMethods };
}
