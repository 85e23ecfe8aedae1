/** Adding, removing, starting, stopping and listing the nodes of clusters. */
import type { ContainerInfo, FileEntry, Runtime } from "../../runtime/types.js";
import { ConflictError, NotFoundError, UsageError } from "../../base/errors.js";
import { DEFAULT_K3S_IMAGE, K3S_API_PORT } from "../cluster-spec/defaults.js";
import { toTimeoutMs } from "../cluster-spec/duration.js";
import { parseEnvVar, parseK3sArg, parseNodeLabel } from "../cluster-spec/env.js";
import { parseMemory, parseRuntimeLabel, parseUlimit } from "../cluster-spec/runtime.js";
import type { NodeRole } from "../cluster-spec/types.js";
import { validateClusterName, validateImage, validateNetworkName } from "../cluster-spec/validate.js";
import { parseVolumeMount } from "../cluster-spec/volumes.js";
import { loadCluster, toNodeState } from "../cluster-ref.js";
import { clusterStatus, type NodeStatus } from "../cluster-status.js";
import { isManaged, type Dialect } from "../dialect.js";
import { execute } from "../executor.js";
import { adaptationsFor } from "../host/facts.js";
import { ensureImage } from "../images/ensure.js";
import { clusterSelector, roleOf } from "../labels.js";
import { nodeVolumeName } from "../naming.js";
import { loadNodeEntrypoint } from "../node/entrypoint.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";
import { findElsewhere, type NodeElsewhere } from "../engine-links.js";
import { clusterStatuses } from "./list.js";
import { addNodesElsewhere, otherEngine } from "./nodes-elsewhere.js";
import { sequence, type Action } from "../plan/actions.js";
import { planStart } from "../plan/lifecycle.js";
import { toMount } from "../plan/node-container.js";
import { planJoinNodes, planNewNodes, planNodeCreate, type NewNode, type NodeExtras, type ReadyNode } from "../plan/nodes.js";
import { DEFAULT_READY_LEVEL, type ReadyLevel } from "../readiness/levels.js";
import { checkReplicas, checkStopTimeout } from "../limits.js";
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
  /**
   * Names the new nodes: PREFIX-NAME-N in a cluster k3box made (as k3d names them), else by role and
   * index; joining by URL, PREFIX-NAME-ROLE-N (and NAME is needed).
   */
  readonly name?: string;
  /** A Docker memory size (`1g`) for the new nodes, which they also see as their total memory. */
  readonly memory?: string;
  /** `KEY=VALUE`: labels of the new containers. */
  readonly runtimeLabels?: readonly string[];
  /** `NAME=SOFT:HARD`. */
  readonly runtimeUlimits?: readonly string[];
  /** `KEY=VALUE`: Kubernetes labels of the new nodes (k3s `--node-label`). */
  readonly nodeLabels?: readonly string[];
  /** Joining by URL: the Docker network for the new nodes (default `bridge`). */
  readonly network?: string;
  /**
   * The engine the new nodes go on, when not the cluster's own (an address or a Docker context's
   * name). They join through the cluster's API as published, which must be an address that
   * engine's host reaches; the cluster keeps a record of the engine, so that its start, stop,
   * list and delete reach them there.
   */
  readonly engine?: string;
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
    const away = input.engine !== undefined ? await otherEngine(op, input.engine) : undefined;
    if (away !== undefined) {
      const wait = { wait: input.wait ?? true, level: input.waitFor ?? DEFAULT_READY_LEVEL };
      const nodes = await addNodesElsewhere(op, away, input.cluster, { role, replicas, extras, ...wait });
      return { cluster: input.cluster, nodes };
    }
    const { runtime, signal } = op;
    const { group, own, nodes } = byUrl
      ? await planJoin(op, input, role, replicas, extras)
      : {
          group: input.cluster,
          own: input.cluster,
          nodes: await planJoinOwn(op, input.cluster, role, replicas, extras),
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
  const nodeLabels = (input.nodeLabels ?? []).map((r) =>
    noFilter(
      attempt(() => parseNodeLabel(r)),
      "k3s-node-label",
    ),
  );
  const runtimeLabels = (input.runtimeLabels ?? []).map((r) =>
    noFilter(
      attempt(() => parseRuntimeLabel(r)),
      "runtime-label",
    ),
  );
  const ulimits = (input.runtimeUlimits ?? []).map((r) => attempt(() => parseUlimit(r)));
  const memoryBytes = input.memory === undefined ? undefined : attempt(() => parseMemory(input.memory as string, "memory"));
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
      problems.push("--token is only for joining a cluster by its URL; the cluster's own token is known");
    if (input.network !== undefined)
      problems.push("--network is only for joining a cluster by its URL; new nodes join the cluster's network");
  }
  if (input.engine !== undefined && byUrl) {
    problems.push(
      "a node joining by URL goes on the engine k3box uses (--engine before the command): leave out the node's engine",
    );
  }
  if (input.engine !== undefined && !byUrl && input.name !== undefined) {
    problems.push(
      `a NAME ("${input.name}") does not apply to nodes on another engine: they are named after the cluster and numbered across its engines, so their Kubernetes names stay unique`,
    );
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  const defined = <T>(items: readonly (T | undefined)[]): T[] => items.filter((i): i is T => i !== undefined);
  return {
    ...(input.image !== undefined ? { image: input.image.trim() } : {}),
    k3sArgs: [...defined(k3sArgs), ...defined(nodeLabels).map((l) => l.arg)],
    env: Object.fromEntries(env.flatMap((e) => (e?.value !== undefined ? [[e.key, e.value]] : []))),
    mounts: volumes.flatMap((v) => (v ? [toMount(v)] : [])),
    ...(!byUrl && input.name !== undefined ? { name: input.name } : {}),
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
    ...(runtimeLabels.length > 0
      ? { runtimeLabels: Object.fromEntries(defined(runtimeLabels).map((l) => [l.key, l.value])) }
      : {}),
    ...(ulimits.length > 0 ? { ulimits: defined(ulimits) } : {}),
  };
}

