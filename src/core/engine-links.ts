/**
 * A cluster's nodes on other engines than its own. The cluster's engine keeps one record per
 * other engine: a volume owned by the cluster (so it goes with it) whose label names that engine.
 * The nodes there carry the cluster's name and the ID of the cluster's engine, so that a cluster of
 * the same name belonging to that engine is never touched.
 */
import { createHash } from "node:crypto";
import type { ContainerInfo, Labels, VolumeSpec } from "../runtime/types.js";
import { RuntimeUnavailableError } from "../base/errors.js";
import { managedSelector, type Dialect } from "./dialect.js";
import { clusterSelector } from "./labels.js";
import type { Operation } from "./operation.js";

/** The role label's value on a cluster's record of another engine. */
const ENGINE_LINK_ROLE = "engine";

/** The record, on the cluster's engine, of its nodes on the engine named `endpoint`. */
export function engineLink(d: Dialect, cluster: string, endpoint: string): VolumeSpec {
  const id = createHash("sha256").update(endpoint).digest("hex").slice(0, 12);
  return {
    name: `${d.prefix}-${cluster}-engine-${id}`,
    labels: {
      ...managedSelector(d),
      [d.labels.version]: d.versionValue,
      ...d.extraLabels,
      [d.labels.cluster]: cluster,
      [d.labels.role]: ENGINE_LINK_ROLE,
      [d.labels.engine]: endpoint,
    },
  };
}

/** What carries the cluster's labels on another engine: its nodes there and their volumes. */
export function awaySelector(d: Dialect, cluster: string, homeId: string): Labels {
  return { ...clusterSelector(d, cluster), [d.labels.home]: homeId };
}

export interface LinkedEngine {
  /** The engine's name, as recorded. */
  readonly endpoint: string;
  /** The record on the cluster's engine. */
  readonly link: string;
  /** The operation, on that engine. */
  readonly op: Operation;
  readonly containers: readonly ContainerInfo[];
  readonly volumes: readonly string[];
}

export interface UnreachableEngine {
  readonly endpoint: string;
  readonly link: string;
  readonly error: string;
}

/** A cluster's record, on its own engine, of another engine it has nodes on. */
export interface EngineRecord {
  /** The record's volume. */
  readonly link: string;
  readonly cluster: string;
  /** The other engine's name, as recorded. */
  readonly endpoint: string;
}

/** The records of other engines on this engine: of one cluster, or of all its clusters. */
export async function engineRecords(op: Operation, cluster?: string): Promise<EngineRecord[]> {
  const { runtime, signal, dialect: d } = op;
  const owner = cluster !== undefined ? clusterSelector(d, cluster) : managedSelector(d);
  const links = await runtime.listVolumes({ ...owner, [d.labels.role]: ENGINE_LINK_ROLE }, signal);
  const labels = await Promise.all(links.map(async (link) => (await runtime.inspectVolume(link, signal))?.labels));
  return links.flatMap((link, i) => {
    const endpoint = labels[i]?.[d.labels.engine];
    const owned = labels[i]?.[d.labels.cluster];
    return endpoint !== undefined && owned !== undefined ? [{ link, cluster: owned, endpoint }] : [];
  });
}

/**
 * The other engines a cluster has nodes on, with what the cluster has there. An engine that
 * cannot be reached fails the call (RuntimeUnavailableError, exit 3) naming it, unless `lenient`,
 * which returns it as unreachable instead.
 */
export async function linkedEngines(op: Operation, cluster: string): Promise<LinkedEngine[]>;
export async function linkedEngines(
  op: Operation,
  cluster: string,
  lenient: true,
): Promise<Array<LinkedEngine | UnreachableEngine>>;
export async function linkedEngines(
  op: Operation,
  cluster: string,
  lenient = false,
): Promise<Array<LinkedEngine | UnreachableEngine>> {
  const { runtime, signal, dialect: d } = op;
  const records = await engineRecords(op, cluster);
  if (records.length === 0) return [];
  const homeId = (await runtime.info(signal)).id;
  return Promise.all(
    records.map(async ({ link, endpoint }) => {
      try {
        const there = op.on(op.openEngine(endpoint));
        const selector = awaySelector(d, cluster, homeId);
        const [containers, volumes] = await Promise.all([
          there.runtime.listContainers(selector, signal),
          there.runtime.listVolumes(selector, signal),
        ]);
        return { endpoint, link, op: there, containers, volumes };
      } catch (err) {
        if (!(err instanceof RuntimeUnavailableError)) throw err;
        const error = `cluster "${cluster}" has nodes on engine ${endpoint}, which cannot be reached: ${err.message}`;
        if (!lenient) throw new RuntimeUnavailableError(error);
        return { endpoint, link, error };
      }
    }),
  );
}

export function isReachable(e: LinkedEngine | UnreachableEngine): e is LinkedEngine {
  return "op" in e;
}

/** The cluster's containers on its own engine and on every other engine it has nodes on. */
export async function spannedContainers(op: Operation, cluster: string): Promise<ContainerInfo[]> {
  const [home, away] = await Promise.all([
    op.runtime.listContainers(clusterSelector(op.dialect, cluster), op.signal),
    linkedEngines(op, cluster),
  ]);
  return [...home, ...away.flatMap((e) => e.containers)];
}

/** A node found on another engine than the one asked. */
export interface NodeElsewhere {
  readonly endpoint: string;
  /** The operation, on that engine. */
  readonly op: Operation;
  readonly container: ContainerInfo;
}

/**
 * Nodes by container name on the other engines the clusters of this engine have nodes on, for
 * names this engine does not know. Only nodes of this engine's clusters count; engines that do
 * not answer are returned by name, so a miss can say where it could not look.
 */
export async function findElsewhere(
  op: Operation,
  names: readonly string[],
): Promise<{ found: Map<string, NodeElsewhere>; unreachable: string[] }> {
  const found = new Map<string, NodeElsewhere>();
  const unreachable: string[] = [];
  const { runtime, signal, dialect: d } = op;
  const endpoints = new Set(names.length === 0 ? [] : (await engineRecords(op)).map((r) => r.endpoint));
  if (endpoints.size === 0) return { found, unreachable };
  const homeId = (await runtime.info(signal)).id;
  for (const endpoint of endpoints) {
    try {
      const there = op.on(op.openEngine(endpoint));
      const containers = await Promise.all(names.map((n) => there.runtime.inspectContainer(n, signal)));
      containers.forEach((c, i) => {
        const name = names[i] as string;
        if (c !== undefined && c.labels[d.labels.home] === homeId && !found.has(name))
          found.set(name, { endpoint, op: there, container: c });
      });
    } catch (err) {
      if (!(err instanceof RuntimeUnavailableError)) throw err;
      unreachable.push(endpoint);
    }
  }
  return { found, unreachable };
}
