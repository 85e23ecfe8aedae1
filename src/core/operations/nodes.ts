/** Adding, removing, starting, stopping and listing the nodes of clusters. */
import type { ContainerInfo, FileEntry, Runtime } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { ConflictError, NotFoundError, UsageError } from "../errors.js";
import { step, type EventSink } from "../events.js";
import { LABEL, MANAGED_SELECTOR, clusterSelector, roleOf } from "../labels.js";
import { applyLoadBalancerConfig, loadBalancerConfig } from "../loadbalancer/update.js";
import { toMount, type Action } from "../plan/create.js";
import { nodeVolumeName } from "../plan/names.js";
import { planJoinNodes, planNewNodes, type NewNode, type NodeExtras } from "../plan/node.js";
import { DEFAULT_K3S_IMAGE, K3S_API_PORT } from "../spec/defaults.js";
import { toTimeoutMs } from "../spec/duration.js";
import { parseEnvVar, parseK3sArg } from "../spec/env.js";
import { validateClusterName, validateImage, validateNetworkName } from "../spec/names.js";
import type { NodeRole } from "../spec/types.js";
import { parseVolumeMount } from "../spec/volumes.js";
import { UndoStack } from "../undo.js";
import { VERSION } from "../version.js";
import { apiRequest, waitForApi } from "../wait.js";
import { loadNodeEntrypoint } from "../node/entrypoint.js";
import { planStart } from "../plan/lifecycle.js";
import { clusterCredentials, loadCluster, toNodeState, type ClusterRef } from "./cluster-ref.js";
import { DEFAULT_STOP_TIMEOUT_SECONDS } from "./lifecycle.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { execute, normalise } from "./create.js";
import { rollback } from "./rollback.js";
import { clusterStatus, type NodeStatus } from "./state.js";

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
  const { runtime, onEvent } = resolveOptions(options);
  const role = input.role ?? "agent";
  const replicas = input.replicas ?? 1;
  const byUrl = input.cluster.startsWith("https://");
  const extras = parseExtras(input, role, replicas, byUrl);
  const timeoutMs = toTimeoutMs(input.timeout);
  const deadline = deadlineSignal(`creating nodes in "${input.cluster}"`, timeoutMs, options.signal);
  const signal = deadline.signal;
  const undo = new UndoStack();
  const wait = input.wait ?? true;
  try {
    const { group, ref, nodes } = byUrl
      ? await planJoin(runtime, input, role, replicas, extras, signal)
      : await planJoinOwn(runtime, input.cluster, role, replicas, extras, signal);
    const x = { runtime, onEvent, signal, undo };
    if (ref) {
      // Unwound last: once the containers are gone, a node that got as far as registering leaves no Node object.
      const names = nodes.map((n) => n.name);
      undo.push("remove the new Node objects", () => removeNodeObjects(runtime, ref, names, onEvent));
    }
    if (extras.image !== undefined || byUrl) {
      await execute({ type: "ensure-image", image: nodes[0]?.container.image as string }, x);
    }
    for (const n of nodes) {
      await execute({ type: "create-volume", volume: n.volume }, x);
      const files = await copyFiles(runtime, n, signal);
      await execute({ type: "create-container", container: n.container, files }, x);
    }
    const start = (n: NewNode): Action => ({
      type: "start",
      container: n.name,
      ...(wait ? { milestone: n.role === "server" ? ("server" as const) : ("agent" as const) } : {}),
    });
    await execute(
      {
        type: "sequence",
        actions: [
          // etcd admits one new member at a time.
          ...nodes.filter((n) => n.role === "server").map(start),
          { type: "parallel", actions: nodes.filter((n) => n.role === "agent").map(start) },
        ],
      },
      x,
    );
    if (ref) {
      await updateLoadBalancer(runtime, ref.name, undo, onEvent, signal);
      if (wait) {
        const creds = await step(onEvent, "kubeconfig", () => clusterCredentials(runtime, ref, signal));
        await step(onEvent, "wait-api", () => waitForApi(creds, signal));
      }
    }
    if (signal.aborted) throw signal.reason;
    undo.clear();
    return { cluster: group, nodes: nodes.map((n) => n.name) };
  } catch (err) {
    const error = normalise(err, signal);
    await rollback(undo, onEvent, error);
    throw error;
  } finally {
    deadline.dispose();
  }
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
  if (!Number.isInteger(replicas) || replicas < 1) problems.push(`invalid replicas "${replicas}": at least 1`);
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
): Promise<{ group: string; ref: ClusterRef; nodes: NewNode[] }> {
  const ref = await loadCluster(runtime, cluster, signal);
  if (ref.servers.length === 0 && ref.containers.some((c) => c.labels[LABEL.joinUrl] !== undefined)) {
    throw new UsageError(
      `"${cluster}" is a group of nodes that joined another cluster by URL: join that cluster by its URL again`,
    );
  }
  return { group: cluster, ref, nodes: planNewNodes(cluster, ref.containers, role, replicas, extras) };
}

