import { randomBytes } from "node:crypto";
import type { Runtime } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { CancelledError, ConflictError, K3boxError, TimeoutError, UsageError } from "../errors.js";
import { step, type EventSink } from "../events.js";
import { defaultKubeconfigPath, serializeKubeconfig, type KubeConfig } from "../kubeconfig/index.js";
import { clusterSelector } from "../labels.js";
import { ensureLoadBalancerImage, loadBalancerContext } from "../loadbalancer/image.js";
import { planCreate, type Action, type CreatePlan, type Milestone, type PlanContext } from "../plan/create.js";
import { networkName } from "../plan/names.js";
import { loadNodeEntrypoint } from "../node/entrypoint.js";
import { buildClusterSpec, type BuildOptions, type ClusterInput } from "../spec/build.js";
import { K3S_API_PORT } from "../spec/defaults.js";
import type { ClusterSpec } from "../spec/types.js";
import type { PublishedPortStatus } from "./state.js";
import { UndoStack, settleAll } from "../undo.js";
import { rollback } from "./rollback.js";
import { detachFromNetwork, prepareClusterRegistries } from "./registry.js";
import { waitForRegistry } from "../registry/ready.js";
import { registryNames } from "../registry/names.js";
import type { RegistryEndpoint, RegistryNames } from "../registry/types.js";
import { VERSION } from "../version.js";
import { waitForApi, waitForMilestone } from "../wait.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { ensureImage } from "./image.js";
import { credentialsOf, fetchClusterKubeconfig, mergeIntoFile } from "./kubeconfig-entries.js";
import { assertPortFree, pickFreePort } from "./ports.js";

export interface CreateResult {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly network: string;
  readonly nodes: readonly string[];
  /** https://HOST:PORT of the API as published on the host. */
  readonly server: string;
  /** The cluster's kubeconfig (entries named k3box-NAME), as YAML. */
  readonly kubeconfig: string;
  /** The file the entries were merged into, when they were. */
  readonly kubeconfigPath?: string;
  /** The cluster's registries and the names to use them by. */
  readonly registries: readonly ({ readonly name: string } & RegistryNames)[];
  /** Host ports published besides the API, with the ones k3box chose. */
  readonly ports: readonly PublishedPortStatus[];
}

export interface CreateOptions extends OperationOptions {
  /** How the input is checked: where its values came from (a config file's lines), earlier problems. */
  readonly build?: BuildOptions;
}

/**
 * Creates a cluster and waits until it is ready. On failure or cancellation
 * everything it created is removed again (unless `rollback: false`).
 */
export async function createCluster(input: ClusterInput, options: CreateOptions = {}): Promise<CreateResult> {
  const { runtime, onEvent } = resolveOptions(options);
  const spec = await buildClusterSpec(input, options.build);
  const deadline = deadlineSignal(`creating cluster "${spec.name}"`, spec.timeoutMs, options.signal);
  const signal = deadline.signal;
  const undo = new UndoStack();
  try {
    const { plan, registries } = await step(onEvent, "prepare", () => prepare(runtime, spec, signal));
    await execute(plan.actions, { runtime, onEvent, signal, undo });

    const server = `https://${plan.api.host}:${plan.api.hostPort}`;
    const serverNode = plan.nodes.find((n) => n.role === "server")?.name as string;
    const kubeconfig = await step(onEvent, "kubeconfig", () =>
      fetchClusterKubeconfig(runtime, { cluster: spec.name, server, node: serverNode }, signal),
    );
    if (spec.wait) {
      await step(onEvent, "wait-api", () => waitForApi(credentialsOf(kubeconfig), signal));
    }
    let kubeconfigPath: string | undefined;
    if (spec.kubeconfig.updateDefault) {
      kubeconfigPath = options.kubeconfigPath ?? defaultKubeconfigPath();
      const path = kubeconfigPath;
      const restore = await step(onEvent, "merge-kubeconfig", () =>
        mergeIntoFile(path, spec.name, kubeconfig, spec.kubeconfig.switchContext, signal),
      );
      undo.push(`restore ${path}`, restore);
    }
    // Cancellation that arrived during the last step still counts: nothing is half-done here.
    if (signal.aborted) throw signal.reason;
    undo.clear();
    return {
      ...result(spec, plan, server, kubeconfig, kubeconfigPath),
      registries: registries.map((r) => ({ name: r.name, ...registryNames(r) })),
    };
  } catch (err) {
    const error = normalise(err, signal);
    if (!spec.rollback) {
      onEvent({ type: "warning", message: "rollback is off: the cluster's containers, network and volumes are kept" });
      throw error;
    }
    await rollback(undo, onEvent, error);
    throw error;
  } finally {
    deadline.dispose();
  }
}

