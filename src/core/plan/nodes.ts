/**
 * Pure planning of new nodes for a running cluster: names, and container settings cloned from a
 * peer of the same role, so that new nodes get whatever the cluster's nodes were created with.
 */
import type { ContainerInfo, ContainerSpec, FileEntry, Mount, VolumeSpec } from "../../runtime/types.js";
import { ConflictError, UsageError } from "../../base/errors.js";
import { K3S_API_PORT } from "../cluster-spec/defaults.js";
import type { NodeRole } from "../cluster-spec/types.js";
import { K3BOX, type Dialect } from "../dialect.js";
import { indexOf, roleOf } from "../labels.js";
import { namedNodeName, nodeName, nodeVolumeName } from "../naming.js";
import { MEMINFO_PATH, entrypointFiles, meminfoFile } from "../node/entrypoint.js";
import { DATASTORE_CONFIG_PATH, K3S_DATA_DIR } from "../node/paths.js";
import { isShared } from "../datastore/engines.js";
import type { Adaptation } from "../host/adaptations.js";
import type { ReadyLevel } from "../readiness/levels.js";
import { parallel, sequence, type Action } from "./actions.js";
import { nodeContainer, type NodeEngineSettings } from "./node-container.js";

/** What the user adds on top of what the peer has. */
export interface NodeExtras {
  readonly image?: string;
  readonly k3sArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly Mount[];
  /** Names the nodes PREFIX-NAME-N (k3d's `node create NAME`) instead of by role and index. */
  readonly name?: string;
  /** A memory limit in bytes, replacing the peer's. */
  readonly memoryBytes?: number;
  /** Container labels added to the peer's. */
  readonly runtimeLabels?: Readonly<Record<string, string>>;
  /** Replacing the peer's. */
  readonly ulimits?: NodeEngineSettings["ulimits"];
}

export interface NewNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly index: number;
  readonly volume: VolumeSpec;
  readonly container: ContainerSpec;
  /**
   * What goes into the new container before it starts: copies of a peer's files (`from`), or,
   * for a node with no k3box peer, the files themselves.
   */
  readonly files:
    | { readonly from: string; readonly paths: readonly string[]; readonly entries?: readonly FileEntry[] }
    | { readonly entries: readonly FileEntry[] };
}

/** A new node whose files have been read (from its peer, if it has one). */
export interface ReadyNode extends Omit<NewNode, "files"> {
  readonly files: readonly FileEntry[];
}

/** Paths only a server has use for: an agent cloned from a server does not get them (nor the datastore's password). */
const serverOnly = (path: string): boolean => path.startsWith(`${K3S_DATA_DIR}/server/`) || path === DATASTORE_CONFIG_PATH;

/** The next indices of a role: after the highest in use, so a deleted node's name is not reused. */
export function nextIndices(existing: ReadonlyArray<{ role: string; index: number }>, role: NodeRole, count: number): number[] {
  const used = existing.filter((n) => n.role === role).map((n) => n.index);
  const first = used.length === 0 ? 0 : Math.max(...used) + 1;
  return Array.from({ length: count }, (_, i) => first + i);
}

/** Servers that share a database outside them (one k3box runs, or an external one): each new one is a full server too. */
export function sharesDatastore(servers: readonly ContainerInfo[], d: Dialect = K3BOX): boolean {
  return servers.some((s) => isShared(s.labels[d.labels.datastore]));
}

/**
 * A server started with embedded etcd can take more servers; a single sqlite server cannot. A
 * server that joined another one (K3S_URL) is an etcd member too, so this holds after the
 * init server is gone.
 */
export function hasEmbeddedEtcd(servers: readonly ContainerInfo[], d: Dialect = K3BOX): boolean {
  return servers.some(
    (s) =>
      s.labels[d.labels.init] === "true" || s.spec.cmd?.includes("--cluster-init") === true || s.spec.env?.K3S_URL !== undefined,
  );
}

/** The peer to clone: a joined (not init) node of the role, newest first; for a first agent, a server. */
export function choosePeer(nodes: readonly ContainerInfo[], role: NodeRole, d: Dialect = K3BOX): ContainerInfo | undefined {
  const rank = (c: ContainerInfo) => (c.labels[d.labels.init] === "true" ? -1 : indexOf(d, c));
  const byRank = (list: ContainerInfo[]) => list.sort((a, b) => rank(b) - rank(a))[0];
  return byRank(nodes.filter((c) => roleOf(d, c) === role)) ?? byRank(nodes.filter((c) => roleOf(d, c) === "server"));
}

