/**
 * k3box as a library: create, inspect and delete k3s clusters in Docker. Every operation takes
 * `{ runtime, onEvent, signal, kubeconfigPath }`; without a runtime it runs on the default engine.
 */
import * as create from "./core/operations/create.js";
import * as remove from "./core/operations/delete.js";
import * as edit from "./core/operations/edit.js";
import * as images from "./core/operations/import.js";
import * as archive from "./core/operations/image-archive.js";
import * as inspect from "./core/operations/inspect.js";
import * as kubeconfig from "./core/operations/kubeconfig.js";
import * as lifecycle from "./core/operations/lifecycle.js";
import * as list from "./core/operations/list.js";
import * as nodeImage from "./core/operations/node-image.js";
import * as nodes from "./core/operations/nodes.js";
import * as registry from "./core/operations/registry.js";
import type { OperationOptions } from "./core/operation.js";
import { defaultRuntime } from "./runtime/default.js";

/** The caller's options, with the default engine when they name none. */
function engine<O extends OperationOptions>(o: O): O {
  return o.runtime !== undefined ? o : { ...o, runtime: defaultRuntime() };
}

export const createCluster: typeof create.createCluster = (input, o = {}) => create.createCluster(input, engine(o));
export const planClusterCreate: typeof create.planClusterCreate = (input, o = {}) => create.planClusterCreate(input, engine(o));
export const deleteCluster: typeof remove.deleteCluster = (name, o = {}) => remove.deleteCluster(name, engine(o));
export const listClusters: typeof list.listClusters = (o = {}) => list.listClusters(engine(o));
export const getCluster: typeof list.getCluster = (name, o = {}) => list.getCluster(name, engine(o));
export const engineInfo: typeof list.engineInfo = (o = {}) => list.engineInfo(engine(o));
export const inspectClusters: typeof inspect.inspectClusters = (names, o = {}) => inspect.inspectClusters(names, engine(o));
export const startCluster: typeof lifecycle.startCluster = (name, o = {}) => lifecycle.startCluster(name, engine(o));
export const stopCluster: typeof lifecycle.stopCluster = (name, o = {}) => lifecycle.stopCluster(name, engine(o));
export const restartCluster: typeof lifecycle.restartCluster = (name, o = {}) => lifecycle.restartCluster(name, engine(o));
export const editClusterPorts: typeof edit.editClusterPorts = (name, e, o = {}) => edit.editClusterPorts(name, e, engine(o));
export const createNodes: typeof nodes.createNodes = (input, o = {}) => nodes.createNodes(input, engine(o));
export const deleteNodes: typeof nodes.deleteNodes = (names, o = {}) => nodes.deleteNodes(names, engine(o));
export const startNodes: typeof nodes.startNodes = (names, o = {}) => nodes.startNodes(names, engine(o));
export const stopNodes: typeof nodes.stopNodes = (names, o = {}) => nodes.stopNodes(names, engine(o));
export const listNodes: typeof nodes.listNodes = (o = {}) => nodes.listNodes(engine(o));
export const getNode: typeof nodes.getNode = (name, o = {}) => nodes.getNode(name, engine(o));
export const getKubeconfig: typeof kubeconfig.getKubeconfig = (name, o = {}) => kubeconfig.getKubeconfig(name, engine(o));
export const mergeClusterKubeconfig: typeof kubeconfig.mergeClusterKubeconfig = (name, o = {}) =>
  kubeconfig.mergeClusterKubeconfig(name, engine(o));
export const buildNodeImage: typeof nodeImage.buildNodeImage = (input, o = {}) => nodeImage.buildNodeImage(input, engine(o));
export const importImages: typeof images.importImages = (cluster, sources, o = {}) =>
  images.importImages(cluster, sources, engine(o));
export const keepImageArchive: typeof archive.keepImageArchive = (cluster, sources, o = {}) =>
  archive.keepImageArchive(cluster, sources, engine(o));
