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
