import { deadlineSignal } from "../deadline.js";
import { NotFoundError } from "../errors.js";
import { defaultKubeconfigPath, serializeKubeconfig, writeKubeconfigFile, type KubeConfig } from "../kubeconfig/index.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { fetchClusterKubeconfig, mergeIntoFile } from "./kubeconfig-entries.js";
import { loadCluster } from "./cluster-ref.js";

/** Reading the file from a running server takes a moment; a node that never answers must not hang the command. */
const KUBECONFIG_READ_TIMEOUT_MS = 30_000;

/** The cluster's kubeconfig (entries k3box-NAME), pointing at its published API. */
export async function getKubeconfig(name: string, options: OperationOptions = {}): Promise<KubeConfig> {
  const { runtime } = resolveOptions(options);
  const signal = options.signal ?? new AbortController().signal;
  const ref = await loadCluster(runtime, name, signal);
  const server = ref.servers.find((s) => s.running);
  if (!server) throw new NotFoundError(`cluster "${name}" has no running server to read the kubeconfig from`);
  const deadline = deadlineSignal(`reading the kubeconfig of "${name}"`, KUBECONFIG_READ_TIMEOUT_MS, signal);
  try {
    return await fetchClusterKubeconfig(runtime, { cluster: name, server: ref.server, node: server.name }, deadline.signal);
  } finally {
    deadline.dispose();
  }
}

export interface MergeKubeconfigOptions extends OperationOptions {
  /** Write only this cluster's kubeconfig to this file (replacing it) instead of merging into the default one. */
  readonly output?: string;
  readonly switchContext?: boolean;
}

/** Merges the cluster's entries into the default kubeconfig (or writes them to `output`); returns the path. */
export async function mergeClusterKubeconfig(name: string, options: MergeKubeconfigOptions = {}): Promise<string> {
  const config = await getKubeconfig(name, options);
  const signal = options.signal ?? new AbortController().signal;
  if (options.output !== undefined) {
    await writeKubeconfigFile(options.output, config, { signal });
    return options.output;
  }
  const path = options.kubeconfigPath ?? defaultKubeconfigPath();
  await mergeIntoFile(path, name, config, options.switchContext ?? true, signal);
  return path;
}

export { serializeKubeconfig };
