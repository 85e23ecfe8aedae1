/**
 * Clusters as test fixtures: started with a unique name (or found again with `reuse`), with the
 * user's kubeconfig left alone, a reaper for when the test process dies, and a handle that ends
 * the cluster when it is disposed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { deadlineSignal, sleep } from "../base/abort.js";
import { ConflictError, NotFoundError } from "../base/errors.js";
import { toTimeoutMs } from "../core/cluster-spec/duration.js";
import { clusterSelector } from "../core/labels.js";
import { clusterRef } from "../core/cluster-ref.js";
import { parseManifests } from "../core/kube/manifests.js";
import { credentialsOf } from "../core/kubeconfig/entries.js";
import { clusterReadiness, notReadyNow, waitForCluster } from "../core/readiness/cluster.js";
import {
  createCluster,
  deleteCluster,
  DEFAULT_READY_LEVEL,
  DockerRuntime,
  getKubeconfig,
  K3BOX,
  parseReadyLevel,
  serializeKubeconfig,
  startCluster as startClusterNodes,
  type ClusterInput,
  type ClusterSpec,
  type Dialect,
  type EventSink,
  type KubeConfig,
  type ReadyLevel,
  type Runtime,
} from "../index.js";
import { reusableCluster, reusableContainers, specHash } from "./reuse.js";
import { reaperSession, reaperWanted } from "./session.js";
import { type ClusterEngine, recordBaseline, StartedCluster } from "./started-cluster.js";

export interface ClusterFixtureOptions extends ClusterInput {
  /**
   * Use the running cluster started earlier with the same options (found by a hash of the resolved
   * spec), or start one that outlives this process: dispose leaves it running and no reaper
   * removes it. Without a name it is named after the hash.
   */
  readonly reuse?: boolean;
  /** The start of generated names: `PREFIX-<random>` (default `test`). */
  readonly prefix?: string;
  /**
   * Whether a reaper removes the cluster if this process dies without disposing it (default: yes,
   * unless `K3BOX_REAPER=false`); reused clusters never get one.
   */
  readonly reaper?: boolean;
  readonly runtime?: Runtime;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  readonly dialect?: Dialect;
}

/** A fixture's create, or a wait for a reused cluster, gives up after this unless told otherwise. */
const DEFAULT_TIMEOUT = "5m";
const DEFAULT_PREFIX = "test";

/**
 * Starts a cluster for a test and waits until it is ready: `await using cluster = await startCluster({ agents: 1 })`.
 * The user's kubeconfig is not touched unless `updateDefaultKubeconfig: true`.
 */
