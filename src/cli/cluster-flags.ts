/**
 * The flags that describe a cluster, shared by `cluster create` and `config view`, and how
 * they layer over K3BOX_* variables and a config file.
 */
import { type Command, Option } from "commander";
import {
  CONFIG_ENV_VAR,
  DEFAULT_K3S_IMAGE,
  DEFAULT_LOADBALANCER_IMAGE,
  chooseEngine,
  readConfig,
  resolveClusterInput,
  type ChartInput,
  type ClusterInput,
  type LoadedConfig,
  type ResolvedInput,
} from "../index.js";
import { addHelmFlags, chartsFromFlags } from "./helm-flags.js";
import { bool, collect, collectList, count } from "./options.js";

export interface SpecFlags {
  config?: string;
  servers: number;
  agents: number;
  image: string;
  datastore?: string;
  datastoreImage?: string;
  datastoreEndpoint?: string;
  datastorePort?: string;
  datastoreVolume?: string;
  lbImage?: string;
  apiPort?: string;
  kubeconfigServer?: string;
  port: string[];
  k3sArg: string[];
  k3sNodeLabel: string[];
  env: string[];
  volume: string[];
  file: string[];
  manifest: string[];
  helmChart?: ChartInput[];
  bundle?: string;
  hostAlias: string[];
  registryCreate?: string;
  registryUse: string[];
  registryConfig?: string;
  token?: string;
  network?: string;
  subnet?: string;
  lb: boolean;
  wait: boolean;
  waitFor?: string;
  timeout?: string;
  kubeconfigUpdateDefault: boolean;
  kubeconfigSwitchContext: boolean;
  rollback: boolean;
  serversMemory?: string;
  agentsMemory?: string;
  gpus?: string;
  hostPidMode?: boolean;
  lbConfigOverride: string[];
  imageVolume: boolean;
  runtimeLabel: string[];
  runtimeUlimit: string[];
}

export function addSpecFlags(cmd: Command): Command {
  cmd
    .option(
      "-c, --config <file>",
      `config file (k3box.dev/v1alpha1 or k3d.io/v1alpha5|4), - for stdin; default $${CONFIG_ENV_VAR}`,
    )
    .option("-s, --servers <count>", "number of servers", count("server count"), 1)
    .option("-a, --agents <count>", "number of agents", count("agent count"), 0)
    .option("-i, --image <image>", "k3s image for the nodes", DEFAULT_K3S_IMAGE)
    .option(
      "--datastore <type>",
      "where the servers keep the cluster: sqlite, etcd, postgres, mysql, mariadb (k3box runs the database) or external (default sqlite for one server, etcd for more)",
    )
    .option("--datastore-image <image>", "image of the database k3box runs (default postgres:17, mysql:8.4, mariadb:11)")
    .option(
      "--datastore-endpoint <url>",
      "an external datastore: postgres://, mysql:// or http(s):// of etcd (better: K3BOX_DATASTORE_ENDPOINT, kept out of the process list)",
    )
    .option("--datastore-port <[host:]port>", "publish the database k3box runs on the host (default host 127.0.0.1)")
    .option("--datastore-volume <volume|path>", "named volume or host path for the database's data, kept on delete")
    .option(
      "--api-port <[host:]port>",
      "where the API is published on the engine's host (default 127.0.0.1, or a remote engine's address, and a free port)",
    )
    .option(
      "--kubeconfig-server <url>",
      "https://HOST[:PORT] the kubeconfig names, when clients reach the API otherwise (a NAT, a tunnel)",
    )
    .option("-p, --port <spec>", "publish a port: [HOST:][HOSTPORT:]CONTAINERPORT[/PROTO][@FILTER] (repeatable)", collect, [])
    .option("--k3s-arg <arg@filter>", "extra k3s argument for the selected nodes (repeatable)", collect, [])
    .option(
      "--k3s-node-label <KEY=VALUE@filter>",
      "Kubernetes label for the selected nodes, default all (repeatable)",
      collect,
      [],
    )
    .option("-e, --env <KEY=VALUE@filter>", "environment variable for the selected nodes (repeatable)", collect, [])
    .option("-v, --volume <src:dest@filter>", "mount a host path or volume into the selected nodes (repeatable)", collect, [])
    .option(
      "--file <src:dest@filter>",
      "copy a file into the selected nodes before k3s starts; DEST may start with k3s-manifests/, k3s-images/... (repeatable)",
      collect,
      [],
    )
    .option("--manifest <file|dir>", "deploy a manifest (or a directory of them) with the cluster (repeatable)", collect, [])
    .option(
      "--host-alias <ip:name[,name]>",
      "resolve these names to IP in every node (/etc/hosts) and pod (coredns NodeHosts) (repeatable)",
      collect,
      [],
    )
    .option("--token <token>", "cluster join token (default: random, 160 bits)")
    .option("--network <name>", "use this Docker network (an existing one is kept when the cluster is deleted)")
    .option("--subnet <cidr>", "IPv4 subnet of the cluster's own network, e.g. 172.28.0.0/16 (default: the engine picks)")
    .option("--no-lb", "no load balancer: the API is published on the first server")
    .option("--lb-image <image>", `load balancer image, nginx with the stream module (default ${DEFAULT_LOADBALANCER_IMAGE})`)
    .addOption(new Option("--wait [bool]", "wait until the cluster is ready").argParser(bool).default(true))
    .addOption(new Option("--no-wait", "return once the nodes are started"))
    .option(
      "--wait-for <level>",
      "what ready means: api (nodes Ready, /readyz), workloads (also pods can be created; default), addons (also CoreDNS and the other add-ons Available)",
    )
    .option("--timeout <duration>", "deadline for the whole create, rollback aside (e.g. 90s, 5m)")
    .addOption(
      new Option("--kubeconfig-update-default [bool]", "merge the kubeconfig into the default file")
        .argParser(bool)
        .default(true),
    )
    .addOption(
      new Option("--kubeconfig-switch-context [bool]", "make the new cluster the current context").argParser(bool).default(true),
    )
    .option("--no-rollback", "keep what was created when the create fails, for debugging")
    .option("--registry-create <name[:host][:port]>", "create a registry with the cluster (deleted with it)")
    .option("--registry-use <name[:port]>", "pull through an existing k3box registry (repeatable)", collect, [])
    .option("--registry-config <file>", "a k3s registries.yaml merged over the mirrors k3box generates")
    .option("--bundle <file>", "create from a bundle (k3box bundle create): its images go into every node before k3s starts")
    .option("--servers-memory <size>", "memory limit of every server (e.g. 2g); the nodes see it as their memory")
    .option("--agents-memory <size>", "memory limit of every agent (e.g. 1g); the nodes see it as their memory")
    .option("--gpus <request>", "GPUs for every server and agent, as docker run --gpus (all, 2, device=0)")
    .addOption(new Option("--host-pid-mode [bool]", "the nodes share the host's PID namespace").argParser(bool))
    .option(
      "--lb-config-override <settings.KEY=VALUE>",
      "load balancer setting: settings.workerConnections=N, settings.defaultProxyTimeout=SECONDS (repeatable)",
      collectList,
      [],
    )
    .option(
      "--no-image-volume",
      "no shared image volume on /k3d/images (image import writes an archive there once for all nodes)",
    )
    .option("--runtime-label <KEY=VALUE@filter>", "label of the selected node containers, default all (repeatable)", collect, [])
    .option(
      "--runtime-ulimit <NAME=SOFT:HARD>",
      "ulimit of every server and agent, e.g. nofile=1024:2048 (repeatable)",
      collect,
      [],
    );
  return addHelmFlags(cmd);
}

