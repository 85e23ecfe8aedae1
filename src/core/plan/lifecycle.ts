/** Pure ordering of starting and stopping a cluster's nodes and its datastore. */
import { isEngine, isShared } from "../datastore/engines.js";
import type { ReadyLevel } from "../readiness/levels.js";
import { sequence, type Action } from "./actions.js";

export interface NodeState {
  readonly name: string;
  readonly role: "server" | "agent" | "loadbalancer" | "datastore";
  readonly index: number;
  /** The server that created the cluster's etcd (`--cluster-init`). */
  readonly init: boolean;
  readonly running: boolean;
  /** Servers: the cluster's datastore type; the datastore container: the database it runs. */
  readonly datastore?: string;
}

/** Init server first, the other servers by index. */
export function serversInOrder(nodes: readonly NodeState[]): NodeState[] {
  return nodes.filter((n) => n.role === "server").sort((a, b) => Number(b.init) - Number(a.init) || a.index - b.index);
}

function byIndex(nodes: readonly NodeState[], role: NodeState["role"]): NodeState[] {
  return nodes.filter((n) => n.role === role).sort((a, b) => a.index - b.index);
}

/**
 * Starts the datastore, servers and agents that are not running (the load balancer is the
 * caller's, last).
 *
 * A database k3box runs starts first and is waited for until it accepts connections, whatever
 * `wait` says: k3s on MySQL gives up at once without it. Servers sharing a database then start
 * together. With etcd, servers start one at a time, init server first, each waited for until it
 * has begun its start; a restarting etcd member then holds back readiness until a majority of
 * members answer, so waiting for one member to be fully ready before starting the next would never
 * end. Once all are started, all are waited for, then agents start in parallel.
 */
export function planStart(nodes: readonly NodeState[], wait: boolean): Action {
  const servers = serversInOrder(nodes).filter((n) => !n.running);
  const agents = byIndex(nodes, "agent").filter((n) => !n.running);
  const ha = nodes.filter((n) => n.role === "server").length > 1;
  const db = nodes.find((n) => n.role === "datastore" && !n.running);
  const actions: Action[] = db
    ? [
        { type: "start", container: db.name },
        ...(isEngine(db.datastore) ? [{ type: "wait-datastore" as const, container: db.name, engine: db.datastore }] : []),
      ]
    : [];
  const milestone = (m: "server" | "server-started" | "agent") => (wait ? { milestone: m } : {});
  if (servers.some((s) => isShared(s.datastore))) {
    actions.push({
      type: "parallel",
      actions: servers.map((n) => ({ type: "start", container: n.name, ...milestone("server") })),
    });
  } else if (wait && ha) {
    actions.push(...servers.map<Action>((n) => ({ type: "start", container: n.name, milestone: "server-started" })));
    actions.push({
      type: "parallel",
      actions: servers.map((n) => ({ type: "wait", container: n.name, milestone: "server" })),
    });
  } else {
    actions.push(...servers.map<Action>((n) => ({ type: "start", container: n.name, ...milestone("server") })));
  }
  actions.push({
    type: "parallel",
    actions: agents.map((n) => ({ type: "start", container: n.name, ...milestone("agent") })),
  });
  return { type: "sequence", actions };
}

/**
 * Stops the running nodes: the load balancer first (no traffic to nodes going away), then agents,
 * then the joined servers, the init server, and the datastore the servers wrote to last.
 */
export function planStop(nodes: readonly NodeState[], timeoutSeconds: number): Action {
  const stop = (n: NodeState): Action => ({ type: "stop", container: n.name, timeoutSeconds });
  const running = nodes.filter((n) => n.running);
  const [init, ...joined] = serversInOrder(running);
  return {
    type: "sequence",
    actions: [
      { type: "parallel", actions: running.filter((n) => n.role === "loadbalancer").map(stop) },
      { type: "parallel", actions: byIndex(running, "agent").map(stop) },
      { type: "parallel", actions: joined.map(stop) },
      ...(init ? [stop(init)] : []),
      ...running.filter((n) => n.role === "datastore").map(stop),
    ],
  };
}

/**
 * A whole cluster's start: its nodes as `planStart` orders them, then the load balancer last with
 * a config for the nodes then running (nginx resolves node names when it loads its config, and
 * Docker gives restarted nodes new addresses; a running one is reloaded, so it picks those up too),
 * then readiness through the published API. Nodes that joined another cluster by URL have no API
 * of their own to ask.
 */
export function planClusterStart(cluster: string, nodes: readonly NodeState[], wait: boolean, level: ReadyLevel): Action {
  const lb = nodes.find((n) => n.role === "loadbalancer");
  const hasServers = nodes.some((n) => n.role === "server");
  return sequence([
    planStart(nodes, wait),
    ...(lb ? [{ type: "update-loadbalancer" as const, cluster }] : []),
    ...(lb && !lb.running
      ? [{ type: "start" as const, container: lb.name, ...(wait ? { milestone: "loadbalancer" as const } : {}) }]
      : []),
    ...(wait && hasServers ? [{ type: "wait-ready" as const, cluster, level }] : []),
  ]);
}
