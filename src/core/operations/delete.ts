import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { NotFoundError, RuntimeUnavailableError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { step } from "../events.js";
import { execute } from "../executor.js";
import { clusterKubeconfigPath, defaultKubeconfigPath, removeCluster, updateKubeconfigFile } from "../kubeconfig/index.js";
import { clusterSelector, registrySelector } from "../labels.js";
import { isReachable, linkedEngines } from "../engine-links.js";
import { networkName } from "../naming.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { planDelete } from "../plan/delete.js";

export interface DeleteOptions extends OperationOptions {
  /** A cluster that does not exist is not an error. */
  readonly ignoreMissing?: boolean;
  /**
   * Delete what is on the engines that answer even when the cluster has nodes on another engine
   * that does not; those nodes stay there (a warning names them). Default: delete nothing then.
   */
  readonly forgetUnreachable?: boolean;
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
export function deleteCluster(name: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  validateClusterName(name);
  return runOperation(`deleting cluster "${name}"`, options, async (op) => {
    const { runtime, onEvent, signal, dialect } = op;
    const selector = clusterSelector(dialect, name);
    const [containers, volumes, networks, registries, away] = await Promise.all([
      runtime.listContainers(selector, signal),
      runtime.listVolumes(selector, signal),
      runtime.listNetworks(selector, signal),
      runtime.listContainers(registrySelector(dialect), signal),
      linkedEngines(op, name, true),
    ]);
    // Every engine it has nodes on is reached before anything is removed.
    const lost = away.filter((e) => !isReachable(e));
    if (lost.length > 0 && !options.forgetUnreachable) {
      throw new RuntimeUnavailableError(
        `${lost.map((e) => ("error" in e ? e.error : "")).join("; ")}. Nothing was deleted: run the delete again once it answers, or delete the rest with --forget-unreachable`,
      );
    }
    for (const e of lost) {
      onEvent({
        type: "warning",
        message: `the nodes of "${name}" on ${e.endpoint} are not deleted (the engine did not answer): remove them there with ${dialect.prefix} --engine ${e.endpoint} cluster delete ${name}`,
      });
    }
    const owned = registries.filter((r) => r.labels[dialect.labels.registryOwner] === name);
    if (containers.length === 0 && volumes.length === 0 && networks.length === 0 && owned.length === 0) {
      if (options.ignoreMissing) return { name, deleted: false };
      throw new NotFoundError(`cluster "${name}" not found`);
    }
    const network = containers[0]?.labels[dialect.labels.network] ?? networkName(dialect, name);
    const plan = planDelete({ cluster: name, containers, volumes, networks, registries, network, dialect });
    for (const [registry, elsewhere] of plan.keptRegistries) {
      // Another cluster (or container) still reaches it there: it outlives the cluster that made it.
      onEvent({ type: "warning", message: `registry ${registry} is kept: it is still attached to ${elsewhere.join(", ")}` });
    }
    for (const e of away.filter(isReachable)) {
      const there = planDelete({ ...e, cluster: name, networks: [], registries: [], network: "", dialect });
      await execute(there.actions, e.op);
    }
    await execute(plan.actions, op);
    await step(onEvent, "remove-kubeconfig", async () => {
      // The cluster's own file, written by `kubeconfig write`, goes with it.
      if (dialect.kubeconfigDir !== undefined) await rm(clusterKubeconfigPath(dialect.kubeconfigDir, name), { force: true });
      const path = op.kubeconfigPath ?? defaultKubeconfigPath();
      if (!existsSync(path)) return;
      await updateKubeconfigFile(
        path,
        (current) => {
          const { config, removed } = removeCluster(current, name, dialect.prefix);
          return removed ? config : current;
        },
        { signal },
      );
    });
    return { name, deleted: true };
  });
}
