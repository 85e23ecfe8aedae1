/**
 * Every difference between k3box's own conventions and k3d's, in one table. A dialect is chosen
 * once, at the entry point, and handed down explicitly (OperationOptions.dialect → Operation →
 * planner inputs); nothing below the entry point asks which one it is.
 */
import type { Labels } from "../runtime/types.js";
import { VERSION } from "./version.js";

/** The label keys k3box writes and reads clusters back from. */
export interface LabelKeys {
  /** With `managedValue`: the marker every object carries; everything is listed by it. */
  readonly managed: string;
  readonly version: string;
  readonly cluster: string;
  readonly role: string;
  readonly index: string;
  readonly init: string;
  readonly network: string;
  readonly networkExternal: string;
  readonly apiHost: string;
  readonly apiHostIp: string;
  readonly apiPort: string;
  /** The kubeconfig's server URL, when given apart from the published address (`--kubeconfig-server`). */
  readonly apiServer: string;
  readonly image: string;
  /** JSON list of the paths of files k3box put into the node before it first started. */
  readonly files: string;
  readonly ports: string;
  /** On a registry: its name as the user gave it. */
  readonly registry: string;
  /** On a registry created with a cluster: that cluster, which deletes it. Not `cluster`: a registry is no node. */
  readonly registryOwner: string;
  /** On servers: JSON list of the k3s arguments every agent gets, for agents added when none is left to copy. */
  readonly agentArgs: string;
  /** On nodes that joined a cluster k3box did not create: the URL they joined. */
  readonly joinUrl: string;
  /** On the load balancer: JSON of its settings (k3d's `settings.*` keys). */
  readonly lbSettings: string;
  /** On k3s nodes: JSON list of the adaptations to the engine k3box made in them. */
  readonly adaptations: string;
  /** On every object of a cluster a test session made: that session; its reaper removes them once the session's process is gone. */
  readonly session: string;
  /** On every object of a cluster a test fixture may reuse: the hash of the options it was made with. */
  readonly reuse: string;
  /** On a reaper container: the session whose objects it removes. */
  readonly reaper: string;
  /** On Kubernetes objects a test fixture applied (a Kubernetes label, not an engine one): reset() removes them. */
  readonly applied: string;
  /** On servers and the datastore container: the cluster's datastore type (sqlite, etcd, postgres...). */
  readonly datastore: string;
  /** On servers and the datastore container: the endpoint k3s is given, without its password. */
  readonly datastoreEndpoint: string;
  /** On k3s nodes: how `image import` delivers to the cluster when it is given no mode. */
  readonly imageImportMode: string;
  /** On a cluster's record of another engine it has nodes on: that engine's name (an address or a Docker context). */
  readonly engine: string;
  /** On nodes (and their volumes) on another engine than their cluster's: the ID of the cluster's own engine. */
  readonly home: string;
}

/**
 * Labels k3d writes that k3box has no use for itself but writes in k3d's dialect, so that k3d
 * and tools reading k3d's labels find what they expect. Keys absent here are not written.
 */
export interface ForeignLabelKeys {
  /** The server agents and joining servers register with. */
  readonly clusterUrl?: string;
  readonly imageVolume?: string;
  /** The load balancer's name ("" without one). */
  readonly serverLoadBalancer?: string;
  /** JSON list of `{ip, hostnames}`. */
  readonly hostAliases?: string;
  /** On registries: the host name and address they are published on, and their host and container ports. */
  readonly registryHost?: string;
  readonly registryHostIp?: string;
  readonly registryPortExternal?: string;
  readonly registryPortInternal?: string;
}

export interface Dialect {
  readonly name: "k3box" | "k3d";
  /** The first word of every object name and kubeconfig entry (`PREFIX-CLUSTER-server-0`). */
  readonly prefix: string;
  readonly labels: LabelKeys;
  readonly managedValue: string;
  /** The value of the version label. */
  readonly versionValue: string;
  /** Written on every object besides the labels above. */
  readonly extraLabels: Labels;
  readonly foreign: ForeignLabelKeys;
  /** The address the API is published on when the user names none. */
  readonly defaultApiHostIp: string;
  /** Whether a cluster gets a volume `PREFIX-CLUSTER-images` on `/k3d/images` unless told not to. */
  readonly imageVolume: boolean;
  /** `--registry-create NAME` names the container NAME itself, not PREFIX-NAME. */
  readonly registryCreateVerbatim: boolean;
  /** `-e KEY` with KEY unset here is passed on without a value instead of being an error. */
  readonly envPassThrough: boolean;
  /** Environment of every k3s node for the entrypoint script (the host name it maps to the host). */
  readonly nodeEnv: Labels;
  /** The host name nodes and pods resolve to the Docker host. */
  readonly hostName: string;
  /**
   * Below ~/.config: where `kubeconfig write` puts `kubeconfig-CLUSTER.yaml` (and `cluster delete`
   * removes it). Undefined: `kubeconfig write` merges into the default kubeconfig, as `merge` does.
   */
  readonly kubeconfigDir?: string;
}

