/**
 * k3box as a library: create, inspect and delete k3s clusters in Docker. Every operation takes
 * `{ runtime, onEvent, signal, kubeconfigPath }`; without a runtime it runs on the default engine.
 */
import type * as spec from "./core/cluster-spec/build.js";
import type * as config from "./core/config/load.js";
import type * as schema from "./core/config/schema.js";
import type * as kube from "./core/kubeconfig/index.js";
import type * as create from "./core/operations/create.js";
import type * as remove from "./core/operations/delete.js";
import type * as diagnosis from "./core/operations/doctor.js";
import type * as bundle from "./core/operations/bundle.js";
import type * as edit from "./core/operations/edit.js";
import type * as archive from "./core/operations/image-archive.js";
import type * as inspect from "./core/operations/inspect.js";
import type * as migrate from "./core/config/migrate.js";
import type * as source from "./core/config/source.js";
import type * as images from "./core/operations/import.js";
import type * as registryImport from "./core/operations/import-registry.js";
import type * as kubeconfig from "./core/operations/kubeconfig.js";
import type * as lifecycle from "./core/operations/lifecycle.js";
import type * as list from "./core/operations/list.js";
import type * as nodeImage from "./core/operations/node-image.js";
import type * as nodes from "./core/operations/nodes.js";
import type * as registry from "./core/operations/registry.js";
import type { OperationOptions } from "./core/operation.js";
import { defaultRuntime, engineOpener } from "./runtime/default.js";

export { chooseEngine } from "./runtime/default.js";
export type { EngineChoice } from "./runtime/docker/endpoint.js";

/** The caller's options, with the default engine when they name none, and Docker engines opened by name. */
async function engine<O extends OperationOptions>(o: O): Promise<O> {
  return {
    ...o,
    runtime: o.runtime ?? (await defaultRuntime()),
    openEngine: o.openEngine ?? (await engineOpener()),
  };
}

// Each operation's module is loaded on its first call: importing the library, or starting the
// CLI for one command, does not load the code (and the packages) of every other operation.
export const createCluster: typeof create.createCluster = async (input, o = {}) =>
  (await import("./core/operations/create.js")).createCluster(input, await engine(o));
export const planClusterCreate: typeof create.planClusterCreate = async (input, o = {}) =>
  (await import("./core/operations/create.js")).planClusterCreate(input, await engine(o));
export const deleteCluster: typeof remove.deleteCluster = async (name, o = {}) =>
  (await import("./core/operations/delete.js")).deleteCluster(name, await engine(o));
export const listClusters: typeof list.listClusters = async (o = {}) =>
  (await import("./core/operations/list.js")).listClusters(await engine(o));
export const getCluster: typeof list.getCluster = async (name, o = {}) =>
  (await import("./core/operations/list.js")).getCluster(name, await engine(o));
export const clusterImportMode: typeof list.clusterImportMode = async (name, o = {}) =>
  (await import("./core/operations/list.js")).clusterImportMode(name, await engine(o));
export const engineInfo: typeof list.engineInfo = async (o = {}) =>
  (await import("./core/operations/list.js")).engineInfo(await engine(o));
export const inspectClusters: typeof inspect.inspectClusters = async (names, o = {}) =>
  (await import("./core/operations/inspect.js")).inspectClusters(names, await engine(o));
export const startCluster: typeof lifecycle.startCluster = async (name, o = {}) =>
  (await import("./core/operations/lifecycle.js")).startCluster(name, await engine(o));
export const stopCluster: typeof lifecycle.stopCluster = async (name, o = {}) =>
  (await import("./core/operations/lifecycle.js")).stopCluster(name, await engine(o));
export const restartCluster: typeof lifecycle.restartCluster = async (name, o = {}) =>
  (await import("./core/operations/lifecycle.js")).restartCluster(name, await engine(o));
export const editClusterPorts: typeof edit.editClusterPorts = async (name, e, o = {}) =>
  (await import("./core/operations/edit.js")).editClusterPorts(name, e, await engine(o));
export const createNodes: typeof nodes.createNodes = async (input, o = {}) =>
  (await import("./core/operations/nodes.js")).createNodes(input, await engine(o));
export const deleteNodes: typeof nodes.deleteNodes = async (names, o = {}) =>
  (await import("./core/operations/nodes.js")).deleteNodes(names, await engine(o));
export const startNodes: typeof nodes.startNodes = async (names, o = {}) =>
  (await import("./core/operations/nodes.js")).startNodes(names, await engine(o));
