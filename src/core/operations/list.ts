import type { RuntimeInfo } from "../../runtime/types.js";
import { NotFoundError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { observeCluster, observeClusters, type ClusterStatus } from "../cluster-status.js";
import { runOperation, type OperationOptions } from "../operation.js";

export function listClusters(options: OperationOptions = {}): Promise<ClusterStatus[]> {
  return runOperation("listing clusters", options, ({ runtime, signal, dialect }) => observeClusters(runtime, dialect, signal));
}

export function getCluster(name: string, options: OperationOptions = {}): Promise<ClusterStatus> {
  validateClusterName(name);
  return runOperation(`reading cluster "${name}"`, options, async ({ runtime, signal, dialect }) => {
    const status = await observeCluster(runtime, dialect, name, signal);
    if (!status) throw new NotFoundError(`cluster "${name}" not found`);
    return status;
  });
}

/** The engine k3box talks to: name, version, API version, platform. */
export function engineInfo(options: OperationOptions = {}): Promise<RuntimeInfo> {
  return runOperation("reading the engine's version", options, ({ runtime, signal }) => runtime.info(signal));
}