async function planJoinOwn(
  op: Operation,
  cluster: string,
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
): Promise<NewNode[]> {
  const keys = op.dialect.labels;
  const ref = await loadCluster(op, cluster);
  if (ref.servers.length === 0 && ref.containers.some((c) => c.labels[keys.joinUrl] !== undefined)) {
    throw new UsageError(
      `"${cluster}" is a group of nodes that joined another cluster by URL: join that cluster by its URL again`,
    );
  }
  checkReplicas(replicas, ref.servers.length + ref.agents.length);
  return planNewNodes(cluster, ref.containers, role, replicas, extras, op.dialect);
}

async function planJoin(
  op: Operation,
  input: NodeCreateInput,
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
): Promise<{ group: string; own?: undefined; nodes: NewNode[] }> {
  const { runtime, signal, dialect, onEvent } = op;
  const keys = dialect.labels;
  const group = input.name as string;
  const existing = await runtime.listContainers(clusterSelector(dialect, group), signal);
  if (existing.some((c) => c.labels[keys.joinUrl] === undefined)) {
    throw new UsageError(`"${group}" is a cluster of its own: add nodes to it with --cluster ${group}`);
  }
  checkReplicas(replicas, existing.length);
  const network = input.network ?? "bridge";
  if (!(await runtime.inspectNetwork(network, signal))) throw new NotFoundError(`network "${network}" not found`);
  const image = extras.image ?? DEFAULT_K3S_IMAGE;
  await ensureImage(runtime, image, onEvent, signal);
  const adaptations = await adaptationsFor(runtime, image, [], signal, op.undo);
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
      version: dialect.versionValue,
      existing: existing.map((c) => ({ role: roleOf(dialect, c), index: Number(c.labels[keys.index] ?? 0) })),
      nodeEntrypoint: await loadNodeEntrypoint(),
      adaptations,
      dialect,
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
      if (!("from" in files)) return { ...n, files: files.entries };
      const key = `${files.from}\0${files.paths.join("\0")}`;
      if (!read.has(key)) read.set(key, Promise.all(files.paths.map((p) => runtime.readFileEntry(files.from, p, signal))));
      return { ...n, files: [...(await (read.get(key) as Promise<FileEntry[]>)), ...(files.entries ?? [])] };
    }),
  );
}

/**
 * Finds nodes by container name, on this engine or, for the nodes of its clusters on other
 * engines, there (`away`); every name must exist before anything is done.
 */
