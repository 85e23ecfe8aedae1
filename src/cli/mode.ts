/**
 * Which command line k3box speaks: its own, or k3d's (when run as `k3d` or with
 * K3BOX_COMPAT=k3d). The core's Dialect holds names, labels and defaults; this table adds what
 * only the command line shows: the program's name, version output, and the shapes of listings.
 */
import { basename, extname } from "node:path";
import {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_K3S_IMAGE,
  K3BOX,
  K3D,
  K3D_COMPAT_VERSION,
  UsageError,
  VERSION,
  type ClusterDetail,
  type ClusterStatus,
  type Dialect,
  type NodeDetail,
  type NodeInfo,
  type RegistryStatus,
} from "../index.js";
import { k3dCluster, k3dNode, type K3dNode } from "./k3d-shapes.js";
import { table } from "./render.js";

export interface VersionFacts {
  readonly k3box: string;
  /** The default k3s image, and its tag (the k3s release). */
  readonly k3sImage: string;
  readonly k3s: string;
  readonly node: string;
  /** Undefined when the engine cannot be reached. */
  readonly engine?: { readonly name: string; readonly version: string; readonly apiVersion: string };
}

export interface CliMode {
  readonly dialect: Dialect;
  /** The command's own name, in help and hints. */
  readonly program: string;
  readonly description: string;
  /** `version` as text and as data, and what `--version` prints. */
  readonly version: (v: VersionFacts) => { readonly text: string; readonly data: unknown; readonly flag: string };
  /** Whether `cluster list` shows k3d's detailed cluster objects (else k3box's ClusterStatus). */
  readonly detailedClusters: boolean;
  /** `get` is another name of `list` (k3d), not a command showing one object (k3box). */
  readonly listGetAlias: boolean;
  readonly clusterTable: (clusters: readonly ClusterRow[], token: boolean) => { headers: string[]; rows: string[][] };
  readonly clusterData: (c: ClusterRow) => unknown;
  /** Listings of nodes are by name (k3d), or by cluster, role and index (k3box). */
  readonly nodesByName: boolean;
  readonly nodeTable: (nodes: readonly NodeRow[]) => { headers: string[]; rows: string[][] };
  readonly nodeData: (n: NodeRow) => unknown;
  readonly registryTable: (registries: readonly RegistryStatus[]) => { headers: string[]; rows: string[][] };
  readonly registryData: (r: RegistryStatus) => unknown;
  /** `node create` without --cluster adds to this cluster (k3d), or --cluster is required (k3box). */
  readonly nodeCreateCluster?: string;
  /** `kubeconfig get` starts every document with `---` (k3d), or separates several with it. */
  readonly kubeconfigSeparatorFirst: boolean;
  /** `kubeconfig merge --output FILE` merges into FILE (k3d) instead of replacing it. */
  readonly mergeIntoOutput: boolean;
  /** Why the API is published on every address when the user names none; shown at create. */
  readonly apiBindNote?: string;
}

/** A cluster as a listing needs it: the status, and (k3d, or with --token) the full detail. */
export interface ClusterRow {
  readonly status: ClusterStatus;
  readonly detail?: ClusterDetail;
}

export interface NodeRow {
  readonly info: NodeInfo;
  readonly detail?: NodeDetail;
}

const k3boxTable = (clusters: readonly ClusterRow[], token: boolean) => ({
  headers: ["NAME", "SERVERS", "AGENTS", "LOADBALANCER", "DATASTORE", "API", "STATE", "IMAGE", ...(token ? ["TOKEN"] : [])],
  rows: clusters.map(({ status: c, detail }) => [
    c.name,
    `${c.servers.running}/${c.servers.total}`,
    `${c.agents.running}/${c.agents.total}`,
    String(c.loadBalancer),
    c.datastore.type,
    c.server,
    c.state,
    c.image,
    ...(token ? [detail?.token ?? ""] : []),
  ]),
});

export const K3BOX_MODE: CliMode = {
  dialect: K3BOX,
  program: "k3box",
  description: "Run k3s Kubernetes clusters in Docker",
  version: (v) => ({
    text: `k3box ${v.k3box}\n`,
    flag: v.k3box,
    data: {
      k3box: v.k3box,
      k3sImage: v.k3sImage,
      node: v.node,
      ...(v.engine ? { engine: v.engine } : {}),
    },
  }),
  detailedClusters: false,
  listGetAlias: false,
  clusterTable: k3boxTable,
  clusterData: ({ status, detail }) => (detail?.token !== undefined ? { ...status, token: detail.token } : status),
  nodesByName: false,
  nodeTable: (nodes) => {
    // Where a cluster spans engines, each node says which one it is on (the cluster's own: "-").
    const spanning = nodes.some(({ info }) => info.engine !== undefined);
    return {
      headers: ["NAME", "ROLE", "CLUSTER", "STATE", "IP", "IMAGE", ...(spanning ? ["ENGINE"] : [])],
      rows: nodes.map(({ info: n }) => [
        n.name,
        n.role,
        n.cluster,
        n.state,
        n.ip ?? "",
        n.image,
        ...(spanning ? [n.engine ?? "-"] : []),
      ]),
    };
  },
  nodeData: ({ info }) => info,
  registryTable: (registries) => ({
    headers: ["NAME", "HOST", "IN-CLUSTER", "STATE", "PROXY", "CLUSTERS"],
    rows: registries.map((r) => [
      r.name,
      r.names.host,
      r.names.node,
      r.state,
      r.proxyRemoteUrl ?? "-",
      r.clusters.join(",") || "-",
    ]),
  }),
  registryData: (r) => r,
  kubeconfigSeparatorFirst: false,
  mergeIntoOutput: false,
};

