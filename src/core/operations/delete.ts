import { existsSync } from "node:fs";
import { NotFoundError } from "../errors.js";
import { step } from "../events.js";
import { defaultKubeconfigPath, removeCluster, updateKubeconfigFile } from "../kubeconfig/index.js";
import { LABEL, REGISTRY_SELECTOR, clusterSelector } from "../labels.js";
import { networkName } from "../plan/names.js";
import { DEFAULT_NETWORK } from "../registry/types.js";
import { detachFromNetwork } from "./registry.js";
import { validateClusterName } from "../spec/names.js";
import { resolveOptions, type OperationOptions } from "./context.js";

export interface DeleteOptions extends OperationOptions {
  /** A cluster that does not exist is not an error. */
  readonly ignoreMissing?: boolean;
}

export interface DeleteResult {
  readonly name: string;
  /** False when there was nothing to delete (and ignoreMissing was set). */
  readonly deleted: boolean;
}

/**
 * Removes every container, volume and the network of a cluster, found by label, and
 * its kubeconfig entries. Idempotent: it also sweeps what a failed create left behind.
 */
export async function deleteCluster(name: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  const { runtime, onEvent } = resolveOptions(options);
  validateClusterName(name);
  const signal = options.signal;
  const selector = clusterSelector(name);
  const containers = await runtime.listContainers(selector, signal);
  const volumes = await runtime.listVolumes(selector, signal);
  const ownNetworks = await runtime.listNetworks(selector, signal);
  const ownRegistries = await runtime.listContainers({ ...REGISTRY_SELECTOR, [LABEL.registryOwner]: name }, signal);
  if (containers.length === 0 && volumes.length === 0 && ownNetworks.length === 0 && ownRegistries.length === 0) {
    if (options.ignoreMissing) return { name, deleted: false };
    throw new NotFoundError(`cluster "${name}" not found`);
  }
  await step(onEvent, "remove-nodes", async () => {
    await Promise.all(containers.map((c) => runtime.removeContainer(c.name, signal)));
  });
  await step(onEvent, "remove-registry", async () => {
    const network = containers[0]?.labels[LABEL.network] ?? networkName(name);
    for (const r of ownRegistries) {
      // Docker's default bridge is where a disconnected registry waits, not another user of it.
      const elsewhere = Object.keys(r.networks).filter((n) => n !== network && n !== DEFAULT_NETWORK);
      if (elsewhere.length === 0) {
        await runtime.removeContainer(r.name, signal);
      } else {
        // Another cluster (or container) still reaches it there: it outlives the cluster that made it.
        onEvent({ type: "warning", message: `registry ${r.name} is kept: it is still attached to ${elsewhere.join(", ")}` });
      }
    }
  });
  await step(onEvent, "remove-network", async () => {
    for (const net of ownNetworks) {
      if (net.labels[LABEL.networkExternal] === "true") continue;
      // Whatever else joined the network (a shared registry, a user's container) is let go, not removed.
      const info = await runtime.inspectNetwork(net.name, signal);
      for (const other of info?.containers ?? []) await detachFromNetwork(runtime, other, net.name, signal);
      await runtime.removeNetwork(net.name, signal);
    }
  });
  await step(onEvent, "remove-volumes", async () => {
    await Promise.all(volumes.map((v) => runtime.removeVolume(v, signal)));
  });
  await step(onEvent, "remove-kubeconfig", async () => {
    const path = options.kubeconfigPath ?? defaultKubeconfigPath();
    if (!existsSync(path)) return;
    await updateKubeconfigFile(
      path,
      (current) => {
        const { config, removed } = removeCluster(current, name);
        return removed ? config : current;
      },
      signal ? { signal } : {},
    );
  });
  return { name, deleted: true };
}
