/** Registries as k3box describes them: what to create, and a running one as nodes reach it. */

/** The port registry:2 listens on inside its container. */
export const REGISTRY_INTERNAL_PORT = 5000;
export const DEFAULT_REGISTRY_IMAGE = "registry:2";
/** Docker's default network, where a registry that belongs to no cluster lives. */
export const DEFAULT_NETWORK = "bridge";
/** Where registry:2 keeps its blobs. */
export const REGISTRY_STORAGE_PATH = "/var/lib/registry";

export interface ProxySpec {
  /** The upstream registry, e.g. https://registry-1.docker.io. */
  readonly remoteUrl: string;
  readonly username?: string;
  readonly password?: string;
}

/** A registry to create (`registry create`, `cluster create --registry-create`). */
export interface RegistryCreateSpec {
  /** The name without k3box's prefix; the container is `k3box-NAME`. */
  readonly name: string;
  readonly image: string;
  readonly hostIp: string;
  /** Undefined: a free port is chosen. */
  readonly hostPort?: number;
  /** A named volume or absolute host path, and where it goes in the registry. */
  readonly volume?: { readonly source: string; readonly destination: string };
  readonly proxy?: ProxySpec;
  readonly deleteEnabled: boolean;
}

/** An existing registry container, as nodes and the host reach it. */
export interface RegistryEndpoint {
  readonly name: string;
  /** Container name: the host name on every network the registry joins. */
  readonly container: string;
  /** The port inside the container, reached over the cluster network. */
  readonly port: number;
  readonly hostIp: string;
  readonly hostPort: number;
  /** Set for a pull-through cache. */
  readonly proxyRemoteUrl?: string;
  /** The cluster that created it. */
  readonly owner?: string;
}

/** The three names of one registry: it is one registry, reached three ways. */
export interface RegistryNames {
  /** From the host: docker push/pull, build tools on your machine. */
  readonly host: string;
  /** In image references of pod specs: what the nodes' containerd pulls by. */
  readonly node: string;
  /** From inside pods (in-cluster builders pushing): the name on the cluster network. */
  readonly pod: string;
}
