/**
 * k3s' registries.yaml (rancher/wharfie's schema): reading it with errors that name the
 * file and line, merging a user's file over what k3box generates, and adding or removing
 * one registry's entries. The file in each node is the record of its registry setup.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, stringify, type Node as YamlNode } from "yaml";
import { UsageError } from "../../base/errors.js";
import { excessiveNesting, NESTING_PROBLEM, toData } from "../yaml-guard.js";
import { endpointUrl, mirrorHosts, upstreamHost } from "./addresses.js";
import type { RegistryEndpoint } from "./types.js";

export interface Mirror {
  readonly endpoint?: readonly string[];
  readonly rewrite?: Readonly<Record<string, string>>;
}

export interface RegistryHostConfig {
  readonly auth?: Readonly<Partial<Record<"username" | "password" | "auth" | "identity_token", string>>>;
  readonly tls?: Readonly<Partial<Record<"ca_file" | "cert_file" | "key_file", string>> & { insecure_skip_verify?: boolean }>;
}

export interface RegistriesConfig {
  readonly mirrors: Readonly<Record<string, Mirror>>;
  readonly configs: Readonly<Record<string, RegistryHostConfig>>;
}

export const EMPTY_REGISTRIES: RegistriesConfig = { mirrors: {}, configs: {} };

type Schema =
  | { readonly kind: "string" }
  | { readonly kind: "bool" }
  | { readonly kind: "list" }
  | {
      readonly kind: "map";
      /** Fixed keys; absent: any key matching `keys`, each value of `values`. */
      readonly fields?: Readonly<Record<string, Schema>>;
      readonly values?: Schema;
      readonly keys?: { readonly pattern: RegExp; readonly what: string };
    };

/**
 * A registry host as k3s names its certs.d directory after it: `*`, a host name or IPv4
 * address, or a bracketed IPv6 address, with an optional port. Nothing that could leave
 * that directory.
 */
const REGISTRY_HOST = {
  pattern: /^(\*|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?|\[[0-9A-Fa-f:.]+\](?::\d+)?)$/,
  what: "a registry host such as docker.io, registry:5000 or *",
};

const STRING: Schema = { kind: "string" };
const SCHEMA: Schema = {
  kind: "map",
  fields: {
    mirrors: {
      kind: "map",
      keys: REGISTRY_HOST,
      values: { kind: "map", fields: { endpoint: { kind: "list" }, rewrite: { kind: "map", values: STRING } } },
    },
    configs: {
      kind: "map",
      keys: REGISTRY_HOST,
      values: {
        kind: "map",
        fields: {
          auth: { kind: "map", fields: { username: STRING, password: STRING, auth: STRING, identity_token: STRING } },
          tls: {
            kind: "map",
            fields: { ca_file: STRING, cert_file: STRING, key_file: STRING, insecure_skip_verify: { kind: "bool" } },
          },
        },
      },
    },
  },
};

/**
 * Parses registries.yaml text. `source` names it in errors: a file path, or
 * `registries.config` for content given inline in a config file.
 */
export function parseRegistriesYaml(text: string, source: string): RegistriesConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const fail = (offset: number | undefined, message: string): never => {
    const pos = offset === undefined ? undefined : lines.linePos(offset);
    throw new UsageError(`${source}${pos ? `:${pos.line}:${pos.col}` : ""}: ${message}`);
  };
  const deep = excessiveNesting(doc);
  if (deep !== undefined) fail(deep, NESTING_PROBLEM);
  const first = doc.errors[0];
  if (first) fail(first.pos[0], `invalid YAML: ${first.message.split("\n")[0]}`);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return EMPTY_REGISTRIES;

  const check = (node: unknown, schema: Schema, path: string): void => {
    const at = (node as YamlNode | null)?.range?.[0];
    if (node === null || (isScalar(node) && node.value === null)) return; // an empty value, as Go leaves it unset
    switch (schema.kind) {
      case "string":
        if (!isScalar(node) || typeof node.value === "object") fail(at, `${path} must be a string`);
        return;
      case "bool":
        if (!isScalar(node) || typeof node.value !== "boolean") fail(at, `${path} must be true or false`);
        return;
      case "list":
        if (!isSeq(node)) return fail(at, `${path} must be a list of strings`);
        node.items.forEach((item, i) => {
          if (!isScalar(item) || typeof item.value !== "string")
            fail((item as YamlNode | null)?.range?.[0] ?? at, `${path}[${i}] must be a string`);
        });
        return;
      case "map":
        if (!isMap(node)) return fail(at, `${path === "" ? "the document" : path} must be a mapping`);
        for (const pair of node.items) {
          const keyNode = pair.key as YamlNode | null;
          const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
          if (key === undefined)
            return fail(keyNode?.range?.[0] ?? at, `${path || "the document"} has a key that is not a string`);
          const sub = path === "" ? key : `${path}.${/^[\w-]+$/.test(key) ? key : JSON.stringify(key)}`;
          if (schema.keys && !schema.keys.pattern.test(key)) {
            return fail(keyNode?.range?.[0], `${path}: "${key}" is not ${schema.keys.what}`);
          }
          const fieldSchema = schema.fields ? schema.fields[key] : schema.values;
          if (!fieldSchema) {
            const known = Object.keys(schema.fields ?? {}).join(", ");
            return fail(keyNode?.range?.[0], `unknown field "${sub}" (known: ${known})`);
          }
          check(pair.value, fieldSchema, sub);
        }
    }
  };
  check(doc.contents, SCHEMA, "");
  const js = (toData(doc, source) ?? {}) as {
    mirrors?: Record<string, Mirror | null>;
    configs?: Record<string, RegistryHostConfig | null>;
  };
  return {
    mirrors: Object.fromEntries(Object.entries(js.mirrors ?? {}).map(([k, v]) => [k, v ?? {}])),
    configs: Object.fromEntries(Object.entries(js.configs ?? {}).map(([k, v]) => [k, v ?? {}])),
  };
}