function result(
  spec: ClusterSpec,
  plan: CreatePlan,
  server: string,
  kubeconfig: KubeConfig,
  kubeconfigPath: string | undefined,
): Omit<CreateResult, "registries"> {
  return {
    name: spec.name,
    spec,
    network: plan.network.name,
    nodes: plan.nodes.map((n) => n.name),
    server,
    kubeconfig: serializeKubeconfig(kubeconfig),
    ...(kubeconfigPath !== undefined ? { kubeconfigPath } : {}),
    ports: plan.nodes
      .flatMap((n) => (n.container.ports ?? []).map((p) => ({ ...p, node: n.name })))
      .filter((p) => !(p.containerPort === K3S_API_PORT && p.hostPort === plan.api.hostPort)),
  };
}

/** The error an operation reports: the deadline or the cancellation when that is what interrupted it. */
export function normalise(err: unknown, signal: AbortSignal): Error {
  if (err instanceof TimeoutError || err instanceof CancelledError) return err;
  if (signal.aborted && (signal.reason instanceof TimeoutError || signal.reason instanceof CancelledError)) {
    // A call interrupted by the abort fails with its own error; the abort is the story.
    return err instanceof K3boxError && !(err.name === "K3boxError") ? err : (signal.reason as Error);
  }
  return err instanceof Error ? err : new K3boxError(String(err));
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
  const { runtime } = resolveOptions(options);
  const spec = await buildClusterSpec(input, options.build);
  const signal = options.signal ?? new AbortController().signal;
  const { plan } = await planOnEngine(runtime, spec, signal, async () => ({
    token: "<generated at create>",
    apiHostPort: spec.api.hostPort ?? 0,
    portHostPorts: new Map(spec.ports.map((p, i) => [i, p.hostPort ?? 0])),
  }));
  return { spec, plan };
}

/** What must hold on the engine before anything is created: no such cluster, a usable network. */
async function checkTarget(runtime: Runtime, spec: ClusterSpec, signal: AbortSignal): Promise<{ networkExists: boolean }> {
  await runtime.info(signal);
  const existing = await runtime.listContainers(clusterSelector(spec.name), signal);
  if (existing.length > 0) throw new ConflictError(`cluster "${spec.name}" already exists`);
  const ownNetwork = spec.network === undefined;
  const network = await runtime.inspectNetwork(spec.network ?? networkName(spec.name), signal);
  if (ownNetwork && network) {
    throw new ConflictError(
      `network "${network.name}" already exists: a cluster "${spec.name}" was not fully removed (run: k3box cluster delete ${spec.name})`,
    );
  }
  if (network && spec.subnet !== undefined && network.subnet !== spec.subnet) {
    throw new UsageError(
      `subnet ${spec.subnet} cannot be honoured: network "${network.name}" exists already with subnet ${network.subnet ?? "(none)"}`,
    );
  }
  return { networkExists: network !== undefined };
}

/** Everything that needs the engine or the host before planning: conflicts, ports, the network. */
function prepare(
  runtime: Runtime,
  spec: ClusterSpec,
  signal: AbortSignal,
): Promise<{ plan: CreatePlan; registries: readonly RegistryEndpoint[] }> {
  return planOnEngine(runtime, spec, signal, async () => {
    if (spec.api.hostPort !== undefined) await assertPortFree(spec.api.hostIp, spec.api.hostPort, "--api-port");
    for (const p of spec.ports) {
      if (p.hostPort !== undefined && p.protocol === "tcp") await assertPortFree(p.hostIp, p.hostPort, `port mapping "${p.raw}"`);
    }
    const apiHostPort = spec.api.hostPort ?? (await pickFreePort(spec.api.hostIp));
    const portHostPorts = new Map<number, number>();
    for (const [i, p] of spec.ports.entries()) {
      if (p.hostPort === undefined) portHostPorts.set(i, await pickFreePort(p.hostIp));
    }
    return { token: spec.token ?? randomBytes(20).toString("hex"), apiHostPort, portHostPorts };
  });
}

type Choices = Pick<PlanContext, "token" | "apiHostPort" | "portHostPorts">;

/**
 * The plan for a spec against the engine as it is: checks the target, then lets `choose` settle
 * the token and host ports (for real, or as placeholders for a dry run), then the registries.
 */
