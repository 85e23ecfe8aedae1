import { isIP } from "node:net";
import { UsageError } from "../../base/errors.js";
import { parseNodeFilters, splitFilterSuffix } from "./filters.js";
import type { NodeFilter, PortMapping, Protocol } from "./types.js";

/** Loopback unless the user names an address: published ports are not for the whole network by default. */
export const DEFAULT_HOST_IP = "127.0.0.1";

export function parsePortNumber(text: string, what: string, raw: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`invalid ${what} "${text}" in port mapping "${raw}"`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new UsageError(`${what} ${n} in port mapping "${raw}" is out of range 1-65535`);
  return n;
}

/**
 * Parses `[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER]`.
 * Without a filter the mapping goes through the load balancer (filled in by the spec builder).
 */
export function parsePortMapping(raw: string, defaultHostIp = DEFAULT_HOST_IP): PortMapping {
  const { value, filter } = splitFilterSuffix(raw.trim());
  let filters: NodeFilter[] = [];
  if (filter !== undefined) filters = parseNodeFilters(filter, `port mapping "${raw}"`);

  let body = value;
  let protocol: Protocol = "tcp";
  const slash = body.lastIndexOf("/");
  if (slash >= 0) {
    const proto = body.slice(slash + 1).toLowerCase();
    if (proto !== "tcp" && proto !== "udp") {
      throw new UsageError(`invalid protocol "${body.slice(slash + 1)}" in port mapping "${raw}": use tcp or udp`);
    }
    protocol = proto;
    body = body.slice(0, slash);
  }

  let hostIp = defaultHostIp;
  let hostPortText: string | undefined;
  let containerText: string;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(body);
  if (bracket) {
    hostIp = bracket[1] as string;
    const rest = (bracket[2] as string).split(":");
    if (rest.length !== 2) throw new UsageError(`invalid port mapping "${raw}"`);
    [hostPortText, containerText] = rest as [string, string];
  } else {
    const parts = body.split(":");
    if (parts.length === 1) {
      containerText = parts[0] as string;
    } else if (parts.length === 2) {
      [hostPortText, containerText] = parts as [string, string];
    } else if (parts.length === 3) {
      hostIp = parts[0] as string;
      [, hostPortText, containerText] = parts as [string, string, string];
    } else {
      throw new UsageError(`invalid port mapping "${raw}": expected [HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER]`);
    }
  }
  if (isIP(hostIp) === 0) throw new UsageError(`invalid host address "${hostIp}" in port mapping "${raw}"`);
  if (containerText.includes("-") || hostPortText?.includes("-")) {
    throw new UsageError(`port ranges are not supported in port mapping "${raw}": map each port separately`);
  }
  const containerPort = parsePortNumber(containerText, "container port", raw);
  const hostPort =
    hostPortText === undefined || hostPortText === "" ? undefined : parsePortNumber(hostPortText, "host port", raw);
  return { hostIp, ...(hostPort !== undefined ? { hostPort } : {}), containerPort, protocol, filters, raw };
}

const PROXY_ALL: readonly NodeFilter[] = [
  { group: "server", select: { kind: "all" }, suffix: "proxy" },
  { group: "agent", select: { kind: "all" }, suffix: "proxy" },
];

/** Fills in the default route of a port and checks it can be honoured. */
export function placePort(p: PortMapping, counts: { servers: number; agents: number; loadBalancer: boolean }): PortMapping {
  if (p.filters.length === 0) {
    if (counts.loadBalancer) return { ...p, filters: PROXY_ALL };
    if (counts.servers + counts.agents === 1) {
      return { ...p, filters: [{ group: "server", select: { kind: "list", indices: [0] }, suffix: "direct" }] };
    }
    throw new UsageError(`port mapping "${p.raw}" needs a node filter (e.g. @server:0) when the load balancer is disabled`);
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
