import { randomBytes } from "node:crypto";
import type { EnginePlace, Labels, Runtime } from "../../runtime/types.js";
import { ConflictError, UsageError } from "../../base/errors.js";
import { checkBundleForCreate } from "../bundle/cluster.js";
import { buildClusterSpec } from "../cluster-spec/build.js";
import { K3S_API_PORT } from "../cluster-spec/defaults.js";
import type { BuildOptions, ClusterInput } from "../cluster-spec/input.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { DatastoreStatus, PublishedPortStatus } from "../cluster-status.js";
import { type EventSink, step } from "../events.js";
import { execute } from "../executor.js";
import type { Adaptation } from "../host/adaptations.js";
import { adaptationsFor } from "../host/facts.js";
import { placeAfterInput, settleLocalPorts, settleOnEngine, type PortRequest, type SettlePorts } from "../host-ports.js";
import { ensureImage } from "../images/ensure.js";
import { checkKubeconfigUpdatable, defaultKubeconfigPath, serializeKubeconfig, type KubeConfig } from "../kubeconfig/index.js";
import { fetchClusterKubeconfig, mergeIntoFile } from "../kubeconfig/entries.js";
import { K3BOX, type Dialect } from "../dialect.js";
import { clusterSelector } from "../labels.js";
import { managedSelector } from "../dialect.js";
import { networkName } from "../naming.js";
import { loadNodeEntrypoint } from "../node/entrypoint.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";
import { addNodesElsewhere, checkApiReachableFrom, otherEngine } from "./nodes-elsewhere.js";
import { planCreate, type CreatePlan, type PlanContext } from "../plan/cluster.js";
import { registryNames } from "../registry/addresses.js";
import type { RegistryEndpoint, RegistryNames } from "../registry/types.js";
import { prepareClusterRegistries } from "../registry/cluster.js";
import { DEFAULT_NETWORK } from "../registry/types.js";
import { checkReachable } from "../datastore/reachable.js";

export interface CreateResult {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly network: string;
  readonly nodes: readonly string[];
  /** https://HOST:PORT of the API as published on the host. */
  readonly server: string;
  /** The cluster's kubeconfig (entries named PREFIX-NAME: k3box-NAME, or k3d-NAME in k3d's dialect), as YAML. */
  readonly kubeconfig: string;
  /** The kubeconfig context of the cluster. */
  readonly context: string;
  /** The file the entries were merged into, when they were. */
  readonly kubeconfigPath?: string;
  /** The cluster's registries and the names to use them by. */
  readonly registries: readonly ({ readonly name: string } & RegistryNames)[];
  /** Host ports published besides the API, with the ones k3box chose. */
  readonly ports: readonly PublishedPortStatus[];
  /** Where the servers keep the cluster's state. */
  readonly datastore: DatastoreStatus;
}

export interface CreateOptions extends OperationOptions {
  /** How the input is checked: where its values came from (a config file's lines), earlier problems. */
  readonly build?: BuildOptions;
  /**
   * Engine labels for every object the create makes (network, volumes, containers, its registry):
   * the caller's own bookkeeping, such as the test session a cluster belongs to. k3box's own
   * labels win over these.
   */
  readonly labels?: Labels;
}

/**
 * Creates a cluster and waits until it is ready. On failure or cancellation
 * everything it created is removed again (unless the spec turns rollback off).
 */
export async function createCluster(input: ClusterInput, options: CreateOptions = {}): Promise<CreateResult> {
  const place = await placeAfterInput(options.runtime);
  const spec = await buildClusterSpec(input, buildOptions(options, place.known));
  place.check();
  checkCallerLabels(options.dialect ?? K3BOX, options.labels ?? {});
  const frame = { ...options, rollback: spec.rollback, ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}) };
  return runOperation(`creating cluster "${spec.name}"`, frame, async (op) => {
    const { runtime, onEvent, signal, undo, dialect } = op;
    const kubeconfigPath = kubeconfigTarget(spec, op.kubeconfigPath);
    const remote = place.known?.remote;
    if (remote !== undefined) onEvent({ type: "note", message: remoteNote(remote, spec) });
    const prepared = await step(onEvent, "prepare", () => prepare(op, spec, kubeconfigPath, place.known, options.labels ?? {}));
    const plan = prepared.plan(await adaptToEngine(op, spec));
    const registries = prepared.registries;
    if (spec.bundle) await step(onEvent, "verify-bundle", () => checkBundleForCreate(runtime, spec, signal));
    const away = await reachNodeGroups(op, spec, plan.api.server ?? `https://${plan.api.host}`);
    await execute(plan.actions, op);
    const elsewhere: string[] = [];
    for (const { group, there } of away) {
      const extras = { k3sArgs: group.k3sArgs, env: {}, mounts: [] };
      const o = { role: "agent" as const, replicas: group.agents, extras, wait: spec.wait, level: spec.waitFor };
      elsewhere.push(...(await addNodesElsewhere(op, there, spec.name, o)));
    }

    const server = plan.api.server ?? `https://${plan.api.host}:${plan.api.hostPort}`;
    const serverNode = plan.nodes.find((n) => n.role === "server")?.name as string;
    const kubeconfig = await step(onEvent, "kubeconfig", () =>
      fetchClusterKubeconfig(runtime, { cluster: spec.name, server, node: serverNode, prefix: dialect.prefix }, signal),
    );
    if (kubeconfigPath !== undefined) {
      const restore = await step(onEvent, "merge-kubeconfig", () =>
        mergeIntoFile(kubeconfigPath, spec.name, kubeconfig, spec.kubeconfig.switchContext, signal, dialect.prefix),
      );
      undo.push(`restore ${kubeconfigPath}`, restore);
    }
    const made = result(spec, plan, server, kubeconfig, kubeconfigPath);
    return {
      ...made,
      nodes: [...made.nodes, ...elsewhere],
      registries: registries.map((r) => ({ name: r.name, ...registryNames(r) })),
    };
  });
}

