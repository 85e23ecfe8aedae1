import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { clusterImages } from "../../src/core/airgap/cluster-images.js";
import { k3sImageLists } from "../../src/core/airgap/k3s-images.js";
import { k3sVersionOf, versionFromTag, type K3sVersionSource } from "../../src/core/k3s-version.js";
import { BUNDLE_API_VERSION, BUNDLE_KIND, NODE_IMAGES_ENTRY, type BundleContents } from "../../src/core/bundle/format.js";
import { openBundleEntry, readBundle, verifyBundle } from "../../src/core/bundle/read.js";
import { bundleCompression, writeBundle, type BundlePart } from "../../src/core/bundle/write.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { DEFAULT_LOADBALANCER_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { planClusterCreate } from "../../src/core/operations/create.js";
import { describePlan } from "../../src/core/plan/describe.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";

const dir = mkdtempSync(join(tmpdir(), "k3box-airgap-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the k3s version of a node image", () => {
  it.each([
    ["v1.35.5-k3s1", "v1.35.5+k3s1"],
    ["v1.36.2-k3s1-amd64", "v1.36.2+k3s1"],
    ["v1.35.5-rc1-k3s2", "v1.35.5-rc1+k3s2"],
    ["v1.35.5-k3s1-airgap-1a2b3c", "v1.35.5+k3s1"],
    ["latest", undefined],
    ["1.35.5-k3s1", undefined],
    ["v1.35.5", undefined],
  ])("tag %s → %s", (tag, version) => {
    expect(versionFromTag(tag)).toBe(version);
  });

  it("asks the sources in order and says so when none can tell, naming the image", async () => {
    expect(await k3sVersionOf("rancher/k3s:v1.35.5-k3s1")).toEqual({ version: "v1.35.5+k3s1", from: "image tag" });
    const fromImage: K3sVersionSource = {
      name: "image label",
      read: async (i) => (i === "my/node:dev" ? "v1.36.2+k3s1" : undefined),
    };
    expect(await k3sVersionOf("my/node:dev", [fromImage])).toEqual({ version: "v1.36.2+k3s1", from: "image label" });
    const unknown = await k3sVersionOf("my/node:dev");
    expect(unknown.version).toBeUndefined();
    expect("reason" in unknown && unknown.reason).toContain(
      'the k3s version of image "my/node:dev" cannot be read (asked: image tag)',
    );
  });
});

describe("the images a cluster runs", () => {
  const images = async (input: ClusterInput, extra?: string[], sources?: K3sVersionSource[]) =>
    clusterImages(await buildClusterSpec(input), {
      ...(extra ? { extraImages: extra } : {}),
      ...(sources ? { versionSources: sources } : {}),
    });
  const nodeRepos = (r: Awaited<ReturnType<typeof images>>) =>
    r.images.filter((i) => i.place === "nodes").map((i) => i.image.replace(/^docker\.io\/rancher\/(.*):.*$/, "$1"));

  it("every shipped release lists the images of each add-on", async () => {
    const lists = await k3sImageLists();
    expect(lists.map((l) => l.version)).toContain("v1.35.5+k3s1");
    for (const l of lists) {
      expect(l.source, l.version).not.toBe("");
      expect(l.images.map((i) => i.replace(/^docker\.io\/rancher\/(.*):.*$/, "$1")).sort(), l.version).toEqual([
        "klipper-helm",
        "klipper-lb",
        "local-path-provisioner",
        "mirrored-coredns-coredns",
        "mirrored-library-busybox",
        "mirrored-library-traefik",
        "mirrored-metrics-server",
        "mirrored-pause",
      ]);
    }
  });

  it("the default cluster: the k3s and load balancer images in the engine, the release's add-ons in the nodes", async () => {
    const r = await images({});
    expect(r.k3s).toMatchObject({ version: "v1.35.5+k3s1", from: "image tag", list: { version: "v1.35.5+k3s1" } });
    expect(r.images.filter((i) => i.place === "engine").map((i) => i.image)).toEqual([
      "docker.io/rancher/k3s:v1.35.5-k3s1",
      DEFAULT_LOADBALANCER_IMAGE,
    ]);
    const listed = (await k3sImageLists()).find((l) => l.version === "v1.35.5+k3s1")?.images;
    expect(r.images.filter((i) => i.place === "nodes").map((i) => i.image)).toEqual(listed);
    expect([r.omitted, r.warnings]).toEqual([[], []]);
  });

  it("leaves out what the servers disable, and the Helm job image when nothing is installed by chart", async () => {
    const r = await images({ k3sArgs: ["--disable=traefik,metrics-server", "--disable=servicelb"] });
    expect(nodeRepos(r)).toEqual([
      "local-path-provisioner",
      "mirrored-coredns-coredns",
      "mirrored-library-busybox",
      "mirrored-pause",
    ]);
    expect(r.omitted.map((o) => o.why).sort()).toEqual([
      "--disable metrics-server",
      "--disable servicelb",
      "--disable traefik",
      "no chart to install (--disable traefik and no charts)",
    ]);
    // Arguments meant for agents only do not disable server add-ons.
    expect(nodeRepos(await images({ agents: 1, k3sArgs: ["--disable=coredns@agent:*"] }))).toContain("mirrored-coredns-coredns");
  });

  it("keeps the Helm job image for the user's charts, unless the Helm controller is off", async () => {
    const tgz = join(dir, "c.tgz");
    writeFileSync(tgz, gzipSync("x"));
    const charts = [{ name: "c", chart: tgz }];
    expect(nodeRepos(await images({ k3sArgs: ["--disable=traefik"], charts }))).toContain("klipper-helm");
    const off = await images({ k3sArgs: ["--disable-helm-controller"], charts });
    expect(nodeRepos(off)).not.toContain("klipper-helm");
    expect(off.omitted).toContainEqual({ image: expect.stringContaining("klipper-helm"), why: "--disable-helm-controller" });
  });

  it("adds the registry it creates and the user's images, once each", async () => {
    const r = await images({ registryCreate: "reg" }, ["myapp:1", "docker.io/library/myapp:1", "ghcr.io/x/y:2"]);
    expect(r.images.find((i) => i.for === "registry reg")?.image).toBe("docker.io/library/registry:2");
    expect(r.images.filter((i) => i.for === "extra").map((i) => i.image)).toEqual(["docker.io/library/myapp:1", "ghcr.io/x/y:2"]);
  });

  it("says why the add-ons are missing for an image without a readable version, or a release with no list", async () => {
    const unknown = await images({ image: "my/node:dev" });
    expect(nodeRepos(unknown)).toEqual([]);
    expect(unknown.warnings[0]).toContain('the k3s version of image "my/node:dev" cannot be read');
    const plugged = await images({ image: "my/node:dev" }, undefined, [{ name: "test", read: async () => "v1.36.2+k3s1" }]);
    expect(plugged.k3s).toMatchObject({ version: "v1.36.2+k3s1", from: "test" });
    expect(nodeRepos(plugged)).toHaveLength(8);
    const old = await images({ image: "rancher/k3s:v1.20.0-k3s1" });
    expect(old.warnings[0]).toContain("k3box has no list of the add-on images of k3s v1.20.0+k3s1");
    expect(old.warnings[0]).toContain("scripts/k3s-images.mjs v1.20.0+k3s1");
  });
});

function contents(parts: readonly BundlePart[], manifests: string[] = []): BundleContents {
  return {
    apiVersion: BUNDLE_API_VERSION,
    kind: BUNDLE_KIND,
    created: "2026-12-01T00:00:00.000Z",
    k3box: "0.0.0-test",
    k3s: { version: "v1.35.5+k3s1" },
    images: { engine: [], nodes: [{ image: "docker.io/library/app:1", for: "extra" }] },
    charts: [],
    manifests: manifests.map((entry) => ({ entry, from: "test" })),
    entries: parts.map((p) => ({ path: p.path, size: p.size, sha256: p.sha256 })),
  };
}

function part(path: string, content: Buffer): BundlePart {
  return {
    path,
    size: content.length,
    sha256: createHash("sha256").update(content).digest("hex"),
    open: () => Readable.from([content]),
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("bundle files", () => {
  const manifest = Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n");
  // Big enough to span many tar blocks and zstd chunks; varied so that it does not compress to nothing.
  const images = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 7919) % 251));

  it.each(["bundle.tar", "bundle.tar.zst"])(
    "%s: writes the table first, reads it and every entry back, checks the sums",
    async (name) => {
      const file = join(dir, name);
      const parts = [part("manifests/k3box-x-m.yaml", manifest), part(NODE_IMAGES_ENTRY, images)];
      await writeBundle(file, contents(parts, ["manifests/k3box-x-m.yaml"]), parts);
      expect(readdirSync(dir).filter((f) => f.endsWith(".partial"))).toEqual([]);
      const bundle = await readBundle(file);
      expect(bundle.contents.k3s.version).toBe("v1.35.5+k3s1");
      expect(bundle.manifests).toEqual([{ entry: "manifests/k3box-x-m.yaml", content: manifest }]);
      const checked: string[] = [];
      await verifyBundle(bundle, (e) => checked.push(e.path));
      expect(checked).toEqual(["manifests/k3box-x-m.yaml", NODE_IMAGES_ENTRY]);
      const entry = bundle.contents.entries.find((e) => e.path === NODE_IMAGES_ENTRY);
      expect(entry).toBeDefined();
      expect((await readAll(openBundleEntry(file, entry!))).equals(images)).toBe(true);
    },
  );

  it("refuses a damaged bundle: a flipped byte, a table that lies, a file that is no bundle", async () => {
    const file = join(dir, "damaged.tar");
    const parts = [part(NODE_IMAGES_ENTRY, images)];
    await writeBundle(file, contents(parts), parts);
    const bytes = readFileSync(file);
    bytes[bytes.length - 4096] = (bytes[bytes.length - 4096] as number) ^ 0xff;
    writeFileSync(file, bytes);
    const bundle = await readBundle(file);
    await expect(verifyBundle(bundle)).rejects.toThrow(
      /is damaged: images\/nodes\.tar has sha256 [0-9a-f]{64} \(3145728 bytes\)/,
    );
    const entry = bundle.contents.entries[0]!;
    await expect(readAll(openBundleEntry(file, entry))).rejects.toThrow(/is damaged: images\/nodes\.tar has sha256/);

    const missing = join(dir, "missing.tar");
    await writeBundle(missing, contents([...parts, part("images/engine.tar", Buffer.from("x"))]), parts);
    await expect(verifyBundle(await readBundle(missing))).rejects.toThrow("is damaged: images/engine.tar is missing");

    const notBundle = join(dir, "other.tar");
    writeFileSync(notBundle, Buffer.alloc(1024));
    await expect(readBundle(notBundle)).rejects.toThrow(/other\.tar/);
    writeFileSync(notBundle, "hello");
    await expect(readBundle(notBundle)).rejects.toThrow("is not a k3box bundle");
  });

  it("takes .tar and .tar.zst names only, and leaves nothing behind when writing fails", async () => {
    expect(bundleCompression("a.tar")).toBe("none");
    expect(bundleCompression("a.tar.zst")).toBe("zstd");
    expect(() => bundleCompression("a.zip")).toThrow('bundle file "a.zip": the name must end in .tar or .tar.zst');
    const failing: BundlePart = {
      path: NODE_IMAGES_ENTRY,
      size: 10,
      sha256: "0".repeat(64),
      open: () =>
        new Readable({
          read() {
            this.destroy(new Error("the engine went away"));
          },
        }),
    };
    const out = join(dir, "failed.tar");
    await expect(writeBundle(out, contents([failing]), [failing])).rejects.toThrow("the engine went away");
    expect(readdirSync(dir).filter((f) => f.startsWith("failed.tar"))).toEqual([]);
  });
});

