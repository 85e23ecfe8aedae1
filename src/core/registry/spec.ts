/** Registry input (flags, config files, library callers) → validated specs. */
import { UsageError } from "../../base/errors.js";
import { readYamlFile } from "../yaml-guard.js";
import type { ClusterInput } from "../cluster-spec/input.js";
import { DEFAULT_HOST_IP } from "../cluster-spec/ports.js";
import type { ClusterRegistries } from "../cluster-spec/types.js";
import { K3BOX, type Dialect } from "../dialect.js";
import { mergeRegistries, parseRegistriesYaml, type RegistriesConfig } from "./config.js";
import {
  parseRegistryCreateRef,
  parseRegistryPort,
  parseRegistryUseRef,
  upstreamHost,
  validateRegistryName,
  type RegistryLocation,
} from "./addresses.js";
import { DEFAULT_REGISTRY_IMAGE, REGISTRY_STORAGE_PATH, type RegistryCreateSpec } from "./types.js";

/** What `registry create` takes. */
export interface RegistryInput {
  name: string;
  /** `[HOST:]PORT`; default 127.0.0.1 and a free port. */
  port?: string | RegistryLocation;
  image?: string;
  /** `SRC[:DEST]`: a named volume or absolute host path for the registry's storage. */
  volume?: string;
  proxyRemoteUrl?: string;
  proxyUsername?: string;
  proxyPassword?: string;
  deleteEnabled?: boolean;
}

/** Validates everything at once, like the cluster spec builder; `prefix` is the one a name may carry. */
export function buildRegistrySpec(input: RegistryInput, prefix?: string, defaultHostIp = DEFAULT_HOST_IP): RegistryCreateSpec {
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(err.message);
      return undefined;
    }
  };
  const name = attempt(() => validateRegistryName(input.name, prefix));
  const port = input.port;
  const where = typeof port === "string" ? attempt(() => parseRegistryPort(port, "--port")) : port;
  const image = (input.image ?? DEFAULT_REGISTRY_IMAGE).trim();
  if (image === "" || /\s/.test(image)) problems.push(`invalid registry image "${input.image}"`);
  const volume = input.volume === undefined ? undefined : attempt(() => parseRegistryVolume(input.volume as string));
  if (input.proxyRemoteUrl !== undefined) {
    attempt(() => upstreamHost(input.proxyRemoteUrl as string));
    if (!/^https?:\/\//.test(input.proxyRemoteUrl))
      problems.push(`invalid proxy remote URL "${input.proxyRemoteUrl}": it must start with https:// or http://`);
  } else if (input.proxyUsername !== undefined || input.proxyPassword !== undefined) {
    problems.push("--proxy-username and --proxy-password need --proxy-remote-url");
  }
  if (problems.length > 0 || name === undefined) throw new UsageError(problems.join("\n"));
  return {
    name,
    image,
    hostIp: where?.hostIp ?? defaultHostIp,
    ...(where?.hostPort !== undefined ? { hostPort: where.hostPort } : {}),
    ...(volume ? { volume } : {}),
    ...(input.proxyRemoteUrl !== undefined
      ? {
          proxy: {
            remoteUrl: input.proxyRemoteUrl,
            ...(input.proxyUsername !== undefined ? { username: input.proxyUsername } : {}),
            ...(input.proxyPassword !== undefined ? { password: input.proxyPassword } : {}),
          },
        }
      : {}),
    deleteEnabled: input.deleteEnabled ?? false,
  };
}

function parseRegistryVolume(text: string): { source: string; destination: string } {
  const i = text.indexOf(":");
  const source = i < 0 ? text : text.slice(0, i);
  const destination = i < 0 ? REGISTRY_STORAGE_PATH : text.slice(i + 1);
  if (source === "" || !destination.startsWith("/")) {
    throw new UsageError(`invalid registry volume "${text}": expected SRC[:DEST] with an absolute DEST`);
  }
  return { source, destination };
}

/** A registry a cluster makes and deletes (`--registry-create NAME[:HOST][:PORT]`, or one made on demand). */
export function clusterRegistrySpec(ref: string, d: Dialect, defaultHostIp = DEFAULT_HOST_IP): RegistryCreateSpec {
  // It keeps its name as given where the dialect names it verbatim.
  const createPrefix = d.registryCreateVerbatim ? "" : d.prefix;
  const { name, ...port } = parseRegistryCreateRef(ref, "--registry-create", createPrefix);
  return buildRegistrySpec({ name, port }, createPrefix, defaultHostIp);
}

type RegistryField = "registryCreate" | "registryUse" | "registryConfig" | "registryConfigYaml";

/** Where a problem goes: the input field (and list index) it is about, so callers can place it. */
export type RegistryProblems = (message: string, field: RegistryField, index?: number) => void;

/** The cluster's registries from its input; undefined when any part is wrong (each problem reported). */
export async function buildClusterRegistries(
  input: ClusterInput,
  report: RegistryProblems,
  d: Dialect = K3BOX,
  defaultHostIp = DEFAULT_HOST_IP,
): Promise<ClusterRegistries | undefined> {
  let failed = false;
  const fail = (message: string, field: RegistryField, index?: number): undefined => {
    failed = true;
    for (const line of message.split("\n")) report(line, field, index);
    return undefined;
  };
  const attempt = async <T>(
    field: RegistryField,
    index: number | undefined,
    fn: () => T | Promise<T>,
  ): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      return fail(err.message, field, index);
    }
  };
  const create =
    input.registryCreate === undefined
      ? undefined
      : await attempt("registryCreate", undefined, () => clusterRegistrySpec(input.registryCreate as string, d, defaultHostIp));
  const use: Array<{ name: string; port?: number }> = [];
  for (const [index, text] of (input.registryUse ?? []).entries()) {
    const ref = await attempt("registryUse", index, () => parseRegistryUseRef(text, "--registry-use", d.prefix));
    if (!ref) continue;
    if (ref.name === create?.name || use.some((u) => u.name === ref.name)) {
      fail(`registry "${ref.name}" is named twice in --registry-create/--registry-use`, "registryUse", index);
    } else {
      use.push(ref);
    }
  }
  const inline =
    input.registryConfigYaml === undefined
      ? undefined
      : await attempt("registryConfigYaml", undefined, () =>
          parseRegistriesYaml(input.registryConfigYaml as string, "registries.config"),
        );
  const file =
    input.registryConfig === undefined
      ? undefined
      : await attempt("registryConfig", undefined, () => readRegistriesFile(input.registryConfig as string));
  if (failed) return undefined;
  const config: RegistriesConfig | undefined = inline && file ? mergeRegistries(inline, file) : (file ?? inline);
  return { ...(create ? { create } : {}), use, ...(config ? { config } : {}) };
}

async function readRegistriesFile(path: string): Promise<RegistriesConfig> {
  let text: string;
  try {
    text = await readYamlFile(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `cannot read --registry-config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseRegistriesYaml(text, path);
}
