/** Adding, removing, starting, stopping and listing the nodes of clusters. */
import type { ContainerInfo, FileEntry, Runtime } from "../../runtime/types.js";
import { ConflictError, NotFoundError, UsageError } from "../../base/errors.js";
import { DEFAULT_K3S_IMAGE, K3S_API_PORT } from "../cluster-spec/defaults.js";
import { toTimeoutMs } from "../cluster-spec/duration.js";
import { parseEnvVar, parseK3sArg } from "../cluster-spec/env.js";
import type { NodeRole } from "../cluster-spec/types.js";
import { validateClusterName, validateImage, validateNetworkName } from "../cluster-spec/validate.js";
import { parseVolumeMount } from "../cluster-spec/volumes.js";
import { loadCluster, toNodeState } from "../cluster-ref.js";
import { clusterStatus, type NodeStatus } from "../cluster-status.js";
import type { EventSink } from "../events.js";
import { execute } from "../executor.js";
import { adaptationsFor } from "../host/facts.js";
import { ensureImage } from "../images/ensure.js";
import { LABEL, MANAGED_SELECTOR, clusterSelector, roleOf } from "../labels.js";
import { nodeVolumeName } from "../naming.js";
import { loadNodeEntrypoint } from "../node/entrypoint.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { sequence, type Action } from "../plan/actions.js";
import { planStart } from "../plan/lifecycle.js";
import { toMount } from "../plan/node-container.js";
import { planJoinNodes, planNewNodes, planNodeCreate, type NewNode, type NodeExtras, type ReadyNode } from "../plan/nodes.js";
import { DEFAULT_READY_LEVEL, type ReadyLevel } from "../readiness/levels.js";
import { checkReplicas, checkStopTimeout } from "../limits.js";
import { VERSION } from "../version.js";
import { DEFAULT_STOP_TIMEOUT_SECONDS } from "../cluster-spec/defaults.js";

export interface NodeCreateInput {
  /** A k3box cluster's name, or the `https://HOST:PORT` of a cluster k3box did not create (then `token` is needed). */
  readonly cluster: string;
  readonly role?: NodeRole;
  readonly replicas?: number;
  readonly image?: string;
  readonly k3sArgs?: readonly string[];
  /** `KEY=VALUE`. */
  readonly env?: readonly string[];
  /** `[SOURCE:]DEST[:OPTIONS]`. */
  readonly volumes?: readonly string[];
  /** Joining by URL: the cluster's token. */
  readonly token?: string;
  /** Joining by URL: names the new nodes (`k3box-NAME-ROLE-N`). */
  readonly name?: string;
  /** Joining by URL: the Docker network for the new nodes (default `bridge`). */
  readonly network?: string;
  readonly wait?: boolean;
  /** What ready means when waiting: `api`, `workloads` (default) or `addons`. */
  readonly waitFor?: ReadyLevel;
  readonly timeout?: string | number;
}

export interface NodeCreateResult {
  readonly cluster: string;
  readonly nodes: readonly string[];
}

export interface NodeInfo extends NodeStatus {
  readonly cluster: string;
}

/**
 * Adds nodes to a cluster: new servers join one at a time, new agents in parallel, and the load
 * balancer is updated in place for them. A failure or cancellation removes what was added and
 * puts the load balancer's previous config back.
 */
