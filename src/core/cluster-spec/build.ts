import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { UsageError } from "../../base/errors.js";
import { DEFAULT_CLUSTER_NAME, DEFAULT_K3S_IMAGE, DEFAULT_LOADBALANCER_IMAGE } from "./defaults.js";
import { toTimeoutMs } from "./duration.js";
import { parseEnvVar, parseK3sArg, parseNodeLabel } from "./env.js";
import { loadClusterBundle, withoutRepeats } from "./bundle.js";
import { buildDatastore } from "./datastore.js";
import { chartFile, loadChart } from "./charts.js";
import { loadManifests, loadNodeFile, parseFileFlag } from "./files.js";
import type { BuildOptions, ClusterInput, InputField } from "./input.js";
import { parseHostAlias } from "./hosts.js";
import { DEFAULT_READY_LEVEL, parseReadyLevel } from "../readiness/levels.js";
import { sharedListenerProblem } from "../loadbalancer/targets.js";
import { HOST_ALIASES_PATH, NODE_ENTRYPOINT_PATH } from "../node/entrypoint.js";
import { DATASTORE_CONFIG_PATH, REGISTRIES_YAML_PATH } from "../node/paths.js";
import { checkFiltersInRange, filterMatches, parseNodeFilters } from "./filters.js";
import { validateClusterName, validateImage, validateNetworkName } from "./validate.js";
import { DEFAULT_HOST_IP, parsePortMapping, parsePortNumber, placePort } from "./ports.js";
import { parseSubnet } from "./subnet.js";
import type {
  ApiEndpoint,
  ClusterDatastore,
  ClusterSpec,
  ClusterRegistries,
  HelmChartSpec,
  NodeFile,
  NodeFilter,
  NodeRef,
  PortMapping,
} from "./types.js";
import { parseVolumeMount } from "./volumes.js";
import { buildClusterRegistries } from "../registry/spec.js";
import { clampCount, LIMITS, nodeCountProblems } from "../limits.js";
import { K3BOX } from "../dialect.js";
import { applyLbOverride, parseGpus, parseMemory, parseRuntimeLabel, parseUlimit } from "./runtime.js";
import type { LoadBalancerSettings } from "./types.js";
import { parseImageImportMode } from "../images/import-mode.js";

const EVERY_NODE = "server:*;agent:*";
const EVERY_SERVER = "server:*";

/** An item without filters goes to the default nodes; applied after the given filters were range-checked. */
function withFilters<T extends { readonly filters: readonly NodeFilter[] }>(item: T, defaults: string): T {
  return item.filters.length > 0 ? item : { ...item, filters: parseNodeFilters(defaults, "") };
}

