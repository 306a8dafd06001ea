// The SSH driver: a HostDriver per remote host, all sharing one ssh2 connection
// per host through an SshPool (pool.ts). Hosts are `user@address[:port]` or an
// alias from ~/.ssh/config (read by ../ssh-config.ts with the ssh-config
// package); auth tries the agent, then IdentityFiles, then the default keys;
// host keys are checked against ~/.ssh/known_hosts (../known-hosts.ts); both in
// connection.ts. Commands run on exec channels (capped per connection, the rest
// queued) and files go over one reused SFTP session per connection (host.ts,
// exec-scripts.ts, files.ts). A dropped link fails what was running on it with
// DriverError "connection-lost"; the next call reconnects.

export { SshPool, type SshPoolOptions } from "./pool.js";
export { resolveSshTarget } from "../ssh-config.js";
