/**
 * Image import through the cluster's registry: the images are pushed once, and the nodes' mirror
 * config sends pulls of their names there, so only a node that runs a pod of one pulls it.
 */
import type { ContainerInfo, Runtime } from "../../runtime/types.js";
import { NotFoundError, UsageError } from "../../base/errors.js";
import { validateClusterName } from "../cluster-spec/validate.js";
import type { Dialect } from "../dialect.js";
import { execute } from "../executor.js";
import { clusterSelector, registrySelector } from "../labels.js";
import { clusterRegistryContainerName, networkName, registryContainerName } from "../naming.js";
import { runOperation, type Operation, type OperationOptions } from "../operation.js";
import { parallel, type Action } from "../plan/actions.js";
import { RegistryClient, pushArchive, registryPath, type PushedImage } from "../images/registry-push.js";
import { meter } from "../images/progress.js";
import { parseImageReference } from "../images/reference.js";
import { registryNames } from "../registry/addresses.js";
import { readNodeRegistries, registriesChange } from "../registry/cluster.js";
import { withMirror } from "../registry/config.js";
import { endpointFromContainer } from "../registry/container.js";
import type { RegistryEndpoint } from "../registry/types.js";

export interface RegistryImportResult {
  readonly cluster: string;
  /** The registry's container. */
  readonly registry: string;
  readonly images: ReadonlyArray<PushedImage & { readonly status: "pushed" | "skipped" }>;
}

/**
 * Pushes engine images to the cluster's registry under their own names, and makes every node's
 * containerd look for those names' registries (docker.io, …) there first. A cluster without a
 * registry gets one, owned by the cluster; a failure removes it again. An image the registry
 * already holds as the same engine image is not sent again.
 */
export function importImagesToRegistry(
  cluster: string,
  images: readonly string[],
  options: OperationOptions = {},
): Promise<RegistryImportResult> {
  return runOperation("image import (registry)", options, async (op) => {
    const { runtime, signal, dialect, onEvent } = op;
    validateClusterName(cluster);
    if (images.length === 0) throw new UsageError("nothing to import: give image names");
    const refs = images.map((i) => {
      if (i === "-" || /^(\.{1,2}\/|\/|~)/.test(i)) {
        throw new UsageError(`--mode registry pushes images from the Docker engine; "${i}" is a file or stdin`);
      }
      return parseImageReference(i);
    });
    const nodes = await clusterNodes(runtime, dialect, cluster, signal);
    const ids = await Promise.all(
      refs.map(async (r) => {
        const info = await runtime.inspectImage(r.familiar, signal);
        if (!info) throw new NotFoundError(`image "${r.familiar}" not found in the Docker engine: build or pull it first`);
        return info.id;
      }),
    );
    // Checked first: a missing image leaves no registry behind for nothing.
    const registry =
      (await clusterRegistry(runtime, dialect, cluster, nodes, signal)) ?? (await createClusterRegistry(op, cluster, nodes));

    // The mirrors first: once an image is in the registry, every node can find it.
    const hosts = [...new Set(refs.map((r) => r.canonical.slice(0, r.canonical.indexOf("/"))))];
    const changes = await Promise.all(
      nodes.map(async (node): Promise<Action | undefined> => {
        const before = await readNodeRegistries(runtime, node, signal);
        const after = hosts.reduce((c, host) => withMirror(c, host, registry), before);
        if (after === before) return undefined;
        return {
          type: "change-files",
          container: node.name,
          change: registriesChange(node.running, before, after),
          restore: registriesChange(node.running, after, before),
        };
      }),
    );
    const mirrors = changes.filter((c): c is Action => c !== undefined);
    if (mirrors.length > 0) await execute(parallel(mirrors), op);

    const client = new RegistryClient(`http://${registryNames(registry).host}`, signal);
    const held = await Promise.all(
      refs.map(async (r, i) => {
        const { repository, tag } = registryPath(r.canonical);
        return (await client.configOf(repository, tag)) === ids[i];
      }),
    );
    const skipped = refs.filter((_, i) => held[i]);
    const needed = refs.filter((_, i) => !held[i]);
    const label = needed.map((r) => r.familiar).join(", ");
    const started = Date.now();
    let pushed: PushedImage[] = [];
    if (needed.length > 0) {
      onEvent({ type: "import-start", node: registry.container, source: label });
      const progress = meter(onEvent, registry.container);
      const tar = await runtime.saveImages(
        needed.map((r) => r.familiar),
        signal,
      );
      pushed = await pushArchive(
        tar,
        client,
        needed.map((r) => r.canonical),
        (n) => progress.add(n),
      );
      onEvent({
        type: "import-done",
        node: registry.container,
        source: label,
        status: "imported",
        images: needed.map((r) => r.canonical),
        bytes: progress.bytes,
        ms: Date.now() - started,
      });
    }
    return {
      cluster,
      registry: registry.container,
      images: [
        ...pushed.map((p) => ({ ...p, status: "pushed" as const })),
        ...skipped.map((r) => ({
          ref: r.canonical,
          ...registryPath(r.canonical),
          config: ids[refs.indexOf(r)] ?? "",
          bytes: 0,
          status: "skipped" as const,
        })),
      ],
    };
  });
}

