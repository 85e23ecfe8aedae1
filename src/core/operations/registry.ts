/**
 * Registries: create, list, get, delete, and connect to or disconnect from running
 * clusters. A registry is a `registry:2` container named `k3box-NAME`, labelled as
 * k3box's; the clusters using it are those whose network it is attached to.
 */
import type { ContainerInfo } from "../../runtime/types.js";
import { ConflictError, K3boxError, NotFoundError, UsageError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import { observeClusters, type ClusterStatus } from "../cluster-status.js";
import { step } from "../events.js";
import { execute } from "../executor.js";
import { defaultPublishAddress, placeAfterInput, portSettler } from "../host-ports.js";
import { ensureImage } from "../images/ensure.js";
import { managedSelector, type Dialect } from "../dialect.js";
import { clusterSelector, registrySelector } from "../labels.js";
import { registryContainerName } from "../naming.js";
import { REGISTRY_HOSTING_MANIFEST_PATH } from "../node/paths.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";
import { parallel, sequence, type Action } from "../plan/actions.js";
import { endpointOf, registryNames } from "../registry/addresses.js";
import { findRegistry, readNodeRegistries, registriesChange } from "../registry/cluster.js";
import { EMPTY_REGISTRIES, usesRegistry, withRegistry, withoutRegistry, type RegistriesConfig } from "../registry/config.js";
import { endpointFromContainer, registryContainerSpec, type RegistryPlacement } from "../registry/container.js";
import { hostingOrder, renderHostingManifest } from "../registry/hosting.js";
import { buildRegistrySpec, type RegistryInput } from "../registry/spec.js";
import { DEFAULT_NETWORK, REGISTRY_INTERNAL_PORT, type RegistryCreateSpec, type RegistryNames } from "../registry/types.js";

export interface RegistryStatus {
  readonly name: string;
  readonly container: string;
  readonly image: string;
  readonly state: ContainerInfo["state"];
  readonly running: boolean;
  /** Where it is published on the host. */
  readonly hostIp: string;
  readonly hostPort: number;
  /** Its port on the networks it joins. */
  readonly port: number;
  readonly names: RegistryNames;
  readonly proxyRemoteUrl?: string;
  readonly networks: readonly string[];
  /** Clusters whose network it is attached to. */
  readonly clusters: readonly string[];
  /** The cluster that created it and deletes it. */
  readonly owner?: string;
}

function statusOf(d: Dialect, c: ContainerInfo, clusters: readonly ClusterStatus[]): RegistryStatus {
  const e = endpointFromContainer(c, d);
  const networks = Object.keys(c.networks);
  return {
    name: e.name,
    container: e.container,
    image: c.image,
    state: c.state,
    running: c.running,
    hostIp: e.hostIp,
    hostPort: e.hostPort,
    port: e.port,
    names: registryNames(e),
    ...(e.proxyRemoteUrl ? { proxyRemoteUrl: e.proxyRemoteUrl } : {}),
    networks,
    clusters: clusters.filter((k) => networks.includes(k.network)).map((k) => k.name),
    ...(e.owner !== undefined ? { owner: e.owner } : {}),
  };
}

export interface CreateRegistryOptions extends OperationOptions {
  /** The network to attach it to; default Docker's `bridge`. */
  readonly network?: string;
}

/** Creates and starts a registry and waits until `/v2/` answers; on failure nothing is left. */
export async function createRegistry(input: RegistryInput, options: CreateRegistryOptions = {}): Promise<RegistryStatus> {
  const place = await placeAfterInput(options.runtime);
  const spec = buildRegistrySpec(input, options.dialect?.prefix, place.known ? defaultPublishAddress(place.known) : undefined);
  place.check();
  return runOperation(`creating registry "${spec.name}"`, options, async (op) => {
    const info = await addRegistry(op, spec, { network: options.network ?? DEFAULT_NETWORK });
    return statusOf(op.dialect, info, []);
  });
}

/**
 * Creates and starts a registry within an operation (its removal on the operation's undo stack)
 * and waits until `/v2/` answers. A free host port is picked unless the spec names one.
 */
export async function addRegistry(
  op: Operation,
  spec: RegistryCreateSpec,
  at: Omit<RegistryPlacement, "hostPort">,
): Promise<ContainerInfo> {
  const { runtime, onEvent, signal, dialect } = op;
  const container = at.container ?? registryContainerName(dialect, spec.name);
  const hostPort = await step(onEvent, "prepare", async () => {
    await runtime.info(signal);
    if (await runtime.inspectContainer(container, signal)) {
      throw new ConflictError(`registry "${spec.name}" already exists (container ${container})`);
    }
    if (!(await runtime.inspectNetwork(at.network, signal))) throw new NotFoundError(`network "${at.network}" not found`);
    const where = await runtime.place();
    // An engine elsewhere is asked with the registry's own image, which it needs anyway.
    if (where.remote !== undefined) await ensureImage(runtime, spec.image, onEvent, signal);
    const labels = { ...managedSelector(dialect), [dialect.labels.role]: "ports" };
    const [port] = await portSettler(
      where,
      runtime,
      spec.image,
      labels,
      signal,
    )(
      [
        {
          hostIp: spec.hostIp,
          protocol: "tcp",
          what: "--port",
          ...(spec.hostPort !== undefined ? { hostPort: spec.hostPort } : {}),
        },
      ],
      true,
    );
    return port as number;
  });
  await execute(
    sequence([
      { type: "ensure-image", image: spec.image },
      { type: "create-container", container: registryContainerSpec(spec, { ...at, hostPort, container }, dialect), files: [] },
      { type: "start", container },
      {
        type: "wait-registry",
        container,
        address: registryNames(endpointOf(spec.name, spec.hostIp, hostPort, REGISTRY_INTERNAL_PORT, container)).host,
      },
    ]),
    op,
  );
  const info = await runtime.inspectContainer(container, signal);
  if (!info) throw new K3boxError(`registry container ${container} disappeared`);
  return info;
}

export function listRegistries(options: OperationOptions = {}): Promise<RegistryStatus[]> {
  return runOperation("listing registries", options, async ({ runtime, signal, dialect }) => {
    const [containers, clusters] = await Promise.all([
      runtime.listContainers(registrySelector(dialect), signal),
      observeClusters(runtime, dialect, signal),
    ]);
    return containers.map((c) => statusOf(dialect, c, clusters)).sort((a, b) => a.name.localeCompare(b.name));
  });
}

export function getRegistry(name: string, options: OperationOptions = {}): Promise<RegistryStatus> {
  return runOperation(`reading registry "${name}"`, options, async ({ runtime, signal, dialect }) => {
    const c = await findRegistry(runtime, dialect, name, signal);
    return statusOf(dialect, c, await observeClusters(runtime, dialect, signal));
  });
}

export interface DeleteRegistryOptions extends OperationOptions {
  /** Delete registries that clusters use, disconnecting them first. */
  readonly force?: boolean;
}

/**
 * Deletes registries. Every name is checked before anything is removed: an unknown one,
 * or one a cluster uses (without `force`), fails the whole call with nothing changed.
 */
export function deleteRegistries(names: readonly string[], options: DeleteRegistryOptions = {}): Promise<string[]> {
  return runOperation("deleting registries", options, async (op) => {
    const { runtime, signal, dialect } = op;
    const found = await Promise.all(names.map((n) => findRegistry(runtime, dialect, n, signal)));
    const clusters = await observeClusters(runtime, dialect, signal);
    const statuses = found.map((c) => statusOf(dialect, c, clusters));
    const inUse = statuses.filter((s) => s.clusters.length > 0);
    if (inUse.length > 0 && !options.force) {
      throw new ConflictError(
        inUse
          .map(
            (s) =>
              `registry "${s.name}" is used by cluster${s.clusters.length > 1 ? "s" : ""} ${s.clusters.join(", ")}: disconnect it first (${dialect.prefix} registry disconnect ${s.name} --cluster ${s.clusters[0]}) or delete with --force`,
          )
          .join("\n"),
      );
    }
    for (const s of statuses) {
      for (const cluster of s.clusters) await execute(await planRegistryChange(op, s.name, cluster, "disconnect"), op);
      await execute({ type: "remove-container", container: s.container }, op);
    }
    return statuses.map((s) => s.name);
  });
}

export interface ConnectOptions extends OperationOptions {
  readonly cluster: string;
}

/**
 * Attaches a registry to a cluster's network and adds it to every node's registries.yaml
 * (the record k3s reads at start), to the containerd host configs of running nodes (read
 * at each pull, so it works at once) and to the KEP-1755 ConfigMap. Idempotent.
 */
export async function connectRegistry(name: string, options: ConnectOptions): Promise<void> {
  await changeClusterRegistry(name, options, "connect");
}

/** The reverse of connect: every node stops using the registry, and it leaves the network. */
export async function disconnectRegistry(name: string, options: ConnectOptions): Promise<void> {
  await changeClusterRegistry(name, options, "disconnect");
}

function changeClusterRegistry(name: string, options: ConnectOptions, change: "connect" | "disconnect"): Promise<void> {
  return runOperation(`${change === "connect" ? "connecting" : "disconnecting"} registry "${name}"`, options, async (op) => {
    await execute(await planRegistryChange(op, name, options.cluster, change), op);
  });
}

/**
 * What connecting or disconnecting a registry changes: the cluster's network, every node's
 * registries.yaml and containerd host configs, and the servers' KEP-1755 manifest, each with its undo.
 */
export async function planRegistryChange(
  { runtime, signal, dialect }: Pick<Operation, "runtime" | "signal" | "dialect">,
  name: string,
  cluster: string,
  change: "connect" | "disconnect",
): Promise<Action> {
  validateClusterName(cluster);
  const keys = dialect.labels;
  const registry = await findRegistry(runtime, dialect, name, signal);
  const nodes = (await runtime.listContainers(clusterSelector(dialect, cluster), signal)).filter(
    (c) => c.labels[keys.role] === "server" || c.labels[keys.role] === "agent",
  );
  if (nodes.length === 0) throw new NotFoundError(`cluster "${cluster}" not found`);
  const network = nodes[0]?.labels[keys.network] ?? "";
  const endpoint = endpointFromContainer(registry, dialect);
  const attached = network in registry.networks;
  const configs = await Promise.all(nodes.map((n) => readNodeRegistries(runtime, n, signal)));
  if (change === "disconnect" && !attached && !configs.some((c) => usesRegistry(c, endpoint))) {
    throw new UsageError(`registry "${endpoint.name}" is not connected to cluster "${cluster}"`);
  }
  const others = (await runtime.listContainers(registrySelector(dialect), signal)).filter(
    (c) => network in c.networks && c.name !== registry.name,
  );
  const order = (cs: readonly ContainerInfo[]) =>
    hostingOrder(
      cs.map((c) => endpointFromContainer(c, dialect)),
      cluster,
    );
  const hosting = (content: string) => ({ files: [{ path: REGISTRY_HOSTING_MANIFEST_PATH, content, mode: 0o600 }] });
  const hostingBefore = hosting(renderHostingManifest(order([...others, ...(attached ? [registry] : [])])));
  const hostingAfter = hosting(renderHostingManifest(order(change === "connect" ? [...others, registry] : others)));
  const next = (c: RegistriesConfig) => (change === "connect" ? withRegistry(c, endpoint) : withoutRegistry(c, endpoint));
  const nodeChanges = nodes.map<Action>((node, i) => {
    const before = configs[i] ?? EMPTY_REGISTRIES;
    const after = next(before);
    const files: Action[] = [
      {
        type: "change-files",
        container: node.name,
        change: registriesChange(node.running, before, after),
        restore: registriesChange(node.running, after, before),
      },
    ];
    if (node.labels[keys.role] === "server") {
      files.push({ type: "change-files", container: node.name, change: hostingAfter, restore: hostingBefore });
    }
    return sequence(files);
  });
  const link = { network, container: registry.name, fallback: DEFAULT_NETWORK };
  return sequence([
    ...(change === "connect" && !attached ? [{ type: "connect-network" as const, ...link }] : []),
    parallel(nodeChanges),
    ...(change === "disconnect" && attached ? [{ type: "disconnect-network" as const, ...link }] : []),
  ]);
}
