/** Pure planning of a cluster delete, from what the engine holds with the cluster's labels. */
import type { ContainerInfo, NetworkInfo } from "../../runtime/types.js";
import { K3BOX, type Dialect } from "../dialect.js";
import { DEFAULT_NETWORK } from "../registry/types.js";
import { parallel, sequence, type Action } from "./actions.js";

export interface ClusterObjects {
  readonly containers: readonly ContainerInfo[];
  readonly volumes: readonly string[];
  readonly networks: readonly NetworkInfo[];
  /** Every k3box registry; those created with the cluster carry it as their owner. */
  readonly registries: readonly ContainerInfo[];
  readonly cluster: string;
  /** The cluster's network, as its nodes name it. */
  readonly network: string;
  /** Whose labels the objects carry; k3box's by default. */
  readonly dialect?: Dialect;
}

/**
 * Nodes first, then the registries the cluster made (unless something else still uses them),
 * then its own network, letting go of whatever else joined it, then the volumes.
 */
export function planDelete(o: ClusterObjects): { actions: Action; keptRegistries: ReadonlyMap<string, readonly string[]> } {
  const kept = new Map<string, readonly string[]>();
  const registries: Action[] = [];
  const keys = (o.dialect ?? K3BOX).labels;
  const owned = o.registries.filter((r) => r.labels[keys.registryOwner] === o.cluster);
  const removed = new Set<string>();
  for (const r of owned) {
    // Docker's default bridge is where a disconnected registry waits, not another user of it.
    const elsewhere = Object.keys(r.networks).filter((n) => n !== o.network && n !== DEFAULT_NETWORK);
    if (elsewhere.length === 0) {
      registries.push({ type: "remove-container", container: r.name });
      removed.add(r.name);
    } else {
      kept.set(r.name, elsewhere);
    }
  }
  const own = o.networks.filter((n) => n.labels[keys.networkExternal] !== "true");
  // A registry that stays is let go with a way back to the host: on no network, its port would be dead.
  // Its own inspect says where it is attached, stopped or not: a network lists only running members.
  const keptOnNetwork = (n: NetworkInfo) =>
    o.registries
      .filter((r) => !removed.has(r.name) && n.name in r.networks)
      .map<Action>((r) => ({
        type: "disconnect-network",
        network: n.name,
        container: r.name,
        fallback: DEFAULT_NETWORK,
      }));
  return {
    actions: sequence([
      parallel(o.containers.map((c) => ({ type: "remove-container", container: c.name }))),
      parallel(registries),
      ...own.map((n) => sequence([...keptOnNetwork(n), { type: "remove-network", network: n.name }])),
      parallel(o.volumes.map((v) => ({ type: "remove-volume", volume: v }))),
    ]),
    keptRegistries: kept,
  };
}
