/** bundle create and bundle load as operations, on the in-memory engine. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { K3boxError, UsageError } from "../../src/base/errors.js";
import { createCluster } from "../../src/core/operations/create.js";
import { k3sImageLists } from "../../src/core/airgap/k3s-images.js";
import { DEFAULT_LOADBALANCER_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import { createBundle, loadBundle } from "../../src/core/operations/bundle.js";
import { readBundle } from "../../src/core/bundle/read.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";
import { answerProbes } from "../support/probe.js";

const dir = mkdtempSync(join(tmpdir(), "k3box-bundle-ops-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const K3S = "docker.io/rancher/k3s:v1.35.5-k3s1";
const chartFile = join(dir, "app-1.0.0.tgz");
writeFileSync(chartFile, gzipSync("a chart"));
const manifestFile = join(dir, "app.yaml");
writeFileSync(manifestFile, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n");

async function addons(): Promise<readonly string[]> {
  return (await k3sImageLists()).find((l) => l.version === "v1.35.5+k3s1")?.images ?? [];
}

/** An engine with what the cluster needs; the app image only in the registry, so that it is pulled. */
async function onlineEngine(): Promise<MemoryRuntime> {
  const rt = new MemoryRuntime({ registry: { "myapp:1": { labels: { app: "yes" } } } });
  for (const image of [K3S, DEFAULT_LOADBALANCER_IMAGE, ...(await addons())]) rt.seedImage(image);
  return rt;
}

describe("bundle create and load on an engine", () => {
  const input = { name: "demo", agents: 1, manifests: [manifestFile], charts: [{ name: "app", chart: chartFile }] };

  it("bundles every image (pulling what is missing), the chart and the manifest; load puts the images into another engine", async () => {
    const online = await onlineEngine();
    const output = join(dir, "demo.tar");
    const result = await createBundle(input, { runtime: online, output, extraImages: ["myapp:1"] });
    expect(online.changes()).toContain("pullImage docker.io/library/myapp:1");
    expect(result.images.engine.map((i) => i.image)).toEqual([K3S, DEFAULT_LOADBALANCER_IMAGE]);
    expect(result.images.nodes.map((i) => i.image)).toEqual([...(await addons()), "docker.io/library/myapp:1"]);
    expect(result.charts).toEqual(["app"]);
    expect(result.manifests).toHaveLength(2);
    expect(result.entries.map((e) => e.path)).toEqual([...result.manifests, "images/nodes.tar", "images/engine.tar"]);
    expect((await readBundle(output)).contents.k3s).toMatchObject({ version: "v1.35.5+k3s1", from: "image tag" });

    const offline = new MemoryRuntime();
    const loaded = await loadBundle(output, { runtime: offline });
    expect(loaded.loaded).toHaveLength(2 + (await addons()).length + 1);
    for (const image of [K3S, DEFAULT_LOADBALANCER_IMAGE, ...(await addons()), "myapp:1"]) {
      expect(await offline.imageExists(image), image).toBe(true);
    }
    expect((await offline.inspectImage("myapp:1"))?.id).toBe((await online.inspectImage("myapp:1"))?.id);
  });

  it("writes and loads a zstd-compressed bundle the same way", async () => {
    const output = join(dir, "demo.tar.zst");
    await createBundle(input, { runtime: await onlineEngine(), output });
    expect(readFileSync(output).subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const offline = new MemoryRuntime();
    await loadBundle(output, { runtime: offline });
    expect(await offline.imageExists(K3S)).toBe(true);
    expect((await readBundle(output)).manifests.map((m) => m.entry)).toContain("manifests/k3box-chart-app.yaml");
  });

  it("load refuses a damaged bundle before it loads anything", async () => {
    const output = join(dir, "damaged.tar");
    await createBundle(input, { runtime: await onlineEngine(), output, extraImages: ["myapp:1"] });
    const bytes = readFileSync(output);
    const at = bytes.indexOf("manifest.json");
    bytes[at + 1024] = (bytes[at + 1024] as number) ^ 0xff;
    writeFileSync(output, bytes);
    const offline = new MemoryRuntime();
    await expect(loadBundle(output, { runtime: offline })).rejects.toThrow(UsageError);
    expect(offline.images()).toEqual([]);
    expect(offline.calls.map((c) => c.method)).not.toContain("loadImages");
  });

  it("refuses what a bundle cannot hold, before it asks the engine anything, and writes no file", async () => {
    const rt = await onlineEngine();
    const output = join(dir, "refused.tar");
    await expect(
      createBundle(
        { ...input, charts: [{ name: "web", chart: "podinfo", repo: "https://example.test/charts" }] },
        { runtime: rt, output },
      ),
    ).rejects.toThrow("chart web comes from a repository: a bundle carries packaged charts (.tgz; helm pull makes one)");
    await expect(createBundle(input, { runtime: rt, output: join(dir, "x.zip") })).rejects.toThrow(
      "must end in .tar or .tar.zst",
    );
    await expect(createBundle(input, { runtime: rt, output, extraImages: ["Bad Name"] })).rejects.toThrow(
      'invalid image name "Bad Name"',
    );
    expect(rt.calls).toEqual([]);
    // An image whose tag names no release is asked itself, when the engine has it; this one it has not.
    await expect(createBundle({ ...input, image: "my/node:dev" }, { runtime: rt, output })).rejects.toThrow(
      'a bundle must hold every image: the k3s version of image "my/node:dev" cannot be read (asked: image tag, k3s --version in the image)',
    );
    expect(rt.calls.map((c) => c.method)).toEqual(["imageExists"]);
    expect(readdirSync(dir).filter((f) => f.startsWith("refused"))).toEqual([]);
  });

  it("cluster create --bundle copies the node images into every k3s node before any starts; a failed copy undoes it all", async () => {
    const output = join(dir, "for-create.tar");
    await createBundle(input, { runtime: await onlineEngine(), output });
    const entry = (await readBundle(output)).contents.entries.find((e) => e.path === "images/nodes.tar");
    const rt = await onlineEngine();
    answerProbes(rt);
    const copied = new Map<string, string>();
    rt.onCall(
      "putFileStream",
      (call) => {
        const [name, path] = call.args as [string, string];
        copied.set(name, createHash("sha256").update(rt.files(name).read(path).content).digest("hex"));
      },
      "after",
    );
    rt.failOn("putFileStream", { match: "k3box-bundled-agent-0", error: new K3boxError("the disk is full") });
    const created = createCluster(
      { name: "bundled", agents: 1, bundle: output },
      { runtime: rt, kubeconfigPath: join(dir, "kubeconfig") },
    );
    await expect(created).rejects.toThrow("the disk is full");
    expect(copied).toEqual(new Map([["k3box-bundled-server-0", entry?.sha256]]));
    // Only the probe of the node image ran; no node started.
    expect(rt.calls.filter((c) => c.method === "startContainer").map((c) => c.names[0])).toEqual([
      expect.stringMatching(/^k3box-probe-/),
    ]);
    expect(rt.isEmpty(), JSON.stringify(rt.snapshot())).toBe(true);
  });

  it("a failed save leaves no bundle file and no temporary file", async () => {
    const rt = await onlineEngine();
    rt.failOn("saveImages", { times: Infinity });
    const output = join(dir, "failed.tar");
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith("k3box-bundle-"));
    await expect(createBundle(input, { runtime: rt, output })).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith("failed"))).toEqual([]);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith("k3box-bundle-"))).toEqual(before);
  });
});