export const createRegistry: typeof registry.createRegistry = (input, o = {}) => registry.createRegistry(input, engine(o));
export const listRegistries: typeof registry.listRegistries = (o = {}) => registry.listRegistries(engine(o));
export const getRegistry: typeof registry.getRegistry = (name, o = {}) => registry.getRegistry(name, engine(o));
export const deleteRegistries: typeof registry.deleteRegistries = (names, o = {}) => registry.deleteRegistries(names, engine(o));
export const connectRegistry: typeof registry.connectRegistry = (name, o) => registry.connectRegistry(name, engine(o));
export const disconnectRegistry: typeof registry.disconnectRegistry = (name, o) => registry.disconnectRegistry(name, engine(o));

export type { CreateOptions, CreateResult, DryRun } from "./core/operations/create.js";
export type { DeleteOptions, DeleteResult } from "./core/operations/delete.js";
export type { NodeImageInput, NodeImageResult } from "./core/operations/node-image.js";
export type { ImageSource, ImportOptions } from "./core/operations/import.js";
export { ImportFailedError, type ImportResult, type NodeImportResult } from "./core/images/import-result.js";
export type { LifecycleResult, StartOptions, StopOptions } from "./core/operations/lifecycle.js";
export { DEFAULT_STOP_TIMEOUT_SECONDS } from "./core/operations/lifecycle.js";
export type { NodeCreateInput, NodeCreateResult, NodeInfo } from "./core/operations/nodes.js";
export type { PortEdit, PortEditResult } from "./core/operations/edit.js";
export type { MergeKubeconfigOptions } from "./core/operations/kubeconfig.js";
export type { ClusterStatus, NodeStatus } from "./core/cluster-status.js";
export type {
  ApiBinding,
  ClusterDetail,
  InspectOptions,
  LoadBalancerValues,
  NodeDetail,
} from "./core/operations/inspect.js";
export { K3BOX, K3D, K3D_COMPAT_VERSION, type Dialect } from "./core/dialect.js";
export type {
  ConnectOptions,
  CreateRegistryOptions,
  DeleteRegistryOptions,
  RegistryStatus,
} from "./core/operations/registry.js";
export type { RegistryInput } from "./core/registry/spec.js";
export type { RegistryNames } from "./core/registry/types.js";
export type { OperationOptions } from "./core/operation.js";
export { buildClusterSpec } from "./core/cluster-spec/build.js";
export type { BuildOptions, ClusterInput, InputField } from "./core/cluster-spec/input.js";
export type { FileInput } from "./core/cluster-spec/files.js";
export { loadConfig, readConfigSource, type ConfigFormat, type LoadedConfig } from "./core/config/load.js";
export { CONFIG_ENV_VAR, ENV_VARS, resolveClusterInput, type Layers, type ResolvedInput } from "./core/config/resolve.js";
export { starterConfig } from "./core/config/starter.js";
export { migrateK3dConfig } from "./core/config/migrate.js";
export { ConfigSource } from "./core/config/source.js";
export { k3boxConfigSchema, k3boxJsonSchema, type K3boxConfig } from "./core/config/schema.js";

export { specView } from "./core/cluster-spec/view.js";
export { describePlan } from "./core/plan/describe.js";
export type * from "./core/cluster-spec/types.js";
export { planCreate, type CreatePlan, type PlanContext } from "./core/plan/cluster.js";
export type { Action, Milestone } from "./core/plan/actions.js";
export type { ClusterEvent, EventSink, ImportStatus } from "./core/events.js";
export * from "./base/errors.js";
export {
  clusterKubeconfigPath,
  defaultKubeconfigPath,
  serializeKubeconfig,
  parseKubeconfig,
  type KubeConfig,
} from "./core/kubeconfig/index.js";
export type { Runtime, RuntimeInfo } from "./runtime/types.js";
export { DockerRuntime } from "./runtime/docker/runtime.js";
export { DEFAULT_K3S_IMAGE, DEFAULT_CLUSTER_NAME } from "./core/cluster-spec/defaults.js";
export { VERSION } from "./core/version.js";
