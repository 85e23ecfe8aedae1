/**
 * Registries: create, list, get, delete, and connect to or disconnect from running
 * clusters. A registry is a `registry:2` container named `k3box-NAME`, labelled as
 * k3box's; the clusters using it are those whose network it is attached to.
 */
import type { ContainerInfo, Runtime } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { ConflictError, K3boxError, NotFoundError, UsageError } from "../errors.js";
import { step } from "../events.js";
import { LABEL, REGISTRY_ROLE, REGISTRY_SELECTOR, clusterSelector } from "../labels.js";
import {
  CONTAINERD_CERTS_DIR,
  REGISTRIES_YAML_PATH,
  REGISTRY_HOSTING_MANIFEST_PATH,
  registryContainerName,
} from "../plan/names.js";
import {
  EMPTY_REGISTRIES,
  parseRegistriesYaml,
  renderRegistriesYaml,
  usesRegistry,
  withRegistry,
  withoutRegistry,
  type RegistriesConfig,
} from "../registry/config.js";
import { endpointFromContainer, registryContainerSpec } from "../registry/container.js";
import { hostingOrder, renderHostingManifest } from "../registry/hosting.js";
import { renderHostsFiles } from "../registry/hosts-toml.js";
import { endpointOf, registryNames, validateRegistryName } from "../registry/names.js";
import { waitForRegistry } from "../registry/ready.js";
import { buildRegistrySpec, type RegistryInput } from "../registry/spec.js";
import { DEFAULT_NETWORK, type RegistryEndpoint, type RegistryNames } from "../registry/types.js";
import { registryNodeFiles } from "../registry/files.js";
import type { ClusterSpec, NodeFile } from "../spec/types.js";
import { validateClusterName } from "../spec/names.js";
import { UndoStack, settleAll } from "../undo.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { rollback } from "./rollback.js";
import { ensureImage } from "./image.js";
import { assertPortFree, pickFreePort } from "./ports.js";
import { observeClusters, type ClusterStatus } from "./state.js";

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

