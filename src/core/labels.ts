/** Every label key k3box writes, in one place. Cluster state is read back from these and from inspect. */
export const LABEL = {
  managed: "dev.k3box.managed",
  version: "dev.k3box.version",
  cluster: "dev.k3box.cluster",
  role: "dev.k3box.role",
  index: "dev.k3box.node.index",
  init: "dev.k3box.server.init",
  network: "dev.k3box.network",
  networkExternal: "dev.k3box.network.external",
  apiHost: "dev.k3box.api.host",
  apiHostIp: "dev.k3box.api.hostip",
  apiPort: "dev.k3box.api.port",
  image: "dev.k3box.image",
  /** JSON list of the paths of files k3box put into the node before it first started. */
  files: "dev.k3box.files",
  ports: "dev.k3box.lb.ports",
  /** On a registry: its name as the user gave it (the container is k3box-NAME). */
  registry: "dev.k3box.registry",
  /** On a registry created with a cluster: that cluster, which deletes it. Not `cluster`: a registry is no node. */
  registryOwner: "dev.k3box.registry.cluster",
  /** On servers: JSON list of the k3s arguments every agent gets, for agents added when none is left to copy. */
  agentArgs: "dev.k3box.agent.args",
  /** On nodes that joined a cluster k3box did not create: the URL they joined. */
  joinUrl: "dev.k3box.join.url",
  /** On k3s nodes: JSON list of the adaptations to the engine k3box made in them. */
  adaptations: "dev.k3box.adaptations",
} as const;

/** The role label's value on registries. */
export const REGISTRY_ROLE = "registry";

export function clusterSelector(cluster: string): Record<string, string> {
  return { [LABEL.managed]: "true", [LABEL.cluster]: cluster };
}

export const MANAGED_SELECTOR: Readonly<Record<string, string>> = { [LABEL.managed]: "true" };

export const REGISTRY_SELECTOR: Readonly<Record<string, string>> = { [LABEL.managed]: "true", [LABEL.role]: REGISTRY_ROLE };

/** https://HOST:PORT of the cluster's API as published on the host, from any of its nodes' labels. */
export function apiServerUrl(labels: Readonly<Record<string, string>>, unknownPort = ""): string {
  return `https://${labels[LABEL.apiHost] ?? "127.0.0.1"}:${labels[LABEL.apiPort] ?? unknownPort}`;
}

/** What a container is to its cluster, read from its labels. */
export function roleOf(c: { readonly labels: Readonly<Record<string, string>> }): "server" | "agent" | "loadbalancer" {
  return (c.labels[LABEL.role] ?? "agent") as "server" | "agent" | "loadbalancer";
}

export function indexOf(c: { readonly labels: Readonly<Record<string, string>> }): number {
  return Number(c.labels[LABEL.index] ?? 0);
}
