/** The k3s release a cluster runs unless told otherwise. */
export const DEFAULT_K3S_IMAGE = "docker.io/rancher/k3s:v1.35.5-k3s1";
/**
 * The load balancer: the official nginx image (its stream module is compiled in), pinned, so
 * that it can be pulled, saved and preloaded like any other image; k3box writes its nginx.conf.
 */
export const DEFAULT_LOADBALANCER_IMAGE = "docker.io/library/nginx:1.30.6-alpine";
export const DEFAULT_CLUSTER_NAME = "k3s-default";
/** Seconds a node gets to shut down when stopped before it is killed. */
export const DEFAULT_STOP_TIMEOUT_SECONDS = 30;
/** The port k3s serves its API on inside every server. */
export const K3S_API_PORT = 6443;
