/** The user-facing description of a cluster, after parsing and validation. */
import type { DatastoreEngine } from "../datastore/engines.js";
import type { ExternalEndpoint } from "../datastore/endpoint.js";
import type { AdaptationName } from "../host/adaptation-names.js";
import type { ImageImportMode } from "../images/import-mode.js";
import type { ReadyLevel } from "../readiness/levels.js";
import type { DeviceRequest, Ulimit } from "../../runtime/types.js";
import type { RegistriesConfig } from "../registry/config.js";
import type { RegistryCreateSpec } from "../registry/types.js";

export type NodeRole = "server" | "agent";

/** Which nodes of a group a filter selects. */
export type IndexSelector =
  | { readonly kind: "all" }
  | { readonly kind: "list"; readonly indices: readonly number[] }
  | { readonly kind: "range"; readonly from: number; readonly to?: number };

export type FilterGroup = "server" | "agent" | "loadbalancer" | "all";

/** One parsed node filter such as `server:0`, `agent:1-`, `loadbalancer`. */
export interface NodeFilter {
  readonly group: FilterGroup;
  readonly select: IndexSelector;
  /** Only meaningful for ports: forward through the load balancer or publish on the node itself. */
  readonly suffix?: "proxy" | "direct";
}

export type Protocol = "tcp" | "udp";

export interface PortMapping {
  /** The address the published port binds to on the host. */
  readonly hostIp: string;
  /** Undefined: the engine picks a free port. */
  readonly hostPort?: number;
  readonly containerPort: number;
  readonly protocol: Protocol;
  readonly filters: readonly NodeFilter[];
  /** As the user wrote it, for messages and for state kept on the containers. */
  readonly raw: string;
}

export interface VolumeMount {
  /** An absolute host path or a named volume; undefined for an anonymous volume. */
  readonly source?: string;
  readonly destination: string;
  readonly options?: string;
  readonly filters: readonly NodeFilter[];
  readonly raw: string;
}

export interface EnvVar {
  readonly key: string;
  /** Undefined: given without a value (k3d's pass-through); the nodes do not get it. */
  readonly value?: string;
  readonly filters: readonly NodeFilter[];
  readonly raw: string;
}

export interface K3sArg {
  readonly arg: string;
  readonly filters: readonly NodeFilter[];
  readonly raw: string;
}

/** An `/etc/hosts`-style entry every node and (through coredns NodeHosts) every pod resolves. */
export interface HostAlias {
  readonly ip: string;
  readonly names: readonly string[];
  readonly raw: string;
}

/** A file k3box puts into the selected nodes before k3s first starts. */
export interface NodeFile {
  /** Absolute path inside the node. */
  readonly destination: string;
  readonly content: string | Buffer;
  readonly mode?: number;
  readonly filters: readonly NodeFilter[];
  /** Where it came from, for messages. */
  readonly raw: string;
  /** A manifest (`--manifest`), a chart's HelmChart, or a file of a bundle; none: a file the user placed. */
  readonly origin?: "manifest" | "chart" | "bundle";
}

/** A Helm chart the cluster installs through k3s's Helm controller. */
export interface HelmChartSpec {
  readonly name: string;
  /** Embedded (a packaged chart read from `file`) or fetched from a repository by the cluster. */
  readonly chart:
    | { readonly file: string; readonly content: Buffer }
    | { readonly repo: string; readonly name: string; readonly version?: string };
  readonly namespace?: string;
  readonly valuesContent?: string;
  readonly raw: string;
}

/** A label on node containers (`--runtime-label`). */
export interface RuntimeLabel {
  readonly key: string;
  readonly value: string;
  readonly filters: readonly NodeFilter[];
  readonly raw: string;
}

/** Engine settings of the node containers: k3d's `options.runtime`. */
export interface NodeRuntime {
  /** Memory limits in bytes; the nodes also see them as their total memory. */
  readonly serversMemory?: number;
  readonly agentsMemory?: number;
  /** GPUs for every server and agent, and the request as the user wrote it. */
  readonly gpus?: { readonly request: DeviceRequest; readonly raw: string };
  readonly hostPid: boolean;
  readonly labels: readonly RuntimeLabel[];
  readonly ulimits: readonly Ulimit[];
}

/** The load balancer's nginx settings, under k3d's names. */
export interface LoadBalancerSettings {
  readonly workerConnections?: number;
  /** Seconds a proxied connection may stay idle (nginx proxy_timeout; default 600). */
  readonly defaultProxyTimeout?: number;
}

