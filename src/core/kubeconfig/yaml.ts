/**
 * Kubeconfig text <-> `KubeConfig`. kubectl reads and writes these files with
 * go-yaml v2, which follows YAML 1.1 (`yes`, `on`, `y` are booleans). We parse
 * and print as 1.1 too, so a value means to us what it means to kubectl and a
 * string we write is never read back by kubectl as something else.
 */
import { LineCounter, parseDocument, stringify, type Tags } from "yaml";
import { KubeconfigError } from "../errors.js";
import { emptyKubeconfig, type KubeConfig, type NamedCluster, type NamedContext, type NamedUser } from "./model.js";

type Mapping = Record<string, unknown>;

// go-yaml v2 resolves neither timestamps nor base-60 numbers ("1:20"); the
// yaml package's 1.1 schema does, and would turn such strings into Dates and
// numbers. Dropping those tags keeps them strings, as kubectl sees them.
function kubectlTags(tags: Tags): Tags {
  return tags.filter((t) => {
    if (typeof t !== "object") return true;
    return t.tag !== "tag:yaml.org,2002:timestamp" && t.format !== "TIME";
  });
}

/**
 * Parses kubeconfig text. `source` names the text in errors (a file path, or
 * a description such as "kubeconfig of server-0"). Empty text is an empty
 * config, as for kubectl.
 */
export function parseKubeconfig(text: string, source = "kubeconfig"): KubeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.1",
    customTags: kubectlTags,
    lineCounter,
    prettyErrors: false,
  });
  const err = doc.errors[0];
  if (err !== undefined) {
    const { line, col } = lineCounter.linePos(err.pos[0]);
    throw new KubeconfigError(`${source}:${line}:${col}: cannot parse kubeconfig: ${err.message}`, {
      cause: err,
    });
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    // toJS throws for alias bombs and unresolvable aliases.
    throw new KubeconfigError(`${source}: cannot parse kubeconfig: ${(e as Error).message}`, { cause: e });
  }
  return toKubeConfig(value, source);
}

/** Prints a config in kubectl's key order, then any other keys as they came. */
export function serializeKubeconfig(config: KubeConfig): string {
  const { apiVersion, clusters, contexts, "current-context": current, kind, preferences, users, ...rest } = config;
  const ordered = { apiVersion, clusters, contexts, "current-context": current, kind, preferences, users, ...rest };
  // Block style as kubectl prints it, so files kept in version control show
  // small diffs; lineWidth 0 never folds long certificate data.
  return stringify(ordered, { version: "1.1", lineWidth: 0, indentSeq: false });
}

function isMapping(v: unknown): v is Mapping {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (isMapping(v)) return "a mapping";
  return `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

/** Checks the shape kubectl requires and fills in what it defaults. */
export function toKubeConfig(value: unknown, source = "kubeconfig"): KubeConfig {
  if (value === null || value === undefined) return emptyKubeconfig();
  const fail = (why: string): never => {
    throw new KubeconfigError(`${source} is not a kubeconfig: ${why}`);
  };
  if (!isMapping(value)) return fail(`the document is ${describe(value)}, not a mapping`);

  const apiVersion = value.apiVersion ?? "v1";
  if (apiVersion !== "v1") fail(`apiVersion is ${describe(apiVersion)}, expected "v1"`);
  const kind = value.kind ?? "Config";
  if (kind !== "Config") fail(`kind is ${describe(kind)}, expected "Config"`);
  const preferences = value.preferences ?? {};
  if (!isMapping(preferences)) return fail(`preferences is ${describe(preferences)}, not a mapping`);
  const current = value["current-context"] ?? "";
  if (typeof current !== "string") return fail(`current-context is ${describe(current)}, not a string`);

  return {
    ...value,
    apiVersion: "v1",
    kind: "Config",
    preferences,
    clusters: entries<NamedCluster>(value.clusters, "clusters", "cluster", fail),
    contexts: entries<NamedContext>(value.contexts, "contexts", "context", fail),
    users: entries<NamedUser>(value.users, "users", "user", fail),
    "current-context": current,
  };
}

function entries<T extends { name: string }>(list: unknown, key: string, body: string, fail: (why: string) => never): T[] {
  // kubectl itself writes `contexts: null` for an empty list.
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) return fail(`${key} is ${describe(list)}, not a list`);
  return list.map((item: unknown, i): T => {
    if (!isMapping(item)) return fail(`${key}[${i}] is ${describe(item)}, not a mapping`);
    if (typeof item.name !== "string") return fail(`${key}[${i}] has no name`);
    const b = item[body];
    if (b === undefined || isMapping(b)) return item as T;
    // client-go decodes a null body as an empty one; so do we.
    if (b === null) return { ...item, [body]: {} } as T;
    return fail(`${key}[${i}] (${JSON.stringify(item.name)}): ${body} is ${describe(b)}, not a mapping`);
  });
}
