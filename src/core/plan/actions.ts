/** The steps operations are planned as: pure data, run by operations/execute.ts. */
import type { ContainerSpec, FileEntry, NetworkSpec, VolumeSpec } from "../../runtime/types.js";

/**
 * What a node prints once it is up. `server-started` is a server that has begun its start
 * (apiserver launched) but may still be waiting for etcd quorum, which needs its peers.
 */
export type Milestone = "server" | "server-started" | "agent" | "loadbalancer";

export type Action =
  | { readonly type: "ensure-image"; readonly image: string }
  | { readonly type: "ensure-loadbalancer-image"; readonly image: string }
  | { readonly type: "create-network"; readonly network: NetworkSpec }
  | { readonly type: "create-volume"; readonly volume: VolumeSpec }
  | { readonly type: "create-container"; readonly container: ContainerSpec; readonly files: readonly FileEntry[] }
  | { readonly type: "start"; readonly container: string; readonly milestone?: Milestone }
  /** Waits for a milestone of a container started earlier in the same operation. */
  | { readonly type: "wait"; readonly container: string; readonly milestone: Milestone }
  | { readonly type: "stop"; readonly container: string; readonly timeoutSeconds: number }
  | { readonly type: "sequence"; readonly actions: readonly Action[] }
  | { readonly type: "parallel"; readonly actions: readonly Action[] };