const K3BOX_LABELS: LabelKeys = {
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
  apiServer: "dev.k3box.api.server",
  image: "dev.k3box.image",
  files: "dev.k3box.files",
  ports: "dev.k3box.lb.ports",
  registry: "dev.k3box.registry",
  registryOwner: "dev.k3box.registry.cluster",
  agentArgs: "dev.k3box.agent.args",
  joinUrl: "dev.k3box.join.url",
  lbSettings: "dev.k3box.lb.settings",
  adaptations: "dev.k3box.adaptations",
  session: "dev.k3box.session",
  reuse: "dev.k3box.reuse",
  reaper: "dev.k3box.reaper",
  applied: "k3box.dev/applied",
  datastore: "dev.k3box.datastore",
  datastoreEndpoint: "dev.k3box.datastore.endpoint",
  imageImportMode: "dev.k3box.image.import.mode",
  engine: "dev.k3box.engine",
  home: "dev.k3box.home",
};

/** The k3d release whose command line, names, labels and output k3d's dialect follows. */
export const K3D_COMPAT_VERSION = "v5.9.0";

export const K3BOX: Dialect = {
  name: "k3box",
  prefix: "k3box",
  labels: K3BOX_LABELS,
  managedValue: "true",
  versionValue: VERSION,
  extraLabels: {},
  foreign: {},
  defaultApiHostIp: "127.0.0.1",
  imageVolume: true,
  registryCreateVerbatim: false,
  envPassThrough: false,
  nodeEnv: {},
  hostName: "host.k3box.internal",
};

/**
 * k3d's own keys (pkg/types/types.go) wherever k3d has one, so k3d and tools filtering on them see
 * the clusters and k3box reads them back from the same labels; k3box's own keys for what k3d
 * does not record. k3d's token label is not written: secrets stay off labels (the token is read
 * from the node's environment instead).
 */
export const K3D: Dialect = {
  name: "k3d",
  prefix: "k3d",
  labels: {
    ...K3BOX_LABELS,
    managed: "app",
    version: "k3d.version",
    cluster: "k3d.cluster",
    role: "k3d.role",
    init: "k3d.server.init",
    network: "k3d.cluster.network",
    networkExternal: "k3d.cluster.network.external",
    apiHost: "k3d.server.api.host",
    apiHostIp: "k3d.server.api.hostIP",
    apiPort: "k3d.server.api.port",
  },
  managedValue: "k3d",
  versionValue: K3D_COMPAT_VERSION,
  extraLabels: { [K3BOX_LABELS.version]: VERSION },
  foreign: {
    clusterUrl: "k3d.cluster.url",
    imageVolume: "k3d.cluster.imageVolume",
    serverLoadBalancer: "k3d.server.loadbalancer",
    hostAliases: "k3d.cluster.start.hostaliases",
    registryHost: "k3d.registry.host",
    registryHostIp: "k3d.registry.hostIP",
    registryPortExternal: "k3s.registry.port.external",
    registryPortInternal: "k3s.registry.port.internal",
  },
  defaultApiHostIp: "0.0.0.0",
  imageVolume: true,
  registryCreateVerbatim: true,
  envPassThrough: true,
  nodeEnv: { K3BOX_HOST_NAME: "host.k3d.internal" },
  hostName: "host.k3d.internal",
  kubeconfigDir: "k3d",
};

/** The selector of every object of the dialect. */
export function managedSelector(d: Dialect): Labels {
  return { [d.labels.managed]: d.managedValue };
}

export function isManaged(d: Dialect, labels: Labels): boolean {
  return labels[d.labels.managed] === d.managedValue;
}

/** Where the image volume is mounted in every node (k3d's path, so its tools find it). */
export const IMAGE_VOLUME_PATH = "/k3d/images";