async function planOnEngine(
  runtime: Runtime,
  spec: ClusterSpec,
  signal: AbortSignal,
  choose: () => Promise<Choices>,
): Promise<{ plan: CreatePlan; registries: readonly RegistryEndpoint[] }> {
  const { networkExists } = await checkTarget(runtime, spec, signal);
  const choices = await choose();
  const registries = await prepareClusterRegistries(runtime, spec, spec.network ?? networkName(spec.name), signal);
  const plan = planCreate(
    { ...spec, files: [...spec.files, ...registries.files] },
    {
      ...choices,
      loadBalancerImage: spec.loadBalancer ? (await loadBalancerContext()).tag : "",
      networkExists,
      version: VERSION,
      nodeEntrypoint: await loadNodeEntrypoint(),
      ...(registries.hostPort !== undefined ? { registryHostPort: registries.hostPort } : {}),
      connectRegistries: registries.connect,
    },
  );
  return { plan, registries: registries.registries };
}

export interface Exec {
  readonly runtime: Runtime;
  readonly onEvent: EventSink;
  readonly signal: AbortSignal;
  readonly undo: UndoStack;
}

/** Runs planned actions, recording an undo step for everything it creates. */
export async function execute(action: Action, x: Exec): Promise<void> {
  const { runtime, onEvent, signal, undo } = x;
  if (signal.aborted) throw signal.reason;
  switch (action.type) {
    case "sequence":
      for (const a of action.actions) await execute(a, x);
      return;
    case "parallel":
      await settleAll(action.actions.map((a) => execute(a, x)));
      return;
    case "ensure-image":
      await step(onEvent, "image", () => ensureImage(runtime, action.image, onEvent, signal));
      return;
    case "ensure-loadbalancer-image":
      await step(onEvent, "loadbalancer-image", async () => {
        const context = await loadBalancerContext();
        await ensureLoadBalancerImage(runtime, context, () => {}, signal);
      });
      return;
    case "create-network":
      await step(onEvent, "network", async () => {
        await runtime.createNetwork(action.network, signal);
        undo.push(`remove network ${action.network.name}`, () => runtime.removeNetwork(action.network.name));
      });
      return;
    case "create-volume":
      await runtime.createVolume(action.volume, signal);
      undo.push(`remove volume ${action.volume.name}`, () => runtime.removeVolume(action.volume.name));
      return;
    case "create-container":
      await step(
        onEvent,
        "create-node",
        async () => {
          try {
            await runtime.createContainer(action.container, signal);
          } catch (err) {
            if (err instanceof ConflictError) {
              throw new ConflictError(`container name "${action.container.name}" is already in use`, { cause: err });
            }
            throw err;
          }
          undo.push(`remove container ${action.container.name}`, () => runtime.removeContainer(action.container.name));
          if (action.files.length > 0) await runtime.putFiles(action.container.name, action.files, signal);
        },
        action.container.name,
      );
      return;
    case "connect-network":
      await step(
        onEvent,
        "connect-registry",
        async () => {
          await runtime.connectNetwork(action.network, action.container, [action.container], signal);
          undo.push(`disconnect ${action.container} from ${action.network}`, () =>
            detachFromNetwork(runtime, action.container, action.network),
          );
        },
        action.container,
      );
      return;
    case "wait-registry":
      await step(
        onEvent,
        "wait-registry",
        () => waitForRegistry(runtime, action.container, action.address, signal),
        action.container,
      );
      return;
    case "start":
      await step(
        onEvent,
        "start-node",
        async () => {
          await runtime.startContainer(action.container, signal);
          if (action.milestone) await waitSinceStart(x, action.container, action.milestone);
        },
        action.container,
      );
      return;
    case "wait":
      await step(onEvent, "wait-node", () => waitSinceStart(x, action.container, action.milestone), action.container);
      return;
    case "stop":
      await step(
        onEvent,
        "stop-node",
        () => runtime.stopContainer(action.container, action.timeoutSeconds, signal),
        action.container,
      );
      return;
  }
}

/**
 * Follows the log from the end of the container's previous run on (the engine's clock), so that
 * lines of an earlier run do not count. Not from this run's start time: the engine stamps that
 * after the process is already running, and a fast process logs before it.
 */
async function waitSinceStart(x: Exec, container: string, milestone: Milestone): Promise<void> {
  const info = await x.runtime.inspectContainer(container, x.signal);
  const since = info?.finishedAt;
  await waitForMilestone(x.runtime, container, milestone, { onEvent: x.onEvent, ...(since ? { since } : {}) }, x.signal);
}
