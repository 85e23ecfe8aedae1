/**
 * Container settings of the nodes as k3d spells them: memory limits, GPUs (Docker's `--gpus`
 * syntax), ulimits, runtime labels, and the load balancer's nginx settings.
 */
import type { DeviceRequest, Ulimit } from "../../runtime/types.js";
import { UsageError } from "../../base/errors.js";
import { parseNodeFilters, splitFilterSuffix } from "./filters.js";
import type { LoadBalancerSettings, NodeFilter, RuntimeLabel } from "./types.js";

const UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's memory syntax (`512m`, `1.5g`, `2GiB`, bytes): powers of 1024, as `docker run -m` reads it. */
export function parseMemory(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] as number)) : Number.NaN;
  // Docker refuses limits below 6 MiB; k3s would not start in them anyway.
  if (!(bytes >= 6 * 1024 ** 2) || !Number.isSafeInteger(bytes)) {
    throw new UsageError(`invalid ${what} "${text}": a size such as 512m or 2g, at least 6m`);
  }
  return bytes;
}

/** Fields of one CSV record, with double quotes around a field that holds commas (`device="0,1"`). */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  if (quoted) throw new UsageError(`invalid GPU request "${text}": unbalanced quote`);
  fields.push(field);
  return fields;
}

function gpuCount(text: string, raw: string): number {
  if (text === "all") return -1;
  if (!/^\d+$/.test(text)) throw new UsageError(`invalid GPU request "${raw}": count must be a whole number or all`);
  return Number(text);
}

/** Docker's `--gpus` value: `all`, a count, or `count=N,device=ID[,ID],driver=D,capabilities=C[,C],options=K=V`. */
export function parseGpus(raw: string): DeviceRequest {
  const seen = new Set<string>();
  let count: number | undefined;
  let driver: string | undefined;
  let deviceIds: string[] | undefined;
  let capabilities: string[] | undefined;
  let options: Record<string, string> | undefined;
  for (const field of csvFields(raw.trim())) {
    const eq = field.indexOf("=");
    const key = eq < 0 ? "count" : field.slice(0, eq);
    const value = eq < 0 ? field : field.slice(eq + 1);
    if (seen.has(key)) throw new UsageError(`invalid GPU request "${raw}": ${key} is given twice`);
    seen.add(key);
    switch (key) {
      case "count":
        count = gpuCount(value, raw);
        break;
      case "driver":
        driver = value;
        break;
      case "device":
        deviceIds = value.split(",");
        break;
      case "capabilities":
        capabilities = [...value.split(","), "gpu"];
        break;
      case "options":
        options = Object.fromEntries(
          csvFields(value).map((kv) => {
            const i = kv.indexOf("=");
            return i < 0 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        break;
      default:
        throw new UsageError(`invalid GPU request "${raw}": unknown key "${key}" (count, device, driver, capabilities, options)`);
    }
  }
  if (count === undefined && deviceIds === undefined) count = 1;
  return {
    ...(driver !== undefined ? { driver } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(deviceIds !== undefined ? { deviceIds } : {}),
    capabilities: [capabilities ?? ["gpu"]],
    options: options ?? {},
  };
}

const ULIMITS = new Set([
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
]);

/** `NAME=SOFT:HARD`, e.g. `nofile=1024:2048`; -1 is unlimited. */
export function parseUlimit(raw: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+):(-?\d+)$/.exec(raw.trim());
  if (!m) throw new UsageError(`invalid runtime ulimit "${raw}": use NAME=SOFT:HARD, e.g. nofile=1024:2048`);
  const [, name = "", softText = "", hardText = ""] = m;
  if (!ULIMITS.has(name)) {
    throw new UsageError(`invalid runtime ulimit "${raw}": "${name}" is no ulimit; use one of ${[...ULIMITS].join(", ")}`);
  }
  const soft = Number(softText);
  const hard = Number(hardText);
  if (hard !== -1 && (soft === -1 || soft > hard)) {
    throw new UsageError(`invalid runtime ulimit "${raw}": the soft limit must not exceed the hard limit`);
  }
  return { name, soft, hard };
}

const RUNTIME_LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
/** Keys k3box or k3d read clusters back from. */
const RESERVED_LABEL = /^(k3d\.|k3s\.|dev\.k3box\.|app$)/;

/** `KEY[=VALUE][@FILTER]`: a label on the node containers (not a Kubernetes label). */
export function parseRuntimeLabel(raw: string): RuntimeLabel {
  const { value, filter } = splitFilterSuffix(raw);
  const filters: NodeFilter[] = filter === undefined ? [] : parseNodeFilters(filter, `runtime label "${raw}"`);
  const eq = value.indexOf("=");
  const key = eq < 0 ? value : value.slice(0, eq);
  if (!RUNTIME_LABEL_KEY.test(key)) throw new UsageError(`invalid runtime label "${raw}": "${key}" is not a valid label key`);
  if (RESERVED_LABEL.test(key)) {
    throw new UsageError(
      `invalid runtime label "${raw}": "${key}" is reserved (app, k3d.*, k3s.* and dev.k3box.* describe the cluster)`,
    );
  }
  return { key, value: eq < 0 ? "" : value.slice(eq + 1), filters, raw };
}

/** k3d's `--lb-config-override` keys (dotted paths into its load balancer config). */
const LB_SETTINGS: Readonly<Record<string, keyof LoadBalancerSettings>> = {
  "settings.workerConnections": "workerConnections",
  "settings.defaultProxyTimeout": "defaultProxyTimeout",
};

/** Applies `settings.KEY=VALUE` overrides, in order, to the load balancer's settings. */
export function applyLbOverride(settings: LoadBalancerSettings, raw: string): LoadBalancerSettings {
  const eq = raw.indexOf("=");
  const path = eq < 0 ? raw : raw.slice(0, eq);
  const key = LB_SETTINGS[path];
  if (key === undefined) {
    throw new UsageError(`invalid load balancer override "${raw}": use ${Object.keys(LB_SETTINGS).join("=N or ")}=N`);
  }
  const text = eq < 0 ? "" : raw.slice(eq + 1);
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) {
    throw new UsageError(`invalid load balancer override "${raw}": ${path} must be a whole number from 1 to 1000000`);
  }
  return { ...settings, [key]: Number(text) };
}
