import { NotFoundError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { observeCluster, observeClusters, type ClusterStatus } from "./state.js";

export function listClusters(options: OperationOptions = {}): Promise<ClusterStatus[]> {
  const { runtime } = resolveOptions(options);
  return observeClusters(runtime, options.signal);
}

export async function getCluster(name: string, options: OperationOptions = {}): Promise<ClusterStatus> {
  const { runtime } = resolveOptions(options);
  const status = await observeCluster(runtime, validateClusterName(name), options.signal);
  if (!status) throw new NotFoundError(`cluster "${name}" not found`);
  return status;
}
