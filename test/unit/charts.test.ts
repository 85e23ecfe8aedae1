import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { renderHelmChart } from "../../src/core/cluster-spec/charts.js";
import { K3S_MANIFESTS_DIR } from "../../src/core/cluster-spec/files.js";
import { loadConfig, readConfigSource } from "../../src/core/config/load.js";
import { resolveClusterInput } from "../../src/core/config/resolve.js";

const dir = mkdtempSync(join(tmpdir(), "k3box-charts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Any gzip stream passes the packaged-chart check; the cluster's Helm job reads the rest.
const tgz = gzipSync(Buffer.from("a chart"));
writeFileSync(join(dir, "app-1.0.0.tgz"), tgz);
writeFileSync(join(dir, "values.yaml"), "replicas: 2\nimage: {tag: v1}\n");
writeFileSync(join(dir, "list.yaml"), "- a\n- b\n");

interface HelmChart {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown>;
}

function chartOf(spec: Awaited<ReturnType<typeof buildClusterSpec>>, name: string): HelmChart {
  const file = spec.files.find((f) => f.destination === `${K3S_MANIFESTS_DIR}/k3box-chart-${name}.yaml`);
  if (!file) throw new Error(`no HelmChart file for ${name}`);
  expect(file.filters.map((f) => `${f.group}:${f.select.kind}`)).toEqual(["server:all"]);
  return parse(file.content.toString()) as HelmChart;
}

describe("Helm charts", () => {
  it("embeds a packaged chart as chartContent, with its values and target namespace, for every server", async () => {
    const spec = await buildClusterSpec({
      agents: 1,
      charts: [{ name: "app", chart: join(dir, "app-1.0.0.tgz"), values: join(dir, "values.yaml"), namespace: "apps" }],
    });
    const hc = chartOf(spec, "app");
    expect(hc).toMatchObject({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "app", namespace: "kube-system" },
    });
    expect(Buffer.from(hc.spec.chartContent as string, "base64")).toEqual(tgz);
    expect(hc.spec).toMatchObject({
      targetNamespace: "apps",
      createNamespace: true,
      valuesContent: "replicas: 2\nimage: {tag: v1}\n",
    });
    expect(hc.spec.repo).toBeUndefined();
  });

  it("names a repository chart instead of embedding it", async () => {
    const spec = await buildClusterSpec({
      charts: [{ name: "web", chart: "podinfo", repo: "https://example.test/charts", version: "6.7.1", valuesContent: "a: 1" }],
    });
    expect(chartOf(spec, "web").spec).toEqual({
      chart: "podinfo",
      repo: "https://example.test/charts",
      version: "6.7.1",
      valuesContent: "a: 1",
    });
  });

  it("reports every bad chart at once, naming the value", async () => {
    const err = await buildClusterSpec({
      charts: [
        { name: "Bad_Name", chart: join(dir, "app-1.0.0.tgz") },
        { name: "missing", chart: join(dir, "nothere.tgz") },
        { name: "notgz", chart: join(dir, "values.yaml") },
        { name: "vals", chart: join(dir, "app-1.0.0.tgz"), values: join(dir, "list.yaml") },
        { name: "ns", chart: join(dir, "app-1.0.0.tgz"), namespace: "No_Such" },
        { name: "ver", chart: join(dir, "app-1.0.0.tgz"), version: "1.0.0" },
        { name: "repo", chart: "x", repo: "ftp://example.test" },
        { name: "dup", chart: join(dir, "app-1.0.0.tgz") },
        { name: "dup", chart: join(dir, "app-1.0.0.tgz") },
      ],
    }).catch((e: Error) => e);
    const message = (err as Error).message;
    expect(message).toContain('invalid name "Bad_Name"');
    expect(message).toContain(`cannot read ${join(dir, "nothere.tgz")}: no such file or directory`);
    expect(message).toContain("is not a packaged chart");
    expect(message).toContain("expected a mapping of values");
    expect(message).toContain('invalid namespace "No_Such"');
    expect(message).toContain("a version needs a repository");
    expect(message).toContain('invalid repository "ftp://example.test"');
    expect(message).toContain('chart name "dup" is given twice');
  });

  it("reads charts: from a config file, paths relative to the file", async () => {
    const file = join(dir, "k3box.yaml");
    const text = [
      "apiVersion: k3box.dev/v1alpha1",
      "kind: Cluster",
      "charts:",
      "  - {name: app, chart: ./app-1.0.0.tgz, values: ./values.yaml, namespace: apps}",
      "  - {name: web, chart: podinfo, repo: https://example.test/charts}",
      "",
    ].join("\n");
    writeFileSync(file, text);
    const loaded = loadConfig(await readConfigSource(file));
    const { input, build } = resolveClusterInput({ flags: {}, file: loaded });
    const spec = await buildClusterSpec(input, build);
    expect(spec.charts.map((c) => c.name)).toEqual(["app", "web"]);
    expect(chartOf(spec, "app").spec.valuesContent).toBe("replicas: 2\nimage: {tag: v1}\n");
    expect(chartOf(spec, "web").spec).toEqual({ chart: "podinfo", repo: "https://example.test/charts" });
  });

  it("renders stable YAML: the same chart gives the same file", async () => {
    const c = { name: "x", chart: { file: "/x.tgz", content: tgz }, raw: "x=/x.tgz" } as const;
    expect(renderHelmChart(c)).toBe(renderHelmChart({ ...c }));
  });
});
