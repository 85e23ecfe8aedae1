import { UsageError } from "../errors.js";

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_CLUSTER_NAME = 32;

/** Cluster names become host names and container names, so they must be RFC 1123 labels. */
export function validateClusterName(name: string): string {
  if (name.length === 0) throw new UsageError("invalid cluster name \"\": it must not be empty");
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