/** The k3s release of an image reference (`…/k3s:v1.35.5-k3s1` → `v1.35.5-k3s1`). */
export function imageTag(image: string): string {
  return image.slice(image.lastIndexOf(":") + 1);
}

/** A registry as k3d lists it: a node of role `registry`. */
function k3dRegistry(r: RegistryStatus): K3dNode {
  return {
    name: r.container,
    role: "registry",
    image: r.image,
    Cmd: null,
    portMappings: { [`${r.port}/tcp`]: [{ HostIp: r.hostIp, HostPort: String(r.hostPort) }] },
    restart: true,
    Networks: r.networks.length > 0 ? r.networks : null,
    ExtraHosts: null,
    serverOpts: { kubeAPI: null },
    agentOpts: {},
    GPURequest: "",
    Memory: "",
    State: { Running: r.running, Status: r.state, Started: "" },
    IP: { IP: "", Static: false },
    K3dEntrypoint: false,
  };
}

export const K3D_MODE: CliMode = {
  dialect: K3D,
  program: "k3d",
  description: "Run k3s Kubernetes clusters in Docker (k3box, speaking k3d's command line)",
  // `k3d version | head -1` and `k3d version -o json` parse as k3d's; k3box says who it is after.
  version: (v) => ({
    text: `k3d version ${K3D_COMPAT_VERSION}\nk3s version ${v.k3s} (default)\nk3box version ${v.k3box} (speaking k3d)\n`,
    flag: `k3d version ${K3D_COMPAT_VERSION}\nk3s version ${v.k3s} (default)`,
    data: { k3d: K3D_COMPAT_VERSION, k3s: v.k3s, k3box: v.k3box },
  }),
  detailedClusters: true,
  listGetAlias: true,
  clusterTable: (clusters, token) => ({
    headers: ["NAME", "SERVERS", "AGENTS", "LOADBALANCER", ...(token ? ["TOKEN"] : [])],
    rows: clusters.map(({ status: c, detail }) => [
      c.name,
      `${c.servers.running}/${c.servers.total}`,
      `${c.agents.running}/${c.agents.total}`,
      String(c.loadBalancer),
      ...(token ? [detail?.token ?? ""] : []),
    ]),
  }),
  clusterData: ({ detail }) => (detail ? k3dCluster(detail) : undefined),
  nodesByName: true,
  nodeTable: (nodes) => ({
    headers: ["NAME", "ROLE", "CLUSTER", "STATUS"],
    rows: nodes.map(({ info: n }) => [n.name, n.role, n.cluster, n.state]),
  }),
  nodeData: ({ detail }) => (detail ? k3dNode(detail) : undefined),
  registryTable: (registries) => ({
    headers: ["NAME", "ROLE", "CLUSTER", "STATUS"],
    rows: registries.map((r) => [r.container, "registry", r.owner ?? "*", r.state]),
  }),
  registryData: k3dRegistry,
  nodeCreateCluster: DEFAULT_CLUSTER_NAME,
  kubeconfigSeparatorFirst: true,
  mergeIntoOutput: true,
  apiBindNote:
    "note: the API is published on 0.0.0.0 (every address of this machine), as k3d does; give --api-port 127.0.0.1:PORT to keep it local",
};

export const MODES: Readonly<Record<Dialect["name"], CliMode>> = { k3box: K3BOX_MODE, k3d: K3D_MODE };

/** The environment variable that picks k3d's command line whatever the program is called. */
export const COMPAT_ENV_VAR = "K3BOX_COMPAT";

/** k3d's when the program is called `k3d` (a link or copy), or K3BOX_COMPAT says so; else k3box's own. */
export function modeFor(program: string | undefined, env: NodeJS.ProcessEnv): CliMode {
  const wanted = env[COMPAT_ENV_VAR];
  if (wanted !== undefined && wanted !== "") {
    const mode = MODES[wanted as Dialect["name"]];
    if (!mode) throw new UsageError(`invalid ${COMPAT_ENV_VAR}="${wanted}": use k3d or k3box`);
    return mode;
  }
  const name = basename(program ?? "", extname(program ?? ""));
  return name === "k3d" ? K3D_MODE : K3BOX_MODE;
}

/** What `version` reports besides the k3box version. */
export function versionFacts(engine: VersionFacts["engine"]): VersionFacts {
  return {
    k3box: VERSION,
    k3sImage: DEFAULT_K3S_IMAGE,
    k3s: imageTag(DEFAULT_K3S_IMAGE),
    node: process.version,
    ...(engine ? { engine } : {}),
  };
}

/** A table as text, without its header line if asked. */
export function renderTable(t: { headers: string[]; rows: string[][] }, headers: boolean): string {
  const text = table(t.headers, t.rows);
  return headers ? text : text.split("\n").slice(1).join("\n");
}