export async function createNodes(input: NodeCreateInput, options: OperationOptions = {}): Promise<NodeCreateResult> {
  const role = input.role ?? "agent";
  const replicas = input.replicas ?? 1;
  const byUrl = input.cluster.startsWith("https://");
  const extras = parseExtras(input, role, replicas, byUrl);
  const timeoutMs = toTimeoutMs(input.timeout);
  const frame = { ...options, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  return runOperation(`creating nodes in "${input.cluster}"`, frame, async (op) => {
    const { runtime, signal } = op;
    const { group, own, nodes } = byUrl
      ? await planJoin(runtime, op.onEvent, input, role, replicas, extras, signal)
      : {
          group: input.cluster,
          own: input.cluster,
          nodes: await planJoinOwn(runtime, input.cluster, role, replicas, extras, signal),
        };
    const ready = await readFiles(runtime, nodes, signal);
    const image = extras.image !== undefined || byUrl ? nodes[0]?.container.image : undefined;
    await execute(
      planNodeCreate(ready, {
        ...(own !== undefined ? { cluster: own } : {}),
        ...(image !== undefined ? { image } : {}),
        wait: input.wait ?? true,
        level: input.waitFor ?? DEFAULT_READY_LEVEL,
      }),
      op,
    );
    return { cluster: group, nodes: nodes.map((n) => n.name) };
  });
}

function parseExtras(input: NodeCreateInput, role: string, replicas: number, byUrl: boolean): NodeExtras {
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof UsageError) problems.push(err.message);
      else throw err;
      return undefined;
    }
  };
  if (role !== "server" && role !== "agent") problems.push(`invalid role "${role}": use server or agent`);
  attempt(() => checkReplicas(replicas));
  const noFilter = <T extends { filters: readonly unknown[]; raw: string }>(v: T | undefined, what: string) => {
    if (v && v.filters.length > 0) problems.push(`${what} "${v.raw}": node filters do not apply to node create`);
    return v;
  };
  const k3sArgs = (input.k3sArgs ?? []).map(
    (r) =>
      noFilter(
        attempt(() => parseK3sArg(r)),
        "k3s-arg",
      )?.arg,
  );
  const env = (input.env ?? []).map((r) =>
    noFilter(
      attempt(() => parseEnvVar(r)),
      "env",
    ),
  );
  const volumes = (input.volumes ?? []).map((r) =>
    noFilter(
      attempt(() => parseVolumeMount(r)),
      "volume",
    ),
  );
  if (input.image !== undefined) attempt(() => validateImage(input.image as string));
  if (byUrl) {
    if (!/^https:\/\/[^/\s]+:\d+\/?$/.test(input.cluster))
      problems.push(`invalid cluster URL "${input.cluster}": use https://HOST:PORT`);
    if (input.token === undefined || input.token === "") problems.push(`joining ${input.cluster} needs the cluster's --token`);
    if (input.name === undefined) problems.push(`joining ${input.cluster} needs a NAME for the new nodes`);
    else attempt(() => validateClusterName(input.name as string));
    if (input.network !== undefined) attempt(() => validateNetworkName(input.network as string));
  } else {
    attempt(() => validateClusterName(input.cluster));
    if (input.token !== undefined)
      problems.push("--token is only for joining a cluster by its URL; a k3box cluster's token is known");
    if (input.network !== undefined)
      problems.push("--network is only for joining a cluster by its URL; new nodes join the cluster's network");
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return {
    ...(input.image !== undefined ? { image: input.image.trim() } : {}),
    k3sArgs: k3sArgs.filter((a): a is string => a !== undefined),
    env: Object.fromEntries(env.flatMap((e) => (e ? [[e.key, e.value]] : []))),
    mounts: volumes.flatMap((v) => (v ? [toMount(v)] : [])),
  };
}

async function planJoinOwn(
  runtime: Runtime,
  cluster: string,
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
  signal: AbortSignal,
): Promise<NewNode[]> {
  const ref = await loadCluster(runtime, cluster, signal);
  if (ref.servers.length === 0 && ref.containers.some((c) => c.labels[LABEL.joinUrl] !== undefined)) {
    throw new UsageError(
      `"${cluster}" is a group of nodes that joined another cluster by URL: join that cluster by its URL again`,
    );
  }
  checkReplicas(replicas, ref.servers.length + ref.agents.length);
  return planNewNodes(cluster, ref.containers, role, replicas, extras);
}

async function planJoin(
  runtime: Runtime,
  onEvent: EventSink,
  input: NodeCreateInput,
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
  signal: AbortSignal,
): Promise<{ group: string; own?: undefined; nodes: NewNode[] }> {
  const group = input.name as string;
  const existing = await runtime.listContainers(clusterSelector(group), signal);
  if (existing.some((c) => c.labels[LABEL.joinUrl] === undefined)) {
    throw new UsageError(`"${group}" is a k3box cluster: add nodes to it with --cluster ${group}`);
  }
  checkReplicas(replicas, existing.length);
  const network = input.network ?? "bridge";
  if (!(await runtime.inspectNetwork(network, signal))) throw new NotFoundError(`network "${network}" not found`);
  const image = extras.image ?? DEFAULT_K3S_IMAGE;
  await ensureImage(runtime, image, onEvent, signal);
  const adaptations = await adaptationsFor(runtime, image, [], signal);
  for (const a of adaptations) onEvent({ type: "note", message: a.note });
  const nodes = planJoinNodes(
    group,
    {
      url: input.cluster.replace(/\/$/, ""),
      token: input.token as string,
      role,
      replicas,
      image,
      network,
      version: VERSION,
      existing: existing.map((c) => ({ role: roleOf(c), index: Number(c.labels[LABEL.index] ?? 0) })),
      nodeEntrypoint: await loadNodeEntrypoint(),
      adaptations,
    },
    extras,
  );
  return { group, nodes };
}

