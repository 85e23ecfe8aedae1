export {
  emptyKubeconfig,
  kubeconfigEntryNames,
  type KubeCluster,
  type KubeConfig,
  type KubeconfigEntryNames,
  type KubeContext,
  type KubeExtension,
  type KubeUser,
  type NamedCluster,
  type NamedContext,
  type NamedUser,
} from "./model.js";
export { parseKubeconfig, serializeKubeconfig, toKubeConfig } from "./yaml.js";
export { clusterKubeconfig, mergeKubeconfig, removeCluster } from "./merge.js";
export { clusterKubeconfigPath, defaultKubeconfigPath } from "./paths.js";
export {
  checkKubeconfigUpdatable,
  readKubeconfigFile,
  updateKubeconfigFile,
  writeKubeconfigFile,
  type KubeconfigFileOptions,
} from "./file.js";
export { DEFAULT_LOCK_TIMEOUT_MS } from "./lock.js";
