import { randomBytes } from "node:crypto";
import type { Runtime } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { ConflictError } from "../errors.js";
import { step } from "../events.js";
import { defaultKubeconfigPath, serializeKubeconfig, type KubeConfig } from "../kubeconfig/index.js";
import { clusterSelector } from "../labels.js";
import { loadBalancerContext } from "../loadbalancer/image.js";
import { planCreate, type CreatePlan } from "../plan/create.js";
import { networkName } from "../plan/names.js";
import { buildClusterSpec, type ClusterInput } from "../spec/build.js";
import type { ClusterSpec } from "../spec/types.js";
import { UndoStack } from "../undo.js";
import { VERSION } from "../version.js";
import { waitForApi } from "../wait.js";
import { execute } from "./execute.js";
import { normalise, rollback } from "./rollback.js";
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
