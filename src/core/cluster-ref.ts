/** A cluster as its containers describe it, for operations that change an existing cluster. */
import type { ContainerInfo, Runtime } from "../runtime/types.js";
import { NotFoundError } from "../base/errors.js";
import type { Dialect } from "./dialect.js";
import { apiServerUrl, clusterSelector, indexOf, roleOf } from "./labels.js";
import type { NodeState } from "./plan/lifecycle.js";
import { validateClusterName } from "./cluster-spec/validate.js";
import type { ClientCredentials } from "./readiness/api.js";
import { credentialsOf, fetchClusterKubeconfig } from "./kubeconfig/entries.js";

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

/** What an operation reads clusters with. */
export interface Engine {
  readonly runtime: Runtime;
  readonly signal: AbortSignal;
  readonly dialect: Dialect;
}

export function isInitServer(d: Dialect, c: ContainerInfo): boolean {
  return c.labels[d.labels.init] === "true";
}

export function toNodeState(d: Dialect, c: ContainerInfo): NodeState {
  const datastore = c.labels[d.labels.datastore];
  return {
    name: c.name,
    role: roleOf(d, c),
    index: indexOf(d, c),
    init: isInitServer(d, c),
    running: c.running,
    ...(datastore !== undefined ? { datastore } : {}),
  };
}

export function clusterRef(d: Dialect, name: string, containers: readonly ContainerInfo[]): ClusterRef {
  const byIndex = (a: ContainerInfo, b: ContainerInfo) => indexOf(d, a) - indexOf(d, b);
  const servers = containers.filter((c) => roleOf(d, c) === "server").sort(byIndex);
  const labels = (servers[0] ?? containers[0])?.labels ?? {};
  const loadBalancer = containers.find((c) => roleOf(d, c) === "loadbalancer");
  return {
    name,
    containers,
    servers,
    agents: containers.filter((c) => roleOf(d, c) === "agent").sort(byIndex),
    ...(loadBalancer ? { loadBalancer } : {}),
    server: apiServerUrl(d, labels),
    network: labels[d.labels.network] ?? "",
  };
}

/** The containers carrying the cluster's labels. */
export function clusterContainers({ runtime, signal, dialect }: Engine, name: string): Promise<ContainerInfo[]> {
  return runtime.listContainers(clusterSelector(dialect, name), signal);
}

export async function loadCluster(engine: Engine, name: string): Promise<ClusterRef> {
  validateClusterName(name);
  const containers = await clusterContainers(engine, name);
  if (containers.length === 0) throw new NotFoundError(`cluster "${name}" not found`);
  return clusterRef(engine.dialect, name, containers);
}

/** The admin credentials, read from a running server, pointing at the API as published on the host. */
export async function clusterCredentials(engine: Engine, cluster: string): Promise<ClientCredentials> {
  const ref = clusterRef(engine.dialect, cluster, await clusterContainers(engine, cluster));
  const node = ref.servers.find((s) => s.running) ?? ref.servers[0];
  if (!node) throw new NotFoundError(`cluster "${cluster}" has no server`);
  const config = await fetchClusterKubeconfig(
    engine.runtime,
    { cluster, server: ref.server, node: node.name, prefix: engine.dialect.prefix },
    engine.signal,
  );
  return credentialsOf(config);
}
