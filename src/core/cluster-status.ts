/** A cluster's observed state, rebuilt from its containers' labels and inspect data. */
import type { ContainerInfo, Runtime } from "../runtime/types.js";
import { managedSelector, type Dialect } from "./dialect.js";
import { apiServerUrl, indexOf, roleOf } from "./labels.js";
import { K3S_API_PORT } from "./cluster-spec/defaults.js";
import type { ImageImportMode } from "./images/import-mode.js";

export interface NodeStatus {
  readonly name: string;
  readonly role: "server" | "agent" | "loadbalancer";
  readonly index: number;
  readonly state: ContainerInfo["state"];
  readonly running: boolean;
  readonly image: string;
  readonly ip?: string;
  /** The engine it runs on, when that is not the cluster's own. */
  readonly engine?: string;
}

/** Where a cluster keeps its state, as its servers and its database container say. */
export interface DatastoreStatus {
  /** sqlite, etcd, postgres, mysql, mariadb or external. */
  readonly type: string;
  /** What the servers are given, without its password. */
  readonly endpoint?: string;
  /** The database k3box runs for the cluster. */
  readonly container?: string;
  readonly image?: string;
  readonly state?: ContainerInfo["state"];
  readonly running?: boolean;
  /** Where it is published on the host, when it is. */
  readonly hostIp?: string;
  readonly hostPort?: number;
}

export interface ClusterStatus {
  readonly name: string;
  readonly servers: { readonly running: number; readonly total: number };
  readonly agents: { readonly running: number; readonly total: number };
  readonly loadBalancer: boolean;
  /** https://HOST:PORT as published on the host. */
  readonly server: string;
  readonly image: string;
  readonly network: string;
  readonly datastore: DatastoreStatus;
  /** Of the nodes, the load balancer and the datastore k3box runs. */
  readonly state: "running" | "stopped" | "degraded";
  readonly nodes: readonly NodeStatus[];
  /** Host ports the cluster publishes besides the API: on the load balancer, or on a node (`:direct`). */
  readonly ports: readonly PublishedPortStatus[];
  /** What k3box changed in the nodes for this engine (see `chooseAdaptations`). */
  readonly adaptations: readonly string[];
  /** How `image import` delivers to it when given no mode (`options.k3box.imageImportMode` at create). */
  readonly imageImportMode: ImageImportMode;
  /** Other engines it has nodes on that could not be reached: their nodes are missing from `nodes`. */
  readonly unreachable?: ReadonlyArray<{ readonly engine: string; readonly error: string }>;
}

/** A cluster's nodes on other engines, by engine, and the engines that could not be reached. */
export interface ElsewhereNodes {
  readonly nodes: ReadonlyArray<{ readonly engine: string; readonly containers: readonly ContainerInfo[] }>;
  readonly unreachable: ReadonlyArray<{ readonly engine: string; readonly error: string }>;
}

export interface PublishedPortStatus {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: "tcp" | "udp";
  /** The container that publishes it. */
  readonly node: string;
}

/** How `image import` delivers to a cluster when given no mode: recorded on each of its k3s nodes at create. */
export function importModeOf(d: Dialect, containers: readonly ContainerInfo[]): ImageImportMode {
  const recorded = containers.find((c) => c.labels[d.labels.imageImportMode] !== undefined);
  return recorded?.labels[d.labels.imageImportMode] === "registry" ? "registry" : "eager";
}

const ROLE_ORDER = { server: 0, agent: 1, loadbalancer: 2 } as const;

