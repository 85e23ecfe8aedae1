/** Paths inside a k3s node that k3box writes or reads. */

/** Where every node writes its admin kubeconfig (K3S_KUBECONFIG_OUTPUT). */
export const KUBECONFIG_OUTPUT = "/output/kubeconfig.yaml";
export const K3S_DATA_DIR = "/var/lib/rancher/k3s";

/** Where k3s reads its registry configuration; k3box writes it into every node. */
export const REGISTRIES_YAML_PATH = "/etc/rancher/k3s/registries.yaml";
/** containerd's per-registry host configs, which k3s renders from registries.yaml at start. */
export const CONTAINERD_CERTS_DIR = `${K3S_DATA_DIR}/agent/etc/containerd/certs.d`;
/** The KEP-1755 ConfigMap, applied by k3s' auto-deploy from the servers' manifests directory. */
export const REGISTRY_HOSTING_MANIFEST_PATH = `${K3S_DATA_DIR}/server/manifests/k3box-local-registry-hosting.yaml`;

/**
 * A k3s config drop-in with the servers' datastore endpoint: read by k3s like config.yaml, and,
 * unlike an argument or a variable, shown by no `ps` or `docker inspect`.
 */
export const DATASTORE_CONFIG_PATH = "/etc/rancher/k3s/config.yaml.d/50-k3box-datastore.yaml";
