/**
 * Clusters and nodes as k3d prints them with `-o json|yaml`: the JSON encoding of k3d's
 * `types.Cluster` and `types.Node` (k3d-io/k3d pkg/types/types.go), field names and nesting
 * included, so tools that parse k3d's output read k3box's.
 */
import type { ClusterDetail, LoadBalancerValues, NodeDetail } from "../index.js";

/** Docker's `HumanSize`: decimal units, four significant digits, as k3d shows a node's memory. */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${Number(value.toPrecision(4))}${units[i]}`;
}

/** nat.PortBinding. */
interface PortBinding {
  readonly HostIp: string;
  readonly HostPort: string;
}

/** types.ExposureOpts: nat.PortMapping's fields promoted, then `host`. */
interface ExposureOpts {
  readonly Port: string;
  readonly Binding: PortBinding;
  readonly host?: string;
}

export interface K3dNode {
  readonly name: string;
  readonly role: string;
  readonly image: string;
  readonly volumes?: readonly string[];
  readonly env?: readonly string[];
  readonly Cmd: readonly string[] | null;
  readonly portMappings?: Readonly<Record<string, readonly PortBinding[]>>;
  readonly restart?: boolean;
  readonly created?: string;
  readonly hostPidMode?: boolean;
  readonly runtimeLabels?: Readonly<Record<string, string>>;
  readonly runtimeUlimits?: ReadonlyArray<{ readonly Name: string; readonly Hard: number; readonly Soft: number }>;
  readonly Networks: readonly string[] | null;
  readonly ExtraHosts: null;
  readonly serverOpts: { readonly isInitializingServer?: boolean; readonly kubeAPI: ExposureOpts | null };
  readonly agentOpts: Record<string, never>;
  readonly GPURequest: string;
  readonly Memory: string;
  readonly State: { readonly Running: boolean; readonly Status: string; readonly Started: string };
  readonly IP: { readonly IP: string; readonly Static: boolean };
  readonly K3dEntrypoint: boolean;
}

export interface K3dCluster {
  readonly name: string;
  readonly network: {
    readonly name: string;
    readonly id: string;
    readonly isExternal?: boolean;
    readonly ipam: { readonly ipPrefix: string; readonly Managed: boolean };
    readonly Members: null;
  };
  readonly clusterToken?: string;
  readonly nodes?: readonly K3dNode[];
  readonly InitNode: K3dNode | null;
  readonly kubeAPI?: ExposureOpts;
  readonly serverLoadBalancer?: K3dNode & { readonly config: LoadBalancerValues };
  readonly imageVolume?: string;
  readonly volumes?: readonly string[];
  readonly serversRunning: number;
  readonly serversCount: number;
  readonly agentsRunning: number;
  readonly agentsCount: number;
  readonly hasLoadbalancer?: boolean;
}

const present = <K extends string, V>(key: K, value: V | undefined, keep: (v: V) => boolean): { [P in K]?: V } =>
  (value !== undefined && keep(value) ? { [key]: value } : {}) as { [P in K]?: V };
const nonEmpty = (v: { length: number } | object) => ("length" in v ? v.length > 0 : Object.keys(v).length > 0);

function exposure(api: NodeDetail["api"]): ExposureOpts {
  return {
    Port: "",
    Binding: { HostIp: api?.hostIp ?? "", HostPort: api?.hostPort ?? "" },
    ...(api?.host ? { host: api.host } : {}),
  };
}

export function k3dNode(n: NodeDetail): K3dNode {
  const ports: Record<string, PortBinding[]> = {};
  for (const p of n.ports) {
    (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({
      HostIp: p.hostIp,
      HostPort: p.hostPort === 0 ? "" : String(p.hostPort),
    });
  }
  // k3d shows only its own labels of a node.
  const labels = Object.fromEntries(Object.entries(n.labels).filter(([k]) => k.startsWith("k3d")));
  return {
    name: n.name,
    role: n.role,
    image: n.image,
    ...present("volumes", n.volumes, nonEmpty),
    ...present("env", n.env, nonEmpty),
    Cmd: n.cmd.length > 0 ? n.cmd : null,
    ...present("portMappings", ports, nonEmpty),
    ...present("restart", n.restart, (v) => v),
    ...present("created", n.created, (v) => v !== ""),
    ...present("hostPidMode", n.hostPid, (v) => v),
    ...present("runtimeLabels", labels, nonEmpty),
    ...present(
      "runtimeUlimits",
      n.ulimits.map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft })),
      nonEmpty,
    ),
    Networks: n.networks.length > 0 ? n.networks : null,
    ExtraHosts: null,
    serverOpts: { ...(n.init ? { isInitializingServer: true } : {}), kubeAPI: exposure(n.api) },
    agentOpts: {},
    GPURequest: "",
    Memory: n.memoryBytes !== undefined ? humanSize(n.memoryBytes) : "",
    State: { Running: n.running, Status: n.state, Started: "" },
    IP: { IP: n.ip ?? "", Static: false },
    K3dEntrypoint: false,
  };
}

export function k3dCluster(c: ClusterDetail): K3dCluster {
  const nodes = c.nodes.map(k3dNode);
  const count = (role: string) => {
    const of = c.nodes.filter((n) => n.role === role);
    return { running: of.filter((n) => n.running).length, total: of.length };
  };
  const servers = count("server");
  const agents = count("agent");
  const lbNode = c.nodes.find((n) => n.role === "loadbalancer");
  return {
    name: c.name,
    network: {
      name: c.network.name,
      id: c.network.id,
      ...(c.network.external ? { isExternal: true } : {}),
      ipam: { ipPrefix: c.network.subnet ?? "", Managed: false },
      Members: null,
    },
    ...(c.token !== undefined ? { clusterToken: c.token } : {}),
    ...(nodes.length > 0 ? { nodes } : {}),
    InitNode: null,
    kubeAPI: {
      Port: "6443/tcp",
      Binding: { HostIp: c.api.hostIp, HostPort: c.api.hostPort },
      ...(c.api.host ? { host: c.api.host } : {}),
    },
    ...(lbNode && c.loadBalancer ? { serverLoadBalancer: { ...k3dNode(lbNode), config: c.loadBalancer.config } } : {}),
    ...(c.imageVolume !== undefined ? { imageVolume: c.imageVolume } : {}),
    ...(c.volumes.length > 0 ? { volumes: c.volumes } : {}),
    serversRunning: servers.running,
    serversCount: servers.total,
    agentsRunning: agents.running,
    agentsCount: agents.total,
    ...(lbNode ? { hasLoadbalancer: true } : {}),
  };
}