export function clusterStatus(
  d: Dialect,
  name: string,
  home: readonly ContainerInfo[],
  elsewhere: ElsewhereNodes = { nodes: [], unreachable: [] },
): ClusterStatus {
  const engineOf = new Map(elsewhere.nodes.flatMap((e) => e.containers.map((c) => [c, e.engine] as const)));
  const containers = [...home, ...elsewhere.nodes.flatMap((e) => e.containers)];
  const nodes: NodeStatus[] = containers
    .filter((c) => roleOf(d, c) in ROLE_ORDER)
    .map((c) => {
      const engine = engineOf.get(c);
      const role = roleOf(d, c) as NodeStatus["role"];
      const net = c.labels[d.labels.network] ?? "";
      const ip = c.networks[net]?.ip;
      return {
        name: c.name,
        role,
        index: indexOf(d, c),
        state: c.state,
        running: c.running,
        image: c.image,
        ...(ip ? { ip } : {}),
        ...(engine !== undefined ? { engine } : {}),
      };
    })
    .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.index - b.index);
  const count = (role: NodeStatus["role"]) => {
    const of = nodes.filter((n) => n.role === role);
    return { running: of.filter((n) => n.running).length, total: of.length };
  };
  const first = containers.find((c) => roleOf(d, c) === "server") ?? containers[0];
  const labels = first?.labels ?? {};
  const datastore = datastoreStatus(d, containers);
  const parts = [...nodes.map((n) => n.running), ...(datastore.running !== undefined ? [datastore.running] : [])];
  const running = parts.filter(Boolean).length;
  return {
    name,
    servers: count("server"),
    agents: count("agent"),
    loadBalancer: nodes.some((n) => n.role === "loadbalancer"),
    server: apiServerUrl(d, labels, "?"),
    image: labels[d.labels.image] ?? first?.image ?? "",
    network: labels[d.labels.network] ?? "",
    datastore,
    state: running === 0 ? "stopped" : running === parts.length && elsewhere.unreachable.length === 0 ? "running" : "degraded",
    nodes,
    adaptations: JSON.parse(labels[d.labels.adaptations] ?? "[]") as string[],
    imageImportMode: importModeOf(d, containers),
    ports: containers
      .flatMap((c) => c.ports.map((p) => ({ ...p, node: c.name })))
      .filter((p) => !(p.containerPort === K3S_API_PORT && String(p.hostPort) === labels[d.labels.apiPort]))
      .sort((a, b) => a.hostPort - b.hostPort || a.protocol.localeCompare(b.protocol)),
    ...(elsewhere.unreachable.length > 0 ? { unreachable: elsewhere.unreachable } : {}),
  };
}

/**
 * The datastore from the servers' labels and the database container; a cluster made before the
 * choice existed has etcd when a server started or joined one, else sqlite.
 */
export function datastoreStatus(d: Dialect, containers: readonly ContainerInfo[]): DatastoreStatus {
  const servers = containers.filter((c) => roleOf(d, c) === "server");
  const db = containers.find((c) => roleOf(d, c) === "datastore");
  const labels = (db ?? servers[0])?.labels ?? {};
  const etcd = servers.some((s) => s.labels[d.labels.init] === "true" || s.env.K3S_URL !== undefined);
  const endpoint = labels[d.labels.datastoreEndpoint];
  const published = db?.ports[0];
  return {
    type: labels[d.labels.datastore] ?? (etcd ? "etcd" : "sqlite"),
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(db
      ? {
          container: db.name,
          image: db.labels[d.labels.image] ?? db.image,
          state: db.state,
          running: db.running,
          ...(published ? { hostIp: published.hostIp, hostPort: published.hostPort } : {}),
        }
      : {}),
  };
}

/** Every managed container that belongs to a cluster, grouped by cluster name, sorted by name. */
export async function containersByCluster(
  runtime: Runtime,
  d: Dialect,
  signal?: AbortSignal,
): Promise<[string, ContainerInfo[]][]> {
  const containers = await runtime.listContainers(managedSelector(d), signal);
  const byCluster = new Map<string, ContainerInfo[]>();
  for (const c of containers) {
    const name = c.labels[d.labels.cluster];
    if (name === undefined) continue;
    byCluster.set(name, [...(byCluster.get(name) ?? []), c]);
  }
  return [...byCluster.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export async function observeClusters(runtime: Runtime, d: Dialect, signal?: AbortSignal): Promise<ClusterStatus[]> {
  return (await containersByCluster(runtime, d, signal)).map(([n, cs]) => clusterStatus(d, n, cs));
}