/** Only what the user typed: defaults are left to the lower layers and to the spec builder. */
export function inputFromFlags(cmd: Command, name: string | undefined, flags: SpecFlags): ClusterInput {
  const given = (key: keyof SpecFlags) => cmd.getOptionValueSource(key) === "cli";
  const pick = <T>(key: keyof SpecFlags, value: T): T | undefined => (given(key) ? value : undefined);
  return {
    name,
    servers: pick("servers", flags.servers),
    agents: pick("agents", flags.agents),
    image: pick("image", flags.image),
    datastore: flags.datastore,
    datastoreImage: flags.datastoreImage,
    datastoreEndpoint: flags.datastoreEndpoint,
    datastorePort: flags.datastorePort,
    datastoreVolume: flags.datastoreVolume,
    apiPort: flags.apiPort,
    kubeconfigServer: flags.kubeconfigServer,
    ports: flags.port,
    k3sArgs: flags.k3sArg,
    nodeLabels: flags.k3sNodeLabel,
    env: flags.env,
    volumes: flags.volume,
    files: flags.file,
    manifests: flags.manifest,
    charts: chartsFromFlags(flags.helmChart),
    bundle: flags.bundle,
    hostAliases: flags.hostAlias,
    registryCreate: flags.registryCreate,
    registryUse: flags.registryUse,
    registryConfig: flags.registryConfig,
    token: flags.token,
    network: flags.network,
    subnet: flags.subnet,
    loadBalancer: pick("lb", flags.lb),
    loadBalancerImage: flags.lbImage,
    wait: pick("wait", flags.wait),
    waitFor: flags.waitFor,
    timeout: flags.timeout,
    updateDefaultKubeconfig: pick("kubeconfigUpdateDefault", flags.kubeconfigUpdateDefault),
    switchContext: pick("kubeconfigSwitchContext", flags.kubeconfigSwitchContext),
    rollback: pick("rollback", flags.rollback),
    serversMemory: flags.serversMemory,
    agentsMemory: flags.agentsMemory,
    gpus: flags.gpus,
    hostPidMode: flags.hostPidMode,
    lbConfigOverrides: flags.lbConfigOverride,
    imageVolume: pick("imageVolume", flags.imageVolume),
    runtimeLabels: flags.runtimeLabel,
    runtimeUlimits: flags.runtimeUlimit,
  };
}

/** The config file named by --config or K3BOX_CONFIG, loaded and checked. */
export async function configFile(path: string | undefined, env: NodeJS.ProcessEnv): Promise<LoadedConfig | undefined> {
  const file = path ?? (env[CONFIG_ENV_VAR] || undefined);
  if (file === undefined) return undefined;
  return readConfig(file, env);
}

/** Flags over K3BOX_* over the config file. */
export async function resolveFromCommandLine(
  cmd: Command,
  name: string | undefined,
  flags: SpecFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedInput> {
  const file = await configFile(flags.config, env);
  const resolved = resolveClusterInput({ flags: inputFromFlags(cmd, name, flags), env, ...(file ? { file } : {}) });
  // The file's engine is the cluster's, unless --engine or K3BOX_ENGINE names another.
  const engine = resolved.input.engine;
  if (engine !== undefined && file && cmd.optsWithGlobals<{ engine?: string }>().engine === undefined && !env.K3BOX_ENGINE) {
    chooseEngine({ value: engine, from: `engine: in ${file.source.name}` });
  }
  return resolved;
}
