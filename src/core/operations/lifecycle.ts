/** Starting, stopping and restarting whole clusters, in an order HA clusters survive. */
import { toTimeoutMs } from "../cluster-spec/duration.js";
import { DEFAULT_STOP_TIMEOUT_SECONDS } from "../cluster-spec/defaults.js";
import { checkStopTimeout } from "../limits.js";
import { loadCluster, toNodeState } from "../cluster-ref.js";
import { execute } from "../executor.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { planClusterStart, planStart, planStop } from "../plan/lifecycle.js";
import { linkedEngines } from "../engine-links.js";
import type { ContainerInfo } from "../../runtime/types.js";
import { DEFAULT_READY_LEVEL, type ReadyLevel } from "../readiness/levels.js";

export interface StartOptions extends OperationOptions {
  /** Wait for the node milestones and the API through the load balancer (default true). */
  readonly wait?: boolean;
  /** One deadline for the whole start: a duration (`90s`, `2m`) or milliseconds; 0 or unset means none. */
  readonly timeout?: string | number;
  /** What ready means when waiting: `api`, `workloads` (default) or `addons`. */
  readonly waitFor?: ReadyLevel;
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

/**
 * Starts every node that is not running: servers in turn (init server first), agents in
 * parallel, then the load balancer with a config for the nodes now running; ready means the
 * node milestones and `/readyz` through the load balancer, as after create.
 */
export function startCluster(name: string, options: StartOptions = {}): Promise<LifecycleResult> {
  const timeoutMs = toTimeoutMs(options.timeout);
  const frame = { ...options, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  return runOperation(`starting cluster "${name}"`, frame, async (op) => {
    const [ref, away] = await Promise.all([loadCluster(op, name), linkedEngines(op, name)]);
    if ([...ref.containers, ...away.flatMap((e) => e.containers)].every((c) => c.running)) return { name, changed: false };
    // Nothing is created, so there is nothing to roll back: what started stays started.
    const level = options.waitFor ?? DEFAULT_READY_LEVEL;
    const wait = options.wait ?? true;
    const nodes = ref.containers.map((c) => toNodeState(op.dialect, c));
    if (nodes.some((n) => !n.running)) await execute(planClusterStart(name, nodes, wait, level), op);
    // Nodes on other engines join the servers, which are up by now.
    for (const e of away)
      await execute(
        planStart(
          e.containers.map((c) => toNodeState(op.dialect, c)),
          wait,
        ),
        e.op,
      );
    return { name, changed: true };
  });
}

/** Stops every running node: load balancer, agents, joined servers, and the init server last. */
export function stopCluster(name: string, options: StopOptions = {}): Promise<LifecycleResult> {
  return runOperation(`stopping cluster "${name}"`, options, async (op) => {
    const timeoutSeconds = checkStopTimeout(options.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS);
    const [ref, away] = await Promise.all([loadCluster(op, name), linkedEngines(op, name)]);
    const up = (c: ContainerInfo) => c.running || c.state === "restarting";
    if (![...ref.containers, ...away.flatMap((e) => e.containers)].some(up)) return { name, changed: false };
    const states = (cs: readonly ContainerInfo[]) => cs.map((c) => ({ ...toNodeState(op.dialect, c), running: up(c) }));
    // Agents on other engines first, as agents go before servers on the cluster's own.
    for (const e of away) await execute(planStop(states(e.containers), timeoutSeconds), e.op);
    await execute(planStop(states(ref.containers), timeoutSeconds), op);
    return { name, changed: true };
  });
}

/** Stop, then start: the same order and readiness as `startCluster`. */
export async function restartCluster(name: string, options: StartOptions & StopOptions = {}): Promise<LifecycleResult> {
  await stopCluster(name, options);
  return { ...(await startCluster(name, options)), changed: true };
}
