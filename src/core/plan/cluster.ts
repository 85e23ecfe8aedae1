/**
 * Pure planning of a cluster create: every name, argument and port is worked out
 * here, before anything exists, and the result is an ordered tree of actions.
 */
import { K3S_AGENT_IMAGES_DIR } from "../cluster-spec/files.js";
import { filterMatches } from "../cluster-spec/filters.js";
import { K3S_API_PORT } from "../cluster-spec/defaults.js";
import type { ClusterSpec, NodeRole } from "../cluster-spec/types.js";
import type { ContainerSpec, FileEntry, Labels, Mount, PublishedPort } from "../../runtime/types.js";
import { IMAGE_VOLUME_PATH, K3BOX, type Dialect } from "../dialect.js";
import { entrypointFiles, meminfoFile } from "../node/entrypoint.js";
import { registryContainerSpec } from "../registry/container.js";
import { endpointOf, registryNames } from "../registry/addresses.js";
import { DEFAULT_NETWORK, REGISTRY_INTERNAL_PORT } from "../registry/types.js";
import { NGINX_CONFIG_PATH, renderNginxConfig } from "../loadbalancer/nginx.js";
import { isDirect, proxiedPorts } from "../loadbalancer/targets.js";
import {
  clusterRegistryContainerName,
  imageVolumeName,
  loadBalancerName,
  networkName,
  nodeName,
  nodeVolumeName,
} from "../naming.js";
import { parallel, sequence, type Action, type Milestone } from "./actions.js";
import { nodeContainer, toMount, type NodeEngineSettings } from "./node-container.js";
import { datastoreConfigFile, datastoreLabels, datastoreLink, planDatastore, type PlannedDatastore } from "./datastore.js";
import type { Adaptation } from "../host/adaptations.js";

/** Facts the planner needs that come from outside: chosen ports, the token, what already exists. */
export interface PlanContext {
  readonly token: string;
  readonly apiHostPort: number;
  /** Host ports chosen for mappings that named none, keyed by the mapping's index in spec.ports. */
  readonly portHostPorts: ReadonlyMap<number, number>;
  /** The network exists already and is not the cluster's to remove. */
  readonly networkExists: boolean;
  readonly version: string;
  /** The node entrypoint script (images/node/k3box-entrypoint.sh). */
  readonly nodeEntrypoint: string;
  /** The host port of the registry created with the cluster (spec.registries.create). */
  readonly registryHostPort?: number;
  /** Existing registries (container names) to attach to the cluster's network. */
  readonly connectRegistries?: readonly string[];
  /** What the nodes need to run on this engine (see host/adaptations.ts). */
  readonly adaptations?: readonly Adaptation[];
  /** Whose names and labels the cluster gets; k3box's own by default. */
  readonly dialect?: Dialect;
  /** The caller's labels for every object (see CreateOptions.labels); k3box's own win. */
  readonly labels?: Labels;
  /** The password of the database k3box runs as the datastore (spec.datastore postgres, mysql or mariadb). */
  readonly datastorePassword?: string;
}

export interface PlannedNode {
  readonly name: string;
  readonly role: NodeRole | "loadbalancer";
  readonly index: number;
  readonly container: ContainerSpec;
  /** Put into the container after it is created, before it starts. */
  readonly files: readonly FileEntry[];
}

export interface CreatePlan {
  readonly cluster: string;
  readonly network: { readonly name: string; readonly external: boolean };
  readonly nodes: readonly PlannedNode[];
  /** The registry created with the cluster. */
  readonly registry?: ContainerSpec;
  /** The cluster's datastore: its type, the endpoint the servers get (shown without password), the database k3box runs. */
  readonly datastore: {
    readonly type: ClusterSpec["datastore"]["type"];
    readonly endpoint?: string;
    readonly container?: PlannedDatastore;
  };
  readonly api: {
    readonly host: string;
    readonly hostIp: string;
    readonly hostPort: number;
    readonly via: string;
    /** The kubeconfig's server URL when it is not https://host:hostPort. */
    readonly server?: string;
  };
  readonly actions: Action;
}

