/** Names of the engine objects of clusters and registries; one place so every command agrees. */
export const PREFIX = "k3box";

export function networkName(cluster: string): string {
  return `${PREFIX}-${cluster}`;
}

export function nodeName(cluster: string, role: "server" | "agent", index: number): string {
  return `${PREFIX}-${cluster}-${role}-${index}`;
}

export function loadBalancerName(cluster: string): string {
  return `${PREFIX}-${cluster}-serverlb`;
}

export function nodeVolumeName(node: string): string {
  return `${node}-data`;
}

export function contextName(cluster: string): string {
  return `${PREFIX}-${cluster}`;
}

/** A registry's container, which is also its host name on every network it joins. */
export function registryContainerName(registry: string): string {
  return `${PREFIX}-${registry}`;
}