/**
 * The engines of the node groups, reached before anything is created: each must answer, be
 * another engine than the cluster's, and reach the API where it is published.
 */
async function reachNodeGroups(
  op: Operation,
  spec: ClusterSpec,
  server: string,
): Promise<Array<{ group: ClusterSpec["nodeGroups"][number]; there: Operation }>> {
  return Promise.all(
    spec.nodeGroups.map(async (group) => {
      const there = await otherEngine(op, group.engine);
      if (there === undefined) {
        throw new UsageError(
          `the node group on ${group.engine} is on the cluster's own engine: count those agents in agents: instead`,
        );
      }
      checkApiReachableFrom((await there.runtime.place()).endpoint, spec.name, new URL(server).hostname);
      return { group, there };
    }),
  );
}

function result(
  spec: ClusterSpec,
  plan: CreatePlan,
  server: string,
  kubeconfig: KubeConfig,
  kubeconfigPath: string | undefined,
): Omit<CreateResult, "registries"> {
  const db = plan.datastore.container;
  const published = db?.container.ports?.[0];
  return {
    name: spec.name,
    spec,
    network: plan.network.name,
    nodes: plan.nodes.map((n) => n.name),
    server,
    kubeconfig: serializeKubeconfig(kubeconfig),
    context: kubeconfig["current-context"],
    ...(kubeconfigPath !== undefined ? { kubeconfigPath } : {}),
    ports: [...plan.nodes, ...(db ? [db] : [])]
      .flatMap((n) => (n.container.ports ?? []).map((p) => ({ ...p, node: n.name })))
      .filter((p) => !(p.containerPort === K3S_API_PORT && p.hostPort === plan.api.hostPort)),
    datastore: {
      type: plan.datastore.type,
      ...(plan.datastore.endpoint !== undefined ? { endpoint: plan.datastore.endpoint } : {}),
      ...(db ? { container: db.name, image: db.container.image, state: "running" as const, running: true } : {}),
      ...(published ? { hostIp: published.hostIp, hostPort: published.hostPort } : {}),
    },
  };
}

export interface DryRun {
  readonly spec: ClusterSpec;
  /** Ports still to be chosen are 0; the token is a placeholder. */
  readonly plan: CreatePlan;
}

/**
 * What createCluster would do, without doing it: the spec and the ordered plan. It only
 * reads from the engine (conflicts, an existing network); it creates nothing and reserves no port.
 */
export async function planClusterCreate(input: ClusterInput, options: CreateOptions = {}): Promise<DryRun> {
  const place = await placeAfterInput(options.runtime);
  const spec = await buildClusterSpec(input, buildOptions(options, place.known));
  place.check();
  return runOperation(`planning cluster "${spec.name}"`, options, async (op) => {
    const { runtime, onEvent, signal, dialect } = op;
    const kubeconfigPath = kubeconfigTarget(spec, options.kubeconfigPath);
    // The engine answers for a remote host's ports only by publishing them, which a dry run does not do.
    const settle = place.known?.remote === undefined ? settleLocalPorts : undefined;
    const { plan } = await planOnEngine(runtime, dialect, spec, onEvent, signal, kubeconfigPath, settle, false, {
      token: "<generated at create>",
      datastorePassword: "<generated at create>",
      labels: options.labels ?? {},
    });
    // The probe that decides the adaptations runs a container: a dry run leaves them out.
    const planned = plan([]);
    const server = planned.api.server ?? `https://${planned.api.host}`;
    for (const { group, there } of await reachNodeGroups(op, spec, server)) {
      const endpoint = (await there.runtime.place()).endpoint;
      onEvent({
        type: "note",
        message: `then ${group.agents} agent${group.agents === 1 ? "" : "s"} on ${endpoint}, joining through ${server}`,
      });
    }
    return { spec, plan: planned };
  });
}

