/**
 * Which nodes each load-balanced port goes to. Create, node changes and port edits all
 * compute targets here, from the port specs stored on the load balancer and the current nodes.
 */
import { filterMatches, formatNodeFilters } from "../cluster-spec/filters.js";
import { K3S_API_PORT } from "../cluster-spec/defaults.js";
import { placePort } from "../cluster-spec/ports.js";
import { parsePortMapping } from "../cluster-spec/ports.js";
import type { NodeRole, PortMapping } from "../cluster-spec/types.js";
import type { ProxiedPort } from "./nginx.js";

export interface TargetNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly index: number;
}

export function isDirect(p: PortMapping): boolean {
  return p.filters.some((f) => f.suffix === "direct");
}

/** The API goes to every server; each proxied port to the nodes its filter selects. */
export function proxiedPorts(ports: readonly PortMapping[], nodes: readonly TargetNode[]): ProxiedPort[] {
  const result = new Map<string, ProxiedPort>();
  result.set(`${K3S_API_PORT}/tcp`, {
    port: K3S_API_PORT,
    protocol: "tcp",
    targets: nodes.filter((n) => n.role === "server").map((n) => n.name),
  });
  for (const p of ports) {
    if (isDirect(p)) continue;
    const key = `${p.containerPort}/${p.protocol}`;
    const targets = nodes.filter((n) => filterMatches(p.filters, { role: n.role, index: n.index })).map((n) => n.name);
    const prev = result.get(key);
    const merged = [...new Set([...(prev?.targets ?? []), ...targets])];
    result.set(key, { port: p.containerPort, protocol: p.protocol, targets: merged });
  }
  return [...result.values()];
}

/** The load balancer's port specs as stored on it (raw, as the user wrote them), parsed and routed again. */
export function storedPorts(raws: readonly string[], counts: { servers: number; agents: number }): PortMapping[] {
  return raws.map((raw) => placePort(parsePortMapping(raw), { ...counts, loadBalancer: true }));
}

/**
 * The load balancer has one listener per container port and protocol, so load-balanced mappings
 * that share one must forward to the same nodes; otherwise traffic for one would reach the
 * other's nodes. Returns the problem, naming both mappings, or undefined.
 */
export function sharedListenerProblem(ports: readonly PortMapping[]): string | undefined {
  const seen = new Map<string, PortMapping>();
  for (const p of ports) {
    if (isDirect(p)) continue;
    const key = `${p.containerPort}/${p.protocol}`;
    const other = seen.get(key);
    if (other === undefined) {
      seen.set(key, p);
    } else if (formatNodeFilters(other.filters) !== formatNodeFilters(p.filters)) {
      return `port mappings "${other.raw}" and "${p.raw}" both go through the load balancer's ${key} listener, to different nodes: give them the same node filter, or different container ports`;
    }
  }
  return undefined;
}
