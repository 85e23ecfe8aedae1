/** Pure mappings between k3box's runtime types and Docker Engine API bodies. */
import type Docker from "dockerode";
import type { ContainerInfo, ContainerSpec, DeviceRequest, Mount, NetworkInfo, PublishedPort, Ulimit } from "../types.js";

/** The HostConfig fields k3box sets beyond dockerode's typings of them. */
interface EngineSettings {
  Memory?: number;
  DeviceRequests?: Array<{
    Driver?: string;
    Count?: number;
    DeviceIDs?: string[];
    Capabilities?: string[][];
    Options?: Record<string, string>;
  }>;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  PidMode?: string;
}

/** Memory limit, GPUs, ulimits and host PID mode as Docker's HostConfig spells them. */
function engineSettings(spec: ContainerSpec): EngineSettings {
  return {
    ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes } : {}),
    ...(spec.deviceRequests !== undefined && spec.deviceRequests.length > 0
      ? {
          DeviceRequests: spec.deviceRequests.map((r) => ({
            ...(r.driver !== undefined ? { Driver: r.driver } : {}),
            ...(r.count !== undefined ? { Count: r.count } : {}),
            ...(r.deviceIds !== undefined ? { DeviceIDs: [...r.deviceIds] } : {}),
            Capabilities: r.capabilities.map((c) => [...c]),
            Options: { ...r.options },
          })),
        }
      : {}),
    ...(spec.ulimits !== undefined && spec.ulimits.length > 0
      ? { Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) }
      : {}),
    ...(spec.hostPid ? { PidMode: "host" } : {}),
  };
}

/** The inverse of engineSettings, from an inspected HostConfig. */
function engineSettingsOf(host: EngineSettings): Pick<ContainerSpec, "memoryBytes" | "deviceRequests" | "ulimits" | "hostPid"> {
  const devices: DeviceRequest[] = (host.DeviceRequests ?? []).map((r) => ({
    ...(r.Driver ? { driver: r.Driver } : {}),
    ...(r.Count !== undefined && r.Count !== 0 ? { count: r.Count } : {}),
    ...(r.DeviceIDs && r.DeviceIDs.length > 0 ? { deviceIds: r.DeviceIDs } : {}),
    capabilities: r.Capabilities ?? [],
    options: r.Options ?? {},
  }));
  const ulimits: Ulimit[] = (host.Ulimits ?? []).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }));
  return {
    ...(host.Memory ? { memoryBytes: host.Memory } : {}),
    ...(devices.length > 0 ? { deviceRequests: devices } : {}),
    ...(ulimits.length > 0 ? { ulimits } : {}),
    ...(host.PidMode === "host" ? { hostPid: true } : {}),
  };
}

export function toCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of spec.ports ?? []) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort === 0 ? "" : String(p.hostPort) });
  }
  const tmpfs: Record<string, string> = {};
  for (const t of spec.tmpfs ?? []) tmpfs[t] = "";
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.hostname !== undefined ? { Hostname: spec.hostname } : {}),
    ...(spec.entrypoint !== undefined ? { Entrypoint: [...spec.entrypoint] } : {}),
    ...(spec.cmd !== undefined ? { Cmd: [...spec.cmd] } : {}),
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels },
    ExposedPorts: exposed,
    HostConfig: {
      Privileged: spec.privileged ?? false,
      Init: spec.init ?? false,
      Tmpfs: tmpfs,
      Mounts: (spec.mounts ?? []).map(toDockerMount),
      PortBindings: bindings,
      RestartPolicy: { Name: spec.restartPolicy ?? "no" },
      NetworkMode: spec.network,
      ...engineSettings(spec),
    } as Docker.HostConfig,
    // No endpoint for a container without its own network stack: Podman refuses one.
    ...(spec.network === "none" || spec.network === "host"
      ? {}
      : { NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: [...(spec.networkAliases ?? [])] } } } }),
  };
}

function toDockerMount(m: Mount): Docker.MountSettings {
  const propagation = m.options?.find((o) => /^r?(shared|slave|private)$/.test(o));
  return {
    Type: m.type,
    Source: m.source,
    Target: m.target,
    ReadOnly: m.readOnly ?? false,
    ...(m.type === "bind" && propagation ? { BindOptions: { Propagation: propagation as "rshared" } } : {}),
  };
}

const STATES = new Set(["created", "running", "paused", "restarting", "removing", "exited", "dead"]);
/** Podman's own words for states Docker names otherwise (a crash-looping container shows `stopped`). */
const PODMAN_STATES: Readonly<Record<string, ContainerInfo["state"]>> = {
  stopped: "exited",
  configured: "created",
  initialized: "created",
  stopping: "running",
};

type PortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null | undefined>;

/** Docker's `"80/tcp": [{HostIp, HostPort}]` map as a flat list. */
function publishedPorts(map: PortMap | undefined): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const [key, binds] of Object.entries(map ?? {})) {
    const [port, proto] = key.split("/");
    for (const b of binds ?? []) {
      ports.push({
        containerPort: Number(port),
        protocol: proto === "udp" ? "udp" : "tcp",
        hostIp: b.HostIp ?? "",
        hostPort: Number(b.HostPort || 0),
      });
    }
  }
  return ports;
}

