/**
 * The vocabulary of plans: every change an operation makes to the engine, as plain data.
 * Planners return a tree of these; the executor carries them out, and each kind records
 * its own undo as it runs.
 */
import type { ContainerSpec, FileEntry, NetworkSpec, VolumeSpec } from "../../runtime/types.js";
import type { DatastoreEngine } from "../datastore/engines.js";
import type { ReadyLevel } from "../readiness/levels.js";

/**
 * What a node prints once it is up. `server-started` is a server that has begun its start
 * (apiserver launched) but may still be waiting for etcd quorum, which needs its peers.
 */
export type Milestone = "server" | "server-started" | "agent" | "loadbalancer";

/** Files to put into a container, and paths to remove from it. */
export interface FileChange {
  readonly files: readonly FileEntry[];
  readonly remove?: readonly string[];
}

export type Action =
  | { readonly type: "ensure-image"; readonly image: string }
  | { readonly type: "create-network"; readonly network: NetworkSpec }
  | { readonly type: "create-volume"; readonly volume: VolumeSpec }
  | {
      readonly type: "create-container";
      readonly container: ContainerSpec;
      /** Put into the container after it is created, before it first starts. */
      readonly files: readonly FileEntry[];
      /**
       * A k3s node joining this running cluster: undoing it also deletes its Node object and node
       * password from the API, so a node that got as far as registering does not block its name.
       */
      readonly joins?: string;
    }
  | {
      readonly type: "start";
      readonly container: string;
      readonly milestone?: Milestone;
      /** Undo stops it again (a container that existed before the operation). */
      readonly reversible?: boolean;
    }
  | {
      readonly type: "stop";
      readonly container: string;
      readonly timeoutSeconds: number;
      /** Undo starts it again. */
      readonly reversible?: boolean;
    }
  /** Undo renames it back. */
  | { readonly type: "rename"; readonly container: string; readonly to: string }
  /**
   * Removes a container for good (and its anonymous volumes); plans put it last: once it is gone,
   * nothing done before it is undone any more (the operation's undo stack is cleared).
   */
  | { readonly type: "remove-container"; readonly container: string }
  | { readonly type: "remove-volume"; readonly volume: string }
  /** Removes a network, first letting go of whatever else joined it. */
  | { readonly type: "remove-network"; readonly network: string }
  /**
   * Streams one entry of a bundle file into a container as a file (the node images archive, too big
   * to hold in memory); the bytes are checked against the entry's sum on the way. Its container's
   * removal undoes it.
   */
  | {
      readonly type: "copy-bundle-entry";
      readonly container: string;
      readonly bundle: string;
      readonly entry: { readonly path: string; readonly size: number; readonly sha256: string };
      readonly destination: string;
    }
  /** Writes files (and removes paths) in a container; with `restore`, undo applies that change back. */
  | { readonly type: "change-files"; readonly container: string; readonly change: FileChange; readonly restore?: FileChange }
  /**
   * Attaches a container to a network under its own name; undo detaches it. A container left on
   * no network by a detach goes back to `fallback`, so its published ports keep working.
   */
  | { readonly type: "connect-network"; readonly network: string; readonly container: string; readonly fallback?: string }
  /** The reverse of connect-network; undo attaches it again. */
  | { readonly type: "disconnect-network"; readonly network: string; readonly container: string; readonly fallback?: string }
  /** Until the registry's `/v2/` answers at this host address. */
  | { readonly type: "wait-registry"; readonly container: string; readonly address: string }
  /**
   * Until the database k3box runs as the cluster's datastore accepts connections, asked with its
   * own client inside its container; from then on it must stay up for the rest of the operation.
   */
  | { readonly type: "wait-datastore"; readonly container: string; readonly engine: DatastoreEngine }
  /** Waits for a milestone of a container started earlier in the same operation. */
  | { readonly type: "wait"; readonly container: string; readonly milestone: Milestone }
  /** Until the cluster is ready at that level, through its published address (the load balancer, if any). */
  | { readonly type: "wait-ready"; readonly cluster: string; readonly level: ReadyLevel }
  /**
   * Renders the load balancer's config for the cluster's nodes as they are when it runs (leaving
   * out `exclude`) and applies it in place; undo puts the previous config back.
   */
  | { readonly type: "update-loadbalancer"; readonly cluster: string; readonly exclude?: readonly string[] }
  /** Deletes Node objects (and node passwords) through the API, as far as it answers in a few seconds. */
  | { readonly type: "remove-node-objects"; readonly cluster: string; readonly nodes: readonly string[] }
  | { readonly type: "sequence"; readonly actions: readonly Action[] }
  | { readonly type: "parallel"; readonly actions: readonly Action[] };

export const sequence = (actions: readonly Action[]): Action => ({ type: "sequence", actions });
export const parallel = (actions: readonly Action[]): Action => ({ type: "parallel", actions });