/**
 * The caller's labels may not be k3box's own keys (a registry carrying someone's `cluster` label
 * would belong to that cluster), except the two that record what a caller tracks clusters by.
 */
function checkCallerLabels(d: Dialect, labels: Labels): void {
  const open = new Set([d.labels.session, d.labels.reuse]);
  const own = new Set([...Object.values(d.labels), ...Object.values(d.foreign)].filter((k) => !open.has(k)));
  const taken = Object.keys(labels).filter((k) => own.has(k));
  if (taken.length > 0) {
    throw new UsageError(
      `label ${taken.map((k) => `"${k}"`).join(", ")} is k3box's own and cannot be given (${[...open].join(" and ")} can)`,
    );
  }
}

/** The spec builder's options: the caller's, with the operation's dialect and the engine's place for its defaults. */
function buildOptions(options: CreateOptions, place: EnginePlace | undefined): CreateOptions["build"] {
  return {
    ...options.build,
    dialect: options.dialect ?? options.build?.dialect ?? K3BOX,
    ...(place?.remote !== undefined ? { remoteAddress: place.remote.address } : {}),
  };
}

/** Says where a cluster on an engine elsewhere is published, and how to choose otherwise. */
function remoteNote(remote: NonNullable<EnginePlace["remote"]>, spec: ClusterSpec): string {
  return `the engine runs on ${remote.host}, not here: the API is published on ${spec.api.hostIp}${
    spec.api.hostIp === remote.address ? ", the address the engine is reached at," : ""
  } and the kubeconfig names ${spec.api.server ?? spec.api.host} (--api-port HOST:PORT, -p HOST:… and --kubeconfig-server choose otherwise)`;
}

/** What must hold on the engine before anything is created: no such cluster, a usable network. */
async function checkTarget(
  runtime: Runtime,
  d: Dialect,
  spec: ClusterSpec,
  signal: AbortSignal,
): Promise<{ networkExists: boolean }> {
  await runtime.info(signal);
  const existing = await runtime.listContainers(clusterSelector(d, spec.name), signal);
  if (existing.length > 0) throw new ConflictError(`cluster "${spec.name}" already exists`);
  // The engine would hand an old volume to a new node (it creates volumes idempotently), old data and all.
  const volumes = await runtime.listVolumes(clusterSelector(d, spec.name), signal);
  if (volumes.length > 0) {
    throw new ConflictError(
      `volumes of a cluster "${spec.name}" exist already (${volumes.join(", ")}): it was not fully removed (run: ${d.prefix} cluster delete ${spec.name})`,
    );
  }
  const ownNetwork = spec.network === undefined;
  const network = await runtime.inspectNetwork(spec.network ?? networkName(d, spec.name), signal);
  if (ownNetwork && network) {
    throw new ConflictError(
      `network "${network.name}" already exists: a cluster "${spec.name}" was not fully removed (run: ${d.prefix} cluster delete ${spec.name})`,
    );
  }
  if (network && spec.subnet !== undefined && network.subnet !== spec.subnet) {
    throw new UsageError(
      `subnet ${spec.subnet} cannot be honoured: network "${network.name}" exists already with subnet ${network.subnet ?? "(none)"}`,
    );
  }
  return { networkExists: network !== undefined };
}

/** The kubeconfig file a create will update, if it updates one. */
function kubeconfigTarget(spec: ClusterSpec, given: string | undefined): string | undefined {
  return spec.kubeconfig.updateDefault ? (given ?? defaultKubeconfigPath()) : undefined;
}

/**
 * The plan, with the token and the host ports still to be chosen chosen for real: on this machine,
 * or, for an engine elsewhere, by that engine (which needs the node image there first).
 */
async function prepare(
  op: Operation,
  spec: ClusterSpec,
  kubeconfigPath: string | undefined,
  place: EnginePlace | undefined,
  labels: Labels,
): Promise<PlanOnEngine> {
  const { runtime, dialect: d, signal, onEvent } = op;
  let settle: SettlePorts = settleLocalPorts;
  if (place?.remote !== undefined) {
    await ensureImage(runtime, spec.image, onEvent, signal);
    settle = settleOnEngine(runtime, spec.image, { ...managedSelector(d), [d.labels.role]: "ports" }, signal);
  }
  return planOnEngine(runtime, d, spec, onEvent, signal, kubeconfigPath, settle, true, {
    token: spec.token ?? randomBytes(20).toString("hex"),
    datastorePassword: randomBytes(24).toString("hex"),
    labels,
  });
}