async function findNodes(
  op: Operation,
  names: readonly string[],
): Promise<{ nodes: ContainerInfo[]; away: Map<string, NodeElsewhere> }> {
  const { runtime, signal, dialect } = op;
  if (names.length === 0) throw new UsageError("name at least one node");
  const here = await Promise.all(names.map((n) => runtime.inspectContainer(n, signal)));
  const isNode = (c: ContainerInfo | undefined): c is ContainerInfo =>
    c !== undefined && isManaged(dialect, c.labels) && c.labels[dialect.labels.cluster] !== undefined;
  const { found: away, unreachable } = await findElsewhere(
    op,
    names.filter((_, i) => !isNode(here[i])),
  );
  const nodes = names.map((n, i) => {
    const c = isNode(here[i]) ? here[i] : away.get(n)?.container;
    if (c === undefined) {
      const notLooked = unreachable.length > 0 ? `; engines that did not answer: ${unreachable.join(", ")}` : "";
      throw new NotFoundError(`node "${n}" not found (${dialect.prefix} node list shows the nodes${notLooked})`);
    }
    if (roleOf(dialect, c) === "datastore") {
      const cluster = clusterOf(dialect, c);
      throw new UsageError(
        `"${n}" is the datastore of cluster "${cluster}", not a node: ${dialect.prefix} cluster start|stop|delete ${cluster} take care of it`,
      );
    }
    return c;
  });
  return { nodes, away };
}

const clusterOf = (d: Dialect, c: ContainerInfo): string => c.labels[d.labels.cluster] as string;

/**
 * Deletes nodes: out of the load balancer first, then (best effort) the Node object from the API,
 * then the container and its data volume. The last server of a cluster is never deleted.
 */
export function deleteNodes(names: readonly string[], options: OperationOptions = {}): Promise<string[]> {
  // What is removed cannot come back; a failed delete is run again, not undone.
  return runOperation("deleting nodes", { ...options, rollback: false }, async (op) => {
    const { dialect: d } = op;
    const { nodes, away } = await findNodes(op, names);
    const gone = new Set(nodes.map((n) => n.name));
    for (const n of nodes) {
      if (roleOf(d, n) === "loadbalancer") {
        throw new UsageError(
          `"${n.name}" is the load balancer of cluster "${clusterOf(d, n)}", not a node to delete: use ${d.prefix} cluster delete`,
        );
      }
      if (n.spec.ports?.some((p) => p.containerPort === K3S_API_PORT)) {
        throw new UsageError(
          `refusing to delete "${n.name}": it publishes the API of cluster "${clusterOf(d, n)}" (created without a load balancer), and the kubeconfig points at it. Delete the whole cluster with: ${d.prefix} cluster delete ${clusterOf(d, n)}`,
        );
      }
    }
    const clusters = [...new Set(nodes.map((n) => clusterOf(d, n)))];
    const refs = await Promise.all(clusters.map((c) => loadCluster(op, c)));
    for (const ref of refs) {
      const left = ref.servers.filter((s) => !gone.has(s.name));
      // Nodes joined by URL belong to a cluster elsewhere: their group may go away whole.
      const joined = ref.servers.every((s) => s.labels[d.labels.joinUrl] !== undefined);
      if (ref.servers.length > 0 && left.length === 0 && !joined) {
        throw new UsageError(
          `refusing to delete the last server of cluster "${ref.name}": a cluster needs one. Delete the whole cluster with: ${d.prefix} cluster delete ${ref.name}`,
        );
      }
    }
    const removal = (n: string): Action[] => [
      { type: "remove-container", container: n },
      { type: "remove-volume", volume: nodeVolumeName(n) },
    ];
    const plan = refs.map((ref) => {
      const mine = nodes.filter((n) => clusterOf(d, n) === ref.name).map((n) => n.name);
      return sequence([
        { type: "update-loadbalancer", cluster: ref.name, exclude: mine },
        // Through the cluster's API, for its nodes on every engine.
        { type: "remove-node-objects", cluster: ref.name, nodes: mine },
        ...mine.filter((n) => !away.has(n)).flatMap(removal),
      ]);
    });
    await execute(sequence(plan), op);
    for (const [n, there] of away) await execute(sequence(removal(n)), there.op);
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
    const { runtime, signal, dialect: d } = op;
    const { nodes, away } = await findNodes(op, names);
    const wait = options.wait ?? true;
    const k3s = nodes.filter((n) => roleOf(d, n) !== "loadbalancer");
    const k3sHere = k3s.filter((n) => !away.has(n.name));
    const clusters = [...new Set(k3s.map((n) => clusterOf(d, n)))];
    for (const cluster of clusters) {
      // An agent waits for a server forever: with none running or starting, say so instead.
      const starting = new Set(k3s.map((n) => n.name));
      const members = await runtime.listContainers(clusterSelector(d, cluster), signal);
      const servers = members.filter((c) => roleOf(d, c) === "server");
      if (servers.length > 0 && !servers.some((s) => s.running || starting.has(s.name))) {
        throw new ConflictError(
          `cluster "${cluster}" has no running server for the nodes to join: start it with ${d.prefix} cluster start ${cluster}`,
        );
      }
      // Servers would wait for their database forever (or, on MySQL, give up at once).
      const db = members.find((c) => roleOf(d, c) === "datastore");
      if (db && !db.running) {
        throw new ConflictError(
          `the datastore ${db.name} of cluster "${cluster}" is not running: start the cluster with ${d.prefix} cluster start ${cluster}`,
        );
      }
    }
    const lbs = nodes.filter((n) => roleOf(d, n) === "loadbalancer");
    await execute(
      sequence([
        // The same order and waits as cluster start, so stopped etcd members come back together.
        ...clusters.map((cluster) =>
          planStart(
            k3sHere.filter((n) => clusterOf(d, n) === cluster).map((n) => toNodeState(d, n)),
            wait,
          ),
        ),
        ...lbs.map((lb) =>
          sequence([
            { type: "update-loadbalancer", cluster: clusterOf(d, lb) },
            ...(lb.running
              ? []
              : [{ type: "start" as const, container: lb.name, ...(wait ? { milestone: "loadbalancer" as const } : {}) }]),
          ]),
        ),
        ...clusters.map<Action>((cluster) => ({ type: "update-loadbalancer", cluster })),
      ]),
      op,
    );
    // Nodes on other engines join the servers, which run by now.
    for (const there of away.values()) await execute(planStart([toNodeState(d, there.container)], wait), there.op);
    return nodes.map((n) => n.name);
  });
}

