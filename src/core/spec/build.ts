import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { UsageError } from "../errors.js";
import { DEFAULT_CLUSTER_NAME, DEFAULT_K3S_IMAGE } from "./defaults.js";
import { parseDuration } from "./duration.js";
import { parseEnvVar, parseK3sArg } from "./env.js";
import { parseHostAlias } from "./hosts.js";
import { checkFiltersInRange, parseNodeFilters } from "./filters.js";
import { validateClusterName } from "./names.js";
import { DEFAULT_HOST_IP, parsePortMapping, parsePortNumber } from "./ports.js";
import type { ApiEndpoint, ClusterSpec, NodeFilter, PortMapping } from "./types.js";
import { parseVolumeMount } from "./volumes.js";

/** What a caller (CLI flags, a library user) says about a cluster; strings use k3d's syntax. */
export interface ClusterInput {
  name?: string;
  servers?: number;
  agents?: number;
  image?: string;
  /** `[HOST:]PORT`. */
  apiPort?: string;
  /** `[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER]`. */
  ports?: readonly string[];
  /** `ARG@FILTER`; without a filter an argument goes to every server. */
  k3sArgs?: readonly string[];
  /** `KEY=VALUE@FILTER`; without a filter a variable goes to every node. */
  env?: readonly string[];
  /** `SRC:DEST[@FILTER]`; without a filter a volume goes to every node. */
  volumes?: readonly string[];
  /** `IP:NAME[,NAME]`: resolvable from every node and pod. */
  hostAliases?: readonly string[];
  token?: string;
  network?: string;
  loadBalancer?: boolean;
  wait?: boolean;
  /** A duration (`90s`, `2m`) or milliseconds; 0 means no deadline. */
  timeout?: string | number;
  updateDefaultKubeconfig?: boolean;
  switchContext?: boolean;
  rollback?: boolean;
}

const PROXY_ALL: readonly NodeFilter[] = [
  { group: "server", select: { kind: "all" }, suffix: "proxy" },
  { group: "agent", select: { kind: "all" }, suffix: "proxy" },
];

/** Turns input into a validated spec, reporting every problem at once. */
export async function buildClusterSpec(input: ClusterInput): Promise<ClusterSpec> {
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof UsageError) {
        problems.push(err.message);
        return undefined;
      }
      throw err;
    }
  };

  const name = attempt(() => validateClusterName(input.name ?? DEFAULT_CLUSTER_NAME));
  const servers = input.servers ?? 1;
  const agents = input.agents ?? 0;
  if (!Number.isInteger(servers) || servers < 1) problems.push(`invalid server count "${servers}": at least 1`);
  if (!Number.isInteger(agents) || agents < 0) problems.push(`invalid agent count "${agents}": 0 or more`);
  const loadBalancer = input.loadBalancer ?? true;
  const counts = { servers, agents, loadBalancer };

  const image = (input.image ?? DEFAULT_K3S_IMAGE).trim();
  if (image === "" || /\s/.test(image)) problems.push(`invalid image "${input.image}"`);

  const token = input.token;
  if (token !== undefined && (token === "" || /\s/.test(token))) {
    problems.push("invalid token: it must be non-empty and contain no whitespace");
  }
  if (input.network !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(input.network)) {
    problems.push(`invalid network name "${input.network}"`);
  }
  const timeoutMs =
    typeof input.timeout === "number"
      ? input.timeout > 0
        ? input.timeout
        : undefined
      : input.timeout === undefined
        ? undefined
        : attempt(() => parseDuration(input.timeout as string, "timeout"));

  const api = await attemptAsync(problems, () => parseApiPort(input.apiPort));

  const ports = (input.ports ?? [])
    .map((raw) => attempt(() => placePort(parsePortMapping(raw), counts)))
    .filter((p): p is PortMapping => p !== undefined);
  const volumes = (input.volumes ?? []).map((raw) => attempt(() => parseVolumeMount(raw))).filter(isDefined);
  const env = (input.env ?? []).map((raw) => attempt(() => parseEnvVar(raw))).filter(isDefined);
  const k3sArgs = (input.k3sArgs ?? []).map((raw) => attempt(() => parseK3sArg(raw))).filter(isDefined);
  const hostAliases = (input.hostAliases ?? []).map((raw) => attempt(() => parseHostAlias(raw))).filter(isDefined);

  for (const item of [...volumes, ...env, ...k3sArgs]) {
    attempt(() => checkFiltersInRange(item.filters, counts, `"${item.raw}"`));
  }
  for (const p of ports) attempt(() => checkFiltersInRange(p.filters, counts, `port mapping "${p.raw}"`));
  checkPortClashes(ports, api, problems);

  if (problems.length > 0 || name === undefined || api === undefined) {
    throw new UsageError(problems.join("\n"));
  }
  return {
    name,
    servers,
    agents,
    image,
    api,
    ports,
    volumes: volumes.map((v) => (v.filters.length ? v : { ...v, filters: parseNodeFilters("server:*;agent:*", "") })),
    env: env.map((e) => (e.filters.length ? e : { ...e, filters: parseNodeFilters("server:*;agent:*", "") })),
    k3sArgs: k3sArgs.map((a) => (a.filters.length ? a : { ...a, filters: parseNodeFilters("server:*", "") })),
    hostAliases,
    files: [],
    ...(token !== undefined ? { token } : {}),
    ...(input.network !== undefined ? { network: input.network } : {}),
    loadBalancer,
    wait: input.wait ?? true,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    kubeconfig: {
      updateDefault: input.updateDefaultKubeconfig ?? true,
      switchContext: (input.updateDefaultKubeconfig ?? true) && (input.switchContext ?? true),
    },
    rollback: input.rollback ?? true,
  };
}

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
}

