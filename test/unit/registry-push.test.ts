import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient, pushArchive, registryPath } from "../../src/core/images/registry-push.js";
import { withMirror, EMPTY_REGISTRIES } from "../../src/core/registry/config.js";
import { endpointOf } from "../../src/core/registry/addresses.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The distribution API's upload and manifest calls, enough to check what a push sends. */
function fakeRegistry() {
  const blobs = new Map<string, Buffer>(); // "repo@digest"
  const uploads = new Map<string, Buffer[]>();
  const manifests = new Map<string, string>();
  let next = 0;
  const body = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const data = await body(req);
    let m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname);
    if (req.method === "POST" && m) {
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (mount && from && blobs.has(`${from}@${mount}`)) {
        blobs.set(`${m[1]}@${mount}`, blobs.get(`${from}@${mount}`) as Buffer);
        return res.writeHead(201).end();
      }
      const id = String(next++);
      uploads.set(id, []);
      return res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${id}?state=x` }).end();
    }
    m = /^\/v2\/(.+)\/blobs\/uploads\/(\d+)$/.exec(url.pathname);
    if (m && (req.method === "PATCH" || req.method === "PUT")) {
      const parts = uploads.get(m[2] as string) as Buffer[];
      parts.push(data);
      if (req.method === "PATCH") return res.writeHead(202, { location: url.pathname }).end();
      const all = Buffer.concat(parts);
      if (sha(all) !== url.searchParams.get("digest")) return res.writeHead(400).end("digest mismatch");
      blobs.set(`${m[1]}@${sha(all)}`, all);
      return res.writeHead(201).end();
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]+)$/.exec(url.pathname);
    if (m && req.method === "HEAD") return res.writeHead(blobs.has(`${m[1]}@${m[2]}`) ? 200 : 404).end();
    m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (m && req.method === "PUT") {
      const doc = JSON.parse(data.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
      const missing = [doc.config, ...doc.layers].filter((d) => !blobs.has(`${m?.[1]}@${d.digest}`));
      if (missing.length > 0) return res.writeHead(400).end("BLOB_UNKNOWN");
      manifests.set(`${m[1]}:${m[2]}`, data.toString());
      return res.writeHead(201).end();
    }
    if (m && req.method === "GET") {
      const doc = manifests.get(`${m[1]}:${m[2]}`);
      return doc ? res.writeHead(200).end(doc) : res.writeHead(404).end();
    }
    res.writeHead(405).end();
  });
  return { server, blobs, manifests };
}

/** A `docker save` archive in the engine's classic layout: one big layer, one shared by a symlink. */
async function archive(layer: Buffer, config: Buffer, tags: string[]): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: "aaa/layer.tar" }, layer);
  pack.entry({ name: "bbb/layer.tar", type: "symlink", linkname: "../aaa/layer.tar" });
  pack.entry({ name: "cfg.json" }, config);
  const index = [{ Config: "cfg.json", RepoTags: tags, Layers: ["aaa/layer.tar", "bbb/layer.tar"] }];
  pack.entry({ name: "manifest.json" }, JSON.stringify(index));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("pushing a docker save archive to a registry", () => {
  const fake = fakeRegistry();
  let base = "";
  beforeAll(async () => {
    await new Promise<void>((r) => fake.server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => fake.server.close(() => r())));

  it("names the repository and tag without the registry host", () => {
    expect(registryPath("myapp:dev")).toEqual({ repository: "library/myapp", tag: "dev" });
    expect(registryPath("ghcr.io/org/app")).toEqual({ repository: "org/app", tag: "latest" });
    expect(registryPath("localhost:5000/a/b:1")).toEqual({ repository: "a/b", tag: "1" });
  });

  it("uploads layers as they are read, uncompressed, and one OCI manifest per name; a second name mounts the blobs", async () => {
    const layer = Buffer.alloc(3 << 20, 7); // above the in-memory size: streamed
    const config = Buffer.from('{"rootfs":{}}');
    const tar = await archive(layer, config, ["app:1", "ghcr.io/org/app:2"]);
    const seen: number[] = [];
    const client = new RegistryClient(base);
    const pushed = await pushArchive(Readable.from([tar]), client, ["docker.io/library/app:1", "ghcr.io/org/app:2"], (n) =>
      seen.push(n),
    );
    expect(pushed.map((p) => [p.repository, p.tag, p.config])).toEqual([
      ["library/app", "1", sha(config)],
      ["org/app", "2", sha(config)],
    ]);
    const manifest = JSON.parse(fake.manifests.get("org/app:2") as string) as {
      mediaType: string;
      layers: Array<{ digest: string; size: number; mediaType: string }>;
    };
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.layers).toEqual([
      { digest: sha(layer), size: layer.length, mediaType: "application/vnd.oci.image.layer.v1.tar" },
      { digest: sha(layer), size: layer.length, mediaType: "application/vnd.oci.image.layer.v1.tar" },
    ]);
    expect(fake.blobs.get(`org/app@${sha(layer)}`)?.equals(layer)).toBe(true);
    expect(seen.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(layer.length);
    expect(await client.configOf("library/app", "1")).toBe(sha(config));
    expect(await client.configOf("library/app", "nope")).toBeUndefined();
  });

  it("fails naming a ref the archive does not hold", async () => {
    const tar = await archive(Buffer.alloc(10), Buffer.from("{}"), ["other:1"]);
    await expect(pushArchive(Readable.from([tar]), new RegistryClient(base), ["docker.io/library/app:9"])).rejects.toThrow(
      "docker.io/library/app:9 is not in the saved archive",
    );
  });
});

describe("mirror entries for an image's own registry", () => {
  const reg = endpointOf("dev", "127.0.0.1", 5050);
  it("adds the registry to the host's mirror once, after what is there", () => {
    const one = withMirror(EMPTY_REGISTRIES, "docker.io", reg);
    expect(one.mirrors["docker.io"]?.endpoint).toEqual(["http://k3box-dev:5000"]);
    expect(withMirror(one, "docker.io", reg)).toBe(one);
    const user = { mirrors: { "docker.io": { endpoint: ["https://cache.example"] } }, configs: {} };
    expect(withMirror(user, "docker.io", reg).mirrors["docker.io"]?.endpoint).toEqual([
      "https://cache.example",
      "http://k3box-dev:5000",
    ]);
  });
});
