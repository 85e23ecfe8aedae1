import { NotFoundError } from "../../base/errors.js";
import { loadCluster } from "../cluster-ref.js";
import { fetchClusterKubeconfig, mergeIntoFile } from "../kubeconfig/entries.js";
import { defaultKubeconfigPath, writeKubeconfigFile, type KubeConfig } from "../kubeconfig/index.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";

/** Reading the file from a running server takes a moment; a node that never answers must not hang the command. */
const KUBECONFIG_READ_TIMEOUT_MS = 30_000;

/** The cluster's kubeconfig (entries k3box-NAME), pointing at its published API. */
export function getKubeconfig(name: string, options: OperationOptions = {}): Promise<KubeConfig> {
  return runOperation(`reading the kubeconfig of "${name}"`, { ...options, timeoutMs: KUBECONFIG_READ_TIMEOUT_MS }, (op) =>
    readKubeconfig(name, op),
  );
}

async function readKubeconfig(name: string, op: Operation): Promise<KubeConfig> {
  const ref = await loadCluster(op, name);
  const server = ref.servers.find((s) => s.running);
  if (!server) throw new NotFoundError(`cluster "${name}" has no running server to read the kubeconfig from`);
  return fetchClusterKubeconfig(
    op.runtime,
    { cluster: name, server: ref.server, node: server.name, prefix: op.dialect.prefix },
    op.signal,
  );
}

export interface MergeKubeconfigOptions extends OperationOptions {
  /** Write only this cluster's kubeconfig to this file (replacing it) instead of merging into the default one. */
  readonly output?: string;
  /** With `output`: merge into that file, keeping its other entries, instead of replacing it. */
  readonly mergeOutput?: boolean;
  readonly switchContext?: boolean;
  /** False: entries of the cluster already in the target file are an error instead of being replaced. */
  readonly update?: boolean;
}

/** Merges the cluster's entries into the default kubeconfig (or writes them to `output`); returns the path. */
export function mergeClusterKubeconfig(name: string, options: MergeKubeconfigOptions = {}): Promise<string> {
  return runOperation(
    `merging the kubeconfig of "${name}"`,
    { ...options, timeoutMs: KUBECONFIG_READ_TIMEOUT_MS },
    async (op) => {
      const config = await readKubeconfig(name, op);
      if (options.output !== undefined && !options.mergeOutput) {
        await writeKubeconfigFile(options.output, config, { signal: op.signal });
        return options.output;
      }
      const path = options.output ?? op.kubeconfigPath ?? defaultKubeconfigPath();
      const { switchContext = true, update = true } = options;
      await mergeIntoFile(path, name, config, switchContext, op.signal, op.dialect.prefix, update);
      return path;
    },
  );
}
