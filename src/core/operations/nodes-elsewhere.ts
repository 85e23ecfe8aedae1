/**
 * Nodes of a k3box cluster on another engine than the cluster's own: agents that join through the
 * cluster's API as published, recorded on the cluster's engine so that its start, stop, list and
 * delete reach them (core/engine-links.ts).
 */
import { ConflictError, UsageError } from "../../base/errors.js";
import type { NodeRole } from "../cluster-spec/types.js";
import { loadCluster } from "../cluster-ref.js";
import { awaySelector, engineLink, linkedEngines } from "../engine-links.js";
import { execute } from "../executor.js";
import { adaptationsFor } from "../host/facts.js";
import { ensureImage } from "../images/ensure.js";
import { indexOf, roleOf } from "../labels.js";
import { checkReplicas } from "../limits.js";
import { loadNodeEntrypoint } from "../node/entrypoint.js";
import type { Operation } from "../operation.js";
import { planJoinNodes, planNodeCreate, type NewNode, type NodeExtras } from "../plan/nodes.js";
import type { ReadyLevel } from "../readiness/levels.js";

export interface ElsewhereNodes {
  readonly role: NodeRole;
  readonly replicas: number;
  readonly extras: NodeExtras;
  readonly wait: boolean;
  readonly level: ReadyLevel;
}

/** The operation on the engine named for new nodes, when that is another engine than the cluster's. */
export async function otherEngine(op: Operation, name: string): Promise<Operation | undefined> {
  const there = op.on(op.openEngine(name));
  const [home, away] = await Promise.all([op.runtime.info(op.signal), there.runtime.info(op.signal)]);
  return home.id === away.id ? undefined : there;
}

/** Addresses a container on another host cannot reach this host at: loopback, and "every address" itself. */
const LOOPBACK = /^(127\.|localhost$|\[::1\]$|0\.0\.0\.0$|\[::\]$)/;

/** Nodes on another engine join through the API's published address: one on loopback is out of their reach. */
export function checkApiReachableFrom(endpoint: string, cluster: string, apiHost: string): void {
  if (LOOPBACK.test(apiHost)) {
    throw new UsageError(
      `cluster "${cluster}" publishes its API on ${apiHost}, which nodes on ${endpoint} cannot reach: create it with --api-port ADDRESS:PORT (kubeAPI.hostIP) on an address of this host that ${endpoint}'s host reaches`,
    );
  }
}

/**
 * Agents of a k3box cluster on another engine: they join through the cluster's API as published
 * (another host cannot reach its internal network), with the servers' token, in that engine's
 * default network, numbered after every node the cluster has on any engine. The cluster's
 * engine records the other engine first, so a rollback removes the record with the nodes.
 */
async function joinFromElsewhere(
  op: Operation,
  away: Operation,
  cluster: string,
  role: NodeRole,
  replicas: number,
  extras: NodeExtras,
): Promise<NewNode[]> {
  const { runtime, signal, dialect: d, onEvent } = op;
  const keys = d.labels;
  const ref = await loadCluster(op, cluster);
  const endpoint = (await away.runtime.place()).endpoint;
  if (ref.servers.length === 0) {
    throw new UsageError(
      `"${cluster}" is a group of nodes that joined another cluster by URL: join that cluster by its URL again`,
    );
  }
  if (role === "server") {
    throw new UsageError(
      `servers of "${cluster}" stay on its own engine: embedded etcd and the load balancer reach servers on the cluster's network, which does not span engines. Add agents on ${endpoint}, or servers without --on-engine`,
    );
  }
  const url = new URL(ref.server);
  checkApiReachableFrom(endpoint, cluster, url.hostname);
  const server = ref.servers.find((s) => s.running);
  const token = server?.spec.env?.K3S_TOKEN;
  if (server === undefined || token === undefined) {
    throw new ConflictError(
      `cluster "${cluster}" has no running server to join: start it first (${d.prefix} cluster start ${cluster})`,
    );
  }
  const homeId = (await runtime.info(signal)).id;
  const theirs = await away.runtime.listContainers(awaySelector(d, cluster, homeId), signal);
  const elsewhere = (await linkedEngines(op, cluster)).flatMap((e) => e.containers);
  const all = [...ref.containers, ...theirs, ...elsewhere.filter((c) => !theirs.some((t) => t.name === c.name))];
  checkReplicas(replicas, all.length);
  const image = extras.image ?? server.labels[keys.image] ?? server.image;
  await ensureImage(away.runtime, image, onEvent, signal);
  const adaptations = await adaptationsFor(away.runtime, image, [], signal, op.undo);
  for (const a of adaptations) onEvent({ type: "note", message: `${endpoint}: ${a.note}` });
  const link = engineLink(d, cluster, endpoint);
  if ((await runtime.inspectVolume(link.name, signal)) === undefined) {
    await execute({ type: "create-volume", volume: link }, op);
  }
  return planJoinNodes(
    cluster,
    {
      url: url.origin,
      token,
      role,
      replicas,
      image,
      network: "bridge",
      version: d.versionValue,
      existing: all.map((c) => ({ role: roleOf(d, c), index: indexOf(d, c) })),
      nodeEntrypoint: await loadNodeEntrypoint(),
      adaptations,
      dialect: d,
      home: homeId,
    },
    extras,
  );
}

/**
 * Adds the nodes on the other engine (`away`, the same operation there), then waits, through the
 * cluster's API, for the cluster with them. Returns their names.
 */
export async function addNodesElsewhere(op: Operation, away: Operation, cluster: string, o: ElsewhereNodes): Promise<string[]> {
  const nodes = await joinFromElsewhere(op, away, cluster, o.role, o.replicas, o.extras);
  // Nodes without a peer carry their files themselves.
  const ready = nodes.map((n) => ({ ...n, files: "entries" in n.files ? (n.files.entries ?? []) : [] }));
  await execute(planNodeCreate(ready, { wait: o.wait, level: o.level }), away);
  if (o.wait) await execute({ type: "wait-ready", cluster, level: o.level }, op);
  return nodes.map((n) => n.name);
}