function statusOf(c: ContainerInfo, clusters: readonly ClusterStatus[]): RegistryStatus {
  const e = endpointFromContainer(c);
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

/** The registry's container; a missing one, or a container that is not a k3box registry, is NotFound. */
export async function findRegistry(runtime: Runtime, name: string, signal?: AbortSignal): Promise<ContainerInfo> {
  const registry = validateRegistryName(name);
  const c = await runtime.inspectContainer(registryContainerName(registry), signal);
  if (!c || c.labels[LABEL.managed] !== "true" || c.labels[LABEL.role] !== REGISTRY_ROLE) {
    throw new NotFoundError(`registry "${registry}" not found${c ? ` (container ${c.name} is not a k3box registry)` : ""}`);
  }
  return c;
}

export interface CreateRegistryOptions extends OperationOptions {
  /** The network to attach it to; default Docker's `bridge`. */
  readonly network?: string;
}

/** Creates and starts a registry and waits until `/v2/` answers; on failure nothing is left. */
export async function createRegistry(input: RegistryInput, options: CreateRegistryOptions = {}): Promise<RegistryStatus> {
  const { runtime, onEvent } = resolveOptions(options);
  const spec = buildRegistrySpec(input);
  const deadline = deadlineSignal(`creating registry "${spec.name}"`, undefined, options.signal);
  const signal = deadline.signal;
  const undo = new UndoStack();
  try {
    const container = registryContainerName(spec.name);
    const hostPort = await step(onEvent, "prepare", async () => {
      await runtime.info(signal);
      if (await runtime.inspectContainer(container, signal)) {
        throw new ConflictError(`registry "${spec.name}" already exists (container ${container})`);
      }
      const network = options.network ?? DEFAULT_NETWORK;
      if (!(await runtime.inspectNetwork(network, signal))) throw new NotFoundError(`network "${network}" not found`);
      if (spec.hostPort !== undefined) await assertPortFree(spec.hostIp, spec.hostPort, "--port");
      return spec.hostPort ?? (await pickFreePort(spec.hostIp));
    });
    await step(onEvent, "image", () => ensureImage(runtime, spec.image, onEvent, signal));
    const containerSpec = registryContainerSpec(spec, { hostPort, network: options.network ?? DEFAULT_NETWORK });
    await step(
      onEvent,
      "create-registry",
      async () => {
        await runtime.createContainer(containerSpec, signal);
        undo.push(`remove container ${container}`, () => runtime.removeContainer(container));
      },
      container,
    );
    await step(
      onEvent,
      "start-registry",
      async () => {
        await runtime.startContainer(container, signal);
        await waitForRegistry(runtime, container, registryNames(endpointOf(spec.name, spec.hostIp, hostPort)).host, signal);
      },
      container,
    );
    undo.clear();
    const info = await runtime.inspectContainer(container, signal);
    if (!info) throw new K3boxError(`registry container ${container} disappeared`);
    return statusOf(info, []);
  } catch (err) {
    await rollback(undo, onEvent, err as Error);
    throw err;
  } finally {
    deadline.dispose();
  }
}

export async function listRegistries(options: OperationOptions = {}): Promise<RegistryStatus[]> {
  const { runtime } = resolveOptions(options);
  const [containers, clusters] = await Promise.all([
    runtime.listContainers(REGISTRY_SELECTOR, options.signal),
    observeClusters(runtime, options.signal),
  ]);
  return containers.map((c) => statusOf(c, clusters)).sort((a, b) => a.name.localeCompare(b.name));
}

export async function getRegistry(name: string, options: OperationOptions = {}): Promise<RegistryStatus> {
  const { runtime } = resolveOptions(options);
  const c = await findRegistry(runtime, name, options.signal);
  return statusOf(c, await observeClusters(runtime, options.signal));
}

export interface DeleteRegistryOptions extends OperationOptions {
  /** Delete registries that clusters use, disconnecting them first. */
  readonly force?: boolean;
}

/**
 * Deletes registries. Every name is checked before anything is removed: an unknown one,
 * or one a cluster uses (without `force`), fails the whole call with nothing changed.
 */
export async function deleteRegistries(names: readonly string[], options: DeleteRegistryOptions = {}): Promise<string[]> {
  const { runtime, onEvent } = resolveOptions(options);
  const signal = options.signal;
  const found = await Promise.all(names.map((n) => findRegistry(runtime, n, signal)));
  const clusters = await observeClusters(runtime, signal);
  const statuses = found.map((c) => statusOf(c, clusters));
  const inUse = statuses.filter((s) => s.clusters.length > 0);
  if (inUse.length > 0 && !options.force) {
    throw new ConflictError(
      inUse
        .map(
          (s) =>
            `registry "${s.name}" is used by cluster${s.clusters.length > 1 ? "s" : ""} ${s.clusters.join(", ")}: disconnect it first (k3box registry disconnect ${s.name} --cluster ${s.clusters[0]}) or delete with --force`,
        )
        .join("\n"),
    );
  }
  for (const s of statuses) {
    for (const cluster of s.clusters)
      await disconnectRegistry(s.name, { cluster, runtime, onEvent, ...(signal ? { signal } : {}) });
    await step(onEvent, "remove-registry", () => runtime.removeContainer(s.container, signal), s.container);
  }
  return statuses.map((s) => s.name);
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

async function changeClusterRegistry(name: string, options: ConnectOptions, change: "connect" | "disconnect"): Promise<void> {
  const { runtime, onEvent } = resolveOptions(options);
  const signal = options.signal ?? new AbortController().signal;
  validateClusterName(options.cluster);
  const registry = await findRegistry(runtime, name, signal);
  const nodes = (await runtime.listContainers(clusterSelector(options.cluster), signal)).filter(
    (c) => c.labels[LABEL.role] === "server" || c.labels[LABEL.role] === "agent",
  );
  if (nodes.length === 0) throw new NotFoundError(`cluster "${options.cluster}" not found`);
  const network = nodes[0]?.labels[LABEL.network] ?? "";
  const endpoint = endpointFromContainer(registry);
  const attached = network in registry.networks;
  const configs = await Promise.all(nodes.map((n) => readNodeRegistries(runtime, n, signal)));
  if (change === "disconnect" && !attached && !configs.some((c) => usesRegistry(c, endpoint))) {
    throw new UsageError(`registry "${endpoint.name}" is not connected to cluster "${options.cluster}"`);
  }

  const undo = new UndoStack();
  try {
    if (change === "connect" && !attached) {
      await step(
        onEvent,
        "connect-network",
        () => runtime.connectNetwork(network, registry.name, [registry.name], signal),
        registry.name,
      );
      undo.push(`disconnect ${registry.name} from ${network}`, () => detachFromNetwork(runtime, registry.name, network));
    }
    const others = (await runtime.listContainers(REGISTRY_SELECTOR, signal)).filter(
      (c) => network in c.networks && c.name !== registry.name,
    );
    const order = (cs: readonly ContainerInfo[]) => hostingOrder(cs.map(endpointFromContainer), options.cluster);
    const hostingBefore = renderHostingManifest(order([...others, ...(attached ? [registry] : [])]));
    const hostingAfter = renderHostingManifest(order(change === "connect" ? [...others, registry] : others));
    const next = (c: RegistriesConfig) => (change === "connect" ? withRegistry(c, endpoint) : withoutRegistry(c, endpoint));
    await step(onEvent, "node-registries", () =>
      settleAll(
        nodes.map(async (node, i) => {
          const before = configs[i] ?? EMPTY_REGISTRIES;
          const after = next(before);
          // Undo first: a write that fails half-way must still be put back.
          undo.push(`restore ${REGISTRIES_YAML_PATH} in ${node.name}`, () => writeNodeRegistries(runtime, node, after, before));
          await writeNodeRegistries(runtime, node, before, after, signal);
          if (node.labels[LABEL.role] === "server") {
            const manifest = (content: string) => [{ path: REGISTRY_HOSTING_MANIFEST_PATH, content, mode: 0o600 }];
            undo.push(`restore the KEP-1755 manifest in ${node.name}`, () =>
              runtime.putFiles(node.name, manifest(hostingBefore)),
            );
            await runtime.putFiles(node.name, manifest(hostingAfter), signal);
          }
        }),
      ),
    );
    if (change === "disconnect" && attached) {
      await step(onEvent, "disconnect-network", () => detachFromNetwork(runtime, registry.name, network, signal), registry.name);
    }
    undo.clear();
  } catch (err) {
    await rollback(undo, onEvent, err as Error);
    throw err;
  }
}

/** A node's registries.yaml; a node without one uses no registry. */
async function readNodeRegistries(runtime: Runtime, node: ContainerInfo, signal: AbortSignal): Promise<RegistriesConfig> {
  let text: string;
  try {
    text = (await runtime.readFile(node.name, REGISTRIES_YAML_PATH, signal)).toString("utf8");
  } catch (err) {
    if (err instanceof NotFoundError) return EMPTY_REGISTRIES;
    throw err;
  }
  return parseRegistriesYaml(text, `${node.name}:${REGISTRIES_YAML_PATH}`);
}

/**
 * Writes registries.yaml and, in a running node, the containerd host configs k3s would
 * render from it, removing those it no longer has. A stopped node renders them itself when k3s starts.
 */
async function writeNodeRegistries(
  runtime: Runtime,
  node: ContainerInfo,
  before: RegistriesConfig,
  after: RegistriesConfig,
  signal?: AbortSignal,
): Promise<void> {
  const files = [{ path: REGISTRIES_YAML_PATH, content: renderRegistriesYaml(after), mode: 0o600 }];
  const stale: string[] = [];
  if (node.running) {
    const old = renderHostsFiles(before);
    const now = renderHostsFiles(after);
    for (const [dir, text] of now) {
      if (old.get(dir) !== text) files.push({ path: `${CONTAINERD_CERTS_DIR}/${dir}/hosts.toml`, content: text, mode: 0o600 });
    }
    for (const dir of old.keys()) if (!now.has(dir)) stale.push(`${CONTAINERD_CERTS_DIR}/${dir}`);
  }
  await runtime.putFiles(node.name, files, signal);
  if (stale.length > 0) {
    const r = await runtime.exec(node.name, ["rm", "-rf", "--", ...stale], {}, signal);
    if (r.exitCode !== 0) throw new K3boxError(`cannot remove ${stale.join(", ")} in ${node.name}: ${r.stderr.trim()}`);
  }
}

/**
 * Disconnects a container from a network. A k3box registry left on no network goes back
 * to Docker's default one, so its host port keeps working.
 */
export async function detachFromNetwork(
  runtime: Runtime,
  container: string,
  network: string,
  signal?: AbortSignal,
): Promise<void> {
  await runtime.disconnectNetwork(network, container, signal);
  const info = await runtime.inspectContainer(container, signal);
  if (
    info?.labels[LABEL.role] === REGISTRY_ROLE &&
    info.labels[LABEL.managed] === "true" &&
    Object.keys(info.networks).length === 0
  ) {
    await runtime.connectNetwork(DEFAULT_NETWORK, container, [], signal);
  }
}

export interface ClusterRegistryPlan {
  /** The host port for the registry created with the cluster. */
  readonly hostPort?: number;
  /** Existing registries (container names) to attach to the cluster's network. */
  readonly connect: readonly string[];
  /** registries.yaml and the KEP-1755 manifest for the nodes. */
  readonly files: readonly NodeFile[];
  /** Every registry of the cluster, its own first. */
  readonly registries: readonly RegistryEndpoint[];
}

/**
 * Checks a cluster's registries against the engine before anything exists: the one to
 * create must be new and its port free, the ones to use must exist (with the port named).
 */
export async function prepareClusterRegistries(
  runtime: Runtime,
  spec: ClusterSpec,
  network: string,
  signal: AbortSignal,
): Promise<ClusterRegistryPlan> {
  const { create, use, config } = spec.registries;
  const entries: RegistryEndpoint[] = [];
  let hostPort: number | undefined;
  if (create) {
    const container = registryContainerName(create.name);
    if (await runtime.inspectContainer(container, signal)) {
      throw new ConflictError(
        `registry "${create.name}" of --registry-create already exists (use --registry-use ${create.name})`,
      );
    }
    if (create.hostPort !== undefined) await assertPortFree(create.hostIp, create.hostPort, `--registry-create ${create.name}`);
    hostPort = create.hostPort ?? (await pickFreePort(create.hostIp));
    entries.push({ ...endpointOf(create.name, create.hostIp, hostPort), owner: spec.name });
  }
  const connect: string[] = [];
  for (const u of use) {
    const c = await findRegistry(runtime, u.name, signal);
    const endpoint = endpointFromContainer(c);
    if (u.port !== undefined && u.port !== endpoint.hostPort && u.port !== endpoint.port) {
      throw new UsageError(
        `--registry-use ${u.name}:${u.port}: registry "${u.name}" is published on host port ${endpoint.hostPort} and serves port ${endpoint.port} in the cluster network`,
      );
    }
    entries.push(endpoint);
    if (!(network in c.networks)) connect.push(c.name);
  }
  const registries = hostingOrder(entries, spec.name);
  return { ...(hostPort !== undefined ? { hostPort } : {}), connect, files: registryNodeFiles(registries, config), registries };
}
