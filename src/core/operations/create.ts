import { randomBytes } from "node:crypto";
import type { Runtime } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { CancelledError, ConflictError, K3boxError, TimeoutError } from "../errors.js";
import { step, type EventSink } from "../events.js";
import { defaultKubeconfigPath, serializeKubeconfig, type KubeConfig } from "../kubeconfig/index.js";
import { clusterSelector } from "../labels.js";
import { ensureLoadBalancerImage, loadBalancerContext } from "../loadbalancer/image.js";
import { planCreate, type Action, type CreatePlan, type Milestone } from "../plan/create.js";
import { networkName } from "../plan/names.js";
import { buildClusterSpec, type ClusterInput } from "../spec/build.js";
import type { ClusterSpec } from "../spec/types.js";
import { UndoStack } from "../undo.js";
import { VERSION } from "../version.js";
import { rollback } from "./rollback.js";
import { waitForApi, waitForMilestone } from "../wait.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { credentialsOf, fetchClusterKubeconfig, mergeIntoFile } from "./kubeconfig-entries.js";
import { assertPortFree, pickFreePort } from "./ports.js";

export interface CreateResult {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly network: string;
  readonly nodes: readonly string[];
  /** https://HOST:PORT of the API as published on the host. */
  readonly server: string;
  /** The cluster's kubeconfig (entries named k3box-NAME), as YAML. */
  readonly kubeconfig: string;
  /** The file the entries were merged into, when they were. */
  readonly kubeconfigPath?: string;
}

/**
 * Creates a cluster and waits until it is ready. On failure or cancellation
 * everything it created is removed again (unless `rollback: false`).
 */
export async function createCluster(input: ClusterInput, options: OperationOptions = {}): Promise<CreateResult> {
  const { runtime, onEvent } = resolveOptions(options);
  const spec = await buildClusterSpec(input);
  const deadline = deadlineSignal(`creating cluster "${spec.name}"`, spec.timeoutMs, options.signal);
  const signal = deadline.signal;
  const undo = new UndoStack();
  try {
    const plan = await step(onEvent, "prepare", () => prepare(runtime, spec, signal));
    await execute(plan.actions, { runtime, onEvent, signal, undo });

    const server = `https://${plan.api.host}:${plan.api.hostPort}`;
    const serverNode = plan.nodes.find((n) => n.role === "server")?.name as string;
    const kubeconfig = await step(onEvent, "kubeconfig", () =>
      fetchClusterKubeconfig(runtime, { cluster: spec.name, server, node: serverNode }, signal),
    );
    if (spec.wait) {
      await step(onEvent, "wait-api", () => waitForApi(credentialsOf(kubeconfig), signal));
    }
    let kubeconfigPath: string | undefined;
    if (spec.kubeconfig.updateDefault) {
      kubeconfigPath = options.kubeconfigPath ?? defaultKubeconfigPath();
      const path = kubeconfigPath;
      const restore = await step(onEvent, "merge-kubeconfig", () =>
        mergeIntoFile(path, spec.name, kubeconfig, spec.kubeconfig.switchContext, signal),
      );
      undo.push(`restore ${path}`, restore);
    }
    // Cancellation that arrived during the last step still counts: nothing is half-done here.
    if (signal.aborted) throw signal.reason;
    undo.clear();
    return result(spec, plan, server, kubeconfig, kubeconfigPath);
  } catch (err) {
    const error = normalise(err, signal);
    if (!spec.rollback) {
      onEvent({ type: "warning", message: "rollback is off: the cluster's containers, network and volumes are kept" });
      throw error;
    }
    await rollback(undo, onEvent, error);
    throw error;
  } finally {
    deadline.dispose();
  }
}

function result(
  spec: ClusterSpec,
  plan: CreatePlan,
  server: string,
  kubeconfig: KubeConfig,
  kubeconfigPath: string | undefined,
): CreateResult {
  return {
    name: spec.name,
    spec,
    network: plan.network.name,
    nodes: plan.nodes.map((n) => n.name),
    server,
    kubeconfig: serializeKubeconfig(kubeconfig),
    ...(kubeconfigPath !== undefined ? { kubeconfigPath } : {}),
  };
}

/** The error an operation reports: the deadline or the cancellation when that is what interrupted it. */
export function normalise(err: unknown, signal: AbortSignal): Error {
  if (err instanceof TimeoutError || err instanceof CancelledError) return err;
  if (signal.aborted && (signal.reason instanceof TimeoutError || signal.reason instanceof CancelledError)) {
    // A call interrupted by the abort fails with its own error; the abort is the story.
    return err instanceof K3boxError && !(err.name === "K3boxError") ? err : (signal.reason as Error);
  }
  return err instanceof Error ? err : new K3boxError(String(err));
}

