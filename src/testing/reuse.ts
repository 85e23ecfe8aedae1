/**
 * Finding a cluster again across test runs: the hash of the resolved spec it was created with,
 * stored in the dialect's reuse label on every object of it.
 */
import { createHash } from "node:crypto";
import type { ContainerInfo, Runtime } from "../runtime/types.js";
import { buildClusterSpec, type ClusterInput, type Dialect } from "../index.js";

/** What a cluster is made of, without what only says how to create it (name, deadline, waiting, kubeconfig, rollback). */
export async function specHash(input: ClusterInput, dialect: Dialect): Promise<string> {
  // The name is left out of the hash, so any valid one will do while the real one is not known yet.
  const spec = await buildClusterSpec({ ...input, name: input.name ?? "reuse" }, { dialect });
  const {
    name: _name,
    timeoutMs: _timeout,
    wait: _wait,
    waitFor: _waitFor,
    kubeconfig: _kubeconfig,
    rollback: _rollback,
    ...shape
  } = spec;
  return createHash("sha256")
    .update(JSON.stringify(canonical({ dialect: dialect.name, ...shape })))
    .digest("hex");
}

/** The same data with its keys sorted and file contents as their hashes, so equal specs serialize alike. */
export function canonical(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { sha256: createHash("sha256").update(value).digest("hex") };
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => [k, canonical(o[k])]),
    );
  }
  return value;
}

/** The reusable clusters' containers on the engine, any hash. */
export function reusableContainers(runtime: Runtime, d: Dialect, signal?: AbortSignal): Promise<ContainerInfo[]> {
  return runtime.listContainers({ [d.labels.managed]: d.managedValue }, signal);
}

/** The cluster among these containers whose objects carry this reuse hash, if any. */
export function reusableCluster(containers: readonly ContainerInfo[], d: Dialect, hash: string): string | undefined {
  return containers
    .filter((c) => c.labels[d.labels.reuse] === hash)
    .map((c) => c.labels[d.labels.cluster])
    .find((name) => name !== undefined);
}
