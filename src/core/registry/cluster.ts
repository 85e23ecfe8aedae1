/** A cluster's registries on the engine: finding them, checking them before a create, and each node's registry config. */
import type { ContainerInfo, Runtime } from "../../runtime/types.js";
import { ConflictError, NotFoundError, UsageError } from "../../base/errors.js";
import type { ClusterSpec, NodeFile } from "../cluster-spec/types.js";
import { isManaged, type Dialect } from "../dialect.js";
import { REGISTRY_ROLE } from "../labels.js";
import { clusterRegistryContainerName, registryContainerCandidates } from "../naming.js";
import { CONTAINERD_CERTS_DIR, REGISTRIES_YAML_PATH } from "../node/paths.js";
import type { FileChange } from "../plan/actions.js";
import { endpointOf, validateRegistryName } from "./addresses.js";
import { EMPTY_REGISTRIES, parseRegistriesYaml, renderRegistriesYaml, type RegistriesConfig } from "./config.js";
import { endpointFromContainer } from "./container.js";
import { registryNodeFiles } from "./files.js";
import { hostingOrder } from "./hosting.js";
import { renderHostsFiles } from "./hosts-toml.js";
import { REGISTRY_INTERNAL_PORT, type RegistryEndpoint } from "./types.js";

/** The registry's container; a missing one, or a container that is not a k3box registry, is NotFound. */
export async function findRegistry(runtime: Runtime, d: Dialect, name: string, signal?: AbortSignal): Promise<ContainerInfo> {
  const registry = validateRegistryName(name, d.prefix);
  const isRegistry = (c: ContainerInfo | undefined) =>
    c !== undefined && isManaged(d, c.labels) && c.labels[d.labels.role] === REGISTRY_ROLE;
  let other: ContainerInfo | undefined;
  for (const container of registryContainerCandidates(d, registry)) {
    const c = await runtime.inspectContainer(container, signal);
    if (isRegistry(c)) return c as ContainerInfo;
    other ??= c;
  }
  throw new NotFoundError(
    `registry "${registry}" not found${other ? ` (container ${other.name} is not a ${d.prefix} registry)` : ""}`,
  );
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
  d: Dialect,
  spec: ClusterSpec,
  network: string,
  signal: AbortSignal,
  /** The host port settled for the registry to create (checked free, or picked); 0 in a dry run that picks none. */
  createHostPort?: number,
): Promise<ClusterRegistryPlan> {
  const { create, use, config } = spec.registries;
  const entries: RegistryEndpoint[] = [];
  let hostPort: number | undefined;
  if (create) {
    const container = clusterRegistryContainerName(d, create.name);
    if (await runtime.inspectContainer(container, signal)) {
      throw new ConflictError(
        `registry "${create.name}" of --registry-create already exists (use --registry-use ${create.name})`,
      );
    }
    hostPort = createHostPort ?? create.hostPort ?? 0;
    entries.push({ ...endpointOf(create.name, create.hostIp, hostPort, REGISTRY_INTERNAL_PORT, container), owner: spec.name });
  }
  const connect: string[] = [];
  for (const u of use) {
    const c = await findRegistry(runtime, d, u.name, signal);
    const endpoint = endpointFromContainer(c, d);
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

/** A node's registries.yaml; a node without one uses no registry. */
export async function readNodeRegistries(runtime: Runtime, node: ContainerInfo, signal: AbortSignal): Promise<RegistriesConfig> {
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
 * The file change that takes a node from one registry config to another: registries.yaml and, in
 * a running node, the containerd host configs k3s would render from it, removing those it no longer
 * has. A stopped node renders them itself when k3s starts.
 */
export function registriesChange(running: boolean, before: RegistriesConfig, after: RegistriesConfig): FileChange {
  const files = [{ path: REGISTRIES_YAML_PATH, content: renderRegistriesYaml(after), mode: 0o600 }];
  const remove: string[] = [];
  if (running) {
    const old = renderHostsFiles(before);
    const now = renderHostsFiles(after);
    for (const [dir, text] of now) {
      if (old.get(dir) !== text) files.push({ path: `${CONTAINERD_CERTS_DIR}/${dir}/hosts.toml`, content: text, mode: 0o600 });
    }
    for (const dir of old.keys()) if (!now.has(dir)) remove.push(`${CONTAINERD_CERTS_DIR}/${dir}`);
  }
  return { files, ...(remove.length > 0 ? { remove } : {}) };
}