/** Turns input into a validated spec, reporting every problem at once. */
export async function buildClusterSpec(input: ClusterInput, options: BuildOptions = {}): Promise<ClusterSpec> {
  const problems: string[] = [...(options.problems ?? [])];
  const report = (message: string, field?: InputField, index?: number): void => {
    const where = field === undefined ? undefined : options.origin?.(field, index);
    problems.push(where === undefined ? message : `${where}: ${message}`);
  };
  const caught = (err: unknown, field?: InputField, index?: number): undefined => {
    if (!(err instanceof UsageError)) throw err;
    for (const line of err.message.split("\n")) report(line, field, index);
    return undefined;
  };
  const attempt = <T>(fn: () => T, field?: InputField, index?: number): T | undefined => {
    try {
      return fn();
    } catch (err) {
      return caught(err, field, index);
    }
  };
  const attemptAsync = async <T>(fn: () => Promise<T>, field?: InputField, index?: number): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      return caught(err, field, index);
    }
  };
  /** Parses each item of a list field, keeping its index for messages. */
  const each = <T>(field: InputField, items: readonly string[] | undefined, parse: (raw: string) => T) =>
    (items ?? [])
      .map((raw, index) => {
        const value = attempt(() => parse(raw), field, index);
        return value === undefined ? undefined : { value, field, index };
      })
      .filter(isDefined);
  /** The same for items read from disk: in parallel, with problems reported in the items' order. */
  const eachAsync = async <I, T>(field: InputField, items: readonly I[] | undefined, load: (item: I) => Promise<T>) => {
    const settled = await Promise.allSettled((items ?? []).map(async (item) => load(item)));
    return settled
      .map((r, index) => (r.status === "fulfilled" ? { value: r.value, field, index } : caught(r.reason, field, index)))
      .filter(isDefined);
  };

  const dialect = options.dialect ?? K3BOX;
  const name = attempt(() => validateClusterName(input.name ?? DEFAULT_CLUSTER_NAME), "name");
  const servers = input.servers ?? 1;
  const agents = input.agents ?? 0;
  for (const p of nodeCountProblems(servers, agents)) report(p.message, p.field);
  const nodeGroups = (input.nodeGroups ?? []).flatMap((g, index) => {
    const count = g.agents ?? 1;
    const problems = nodeCountProblems(1, count - 1);
    if (typeof g.engine !== "string" || g.engine.trim() === "")
      report("a node group needs the engine it runs on", "nodeGroups", index);
    else if (problems.length > 0 || count < 1)
      report(`invalid agent count "${count}" of the group on ${g.engine}: use 1 to ${LIMITS.nodes - 1}`, "nodeGroups", index);
    else {
      const args = (g.k3sArgs ?? []).map((raw) => attempt(() => parseK3sArg(raw), "nodeGroups", index));
      const filtered = args.find((a) => a !== undefined && a.filters.length > 0);
      if (filtered)
        report(
          `k3s argument "${filtered.raw}" of the group on ${g.engine}: node filters do not apply to a group`,
          "nodeGroups",
          index,
        );
      else if (args.every((a) => a !== undefined))
        return [{ engine: g.engine.trim(), agents: count, k3sArgs: args.map((a) => a.arg) }];
    }
    return [];
  });
  const away = nodeGroups.reduce((n, g) => n + g.agents, 0);
  if (Number.isInteger(servers) && Number.isInteger(agents) && servers + agents + away > LIMITS.nodes) {
    report(
      `too many nodes: ${servers + agents} on the cluster's engine and ${away} on others make ${servers + agents + away}; a cluster holds at most ${LIMITS.nodes}`,
      "nodeGroups",
    );
  }
  const loadBalancer = input.loadBalancer ?? true;
  // The checks below walk the nodes: a bad count is reported above and held within bounds here.
  const counts = {
    servers: clampCount(servers, 1, LIMITS.servers),
    agents: clampCount(agents, 0, LIMITS.nodes - 1),
    loadBalancer,
  };

  const image = attempt(() => validateImage(input.image ?? DEFAULT_K3S_IMAGE), "image") ?? "";
  const loadBalancerImage =
    attempt(() => validateImage(input.loadBalancerImage ?? DEFAULT_LOADBALANCER_IMAGE), "loadBalancerImage") ?? "";

  const token = input.token;
  if (token !== undefined && (token === "" || /\s/.test(token))) {
    report("invalid token: it must be non-empty and contain no whitespace", "token");
  }
  if (input.network !== undefined) attempt(() => validateNetworkName(input.network as string), "network");
  const subnet = input.subnet === undefined ? undefined : attempt(() => parseSubnet(input.subnet as string), "subnet");
  const timeoutMs = attempt(() => toTimeoutMs(input.timeout), "timeout");
  const imageImportMode =
    input.imageImportMode === undefined
      ? "eager"
      : attempt(() => parseImageImportMode(input.imageImportMode as string), "imageImportMode");
  const waitFor =
    input.waitFor === undefined ? DEFAULT_READY_LEVEL : attempt(() => parseReadyLevel(input.waitFor as string), "waitFor");

  const remote = options.remoteAddress;
  // On a remote engine, loopback would be the remote host's own: the default is where it is reached.
  const publishIp = remote ?? DEFAULT_HOST_IP;
  const api = await attemptAsync(
    async () => {
      const apiIp = remote !== undefined && dialect.defaultApiHostIp === DEFAULT_HOST_IP ? remote : dialect.defaultApiHostIp;
      const endpoint = await parseApiPort(input.apiPort, apiIp, remote);
      return input.apiHost === undefined ? endpoint : { ...endpoint, host: validateApiHost(input.apiHost) };
    },
    input.apiHost !== undefined ? "apiHost" : "apiPort",
  );
  const kubeconfigServer =
    input.kubeconfigServer === undefined
      ? undefined
      : attempt(() => parseKubeconfigServer(input.kubeconfigServer as string), "kubeconfigServer");

  // The filters as given are checked; the default route placePort fills in (every server and agent) is not.
  const ports = each("ports", input.ports, (raw) => {
    const mapping = parsePortMapping(raw, publishIp);
    const placed = placePort(mapping, counts);
    checkFiltersInRange(mapping.filters, counts, `port mapping "${raw}"`);
    return placed;
  });
  const volumes = each("volumes", input.volumes, (raw) => parseVolumeMount(raw));
  const env = each("env", input.env, (raw) => parseEnvVar(raw, process.env, dialect.envPassThrough));
  const k3sArgs = each("k3sArgs", input.k3sArgs, parseK3sArg);
  const datastore = buildDatastore(
    input,
    servers,
    k3sArgs.map((a) => a.value.arg),
    report,
  );
  const nodeLabels = each("nodeLabels", input.nodeLabels, parseNodeLabel);
  const hostAliases = each("hostAliases", input.hostAliases, parseHostAlias);
  const nodeFiles = await eachAsync("files", input.files, (f) => loadNodeFile(typeof f === "string" ? parseFileFlag(f) : f));
  const manifests = await eachAsync("manifests", input.manifests, (m) => loadManifests(m));
  const charts = await eachAsync("charts", input.charts, (c) => loadChart(c));
  checkChartNames(charts, report);
  const bundle =
    input.bundle === undefined ? undefined : await attemptAsync(() => loadClusterBundle(input.bundle as string), "bundle");
  const ownFiles = [
    ...nodeFiles.map((f) => withFilters(f.value, EVERY_NODE)),
    ...manifests.flatMap((m) => m.value),
    ...charts.map((c) => chartFile(c.value)),
  ];
  const files = [...ownFiles, ...withoutRepeats(bundle?.files ?? [], ownFiles)];
  const registries = await buildClusterRegistries(input, report, dialect, publishIp);
  const memory = (field: "serversMemory" | "agentsMemory", what: string) =>
    input[field] === undefined ? undefined : attempt(() => parseMemory(input[field] as string, what), field);
  const serversMemory = memory("serversMemory", "servers memory");
  const agentsMemory = memory("agentsMemory", "agents memory");
  const gpus = input.gpus === undefined ? undefined : attempt(() => parseGpus(input.gpus as string), "gpus");
  const runtimeLabels = each("runtimeLabels", input.runtimeLabels, parseRuntimeLabel);
  const ulimits = each("runtimeUlimits", input.runtimeUlimits, parseUlimit);
  let lbSettings: LoadBalancerSettings = {};
  for (const [index, raw] of (input.lbConfigOverrides ?? []).entries()) {
    lbSettings = attempt(() => applyLbOverride(lbSettings, raw), "lbConfigOverrides", index) ?? lbSettings;
  }
  if (!loadBalancer && (input.lbConfigOverrides ?? []).length > 0) {
    report("load balancer overrides given, but the cluster has no load balancer (--no-lb)", "lbConfigOverrides");
  }

  for (const item of [...volumes, ...env, ...k3sArgs, ...nodeLabels, ...nodeFiles, ...runtimeLabels]) {
    attempt(() => checkFiltersInRange(item.value.filters, counts, `"${item.value.raw}"`), item.field, item.index);
  }
  checkPortClashes(ports, api, registries, datastore, report);
  const listener = sharedListenerProblem(ports.map((p) => p.value));
  if (listener !== undefined) report(listener, "ports");
  checkFileClashes(files, counts, report);

  if (problems.length > 0 || name === undefined || api === undefined || registries === undefined || datastore === undefined) {
    throw new UsageError(problems.join("\n"));
  }
  return {
    name,
    servers,
    agents,
    nodeGroups,
    image,
    datastore,
    api: kubeconfigServer === undefined ? api : { ...api, ...kubeconfigServer },
    ports: ports.map((p) => p.value),
    volumes: volumes.map(({ value }) => withFilters(value, EVERY_NODE)),
    env: env.map(({ value }) => withFilters(value, EVERY_NODE)),
    k3sArgs: [
      ...k3sArgs.map(({ value }) => withFilters(value, EVERY_SERVER)),
      ...nodeLabels.map(({ value }) => withFilters(value, EVERY_NODE)),
    ],
    hostAliases: hostAliases.map((h) => h.value),
    files,
    charts: charts.map((c) => c.value),
    ...(bundle ? { bundle: bundle.bundle } : {}),
    registries,
    ...(token !== undefined ? { token } : {}),
    ...(input.network !== undefined ? { network: input.network } : {}),
    ...(subnet !== undefined ? { subnet } : {}),
    loadBalancer,
    loadBalancerImage,
    loadBalancerSettings: lbSettings,
    imageVolume: input.imageVolume ?? dialect.imageVolume,
    runtime: {
      ...(serversMemory !== undefined ? { serversMemory } : {}),
      ...(agentsMemory !== undefined ? { agentsMemory } : {}),
      ...(gpus !== undefined ? { gpus: { request: gpus, raw: input.gpus as string } } : {}),
      hostPid: input.hostPidMode ?? false,
      labels: runtimeLabels.map(({ value }) => withFilters(value, EVERY_NODE)),
      ulimits: ulimits.map((u) => u.value),
    },
    imageImportMode: imageImportMode ?? "eager",
    wait: input.wait ?? true,
    waitFor: waitFor ?? DEFAULT_READY_LEVEL,
    adaptationsOff: (
      [
        ["cgroupv1", input.adaptCgroupV1],
        ["oom-score-adj", input.adaptOomScoreAdj],
        ["conntrack", input.adaptConntrack],
      ] as const
    )
      .filter(([, on]) => on === false)
      .map(([name]) => name),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    kubeconfig: {
      updateDefault: input.updateDefaultKubeconfig ?? true,
      switchContext: (input.updateDefaultKubeconfig ?? true) && (input.switchContext ?? true),
    },
    rollback: input.rollback ?? true,
  };
}