describe("a cluster created from a bundle", () => {
  const manifest = Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-bundle}\n");
  const nodeImages = Buffer.from("docker save output");
  const file = join(dir, "cluster-bundle.tar");
  const entry = "manifests/k3box-0a1b2c3d-app.yaml";

  it("takes the bundle's manifests for the servers, once when the input has the same, and copies its images into every k3s node", async () => {
    const parts = [part(entry, manifest), part(NODE_IMAGES_ENTRY, nodeImages)];
    await writeBundle(file, contents(parts, [entry]), parts);
    const same = join(dir, "same.yaml");
    writeFileSync(same, manifest);

    const spec = await buildClusterSpec({ name: "demo", agents: 1, bundle: file });
    const fromBundle = spec.files.filter((f) => f.origin === "bundle");
    expect(fromBundle.map((f) => [f.destination, f.content.toString()])).toEqual([
      ["/var/lib/rancher/k3s/server/manifests/k3box-0a1b2c3d-app.yaml", manifest.toString()],
    ]);
    const both = await buildClusterSpec({ name: "demo", bundle: file, manifests: [same] });
    expect(both.files.filter((f) => f.content.toString() === manifest.toString()).map((f) => f.origin)).toEqual(["manifest"]);

    const { plan } = await planClusterCreate({ name: "demo", agents: 1, bundle: file }, { runtime: new MemoryRuntime() });
    const copies = JSON.stringify(describePlan(plan).actions).match(/copy images\/nodes\.tar of [^"]* into [^"]*/g);
    const sha = createHash("sha256").update(nodeImages).digest("hex").slice(0, 12);
    expect(copies).toEqual([
      `copy images/nodes.tar of ${file} into k3box-demo-server-0 as /var/lib/rancher/k3s/agent/images/k3box-bundle-${sha}.tar`,
      `copy images/nodes.tar of ${file} into k3box-demo-agent-0 as /var/lib/rancher/k3s/agent/images/k3box-bundle-${sha}.tar`,
    ]);
  });

  it("reports a missing or foreign bundle as a problem of the input", async () => {
    await expect(buildClusterSpec({ bundle: join(dir, "nothere.tar") })).rejects.toThrow(
      /bundle .*nothere\.tar: cannot read it: no such file/,
    );
    // A docker save archive is a tar, but no bundle: it does not start with the table of contents.
    const notBundle = join(dir, "plain.tar");
    const pack = tar.pack();
    pack.entry({ name: "manifest.json" }, "[]");
    pack.finalize();
    writeFileSync(notBundle, await readAll(Readable.from(pack as AsyncIterable<Buffer>)));
    await expect(buildClusterSpec({ bundle: notBundle })).rejects.toThrow(
      "is not a k3box bundle: it does not start with k3box-bundle.json",
    );
  });
});
