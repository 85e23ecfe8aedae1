/**
 * A running cluster as a test holds it: its API reached with the admin certificate (apply, wait,
 * delete, reset), its nodes through the engine (exec, logs, images), its lifecycle, and its end.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { deadlineSignal } from "../base/abort.js";
import { ConflictError, NotFoundError } from "../base/errors.js";
import { toTimeoutMs } from "../core/cluster-spec/duration.js";
import { Discovery } from "../core/kube/discovery.js";
import { readManifests, type KubeObject, type ManifestSource } from "../core/kube/manifests.js";
import {
  applyObjects,
  deleteObject,
  getObject,
  labelledObjects,
  locate,
  waitForObject,
  type Located,
  type ObjectCondition,
  type ObjectRef,
  type ObjectTarget,
} from "../core/kube/objects.js";
import { jsonBody, kubeCall, kubeJson } from "../core/kube/request.js";
import { credentialsOf } from "../core/kubeconfig/entries.js";
import { writeKubeconfigFile } from "../core/kubeconfig/file.js";
import type { KubeConfig } from "../core/kubeconfig/model.js";
import { pollUntil, type ClientCredentials } from "../core/readiness/api.js";
import {
  deleteCluster,
  importImages,
  startCluster as startClusterNodes,
  stopCluster,
  type Dialect,
  type EventSink,
  type ImageSource,
  type ImportResult,
  type ReadyLevel,
  type Runtime,
} from "../index.js";
import type { ContainerInfo, ExecResult, PublishedPort } from "../runtime/types.js";

/** A deadline (`30s`, `2m`, milliseconds) and a signal that cancels. */
export interface WaitOptions {
  readonly timeout?: string | number;
  readonly signal?: AbortSignal;
}

const DEFAULT_APPLY_TIMEOUT = "1m";
const DEFAULT_WAIT_TIMEOUT = "2m";
const DEFAULT_RESET_TIMEOUT = "2m";
/** Who owns what apply writes (server-side apply's field manager). */
const FIELD_MANAGER = "k3box";

/** The engine side of a cluster handle. */
export interface ClusterEngine {
  readonly runtime: Runtime;
  readonly dialect: Dialect;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
}

export interface ClusterHandle {
  readonly name: string;
  readonly engine: ClusterEngine;
  readonly config: KubeConfig;
  readonly kubeconfig: string;
  /** Its containers (servers, agents, load balancer) as they were when the handle was made. */
  readonly containers: readonly ContainerInfo[];
  /** Whether dispose deletes the cluster (this handle created it, not for reuse). */
  readonly owned: boolean;
  /** Whether the cluster was there before the handle was asked for. */
  readonly reused: boolean;
  /** Whether create merged it into the default kubeconfig (asked for): then delete takes it out again. */
  readonly inDefaultKubeconfig: boolean;
  /** A private directory for its kubeconfig file, removed on dispose. */
  readonly dir: string;
  readonly waitFor: ReadyLevel;
}

export class StartedCluster implements AsyncDisposable {
  readonly name: string;
  /** https://HOST:PORT of the API as published on the host. */
  readonly server: string;
  /** The cluster's kubeconfig (admin), as YAML. */
  readonly kubeconfig: string;
  /** The kubeconfig's context of the cluster. */
  readonly context: string;
  /** The k3s nodes (servers, then agents) by container name, which is also their Kubernetes name. */
  readonly nodes: readonly string[];
  /** True when the cluster was there before (found again with `reuse`, or attached with useCluster). */
  readonly reused: boolean;
  private readonly creds: ClientCredentials;
  private readonly discovery: Discovery;
  private readonly engine: ClusterEngine;
  private readonly ports: readonly PublishedPort[];
  private readonly loadBalancer: string | undefined;
  private disposed: Promise<void> | undefined;

