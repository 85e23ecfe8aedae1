/** Names of the Docker objects of a cluster; one place so every command agrees. */
export const PREFIX = "k3box";

export function networkName(cluster: string): string {
  return `${PREFIX}-${cluster}`;
}

export function nodeName(cluster: string, role: "server" | "agent", index: number): string {
  return `${PREFIX}-${cluster}-${role}-${index}`;
}

export function loadBalancerName(cluster: string): string {
  return `${PREFIX}-${cluster}-serverlb`;
}

export function nodeVolumeName(node: string): string {
  return `${node}-data`;
}

export function contextName(cluster: string): string {
  return `${PREFIX}-${cluster}`;
}

/** Where every node writes its admin kubeconfig (K3S_KUBECONFIG_OUTPUT). */
export const KUBECONFIG_OUTPUT = "/output/kubeconfig.yaml";
export const K3S_DATA_DIR = "/var/lib/rancher/k3s";

/** A registry's container, which is also its host name on every network it joins. */
export function registryContainerName(registry: string): string {
  return `${PREFIX}-${registry}`;
}

/** Where k3s reads its registry configuration; k3box writes it into every node. */
export const REGISTRIES_YAML_PATH = "/etc/rancher/k3s/registries.yaml";
/** containerd's per-registry host configs, which k3s renders from registries.yaml at start. */
export const CONTAINERD_CERTS_DIR = `${K3S_DATA_DIR}/agent/etc/containerd/certs.d`;
/** The KEP-1755 ConfigMap, applied by k3s' auto-deploy from the servers' manifests directory. */
export const REGISTRY_HOSTING_MANIFEST_PATH = `${K3S_DATA_DIR}/server/manifests/k3box-local-registry-hosting.yaml`;
