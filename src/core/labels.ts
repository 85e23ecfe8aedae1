/** Reading and selecting by the labels of a dialect (core/dialect.ts holds the keys). */
import type { Labels } from "../runtime/types.js";
import { K3BOX, type Dialect } from "./dialect.js";

/** k3box's own label keys, for code and tests that only ever speak k3box's dialect. */
export const LABEL = K3BOX.labels;

/** The role label's value on registries. */
export const REGISTRY_ROLE = "registry";

export function clusterSelector(d: Dialect, cluster: string): Labels {
  return { [d.labels.managed]: d.managedValue, [d.labels.cluster]: cluster };
}

export function registrySelector(d: Dialect): Labels {
  return { [d.labels.managed]: d.managedValue, [d.labels.role]: REGISTRY_ROLE };
}

/** https://HOST:PORT of the cluster's API as published on the host, from any of its nodes' labels. */
export function apiServerUrl(d: Dialect, labels: Labels, unknownPort = ""): string {
  const given = labels[d.labels.apiServer];
  if (given !== undefined) return given;
  const host = labels[d.labels.apiHost];
  // k3d records the address it binds (0.0.0.0) as the host; a client reaches that socket on loopback.
  const reachable = host === undefined || host === "0.0.0.0" ? "127.0.0.1" : host;
  return `https://${reachable}:${labels[d.labels.apiPort] ?? unknownPort}`;
}

export type NodeKind = "server" | "agent" | "loadbalancer" | "datastore";

/** What a container is to its cluster, read from its labels. */
export function roleOf(d: Dialect, c: { readonly labels: Labels }): NodeKind {
  return (c.labels[d.labels.role] ?? "agent") as NodeKind;
}

/** The node's index in its role: its label, else (a node k3d made) the number its name ends in. */
export function indexOf(d: Dialect, c: { readonly name?: string; readonly labels: Labels }): number {
  const label = c.labels[d.labels.index];
  if (label !== undefined) return Number(label);
  return Number(/-(\d+)$/.exec(c.name ?? "")?.[1] ?? 0);
}