export const stopNodes: typeof nodes.stopNodes = async (names, o = {}) =>
  (await import("./core/operations/nodes.js")).stopNodes(names, await engine(o));
export const listNodes: typeof nodes.listNodes = async (o = {}) =>
  (await import("./core/operations/nodes.js")).listNodes(await engine(o));
export const getNode: typeof nodes.getNode = async (name, o = {}) =>
  (await import("./core/operations/nodes.js")).getNode(name, await engine(o));
export const getKubeconfig: typeof kubeconfig.getKubeconfig = async (name, o = {}) =>
  (await import("./core/operations/kubeconfig.js")).getKubeconfig(name, await engine(o));
export const mergeClusterKubeconfig: typeof kubeconfig.mergeClusterKubeconfig = async (name, o = {}) =>
  (await import("./core/operations/kubeconfig.js")).mergeClusterKubeconfig(name, await engine(o));
export const buildNodeImage: typeof nodeImage.buildNodeImage = async (input, o = {}) =>
  (await import("./core/operations/node-image.js")).buildNodeImage(input, await engine(o));
export const importImages: typeof images.importImages = async (cluster, sources, o = {}) =>
  (await import("./core/operations/import.js")).importImages(cluster, sources, await engine(o));
export const importImagesToRegistry: typeof registryImport.importImagesToRegistry = async (cluster, refs, o = {}) =>
  (await import("./core/operations/import-registry.js")).importImagesToRegistry(cluster, refs, await engine(o));
export const keepImageArchive: typeof archive.keepImageArchive = async (cluster, sources, o = {}) =>
  (await import("./core/operations/image-archive.js")).keepImageArchive(cluster, sources, await engine(o));
export const createRegistry: typeof registry.createRegistry = async (input, o = {}) =>
  (await import("./core/operations/registry.js")).createRegistry(input, await engine(o));
export const listRegistries: typeof registry.listRegistries = async (o = {}) =>
  (await import("./core/operations/registry.js")).listRegistries(await engine(o));
export const getRegistry: typeof registry.getRegistry = async (name, o = {}) =>
  (await import("./core/operations/registry.js")).getRegistry(name, await engine(o));
export const deleteRegistries: typeof registry.deleteRegistries = async (names, o = {}) =>
  (await import("./core/operations/registry.js")).deleteRegistries(names, await engine(o));
export const connectRegistry: typeof registry.connectRegistry = async (name, o) =>
  (await import("./core/operations/registry.js")).connectRegistry(name, await engine(o));
export const disconnectRegistry: typeof registry.disconnectRegistry = async (name, o) =>
  (await import("./core/operations/registry.js")).disconnectRegistry(name, await engine(o));

export const doctor: typeof diagnosis.doctor = async (o = {}) =>
  (await import("./core/operations/doctor.js")).doctor(await engine(o));
export const createBundle: typeof bundle.createBundle = async (input, o) =>
  (await import("./core/operations/bundle.js")).createBundle(input, await engine(o));
export const loadBundle: typeof bundle.loadBundle = async (path, o = {}) =>
  (await import("./core/operations/bundle.js")).loadBundle(path, await engine(o));
/** Needs no engine: the images follow from the input alone. */
export const listClusterImages: typeof bundle.listClusterImages = async (...args) =>
  (await import("./core/operations/bundle.js")).listClusterImages(...args);

export type { CreateOptions, CreateResult, DryRun } from "./core/operations/create.js";
export { blockerError, type CheckStatus, type DoctorCheck, type DoctorOptions, type DoctorReport } from "./core/doctor-report.js";
export type {
  BundleResult,
  ClusterImagesOptions,
  CreateBundleOptions,
  LoadBundleOptions,
  LoadBundleResult,
} from "./core/operations/bundle.js";
export type { ClusterImage, ClusterImages, ImagePlace } from "./core/airgap/cluster-images.js";
export { imageTagSource, versionFromTag, type K3sVersionSource } from "./core/k3s-version.js";
export type { DeleteOptions, DeleteResult } from "./core/operations/delete.js";
export type { NodeImageInput, NodeImageResult } from "./core/operations/node-image.js";
export type { ImageSource, ImportOptions } from "./core/operations/import.js";
export type { RegistryImportResult } from "./core/operations/import-registry.js";
export type { PushedImage } from "./core/images/registry-push.js";
export { ImportFailedError, type ImportResult, type NodeImportResult } from "./core/images/import-result.js";
export type { LifecycleResult, StartOptions, StopOptions } from "./core/operations/lifecycle.js";
export type { NodeCreateInput, NodeCreateResult, NodeInfo } from "./core/operations/nodes.js";
export type { PortEdit, PortEditResult } from "./core/operations/edit.js";
export type { MergeKubeconfigOptions } from "./core/operations/kubeconfig.js";
export type { ClusterStatus, DatastoreStatus, NodeStatus } from "./core/cluster-status.js";
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
// Checking input and reading config files load the schema and YAML code on first use, too.
export const buildClusterSpec: typeof spec.buildClusterSpec = async (input, o) =>
  (await import("./core/cluster-spec/build.js")).buildClusterSpec(input, o);
