import { UsageError } from "../../base/errors.js";
import { parseImageReference } from "./images.js";

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_CLUSTER_NAME = 32;

/** Cluster names become host names and container names, so they must be RFC 1123 labels. */
export function validateClusterName(name: string): string {
  if (name.length === 0) throw new UsageError('invalid cluster name "": it must not be empty');
  if (name.length > MAX_CLUSTER_NAME) {
    throw new UsageError(`invalid cluster name "${name}": at most ${MAX_CLUSTER_NAME} characters`);
  }
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `invalid cluster name "${name}": use lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

const NETWORK_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Docker's own networks that give a container no network of its own to share with other nodes. */
const UNUSABLE_NETWORKS: ReadonlyMap<string, string> = new Map([
  ["host", "the nodes would share the host's network and ports"],
  ["none", "the nodes would have no network"],
]);

/** A Docker network name as the engine accepts it, and one that k3s nodes can share. */
export function validateNetworkName(name: string): string {
  if (!NETWORK_RE.test(name)) throw new UsageError(`invalid network name "${name}"`);
  const why = UNUSABLE_NETWORKS.get(name);
  if (why !== undefined) {
    throw new UsageError(`network "${name}" cannot hold k3s nodes: ${why}; use a bridge network (or leave --network out)`);
  }
  return name;
}

/** An image reference as Docker reads it: `[DOMAIN[:PORT]/]PATH[:TAG][@DIGEST]`, lowercase path. */
export function validateImage(image: string): string {
  const trimmed = image.trim();
  if (parseImageReference(trimmed) === undefined) {
    throw new UsageError(
      `invalid image "${image}": use [REGISTRY/]NAME[:TAG][@DIGEST], the name in lowercase letters, digits and separators`,
    );
  }
  return trimmed;
}