  constructor(private readonly handle: ClusterHandle) {
    const d = handle.engine.dialect;
    this.name = handle.name;
    this.engine = handle.engine;
    this.kubeconfig = handle.kubeconfig;
    this.context = handle.config["current-context"];
    this.creds = credentialsOf(handle.config);
    this.server = this.creds.server;
    this.discovery = new Discovery(this.creds);
    this.reused = handle.reused;
    const role = (c: ContainerInfo) => c.labels[d.labels.role];
    const index = (c: ContainerInfo) => Number(c.labels[d.labels.index] ?? 0);
    const byRole = (r: string) =>
      handle.containers
        .filter((c) => role(c) === r)
        .sort((a, b) => index(a) - index(b))
        .map((c) => c.name);
    this.nodes = [...byRole("server"), ...byRole("agent")];
    this.loadBalancer = byRole("loadbalancer")[0];
    // The load balancer's ports first: they reach every node.
    this.ports = [...handle.containers]
      .sort((a, b) => Number(role(b) === "loadbalancer") - Number(role(a) === "loadbalancer"))
      .flatMap((c) => c.ports);
  }

  /**
   * Writes the kubeconfig to a file (mode 0600) and returns its path: by default a file of the
   * fixture's own, removed on dispose; a path given is the caller's and stays.
   */
  async writeKubeconfig(path: string = join(this.handle.dir, "kubeconfig")): Promise<string> {
    await writeKubeconfigFile(path, this.handle.config);
    return path;
  }

  /**
   * `http://127.0.0.1:PORT` (or `scheme`) of a container port the cluster publishes: through the
   * load balancer (`ports: ["80@loadbalancer"]`), else on a node directly.
   */
  url(containerPort: number, scheme = "http"): string {
    const p = this.ports.find((x) => x.containerPort === containerPort && x.protocol === "tcp");
    if (p === undefined) {
      const published = [...new Set(this.ports.map((x) => `${x.containerPort}/${x.protocol}`))].join(", ");
      throw new NotFoundError(
        `cluster "${this.name}" publishes no port ${containerPort} (it publishes ${published || "none"}); start it with ports: ["${containerPort}@loadbalancer"]`,
      );
    }
    const host = p.hostIp === "" || p.hostIp === "0.0.0.0" ? "127.0.0.1" : p.hostIp === "::" ? "[::1]" : p.hostIp;
    return `${scheme}://${host}:${p.hostPort}`;
  }

  /**
   * Applies manifests with server-side apply, each object labelled so that `reset()` removes it:
   * YAML or JSON text, objects, a file or a directory of them, or a list of these. Namespaces and
   * CRDs go first, and objects of a CRD applied here wait until it is served. Returns each object's reference.
   */
  async apply(manifests: ManifestSource, options: WaitOptions = {}): Promise<ObjectRef[]> {
    const objects = await readManifests(manifests);
    return this.within("applying manifests", options, DEFAULT_APPLY_TIMEOUT, (signal) =>
      applyObjects(this.creds, this.discovery, objects, {
        fieldManager: FIELD_MANAGER,
        labels: { [this.engine.dialect.labels.applied]: "true" },
        signal,
      }),
    );
  }

  /** The object as the API has it now; undefined when there is none. */
  async get(target: ObjectTarget, options: WaitOptions = {}): Promise<KubeObject | undefined> {
    return this.within("reading an object", options, DEFAULT_WAIT_TIMEOUT, async (signal) =>
      getObject(this.creds, await locate(this.discovery, target, signal), signal),
    );
  }

  /**
   * Waits until the object meets the condition and returns it: a condition type that must be True
   * (`Available`, `Ready`, `Established`, `Complete`...; a workload's status must be for its
   * current generation), `exists`, `deleted`, or a test of the object. Default deadline 2 minutes.
   */
  async waitFor(target: ObjectTarget, condition: ObjectCondition, options: WaitOptions = {}): Promise<KubeObject | undefined> {
    return this.within("waiting for an object", options, DEFAULT_WAIT_TIMEOUT, async (signal) =>
      waitForObject(this.creds, await locate(this.discovery, target, signal), condition, signal),
    );
  }

