/** Reading a config file: YAML, `$VAR` expansion, the schema of its apiVersion, then ClusterInput. */
import { dirname, resolve } from "node:path";
import type { Readable } from "node:stream";
import type { z } from "zod";
import { UsageError } from "../../base/errors.js";
import type { ClusterInput, InputField } from "../cluster-spec/input.js";
import { excessiveNesting, NESTING_PROBLEM, readYamlFile, readYamlStream, toData } from "../yaml-guard.js";
import { expandEnv } from "./expand.js";
import { K3BOX_API_VERSION, K3BOX_KIND, K3D_API_VERSIONS, K3D_KIND, k3boxConfigSchema, k3dSimpleSchema } from "./schema.js";
import { ConfigSource, type Problem } from "./source.js";
import { translateK3box, translateK3d } from "./translate.js";

export type ConfigFormat = typeof K3BOX_API_VERSION | (typeof K3D_API_VERSIONS)[number];

export interface LoadedConfig {
  readonly source: ConfigSource;
  readonly format: ConfigFormat;
  readonly input: ClusterInput;
  /**
   * What is wrong with the file, as `FILE:LINE:COL: FIELD: message`, in file order. The input
   * holds the rest of the file (top-level fields with a problem are left out), so that the spec
   * builder can report its own problems together with these (resolveClusterInput passes them on).
   * A caller that uses the input without the builder must check this first.
   */
  readonly problems: readonly string[];
  /** `FILE:LINE:COL: PATH` of an input value that came from the file. */
  origin(field: InputField, index?: number): string | undefined;
}

/** Reads `path`, or standard input for `-`. */
export async function readConfigSource(path: string, stdin: Readable = process.stdin): Promise<ConfigSource> {
  if (path === "-") return new ConfigSource("<stdin>", await readYamlStream(stdin, "<stdin>"), process.cwd());
  let text: string;
  try {
    text = await readYamlFile(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new UsageError(`cannot read config file ${path}: ${why}`, { cause: err });
  }
  return new ConfigSource(path, text, dirname(resolve(path)));
}

/** Reads and loads a config file (`-`: standard input) in one step. */
export async function readConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  stdin: Readable = process.stdin,
): Promise<LoadedConfig> {
  return loadConfig(await readConfigSource(path, stdin), env);
}

/**
 * Validates and translates a config file, collecting every problem in it, each with its position.
 * Throws only when the file cannot be read as a config at all (YAML syntax, apiVersion, kind).
 */
export function loadConfig(source: ConfigSource, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  // Too deep first: the parser's own errors for such input are stack overflows, and the walks below recurse.
  const deep = excessiveNesting(source.doc);
  if (deep !== undefined) throw new UsageError(`${source.locateOffset(deep)}: ${NESTING_PROBLEM}`);
  const syntax = source.syntaxErrors();
  if (syntax.length > 0) throw new UsageError(syntax.join("\n"));
  const problems = expandEnv(source, env);
  const data: unknown = toData(source.doc, source.name) ?? {};
  const format = detectFormat(data, problems);
  const inFileOrder = (list: readonly Problem[]) =>
    [...list].sort((a, b) => source.lineOf(a) - source.lineOf(b)).map((p) => source.format(p));
  if (format === undefined) throw new UsageError(inFileOrder(problems).join("\n"));
  const translated =
    format === K3BOX_API_VERSION
      ? validate(k3boxConfigSchema, data as Record<string, unknown>, problems, (c) => translateK3box(c, source.dir))
      : validate(k3dSimpleSchema, data as Record<string, unknown>, problems, (c) => translateK3d(c, source.dir));
  if (translated === undefined) throw new UsageError(inFileOrder(problems).join("\n"));
  const paths = translated.paths;
  return {
    source,
    format,
    input: translated.input,
    problems: inFileOrder([...problems, ...translated.problems]),
    origin(field, index) {
      const path = paths.get(index === undefined ? field : `${field}#${index}`);
      return path === undefined ? undefined : source.locate(path);
    },
  };
}

function detectFormat(data: unknown, problems: Problem[]): ConfigFormat | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    problems.push({ path: [], message: "expected a mapping with apiVersion and kind" });
    return undefined;
  }
  const { apiVersion, kind } = data as { apiVersion?: unknown; kind?: unknown };
  const known = [K3BOX_API_VERSION, ...K3D_API_VERSIONS];
  if (apiVersion === K3BOX_API_VERSION) {
    if (kind !== K3BOX_KIND) problems.push({ path: ["kind"], message: `expected "${K3BOX_KIND}" for ${K3BOX_API_VERSION}` });
    return K3BOX_API_VERSION;
  }
  if ((K3D_API_VERSIONS as readonly unknown[]).includes(apiVersion)) {
    if (kind !== K3D_KIND) {
      problems.push({
        path: ["kind"],
        message: `expected "${K3D_KIND}" for ${String(apiVersion)}: k3box reads k3d's Simple config only`,
      });
    }
    return apiVersion as ConfigFormat;
  }
  if (typeof apiVersion === "string" && /^k3d\.io\/v1alpha[0-3]$/.test(apiVersion)) {
    problems.push({ path: ["apiVersion"], message: `${apiVersion} is too old: run "k3d config migrate" to get k3d.io/v1alpha5` });
  } else {
    problems.push({
      path: ["apiVersion"],
      message:
        apiVersion === undefined
          ? `missing: use ${known.join(", ")}`
          : `unknown apiVersion "${String(apiVersion)}": use ${known.join(", ")}`,
    });
  }
  return undefined;
}

/**
 * Checks the data against the schema and translates it. Top-level fields with a problem are
 * left out of the translation, so that the rest can still be checked further.
 */
function validate<S extends z.ZodType, R>(
  schema: S,
  data: Record<string, unknown>,
  problems: Problem[],
  then: (config: z.infer<S>) => R,
): R | undefined {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success && problems.length === 0) return then(result.data);
  // A value whose variable is unset has been reported already; its type is no news.
  const reported = new Set(problems.map((p) => JSON.stringify(p.path)));
  for (const issue of result.error?.issues ?? []) {
    problems.push(...describeIssue(issue).filter((p) => !reported.has(JSON.stringify(p.path))));
  }
  const bad = new Set(problems.map((p) => p.path[0]));
  const rest = Object.fromEntries(Object.entries(data).filter(([key]) => !bad.has(key)));
  const retry = schema.safeParse(rest);
  return retry.success ? then(retry.data) : undefined;
}

function describeIssue(issue: z.core.$ZodIssue): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"`, atKey: true }));
    case "invalid_type":
      return [
        {
          path,
          message:
            issue.input === undefined
              ? "required field is missing"
              : `expected ${article(issue.expected)}, got ${show(issue.input)}`,
        },
      ];
    case "too_small":
      return [
        {
          path,
          message:
            issue.origin === "array"
              ? "must not be empty"
              : `must be at least ${String(issue.minimum)}, got ${show(issue.input)}`,
        },
      ];
    case "too_big":
      return [{ path, message: `must be at most ${String(issue.maximum)}, got ${show(issue.input)}` }];
    case "invalid_value":
      return [{ path, message: `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${show(issue.input)}` }];
    case "invalid_union":
      return [{ path, message: `${issue.message}, got ${show(issue.input)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function article(type: string): string {
  const word = type === "int" ? "integer" : type === "record" || type === "object" ? "mapping" : type === "array" ? "list" : type;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}
