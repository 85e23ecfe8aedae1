/**
 * The cluster's datastore as the plan makes it: the container of a database k3box runs, and what
 * every server is given to reach its datastore.
 */
import type { ContainerSpec, FileEntry, Labels, Mount, VolumeSpec } from "../../runtime/types.js";
import type { ClusterDatastore } from "../cluster-spec/types.js";
import { DATASTORE_PASSWORD_PATH, ENGINES, isEngine, type DatastoreEngine } from "../datastore/engines.js";
import { redactEndpoint } from "../datastore/endpoint.js";
import type { Dialect } from "../dialect.js";
import { datastoreName, nodeVolumeName } from "../naming.js";
import { DATASTORE_CONFIG_PATH } from "../node/paths.js";

export interface PlannedDatastore {
  readonly name: string;
  readonly engine: DatastoreEngine;
  readonly container: ContainerSpec;
  /** The password file, put in before the first start. */
  readonly files: readonly FileEntry[];
  /** The cluster's own volume for the data; none when the user named where the data goes. */
  readonly volume?: VolumeSpec;
}

/** How the servers reach their datastore: the endpoint (password and all) and how it is shown. */
export interface DatastoreLink {
  readonly endpoint: string;
  readonly shown: string;
}

/** The endpoint the servers get, for a datastore outside them (a database k3box runs, or an external one). */
export function datastoreLink(d: Dialect, cluster: string, ds: ClusterDatastore, password: string): DatastoreLink | undefined {
  if (ds.type === "external") return { endpoint: ds.endpoint.url, shown: ds.endpoint.shown };
  if (!isEngine(ds.type)) return undefined;
  const endpoint = ENGINES[ds.type].endpoint(datastoreName(d, cluster), password);
  return { endpoint, shown: redactEndpoint(endpoint) };
}

/**
 * The k3s config drop-in that gives a server its datastore: a file (mode 0600) rather than
 * `--datastore-endpoint` or K3S_DATASTORE_ENDPOINT, which `ps` and `docker inspect` show in clear.
 */
export function datastoreConfigFile(link: DatastoreLink): FileEntry {
  // A JSON string is a YAML double-quoted scalar: any password is written as it is.
  return { path: DATASTORE_CONFIG_PATH, content: `datastore-endpoint: ${JSON.stringify(link.endpoint)}\n`, mode: 0o600 };
}

/** The labels servers and the datastore carry: its type and its endpoint without the password. */
export function datastoreLabels(d: Dialect, ds: ClusterDatastore, link: DatastoreLink | undefined): Labels {
  return { [d.labels.datastore]: ds.type, ...(link ? { [d.labels.datastoreEndpoint]: link.shown } : {}) };
}

/**
 * A database k3box runs for the cluster: on the cluster's network under its own name, its data in
 * a volume, its password in a file, published on the host only when asked.
 */
export function planDatastore(
  d: Dialect,
  cluster: string,
  ds: Extract<ClusterDatastore, { image: string }>,
  o: { readonly network: string; readonly password: string; readonly labels: Labels },
): PlannedDatastore {
  const name = datastoreName(d, cluster);
  const engine = ENGINES[ds.type];
  const own = ds.volume === undefined ? nodeVolumeName(name) : undefined;
  const source = ds.volume ?? (own as string);
  const mount: Mount = { type: source.startsWith("/") ? "bind" : "volume", source, target: engine.dataDir };
  const labels = { ...o.labels, [d.labels.role]: "datastore", [d.labels.index]: "0", [d.labels.image]: ds.image };
  return {
    name,
    engine: ds.type,
    container: {
      name,
      image: ds.image,
      hostname: name,
      env: engine.env,
      labels,
      mounts: [mount],
      ports: ds.publish ? [{ containerPort: engine.port, protocol: "tcp", ...ds.publish }] : [],
      network: o.network,
      networkAliases: [name],
      restartPolicy: "unless-stopped",
    },
    files: [{ path: DATASTORE_PASSWORD_PATH, content: o.password, mode: 0o600 }],
    ...(own !== undefined ? { volume: { name: own, labels: { ...o.labels, [d.labels.role]: "datastore" } } } : {}),
  };
}
