/**
 * Helm charts a cluster comes up with: each becomes a k3s `HelmChart` resource in the servers'
 * auto-deploy directory. A packaged chart (.tgz) is embedded (`spec.chartContent`), so no
 * repository is needed; a chart named with a repository is fetched by the cluster.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse, stringify } from "yaml";
import { UsageError } from "../../base/errors.js";
import { describeFsError, K3S_MANIFESTS_DIR } from "./files.js";
import { parseNodeFilters } from "./filters.js";
import type { HelmChartSpec, NodeFile } from "./types.js";

/** A chart as callers give it. */
export interface ChartInput {
  /** The release name, and the HelmChart's. */
  readonly name: string;
  /** A packaged chart (.tgz) to embed, relative to the working directory; with `repo`, the chart's name there. */
  readonly chart: string;
  /** A chart repository URL (online clusters): the cluster fetches the chart from it. */
  readonly repo?: string;
  /** The chart version in `repo`; none: the newest. */
  readonly version?: string;
  /** The namespace the release goes into (created when missing); none: kube-system's HelmChart default. */
  readonly namespace?: string;
  /** A values file (YAML). */
  readonly values?: string;
  /** Values as YAML text, instead of a file. */
  readonly valuesContent?: string;
}

/** Where k3s's Helm controller looks for HelmChart objects that k3s itself deploys. */
export const HELM_CHART_NAMESPACE = "kube-system";

const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a chart and reads its files now, so that a missing one fails before anything is created. */
export async function loadChart(input: ChartInput, cwd = process.cwd()): Promise<HelmChartSpec> {
  const raw = `${input.name}=${input.chart}`;
  const context = `chart "${raw}"`;
  const problems: string[] = [];
  // Helm's limit for release names; they are DNS labels.
  if (!RELEASE_NAME.test(input.name) || input.name.length > 53) {
    problems.push(`${context}: invalid name "${input.name}": lowercase letters, digits and '-', at most 53 characters`);
  }
  if (input.namespace !== undefined && (!NAMESPACE.test(input.namespace) || input.namespace.length > 63)) {
    problems.push(`${context}: invalid namespace "${input.namespace}"`);
  }
  if (input.values !== undefined && input.valuesContent !== undefined) {
    problems.push(`${context}: give values as a file or inline, not both`);
  }
  if (input.repo !== undefined && !/^(https?|oci):\/\/\S+$/.test(input.repo)) {
    problems.push(`${context}: invalid repository "${input.repo}": an http(s):// or oci:// URL`);
  }
  if (input.version !== undefined && input.repo === undefined) {
    problems.push(`${context}: a version needs a repository; a packaged chart carries its own`);
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));

  const chart: HelmChartSpec["chart"] =
    input.repo !== undefined
      ? { repo: input.repo, name: input.chart, ...(input.version !== undefined ? { version: input.version } : {}) }
      : { file: resolve(cwd, input.chart), content: await readPackagedChart(resolve(cwd, input.chart), context) };
  const valuesContent = input.values !== undefined ? await readText(resolve(cwd, input.values), context) : input.valuesContent;
  if (valuesContent !== undefined) checkValues(valuesContent, `${context}: values${input.values ? ` ${input.values}` : ""}`);
  return {
    name: input.name,
    chart,
    ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
    ...(valuesContent !== undefined ? { valuesContent } : {}),
    raw,
  };
}

async function readPackagedChart(path: string, context: string): Promise<Buffer> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (err) {
    throw new UsageError(`${context}: cannot read ${path}: ${describeFsError(err)}`, { cause: err });
  }
  // `helm package` writes a gzipped tar; anything else would only fail later, inside the cluster.
  if (content[0] !== 0x1f || content[1] !== 0x8b) {
    throw new UsageError(`${context}: ${path} is not a packaged chart (a .tgz as helm package writes it)`);
  }
  return content;
}

async function readText(path: string, context: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`${context}: cannot read ${path}: ${describeFsError(err)}`, { cause: err });
  }
}

function checkValues(text: string, context: string): void {
  let values: unknown;
  try {
    values = parse(text);
  } catch (err) {
    throw new UsageError(`${context}: not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (values !== null && values !== undefined && (typeof values !== "object" || Array.isArray(values))) {
    throw new UsageError(`${context}: expected a mapping of values`);
  }
}

/** The file name a chart's HelmChart gets in the auto-deploy directory. */
export function chartManifestName(name: string): string {
  return `k3box-chart-${name}.yaml`;
}

/** The `HelmChart` resource k3s's Helm controller installs the chart from. */
export function renderHelmChart(c: HelmChartSpec): string {
  const spec: Record<string, unknown> =
    "content" in c.chart
      ? { chartContent: c.chart.content.toString("base64") }
      : { chart: c.chart.name, repo: c.chart.repo, ...(c.chart.version !== undefined ? { version: c.chart.version } : {}) };
  if (c.namespace !== undefined) Object.assign(spec, { targetNamespace: c.namespace, createNamespace: true });
  if (c.valuesContent !== undefined) spec.valuesContent = c.valuesContent;
  const resource = {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: c.name, namespace: HELM_CHART_NAMESPACE },
    spec,
  };
  return stringify(resource, { lineWidth: 0 });
}

/** The chart's HelmChart as a file for every server's auto-deploy directory. */
export function chartFile(c: HelmChartSpec): NodeFile {
  return {
    destination: `${K3S_MANIFESTS_DIR}/${chartManifestName(c.name)}`,
    content: renderHelmChart(c),
    mode: 0o644,
    filters: parseNodeFilters("server:*", `chart "${c.raw}"`),
    raw: `chart ${c.raw}`,
    origin: "chart",
  };
}
