/**
 * Clusters and their nodes in full, as the engine has them: what k3d's `cluster list -o json` and
 * `node list -o json` show, and `debug loadbalancer get-config`. Read-only.
 */
import type { ContainerInfo, Labels, PublishedPort, Ulimit } from "../../runtime/types.js";
import { NotFoundError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { containersByCluster } from "../cluster-status.js";
import type { Dialect } from "../dialect.js";
import { clusterSelector, indexOf, roleOf, type NodeKind } from "../labels.js";
import { DEFAULT_WORKER_CONNECTIONS } from "../loadbalancer/nginx.js";
import { loadBalancerTargets, storedPortSpecs, storedSettings } from "../loadbalancer/update.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";
import { REDACTED } from "../cluster-spec/view.js";

export interface ApiBinding {
  readonly host: string;
  readonly hostIp: string;
  readonly hostPort: string;
}

export interface NodeDetail {
  readonly name: string;
  readonly cluster: string;
  readonly role: NodeKind;
  readonly index: number;
  /** As the container was created with it. */
  readonly image: string;
  readonly state: ContainerInfo["state"];
  readonly running: boolean;
  /** RFC 3339. */
  readonly created?: string;
  /** On the cluster's network. */
  readonly ip?: string;
  /** `KEY=VALUE`, the token redacted unless asked for. */
  readonly env: readonly string[];
  readonly cmd: readonly string[];
  readonly labels: Labels;
  readonly ports: readonly PublishedPort[];
  /** `SOURCE:DEST[:ro]` of every mount. */
  readonly volumes: readonly string[];
  readonly networks: readonly string[];
  readonly restart: boolean;
  readonly memoryBytes?: number;
  readonly hostPid: boolean;
  readonly ulimits: readonly Ulimit[];
  readonly init: boolean;
  /** Servers: where the cluster's API is published. */
  readonly api?: ApiBinding;
}

/** The load balancer's config in k3d's terms: `PORT.PROTO` → target nodes, and nginx settings. */
export interface LoadBalancerValues {
  readonly ports: Readonly<Record<string, readonly string[]>>;
  readonly settings: { readonly workerConnections: number; readonly defaultProxyTimeout?: number };
}

export interface ClusterDetail {
  readonly name: string;
  readonly network: { readonly name: string; readonly id: string; readonly external: boolean; readonly subnet?: string };
  /** Only when asked for. */
  readonly token?: string;
  readonly api: ApiBinding;
  readonly nodes: readonly NodeDetail[];
  /** The cluster's volumes. */
  readonly volumes: readonly string[];
  readonly imageVolume?: string;
  readonly loadBalancer?: { readonly name: string; readonly config: LoadBalancerValues };
}

export interface InspectOptions extends OperationOptions {
  /** Show the cluster's join token (in `token` and in the nodes' environment). */
  readonly token?: boolean;
}

/** The named clusters (every name must exist), or every cluster. */
export function inspectClusters(names: readonly string[] = [], options: InspectOptions = {}): Promise<ClusterDetail[]> {
  for (const n of names) validateClusterName(n);
  return runOperation("inspecting clusters", options, async (op) => {
    const all = await containersByCluster(op.runtime, op.dialect, op.signal);
    const wanted = names.length === 0 ? all : names.map((n) => all.find(([name]) => name === n) ?? missing(n));
    return Promise.all(wanted.map(([name, containers]) => detail(op, name, containers, options.token ?? false)));
  });
}

function missing(name: string): never {
  throw new NotFoundError(`cluster "${name}" not found`);
}

async function detail(op: Operation, name: string, containers: readonly ContainerInfo[], token: boolean): Promise<ClusterDetail> {
  const { runtime, signal, dialect: d } = op;
  const keys = d.labels;
  const nodes = containers.filter((c) => ["server", "agent", "loadbalancer"].includes(roleOf(d, c)));
  const first = nodes.find((c) => roleOf(d, c) === "server") ?? nodes[0];
  const labels = first?.labels ?? {};
  const networkName = labels[keys.network] ?? "";
  const [network, volumes] = await Promise.all([
    runtime.inspectNetwork(networkName, signal),
    runtime.listVolumes(clusterSelector(d, name), signal),
  ]);
  const secret = first?.env.K3S_TOKEN;
  const api = {
    host: labels[keys.apiHost] ?? "",
    hostIp: labels[keys.apiHostIp] ?? "",
    hostPort: labels[keys.apiPort] ?? "",
  };
  const lb = nodes.find((c) => roleOf(d, c) === "loadbalancer");
  const imageVolume = d.foreign.imageVolume ? labels[d.foreign.imageVolume] : undefined;
  return {
    name,
    network: {
      name: networkName,
      id: network?.id ?? "",
      external: labels[keys.networkExternal] === "true",
      ...(network?.subnet !== undefined ? { subnet: network.subnet } : {}),
    },
    ...(token && secret !== undefined ? { token: secret } : {}),
    api,
    nodes: nodes.map((c) => nodeDetail(d, name, c, api, token)).sort((a, b) => a.name.localeCompare(b.name)),
    volumes: [...volumes].sort(),
    ...(imageVolume !== undefined ? { imageVolume } : {}),
    ...(lb ? { loadBalancer: { name: lb.name, config: loadBalancerValues(d, lb, nodes) } } : {}),
  };
}

function nodeDetail(d: Dialect, cluster: string, c: ContainerInfo, api: ApiBinding, token: boolean): NodeDetail {
  const role = roleOf(d, c);
  const network = c.labels[d.labels.network] ?? "";
  const ip = c.networks[network]?.ip;
  return {
    name: c.name,
    cluster,
    role,
    index: indexOf(d, c),
    image: c.spec.image,
    state: c.state,
    running: c.running,
    ...(c.created ? { created: c.created.toISOString() } : {}),
    ...(ip ? { ip } : {}),
    env: Object.entries(c.env).map(([k, v]) => `${k}=${k === "K3S_TOKEN" && !token ? REDACTED : v}`),
    cmd: [...c.cmd],
    labels: c.labels,
    ports: c.spec.ports ?? [],
    volumes: (c.spec.mounts ?? []).map((m) => `${m.source}:${m.target}${m.readOnly ? ":ro" : ""}`),
    networks: Object.keys(c.networks),
    restart: c.spec.restartPolicy === "unless-stopped" || c.spec.restartPolicy === "always",
    ...(c.spec.memoryBytes !== undefined ? { memoryBytes: c.spec.memoryBytes } : {}),
    hostPid: c.spec.hostPid ?? false,
    ulimits: c.spec.ulimits ?? [],
    init: c.labels[d.labels.init] === "true",
    ...(role === "server" ? { api } : {}),
  };
}

/** What the load balancer forwards where, over the running nodes, in k3d's `values.yaml` shape. */
function loadBalancerValues(d: Dialect, lb: ContainerInfo, nodes: readonly ContainerInfo[]): LoadBalancerValues {
  const settings = storedSettings(d, lb);
  const ports = Object.fromEntries(
    loadBalancerTargets(storedPortSpecs(d, lb), nodes, d)
      .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol))
      .map((p) => [`${p.port}.${p.protocol}`, p.targets]),
  );
  return {
    ports,
    settings: {
      workerConnections: settings.workerConnections ?? DEFAULT_WORKER_CONNECTIONS,
      ...(settings.defaultProxyTimeout !== undefined ? { defaultProxyTimeout: settings.defaultProxyTimeout } : {}),
    },
  };
}
