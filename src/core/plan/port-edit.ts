/** Pure part of changing a cluster's load-balanced ports: which published port belongs to which spec. */
import type { PublishedPort } from "../../runtime/types.js";
import { ConflictError, NotFoundError, UsageError } from "../../base/errors.js";
import { isDirect } from "../loadbalancer/targets.js";
import { K3S_API_PORT } from "../cluster-spec/defaults.js";
import { parsePortMapping } from "../cluster-spec/ports.js";
import type { PortMapping } from "../cluster-spec/types.js";

export interface LbMapping {
  readonly raw: string;
  readonly mapping: PortMapping;
  /** Where it is published on the host (a spec without a host port got one when it was added). */
  readonly binding: PublishedPort;
}

const key = (p: { hostIp: string; hostPort: number; protocol: string }) => `${p.hostIp}:${p.hostPort}/${p.protocol}`;

/**
 * Pairs each stored spec with its published port: an explicit host port pairs with that binding,
 * the others with the remaining bindings of their container port, in order.
 */
export function pairMappings(
  specs: ReadonlyArray<{ raw: string; mapping: PortMapping }>,
  published: readonly PublishedPort[],
  apiHostPort: number,
): LbMapping[] {
  const free = published.filter((b) => !isApi(b, apiHostPort));
  const take = (pred: (b: PublishedPort) => boolean): PublishedPort | undefined => {
    const i = free.findIndex(pred);
    return i < 0 ? undefined : free.splice(i, 1)[0];
  };
  const sameTarget = (m: PortMapping) => (b: PublishedPort) => b.containerPort === m.containerPort && b.protocol === m.protocol;
  const explicit = specs.map((s) =>
    s.mapping.hostPort === undefined ? undefined : take((b) => sameTarget(s.mapping)(b) && b.hostPort === s.mapping.hostPort),
  );
  return specs.flatMap((s, i) => {
    const binding = explicit[i] ?? (s.mapping.hostPort === undefined ? take(sameTarget(s.mapping)) : undefined);
    return binding ? [{ ...s, binding }] : [];
  });
}

export function isApi(b: PublishedPort, apiHostPort: number): boolean {
  return b.containerPort === K3S_API_PORT && b.protocol === "tcp" && b.hostPort === apiHostPort;
}

/** The mappings a `--port-delete SPEC` names: the same spec as written, or the same host port. */
export function matchDeletes(current: readonly LbMapping[], specs: readonly string[]): LbMapping[] {
  return specs.map((text) => {
    const exact = current.find((m) => m.raw === text.trim());
    if (exact) return exact;
    // A bare number is a host port; otherwise a spec's host port (and protocol) name the mapping.
    const bare = /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
    let wanted: PortMapping | undefined;
    try {
      wanted = bare === undefined ? parsePortMapping(text) : undefined;
    } catch {
      wanted = undefined;
    }
    const byPort = current.find((m) =>
      bare !== undefined
        ? m.binding.hostPort === bare
        : wanted?.hostPort !== undefined && m.binding.hostPort === wanted.hostPort && m.binding.protocol === wanted.protocol,
    );
    if (byPort) return byPort;
    const known = current.map((m) => `"${m.raw}" (host port ${m.binding.hostPort})`).join(", ") || "none";
    throw new NotFoundError(`--port-delete "${text}" matches no port mapping of the load balancer; it has: ${known}`);
  });
}

/** New specs must go through the load balancer and must not take a host port the cluster already publishes. */
export function checkAdds(adds: readonly PortMapping[], kept: readonly LbMapping[], api: PublishedPort): void {
  const taken = new Map<string, string>([[key(api), "the API"]]);
  for (const m of kept) taken.set(key(m.binding), `"${m.raw}"`);
  for (const a of adds) {
    if (isDirect(a)) {
      throw new UsageError(
        `--port-add "${a.raw}" publishes on a node directly: Docker cannot add ports to an existing node container, so only load-balanced ports can be added after create`,
      );
    }
    if (a.hostPort === undefined) continue;
    const k = key({ hostIp: a.hostIp, hostPort: a.hostPort, protocol: a.protocol });
    const other = taken.get(k);
    if (other !== undefined) throw new ConflictError(`--port-add "${a.raw}": host port ${k} is already mapped by ${other}`);
    taken.set(k, `"${a.raw}"`);
  }
}
