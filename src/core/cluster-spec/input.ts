/** The input a cluster is built from, as callers give it. */
import type { ChartInput } from "./charts.js";
import type { Dialect } from "../dialect.js";
import type { FileInput } from "./files.js";

export interface NodeGroupInput {
  /** An address (`tcp://`, `ssh://`…) or a Docker context's name. */
  readonly engine: string;
  /** Default 1. */
  readonly agents?: number;
  /** k3s arguments of these agents only. */
  readonly k3sArgs?: readonly string[];
}

/** What a caller (CLI flags, a library user) says about a cluster; strings use k3d's syntax. */
export interface ClusterInput {
  name?: string;
  /**
   * The engine the cluster lives on (a config file's `engine:`): a URL or a Docker context. The entry
   * points pick the engine from it where nothing else names one; the spec does not hold it.
   */
  engine?: string;
  servers?: number;
  agents?: number;
  /**
   * Agents on other engines than the cluster's (a config file's `nodes:`): each group joins through
   * the API as published, so that address must be one those engines' hosts reach.
   */
  nodeGroups?: readonly NodeGroupInput[];
  image?: string;
  /** sqlite, etcd, postgres, mysql, mariadb or external; default sqlite for one server, etcd for more. */
  datastore?: string;
  /** The image of a database k3box runs (postgres, mysql, mariadb); default the official one. */
  datastoreImage?: string;
  /** The endpoint of an external datastore (postgres://, mysql://, http(s):// of etcd); implies external. */
  datastoreEndpoint?: string;
  /** `[HOST:]PORT`: publish the database k3box runs on the host (default: not published). */
  datastorePort?: string;
  /** A named volume or absolute host path for the data of the database k3box runs; kept on delete. */
  datastoreVolume?: string;
  /** `[HOST:]PORT`. */
  apiPort?: string;
  /** The name the kubeconfig and the server certificate use for the API, when it differs from the bound address. */
  apiHost?: string;
  /**
   * `https://HOST:PORT`, `HOST:PORT` or `HOST`: the API's address in the kubeconfig when clients reach it
   * otherwise than where it is published (a NAT, a tunnel); HOST goes into the server certificate.
   */
  kubeconfigServer?: string;
  /** `[HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER]`. */
  ports?: readonly string[];
  /** `ARG@FILTER`; without a filter an argument goes to every server. */
  k3sArgs?: readonly string[];
  /** `KEY=VALUE@FILTER`; without a filter a variable goes to every node. */
  env?: readonly string[];
  /** `SRC:DEST[@FILTER]`; without a filter a volume goes to every node. */
  volumes?: readonly string[];
  /** `IP:NAME[,NAME]`: resolvable from every node and pod. */
  hostAliases?: readonly string[];
  /** `KEY=VALUE[@FILTER]`: Kubernetes node labels; without a filter a label goes to every node. */
  nodeLabels?: readonly string[];
  /** `SRC:DEST[@FILTER]` or an object; put into the nodes before k3s starts. */
  files?: readonly (string | FileInput)[];
  /** Manifest files or directories for the servers' auto-deploy directory. */
  manifests?: readonly string[];
  /** Helm charts installed by k3s's Helm controller. */
  charts?: readonly ChartInput[];
  /** A bundle (`bundle create`): its images go into every node before k3s starts, its manifests and charts to the servers. */
  bundle?: string;
  token?: string;
  network?: string;
  /** A CIDR for the cluster's own network; `auto` (or none): the engine picks one. */
  subnet?: string;
  loadBalancer?: boolean;
  /** The load balancer's image: nginx with the stream module, run with the config k3box writes. */
  loadBalancerImage?: string;
  wait?: boolean;
  /** How ready the cluster must be before create returns: `api`, `workloads` (default) or `addons`. */
  waitFor?: string;
  /** Adaptations to the engine k3box finds (each on unless set false); see `cluster get`. */
  adaptCgroupV1?: boolean;
  adaptOomScoreAdj?: boolean;
  adaptConntrack?: boolean;
  /** A duration (`90s`, `2m`) or milliseconds; 0 means no deadline. */
  timeout?: string | number;
  updateDefaultKubeconfig?: boolean;
  switchContext?: boolean;
  rollback?: boolean;
  /** `NAME[:HOST][:PORT]`: a registry created with the cluster and deleted with it. */
  registryCreate?: string;
  /** `NAME[:PORT]`: existing registries the cluster's nodes pull from. */
  registryUse?: readonly string[];
  /** Path of a k3s registries.yaml merged over what k3box generates. */
  registryConfig?: string;
  /** registries.yaml content given inline (a config file's `registries.config`). */
  registryConfigYaml?: string;
  /** Docker memory sizes (`2g`) for every server, every agent. */
  serversMemory?: string;
  agentsMemory?: string;
  /** Docker's `--gpus` syntax (`all`, `2`, `device=0`), for every server and agent. */
  gpus?: string;
  /** Nodes share the host's PID namespace. */
  hostPidMode?: boolean;
  /** `KEY[=VALUE][@FILTER]`: labels of the node containers. */
  runtimeLabels?: readonly string[];
  /** `NAME=SOFT:HARD`, for every server and agent. */
  runtimeUlimits?: readonly string[];
  /** False: no shared image volume; default the dialect's. */
  imageVolume?: boolean;
  /** How `image import` delivers when it is given no mode: `eager` (the default) or `registry`. */
  imageImportMode?: string;
  /** k3d's `--lb-config-override`: `settings.workerConnections=N`, `settings.defaultProxyTimeout=N`. */
  lbConfigOverrides?: readonly string[];
}

export type InputField = keyof ClusterInput;

export interface BuildOptions {
  /**
   * Where a value came from (`k3box.yaml:12:7: ports[0].port`, `K3BOX_SERVERS`), put in
   * front of a problem with it; `index` is the position in a list field.
   */
  readonly origin?: (field: InputField, index?: number) => string | undefined;
  /** Problems found before building (in a config file), reported first, together with the builder's. */
  readonly problems?: readonly string[];
  /** Whose defaults apply where the input says nothing (API address, image volume); k3box's by default. */
  readonly dialect?: Dialect;
  /**
   * The engine runs on another host, reached from here at this address: ports the input publishes
   * without an address are published there (not on its loopback), and the kubeconfig names it.
   */
  readonly remoteAddress?: string;
}
