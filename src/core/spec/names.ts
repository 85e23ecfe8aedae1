import { UsageError } from "../errors.js";

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

/** A Docker network name as the engine accepts it. */
export function validateNetworkName(name: string): string {
  if (!NETWORK_RE.test(name)) throw new UsageError(`invalid network name "${name}"`);
  return name;
}

/** An image reference must at least be one word; the engine judges the rest when it pulls. */
export function validateImage(image: string): string {
  const trimmed = image.trim();
  if (trimmed === "" || /\s/.test(trimmed)) throw new UsageError(`invalid image "${image}"`);
  return trimmed;
}
