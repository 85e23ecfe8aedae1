/** A registry as a container: the spec to create one, and reading one back from inspect. */
import type { ContainerInfo, ContainerSpec, Labels } from "../../runtime/types.js";
import { K3BOX, type Dialect } from "../dialect.js";
import { REGISTRY_ROLE } from "../labels.js";
import { registryContainerName } from "../naming.js";
import { DEFAULT_NETWORK, REGISTRY_INTERNAL_PORT, type RegistryCreateSpec, type RegistryEndpoint } from "./types.js";

export interface RegistryPlacement {
  readonly hostPort: number;
  readonly network: string;
  /** The cluster that created it and deletes it. */
  readonly owner?: string;
  /** The container's name, when it is not PREFIX-NAME. */
  readonly container?: string;
  /** The caller's labels (see CreateOptions.labels); k3box's own win. */
  readonly labels?: Labels;
}

export function registryContainerSpec(spec: RegistryCreateSpec, at: RegistryPlacement, d: Dialect = K3BOX): ContainerSpec {
  const name = at.container ?? registryContainerName(d, spec.name);
  const keys = d.labels;
  const f = d.foreign;
  const k3dLabels: Record<string, string> = {
    ...(f.registryHost ? { [f.registryHost]: `${name}:${at.hostPort}` } : {}),
    ...(f.registryHostIp ? { [f.registryHostIp]: spec.hostIp } : {}),
    ...(f.registryPortExternal ? { [f.registryPortExternal]: String(at.hostPort) } : {}),
    ...(f.registryPortInternal ? { [f.registryPortInternal]: String(REGISTRY_INTERNAL_PORT) } : {}),
  };
  const env: Record<string, string> = {};
  if (spec.proxy) {
    env.REGISTRY_PROXY_REMOTEURL = spec.proxy.remoteUrl;
    if (spec.proxy.username !== undefined) env.REGISTRY_PROXY_USERNAME = spec.proxy.username;
    if (spec.proxy.password !== undefined) env.REGISTRY_PROXY_PASSWORD = spec.proxy.password;
  }
  if (spec.deleteEnabled) env.REGISTRY_STORAGE_DELETE_ENABLED = "true";
  return {
    name,
    image: spec.image,
    hostname: name,
    env,
    labels: {
      ...at.labels,
      [keys.managed]: d.managedValue,
      [keys.version]: d.versionValue,
      ...d.extraLabels,
      ...k3dLabels,
      [keys.role]: REGISTRY_ROLE,
      [keys.registry]: spec.name,
      ...(at.owner !== undefined ? { [keys.registryOwner]: at.owner } : {}),
    },
    mounts: spec.volume
      ? [
          {
            type: spec.volume.source.startsWith("/") ? "bind" : "volume",
            source: spec.volume.source,
            target: spec.volume.destination,
          },
        ]
      : [],
    ports: [{ containerPort: REGISTRY_INTERNAL_PORT, protocol: "tcp", hostIp: spec.hostIp, hostPort: at.hostPort }],
    network: at.network,
    // Docker's default bridge has no aliases (nor DNS); user-defined networks resolve the name.
    networkAliases: at.network === DEFAULT_NETWORK ? [] : [name],
    restartPolicy: "unless-stopped",
  };
}

export function endpointFromContainer(c: ContainerInfo, d: Dialect = K3BOX): RegistryEndpoint {
  const addr = /:(\d+)$/.exec(c.env.REGISTRY_HTTP_ADDR ?? "");
  const port = addr ? Number(addr[1]) : REGISTRY_INTERNAL_PORT;
  const published = c.ports.find((p) => p.containerPort === port && p.protocol === "tcp");
  const remote = c.env.REGISTRY_PROXY_REMOTEURL;
  const owner = c.labels[d.labels.registryOwner];
  return {
    name: c.labels[d.labels.registry] ?? c.name,
    container: c.name,
    port,
    hostIp: published?.hostIp ?? "",
    hostPort: published?.hostPort ?? 0,
    ...(remote ? { proxyRemoteUrl: remote } : {}),
    ...(owner !== undefined ? { owner } : {}),
  };
}