/** What k3box writes into every node: a comment saying where it comes from, then the config. */
export function renderRegistriesYaml(config: RegistriesConfig): string {
  const body: Record<string, unknown> = { mirrors: config.mirrors };
  if (Object.keys(config.configs).length > 0) body.configs = config.configs;
  return (
    "# Written by k3box: its registries' mirrors merged with the user's registry config.\n" +
    "# `k3box registry connect/disconnect` keep it current; k3s reads it when it starts.\n" +
    stringify(body)
  );
}

/** Mirror entries sending each registry's names (and, for a cache, its upstream) to the registry. */
export function registryMirrors(registries: readonly RegistryEndpoint[]): RegistriesConfig {
  let config: RegistriesConfig = EMPTY_REGISTRIES;
  for (const r of registries) config = withRegistry(config, r);
  return config;
}

/** The user's entries win, host by host; within a mirror the user's endpoints come first. */
export function mergeRegistries(generated: RegistriesConfig, user: RegistriesConfig): RegistriesConfig {
  const mirrors: Record<string, Mirror> = { ...generated.mirrors };
  for (const [host, m] of Object.entries(user.mirrors)) {
    const ours = mirrors[host]?.endpoint ?? [];
    const theirs = m.endpoint ?? [];
    const endpoint = [...new Set([...theirs, ...ours])];
    mirrors[host] = { ...m, ...(endpoint.length > 0 ? { endpoint } : {}) };
  }
  return { mirrors, configs: { ...generated.configs, ...user.configs } };
}

/** Adds a registry's endpoint to each of its hosts' mirrors (after any endpoint already there). */
export function withRegistry(config: RegistriesConfig, r: RegistryEndpoint): RegistriesConfig {
  const hosts = [...mirrorHosts(r), ...(r.proxyRemoteUrl ? [upstreamHost(r.proxyRemoteUrl)] : [])];
  return hosts.reduce((c, host) => withMirror(c, host, r), config);
}

/** Lets nodes pull `host`'s images from the registry (tried after any endpoint already there). */
export function withMirror(config: RegistriesConfig, host: string, r: RegistryEndpoint): RegistriesConfig {
  const url = endpointUrl(r);
  const existing = config.mirrors[host];
  const endpoint = existing?.endpoint ?? [];
  if (endpoint.some((e) => pointsAt(e, url))) return config;
  return { ...config, mirrors: { ...config.mirrors, [host]: { ...existing, endpoint: [...endpoint, url] } } };
}

/** Removes every endpoint pointing at the registry; a mirror left with none goes too. */
export function withoutRegistry(config: RegistriesConfig, r: RegistryEndpoint): RegistriesConfig {
  const url = endpointUrl(r);
  const mirrors: Record<string, Mirror> = {};
  for (const [host, m] of Object.entries(config.mirrors)) {
    const before = m.endpoint ?? [];
    const endpoint = before.filter((e) => !pointsAt(e, url));
    if (endpoint.length === before.length) mirrors[host] = m;
    else if (endpoint.length > 0) mirrors[host] = { ...m, endpoint };
  }
  return { ...config, mirrors };
}

/** Whether any mirror of the config points at the registry. */
export function usesRegistry(config: RegistriesConfig, r: RegistryEndpoint): boolean {
  const url = endpointUrl(r);
  return Object.values(config.mirrors).some((m) => (m.endpoint ?? []).some((e) => pointsAt(e, url)));
}

/** `http://k3box-reg:5000`, `…/` and `…/v2` are the same endpoint to containerd. */
function pointsAt(endpoint: string, url: string): boolean {
  return endpoint.replace(/\/+(v2\/?)?$/, "") === url;
}