/** The files k3box put into each new node's peer before its first start, read back from it once. */
async function readFiles(runtime: Runtime, nodes: readonly NewNode[], signal: AbortSignal): Promise<ReadyNode[]> {
  const read = new Map<string, Promise<FileEntry[]>>();
  return Promise.all(
    nodes.map(async (n) => {
      const files = n.files;
      if ("entries" in files) return { ...n, files: files.entries };
      const key = `${files.from}\0${files.paths.join("\0")}`;
      if (!read.has(key)) read.set(key, Promise.all(files.paths.map((p) => runtime.readFileEntry(files.from, p, signal))));
      return { ...n, files: await (read.get(key) as Promise<FileEntry[]>) };
    }),
  );
}

/** Finds k3box nodes by container name; every name must exist before anything is done. */
async function findNodes(runtime: Runtime, names: readonly string[], signal?: AbortSignal): Promise<ContainerInfo[]> {
  if (names.length === 0) throw new UsageError("name at least one node");
  const found = await Promise.all(names.map((n) => runtime.inspectContainer(n, signal)));
  return names.map((n, i) => {
    const c = found[i];
    if (c?.labels[LABEL.managed] !== "true" || c.labels[LABEL.cluster] === undefined) {
      throw new NotFoundError(`node "${n}" not found (k3box node list shows the nodes)`);
    }
    return c;
  });
}

/**
 * Deletes nodes: out of the load balancer first, then (best effort) the Node object from the API,
 * then the container and its data volume. The last server of a cluster is never deleted.
 */
export function deleteNodes(names: readonly string[], options: OperationOptions = {}): Promise<string[]> {
  // What is removed cannot come back; a failed delete is run again, not undone.
  return runOperation("deleting nodes", { ...options, rollback: false }, async (op) => {
    const { runtime, signal } = op;
    const nodes = await findNodes(runtime, names, signal);
    const gone = new Set(nodes.map((n) => n.name));
    for (const n of nodes) {
      if (roleOf(n) === "loadbalancer") {
        throw new UsageError(
          `"${n.name}" is the load balancer of cluster "${n.labels[LABEL.cluster]}", not a node to delete: use k3box cluster delete`,
        );
      }
      if (n.spec.ports?.some((p) => p.containerPort === K3S_API_PORT)) {
        throw new UsageError(
          `refusing to delete "${n.name}": it publishes the API of cluster "${n.labels[LABEL.cluster]}" (created without a load balancer), and the kubeconfig points at it. Delete the whole cluster with: k3box cluster delete ${n.labels[LABEL.cluster]}`,
        );
      }
    }
    const clusters = [...new Set(nodes.map((n) => n.labels[LABEL.cluster] as string))];
    const refs = await Promise.all(clusters.map((c) => loadCluster(runtime, c, signal)));
    for (const ref of refs) {
      const left = ref.servers.filter((s) => !gone.has(s.name));
      // Nodes joined by URL belong to a cluster elsewhere: their group may go away whole.
      const joined = ref.servers.every((s) => s.labels[LABEL.joinUrl] !== undefined);
      if (ref.servers.length > 0 && left.length === 0 && !joined) {
        throw new UsageError(
          `refusing to delete the last server of cluster "${ref.name}": a cluster needs one. Delete the whole cluster with: k3box cluster delete ${ref.name}`,
        );
      }
    }
    const plan = refs.map((ref) => {
      const mine = nodes.filter((n) => n.labels[LABEL.cluster] === ref.name).map((n) => n.name);
      return sequence([
        { type: "update-loadbalancer", cluster: ref.name, exclude: mine },
        { type: "remove-node-objects", cluster: ref.name, nodes: mine },
        ...mine.flatMap<Action>((n) => [
          { type: "remove-container", container: n },
          { type: "remove-volume", volume: nodeVolumeName(n) },
        ]),
      ]);
    });
    await execute(sequence(plan), op);
    return nodes.map((n) => n.name);
  });
}

