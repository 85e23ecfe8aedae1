/**
 * What an `ssh://[USER@]HOST[:PORT][/SOCKET]` engine address means for the connection, read the way
 * OpenSSH reads it: ~/.ssh/config, then /etc/ssh/ssh_config (the first value of a setting wins),
 * then OpenSSH's defaults. The keys, known hosts files and host key policy come from there; the
 * agent from SSH_AUTH_SOCK. ~ means $HOME (OpenSSH itself takes the passwd entry's home).
 */
import { readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { RuntimeUnavailableError } from "../../../base/errors.js";

export interface SshSettings {
  /** The host as named in the address: what ~/.ssh/config and known_hosts are looked up by. */
  readonly alias: string;
  /** Where to connect (HostName). */
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  /** Private key files to offer, in order (IdentityFile, else OpenSSH's default names). */
  readonly identityFiles: readonly string[];
  /** Offer only identityFiles, not the agent's other keys. */
  readonly identitiesOnly: boolean;
  readonly agent?: string;
  readonly knownHostsFiles: readonly string[];
  /** The name the host key is filed under (HostKeyAlias, else the host as named). */
  readonly hostKeyName: string;
  /** `yes` and `ask` refuse a host not in known_hosts; `accept-new` and `no` take it. A changed key is always refused. */
  readonly strictHostKeyChecking: "yes" | "ask" | "accept-new" | "no";
  readonly connectTimeoutMs: number;
  /** A socket path on the remote host to forward to (`ssh://host/run/podman/podman.sock`); else `docker system dial-stdio`. */
  readonly socketPath?: string;
}

const DEFAULT_IDENTITIES = ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa"];

type Computed = Record<string, string | string[]>;

async function computed(path: string, host: string): Promise<Computed> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return {};
  }
  const { default: SSHConfig } = await import("ssh-config");
  return SSHConfig.parse(text).compute(host);
}

function first(values: Computed[], key: string): string | undefined {
  for (const v of values) {
    const found = Object.entries(v).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
    if (found !== undefined) return Array.isArray(found) ? found[0] : found;
  }
  return undefined;
}

function all(values: Computed[], key: string): string[] {
  return values.flatMap((v) => {
    const found = Object.entries(v).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
    return found === undefined ? [] : Array.isArray(found) ? found : [found];
  });
}

export async function sshSettings(address: string, env: NodeJS.ProcessEnv = process.env): Promise<SshSettings> {
  const url = new URL(address);
  const alias = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, "$1");
  const home = env.HOME || homedir();
  const values = [await computed(join(home, ".ssh", "config"), alias), await computed("/etc/ssh/ssh_config", alias)];
  for (const unsupported of ["ProxyCommand", "ProxyJump"]) {
    const value = first(values, unsupported);
    if (value !== undefined && value.toLowerCase() !== "none") {
      throw new RuntimeUnavailableError(
        `cannot reach the Docker engine at ${address}: ${unsupported} (from the ssh config) is not supported; reach the engine directly, or over tcp:// with TLS`,
      );
    }
  }
  const hostname = first(values, "HostName")?.replace(/%h/g, alias) ?? alias;
  const user = decodeURIComponent(url.username) || first(values, "User") || userInfo().username;
  const port = Number(url.port || first(values, "Port") || 22);
  const expand = (p: string) =>
    p
      .replace(/^~(?=\/|$)/, home)
      .replace(/%d/g, home)
      .replace(/%u/g, userInfo().username)
      .replace(/%r/g, user)
      .replace(/%h/g, hostname)
      .replace(/%%/g, "%");
  const configured = all(values, "IdentityFile");
  const identityFiles = (configured.length > 0 ? configured : DEFAULT_IDENTITIES.map((f) => `~/.ssh/${f}`)).map(expand);
  const userKnown = first(values, "UserKnownHostsFile")?.split(/\s+/) ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"];
  const globalKnown = first(values, "GlobalKnownHostsFile")?.split(/\s+/) ?? [
    "/etc/ssh/ssh_known_hosts",
    "/etc/ssh/ssh_known_hosts2",
  ];
  const strict = (first(values, "StrictHostKeyChecking") ?? "ask").toLowerCase();
  const timeout = Number(first(values, "ConnectTimeout") ?? 30);
  const socketPath = url.pathname !== "" && url.pathname !== "/" ? decodeURIComponent(url.pathname) : undefined;
  return {
    alias,
    hostname,
    port,
    user,
    identityFiles,
    identitiesOnly: (first(values, "IdentitiesOnly") ?? "no").toLowerCase() === "yes",
    ...(env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {}),
    knownHostsFiles: [...userKnown, ...globalKnown].filter((f) => f !== "/dev/null" && f !== "none").map(expand),
    hostKeyName: first(values, "HostKeyAlias") ?? alias,
    strictHostKeyChecking:
      strict === "yes" || strict === "accept-new" ? strict : strict === "no" || strict === "off" ? "no" : "ask",
    connectTimeoutMs: (Number.isFinite(timeout) && timeout > 0 ? timeout : 30) * 1000,
    ...(socketPath !== undefined ? { socketPath } : {}),
  };
}