/** Takes nodes out of the load balancer, then stops them; a failure or cancellation starts them again and puts them back. */
export function stopNodes(
  names: readonly string[],
  options: OperationOptions & { stopTimeoutSeconds?: number } = {},
): Promise<string[]> {
  return runOperation("stopping nodes", options, async (op) => {
    const d = op.dialect;
    const timeoutSeconds = checkStopTimeout(options.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS);
    const { nodes, away } = await findNodes(op, names);
    const stopping = nodes.map((n) => n.name);
    const clusters = [...new Set(nodes.filter((n) => roleOf(d, n) !== "loadbalancer").map((n) => clusterOf(d, n)))];
    const stop = (container: string): Action => ({ type: "stop", container, timeoutSeconds, reversible: true });
    await execute(
      sequence([
        ...clusters.map<Action>((cluster) => ({ type: "update-loadbalancer", cluster, exclude: stopping })),
        // Undone, they run again: the load balancer's previous config, put back, names them.
        ...stopping.filter((n) => !away.has(n)).map(stop),
      ]),
      op,
    );
    for (const [n, there] of away) await execute(stop(n), there.op);
    return stopping;
  });
}

export function listNodes(options: OperationOptions & { cluster?: string } = {}): Promise<NodeInfo[]> {
  if (options.cluster !== undefined) validateClusterName(options.cluster);
  return runOperation("listing nodes", options, async (op) => {
    const clusters = (await clusterStatuses(op)).filter((c) => options.cluster === undefined || c.name === options.cluster);
    if (options.cluster !== undefined && clusters.length === 0) {
      throw new NotFoundError(`cluster "${options.cluster}" not found`);
    }
    return clusters.flatMap((c) => c.nodes.map((n) => ({ cluster: c.name, ...n })));
  });
}

export function getNode(name: string, options: OperationOptions = {}): Promise<NodeInfo> {
  return runOperation(`reading node "${name}"`, options, async (op) => {
    const { nodes, away } = await findNodes(op, [name]);
    const node = nodes[0] as ContainerInfo;
    const cluster = clusterOf(op.dialect, node);
    const there = away.get(name);
    const status = (
      there === undefined
        ? clusterStatus(op.dialect, cluster, [node])
        : clusterStatus(op.dialect, cluster, [], { nodes: [{ engine: there.endpoint, containers: [node] }], unreachable: [] })
    ).nodes[0] as NodeStatus;
    return { cluster, ...status };
  });
}