async function planJoin(
  runtime: Runtime,
  input: NodeCreateInput,
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
  signal: AbortSignal,
): Promise<{ group: string; ref?: undefined; nodes: NewNode[] }> {
  const group = input.name as string;
  const existing = await runtime.listContainers(clusterSelector(group), signal);
  if (existing.some((c) => c.labels[LABEL.joinUrl] === undefined)) {
    throw new UsageError(`"${group}" is a k3box cluster: add nodes to it with --cluster ${group}`);
  }
  const network = input.network ?? "bridge";
  if (!(await runtime.inspectNetwork(network, signal))) throw new NotFoundError(`network "${network}" not found`);
  const nodes = planJoinNodes(
    group,
    {
      url: input.cluster.replace(/\/$/, ""),
      token: input.token as string,
      role,
      replicas,
      image: extras.image ?? DEFAULT_K3S_IMAGE,
      network,
      version: VERSION,
      existing: existing.map((c) => ({ role: roleOf(c), index: Number(c.labels[LABEL.index] ?? 0) })),
      nodeEntrypoint: await loadNodeEntrypoint(),
    },
    extras,
  );
  return { group, nodes };
}

/** The files k3box put into the peer before its first start, read back from it. */
async function copyFiles(runtime: Runtime, n: NewNode, signal: AbortSignal): Promise<readonly FileEntry[]> {
  const files = n.files;
  if ("entries" in files) return files.entries;
  return Promise.all(files.paths.map((p) => runtime.readFileEntry(files.from, p, signal)));
}

/** Renders the config for the cluster's nodes as they are now and applies it in place; its undo goes on the stack. */
async function updateLoadBalancer(
  runtime: Runtime,
  cluster: string,
  undo: UndoStack | undefined,
  onEvent: EventSink,
  signal?: AbortSignal,
  exclude: ReadonlySet<string> = new Set(),
): Promise<void> {
  const containers = await runtime.listContainers(clusterSelector(cluster), signal);
  const lb = containers.find((c) => roleOf(c) === "loadbalancer");
  if (!lb) return;
  const nodes = containers.map((c) => (exclude.has(c.name) ? { ...c, running: false } : c));
  const restore = await step(
    onEvent,
    "update-loadbalancer",
    () => applyLoadBalancerConfig(runtime, lb.name, loadBalancerConfig(lb, nodes), signal),
    lb.name,
  );
  undo?.push(`restore the config of ${lb.name}`, restore);
}

/** Finds k3box nodes by container name; every name must exist before anything is done. */
async function findNodes(runtime: Runtime, names: readonly string[], signal?: AbortSignal): Promise<ContainerInfo[]> {
  if (names.length === 0) throw new UsageError("name at least one node");
  const found = await Promise.all(names.map((n) => runtime.inspectContainer(n, signal)));
  return names.map((n, i) => {
    const c = found[i];
    if (!c || c.labels[LABEL.managed] !== "true" || c.labels[LABEL.cluster] === undefined) {
      throw new NotFoundError(`node "${n}" not found (k3box node list shows the nodes)`);
    }
    return c;
  });
}

/**
 * Deletes nodes: out of the load balancer first, then (best effort) the Node object from the API,
 * then the container and its data volume. The last server of a cluster is never deleted.
 */
export async function deleteNodes(names: readonly string[], options: OperationOptions = {}): Promise<string[]> {
  const { runtime, onEvent } = resolveOptions(options);
  const signal = options.signal;
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
  for (const ref of refs) {
    const mine = nodes.filter((n) => n.labels[LABEL.cluster] === ref.name);
    await updateLoadBalancer(runtime, ref.name, undefined, onEvent, signal, gone);
    await step(onEvent, "remove-node-object", () =>
      removeNodeObjects(
        runtime,
        ref,
        mine.map((n) => n.name),
        onEvent,
        signal,
      ),
    );
    for (const n of mine) {
      await step(
        onEvent,
        "remove-node",
        async () => {
          await runtime.removeContainer(n.name, signal);
          await runtime.removeVolume(nodeVolumeName(n.name), signal);
        },
        n.name,
      );
    }
  }
  return nodes.map((n) => n.name);
}

