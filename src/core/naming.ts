/** Names of the engine objects of clusters and registries; one place so every command agrees. */
import type { Dialect } from "./dialect.js";

export function networkName(d: Dialect, cluster: string): string {
  return `${d.prefix}-${cluster}`;
}

export function nodeName(d: Dialect, cluster: string, role: "server" | "agent", index: number): string {
  return `${d.prefix}-${cluster}-${role}-${index}`;
}

/** A node named by the user (`node create NAME`): PREFIX-NAME-N, as k3d names it. */
export function namedNodeName(d: Dialect, name: string, index: number): string {
  return `${d.prefix}-${name}-${index}`;
}

export function loadBalancerName(d: Dialect, cluster: string): string {
  return `${d.prefix}-${cluster}-serverlb`;
}

/** The database k3box runs as the cluster's datastore (`--datastore postgres|mysql|mariadb`). */
export function datastoreName(d: Dialect, cluster: string): string {
  return `${d.prefix}-${cluster}-datastore`;
}

export function imageVolumeName(d: Dialect, cluster: string): string {
  return `${d.prefix}-${cluster}-images`;
}

export function nodeVolumeName(node: string): string {
  return `${node}-data`;
}

/** A registry's container, which is also its host name on every network it joins. */
export function registryContainerName(d: Dialect, registry: string): string {
  return `${d.prefix}-${registry}`;
}

/** The registry created with a cluster (`--registry-create NAME`): k3d uses NAME as it is. */
export function clusterRegistryContainerName(d: Dialect, registry: string): string {
  return d.registryCreateVerbatim ? registry : registryContainerName(d, registry);
}

/** The containers a registry name may mean, most likely first: PREFIX-NAME, then (k3d) NAME itself. */
export function registryContainerCandidates(d: Dialect, registry: string): string[] {
  return d.registryCreateVerbatim ? [registryContainerName(d, registry), registry] : [registryContainerName(d, registry)];
}