async function attemptAsync<T>(problems: string[], fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError) {
      problems.push(err.message);
      return undefined;
    }
    throw err;
  }
}

/** `[HOST:]PORT`; a host name must resolve here, since the port is bound to its address. */
export async function parseApiPort(text: string | undefined): Promise<ApiEndpoint> {
  if (text === undefined || text === "") return { host: DEFAULT_HOST_IP, hostIp: DEFAULT_HOST_IP };
  const colon = text.lastIndexOf(":");
  const hostText = colon < 0 ? "" : text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const portText = colon < 0 ? text : text.slice(colon + 1);
  const hostPort = portText === "" ? undefined : parsePortNumber(portText, "API port", `--api-port ${text}`);
  const port = hostPort !== undefined ? { hostPort } : {};
  if (hostText === "") return { host: DEFAULT_HOST_IP, hostIp: DEFAULT_HOST_IP, ...port };
  if (isIP(hostText) !== 0) {
    // A kubeconfig pointing at 0.0.0.0 does not work everywhere; loopback reaches the same socket.
    const host = hostText === "0.0.0.0" ? DEFAULT_HOST_IP : hostText;
    return { host, hostIp: hostText, ...port };
  }
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(hostText)) {
    throw new UsageError(`invalid API host "${hostText}" in --api-port ${text}`);
  }
  try {
    const { address } = await lookup(hostText, { family: 4 });
    return { host: hostText, hostIp: address, ...port };
  } catch {
    throw new UsageError(`API host "${hostText}" in --api-port ${text} does not resolve to an IPv4 address here`);
  }
}

/** Fills in the default route of a port and checks it can be honoured. */
export function placePort(p: PortMapping, counts: { servers: number; agents: number; loadBalancer: boolean }): PortMapping {
  if (p.filters.length === 0) {
    if (counts.loadBalancer) return { ...p, filters: PROXY_ALL };
    if (counts.servers + counts.agents === 1) {
      return { ...p, filters: [{ group: "server", select: { kind: "list", indices: [0] }, suffix: "direct" }] };
    }
    throw new UsageError(
      `port mapping "${p.raw}" needs a node filter (e.g. @server:0) when the load balancer is disabled`,
    );
  }
  const direct = p.filters.some((f) => f.suffix === "direct");
  const proxy = p.filters.some((f) => f.suffix === "proxy" || f.group === "loadbalancer");
  if (direct && proxy) throw new UsageError(`port mapping "${p.raw}" mixes :direct and :proxy filters`);
  if (p.filters.some((f) => f.group === "all")) {
    throw new UsageError(`port mapping "${p.raw}": use @loadbalancer or @server:N/@agent:N, not @all`);
  }
  if (p.filters.some((f) => f.group === "loadbalancer")) {
    if (!counts.loadBalancer) {
      throw new UsageError(`port mapping "${p.raw}" goes through the load balancer, but it is disabled`);
    }
    return { ...p, filters: PROXY_ALL };
  }
  if (proxy && !counts.loadBalancer) {
    throw new UsageError(`port mapping "${p.raw}" is of type proxy, but the load balancer is disabled`);
  }
  const viaNode = direct || !counts.loadBalancer;
  if (!viaNode) return { ...p, filters: p.filters.map((f) => ({ ...f, suffix: "proxy" as const })) };
  const selected = p.filters.reduce((n, f) => n + selectedCount(f, counts), 0);
  if (selected !== 1) {
    throw new UsageError(`port mapping "${p.raw}" is published on a node directly and must select exactly one node`);
  }
  return { ...p, filters: p.filters.map((f) => ({ ...f, suffix: "direct" as const })) };
}

function selectedCount(f: NodeFilter, counts: { servers: number; agents: number }): number {
  const total = f.group === "server" ? counts.servers : f.group === "agent" ? counts.agents : 0;
  switch (f.select.kind) {
    case "all":
      return total;
    case "list":
      return f.select.indices.filter((i) => i < total).length;
    case "range":
      return Math.max(0, Math.min(total - 1, f.select.to ?? total - 1) - f.select.from + 1);
  }
}

function checkPortClashes(ports: readonly PortMapping[], api: ApiEndpoint | undefined, problems: string[]): void {
  const seen = new Map<string, string>();
  if (api?.hostPort !== undefined) seen.set(`${api.hostIp}:${api.hostPort}/tcp`, `--api-port`);
  for (const p of ports) {
    if (p.hostPort === undefined) continue;
    const key = `${p.hostIp}:${p.hostPort}/${p.protocol}`;
    const other = seen.get(key);
    if (other !== undefined) problems.push(`port mapping "${p.raw}" uses host port ${key} already taken by ${other}`);
    else seen.set(key, `"${p.raw}"`);
  }
}