export function planCreate(spec: ClusterSpec, ctx: PlanContext): CreatePlan {
  const d = ctx.dialect ?? K3BOX;
  const keys = d.labels;
  const net = spec.network ?? networkName(d, spec.name);
  const lbName = loadBalancerName(d, spec.name);
  const initUrl = `https://${nodeName(d, spec.name, "server", 0)}:${K3S_API_PORT}`;
  const ports = spec.ports.map((p, i) => ({ ...p, hostPort: p.hostPort ?? (ctx.portHostPorts.get(i) as number) }));
  const adaptations = ctx.adaptations ?? [];
  const agentArgs = [...argsForEveryAgent(spec), ...adaptations.flatMap((a) => a.k3sArgs)];
  const imageVolume = spec.imageVolume ? imageVolumeName(d, spec.name) : undefined;

  const common = {
    ...ctx.labels,
    [keys.managed]: d.managedValue,
    [keys.version]: ctx.version,
    ...d.extraLabels,
    [keys.cluster]: spec.name,
    [keys.network]: net,
    [keys.networkExternal]: String(ctx.networkExists),
    [keys.apiHost]: spec.api.host,
    [keys.apiHostIp]: spec.api.hostIp,
    [keys.apiPort]: String(ctx.apiHostPort),
    ...(spec.api.server !== undefined ? { [keys.apiServer]: spec.api.server } : {}),
  };
  // What k3d itself records on every node, for k3d and the tools that read its labels.
  const foreign = d.foreign;
  const k3dLabels: Record<string, string> = {
    ...(foreign.clusterUrl ? { [foreign.clusterUrl]: initUrl } : {}),
    ...(foreign.serverLoadBalancer ? { [foreign.serverLoadBalancer]: spec.loadBalancer ? lbName : "" } : {}),
    ...(foreign.imageVolume && imageVolume ? { [foreign.imageVolume]: imageVolume } : {}),
    ...(foreign.hostAliases && spec.hostAliases.length > 0
      ? { [foreign.hostAliases]: JSON.stringify(spec.hostAliases.map((h) => ({ ip: h.ip, hostnames: h.names }))) }
      : {}),
  };
  const imageMount: Mount[] = imageVolume ? [{ type: "volume", source: imageVolume, target: IMAGE_VOLUME_PATH }] : [];

  const ds = spec.datastore;
  const etcd = ds.type === "etcd";
  const link = datastoreLink(d, spec.name, ds, ctx.datastorePassword ?? "");
  const dsLabels = datastoreLabels(d, ds, link);
  const datastore =
    "image" in ds
      ? planDatastore(d, spec.name, ds, {
          network: net,
          password: ctx.datastorePassword ?? "",
          labels: { ...common, ...dsLabels },
        })
      : undefined;

  const k3sNodes: Array<PlannedNode & { readonly role: NodeRole }> = [];
  const roles: Array<[NodeRole, number]> = [
    ["server", spec.servers],
    ["agent", spec.agents],
  ];
  for (const [role, count] of roles) {
    for (let index = 0; index < count; index++) {
      const name = nodeName(d, spec.name, role, index);
      const ref = { role, index };
      // With etcd, server-0 creates the cluster and the others join it; servers sharing a database are each a full server.
      const isInit = role === "server" && index === 0 && etcd;
      const args: string[] = [];
      if (role === "server") {
        args.push("--tls-san", spec.api.host);
        if (spec.api.hostIp !== spec.api.host && spec.api.hostIp !== "0.0.0.0") args.push("--tls-san", spec.api.hostIp);
        if (spec.loadBalancer) args.push("--tls-san", lbName);
        if (isInit) args.push("--cluster-init");
      }
      for (const a of spec.k3sArgs) if (filterMatches(a.filters, ref)) args.push(a.arg);
      args.push(...adaptations.flatMap((a) => a.k3sArgs));

      const env: Record<string, string> = { ...d.nodeEnv };
      for (const e of spec.env) if (filterMatches(e.filters, ref) && e.value !== undefined) env[e.key] = e.value;
      const runtimeLabels = Object.fromEntries(
        spec.runtime.labels.filter((l) => filterMatches(l.filters, ref)).map((l) => [l.key, l.value]),
      );
      const memoryBytes = role === "server" ? spec.runtime.serversMemory : spec.runtime.agentsMemory;
      const engine: NodeEngineSettings = {
        ...(memoryBytes !== undefined ? { memoryBytes } : {}),
        ...(spec.runtime.gpus ? { deviceRequests: [spec.runtime.gpus.request] } : {}),
        ulimits: spec.runtime.ulimits,
        hostPid: spec.runtime.hostPid,
      };

      const published: PublishedPort[] = [];
      if (!spec.loadBalancer && role === "server" && index === 0) {
        published.push({ containerPort: K3S_API_PORT, protocol: "tcp", hostIp: spec.api.hostIp, hostPort: ctx.apiHostPort });
      }
      for (const p of ports) {
        if (isDirect(p) && filterMatches(p.filters, ref)) {
          published.push({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort });
        }
      }

      const files = [
        ...entrypointFiles(ctx.nodeEntrypoint, spec.hostAliases),
        ...(role === "server" && link ? [datastoreConfigFile(link)] : []),
        ...adaptations.flatMap((a) => a.files),
        ...(memoryBytes !== undefined ? [meminfoFile(memoryBytes)] : []),
        ...spec.files
          .filter((f) => filterMatches(f.filters, ref))
          .map<FileEntry>((f) => ({
            path: f.destination,
            content: f.content,
            ...(f.mode !== undefined ? { mode: f.mode } : {}),
          })),
      ];
      const container = nodeContainer({
        name,
        role,
        image: spec.image,
        args,
        token: ctx.token,
        ...(role === "agent" || (etcd && index > 0) ? { joinUrl: initUrl } : {}),
        env,
        labels: {
          ...runtimeLabels,
          ...common,
          ...k3dLabels,
          [keys.role]: role,
          [keys.index]: String(index),
          [keys.image]: spec.image,
          [keys.files]: JSON.stringify(files.map((f) => f.path)),
          ...(isInit ? { [keys.init]: "true" } : {}),
          ...(role === "server" ? { [keys.agentArgs]: JSON.stringify(agentArgs), ...dsLabels } : {}),
          [keys.adaptations]: JSON.stringify(adaptations.map((a) => a.name)),
          [keys.imageImportMode]: spec.imageImportMode,
        },
        mounts: [...imageMount, ...spec.volumes.filter((v) => filterMatches(v.filters, ref)).map(toMount)],
        ports: published,
        network: net,
        engine,
      });
      k3sNodes.push({ name, role, index, container, files });
    }
  }

  const servers = k3sNodes.filter((n) => n.role === "server");
  const agents = k3sNodes.filter((n) => n.role === "agent");

  let lb: PlannedNode | undefined;
  if (spec.loadBalancer) {
    const proxied = proxiedPorts(ports, k3sNodes);
    const published: PublishedPort[] = [
      { containerPort: K3S_API_PORT, protocol: "tcp", hostIp: spec.api.hostIp, hostPort: ctx.apiHostPort },
      ...ports
        .filter((p) => !isDirect(p))
        .map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort })),
    ];
    const settings = spec.loadBalancerSettings;
    lb = {
      name: lbName,
      role: "loadbalancer",
      index: 0,
      files: [{ path: NGINX_CONFIG_PATH, content: renderNginxConfig(proxied, settings), mode: 0o644 }],
      container: {
        name: lbName,
        image: spec.loadBalancerImage,
        hostname: lbName,
        labels: {
          ...common,
          [keys.role]: "loadbalancer",
          [keys.index]: "0",
          [keys.ports]: JSON.stringify(ports.filter((p) => !isDirect(p)).map((p) => p.raw)),
          ...(Object.keys(settings).length > 0 ? { [keys.lbSettings]: JSON.stringify(settings) } : {}),
        },
        ports: published,
        network: net,
        networkAliases: [lbName],
        restartPolicy: "unless-stopped",
      },
    };
  }

  const volumes = k3sNodes.map<Action>((n) => ({
    type: "create-volume",
    volume: { name: nodeVolumeName(n.name), labels: { ...common, [keys.role]: n.role } },
  }));
  if (imageVolume) volumes.push({ type: "create-volume", volume: { name: imageVolume, labels: common } });
  if (datastore?.volume) volumes.push({ type: "create-volume", volume: datastore.volume });
  const bundle = spec.bundle;
  const nodeImages = bundle?.nodeImages;
  const creates = [...k3sNodes, ...(lb ? [lb] : [])].map<Action>((n) => {
    const create: Action = { type: "create-container", container: n.container, files: n.files };
    if (bundle === undefined || nodeImages === undefined || n.role === "loadbalancer") return create;
    // Before k3s first starts: it imports agent/images/ then, so no node ever pulls these images.
    return sequence([
      create,
      {
        type: "copy-bundle-entry",
        container: n.name,
        bundle: bundle.path,
        entry: nodeImages,
        destination: `${K3S_AGENT_IMAGES_DIR}/k3box-bundle-${nodeImages.sha256.slice(0, 12)}.tar`,
      },
    ]);
  });

  if (datastore) creates.push({ type: "create-container", container: datastore.container, files: datastore.files });

  const [init, ...joiners] = servers;
  const start = (n: PlannedNode, milestone: Milestone): Action => ({
    type: "start",
    container: n.name,
    ...(spec.wait ? { milestone } : {}),
  });
  const startAgents = [...agents.map((n) => start(n, "agent")), ...(lb ? [start(lb, "loadbalancer")] : [])];
  // The database first: k3s on MySQL gives up at once when it cannot connect.
  const startNodes: Action[] = datastore
    ? [
        { type: "start", container: datastore.name },
        { type: "wait-datastore", container: datastore.name, engine: datastore.engine },
      ]
    : [];
  if (init && link) {
    // The first server creates kine's tables and stores the cluster's CAs in the datastore before it
    // launches its apiserver; the others then take them from there, all at once.
    startNodes.push(start(init, "server-started"), {
      type: "parallel",
      actions: [
        sequence([
          ...(spec.wait ? [{ type: "wait" as const, container: init.name, milestone: "server" as const }] : []),
          parallel(startAgents),
        ]),
        ...joiners.map((n) => start(n, "server")),
      ],
    });
  } else {
    if (init) startNodes.push(start(init, "server"));
    startNodes.push({
      type: "parallel",
      actions: [
        // etcd admits one new member at a time; agents need no such care.
        { type: "sequence", actions: joiners.map((n) => start(n, "server")) },
        ...startAgents,
      ],
    });
  }

  const images = new Set([
    spec.image,
    ...(lb ? [spec.loadBalancerImage] : []),
    ...(datastore ? [datastore.container.image] : []),
  ]);

  let startAll: Action[] = startNodes;
  const regSpec = spec.registries.create;
  const registry =
    regSpec && ctx.registryHostPort !== undefined
      ? registryContainerSpec(
          regSpec,
          {
            hostPort: ctx.registryHostPort,
            network: net,
            owner: spec.name,
            container: clusterRegistryContainerName(d, regSpec.name),
            ...(ctx.labels !== undefined ? { labels: ctx.labels } : {}),
          },
          d,
        )
      : undefined;
  const connects = (ctx.connectRegistries ?? []).map<Action>((container) => ({
    type: "connect-network",
    network: net,
    container,
    fallback: DEFAULT_NETWORK,
  }));
  if (registry && regSpec) {
    images.add(regSpec.image);
    creates.push({ type: "create-container", container: registry, files: [] });
    const endpoint = endpointOf(
      regSpec.name,
      regSpec.hostIp,
      ctx.registryHostPort as number,
      REGISTRY_INTERNAL_PORT,
      registry.name,
    );
    const address = registryNames(endpoint).host;
    // The registry starts alongside the nodes: nothing pulls from it before the cluster is up.
    const startRegistry: Action = {
      type: "sequence",
      actions: [
        { type: "start", container: registry.name },
        ...(spec.wait ? [{ type: "wait-registry" as const, container: registry.name, address }] : []),
      ],
    };
    startAll = [{ type: "parallel", actions: [{ type: "sequence", actions: startNodes }, startRegistry] }];
  }

  const actions = sequence([
    parallel([...images].map<Action>((image) => ({ type: "ensure-image", image }))),
    ...(ctx.networkExists
      ? []
      : [
          {
            type: "create-network" as const,
            network: { name: net, labels: common, ...(spec.subnet !== undefined ? { subnet: spec.subnet } : {}) },
          },
        ]),
    parallel(volumes),
    parallel(creates),
    ...(connects.length > 0 ? [parallel(connects)] : []),
    ...startAll,
    ...(spec.wait && servers.length > 0 ? [{ type: "wait-ready" as const, cluster: spec.name, level: spec.waitFor }] : []),
  ]);

  return {
    cluster: spec.name,
    network: { name: net, external: ctx.networkExists },
    nodes: [...k3sNodes, ...(lb ? [lb] : [])],
    ...(registry ? { registry } : {}),
    datastore: {
      type: ds.type,
      ...(link ? { endpoint: link.shown } : {}),
      ...(datastore ? { container: datastore } : {}),
    },
    api: {
      host: spec.api.host,
      hostIp: spec.api.hostIp,
      hostPort: ctx.apiHostPort,
      via: lb ? lb.name : (servers[0]?.name ?? ""),
      ...(spec.api.server !== undefined ? { server: spec.api.server } : {}),
    },
    actions,
  };
}

/**
 * The k3s arguments meant for every agent (`@agent:*`, `@all`, node labels by default): kept on
 * the servers, so an agent added later to a cluster that has none gets them too.
 */
function argsForEveryAgent(spec: ClusterSpec): string[] {
  return spec.k3sArgs
    .filter((a) => a.filters.some((f) => (f.group === "agent" || f.group === "all") && f.select.kind === "all"))
    .map((a) => a.arg);
}