function checkChartNames(charts: readonly { value: HelmChartSpec; index: number }[], report: Report): void {
  const seen = new Set<string>();
  for (const { value, index } of charts) {
    if (seen.has(value.name)) report(`chart name "${value.name}" is given twice: a release name is unique`, "charts", index);
    seen.add(value.name);
  }
}

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
}

const API_HOST_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

function validateApiHost(host: string): string {
  if (isIP(host) === 0 && !API_HOST_RE.test(host)) throw new UsageError(`invalid API host "${host}"`);
  return host;
}

/**
 * `[HOST:]PORT`; a host name must resolve here, since the port is bound to its address. Without a
 * host the port is bound to `defaultIp`; the kubeconfig names `reach` (loopback here, or the
 * address a remote engine is reached at) for an unspecified address.
 */
export async function parseApiPort(
  text: string | undefined,
  defaultIp = DEFAULT_HOST_IP,
  reach: string = DEFAULT_HOST_IP,
): Promise<ApiEndpoint> {
  const unnamed = { host: defaultIp === "0.0.0.0" || defaultIp.startsWith("127.") ? reach : defaultIp, hostIp: defaultIp };
  if (text === undefined || text === "") return unnamed;
  const colon = text.lastIndexOf(":");
  const hostText = colon < 0 ? "" : text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const portText = colon < 0 ? text : text.slice(colon + 1);
  const hostPort = portText === "" ? undefined : parsePortNumber(portText, "API port", `--api-port ${text}`);
  const port = hostPort !== undefined ? { hostPort } : {};
  if (hostText === "") return { ...unnamed, ...port };
  if (isIP(hostText) !== 0) {
    // A kubeconfig pointing at 0.0.0.0 does not work everywhere; loopback (or the remote engine's address) reaches the same socket.
    const host = hostText === "0.0.0.0" ? reach : hostText;
    return { host, hostIp: hostText, ...port };
  }
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(hostText)) {
    throw new UsageError(`invalid API host "${hostText}" in --api-port ${text}`);
  }
  try {
    const { address } = await lookup(hostText, { family: 4 });
    return { host: hostText, hostIp: address, ...port };
  } catch {
    throw new UsageError(`API host "${hostText}" in --api-port ${text} does not resolve to an IPv4 address here`);
  }
}

