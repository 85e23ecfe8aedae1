/**
 * The KEP-1755 ConfigMap `kube-public/local-registry-hosting`, which tells developer
 * tools (Tilt, Skaffold…) where to push images. k3s applies it from the servers'
 * manifests directory, so it exists as soon as the API does and follows every change.
 */
import { stringify } from "yaml";
import { registryNames } from "./names.js";
import type { RegistryEndpoint } from "./types.js";

/** Where users learn to set up and use a registry with k3box (the README's Registries section). */
export const REGISTRY_HELP_URL = "https://www.npmjs.com/package/k3box#registries";

/** KEP-1755's LocalRegistryHostingV1. */
export interface LocalRegistryHostingV1 {
  readonly host?: string;
  readonly hostFromContainerRuntime?: string;
  readonly hostFromClusterNetwork?: string;
  readonly help: string;
}

/** The data key KEP-1755 defines: one registry. */
export const HOSTING_KEY = "localRegistryHosting.v1";
/** k3box's own key: every registry of the cluster, each in the v1 shape plus its name. */
export const ALL_HOSTING_KEY = "k3box.localRegistryHosting.v1";

export function hostingOf(r: RegistryEndpoint): LocalRegistryHostingV1 {
  const names = registryNames(r);
  return { host: names.host, hostFromContainerRuntime: names.node, hostFromClusterNetwork: names.pod, help: REGISTRY_HELP_URL };
}

/**
 * The ConfigMap manifest. KEP-1755 v1 describes one registry, so `localRegistryHosting.v1`
 * holds the first (the cluster's own, if it has one); every registry is listed under
 * `k3box.localRegistryHosting.v1`. Without registries only `help` is set, which the KEP
 * reads as "no registry yet; here is how to get one".
 */
export function renderHostingManifest(registries: readonly RegistryEndpoint[]): string {
  const [first] = registries;
  const data = {
    [HOSTING_KEY]: stringify(first ? hostingOf(first) : { help: REGISTRY_HELP_URL }),
    [ALL_HOSTING_KEY]: stringify(registries.map((r) => ({ name: r.name, ...hostingOf(r) }))),
  };
  return (
    "# Written by k3box (KEP-1755); `k3box registry connect/disconnect` keep it current.\n" +
    stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "local-registry-hosting", namespace: "kube-public" },
      data,
    })
  );
}

/** Registries in the order the ConfigMap lists them: the cluster's own first, then by name. */
export function hostingOrder<T extends { readonly name: string; readonly owner?: string }>(
  registries: readonly T[],
  cluster: string,
): T[] {
  return [...registries].sort(
    (a, b) => Number(b.owner === cluster) - Number(a.owner === cluster) || a.name.localeCompare(b.name),
  );
}
