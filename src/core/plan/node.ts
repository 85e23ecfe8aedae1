/**
 * Pure planning of new nodes for a running cluster: names, and container settings cloned from a
 * peer of the same role, so that new nodes get whatever the cluster's nodes were created with.
 */
import type { ContainerInfo, ContainerSpec, FileEntry, Mount, VolumeSpec } from "../../runtime/types.js";
import { NODE_ENTRYPOINT_PATH, entrypointFiles } from "../node/entrypoint.js";
import { ConflictError, UsageError } from "../errors.js";
import { LABEL, indexOf, roleOf } from "../labels.js";
import { K3S_API_PORT } from "../spec/defaults.js";
import type { NodeRole } from "../spec/types.js";
import { K3S_DATA_DIR, KUBECONFIG_OUTPUT, nodeName, nodeVolumeName } from "./names.js";

/** What the user adds on top of what the peer has. */
export interface NodeExtras {
  readonly image?: string;
  readonly k3sArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly Mount[];
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
  readonly files: { readonly from: string; readonly paths: readonly string[] } | { readonly entries: readonly FileEntry[] };
}

/** Paths only a server has use for: an agent cloned from a server does not get them. */
const SERVER_ONLY = `${K3S_DATA_DIR}/server/`;

/** The next indices of a role: after the highest in use, so a deleted node's name is not reused. */
export function nextIndices(existing: ReadonlyArray<{ role: string; index: number }>, role: NodeRole, count: number): number[] {
  const used = existing.filter((n) => n.role === role).map((n) => n.index);
  const first = used.length === 0 ? 0 : Math.max(...used) + 1;
  return Array.from({ length: count }, (_, i) => first + i);
}

/**
 * A server started with embedded etcd can take more servers; a single sqlite server cannot. A
 * server that joined another one (K3S_URL) is an etcd member too, so this holds after the
 * init server is gone.
 */
export function hasEmbeddedEtcd(servers: readonly ContainerInfo[]): boolean {
  return servers.some(
    (s) =>
      s.labels[LABEL.init] === "true" || s.spec.cmd?.includes("--cluster-init") === true || s.spec.env?.K3S_URL !== undefined,
  );
}

/** The peer to clone: a joined (not init) node of the role, newest first; for a first agent, a server. */
export function choosePeer(nodes: readonly ContainerInfo[], role: NodeRole): ContainerInfo | undefined {
  const rank = (c: ContainerInfo) => (c.labels[LABEL.init] === "true" ? -1 : indexOf(c));
  const byRank = (list: ContainerInfo[]) => list.sort((a, b) => rank(b) - rank(a))[0];
  return byRank(nodes.filter((c) => roleOf(c) === role)) ?? byRank(nodes.filter((c) => roleOf(c) === "server"));
}

export function planNewNodes(
  cluster: string,
  nodes: readonly ContainerInfo[],
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
): NewNode[] {
  const servers = nodes.filter((c) => roleOf(c) === "server");
  if (role === "server" && !hasEmbeddedEtcd(servers)) {
    throw new UsageError(
      `cluster "${cluster}" has a single server without embedded etcd, so k3s cannot add servers to it. ` +
        `Create the cluster with --servers 3 (or --k3s-arg "--cluster-init@server:0") to be able to add servers later; agents can be added now.`,
    );
  }
  const peer = choosePeer(nodes, role);
  const join = servers.find((s) => s.running && s.labels[LABEL.init] === "true") ?? servers.find((s) => s.running);
  if (!peer || !join) {
    throw new ConflictError(
      `cluster "${cluster}" has no running server to join: start it first (k3box cluster start ${cluster})`,
    );
  }
  const sameRole = roleOf(peer) === role;
  const peerFiles = JSON.parse(peer.labels[LABEL.files] ?? "[]") as string[];
  const paths = sameRole ? peerFiles : peerFiles.filter((p) => !p.startsWith(SERVER_ONLY));
  const existing = nodes.map((c) => ({ role: roleOf(c) ?? "", index: indexOf(c) }));
  return nextIndices(existing, role, replicas).map((index) => {
    const name = nodeName(cluster, role, index);
    const base = peer.spec;
    const cmd = sameRole
      ? (base.cmd ?? [role]).filter((a) => a !== "--cluster-init")
      : [role, ...(JSON.parse(base.labels[LABEL.agentArgs] ?? "[]") as string[])];
    const labels: Record<string, string> = { ...base.labels, [LABEL.role]: role, [LABEL.index]: String(index) };
    delete labels[LABEL.init];
    if (role === "agent") delete labels[LABEL.agentArgs];
    delete labels[LABEL.files];
    if (extras.image !== undefined) labels[LABEL.image] = extras.image;
    if (paths.length > 0) labels[LABEL.files] = JSON.stringify(paths);
    const ownVolume = nodeVolumeName(peer.name);
    const volume = nodeVolumeName(name);
    const container: ContainerSpec = {
      ...base,
      name,
      hostname: name,
      image: extras.image ?? base.image,
      cmd: [...cmd, ...extras.k3sArgs],
      env: { ...base.env, K3S_URL: `https://${join.name}:${K3S_API_PORT}`, ...extras.env },
      labels,
      mounts: [...(base.mounts ?? []).map((m) => (m.source === ownVolume ? { ...m, source: volume } : m)), ...extras.mounts],
      // Ports published on a node directly belong to that one node.
      ports: [],
      networkAliases: [name],
    };
    const volumeLabels = Object.fromEntries(
      [LABEL.managed, LABEL.version, LABEL.cluster].flatMap((k) => (labels[k] !== undefined ? [[k, labels[k]]] : [])),
    );
    return {
      name,
      role,
      index,
      volume: { name: volume, labels: { ...volumeLabels, [LABEL.role]: role } },
      container,
      files: { from: peer.name, paths },
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
  },
  extras: NodeExtras,
): NewNode[] {
  const files = entrypointFiles(o.nodeEntrypoint, []);
  return nextIndices(o.existing, o.role, o.replicas).map((index) => {
    const name = nodeName(group, o.role, index);
    const labels = {
      [LABEL.files]: JSON.stringify(files.map((f) => f.path)),
      [LABEL.managed]: "true",
      [LABEL.version]: o.version,
      [LABEL.cluster]: group,
      [LABEL.network]: o.network,
      [LABEL.networkExternal]: "true",
      [LABEL.role]: o.role,
      [LABEL.index]: String(index),
      [LABEL.image]: o.image,
      [LABEL.joinUrl]: o.url,
    };
    const volume = nodeVolumeName(name);
    return {
      name,
      role: o.role,
      index,
      volume: { name: volume, labels: { [LABEL.managed]: "true", [LABEL.cluster]: group, [LABEL.role]: o.role } },
      container: {
        name,
        image: o.image,
        hostname: name,
        entrypoint: [NODE_ENTRYPOINT_PATH],
        cmd: [o.role, ...extras.k3sArgs],
        env: { K3S_URL: o.url, K3S_TOKEN: o.token, K3S_KUBECONFIG_OUTPUT: KUBECONFIG_OUTPUT, ...extras.env },
        labels,
        privileged: true,
        tmpfs: ["/run", "/var/run"],
        mounts: [{ type: "volume", source: volume, target: K3S_DATA_DIR }, ...extras.mounts],
        network: o.network,
        // Docker's default bridge knows no aliases.
        ...(o.network === "bridge" ? {} : { networkAliases: [name] }),
        restartPolicy: "unless-stopped",
      },
      files: { entries: files },
    };
  });
}
