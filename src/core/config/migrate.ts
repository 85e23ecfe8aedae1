/**
 * `config migrate`: a k3d Simple config of any version k3d has had (v1alpha2 to v1alpha5) as
 * v1alpha5, the one k3d writes today, as k3d migrates it: v1alpha2's node filter syntax
 * (`server[0]` → `server:0`), its per-role k3s arguments and labels and its `registries.create:
 * true`, and the top-level `name` of v1alpha2 to v1alpha4, which v1alpha5 keeps in `metadata`.
 */
import { parse, stringify } from "yaml";
import { UsageError } from "../../base/errors.js";
import { K3D_KIND } from "./schema.js";

const LATEST = "k3d.io/v1alpha5";
const VERSIONS = ["k3d.io/v1alpha2", "k3d.io/v1alpha3", "k3d.io/v1alpha4", LATEST];

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `server[0]` → `server:0`, `agent[1,2]` → `agent:1,2`, `server[*]` → `server:*`. */
function filterSyntax(filters: unknown): unknown {
  return Array.isArray(filters)
    ? filters.map((f) => (typeof f === "string" ? f.replace("[", ":").replace("]", "") : f))
    : filters;
}

function withFilterSyntax(items: unknown): unknown {
  return Array.isArray(items)
    ? items.map((i) => (isObject(i) && "nodeFilters" in i ? { ...i, nodeFilters: filterSyntax(i.nodeFilters) } : i))
    : items;
}

/** v1alpha2 → v1alpha3: filters, per-role k3s arguments, labels and the registry flag moved. */
function fromV1alpha2(c: Doc): Doc {
  const out: Doc = { ...c };
  for (const key of ["env", "volumes", "ports"]) if (key in out) out[key] = withFilterSyntax(out[key]);
  const options = isObject(c.options) ? { ...c.options } : {};
  const k3s = isObject(options.k3s) ? { ...options.k3s } : {};
  const args = [
    ...list(k3s.extraServerArgs).map((arg) => ({ arg, nodeFilters: ["server:*"] })),
    ...list(k3s.extraAgentArgs).map((arg) => ({ arg, nodeFilters: ["agent:*"] })),
  ];
  delete k3s.extraServerArgs;
  delete k3s.extraAgentArgs;
  if (args.length > 0) k3s.extraArgs = args;
  if (Object.keys(k3s).length > 0) options.k3s = k3s;
  if ("labels" in c) {
    const runtime = isObject(options.runtime) ? { ...options.runtime } : {};
    runtime.labels = withFilterSyntax(c.labels);
    options.runtime = runtime;
    delete out.labels;
  }
  if (Object.keys(options).length > 0) out.options = options;
  if (isObject(c.registries) && c.registries.create === true) {
    out.registries = { ...c.registries, create: { name: `k3d-${String(c.name ?? "k3s-default")}-registry`, host: "0.0.0.0" } };
  } else if (isObject(c.registries) && c.registries.create === false) {
    const { create: _create, ...rest } = c.registries;
    out.registries = rest;
  }
  return out;
}

/** v1alpha4 → v1alpha5 (and v1alpha3, which reads the same): the name goes into metadata. */
function toV1alpha5(c: Doc): Doc {
  const { apiVersion: _v, kind, name, metadata, ...rest } = c;
  const meta = isObject(metadata) ? metadata : {};
  const merged = name !== undefined && meta.name === undefined ? { ...meta, name } : meta;
  return { apiVersion: LATEST, kind, ...(Object.keys(merged).length > 0 ? { metadata: merged } : {}), ...rest };
}

/** The file's text migrated to v1alpha5; `where` names it in errors. */
export function migrateK3dConfig(text: string, where: string): string {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new UsageError(`${where}: not YAML: ${(err as Error).message}`);
  }
  if (!isObject(data)) throw new UsageError(`${where}: not a k3d config (no apiVersion and kind)`);
  const version = data.apiVersion;
  if (typeof version !== "string" || !VERSIONS.includes(version)) {
    throw new UsageError(`${where}: apiVersion ${JSON.stringify(version)} is no k3d config version (${VERSIONS.join(", ")})`);
  }
  if (data.kind !== K3D_KIND) throw new UsageError(`${where}: kind ${JSON.stringify(data.kind)}: only kind ${K3D_KIND} migrates`);
  const migrated = toV1alpha5(version === "k3d.io/v1alpha2" ? fromV1alpha2(data) : data);
  return stringify(migrated);
}
