/**
 * The container of a k3s node, in one place for every way a node comes to be: created with its
 * cluster, added to it later, or joined to a cluster k3box did not create.
 */
import type { ContainerSpec, Labels, Mount, PublishedPort } from "../../runtime/types.js";
import type { NodeRole, VolumeMount } from "../cluster-spec/types.js";
import { nodeVolumeName } from "../naming.js";
import { NODE_ENTRYPOINT_PATH } from "../node/entrypoint.js";
import { K3S_DATA_DIR, KUBECONFIG_OUTPUT } from "../node/paths.js";

/** Docker's default network knows no aliases. */
const DEFAULT_BRIDGE = "bridge";

/** Engine settings of one node: k3d's memory limit, GPUs, ulimits and host PID mode. */
export type NodeEngineSettings = Pick<ContainerSpec, "memoryBytes" | "deviceRequests" | "ulimits" | "hostPid">;

export interface NodeContainerInput {
  readonly name: string;
  readonly role: NodeRole;
  readonly image: string;
  /** The k3s arguments after the role (`server`/`agent`). */
  readonly args: readonly string[];
  readonly token: string;
  /** The server a joining node (every node but a cluster's first server) registers with. */
  readonly joinUrl?: string;
  /** Environment besides what k3box sets; it wins over k3box's own variables. */
  readonly env?: Readonly<Record<string, string>>;
  readonly labels: Labels;
  /** Mounts besides the node's data volume. */
  readonly mounts?: readonly Mount[];
  readonly ports?: readonly PublishedPort[];
  readonly network: string;
  readonly engine?: NodeEngineSettings;
}

/**
 * Every node starts through k3box's entrypoint, whatever its image, so the fixes k3s needs in
 * Docker always apply; it runs privileged with tmpfs on /run, keeps its state in its own volume,
 * writes its admin kubeconfig where k3box reads it, and comes back after an engine restart.
 */
export function nodeContainer(n: NodeContainerInput): ContainerSpec {
  const e = n.engine ?? {};
  return {
    name: n.name,
    image: n.image,
    hostname: n.name,
    entrypoint: [NODE_ENTRYPOINT_PATH],
    cmd: [n.role, ...n.args],
    env: {
      K3S_TOKEN: n.token,
      K3S_KUBECONFIG_OUTPUT: KUBECONFIG_OUTPUT,
      ...(n.joinUrl !== undefined ? { K3S_URL: n.joinUrl } : {}),
      ...n.env,
    },
    labels: n.labels,
    privileged: true,
    tmpfs: ["/run", "/var/run"],
    mounts: [{ type: "volume", source: nodeVolumeName(n.name), target: K3S_DATA_DIR }, ...(n.mounts ?? [])],
    ports: n.ports ?? [],
    network: n.network,
    ...(n.network === DEFAULT_BRIDGE ? {} : { networkAliases: [n.name] }),
    restartPolicy: "unless-stopped",
    ...(e.memoryBytes !== undefined ? { memoryBytes: e.memoryBytes } : {}),
    ...(e.deviceRequests !== undefined && e.deviceRequests.length > 0 ? { deviceRequests: e.deviceRequests } : {}),
    ...(e.ulimits !== undefined && e.ulimits.length > 0 ? { ulimits: e.ulimits } : {}),
    ...(e.hostPid ? { hostPid: true } : {}),
  };
}

/** A volume of the spec as the engine mounts it. */
export function toMount(v: VolumeMount): Mount {
  return {
    // An absolute source is a host path; a bare name, or none, is a Docker volume.
    type: v.source?.startsWith("/") ? "bind" : "volume",
    source: v.source ?? "",
    target: v.destination,
    readOnly: v.options?.split(",").includes("ro") ?? false,
    options: v.options?.split(",") ?? [],
  };
}