/** Everything that needs the engine or the host before planning: conflicts, ports, the network. */
async function prepare(runtime: Runtime, spec: ClusterSpec, signal: AbortSignal): Promise<CreatePlan> {
  await runtime.info(signal);
  const existing = await runtime.listContainers(clusterSelector(spec.name), signal);
  if (existing.length > 0) throw new ConflictError(`cluster "${spec.name}" already exists`);
  const ownNetwork = spec.network === undefined;
  const network = await runtime.inspectNetwork(spec.network ?? networkName(spec.name), signal);
  if (ownNetwork && network) {
    throw new ConflictError(
      `network "${network.name}" already exists: a cluster "${spec.name}" was not fully removed (run: k3box cluster delete ${spec.name})`,
    );
  }
  if (spec.api.hostPort !== undefined) await assertPortFree(spec.api.hostIp, spec.api.hostPort, "--api-port");
  for (const p of spec.ports) {
    if (p.hostPort !== undefined && p.protocol === "tcp") await assertPortFree(p.hostIp, p.hostPort, `port mapping "${p.raw}"`);
  }
  const apiHostPort = spec.api.hostPort ?? (await pickFreePort(spec.api.hostIp));
  const portHostPorts = new Map<number, number>();
  for (const [i, p] of spec.ports.entries()) {
    if (p.hostPort === undefined) portHostPorts.set(i, await pickFreePort(p.hostIp));
  }
  const lb = spec.loadBalancer ? (await loadBalancerContext()).tag : "";
  return planCreate(spec, {
    token: spec.token ?? randomBytes(20).toString("hex"),
    apiHostPort,
    portHostPorts,
    loadBalancerImage: lb,
    networkExists: network !== undefined,
    version: VERSION,
  });
}

export interface Exec {
  readonly runtime: Runtime;
  readonly onEvent: EventSink;
  readonly signal: AbortSignal;
  readonly undo: UndoStack;
}

/** Runs planned actions, recording an undo step for everything it creates. */
export async function execute(action: Action, x: Exec): Promise<void> {
  const { runtime, onEvent, signal, undo } = x;
  if (signal.aborted) throw signal.reason;
  switch (action.type) {
    case "sequence":
      for (const a of action.actions) await execute(a, x);
      return;
    case "parallel": {
      // Wait for every branch so the undo stack is complete before anything unwinds.
      const results = await Promise.allSettled(action.actions.map((a) => execute(a, x)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      return;
    }
    case "ensure-image":
      await step(onEvent, "image", async () => {
        if (await runtime.imageExists(action.image, signal)) return;
        try {
          await runtime.pullImage(action.image, (p) => onEvent({ type: "pull", ...p }), signal);
        } catch (err) {
          if (err instanceof CancelledError) throw err;
          throw new K3boxError(`cannot pull image "${action.image}": ${(err as Error).message}`, { cause: err });
        }
      });
      return;
    case "ensure-loadbalancer-image":
      await step(onEvent, "loadbalancer-image", async () => {
        const context = await loadBalancerContext();
        await ensureLoadBalancerImage(runtime, context, () => {}, signal);
      });
      return;
    case "create-network":
      await step(onEvent, "network", async () => {
        await runtime.createNetwork(action.network, signal);
        undo.push(`remove network ${action.network.name}`, () => runtime.removeNetwork(action.network.name));
      });
      return;
    case "create-volume":
      await runtime.createVolume(action.volume, signal);
      undo.push(`remove volume ${action.volume.name}`, () => runtime.removeVolume(action.volume.name));
      return;
    case "create-container":
      await step(
        onEvent,
        "create-node",
        async () => {
          try {
            await runtime.createContainer(action.container, signal);
          } catch (err) {
            if (err instanceof ConflictError) {
              throw new ConflictError(`container name "${action.container.name}" is already in use`, { cause: err });
            }
            throw err;
          }
          undo.push(`remove container ${action.container.name}`, () => runtime.removeContainer(action.container.name));
          if (action.files.length > 0) await runtime.putFiles(action.container.name, action.files, signal);
        },
        action.container.name,
      );
      return;
    case "start":
      await step(
        onEvent,
        "start-node",
        async () => {
          await runtime.startContainer(action.container, signal);
          if (action.milestone) await waitSinceStart(x, action.container, action.milestone);
        },
        action.container,
      );
      return;
    case "wait":
      await step(onEvent, "wait-node", () => waitSinceStart(x, action.container, action.milestone), action.container);
      return;
    case "stop":
      await step(
        onEvent,
        "stop-node",
        () => runtime.stopContainer(action.container, action.timeoutSeconds, signal),
        action.container,
      );
      return;
  }
}

/**
 * Follows the log from the end of the container's previous run on (the engine's clock), so that
 * lines of an earlier run do not count. Not from this run's start time: the engine stamps that
 * after the process is already running, and a fast process logs before it.
 */
async function waitSinceStart(x: Exec, container: string, milestone: Milestone): Promise<void> {
  const info = await x.runtime.inspectContainer(container, x.signal);
  const since = info?.finishedAt;
  await waitForMilestone(x.runtime, container, milestone, { onEvent: x.onEvent, ...(since ? { since } : {}) }, x.signal);
}
