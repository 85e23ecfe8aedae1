/**
 * Air-gapped clusters end to end: the images a config file's cluster needs, a bundle of them
 * with an app image, a chart and a manifest; the images removed from the engine, loaded back
 * from the bundle, and a cluster created from it with everything in every node before k3s
 * starts. The add-on images of the double's k3s release cannot be pulled here: the test builds
 * tiny stand-ins under their names, and removes only the images it made.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { copyFile, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LOADBALANCER_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import { DOUBLE_IMAGE, Sandbox, docker, leftovers, poll, run } from "./helpers.js";

const K3S_VERSION = "v1.35.5+k3s1";
const ADDONS: readonly string[] =
  (
    JSON.parse(readFileSync(new URL("../../data/k3s-images.json", import.meta.url), "utf8")) as {
      releases: { version: string; images: string[] }[];
    }
  ).releases.find((r) => r.version === K3S_VERSION)?.images ?? [];
const TEST_LABEL = "io.k3box.test.airgap";

async function imageId(image: string): Promise<string | undefined> {
  const r = await docker(["image", "inspect", "-f", "{{.Id}}", image]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Builds an image FROM busybox (no pull), labelled as this run's, under every name given. */
async function buildStandIn(dir: string, names: readonly string[], run: string, extra = ""): Promise<void> {
  const context = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(context, "Dockerfile"), `FROM busybox:latest\nLABEL ${TEST_LABEL}=${run}\n${extra}`);
  const r = await docker(["build", "-q", ...names.flatMap((n) => ["-t", n]), context]);
  if (r.code !== 0) throw new Error(`docker build: ${r.stderr}`);
}

