/**
 * From a validated config file (k3box's or k3d's) to ClusterInput, remembering for every
 * value the field it came from so that later problems point into the file.
 */
import { isIPv6 } from "node:net";
import { resolve } from "node:path";
import { UsageError } from "../../base/errors.js";
import type { ClusterInput, InputField } from "../cluster-spec/input.js";
import type { ChartInput } from "../cluster-spec/charts.js";
import type { FileInput } from "../cluster-spec/files.js";
import { formatVolumeMount, parseVolumeMount } from "../cluster-spec/volumes.js";
import type { K3boxConfig, K3dSimpleConfig } from "./schema.js";
import type { FieldPath, Problem } from "./source.js";

export interface Translated {
  readonly input: ClusterInput;
  /** The field path of each input value; lists are keyed `field#index`. */
  readonly paths: ReadonlyMap<string, FieldPath>;
  readonly problems: readonly Problem[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ListField =
  | "ports"
  | "volumes"
  | "env"
  | "k3sArgs"
  | "nodeLabels"
  | "hostAliases"
  | "files"
  | "manifests"
  | "charts"
  | "registryUse"
  | "runtimeLabels"
  | "runtimeUlimits"
  | "lbConfigOverrides";
type WithFilters = { readonly nodeFilters?: readonly string[] | undefined };

type Item<K extends string> = { readonly [P in K]: string } & WithFilters;

/** The fields k3box and k3d files share, with the same meaning. */
interface Common {
  readonly metadata?: { readonly name?: string };
  readonly servers?: number;
  readonly agents?: number;
  readonly image?: string;
  readonly kubeAPI?: {
    readonly host?: string;
    readonly hostIP?: string;
    readonly hostPort?: number | string;
    readonly server?: string;
  };
  readonly network?: string;
  readonly subnet?: string;
  readonly token?: string;
  readonly volumes?: readonly Item<"volume">[];
  readonly ports?: readonly Item<"port">[];
  readonly env?: readonly Item<"envVar">[];
  readonly hostAliases?: readonly { readonly ip: string; readonly hostnames: readonly string[] }[];
  readonly options?: {
    readonly k3s?: { readonly extraArgs?: readonly Item<"arg">[]; readonly nodeLabels?: readonly Item<"label">[] };
    readonly kubeconfig?: { readonly updateDefaultKubeconfig?: boolean; readonly switchCurrentContext?: boolean };
  };
  readonly registries?: {
    readonly create?: { readonly name: string; readonly host?: string; readonly hostPort?: number | string };
    readonly use?: readonly string[];
    readonly config?: string;
  };
}

class Collector {
  readonly input: Mutable<ClusterInput> = {};
  readonly paths = new Map<string, FieldPath>();
  readonly problems: Problem[] = [];
  private readonly lists = new Map<ListField, unknown[]>();

  constructor(readonly dir: string) {}

  set<F extends Exclude<InputField, ListField>>(field: F, value: ClusterInput[F] | undefined, path: FieldPath): void {
    if (value === undefined) return;
    this.input[field] = value;
    this.paths.set(field, path);
  }

  add(field: ListField, value: unknown, path: FieldPath): void {
    const list = this.lists.get(field) ?? [];
    this.paths.set(`${field}#${list.length}`, path);
    list.push(value);
    this.lists.set(field, list);
  }

  problem(path: FieldPath, message: string): void {
    this.problems.push({ path, message });
  }

  done(): Translated {
    const input = { ...this.input } as Record<string, unknown>;
    for (const [field, list] of this.lists) input[field] = list;
    return {
      input: input as ClusterInput,
      paths: this.paths,
      problems: this.problems,
    };
  }
}

/** `VALUE@FILTER;FILTER`, the flag syntax the spec parsers read; a literal `@` is escaped. */
function withFilters(value: string, item: WithFilters): string {
  const escaped = value.replaceAll("@", "\\@");
  return item.nodeFilters && item.nodeFilters.length > 0 ? `${escaped}@${item.nodeFilters.join(";")}` : escaped;
}

function filtersOf(item: WithFilters): { filters?: string } {
  return item.nodeFilters && item.nodeFilters.length > 0 ? { filters: item.nodeFilters.join(";") } : {};
}

function translateCommon(c: Common, out: Collector): void {
  out.set("name", c.metadata?.name, ["metadata", "name"]);
  out.set("servers", c.servers, ["servers"]);
  out.set("agents", c.agents, ["agents"]);
  out.set("image", c.image, ["image"]);
  if (c.kubeAPI) {
    const { host, hostIP, hostPort } = c.kubeAPI;
    if (hostIP !== undefined || hostPort !== undefined) {
      const ip = hostIP === undefined ? "" : isIPv6(hostIP) ? `[${hostIP}]` : hostIP;
      out.set("apiPort", `${ip}:${hostPort ?? ""}`, ["kubeAPI", hostPort !== undefined ? "hostPort" : "hostIP"]);
    }
    out.set("apiHost", host, ["kubeAPI", "host"]);
    out.set("kubeconfigServer", c.kubeAPI.server, ["kubeAPI", "server"]);
  }
  out.set("network", c.network, ["network"]);
  out.set("subnet", c.subnet, ["subnet"]);
  out.set("token", c.token, ["token"]);
  c.volumes?.forEach((v, i) => {
    // A relative source is taken from the config file's directory, not from wherever k3box runs;
    // a malformed volume is passed on as written, for the spec builder to report.
    let text = v.volume;
    try {
      text = formatVolumeMount(parseVolumeMount(v.volume, out.dir));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
    }
    out.add("volumes", withFilters(text, v), ["volumes", i, "volume"]);
  });
  c.ports?.forEach((p, i) => out.add("ports", withFilters(p.port, p), ["ports", i]));
  c.env?.forEach((e, i) => out.add("env", withFilters(e.envVar, e), ["env", i]));
  c.hostAliases?.forEach((h, i) => {
    const ip = isIPv6(h.ip) ? `[${h.ip}]` : h.ip;
    out.add("hostAliases", `${ip}:${h.hostnames.join(",")}`, ["hostAliases", i]);
  });
  c.options?.k3s?.extraArgs?.forEach((a, i) => out.add("k3sArgs", withFilters(a.arg, a), ["options", "k3s", "extraArgs", i]));
  c.options?.k3s?.nodeLabels?.forEach((l, i) =>
    out.add("nodeLabels", withFilters(l.label, l), ["options", "k3s", "nodeLabels", i]),
  );
  const kc = c.options?.kubeconfig;
  out.set("updateDefaultKubeconfig", kc?.updateDefaultKubeconfig, ["options", "kubeconfig", "updateDefaultKubeconfig"]);
  out.set("switchContext", kc?.switchCurrentContext, ["options", "kubeconfig", "switchCurrentContext"]);

  const reg = c.registries;
  if (reg?.create) {
    const { name, host, hostPort } = reg.create;
    const ref = [name, host, hostPort].filter((p) => p !== undefined && p !== "").join(":");
    out.set("registryCreate", ref, ["registries", "create"]);
  }
  reg?.use?.forEach((u, i) => out.add("registryUse", u, ["registries", "use", i]));
  if (reg?.config !== undefined) {
    // k3d's `config` is the file's content when it spans lines, else a path relative to the config file.
    if (reg.config.includes("\n")) out.set("registryConfigYaml", reg.config, ["registries", "config"]);
    else out.set("registryConfig", resolve(out.dir, reg.config), ["registries", "config"]);
  }
}

interface RunOptions {
  readonly wait?: boolean;
  readonly waitFor?: string;
  readonly timeout?: string;
  readonly disableLoadbalancer?: boolean;
  readonly disableRollback?: boolean;
  readonly adapt?: { readonly cgroupV1?: boolean; readonly oomScoreAdj?: boolean; readonly conntrack?: boolean };
}

function runOptions(o: RunOptions | undefined, base: FieldPath, out: Collector): void {
  if (!o) return;
  out.set("wait", o.wait, [...base, "wait"]);
  out.set("waitFor", o.waitFor, [...base, "waitFor"]);
  out.set("adaptCgroupV1", o.adapt?.cgroupV1, [...base, "adapt", "cgroupV1"]);
  out.set("adaptOomScoreAdj", o.adapt?.oomScoreAdj, [...base, "adapt", "oomScoreAdj"]);
  out.set("adaptConntrack", o.adapt?.conntrack, [...base, "adapt", "conntrack"]);
  out.set("timeout", o.timeout, [...base, "timeout"]);
  if (o.disableLoadbalancer !== undefined) out.set("loadBalancer", !o.disableLoadbalancer, [...base, "disableLoadbalancer"]);
  if (o.disableRollback !== undefined) out.set("rollback", !o.disableRollback, [...base, "disableRollback"]);
}

export function translateK3box(c: K3boxConfig, dir: string): Translated {
  const out = new Collector(dir);
  translateCommon(c, out);
  out.set("engine", c.engine, ["engine"]);
  out.set("nodeGroups", c.nodes, ["nodes"]);
  c.files?.forEach((f, i) => {
    if ((f.source === undefined) === (f.content === undefined)) {
      out.problem(["files", i], "give either source (a path) or content (the text itself)");
      return;
    }
    const file: FileInput = {
      ...(f.source !== undefined ? { source: resolve(dir, f.source) } : { content: f.content as string }),
      destination: f.destination,
      ...filtersOf(f),
    };
    out.add("files", file, ["files", i]);
  });
  c.manifests?.forEach((m, i) => out.add("manifests", resolve(dir, m), ["manifests", i]));
  c.charts?.forEach((ch, i) => {
    // Paths are taken from the config file's directory; a repository chart is a name, not a path.
    const chart: ChartInput = {
      ...ch,
      chart: ch.repo === undefined ? resolve(dir, ch.chart) : ch.chart,
      ...(ch.values !== undefined ? { values: resolve(dir, ch.values) } : {}),
    };
    out.add("charts", chart, ["charts", i]);
  });
  if (c.bundle !== undefined) out.set("bundle", resolve(dir, c.bundle), ["bundle"]);
  const ds = c.datastore;
  if (ds) {
    out.set("datastore", ds.type, ["datastore", "type"]);
    out.set("datastoreImage", ds.image, ["datastore", "image"]);
    out.set("datastoreEndpoint", ds.endpoint, ["datastore", "endpoint"]);
    out.set("datastorePort", ds.port === undefined ? undefined : String(ds.port), ["datastore", "port"]);
    // A host path is taken from the config file's directory; a bare word is a volume's name.
    const volume = ds.volume !== undefined && /^[./]/.test(ds.volume) ? resolve(dir, ds.volume) : ds.volume;
    out.set("datastoreVolume", volume, ["datastore", "volume"]);
  }
  runOptions(c.options?.k3box, ["options", "k3box"], out);
  out.set("loadBalancerImage", c.options?.k3box?.loadbalancer?.image, ["options", "k3box", "loadbalancer", "image"]);
  out.set("imageImportMode", c.options?.k3box?.imageImportMode, ["options", "k3box", "imageImportMode"]);
  return out.done();
}

export function translateK3d(c: K3dSimpleConfig, dir: string): Translated {
  const out = new Collector(dir);
  translateCommon(c, out);
  if (c.name !== undefined) out.set("name", c.name, ["name"]);
  // k3d reads a source with a line break as the content itself, anything else as a path.
  c.files?.forEach((f, i) => {
    const file: FileInput = {
      ...(f.source.includes("\n") ? { content: f.source } : { source: resolve(dir, f.source) }),
      destination: f.destination,
      ...filtersOf(f),
    };
    out.add("files", file, ["files", i]);
  });
  const k3d = c.options?.k3d;
  runOptions(k3d, ["options", "k3d"], out);

  const refuse = (path: FieldPath, set: boolean, why: string) => {
    if (set) out.problem(path, `k3box cannot honour this field: ${why}`);
  };
  if (k3d?.disableImageVolume !== undefined) {
    out.set("imageVolume", !k3d.disableImageVolume, ["options", "k3d", "disableImageVolume"]);
  }
  k3d?.loadbalancer?.configOverrides?.forEach((o, i) =>
    out.add("lbConfigOverrides", o, ["options", "k3d", "loadbalancer", "configOverrides", i]),
  );
  refuse(["options", "k3d", "nodeHookActions"], (k3d?.nodeHookActions?.length ?? 0) > 0, "node hooks are not supported");
  const rt = c.options?.runtime;
  const runtime: FieldPath = ["options", "runtime"];
  if (rt?.gpuRequest) out.set("gpus", rt.gpuRequest, [...runtime, "gpuRequest"]);
  if (rt?.serversMemory) out.set("serversMemory", rt.serversMemory, [...runtime, "serversMemory"]);
  if (rt?.agentsMemory) out.set("agentsMemory", rt.agentsMemory, [...runtime, "agentsMemory"]);
  out.set("hostPidMode", rt?.hostPidMode, [...runtime, "hostPidMode"]);
  rt?.labels?.forEach((l, i) => out.add("runtimeLabels", withFilters(l.label, l), [...runtime, "labels", i]));
  rt?.ulimits?.forEach((u, i) => {
    if (u.soft === undefined && u.hard === undefined) {
      out.problem([...runtime, "ulimits", i], "give soft, hard or both");
      return;
    }
    out.add("runtimeUlimits", `${u.name}=${u.soft ?? u.hard}:${u.hard ?? u.soft}`, [...runtime, "ulimits", i]);
  });
  const create = c.registries?.create;
  refuse(
    ["registries", "create", "image"],
    !!create?.image && create.image !== "docker.io/library/registry:2" && create.image !== "registry:2",
    "the registry image is k3box's choice",
  );
  refuse(["registries", "create", "proxy"], !!create?.proxy?.remoteURL, "pull-through proxies are not supported");
  refuse(["registries", "create", "volumes"], (create?.volumes?.length ?? 0) > 0, "registry volumes are not supported");
  return out.done();
}
