/** Pure transformations of `KubeConfig` values: no I/O, inputs never mutated. */
import { KubeconfigError, UsageError } from "../../base/errors.js";
import { kubeconfigEntryNames, type KubeConfig, type NamedCluster, type NamedContext, type NamedUser } from "./model.js";
import { parseKubeconfig } from "./yaml.js";

// Hosts a client cannot connect to on every platform: k3d writes
// https://0.0.0.0:port (k3d-io/k3d#1008, #1057), which fails on macOS and
// Windows and breaks TLS verification against the server's SANs.
const UNSPECIFIED_HOSTS = new Set(["0.0.0.0", "[::]", "[0:0:0:0:0:0:0:0]"]);

function checkServer(server: string): void {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`invalid API server URL ${JSON.stringify(server)}`);
  }
  if (url.protocol !== "https:" || url.hostname === "") {
    throw new UsageError(`API server URL ${JSON.stringify(server)} must be https://HOST:PORT`);
  }
  if (UNSPECIFIED_HOSTS.has(url.hostname)) {
    throw new UsageError(
      `API server URL ${JSON.stringify(server)} names no host a client can reach; use 127.0.0.1 or a host name`,
    );
  }
}

/**
 * Turns the kubeconfig a k3s server writes (everything named `default`,
 * server https://127.0.0.1:6443) into the entries k3box owns for `clusterName`:
 * cluster and context `k3box-NAME`, user `admin@k3box-NAME`, server `o.server`,
 * current-context set. Fields of the k3s entries other than names and server
 * (CA data, client certificate, extensions) are kept.
 */
export function clusterKubeconfig(raw: string, o: { clusterName: string; server: string; prefix?: string }): KubeConfig {
  const names = kubeconfigEntryNames(o.clusterName, o.prefix);
  checkServer(o.server);
  const source = `kubeconfig of cluster ${JSON.stringify(o.clusterName)}`;
  const src = parseKubeconfig(raw, source);
  // Annotated so that calls narrow types (TypeScript's assertion rule).
  const fail: (why: string) => never = (why) => {
    throw new KubeconfigError(`${source} is unusable: ${why}`);
  };

  // k3s sets current-context; fall back to a sole context for hand-made input.
  let contextName = src["current-context"];
  if (contextName === "") {
    if (src.contexts.length !== 1) fail(`current-context is empty and there are ${src.contexts.length} contexts`);
    contextName = src.contexts[0]?.name ?? "";
  }
  const context = src.contexts.find((c) => c.name === contextName) ?? fail(`context "${contextName}" not found`);
  const clusterRef = context.context?.cluster;
  if (typeof clusterRef !== "string") fail(`context "${contextName}" names no cluster`);
  const userRef = context.context?.user;
  if (typeof userRef !== "string") fail(`context "${contextName}" names no user`);
  const cluster = src.clusters.find((c) => c.name === clusterRef) ?? fail(`cluster "${clusterRef}" not found`);
  const user = src.users.find((u) => u.name === userRef) ?? fail(`user "${userRef}" not found`);

  const ca = cluster.cluster?.["certificate-authority-data"];
  if (typeof ca !== "string" || ca === "") fail(`cluster "${clusterRef}" has no certificate-authority-data`);
  const u = user.user ?? {};
  const hasCert = typeof u["client-certificate-data"] === "string" && typeof u["client-key-data"] === "string";
  const hasToken = typeof u.token === "string" && u.token !== "";
  if (!hasCert && !hasToken) fail(`user "${userRef}" has neither client-certificate-data/client-key-data nor a token`);

  return {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [{ ...cluster, name: names.cluster, cluster: { ...cluster.cluster, server: o.server } }],
    contexts: [{ ...context, name: names.context, context: { ...context.context, cluster: names.cluster, user: names.user } }],
    users: [{ ...user, name: names.user }],
    "current-context": names.context,
  };
}

/**
 * Replaces the first entry of each name with the new one, drops later
 * duplicates of that name (kubectl would read only one of them), and appends
 * entries whose names are new. Every other entry keeps its content and place.
 */
function upsert<T extends { name: string }>(target: readonly T[], add: readonly T[]): T[] {
  const byName = new Map(add.map((e) => [e.name, e]));
  const placed = new Set<string>();
  const out: T[] = [];
  for (const e of target) {
    const replacement = byName.get(e.name);
    if (replacement === undefined) out.push(e);
    else if (!placed.has(e.name)) {
      out.push(replacement);
      placed.add(e.name);
    }
  }
  for (const e of byName.values()) if (!placed.has(e.name)) out.push(e);
  return out;
}

/**
 * Merges the clusters, contexts and users of `entry` into `target`.
 * current-context becomes `entry`'s when `switchContext` is set or `target`
 * has none (so a fresh kubeconfig is usable at once, as with k3d). Other
 * top-level fields of `entry` (preferences, extensions) are not merged.
 */
export function mergeKubeconfig(target: KubeConfig, entry: KubeConfig, o: { switchContext: boolean }): KubeConfig {
  const switchTo = entry["current-context"];
  const current = switchTo !== "" && (o.switchContext || target["current-context"] === "") ? switchTo : target["current-context"];
  return {
    ...target,
    clusters: upsert<NamedCluster>(target.clusters, entry.clusters),
    contexts: upsert<NamedContext>(target.contexts, entry.contexts),
    users: upsert<NamedUser>(target.users, entry.users),
    "current-context": current,
  };
}

/**
 * Removes the cluster and context `k3box-NAME` and the user
 * `admin@k3box-NAME` (every entry of those names, nothing else).
 *
 * If current-context named the removed context it moves to the first
 * remaining context in file order, or "" when none remains. This is k3d's
 * behaviour ("any remaining context"), made deterministic; callers that prefer
 * to leave no context selected can set current-context to "" afterwards.
 *
 * When nothing was removed, `config` is `target` itself, which lets
 * `updateKubeconfigFile` skip rewriting the file.
 */
export function removeCluster(
  target: KubeConfig,
  clusterName: string,
  prefix?: string,
): { config: KubeConfig; removed: boolean } {
  const names = kubeconfigEntryNames(clusterName, prefix);
  const clusters = target.clusters.filter((c) => c.name !== names.cluster);
  const contexts = target.contexts.filter((c) => c.name !== names.context);
  const users = target.users.filter((u) => u.name !== names.user);
  const removed =
    clusters.length !== target.clusters.length ||
    contexts.length !== target.contexts.length ||
    users.length !== target.users.length;
  if (!removed) return { config: target, removed: false };
  const current = target["current-context"] === names.context ? (contexts[0]?.name ?? "") : target["current-context"];
  return { config: { ...target, clusters, contexts, users, "current-context": current }, removed: true };
}
