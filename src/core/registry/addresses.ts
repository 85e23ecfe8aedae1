/** Registry names and the `NAME[:HOST][:PORT]` / `NAME[:PORT]` flag syntax. */
import { isIP } from "node:net";
import { UsageError } from "../../base/errors.js";
import { K3BOX } from "../dialect.js";
import { registryContainerName } from "../naming.js";
import { REGISTRY_INTERNAL_PORT, type RegistryEndpoint, type RegistryNames } from "./types.js";

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** Node containers are k3box-CLUSTER-server-N, -agent-N and -serverlb: a registry must never take such a name. */
const NODE_SUFFIX_RE = /-(server|agent)-\d+$|-serverlb$/;
const MAX_NAME = 58;

/** Validates a registry name; `PREFIX-NAME` and `NAME` mean the same registry (no prefix: NAME is taken as it is). */
export function validateRegistryName(input: string, prefix = K3BOX.prefix): string {
  const name = prefix !== "" && input.startsWith(`${prefix}-`) ? input.slice(prefix.length + 1) : input;
  if (!NAME_RE.test(name) || name.length > MAX_NAME) {
    throw new UsageError(
      `invalid registry name "${input}": use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${MAX_NAME} characters`,
    );
  }
  if (NODE_SUFFIX_RE.test(name)) {
    throw new UsageError(
      `invalid registry name "${input}": names ending in -server-N, -agent-N or -serverlb belong to cluster nodes`,
    );
  }
  return name;
}

export interface RegistryLocation {
  readonly hostIp?: string;
  readonly hostPort?: number;
}

/** `NAME[:HOST][:PORT]` of --registry-create. */
export function parseRegistryCreateRef(text: string, flag: string, prefix?: string): { name: string } & RegistryLocation {
  const [nameText = "", ...rest] = text.split(":");
  if (nameText === "" || rest.length > 2) throw new UsageError(`invalid ${flag} "${text}": expected NAME[:HOST][:PORT]`);
  return { name: validateRegistryName(nameText, prefix), ...parseLocation(rest, text, flag) };
}

/** `[HOST:]PORT` of `registry create --port`. */
export function parseRegistryPort(text: string, flag: string): RegistryLocation {
  const parts = text.split(":");
  if (parts.length > 2) throw new UsageError(`invalid ${flag} "${text}": expected [HOST:]PORT`);
  return parseLocation(parts, text, flag);
}

/** `[HOST][:PORT]` split at ':'; a lone part is the port if it is a number. */
function parseLocation(parts: readonly string[], text: string, flag: string): RegistryLocation {
  if (parts.some((p) => p === "")) throw new UsageError(`invalid ${flag} "${text}": empty host or port`);
  const [a, b] = parts;
  const hostText = b !== undefined || (a !== undefined && !/^\d+$/.test(a)) ? a : undefined;
  const portText = b ?? (hostText === undefined ? a : undefined);
  if (hostText !== undefined && isIP(hostText) !== 4 && hostText !== "localhost") {
    throw new UsageError(`invalid ${flag} "${text}": host "${hostText}" must be an IPv4 address or localhost`);
  }
  const hostIp = hostText === "localhost" ? "127.0.0.1" : hostText;
  const hostPort = portText === undefined ? undefined : parsePort(portText, `${flag} ${text}`);
  return { ...(hostIp !== undefined ? { hostIp } : {}), ...(hostPort !== undefined ? { hostPort } : {}) };
}

/** `NAME[:PORT]` of --registry-use; a port, if given, must be one the registry has. */
export function parseRegistryUseRef(text: string, flag: string, prefix?: string): { name: string; port?: number } {
  const parts = text.split(":");
  if (parts.length > 2 || parts.some((p) => p === "")) throw new UsageError(`invalid ${flag} "${text}": expected NAME[:PORT]`);
  const name = validateRegistryName(parts[0] as string, prefix);
  const port = parts[1] === undefined ? undefined : parsePort(parts[1], `${flag} ${text}`);
  return { name, ...(port !== undefined ? { port } : {}) };
}

export function parsePort(text: string, context: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new UsageError(`invalid port "${text}" in ${context}: expected 1-65535`);
  return n;
}

export function endpointOf(
  name: string,
  hostIp: string,
  hostPort: number,
  port = REGISTRY_INTERNAL_PORT,
  container = registryContainerName(K3BOX, name),
): RegistryEndpoint {
  return { name, container, port, hostIp, hostPort };
}

/** A registry bound to every address or to loopback is reached from the host on 127.0.0.1. */
function hostAddress(hostIp: string): string {
  return hostIp === "0.0.0.0" || hostIp === "" || hostIp.startsWith("127.") ? "127.0.0.1" : hostIp;
}

export function registryNames(r: RegistryEndpoint): RegistryNames {
  const inNetwork = `${r.container}:${r.port}`;
  return { host: `${hostAddress(r.hostIp)}:${r.hostPort}`, node: inNetwork, pod: inNetwork };
}

/**
 * Every image-reference host that nodes map to this registry: its in-network name, the
 * name with the host port (k3d's, for an /etc/hosts entry on the host), and the host's own
 * name for it, so an image pushed as 127.0.0.1:PORT/app runs in a pod spec unchanged.
 */
export function mirrorHosts(r: RegistryEndpoint): string[] {
  const hosts = [`${r.container}:${r.port}`, `${r.container}:${r.hostPort}`, registryNames(r).host];
  if (hostAddress(r.hostIp) === "127.0.0.1") hosts.push(`localhost:${r.hostPort}`);
  return [...new Set(hosts)];
}

/** The URL nodes' containerd uses for it: plain http, as registry:2 serves. */
export function endpointUrl(r: RegistryEndpoint): string {
  return `http://${r.container}:${r.port}`;
}

/** The registry host a pull-through cache stands in for: docker.io for Docker Hub. */
export function upstreamHost(remoteUrl: string): string {
  let host: string;
  try {
    host = new URL(remoteUrl.includes("://") ? remoteUrl : `https://${remoteUrl}`).host;
  } catch {
    throw new UsageError(`invalid proxy remote URL "${remoteUrl}"`);
  }
  return host === "registry-1.docker.io" || host === "index.docker.io" ? "docker.io" : host;
}