async function clusterNodes(runtime: Runtime, d: Dialect, cluster: string, signal: AbortSignal): Promise<ContainerInfo[]> {
  const role = d.labels.role;
  const nodes = (await runtime.listContainers(clusterSelector(d, cluster), signal)).filter(
    (c) => c.labels[role] === "server" || c.labels[role] === "agent",
  );
  if (nodes.length === 0) throw new NotFoundError(`cluster "${cluster}" not found`);
  return nodes;
}

/** The registry the cluster created, else the first one on its network. */
async function clusterRegistry(
  runtime: Runtime,
  d: Dialect,
  cluster: string,
  nodes: readonly ContainerInfo[],
  signal: AbortSignal,
): Promise<RegistryEndpoint | undefined> {
  const network = nodes[0]?.labels[d.labels.network] ?? "";
  const attached = (await runtime.listContainers(registrySelector(d), signal))
    .filter((c) => network in c.networks && c.running)
    .map((c) => endpointFromContainer(c, d))
    .filter((r) => r.proxyRemoteUrl === undefined && r.hostPort > 0);
  return attached.find((r) => r.owner === cluster) ?? attached[0];
}

/**
 * A cluster without a registry gets the one `--registry-create PREFIX-CLUSTER-registry` would have
 * made (on its network, owned by it, so deleted with it), connected as `registry connect` does.
 */
async function createClusterRegistry(op: Operation, name: string, nodes: readonly ContainerInfo[]): Promise<RegistryEndpoint> {
  const { runtime, dialect: d } = op;
  // Loaded only here: a push into the registry the cluster has needs none of this.
  const [{ defaultPublishAddress }, { clusterRegistrySpec }, { addRegistry, planRegistryChange }] = await Promise.all([
    import("../host-ports.js"),
    import("../registry/spec.js"),
    import("./registry.js"),
  ]);
  const spec = clusterRegistrySpec(registryContainerName(d, `${name}-registry`), d, defaultPublishAddress(await runtime.place()));
  const session = nodes[0]?.labels[d.labels.session];
  const info = await addRegistry(op, spec, {
    network: nodes[0]?.labels[d.labels.network] ?? networkName(d, name),
    owner: name,
    container: clusterRegistryContainerName(d, spec.name),
    // A test session's reaper finds what to remove by this label.
    ...(session !== undefined ? { labels: { [d.labels.session]: session } } : {}),
  });
  await execute(await planRegistryChange(op, spec.name, name, "connect"), op);
  op.onEvent({
    type: "note",
    message: `cluster "${name}" had no registry: created ${info.name} for it (deleted with the cluster) and connected it`,
  });
  return endpointFromContainer(info, d);
}