export function fromInspect(c: Docker.ContainerInspectInfo): ContainerInfo {
  const running = publishedPorts(c.NetworkSettings.Ports as PortMap | undefined);
  // A stopped container has no runtime port map; its configured bindings still say what it publishes.
  const ports = running.length > 0 ? running : publishedPorts(c.HostConfig.PortBindings as PortMap | undefined);
  const networks: Record<string, { ip: string }> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings.Networks ?? {})) networks[name] = { ip: n.IPAddress };
  const env: Record<string, string> = {};
  for (const e of c.Config.Env ?? []) {
    const i = e.indexOf("=");
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  const status = STATES.has(c.State.Status)
    ? (c.State.Status as ContainerInfo["state"])
    : (PODMAN_STATES[c.State.Status] ?? "dead");
  const started = c.State.StartedAt && !c.State.StartedAt.startsWith("0001") ? new Date(c.State.StartedAt) : undefined;
  const finished = c.State.FinishedAt && !c.State.FinishedAt.startsWith("0001") ? new Date(c.State.FinishedAt) : undefined;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    image: c.Config.Image,
    labels: c.Config.Labels ?? {},
    state: status,
    running: c.State.Running,
    ...(started ? { startedAt: started } : {}),
    ...(finished ? { finishedAt: finished } : {}),
    exitCode: c.State.ExitCode,
    restartCount: c.RestartCount ?? 0,
    ...(c.Created ? { created: new Date(c.Created) } : {}),
    ports,
    networks,
    env,
    cmd: c.Config.Cmd ?? [],
    mounts: (c.Mounts ?? []).map((m) => ({
      type: m.Type === "volume" ? "volume" : "bind",
      source: m.Type === "volume" ? (m.Name ?? m.Source) : m.Source,
      target: m.Destination,
      readOnly: !m.RW,
    })),
    spec: specFromInspect(c),
  };
}

const RESTART_POLICIES = new Set(["no", "unless-stopped", "always"]);

/**
 * The inverse of toCreateOptions: what the container was created with. Mounts come from the
 * configuration, not from the runtime list, so the image's anonymous volumes are not taken for the user's.
 */
export function specFromInspect(c: Docker.ContainerInspectInfo): ContainerSpec {
  const name = c.Name.replace(/^\//, "");
  const host = c.HostConfig as Docker.HostConfig & { Mounts?: Docker.MountSettings[]; Init?: boolean | null } & EngineSettings;
  const ports = publishedPorts(host.PortBindings as PortMap | undefined);
  const env: Record<string, string> = {};
  for (const e of c.Config.Env ?? []) {
    const i = e.indexOf("=");
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  const network = host.NetworkMode ?? "default";
  const shortId = c.Id.slice(0, 12);
  const aliases = ((c.NetworkSettings.Networks?.[network] as { Aliases?: string[] | null } | undefined)?.Aliases ?? []).filter(
    (a: string) => a !== shortId && a !== c.Id,
  );
  const entrypoint = c.Config.Entrypoint;
  const restart = host.RestartPolicy?.Name ?? "no";
  return {
    name,
    image: c.Config.Image,
    ...(c.Config.Hostname ? { hostname: c.Config.Hostname } : {}),
    ...(entrypoint ? { entrypoint: typeof entrypoint === "string" ? [entrypoint] : [...entrypoint] } : {}),
    ...(c.Config.Cmd ? { cmd: [...c.Config.Cmd] } : {}),
    env,
    labels: { ...(c.Config.Labels ?? {}) },
    privileged: host.Privileged ?? false,
    tmpfs: Object.keys(host.Tmpfs ?? {}),
    mounts: (host.Mounts ?? []).map((m) => {
      const propagation = m.BindOptions?.Propagation;
      return {
        type: m.Type === "bind" ? ("bind" as const) : ("volume" as const),
        source: m.Source ?? "",
        target: m.Target,
        readOnly: m.ReadOnly ?? false,
        ...(propagation ? { options: [propagation] } : {}),
      };
    }),
    ports,
    network,
    networkAliases: aliases,
    restartPolicy: RESTART_POLICIES.has(restart) ? (restart as "no") : "no",
    init: host.Init ?? false,
    ...engineSettingsOf(host),
  };
}

export function fromNetworkInspect(n: Docker.NetworkInspectInfo): NetworkInfo {
  const cfg = n.IPAM?.Config?.[0];
  return {
    id: n.Id,
    name: n.Name,
    labels: n.Labels ?? {},
    ...(cfg?.Subnet ? { subnet: cfg.Subnet } : {}),
    ...(cfg?.Gateway ? { gateway: cfg.Gateway } : {}),
    containers: Object.values(n.Containers ?? {}).map((c) => c.Name),
  };
}

/** `{a: "b"}` → Docker's `label` filter list. */
export function labelFilter(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === "" ? k : `${k}=${v}`));
}
