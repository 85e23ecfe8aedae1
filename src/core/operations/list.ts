import type { RuntimeInfo } from "../../runtime/types.js";
import { NotFoundError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { clusterStatus, containersByCluster, importModeOf, type ClusterStatus, type ElsewhereNodes } from "../cluster-status.js";
import type { ImageImportMode } from "../images/import-mode.js";
import { engineRecords, isReachable, linkedEngines } from "../engine-links.js";
import { clusterSelector } from "../labels.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";

/** The cluster's nodes on other engines; one that cannot be reached is reported, not fatal. */
async function elsewhere(op: Operation, cluster: string): Promise<ElsewhereNodes> {
  const found = await linkedEngines(op, cluster, true);
  return {
    nodes: found.filter(isReachable).map((e) => ({ engine: e.endpoint, containers: e.containers })),
    unreachable: found.flatMap((e) => (isReachable(e) ? [] : [{ engine: e.endpoint, error: e.error }])),
  };
}

export function listClusters(options: OperationOptions = {}): Promise<ClusterStatus[]> {
  return runOperation("listing clusters", options, clusterStatuses);
}

/** Every cluster on the engine, with its nodes on other engines. */
export async function clusterStatuses(op: Operation): Promise<ClusterStatus[]> {
  const { runtime, signal, dialect: d } = op;
  const [byCluster, records] = await Promise.all([containersByCluster(runtime, d, signal), engineRecords(op)]);
  // Only clusters with nodes on other engines cost more than the one listing.
  const spanning = new Set(records.map((r) => r.cluster));
  return Promise.all(
    byCluster.map(async ([n, cs]) => clusterStatus(d, n, cs, spanning.has(n) ? await elsewhere(op, n) : undefined)),
  );
}

export function getCluster(name: string, options: OperationOptions = {}): Promise<ClusterStatus> {
  validateClusterName(name);
  return runOperation(`reading cluster "${name}"`, options, async (op) => {
    const status = await observeSpanning(op, name);
    if (status === undefined) throw new NotFoundError(`cluster "${name}" not found`);
    return status;
  });
}

/**
 * How `image import` delivers to the cluster when given no mode. Read from its containers on this
 * engine alone: unlike getCluster, it connects to none of the engines its other nodes run on.
 */
export function clusterImportMode(name: string, options: OperationOptions = {}): Promise<ImageImportMode> {
  validateClusterName(name);
  return runOperation(`reading cluster "${name}"`, options, async (op) => {
    const containers = await op.runtime.listContainers(clusterSelector(op.dialect, name), op.signal);
    if (containers.length === 0) throw new NotFoundError(`cluster "${name}" not found`);
    return importModeOf(op.dialect, containers);
  });
}

/** A cluster with its nodes on other engines; undefined when this engine has none of it. */
export async function observeSpanning(op: Operation, name: string): Promise<ClusterStatus | undefined> {
  const [containers, away] = await Promise.all([
    op.runtime.listContainers(clusterSelector(op.dialect, name), op.signal),
    elsewhere(op, name),
  ]);
  return containers.length === 0 ? undefined : clusterStatus(op.dialect, name, containers, away);
}

/** The engine k3box talks to: name, version, API version, platform. */
export function engineInfo(options: OperationOptions = {}): Promise<RuntimeInfo> {
  return runOperation("reading the engine's version", options, ({ runtime, signal }) => runtime.info(signal));
}