/** Starts stopped nodes and waits for them; the load balancer then takes them back (and re-resolves every node). */
export function startNodes(
  names: readonly string[],
  options: OperationOptions & { wait?: boolean; timeout?: string | number } = {},
): Promise<string[]> {
  const timeoutMs = toTimeoutMs(options.timeout);
  const frame = { ...options, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  return runOperation("starting nodes", frame, async (op) => {
    const { runtime, signal } = op;
    const nodes = await findNodes(runtime, names, signal);
    const wait = options.wait ?? true;
    const k3s = nodes.filter((n) => roleOf(n) !== "loadbalancer");
    const clusters = [...new Set(k3s.map((n) => n.labels[LABEL.cluster] as string))];
    for (const cluster of clusters) {
      // An agent waits for a server forever: with none running or starting, say so instead.
      const starting = new Set(k3s.map((n) => n.name));
      const servers = (await runtime.listContainers(clusterSelector(cluster), signal)).filter((c) => roleOf(c) === "server");
      if (servers.length > 0 && !servers.some((s) => s.running || starting.has(s.name))) {
        throw new ConflictError(
          `cluster "${cluster}" has no running server for the nodes to join: start it with k3box cluster start ${cluster}`,
        );
      }
    }
    const lbs = nodes.filter((n) => roleOf(n) === "loadbalancer");
    await execute(
      sequence([
        // The same order and waits as cluster start, so stopped etcd members come back together.
        ...clusters.map((cluster) => planStart(k3s.filter((n) => n.labels[LABEL.cluster] === cluster).map(toNodeState), wait)),
        ...lbs.map((lb) =>
          sequence([
            { type: "update-loadbalancer", cluster: lb.labels[LABEL.cluster] as string },
            ...(lb.running
              ? []
              : [{ type: "start" as const, container: lb.name, ...(wait ? { milestone: "loadbalancer" as const } : {}) }]),
          ]),
        ),
        ...clusters.map<Action>((cluster) => ({ type: "update-loadbalancer", cluster })),
      ]),
      op,
    );
    return nodes.map((n) => n.name);
  });
}

/** Takes nodes out of the load balancer, then stops them. */
export function stopNodes(
  names: readonly string[],
  options: OperationOptions & { stopTimeoutSeconds?: number } = {},
): Promise<string[]> {
  return runOperation("stopping nodes", options, async (op) => {
    const timeoutSeconds = checkStopTimeout(options.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS);
    const nodes = await findNodes(op.runtime, names, op.signal);
    const stopping = nodes.map((n) => n.name);
    const clusters = [
      ...new Set(nodes.filter((n) => roleOf(n) !== "loadbalancer").map((n) => n.labels[LABEL.cluster] as string)),
    ];
    await execute(
      sequence([
        ...clusters.map<Action>((cluster) => ({ type: "update-loadbalancer", cluster, exclude: stopping })),
        ...stopping.map<Action>((container) => ({ type: "stop", container, timeoutSeconds })),
      ]),
      op,
    );
    return stopping;
  });
}

export function listNodes(options: OperationOptions & { cluster?: string } = {}): Promise<NodeInfo[]> {
  const selector = options.cluster === undefined ? MANAGED_SELECTOR : clusterSelector(validateClusterName(options.cluster));
  return runOperation("listing nodes", options, async ({ runtime, signal }) => {
    const containers = await runtime.listContainers(selector, signal);
    if (options.cluster !== undefined && containers.length === 0) {
      throw new NotFoundError(`cluster "${options.cluster}" not found`);
    }
    const byCluster = new Map<string, ContainerInfo[]>();
    for (const c of containers) {
      const name = c.labels[LABEL.cluster];
      if (name !== undefined) byCluster.set(name, [...(byCluster.get(name) ?? []), c]);
    }
    return [...byCluster.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([cluster, cs]) => clusterStatus(cluster, cs).nodes.map((n) => ({ cluster, ...n })));
  });
}

export function getNode(name: string, options: OperationOptions = {}): Promise<NodeInfo> {
  return runOperation(`reading node "${name}"`, options, async ({ runtime, signal }) => {
    const [node] = await findNodes(runtime, [name], signal);
    const cluster = (node as ContainerInfo).labels[LABEL.cluster] as string;
    const status = clusterStatus(cluster, [node as ContainerInfo]).nodes[0] as NodeStatus;
    return { cluster, ...status };
  });
}
