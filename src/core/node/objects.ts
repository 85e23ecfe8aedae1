/** A node's objects in the Kubernetes API, which outlive its container unless k3box removes them. */
import type { Runtime } from "../../runtime/types.js";
import { clusterCredentials, loadCluster } from "../cluster-ref.js";
import type { Dialect } from "../dialect.js";
import type { EventSink } from "../events.js";
import { apiRequest } from "../readiness/api.js";

/** How long the API gets to answer: removing Node objects is a courtesy that must not hang a delete. */
const API_LIMIT_MS = 15_000;

/**
 * `kubectl delete node`, as far as the API can be reached in a few seconds; k3s then drops an
 * etcd member too. Also the node password, which a node that registered it but not yet its Node
 * (a create cut short) would otherwise keep, so its name could never join again.
 */
export async function removeNodeObjects(
  runtime: Runtime,
  dialect: Dialect,
  cluster: string,
  names: readonly string[],
  onEvent: EventSink,
  signal?: AbortSignal,
): Promise<void> {
  const limit = AbortSignal.any([AbortSignal.timeout(API_LIMIT_MS), ...(signal ? [signal] : [])]);
  try {
    const engine = { runtime, dialect, signal: limit };
    const ref = await loadCluster(engine, cluster);
    const reachable = ref.servers.some((s) => s.running) && ref.server.split(":").at(-1) !== "";
    if (!reachable) return;
    const creds = await clusterCredentials(engine, cluster);
    for (const name of names) {
      const objects = [
        { what: `Node ${name}`, path: `/api/v1/nodes/${encodeURIComponent(name)}` },
        {
          what: `the node password of ${name}`,
          path: `/api/v1/namespaces/kube-system/secrets/${encodeURIComponent(`${name}.node-password.k3s`)}`,
        },
      ];
      for (const o of objects) {
        const res = await apiRequest(creds, "DELETE", o.path, limit);
        if (res.status >= 300 && res.status !== 404) {
          onEvent({ type: "warning", message: `the API refused to delete ${o.what}: HTTP ${res.status}` });
        }
      }
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    onEvent({ type: "warning", message: `could not remove the Node objects from the API: ${(err as Error).message}` });
  }
}