export const readConfig: typeof config.readConfig = async (path, env, stdin) =>
  (await import("./core/config/load.js")).readConfig(path, env, stdin);
export const readConfigSource: typeof config.readConfigSource = async (path, stdin) =>
  (await import("./core/config/load.js")).readConfigSource(path, stdin);
export const loadConfig = async (...args: Parameters<typeof config.loadConfig>): Promise<config.LoadedConfig> =>
  (await import("./core/config/load.js")).loadConfig(...args);
export type { ConfigFormat, LoadedConfig } from "./core/config/load.js";
/** The JSON Schema of k3box config files, for editors (`k3box config schema`). */
export const k3boxJsonSchema = async (): Promise<ReturnType<typeof schema.k3boxJsonSchema>> =>
  (await import("./core/config/schema.js")).k3boxJsonSchema();
export type { BuildOptions, ClusterInput, InputField } from "./core/cluster-spec/input.js";
export type { FileInput } from "./core/cluster-spec/files.js";
export type { ChartInput } from "./core/cluster-spec/charts.js";
export { CONFIG_ENV_VAR, ENV_VARS, resolveClusterInput, type Layers, type ResolvedInput } from "./core/config/resolve.js";
export { starterConfig } from "./core/config/starter.js";
export type { K3boxConfig } from "./core/config/schema.js";
/** A k3d config file of an older version, rewritten as v1alpha5. */
export const migrateK3dConfig = async (...args: Parameters<typeof migrate.migrateK3dConfig>): Promise<string> =>
  (await import("./core/config/migrate.js")).migrateK3dConfig(...args);
/** Config text from anywhere (not a file), ready for `loadConfig`. */
export const configSourceOf = async (name: string, text: string, dir: string): Promise<source.ConfigSource> =>
  new (await import("./core/config/source.js")).ConfigSource(name, text, dir);

export { specView } from "./core/cluster-spec/view.js";
export { describePlan } from "./core/plan/describe.js";
export type * from "./core/cluster-spec/types.js";
export type { DatastoreEngine, DatastoreType } from "./core/datastore/engines.js";
export type { ExternalDriver, ExternalEndpoint, HostPort } from "./core/datastore/endpoint.js";
export { planCreate, type CreatePlan, type PlanContext } from "./core/plan/cluster.js";
export type { Action, Milestone } from "./core/plan/actions.js";
export type { ClusterEvent, EventSink, ImportStatus } from "./core/events.js";
export * from "./base/errors.js";
export const serializeKubeconfig = async (config: kube.KubeConfig): Promise<string> =>
  (await import("./core/kubeconfig/yaml.js")).serializeKubeconfig(config);
export const parseKubeconfig = async (text: string, source?: string): Promise<kube.KubeConfig> =>
  (await import("./core/kubeconfig/yaml.js")).parseKubeconfig(text, source);
export type { KubeConfig } from "./core/kubeconfig/index.js";
export { clusterKubeconfigPath, defaultKubeconfigPath } from "./core/kubeconfig/paths.js";
export type { EnginePlace, Runtime, RuntimeInfo } from "./runtime/types.js";
export { DockerRuntime } from "./runtime/docker/runtime.js";
export {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_K3S_IMAGE,
  DEFAULT_LOADBALANCER_IMAGE,
  DEFAULT_STOP_TIMEOUT_SECONDS,
} from "./core/cluster-spec/defaults.js";
export { DEFAULT_READY_LEVEL, parseReadyLevel, READY_LEVELS, type ReadyLevel } from "./core/readiness/levels.js";
export { ADAPTATIONS, type AdaptationName } from "./core/host/adaptation-names.js";
export { VERSION } from "./core/version.js";
