/** k3box as a library: create, inspect and delete k3s clusters in Docker. */
export { createCluster, type CreateResult } from "./core/operations/create.js";
export { deleteCluster, type DeleteOptions, type DeleteResult } from "./core/operations/delete.js";
export { getCluster, listClusters } from "./core/operations/list.js";
export {
  restartCluster,
  startCluster,
  stopCluster,
  type LifecycleResult,
  type StartOptions,
  type StopOptions,
} from "./core/operations/lifecycle.js";
export {
  createNodes,
  deleteNodes,
  getNode,
  listNodes,
  startNodes,
  stopNodes,
  type NodeCreateInput,
  type NodeCreateResult,
  type NodeInfo,
} from "./core/operations/nodes.js";
export { editClusterPorts, type PortEdit, type PortEditResult } from "./core/operations/edit.js";
export { getKubeconfig, mergeClusterKubeconfig, type MergeKubeconfigOptions } from "./core/operations/kubeconfig.js";
export type { ClusterStatus, NodeStatus } from "./core/operations/state.js";
export type { OperationOptions } from "./core/operations/context.js";
export { buildClusterSpec, type ClusterInput } from "./core/spec/build.js";
export type * from "./core/spec/types.js";
export { planCreate, type Action, type CreatePlan, type PlanContext } from "./core/plan/create.js";
export type { ClusterEvent, EventSink } from "./core/events.js";
export * from "./core/errors.js";
export { serializeKubeconfig, parseKubeconfig, type KubeConfig } from "./core/kubeconfig/index.js";
export type { Runtime } from "./runtime/types.js";
export { DockerRuntime } from "./runtime/docker/runtime.js";
export { DEFAULT_K3S_IMAGE, DEFAULT_CLUSTER_NAME } from "./core/spec/defaults.js";
export { VERSION } from "./core/version.js";
