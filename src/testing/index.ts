/**
 * k3box for test suites (`k3box/testing`): a cluster as a fixture.
 *
 *     await using cluster = await startCluster({ agents: 1, ports: ["80@loadbalancer"] });
 *     await cluster.apply("./k8s");
 *     await cluster.waitFor("deployment/web", "Available");
 *     await fetch(cluster.url(80));
 *
 * Clusters get unique names, leave the user's kubeconfig alone, and are removed on dispose, or by a
 * reaper when the test process dies first; `reuse: true` keeps one across runs.
 */
import type * as fixture from "./fixture.js";

// The fixture code (and the engine client, YAML, the spec builder) loads on the first call.
export const startCluster: typeof fixture.startCluster = async (options) => (await import("./fixture.js")).startCluster(options);
export const useCluster: typeof fixture.useCluster = async (name, options) =>
  (await import("./fixture.js")).useCluster(name, options);

export type { ClusterFixtureOptions } from "./fixture.js";
export type { StartedCluster, WaitOptions } from "./started-cluster.js";
export type { KubeObject, ManifestSource, ObjectMeta } from "../core/kube/manifests.js";
export type { ObjectCondition, ObjectRef, ObjectTarget } from "../core/kube/objects.js";
export type { ExecResult } from "../runtime/types.js";
