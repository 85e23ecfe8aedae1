/**
 * Layering: flags over `K3BOX_*` environment variables over the config file over defaults.
 * Single values are taken from the first layer that has them; lists (ports, volumes, env,
 * files...) are the file's items followed by the flags' items.
 */
import { UsageError } from "../../base/errors.js";
import type { BuildOptions, ClusterInput, InputField } from "../cluster-spec/input.js";
import type { LoadedConfig } from "./load.js";

type ScalarField =
  | "servers"
  | "agents"
  | "image"
  | "datastore"
  | "datastoreImage"
  | "datastoreEndpoint"
  | "loadBalancerImage"
  | "apiPort"
  | "kubeconfigServer"
  | "network"
  | "subnet"
  | "token"
  | "timeout"
  | "wait"
  | "waitFor"
  | "adaptCgroupV1"
  | "adaptOomScoreAdj"
  | "adaptConntrack";

interface EnvVarSpec {
  readonly name: string;
  readonly field: ScalarField;
  readonly help: string;
  readonly parse: (text: string) => ClusterInput[ScalarField];
}

const text = (t: string) => t;
const count = (t: string) => {
  if (!/^\d+$/.test(t.trim())) throw new UsageError(`"${t}" is not a whole number`);
  return Number(t);
};
const boolean = (t: string) => {
  if (/^(true|1)$/i.test(t)) return true;
  if (/^(false|0)$/i.test(t)) return false;
  throw new UsageError(`"${t}" is not true or false`);
};

/** Every environment variable `cluster create` and `config view` read (documented in the README). */
export const ENV_VARS: readonly EnvVarSpec[] = [
  { name: "K3BOX_SERVERS", field: "servers", help: "number of servers (--servers)", parse: count },
  { name: "K3BOX_AGENTS", field: "agents", help: "number of agents (--agents)", parse: count },
  { name: "K3BOX_IMAGE", field: "image", help: "k3s image (--image)", parse: text },
  { name: "K3BOX_DATASTORE", field: "datastore", help: "datastore type (--datastore)", parse: text },
  {
    name: "K3BOX_DATASTORE_IMAGE",
    field: "datastoreImage",
    help: "image of the database k3box runs (--datastore-image)",
    parse: text,
  },
  {
    name: "K3BOX_DATASTORE_ENDPOINT",
    field: "datastoreEndpoint",
    help: "external datastore endpoint (--datastore-endpoint), kept out of the process list",
    parse: text,
  },
  { name: "K3BOX_LB_IMAGE", field: "loadBalancerImage", help: "load balancer image (--lb-image)", parse: text },
  { name: "K3BOX_API_PORT", field: "apiPort", help: "[HOST:]PORT of the API (--api-port)", parse: text },
  {
    name: "K3BOX_KUBECONFIG_SERVER",
    field: "kubeconfigServer",
    help: "https://HOST[:PORT] the kubeconfig names (--kubeconfig-server)",
    parse: text,
  },
  { name: "K3BOX_NETWORK", field: "network", help: "Docker network (--network)", parse: text },
  { name: "K3BOX_SUBNET", field: "subnet", help: "subnet of the cluster network (--subnet)", parse: text },
  { name: "K3BOX_TOKEN", field: "token", help: "join token (--token)", parse: text },
  { name: "K3BOX_TIMEOUT", field: "timeout", help: "deadline of the create (--timeout)", parse: text },
  { name: "K3BOX_WAIT", field: "wait", help: "wait until ready, true or false (--wait)", parse: boolean },
  { name: "K3BOX_WAIT_FOR", field: "waitFor", help: "what ready means: api, workloads or addons (--wait-for)", parse: text },
  {
    name: "K3BOX_ADAPT_CGROUPV1",
    field: "adaptCgroupV1",
    help: "false: no fail-cgroupv1=false for the kubelet on cgroup v1",
    parse: boolean,
  },
  {
    name: "K3BOX_ADAPT_OOM_SCORE_ADJ",
    field: "adaptOomScoreAdj",
    help: "false: no containerd restrict_oom_score_adj drop-in",
    parse: boolean,
  },
  {
    name: "K3BOX_ADAPT_CONNTRACK",
    field: "adaptConntrack",
    help: "false: no conntrack-max-per-core=0 for kube-proxy",
    parse: boolean,
  },
];

/** The config file named by K3BOX_CONFIG when --config is not given. */
export const CONFIG_ENV_VAR = "K3BOX_CONFIG";

export function inputFromEnv(env: NodeJS.ProcessEnv): { input: ClusterInput; from: ReadonlyMap<InputField, string> } {
  const input: Record<string, unknown> = {};
  const from = new Map<InputField, string>();
  const problems: string[] = [];
  for (const v of ENV_VARS) {
    const raw = env[v.name];
    if (raw === undefined || raw === "") continue;
    try {
      input[v.field] = v.parse(raw);
      from.set(v.field, v.name);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(`${v.name}: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return { input: input as ClusterInput, from };
}

export interface Layers {
  /** What the command line said; only flags the user gave. */
  readonly flags: ClusterInput;
  readonly env?: NodeJS.ProcessEnv;
  readonly file?: LoadedConfig;
}

export interface ResolvedInput {
  readonly input: ClusterInput;
  /** For buildClusterSpec: where each value came from, and problems found in the layers themselves. */
  readonly build: BuildOptions;
}

const LIST_FIELDS = [
  "ports",
  "volumes",
  "env",
  "k3sArgs",
  "nodeLabels",
  "hostAliases",
  "files",
  "manifests",
  "charts",
  "registryUse",
  "runtimeLabels",
  "runtimeUlimits",
  "lbConfigOverrides",
] as const;

export function resolveClusterInput(layers: Layers): ResolvedInput {
  const fromEnv = layers.env ? inputFromEnv(layers.env) : { input: {}, from: new Map<InputField, string>() };
  const file = layers.file;
  const problems = [...(file?.problems ?? [])];
  const fileInput: ClusterInput = file?.input ?? {};
  const merged: Record<string, unknown> = { ...defined(fileInput), ...defined(fromEnv.input), ...defined(layers.flags) };
  for (const field of LIST_FIELDS) {
    const items = [...(fileInput[field] ?? []), ...(layers.flags[field] ?? [])];
    if (items.length > 0) merged[field] = items;
    else delete merged[field];
  }
  const fileCount = (field: InputField) => {
    const value = fileInput[field];
    return Array.isArray(value) ? value.length : 0;
  };
  const origin = (field: InputField, index?: number): string | undefined => {
    if (index !== undefined) return index < fileCount(field) ? file?.origin(field, index) : undefined;
    if (layers.flags[field] !== undefined) return undefined;
    return fromEnv.from.get(field) ?? file?.origin(field);
  };
  return { input: merged as ClusterInput, build: { origin, problems } };
}

function defined(o: ClusterInput): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