/** The entries of a plain tar file: name, size, sha256 of the content, and where the content starts. */
async function tarEntries(file: string): Promise<Map<string, { size: number; sha256: string; offset: number; body?: Buffer }>> {
  const entries = new Map<string, { size: number; sha256: string; offset: number; body?: Buffer }>();
  const extract = tar.extract();
  createReadStream(file).pipe(extract);
  let offset = 0;
  for await (const entry of extract) {
    const size = entry.header.size ?? 0;
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    for await (const c of entry) {
      hash.update(c as Buffer);
      if (size < 1 << 20) chunks.push(c as Buffer);
    }
    // A ustar header is one 512-byte block (the names here are short); content is padded to 512.
    entries.set(entry.header.name, {
      size,
      sha256: hash.digest("hex"),
      offset: offset + 512,
      ...(size < 1 << 20 ? { body: Buffer.concat(chunks) } : {}),
    });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** The RepoTags of a docker save archive, read from its manifest.json. */
async function savedTags(archive: Buffer | string): Promise<string[]> {
  const extract = tar.extract();
  if (typeof archive === "string") createReadStream(archive).pipe(extract);
  else extract.end(archive);
  for await (const entry of extract) {
    if (entry.header.name === "manifest.json") {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      return (JSON.parse(Buffer.concat(chunks).toString()) as { RepoTags: string[] | null }[]).flatMap((m) => m.RepoTags ?? []);
    }
    entry.resume();
  }
  return [];
}

describe("air-gapped clusters: images list, bundle create, bundle load, cluster create --bundle", () => {
  const runId = randomBytes(3).toString("hex");
  const nodeImage = `k3box-test/k3s-double:v1.35.5-k3s1-airgap-${runId}`;
  const appImage = `k3box-test/airgap-app:${runId}`;
  /** Images this test made (tags it may remove); add-on names that existed before are left alone. */
  const ours: string[] = [];
  let sb: Sandbox;
  let dir: string;
  let config: string;
  let bundle: string;
  let cluster: string;
  let chart: Buffer;

  const canonical = (image: string) =>
    image.includes(".") && image.split("/")[0]?.includes(".")
      ? image
      : `docker.io/${image.includes("/") ? "" : "library/"}${image}`;

  beforeAll(async () => {
    expect(ADDONS.length).toBeGreaterThan(0);
    sb = await Sandbox.create();
    dir = await mkdtemp(join(tmpdir(), "k3box-airgap-"));
    cluster = sb.name("airgap");
    const tagged = await docker(["tag", DOUBLE_IMAGE, nodeImage]);
    if (tagged.code !== 0) throw new Error(tagged.stderr);
    ours.push(nodeImage);
    const missing: string[] = [];
    for (const image of ADDONS) if ((await imageId(image)) === undefined) missing.push(image);
    if (missing.length > 0) await buildStandIn(dir, missing, runId);
    await buildStandIn(dir, [appImage], runId, `RUN echo ${runId} > /app-id\n`);
    ours.push(...missing, appImage);

    // A packaged chart as helm package writes it: a gzipped tar with the chart directory.
    const pack = tar.pack();
    pack.entry({ name: "demo/Chart.yaml" }, "apiVersion: v2\nname: demo\nversion: 0.1.0\n");
    pack.entry({ name: "demo/templates/cm.yaml" }, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\ndata: {a: b}\n");
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    chart = gzipSync(Buffer.concat(chunks));
    await writeFile(join(dir, "demo-0.1.0.tgz"), chart);
    await writeFile(join(dir, "values.yaml"), "greeting: offline\n");
    await writeFile(
      join(dir, "app.yaml"),
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: airgap-app, namespace: default}\ndata: {image: "${appImage}"}\n`,
    );
    config = join(dir, "k3box.yaml");
    await writeFile(
      config,
      [
        "apiVersion: k3box.dev/v1alpha1",
        "kind: Cluster",
        `metadata: {name: ${cluster}}`,
        `image: ${nodeImage}`,
        "agents: 1",
        "manifests: [./app.yaml]",
        "charts: [{name: demo, chart: ./demo-0.1.0.tgz, namespace: demo, values: ./values.yaml}]",
        "options:",
        "  k3box: {timeout: 3m}",
        "  kubeconfig: {switchCurrentContext: false}",
        "",
      ].join("\n"),
    );
    bundle = join(dir, "bundle.tar");
  });

  afterAll(async () => {
    await sb?.dispose();
    for (const image of ours) {
      // Only what still carries this run's label (or the node image tag this run added) is ours to remove.
      const label = await docker(["image", "inspect", "-f", `{{index .Config.Labels "${TEST_LABEL}"}}`, image]);
      if (image === nodeImage || label.stdout.trim() === runId) await docker(["rmi", image]);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("image list names every image the cluster needs, and where", async () => {
    const r = await sb.k3box(["image", "list", "-c", config, "--image-extra", appImage, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as { k3s: { version: string; from: string }; images: { image: string; place: string }[] };
    expect(listed.k3s).toMatchObject({ version: K3S_VERSION, from: "image tag" });
    const place = new Map(listed.images.map((i) => [i.image, i.place]));
    expect(place.get(canonical(nodeImage))).toBe("engine");
    expect(place.get(DEFAULT_LOADBALANCER_IMAGE)).toBe("engine");
    for (const addon of ADDONS) expect(place.get(addon), addon).toBe("nodes");
    expect(place.get(canonical(appImage))).toBe("nodes");
    expect(listed.images).toHaveLength(2 + ADDONS.length + 1);
  });

  it("bundle create writes every image, the chart and the manifest, with the sums of its entries", async () => {
    const r = await sb.k3box(["bundle", "create", "-c", config, "--image-extra", appImage, "-o", bundle, "-q"]);
    expect(r.code, r.stderr).toBe(0);
    const entries = await tarEntries(bundle);
    const names = [...entries.keys()];
    expect(names[0]).toBe("k3box-bundle.json");
    const contents = JSON.parse(entries.get("k3box-bundle.json")?.body?.toString() ?? "{}") as {
      k3s: { version: string };
      entries: { path: string; size: number; sha256: string }[];
      charts: { name: string; sha256: string }[];
    };
    expect(contents.k3s.version).toBe(K3S_VERSION);
    expect(contents.entries.map((e) => e.path).sort()).toEqual(names.slice(1).sort());
    for (const e of contents.entries)
      expect({ path: e.path, size: entries.get(e.path)?.size, sha256: entries.get(e.path)?.sha256 }).toEqual(e);
    expect(contents.charts).toEqual([
      expect.objectContaining({ name: "demo", sha256: createHash("sha256").update(chart).digest("hex") }),
    ]);
    const helmChart = entries.get("manifests/k3box-chart-demo.yaml")?.body?.toString() ?? "";
    expect(helmChart).toContain(`chartContent: ${chart.toString("base64")}`);

    const nodeTags = await savedTags(await extractEntry(bundle, "images/nodes.tar", join(dir, "nodes.tar")));
    expect(nodeTags.sort()).toEqual([...ADDONS.map((a) => a.replace(/^docker\.io\/(library\/)?/, "")), appImage].sort());
    const engineTags = await savedTags(await extractEntry(bundle, "images/engine.tar", join(dir, "engine.tar")));
    expect(engineTags.sort()).toEqual([nodeImage, DEFAULT_LOADBALANCER_IMAGE.replace(/^docker\.io\/library\//, "")].sort());
    await rm(join(dir, "nodes.tar"));
    await rm(join(dir, "engine.tar"));
  });

  it("bundle load brings back the images after docker rmi, once every sum is checked", async () => {
    for (const image of ours) {
      const r = await docker(["rmi", image]);
      expect(r.code, r.stderr).toBe(0);
      expect(await imageId(image)).toBeUndefined();
    }
    const r = await sb.k3box(["bundle", "load", bundle, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const loaded = (JSON.parse(r.stdout) as { loaded: string[] }).loaded;
    for (const image of ours) {
      expect(await imageId(image), image).toBeDefined();
      expect(loaded.map(canonical)).toContain(canonical(image));
    }
  });

  it("cluster create --bundle comes up with the app and add-on images imported in every node before k3s started", async () => {
    const lbBefore = await imageId(DEFAULT_LOADBALANCER_IMAGE);
    const r = await sb.k3box(["cluster", "create", "-c", config, "--bundle", bundle]);
    expect(r.code, r.stderr).toBe(0);
    // The load balancer runs the ready-made image as it was: nothing was built for it.
    expect(await imageId(DEFAULT_LOADBALANCER_IMAGE)).toBe(lbBefore);
    const lb = await docker(["inspect", "-f", "{{.Image}}", `k3box-${cluster}-serverlb`]);
    expect(lb.stdout.trim()).toBe(lbBefore);

    for (const node of [`k3box-${cluster}-server-0`, `k3box-${cluster}-agent-0`]) {
      const logs = await docker(["logs", node]);
      const text = logs.stdout + logs.stderr;
      // k3s imports agent/images/ only at start: the archive was there before the first one.
      const importing = text.indexOf("Importing images from /var/lib/rancher/k3s/agent/images/k3box-bundle-");
      expect(importing, `${node} did not import the bundle at start`).toBeGreaterThanOrEqual(0);
      expect(text).toContain(`Imported docker.io/${appImage}`);
      expect(importing).toBeLessThan(text.indexOf("Running kubelet"));
      const ls = await docker(["exec", node, "ctr", "images", "ls", "-q"]);
      const refs = ls.stdout.split("\n");
      expect(refs, node).toContain(`docker.io/${appImage}`);
      for (const addon of ADDONS) expect(refs, `${node}: ${addon}`).toContain(addon);
    }
  });

  it("deploys the bundle's chart as a HelmChart object readable through the API, and its manifest once", async () => {
    const kubeconfig = await sb.k3box(["kubeconfig", "get", cluster]);
    const file = join(dir, "admin.yaml");
    await writeFile(file, kubeconfig.stdout, { mode: 0o600 });
    const chartObject = await poll(async () => {
      const r = await run("kubectl", [
        "--kubeconfig",
        file,
        "get",
        "--raw",
        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/demo",
      ]);
      return r.code === 0 ? (JSON.parse(r.stdout) as { spec: Record<string, string> }) : undefined;
    }, "the HelmChart demo");
    expect(Buffer.from(chartObject.spec.chartContent ?? "", "base64")).toEqual(chart);
    expect(chartObject.spec).toMatchObject({ targetNamespace: "demo", valuesContent: "greeting: offline\n" });
    const cm = await poll(async () => {
      const r = await run("kubectl", ["--kubeconfig", file, "get", "--raw", "/api/v1/namespaces/default/configmaps/airgap-app"]);
      return r.code === 0 ? (JSON.parse(r.stdout) as { data: { image: string } }) : undefined;
    }, "the ConfigMap of the manifest");
    expect(cm.data.image).toBe(appImage);
    // Given by the config file and by the bundle, byte for byte: deployed once.
    const grep = await docker([
      "exec",
      `k3box-${cluster}-server-0`,
      "grep",
      "-l",
      "name: airgap-app",
      "-r",
      "/var/lib/rancher/k3s/server/manifests",
    ]);
    expect(grep.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a damaged bundle with exit 2, creating and loading nothing", async () => {
    const damaged = join(dir, "damaged.tar");
    await copyFile(bundle, damaged);
    const at = (await tarEntries(damaged)).get("images/nodes.tar");
    if (!at) throw new Error("no images/nodes.tar");
    const handle = await open(damaged, "r+");
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, at.offset + Math.floor(at.size / 2));
      await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, at.offset + Math.floor(at.size / 2));
    } finally {
      await handle.close();
    }
    expect((await docker(["rmi", appImage])).code).toBe(0);
    const load = await sb.k3box(["bundle", "load", damaged]);
    expect(load.code).toBe(2);
    expect(load.stderr).toMatch(/bundle .*damaged\.tar is damaged: images\/nodes\.tar has sha256/);
    expect(await imageId(appImage)).toBeUndefined();

    const other = sb.name("airgap-bad");
    const create = await sb.k3box(["cluster", "create", other, "-c", config, "--bundle", damaged]);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain("is damaged");
    expect(await leftovers(other)).toEqual([]);
  });
});

/** Copies one entry of a plain tar into a file of its own, for reading it as an archive. */
async function extractEntry(file: string, name: string, out: string): Promise<string> {
  const extract = tar.extract();
  createReadStream(file).pipe(extract);
  for await (const entry of extract) {
    if (entry.header.name === name) await pipeline(entry, createWriteStream(out));
    else entry.resume();
  }
  return out;
}