/** `--kubeconfig-server`: the URL clients use, and its host for the server certificate. */
function parseKubeconfigServer(text: string): Pick<ApiEndpoint, "host" | "server"> {
  const withScheme = text.includes("://") ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid --kubeconfig-server "${text}": use https://HOST[:PORT]`);
  }
  if (url.protocol !== "https:" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "") {
    throw new UsageError(`invalid --kubeconfig-server "${text}": use https://HOST[:PORT]`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  validateApiHost(host);
  return { host, server: `https://${url.host}` };
}

type Report = (message: string, field?: InputField, index?: number) => void;

function checkPortClashes(
  ports: readonly { value: PortMapping; index: number }[],
  api: ApiEndpoint | undefined,
  registries: ClusterRegistries | undefined,
  datastore: ClusterDatastore | undefined,
  report: Report,
): void {
  const seen = new Map<string, string>();
  if (api?.hostPort !== undefined) seen.set(`${api.hostIp}:${api.hostPort}/tcp`, `--api-port`);
  const published = datastore !== undefined && "publish" in datastore ? datastore.publish : undefined;
  if (published !== undefined) {
    const key = `${published.hostIp}:${published.hostPort}/tcp`;
    if (seen.has(key)) report(`--datastore-port uses host port ${key} already taken by --api-port`, "datastorePort");
    else seen.set(key, "--datastore-port");
  }
  const reg = registries?.create;
  if (reg?.hostPort !== undefined) {
    const key = `${reg.hostIp}:${reg.hostPort}/tcp`;
    const other = seen.get(key);
    if (other !== undefined)
      report(`--registry-create ${reg.name} uses host port ${key} already taken by ${other}`, "registryCreate");
    else seen.set(key, `--registry-create ${reg.name}`);
  }
  for (const { value: p, index } of ports) {
    if (p.hostPort === undefined) continue;
    const key = `${p.hostIp}:${p.hostPort}/${p.protocol}`;
    const other = seen.get(key);
    if (other !== undefined) report(`port mapping "${p.raw}" uses host port ${key} already taken by ${other}`, "ports", index);
    else seen.set(key, `"${p.raw}"`);
  }
}

/** Two files for one path on one node would leave it with whichever was copied last. */
/** Files k3box puts into every node itself, and what to use instead of overwriting them. */
const RESERVED_PATHS: ReadonlyMap<string, string> = new Map([
  [REGISTRIES_YAML_PATH, "give the file as --registry-config (registries.config in a config file) and it is merged in"],
  [NODE_ENTRYPOINT_PATH, "the node entrypoint; switch fixes off with K3BOX_FIX_* env vars instead"],
  [HOST_ALIASES_PATH, "use --host-alias (hostAliases in a config file)"],
  [DATASTORE_CONFIG_PATH, "the servers' datastore; give it with --datastore"],
]);

function checkFileClashes(files: readonly NodeFile[], counts: { servers: number; agents: number }, report: Report): void {
  const nodes: NodeRef[] = [
    ...Array.from({ length: counts.servers }, (_, index) => ({ role: "server" as const, index })),
    ...Array.from({ length: counts.agents }, (_, index) => ({ role: "agent" as const, index })),
  ];
  const seen = new Map<string, string>();
  for (const f of files) {
    const owner = RESERVED_PATHS.get(f.destination);
    if (owner !== undefined) {
      report(`"${f.raw}" writes ${f.destination}, which k3box writes itself: ${owner}`, "files");
      continue;
    }
    for (const node of nodes.filter((n) => filterMatches(f.filters, n))) {
      const key = `${node.role}:${node.index}:${f.destination}`;
      const other = seen.get(key);
      if (other !== undefined && other !== f.raw) {
        report(`"${f.raw}" and "${other}" both write ${f.destination} on ${node.role}:${node.index}`);
        break;
      }
      if (other !== undefined) {
        report(`"${f.raw}" is given twice`);
        break;
      }
      seen.set(key, f.raw);
    }
  }
}
