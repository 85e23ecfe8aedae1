import { NotFoundError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { observeCluster, observeClusters, type ClusterStatus } from "../cluster-status.js";
import { runOperation, type OperationOptions } from "../operation.js";

export function listClusters(options: OperationOptions = {}): Promise<ClusterStatus[]> {
  return runOperation("listing clusters", options, ({ runtime, signal }) => observeClusters(runtime, signal));
}

export function getCluster(name: string, options: OperationOptions = {}): Promise<ClusterStatus> {
  validateClusterName(name);
  return runOperation(`reading cluster "${name}"`, options, async ({ runtime, signal }) => {
    const status = await observeCluster(runtime, name, signal);
    if (!status) throw new NotFoundError(`cluster "${name}" not found`);
    return status;
  });
}