/**
 * What the nodes need to run on this engine, which the node image tells: it is pulled here (its own
 * step, as a pull can take a while), and probed unless every adaptation is switched off. Each
 * adaptation made is said once.
 */
async function adaptToEngine({ runtime, onEvent, signal, undo }: Operation, spec: ClusterSpec): Promise<Adaptation[]> {
  await step(onEvent, "image", () => ensureImage(runtime, spec.image, onEvent, signal), spec.image);
  const adaptations = await step(onEvent, "probe", () => adaptationsFor(runtime, spec.image, spec.adaptationsOff, signal, undo));
  for (const a of adaptations)
    onEvent({ type: "note", message: `${a.note} (K3BOX_ADAPT_${envName(a.name)}=false turns this off)` });
  return adaptations;
}

function envName(name: string): string {
  return name.toUpperCase().replace(/-/g, "_");
}

interface PlanOnEngine {
  /** The plan, given what the nodes need to run on this engine. */
  plan(adaptations: readonly Adaptation[]): CreatePlan;
  readonly registries: readonly RegistryEndpoint[];
}

/**
 * The plan for a spec against the engine and the host as they are. Everything that can be known
 * before the first container exists is checked here, for a create and its dry run alike: the
 * kubeconfig file can be updated, no such cluster exists, the network is usable, the host ports
 * asked for are free, the registries, an external datastore answers. Then `settle` settles the
 * host ports still open (for real, or as placeholders for a dry run); the secrets come chosen.
 */
async function planOnEngine(
  runtime: Runtime,
  d: Dialect,
  spec: ClusterSpec,
  onEvent: EventSink,
  signal: AbortSignal,
  kubeconfigPath: string | undefined,
  settle: SettlePorts | undefined,
  pick: boolean,
  chosen: Pick<PlanContext, "token" | "datastorePassword" | "labels">,
): Promise<PlanOnEngine> {
  if (kubeconfigPath !== undefined) await checkKubeconfigUpdatable(kubeconfigPath);
  const { networkExists } = await checkTarget(runtime, d, spec, signal);
  const ds = spec.datastore;
  if (ds.type === "external") {
    // From the cluster's network when it exists already; a network k3box is still to create reaches
    // what Docker's default bridge reaches.
    const network = networkExists ? (spec.network ?? networkName(d, spec.name)) : DEFAULT_NETWORK;
    await step(onEvent, "check-datastore", async () => {
      await ensureImage(runtime, spec.image, onEvent, signal);
      await checkReachable(runtime, d, { image: spec.image, network, endpoint: ds.endpoint }, onEvent, signal);
    });
  }
  const create = spec.registries.create;
  const requests: PortRequest[] = [
    {
      hostIp: spec.api.hostIp,
      protocol: "tcp",
      what: "--api-port",
      ...(spec.api.hostPort !== undefined ? { hostPort: spec.api.hostPort } : {}),
    },
    ...spec.ports.map((p) => ({
      hostIp: p.hostIp,
      protocol: p.protocol,
      what: `port mapping "${p.raw}"`,
      ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}),
    })),
    ...(create
      ? [
          {
            hostIp: create.hostIp,
            protocol: "tcp" as const,
            what: `--registry-create ${create.name}`,
            ...(create.hostPort !== undefined ? { hostPort: create.hostPort } : {}),
          },
        ]
      : []),
    // Its port is always given; settling only checks it is free.
    ...("publish" in ds && ds.publish
      ? [{ hostIp: ds.publish.hostIp, protocol: "tcp" as const, what: "--datastore-port", hostPort: ds.publish.hostPort }]
      : []),
  ];
  const settled = settle ? await settle(requests, pick) : requests.map((r) => r.hostPort ?? 0);
  const [apiHostPort = 0, ...rest] = settled;
  const choices = {
    ...chosen,
    apiHostPort,
    portHostPorts: new Map(spec.ports.map((_, i) => [i, rest[i] ?? 0])),
  };
  const registries = await prepareClusterRegistries(
    runtime,
    d,
    spec,
    spec.network ?? networkName(d, spec.name),
    signal,
    create ? rest[spec.ports.length] : undefined,
  );
  const nodeEntrypoint = await loadNodeEntrypoint();
  const plan = (adaptations: readonly Adaptation[]) =>
    planCreate(
      { ...spec, files: [...spec.files, ...registries.files] },
      {
        ...choices,
        adaptations,
        networkExists,
        version: d.versionValue,
        dialect: d,
        nodeEntrypoint,
        ...(registries.hostPort !== undefined ? { registryHostPort: registries.hostPort } : {}),
        connectRegistries: registries.connect,
      },
    );
  return { plan, registries: registries.registries };
}