export interface ApiEndpoint {
  /** What goes into the kubeconfig and the server certificate. */
  readonly host: string;
  /** The address the port binds to on the host. */
  readonly hostIp: string;
  /** Undefined: a free port is chosen when the cluster is created. */
  readonly hostPort?: number;
  /** The kubeconfig's server URL when clients reach the API otherwise than at host:hostPort (`--kubeconfig-server`). */
  readonly server?: string;
}

export interface KubeconfigOptions {
  readonly updateDefault: boolean;
  readonly switchContext: boolean;
}

/** The cluster's registries: one to create with it, existing ones to use, and the user's registries.yaml. */
export interface ClusterRegistries {
  readonly create?: RegistryCreateSpec;
  /** Existing registries by name; a port, if given, must be one the registry has. */
  readonly use: readonly { readonly name: string; readonly port?: number }[];
  /** Merged over the mirrors k3box generates. */
  readonly config?: RegistriesConfig;
}

/** The bundle a cluster is created from: its node images archive, and what it was made for. */
export interface ClusterBundle {
  readonly path: string;
  /** The docker save archive of what k3s runs in the nodes, as the bundle's table lists it. */
  readonly nodeImages?: { readonly path: string; readonly size: number; readonly sha256: string };
  /** The images k3box runs as containers, which `bundle load` puts into the engine. */
  readonly engineImages: readonly string[];
  readonly k3sVersion?: string;
}

/**
 * Where the servers keep the cluster's state: k3s's SQLite (one server), etcd embedded in the
 * servers, a database k3box runs beside them, or one it is given the endpoint of.
 */
export type ClusterDatastore =
  | { readonly type: "sqlite" | "etcd" }
  | {
      readonly type: DatastoreEngine;
      readonly image: string;
      /** Published on the host only when asked for. */
      readonly publish?: { readonly hostIp: string; readonly hostPort: number };
      /** The user's named volume or absolute host path for the data, kept on delete; default: one of the cluster's. */
      readonly volume?: string;
    }
  | { readonly type: "external"; readonly endpoint: ExternalEndpoint };

/** Agents of the cluster on another engine. */
export interface NodeGroupSpec {
  readonly engine: string;
  readonly agents: number;
  readonly k3sArgs: readonly string[];
}

export interface ClusterSpec {
  readonly name: string;
  readonly servers: number;
  readonly agents: number;
  /** Agents on other engines, added once the cluster is up. */
  readonly nodeGroups: readonly NodeGroupSpec[];
  readonly image: string;
  readonly datastore: ClusterDatastore;
  readonly api: ApiEndpoint;
  readonly ports: readonly PortMapping[];
  readonly volumes: readonly VolumeMount[];
  readonly env: readonly EnvVar[];
  readonly k3sArgs: readonly K3sArg[];
  readonly hostAliases: readonly HostAlias[];
  /** Every file for the nodes, the charts' HelmChart resources included. */
  readonly files: readonly NodeFile[];
  readonly charts: readonly HelmChartSpec[];
  readonly bundle?: ClusterBundle;
  readonly registries: ClusterRegistries;
  /** Undefined: a random token is generated. */
  readonly token?: string;
  /** Undefined: the cluster gets its own network `k3box-NAME`. */
  readonly network?: string;
  /** The IPv4 CIDR of the network k3box creates; undefined: the engine picks one. */
  readonly subnet?: string;
  readonly loadBalancer: boolean;
  readonly loadBalancerImage: string;
  readonly loadBalancerSettings: LoadBalancerSettings;
  /** A volume on /k3d/images in every node, shared by them (k3d's image volume). */
  readonly imageVolume: boolean;
  readonly runtime: NodeRuntime;
  /** How `image import` delivers to this cluster when it is given no mode; recorded on its nodes. */
  readonly imageImportMode: ImageImportMode;
  readonly wait: boolean;
  /** What "ready" means when waiting (see readiness/cluster.ts). */
  readonly waitFor: ReadyLevel;
  /** Adaptations switched off; the others apply where the engine and image call for them. */
  readonly adaptationsOff: readonly AdaptationName[];
  /** Undefined: no deadline. */
  readonly timeoutMs?: number;
  readonly kubeconfig: KubeconfigOptions;
  readonly rollback: boolean;
}

/** A node of a cluster as the plan names it. */
export interface NodeRef {
  readonly role: NodeRole | "loadbalancer";
  readonly index: number;
}