  /** Deletes the object and, unless `wait: false`, waits until it is gone; false when there was none. */
  async delete(target: ObjectTarget, options: WaitOptions & { readonly wait?: boolean } = {}): Promise<boolean> {
    return this.within("deleting an object", options, DEFAULT_WAIT_TIMEOUT, async (signal) => {
      const at = await locate(this.discovery, target, signal);
      const existed = await deleteObject(this.creds, at, signal);
      if (existed && options.wait !== false) await waitForObject(this.creds, at, "deleted", signal);
      return existed;
    });
  }

  /** Imports images from the engine (names), archives (paths) or streams into every node. */
  importImages(sources: readonly ImageSource[]): Promise<ImportResult> {
    return importImages(this.name, sources, this.operationOptions());
  }

  /** Runs a command in a node (`server-0`, `agent-1`, `loadbalancer` or the container's name). */
  async exec(node: string, argv: readonly string[]): Promise<ExecResult> {
    return this.engine.runtime.exec(this.container(node), argv, {}, this.engine.signal);
  }

  /** A node's log so far (stdout and stderr), the last `tail` lines if given. */
  async logs(node: string, options: { readonly tail?: number } = {}): Promise<string> {
    const lines: string[] = [];
    const follow = { follow: false, ...(options.tail !== undefined ? { tail: options.tail } : {}) };
    for await (const line of this.engine.runtime.logs(this.container(node), follow, this.engine.signal)) lines.push(line);
    return lines.join("\n");
  }

  /** Stops every node (load balancer first, init server last). */
  async stop(): Promise<void> {
    await stopCluster(this.name, this.operationOptions());
  }

  /** Starts what is stopped and waits until the cluster is ready again. */
  async start(): Promise<void> {
    await startClusterNodes(this.name, { ...this.operationOptions(), waitFor: this.handle.waitFor });
  }

  /**
   * Puts the cluster back as it was when it was first started as a fixture: deletes every namespace
   * created since, and every object `apply` made elsewhere, then waits until they are gone.
   */
  async reset(options: WaitOptions = {}): Promise<void> {
    await this.within("resetting the cluster", options, DEFAULT_RESET_TIMEOUT, async (signal) => {
      const kept = new Set(await readBaseline(this.creds, this.engine.dialect, signal));
      const list = await kubeCall<{ items?: KubeObject[] }>(this.creds, "GET", "/api/v1/namespaces", signal);
      const added = (list.items ?? []).map((n) => n.metadata.name as string).filter((n) => !kept.has(n));
      const namespaces = await Promise.all(
        added.map((n) => locate(this.discovery, { apiVersion: "v1", kind: "Namespace", name: n }, signal)),
      );
      const goneWithNamespaces = new Set(added);
      const objects = (await labelledObjects(this.creds, this.discovery, this.engine.dialect.labels.applied, signal)).filter(
        (o) => o.resource.kind !== "Namespace" && !(o.namespace !== undefined && goneWithNamespaces.has(o.namespace)),
      );
      const doomed = [...namespaces, ...objects];
      await Promise.all(doomed.map((at) => deleteIgnoringConflict(this.creds, at, signal)));
      await pollUntil(
        "what reset deleted to be gone",
        async () => {
          const left = (
            await Promise.all(doomed.map(async (at) => ((await getObject(this.creds, at, signal)) ? at.what : undefined)))
          ).filter((w) => w !== undefined);
          return left.length === 0 ? undefined : `still there: ${left.join(", ")}`;
        },
        signal,
        250,
      );
      // Kinds of the CRDs it deleted are no longer served.
      this.discovery.forget();
    });
  }

