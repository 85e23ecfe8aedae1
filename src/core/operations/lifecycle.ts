/** Starting, stopping and restarting whole clusters, in an order HA clusters survive. */
import type { Runtime } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { step, type EventSink } from "../events.js";
import { clusterSelector } from "../labels.js";
import { applyLoadBalancerConfig, loadBalancerConfig } from "../loadbalancer/update.js";
import { NGINX_CONFIG_PATH } from "../loadbalancer/nginx.js";
import { planStart, planStop } from "../plan/lifecycle.js";
import { toTimeoutMs } from "../spec/duration.js";
import { UndoStack } from "../undo.js";
import { waitForApi } from "../wait.js";
import { clusterCredentials, clusterRef, loadCluster, toNodeState, type ClusterRef } from "./cluster-ref.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { execute, normalise } from "./create.js";

export interface StartOptions extends OperationOptions {
  /** Wait for the node milestones and the API through the load balancer (default true). */
  readonly wait?: boolean;
  /** One deadline for the whole start: a duration (`90s`, `2m`) or milliseconds; 0 or unset means none. */
  readonly timeout?: string | number;
}

export interface StopOptions extends OperationOptions {
  /** Seconds each node gets to shut down before it is killed (default 30). */
  readonly stopTimeoutSeconds?: number;
}

export interface LifecycleResult {
  readonly name: string;
  /** False when the cluster already was in the asked state: nothing was done. */
  readonly changed: boolean;
}

export const DEFAULT_STOP_TIMEOUT_SECONDS = 30;

/**
 * Starts every node that is not running: servers in turn (init server first), agents in
 * parallel, then the load balancer with a config for the nodes now running; ready means the
 * node milestones and `/readyz` through the load balancer, as after create.
 */
export async function startCluster(name: string, options: StartOptions = {}): Promise<LifecycleResult> {
  const { runtime, onEvent } = resolveOptions(options);
  const wait = options.wait ?? true;
  const timeoutMs = toTimeoutMs(options.timeout);
  const ref = await loadCluster(runtime, name, options.signal);
  if (ref.containers.every((c) => c.running)) return { name, changed: false };
  const deadline = deadlineSignal(`starting cluster "${name}"`, timeoutMs, options.signal);
  const signal = deadline.signal;
  try {
    // Nothing is created, so there is nothing to roll back: what started stays started.
    await execute(planStart(ref.containers.map(toNodeState), wait), { runtime, onEvent, signal, undo: new UndoStack() });
    await startLoadBalancer(runtime, ref, wait, onEvent, signal);
    // Nodes that joined another cluster by URL have no API of their own to ask.
    if (wait && ref.servers.length > 0) {
      const creds = await step(onEvent, "kubeconfig", () => clusterCredentials(runtime, ref, signal));
      await step(onEvent, "wait-api", () => waitForApi(creds, signal));
    }
    return { name, changed: true };
  } catch (err) {
    throw normalise(err, signal);
  } finally {
    deadline.dispose();
  }
}

/**
 * The load balancer goes last: nginx resolves node names when it loads its config, and Docker
 * gives restarted nodes new addresses. A running one is reloaded, so it picks those up too.
 */
async function startLoadBalancer(
  runtime: Runtime,
  ref: ClusterRef,
  wait: boolean,
  onEvent: EventSink,
  signal: AbortSignal,
): Promise<void> {
  const lb = ref.loadBalancer;
  if (!lb) return;
  const now = clusterRef(ref.name, await runtime.listContainers(clusterSelector(ref.name), signal));
  const config = loadBalancerConfig(lb, now.containers);
  if (lb.running) {
    await step(onEvent, "update-loadbalancer", () => applyLoadBalancerConfig(runtime, lb.name, config, signal), lb.name);
    return;
  }
  await runtime.putFiles(lb.name, [{ path: NGINX_CONFIG_PATH, content: config, mode: 0o644 }], signal);
  await execute(
    { type: "start", container: lb.name, ...(wait ? { milestone: "loadbalancer" as const } : {}) },
    { runtime, onEvent, signal, undo: new UndoStack() },
  );
}

/** Stops every running node: load balancer, agents, joined servers, and the init server last. */
export async function stopCluster(name: string, options: StopOptions = {}): Promise<LifecycleResult> {
  const { runtime, onEvent } = resolveOptions(options);
  const ref = await loadCluster(runtime, name, options.signal);
  if (!ref.containers.some((c) => c.running || c.state === "restarting")) return { name, changed: false };
  const nodes = ref.containers.map((c) => ({ ...toNodeState(c), running: c.running || c.state === "restarting" }));
  const signal = options.signal ?? new AbortController().signal;
  const timeout = options.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS;
  await execute(planStop(nodes, timeout), { runtime, onEvent, signal, undo: new UndoStack() });
  return { name, changed: true };
}

/** Stop, then start: the same order and readiness as `startCluster`. */
export async function restartCluster(name: string, options: StartOptions & StopOptions = {}): Promise<LifecycleResult> {
  await stopCluster(name, options);
  return { ...(await startCluster(name, options)), changed: true };
}
