/** A cluster as its containers describe it, for operations that change an existing cluster. */
import type { ContainerInfo, Runtime } from "../../runtime/types.js";
import { NotFoundError } from "../errors.js";
import { LABEL, apiServerUrl, clusterSelector, indexOf, roleOf } from "../labels.js";
import type { NodeState } from "../plan/lifecycle.js";
import { validateClusterName } from "../spec/names.js";
import type { ClientCredentials } from "../wait.js";
import { credentialsOf, fetchClusterKubeconfig } from "./kubeconfig-entries.js";

export interface ClusterRef {
  readonly name: string;
  readonly containers: readonly ContainerInfo[];
  readonly servers: readonly ContainerInfo[];
  readonly agents: readonly ContainerInfo[];
  readonly loadBalancer?: ContainerInfo;
  /** https://HOST:PORT of the API as published on the host. */
  readonly server: string;
  readonly network: string;
}

export function isInitServer(c: ContainerInfo): boolean {
  return c.labels[LABEL.init] === "true";
}

export function toNodeState(c: ContainerInfo): NodeState {
  return { name: c.name, role: roleOf(c), index: indexOf(c), init: isInitServer(c), running: c.running };
}

export function clusterRef(name: string, containers: readonly ContainerInfo[]): ClusterRef {
  const byIndex = (a: ContainerInfo, b: ContainerInfo) => indexOf(a) - indexOf(b);
  const servers = containers.filter((c) => roleOf(c) === "server").sort(byIndex);
  const labels = (servers[0] ?? containers[0])?.labels ?? {};
  const loadBalancer = containers.find((c) => roleOf(c) === "loadbalancer");
  return {
    name,
    containers,
    servers,
    agents: containers.filter((c) => roleOf(c) === "agent").sort(byIndex),
    ...(loadBalancer ? { loadBalancer } : {}),
    server: apiServerUrl(labels),
    network: labels[LABEL.network] ?? "",
  };
}

export async function loadCluster(runtime: Runtime, name: string, signal?: AbortSignal): Promise<ClusterRef> {
  validateClusterName(name);
  const containers = await runtime.listContainers(clusterSelector(name), signal);
  if (containers.length === 0) throw new NotFoundError(`cluster "${name}" not found`);
  return clusterRef(name, containers);
}

/** The admin credentials, read from a running server, pointing at the API as published on the host. */
export async function clusterCredentials(runtime: Runtime, ref: ClusterRef, signal: AbortSignal): Promise<ClientCredentials> {
  const fresh = clusterRef(ref.name, await runtime.listContainers(clusterSelector(ref.name), signal));
  const node = fresh.servers.find((s) => s.running) ?? fresh.servers[0];
  if (!node) throw new NotFoundError(`cluster "${ref.name}" has no server`);
  const config = await fetchClusterKubeconfig(runtime, { cluster: ref.name, server: ref.server, node: node.name }, signal);
  return credentialsOf(config);
}
