/** Reading a cluster's admin kubeconfig out of its first server, and putting it into a user's file. */
import type { Runtime } from "../../runtime/types.js";
import { abortError, sleep } from "../../base/abort.js";
import { ConflictError, K3boxError, NotFoundError } from "../../base/errors.js";
import { clusterKubeconfig, kubeconfigEntryNames, mergeKubeconfig, updateKubeconfigFile, type KubeConfig } from "./index.js";
import { KUBECONFIG_OUTPUT } from "../node/paths.js";
import type { ClientCredentials } from "../readiness/api.js";

/** k3s writes the file early in its start; until then, retry. */
export async function fetchClusterKubeconfig(
  runtime: Runtime,
  o: { cluster: string; server: string; node: string; prefix: string },
  signal: AbortSignal,
): Promise<KubeConfig> {
  let lastError: unknown;
  for (;;) {
    try {
      const raw = await runtime.readFile(o.node, KUBECONFIG_OUTPUT, signal);
      if (raw.length > 0)
        return clusterKubeconfig(raw.toString("utf8"), { clusterName: o.cluster, server: o.server, prefix: o.prefix });
    } catch (err) {
      if (signal.aborted) break;
      if (!(err instanceof NotFoundError) && !(err instanceof K3boxError)) throw err;
      lastError = err;
    }
    try {
      await sleep(250, signal);
    } catch {
      break;
    }
  }
  const reason = abortError(signal, `reading the kubeconfig from ${o.node}`);
  if (lastError instanceof Error) reason.message += ` (reading the kubeconfig from ${o.node}: ${lastError.message})`;
  throw reason;
}

export function credentialsOf(config: KubeConfig): ClientCredentials {
  const context = config.contexts.find((c) => c.name === config["current-context"]);
  const cluster = config.clusters.find((c) => c.name === context?.context?.cluster)?.cluster;
  const user = config.users.find((u) => u.name === context?.context?.user)?.user;
  const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : "", "base64");
  return {
    server: String(cluster?.server ?? ""),
    ca: b64(cluster?.["certificate-authority-data"]),
    cert: b64(user?.["client-certificate-data"]),
    key: b64(user?.["client-key-data"]),
  };
}

/**
 * Merges a cluster's entries into a kubeconfig file and returns an undo that puts
 * back exactly what the file had under those names before (and its current context).
 */
export async function mergeIntoFile(
  path: string,
  cluster: string,
  entry: KubeConfig,
  switchContext: boolean,
  signal: AbortSignal,
  prefix: string,
  update = true,
): Promise<() => Promise<void>> {
  const names = kubeconfigEntryNames(cluster, prefix);
  let before: KubeConfig | undefined;
  let existed = true;
  await updateKubeconfigFile(
    path,
    (current, exists) => {
      if (!update && current.clusters.some((c) => c.name === names.cluster)) {
        throw new ConflictError(`cluster "${names.cluster}" already exists in ${path} (update it with --update)`);
      }
      before = current;
      existed = exists;
      return mergeKubeconfig(current, entry, { switchContext });
    },
    { signal },
  );
  // A file the merge created goes again with the entries, unless something else was put into it meanwhile.
  return async () => {
    await updateKubeconfigFile(path, (current) => restoreEntries(current, before as KubeConfig, names), {
      removeIfEmpty: !existed,
    });
  };
}

function restoreEntries(
  current: KubeConfig,
  before: KubeConfig,
  names: { cluster: string; context: string; user: string },
): KubeConfig {
  const swap = <T extends { name: string }>(now: readonly T[], then: readonly T[], name: string): T[] => {
    const old = then.find((e) => e.name === name);
    const kept = now.filter((e) => e.name !== name);
    return old ? [...kept, old] : kept;
  };
  const current_context = current["current-context"] === names.context ? before["current-context"] : current["current-context"];
  return {
    ...current,
    clusters: swap(current.clusters, before.clusters, names.cluster),
    contexts: swap(current.contexts, before.contexts, names.context),
    users: swap(current.users, before.users, names.user),
    "current-context": current_context,
  };
}