  /** Deletes the cluster if this handle created it (a reused one keeps running), and the handle's files. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      try {
        if (this.handle.owned) {
          await deleteCluster(this.name, {
            ...this.operationOptions(),
            ignoreMissing: true,
            // Only a kubeconfig create was asked to merge into is touched; otherwise the fixture's own.
            ...(this.handle.inDefaultKubeconfig ? {} : { kubeconfigPath: join(this.handle.dir, "kubeconfig") }),
          });
        }
      } finally {
        await rm(this.handle.dir, { recursive: true, force: true });
      }
    })();
    return this.disposed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private operationOptions() {
    const { runtime, dialect, onEvent, signal } = this.engine;
    return { runtime, dialect, ...(onEvent ? { onEvent } : {}), ...(signal ? { signal } : {}) };
  }

  private container(node: string): string {
    const prefix = `${this.engine.dialect.prefix}-${this.name}-`;
    const all = [...this.nodes, ...(this.loadBalancer ? [this.loadBalancer] : [])];
    const short = node === "loadbalancer" ? "serverlb" : node;
    const found = all.find((n) => n === node || n === `${prefix}${short}`);
    if (found === undefined) {
      throw new NotFoundError(
        `cluster "${this.name}" has no node "${node}" (its nodes: ${all.map((n) => n.slice(prefix.length)).join(", ")})`,
      );
    }
    return found;
  }

  /** Runs `fn` with one signal for the caller's cancellation and a deadline (the caller's, else `fallback`). */
  private async within<T>(what: string, o: WaitOptions, fallback: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = deadlineSignal(what, toTimeoutMs(o.timeout ?? fallback), o.signal ?? this.engine.signal);
    try {
      return await fn(deadline.signal);
    } finally {
      deadline.dispose();
    }
  }
}

async function deleteIgnoringConflict(creds: ClientCredentials, at: Located, signal: AbortSignal): Promise<void> {
  try {
    await deleteObject(creds, at, signal);
  } catch (err) {
    // A namespace already terminating answers 409: it is going anyway.
    if (!(err instanceof ConflictError)) throw err;
  }
}

/** The ConfigMap (in kube-system) that remembers which namespaces a cluster had when it was first a fixture. */
function baselineName(d: Dialect): string {
  return `${d.prefix}-fixture`;
}

const BASELINE_PATH = (d: Dialect) => `/api/v1/namespaces/kube-system/configmaps/${baselineName(d)}`;

async function readBaseline(creds: ClientCredentials, d: Dialect, signal: AbortSignal): Promise<string[]> {
  const cm = await kubeJson<{ data?: { namespaces?: string } }>(creds, "GET", BASELINE_PATH(d), signal);
  if (cm?.data?.namespaces === undefined) {
    throw new NotFoundError(`cluster has no ${baselineName(d)} ConfigMap in kube-system: it was not started as a fixture`);
  }
  return JSON.parse(cm.data.namespaces) as string[];
}

/**
 * Records the namespaces the cluster has now, and `also`, as the ones `reset()` keeps, unless a
 * fixture did so before (a cluster reused across runs keeps the record of its first start).
 */
export async function recordBaseline(
  creds: ClientCredentials,
  d: Dialect,
  signal: AbortSignal,
  also: readonly string[],
): Promise<void> {
  if ((await kubeJson(creds, "GET", BASELINE_PATH(d), signal)) !== undefined) return;
  const list = await kubeCall<{ items?: KubeObject[] }>(creds, "GET", "/api/v1/namespaces", signal);
  const namespaces = [...new Set([...(list.items ?? []).map((n) => n.metadata.name as string), ...also])].sort();
  const body = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: baselineName(d), namespace: "kube-system" },
    data: { namespaces: JSON.stringify(namespaces) },
  };
  try {
    await kubeCall(creds, "POST", "/api/v1/namespaces/kube-system/configmaps", signal, jsonBody(body));
  } catch (err) {
    // Another process recorded it at the same moment: theirs is as good.
    if (!(err instanceof ConflictError)) throw err;
  }
}