export async function startCluster(options: ClusterFixtureOptions = {}): Promise<StartedCluster> {
  const { reuse = false, prefix = DEFAULT_PREFIX, reaper, runtime, onEvent, signal, dialect = K3BOX, ...given } = options;
  const engine: ClusterEngine = {
    runtime: runtime ?? new DockerRuntime(),
    dialect,
    ...(onEvent ? { onEvent } : {}),
    ...(signal ? { signal } : {}),
  };
  const input: ClusterInput = {
    timeout: DEFAULT_TIMEOUT,
    ...given,
    updateDefaultKubeconfig: given.updateDefaultKubeconfig ?? false,
  };
  if (reuse) return startReused(input, prefix, engine);
  const name = input.name ?? `${prefix}-${randomBytes(3).toString("hex")}`;
  const session = reaperWanted(reaper) ? await reaperSession(engine) : undefined;
  const dir = await mkdtemp(join(tmpdir(), "k3box-fixture-"));
  try {
    const created = await createCluster(
      { ...input, name },
      { ...engine, labels: session !== undefined ? { [dialect.labels.session]: session } : {} },
    );
    try {
      return await open(name, engine, { owned: true, reused: false, input, spec: created.spec, dir });
    } catch (err) {
      // A fixture that cannot be handed out leaves nothing behind.
      const kubeconfig = input.updateDefaultKubeconfig ? {} : { kubeconfigPath: join(dir, "kubeconfig") };
      await deleteCluster(name, { ...engine, ...kubeconfig, ignoreMissing: true });
      throw err;
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A handle on a running cluster this process did not start (shared by a global setup, say); dispose leaves it running. */
export async function useCluster(
  name: string,
  options: Pick<ClusterFixtureOptions, "runtime" | "onEvent" | "signal" | "dialect" | "waitFor" | "timeout"> = {},
): Promise<StartedCluster> {
  const { runtime, onEvent, signal, dialect = K3BOX, ...input } = options;
  const engine: ClusterEngine = {
    runtime: runtime ?? new DockerRuntime(),
    dialect,
    ...(onEvent ? { onEvent } : {}),
    ...(signal ? { signal } : {}),
  };
  return open(name, engine, { owned: false, reused: true, input: { timeout: DEFAULT_TIMEOUT, ...input } });
}

async function startReused(input: ClusterInput, prefix: string, engine: ClusterEngine): Promise<StartedCluster> {
  const { runtime, dialect } = engine;
  // The hash (the spec builder) and the engine (its client) load at the same time: this is the
  // whole cost of a later run beyond one readiness check.
  const [hash, containers] = await Promise.all([specHash(input, dialect), reusableContainers(runtime, dialect, engine.signal)]);
  const found = reusableCluster(containers, dialect, hash);
  if (found !== undefined) return open(found, engine, { owned: false, reused: true, input });
  const name = input.name ?? `${prefix}-${hash.slice(0, 12)}`;
  try {
    const created = await createCluster({ ...input, name }, { ...engine, labels: { [dialect.labels.reuse]: hash } });
    return await open(name, engine, { owned: false, reused: false, input, spec: created.spec });
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    // Another process with the same options created it first: wait until it is complete.
    const other = reusableCluster(await reusableContainers(runtime, dialect, engine.signal), dialect, hash);
    if (other !== name) {
      throw new ConflictError(
        `cluster "${name}" exists but was not started with these options as a reusable fixture: delete it or choose another name`,
        { cause: err },
      );
    }
    return open(name, engine, { owned: false, reused: true, input, expectNodes: (input.servers ?? 1) + (input.agents ?? 0) });
  }
}

interface OpenOptions {
  readonly owned: boolean;
  /** Whether the cluster was there before this call (found again, or attached to). */
  readonly reused: boolean;
  readonly input: ClusterInput;
  /** The spec the cluster was just created from: its manifests' namespaces count as the cluster's own. */
  readonly spec?: ClusterSpec;
  /** A cluster another process is still creating: wait until this many k3s nodes run. */
  readonly expectNodes?: number;
  /** The handle's private directory, if made already; otherwise open makes one. */
  readonly dir?: string;
}

/** The handle on a cluster: started if stopped, ready at the asked level, its starting namespaces recorded. */
async function open(name: string, engine: ClusterEngine, o: OpenOptions): Promise<StartedCluster> {
  const { runtime, dialect } = engine;
  const level: ReadyLevel = o.input.waitFor === undefined ? DEFAULT_READY_LEVEL : parseReadyLevel(o.input.waitFor);
  const deadline = deadlineSignal(`opening cluster "${name}"`, toTimeoutMs(o.input.timeout), engine.signal);
  const signal = deadline.signal;
  try {
    let containers = await runtime.listContainers(clusterSelector(dialect, name), signal);
    if (o.expectNodes !== undefined) containers = await untilRunning(engine, name, o.expectNodes, signal);
    if (containers.length === 0) throw new NotFoundError(`cluster "${name}" not found`);
    if (!containers.every((c) => c.running)) {
      await startClusterNodes(name, { ...engine, signal, waitFor: level });
      containers = await runtime.listContainers(clusterSelector(dialect, name), signal);
    }
    const config: KubeConfig = await getKubeconfig(name, { ...engine, signal });
    const creds = credentialsOf(config);
    const readiness = clusterReadiness(clusterRef(dialect, name, containers), level);
    // A cluster up for a while needs one look; one still coming up is waited for as create waits.
    if ((await notReadyNow(creds, readiness, signal).catch((err: Error) => err.message)) !== undefined) {
      await waitForCluster(creds, readiness, { onEvent: engine.onEvent ?? (() => {}), signal });
    }
    await recordBaseline(creds, dialect, signal, o.spec ? specNamespaces(o.spec) : []);
    const dir = o.dir ?? (await mkdtemp(join(tmpdir(), "k3box-fixture-")));
    return new StartedCluster({
      name,
      engine,
      config,
      kubeconfig: await serializeKubeconfig(config),
      containers,
      owned: o.owned,
      reused: o.reused,
      inDefaultKubeconfig: o.owned && o.input.updateDefaultKubeconfig === true,
      dir,
      waitFor: level,
    });
  } finally {
    deadline.dispose();
  }
}

/** The cluster's containers once `nodes` k3s nodes and everything else of it run. */
async function untilRunning(engine: ClusterEngine, name: string, nodes: number, signal: AbortSignal) {
  const { runtime, dialect } = engine;
  for (;;) {
    const containers = await runtime.listContainers(clusterSelector(dialect, name), signal);
    const ref = clusterRef(dialect, name, containers);
    if (ref.servers.length + ref.agents.length >= nodes && containers.every((c) => c.running)) return containers;
    await sleep(500, signal);
  }
}

/** Namespaces the cluster's own manifests and charts make, which k3s may create after the cluster is ready. */
function specNamespaces(spec: ClusterSpec): string[] {
  const names = new Set(spec.charts.flatMap((c) => (c.namespace !== undefined ? [c.namespace] : [])));
  for (const f of spec.files) {
    if (f.origin !== "manifest" && f.origin !== "bundle") continue;
    try {
      for (const o of parseManifests(f.content.toString(), f.raw)) {
        if (o.kind === "Namespace" && o.metadata.name !== undefined) names.add(o.metadata.name);
        if (o.metadata.namespace !== undefined) names.add(o.metadata.namespace);
      }
    } catch {
      // Not a manifest k3box can read (a chart archive, say): k3s decides what it makes.
    }
  }
  return [...names];
}
