/** k3box as a library: create, inspect and delete k3s clusters in Docker. */
export {
  createCluster,
  planClusterCreate,
  type CreateOptions,
  type CreateResult,
  type DryRun,
} from "./core/operations/create.js";
export { deleteCluster, type DeleteOptions, type DeleteResult } from "./core/operations/delete.js";
export { getCluster, listClusters } from "./core/operations/list.js";
export { buildNodeImage, type NodeImageInput, type NodeImageResult } from "./core/operations/node-image.js";
export {
  importImages,
  type ImageSource,
  type ImportOptions,
} from "./core/operations/import.js";
export { ImportFailedError, type ImportResult, type NodeImportResult } from "./core/images/import-result.js";
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
export {
  connectRegistry,
  createRegistry,
  deleteRegistries,
  disconnectRegistry,
  getRegistry,
  listRegistries,
  type ConnectOptions,
  type CreateRegistryOptions,
  type DeleteRegistryOptions,
  type RegistryStatus,
} from "./core/operations/registry.js";
export type { RegistryInput } from "./core/registry/spec.js";
export type { RegistryNames } from "./core/registry/types.js";
export type { OperationOptions } from "./core/operations/context.js";
export { buildClusterSpec } from "./core/cluster-spec/build.js";
export type { BuildOptions, ClusterInput, InputField } from "./core/cluster-spec/input.js";
export type { FileInput } from "./core/cluster-spec/files.js";
export { loadConfig, readConfigSource, type ConfigFormat, type LoadedConfig } from "./core/config/load.js";
export { ENV_VARS, resolveClusterInput, type Layers, type ResolvedInput } from "./core/config/resolve.js";
export { k3boxConfigSchema, k3boxJsonSchema, type K3boxConfig } from "./core/config/schema.js";

export { specView } from "./core/cluster-spec/view.js";
export { describePlan } from "./core/plan/describe.js";
export type * from "./core/cluster-spec/types.js";
export { planCreate, type Action, type CreatePlan, type PlanContext } from "./core/plan/cluster.js";
export type { ClusterEvent, EventSink, ImportStatus } from "./core/events.js";
export * from "./base/errors.js";
export { serializeKubeconfig, parseKubeconfig, type KubeConfig } from "./core/kubeconfig/index.js";
export type { Runtime } from "./runtime/types.js";
export { DockerRuntime } from "./runtime/docker/runtime.js";
export { DEFAULT_K3S_IMAGE, DEFAULT_CLUSTER_NAME } from "./core/cluster-spec/defaults.js";
export { VERSION } from "./core/version.js";