/** PREFIX-NAME-N for the next free N: after the highest of that name in use. */
function namedNodes(d: Dialect, name: string, nodes: readonly ContainerInfo[], count: number): string[] {
  const pattern = new RegExp(`^${namedNodeName(d, name, 0).slice(0, -1).replace(/[.]/g, "\\.")}(\\d+)$`);
  const used = nodes.flatMap((c) => {
    const m = pattern.exec(c.name);
    return m ? [Number(m[1])] : [];
  });
  const first = used.length === 0 ? 0 : Math.max(...used) + 1;
  return Array.from({ length: count }, (_, i) => namedNodeName(d, name, first + i));
}

export function planNewNodes(
  cluster: string,
  nodes: readonly ContainerInfo[],
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
  d: Dialect = K3BOX,
): NewNode[] {
  const LABEL = d.labels;
  const servers = nodes.filter((c) => roleOf(d, c) === "server");
  const shared = sharesDatastore(servers, d);
  if (role === "server" && !shared && !hasEmbeddedEtcd(servers, d)) {
    throw new UsageError(
      `cluster "${cluster}" has a single server on sqlite, without embedded etcd, so k3s cannot add servers to it. ` +
        `Create the cluster with --datastore etcd (or --servers 3), or on a database (--datastore postgres, mysql, mariadb or external), to be able to add servers later; agents can be added now.`,
    );
  }
  const peer = choosePeer(nodes, role, d);
  const join = servers.find((s) => s.running && s.labels[LABEL.init] === "true") ?? servers.find((s) => s.running);
  if (!peer || !join) {
    throw new ConflictError(
      `cluster "${cluster}" has no running server to join: start it first (k3box cluster start ${cluster})`,
    );
  }
  const sameRole = roleOf(d, peer) === role;
  const peerFiles = JSON.parse(peer.labels[LABEL.files] ?? "[]") as string[];
  // A memory limit of its own brings its own meminfo; without one the peer's goes with the peer's limit.
  const memoryBytes = extras.memoryBytes ?? peer.spec.memoryBytes;
  const ownFiles = extras.memoryBytes !== undefined ? [meminfoFile(extras.memoryBytes)] : [];
  const copied = (sameRole ? peerFiles : peerFiles.filter((p) => !serverOnly(p))).filter(
    (p) => !(p === MEMINFO_PATH && (ownFiles.length > 0 || memoryBytes === undefined)),
  );
  const paths = [...copied, ...ownFiles.map((f) => f.path)];
  const existing = nodes.map((c) => ({ role: roleOf(d, c) ?? "", index: indexOf(d, c) }));
  const indices = nextIndices(existing, role, replicas);
  const names =
    extras.name !== undefined
      ? namedNodes(d, extras.name, nodes, replicas)
      : indices.map((index) => nodeName(d, cluster, role, index));
  return indices.map((index, i) => {
    const name = names[i] as string;
    const base = peer.spec;
    const cmd = sameRole
      ? (base.cmd ?? [role]).filter((a) => a !== "--cluster-init")
      : [role, ...(JSON.parse(base.labels[LABEL.agentArgs] ?? "[]") as string[])];
    const labels: Record<string, string> = {
      ...base.labels,
      ...extras.runtimeLabels,
      [LABEL.role]: role,
      [LABEL.index]: String(index),
    };
    delete labels[LABEL.init];
    if (role === "agent") {
      delete labels[LABEL.agentArgs];
      delete labels[LABEL.datastore];
      delete labels[LABEL.datastoreEndpoint];
    }
    delete labels[LABEL.files];
    if (extras.image !== undefined) labels[LABEL.image] = extras.image;
    if (paths.length > 0) labels[LABEL.files] = JSON.stringify(paths);
    const ownVolume = nodeVolumeName(peer.name);
    const volume = nodeVolumeName(name);
    const { K3S_TOKEN: token = "", K3S_URL: _url, K3S_KUBECONFIG_OUTPUT: _output, ...env } = base.env ?? {};
    const container = nodeContainer({
      name,
      role,
      image: extras.image ?? base.image,
      args: [...cmd.slice(1), ...extras.k3sArgs],
      token,
      // A server on a shared database reads the cluster from there, as its peers do.
      ...(role === "server" && shared ? {} : { joinUrl: `https://${join.name}:${K3S_API_PORT}` }),
      // The peer's own environment (its image's PATH among it), then what the user adds.
      env: { ...env, ...extras.env },
      labels,
      mounts: [...(base.mounts ?? []).filter((m) => m.source !== ownVolume), ...extras.mounts],
      network: base.network,
      engine: {
        ...(memoryBytes !== undefined ? { memoryBytes } : {}),
        ...(base.deviceRequests !== undefined ? { deviceRequests: base.deviceRequests } : {}),
        ...((extras.ulimits ?? base.ulimits) !== undefined ? { ulimits: extras.ulimits ?? base.ulimits } : {}),
        ...(base.hostPid !== undefined ? { hostPid: base.hostPid } : {}),
      },
    });
    const volumeLabels = Object.fromEntries(
      [LABEL.managed, LABEL.version, ...Object.keys(d.extraLabels), LABEL.cluster].flatMap((k) =>
        labels[k] !== undefined ? [[k, labels[k]]] : [],
      ),
    );
    return {
      name,
      role,
      index,
      volume: { name: volume, labels: { ...volumeLabels, [LABEL.role]: role } },
      container,
      files: { from: peer.name, paths: copied, ...(ownFiles.length > 0 ? { entries: ownFiles } : {}) },
    };
  });
}