/** `kubectl delete node`, as far as the API can be reached in a few seconds; k3s then drops an etcd member too. */
async function removeNodeObjects(
  runtime: Runtime,
  ref: ClusterRef,
  names: readonly string[],
  onEvent: EventSink,
  signal?: AbortSignal,
): Promise<void> {
  const reachable = ref.servers.some((s) => s.running) && ref.server.split(":").at(-1) !== "";
  if (!reachable) return;
  const limit = AbortSignal.any([AbortSignal.timeout(15_000), ...(signal ? [signal] : [])]);
  try {
    const creds = await clusterCredentials(runtime, ref, limit);
    for (const name of names) {
      // The Node, and its password: a node that registered its password but not yet its Node
      // (a create cut short) would otherwise keep the name from ever joining again.
      const objects = [
        { what: `Node ${name}`, path: `/api/v1/nodes/${encodeURIComponent(name)}` },
        {
          what: `the node password of ${name}`,
          path: `/api/v1/namespaces/kube-system/secrets/${encodeURIComponent(`${name}.node-password.k3s`)}`,
        },
      ];
      for (const o of objects) {
        const res = await apiRequest(creds, "DELETE", o.path, limit);
        if (res.status >= 300 && res.status !== 404) {
          onEvent({ type: "warning", message: `the API refused to delete ${o.what}: HTTP ${res.status}` });
        }
      }
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    onEvent({ type: "warning", message: `could not remove the Node objects from the API: ${(err as Error).message}` });
  }
}

/** Starts stopped nodes and waits for them; the load balancer then takes them back (and re-resolves every node). */
export async function startNodes(
  names: readonly string[],
  options: OperationOptions & { wait?: boolean; timeout?: string | number } = {},
): Promise<string[]> {
  const { runtime, onEvent } = resolveOptions(options);
  const timeoutMs = toTimeoutMs(options.timeout);
  const deadline = deadlineSignal("starting nodes", timeoutMs, options.signal);
  const signal = deadline.signal;
  try {
    const nodes = await findNodes(runtime, names, signal);
    const wait = options.wait ?? true;
    const x = { runtime, onEvent, signal, undo: new UndoStack() };
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
    // The same order and waits as cluster start, so stopped etcd members come back together.
    for (const cluster of clusters) {
      const states = k3s.filter((n) => n.labels[LABEL.cluster] === cluster).map(toNodeState);
      await execute(planStart(states, wait), x);
    }
    for (const lb of nodes.filter((n) => roleOf(n) === "loadbalancer")) {
      const containers = await runtime.listContainers(clusterSelector(lb.labels[LABEL.cluster] as string), signal);
      await applyLoadBalancerConfig(runtime, lb.name, loadBalancerConfig(lb, containers), signal);
      if (!lb.running)
        await execute({ type: "start", container: lb.name, ...(wait ? { milestone: "loadbalancer" as const } : {}) }, x);
    }
    for (const cluster of clusters) await updateLoadBalancer(runtime, cluster, undefined, onEvent, signal);
    return nodes.map((n) => n.name);
  } catch (err) {
    throw normalise(err, signal);
  } finally {
    deadline.dispose();
  }
}

/** Takes nodes out of the load balancer, then stops them. */
export async function stopNodes(
  names: readonly string[],
  options: OperationOptions & { stopTimeoutSeconds?: number } = {},
): Promise<string[]> {
  const { runtime, onEvent } = resolveOptions(options);
  const signal = options.signal;
  const nodes = await findNodes(runtime, names, signal);
  const stopping = new Set(nodes.map((n) => n.name));
  for (const cluster of new Set(
    nodes.filter((n) => roleOf(n) !== "loadbalancer").map((n) => n.labels[LABEL.cluster] as string),
  )) {
    await updateLoadBalancer(runtime, cluster, undefined, onEvent, signal, stopping);
  }
  const x = { runtime, onEvent, signal: signal ?? new AbortController().signal, undo: new UndoStack() };
  for (const n of nodes) {
    await execute(
      { type: "stop", container: n.name, timeoutSeconds: options.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS },
      x,
    );
  }
  return nodes.map((n) => n.name);
}

export async function listNodes(options: OperationOptions & { cluster?: string } = {}): Promise<NodeInfo[]> {
  const { runtime } = resolveOptions(options);
  const selector = options.cluster === undefined ? MANAGED_SELECTOR : clusterSelector(validateClusterName(options.cluster));
  const containers = await runtime.listContainers(selector, options.signal);
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
}

export async function getNode(name: string, options: OperationOptions = {}): Promise<NodeInfo> {
  const { runtime } = resolveOptions(options);
  const [node] = await findNodes(runtime, [name], options.signal);
  const cluster = (node as ContainerInfo).labels[LABEL.cluster] as string;
  const status = clusterStatus(cluster, [node as ContainerInfo]).nodes[0] as NodeStatus;
  return { cluster, ...status };
}