/** Nodes joining a cluster k3box did not create, by its URL and token; `group` names them. */
export function planJoinNodes(
  group: string,
  o: {
    readonly url: string;
    readonly token: string;
    readonly role: NodeRole;
    readonly replicas: number;
    readonly image: string;
    readonly network: string;
    readonly version: string;
    readonly existing: ReadonlyArray<{ role: string; index: number }>;
    /** The node entrypoint script: these nodes get the same in-node fixes as any other. */
    readonly nodeEntrypoint: string;
    /** What the nodes need to run on this engine, as for a cluster k3box creates. */
    readonly adaptations: readonly Adaptation[];
    readonly dialect?: Dialect;
    /** Nodes of a k3box cluster on another engine than the cluster's: the ID of the cluster's engine. */
    readonly home?: string;
  },
  extras: NodeExtras,
): NewNode[] {
  const d = o.dialect ?? K3BOX;
  const LABEL = d.labels;
  const files = [
    ...entrypointFiles(o.nodeEntrypoint, []),
    ...(extras.memoryBytes !== undefined ? [meminfoFile(extras.memoryBytes)] : []),
    ...o.adaptations.flatMap((a) => a.files),
  ];
  const home = o.home !== undefined ? { [LABEL.home]: o.home } : {};
  return nextIndices(o.existing, o.role, o.replicas).map((index) => {
    const name = nodeName(d, group, o.role, index);
    const labels = {
      ...extras.runtimeLabels,
      [LABEL.files]: JSON.stringify(files.map((f) => f.path)),
      [LABEL.managed]: d.managedValue,
      [LABEL.version]: o.version,
      ...d.extraLabels,
      [LABEL.cluster]: group,
      [LABEL.network]: o.network,
      [LABEL.networkExternal]: "true",
      [LABEL.role]: o.role,
      [LABEL.index]: String(index),
      [LABEL.image]: o.image,
      [LABEL.joinUrl]: o.url,
      [LABEL.adaptations]: JSON.stringify(o.adaptations.map((a) => a.name)),
      ...home,
    };
    const volume = nodeVolumeName(name);
    return {
      name,
      role: o.role,
      index,
      volume: {
        name: volume,
        labels: { [LABEL.managed]: d.managedValue, [LABEL.cluster]: group, [LABEL.role]: o.role, ...home },
      },
      container: nodeContainer({
        name,
        role: o.role,
        image: o.image,
        args: [...extras.k3sArgs, ...o.adaptations.flatMap((a) => a.k3sArgs)],
        token: o.token,
        joinUrl: o.url,
        env: { ...d.nodeEnv, ...extras.env },
        labels,
        mounts: extras.mounts,
        network: o.network,
        engine: {
          ...(extras.memoryBytes !== undefined ? { memoryBytes: extras.memoryBytes } : {}),
          ...(extras.ulimits !== undefined ? { ulimits: extras.ulimits } : {}),
        },
      }),
      files: { entries: files },
    };
  });
}

/**
 * Adding nodes: every volume and container first, then new servers one at a time (etcd admits one
 * new member at a time) and new agents in parallel; for a k3box cluster, the load balancer takes
 * them in, and readiness is checked through it.
 */
export function planNodeCreate(
  nodes: readonly ReadyNode[],
  o: { cluster?: string; image?: string; wait: boolean; level: ReadyLevel },
): Action {
  const start = (n: ReadyNode): Action => ({
    type: "start",
    container: n.name,
    ...(o.wait ? { milestone: n.role === "server" ? ("server" as const) : ("agent" as const) } : {}),
  });
  const own = o.cluster;
  return sequence([
    ...(o.image !== undefined ? [{ type: "ensure-image" as const, image: o.image }] : []),
    ...nodes.flatMap<Action>((n) => [
      { type: "create-volume", volume: n.volume },
      { type: "create-container", container: n.container, files: n.files, ...(own !== undefined ? { joins: own } : {}) },
    ]),
    ...nodes.filter((n) => n.role === "server").map(start),
    parallel(nodes.filter((n) => n.role === "agent").map(start)),
    ...(own !== undefined ? [{ type: "update-loadbalancer" as const, cluster: own }] : []),
    ...(own !== undefined && o.wait ? [{ type: "wait-ready" as const, cluster: own, level: o.level }] : []),
  ]);
}
