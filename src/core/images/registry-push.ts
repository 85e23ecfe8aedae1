/**
 * Pushing the images of a `docker save` stream into a registry over the distribution API: each
 * layer is uploaded while it is read (its digest computed on the way, as the API allows), as the
 * engine keeps it (no compression: on the host's loopback, compressing costs more than it saves),
 * then one OCI manifest per name. Only small files (configs, the archive's index) are held in
 * memory; the stream is read once.
 */
import { createHash } from "node:crypto";
import { request } from "node:http";
import { posix } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { extract } from "tar-stream";
import { K3boxError } from "../../base/errors.js";
import { parseImageReference } from "./reference.js";

/** Files up to this size are kept in memory: configs and indexes, and layers that small. */
const SMALL_FILE = 1 << 20;

export interface BlobRef {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/** What one name was pushed as. */
export interface PushedImage {
  /** As containerd names it: `docker.io/library/app:dev`. */
  readonly ref: string;
  /** The repository and tag in the registry (the ref without its registry host). */
  readonly repository: string;
  readonly tag: string;
  /** The config digest: the engine's image ID for its classic store. */
  readonly config: string;
  readonly bytes: number;
}

interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** The repository and tag a ref has in any registry that stands in for its own. */
export function registryPath(ref: string): { repository: string; tag: string } {
  const canonical = parseImageReference(ref).canonical;
  const rest = canonical.slice(canonical.indexOf("/") + 1);
  const colon = rest.lastIndexOf(":");
  return { repository: rest.slice(0, colon), tag: rest.slice(colon + 1) };
}

/** A registry reached over plain HTTP from the host, e.g. `http://127.0.0.1:5050`. */
export class RegistryClient {
  constructor(
    private readonly base: string,
    private readonly signal?: AbortSignal,
  ) {}

  private send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | Readable): Promise<Response> {
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, ...(this.signal ? { signal: this.signal } : {}) }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (text.length < 4096) text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on("error", reject);
      });
      req.on("error", (err) => reject(new K3boxError(`registry ${this.base}: ${err.message}`)));
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else pipeline(body, req).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
    });
  }

  private check(r: Response, expected: number, what: string): Response {
    if (r.status !== expected) {
      throw new K3boxError(`registry ${this.base}: ${what}: HTTP ${r.status}${r.body ? ` ${r.body.trim().slice(0, 200)}` : ""}`);
    }
    return r;
  }

  private location(r: Response): string {
    const l = r.headers.location;
    if (typeof l !== "string") throw new K3boxError(`registry ${this.base}: an upload answered without a Location`);
    return l;
  }

  /** The manifest's config digest under repository:tag, if the registry has one. */
  async configOf(repository: string, tag: string): Promise<string | undefined> {
    const r = await this.send("GET", `/v2/${repository}/manifests/${tag}`, {
      accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    });
    if (r.status === 404) return undefined;
    this.check(r, 200, `reading ${repository}:${tag}`);
    try {
      return (JSON.parse(r.body) as { config?: { digest?: string } }).config?.digest;
    } catch {
      return undefined;
    }
  }

  /** Uploads a stream whose digest is known only at its end: start, send, close with the digest. */
  async uploadStream(
    repository: string,
    data: Readable,
    onBytes: (n: number) => void,
  ): Promise<{ digest: string; size: number; head: Buffer }> {
    const started = this.check(await this.send("POST", `/v2/${repository}/blobs/uploads/`), 202, "starting an upload");
    const meter = new Digest(onBytes);
    const sent = this.check(
      await this.send(
        "PATCH",
        this.location(started),
        { "content-type": "application/octet-stream", "transfer-encoding": "chunked" },
        data.pipe(meter),
      ),
      202,
      "uploading",
    );
    const digest = meter.digest();
    const url = new URL(this.location(sent), this.base);
    url.searchParams.set("digest", digest);
    this.check(await this.send("PUT", url.pathname + url.search, { "content-length": "0" }), 201, "closing an upload");
    return { digest, size: meter.size, head: meter.head };
  }

  /** Uploads bytes held in memory, unless the registry has them already. */
  async uploadBuffer(repository: string, data: Buffer): Promise<string> {
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    const head = await this.send("HEAD", `/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) return digest;
    const started = this.check(await this.send("POST", `/v2/${repository}/blobs/uploads/`), 202, "starting an upload");
    const url = new URL(this.location(started), this.base);
    url.searchParams.set("digest", digest);
    const headers = { "content-type": "application/octet-stream", "content-length": String(data.length) };
    this.check(await this.send("PUT", url.pathname + url.search, headers, data), 201, "uploading");
    return digest;
  }

  /** Makes a blob of one repository part of another without sending it again. */
  async mount(repository: string, from: string, digest: string): Promise<void> {
    const path = `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    this.check(await this.send("POST", path, { "content-length": "0" }), 201, `mounting ${digest} from ${from}`);
  }

  async putManifest(repository: string, tag: string, manifest: object): Promise<void> {
    const body = Buffer.from(JSON.stringify(manifest));
    const headers = { "content-type": OCI_MANIFEST, "content-length": String(body.length) };
    this.check(await this.send("PUT", `/v2/${repository}/manifests/${tag}`, headers, body), 201, `tagging ${repository}:${tag}`);
  }
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** sha256 and size of what passes through, and its first bytes (to tell a compressed layer). */
class Digest extends Transform {
  private readonly hash = createHash("sha256");
  size = 0;
  head = Buffer.alloc(0);

  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    if (this.head.length < 8) this.head = Buffer.concat([this.head, chunk.subarray(0, 8 - this.head.length)]);
    this.size += chunk.length;
    this.onBytes(chunk.length);
    done(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}

/** A layer's media type from its first bytes: the engine's own layers are plain tar. */
function layerType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (head.readUInt32BE(0) === 0x28b52ffd) return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

interface ArchiveManifest {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

/**
 * Reads a `docker save` stream (the engine's classic layout or its OCI layout) and pushes the
 * images named `refs` (canonical) into `client`'s registry under their own repository and tag.
 * Large files are uploaded into the first ref's repository as they come: the archive's index is
 * its last file, so which image a layer belongs to is known only at the end. The other
 * repositories then get those blobs by a cross-repository mount, without sending them again.
 */
export async function pushArchive(
  tar: Readable,
  client: RegistryClient,
  refs: readonly string[],
  onBytes: (bytes: number) => void = () => {},
): Promise<PushedImage[]> {
  const first = refs[0];
  if (first === undefined) return [];
  const home = registryPath(first).repository;
  const uploaded = new Map<string, BlobRef>();
  const small = new Map<string, Buffer>();
  const links = new Map<string, string>();
  const ex = extract();
  const reading = (async () => {
    for await (const entry of ex) {
      const { name, type, size = 0, linkname } = entry.header;
      const path = posix.normalize(name);
      if ((type === "symlink" || type === "link") && linkname) {
        links.set(path, type === "symlink" ? posix.join(posix.dirname(path), linkname) : posix.normalize(linkname));
        entry.resume();
      } else if (type !== "file") {
        entry.resume();
      } else if (size <= SMALL_FILE) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        small.set(path, Buffer.concat(chunks));
        onBytes(size);
      } else {
        const blob = await client.uploadStream(home, Readable.from(entry), onBytes);
        uploaded.set(path, { digest: blob.digest, size: blob.size, mediaType: layerType(blob.head) });
      }
    }
  })().catch((err: unknown) => {
    tar.destroy();
    throw err;
  });
  await Promise.all([pipeline(tar, ex), reading]);

  const resolve = (path: string): string => {
    let p = posix.normalize(path);
    for (let hops = 0; hops < 8 && links.has(p); hops++) p = links.get(p) as string;
    return p;
  };
  const index = small.get("manifest.json");
  if (index === undefined) throw new K3boxError("the image archive has no manifest.json");
  const entries = JSON.parse(index.toString("utf8")) as ArchiveManifest[];
  const pushed: PushedImage[] = [];
  for (const ref of refs) {
    const entry = entries.find((e) => (e.RepoTags ?? []).some((t) => parseImageReference(t).canonical === ref));
    if (entry === undefined) throw new K3boxError(`${ref} is not in the saved archive`);
    const { repository, tag } = registryPath(ref);
    const blob = async (path: string, mediaType?: string): Promise<BlobRef> => {
      const p = resolve(path);
      const held = small.get(p);
      if (held !== undefined) {
        const digest = await client.uploadBuffer(repository, held);
        return { digest, size: held.length, mediaType: mediaType ?? layerType(held) };
      }
      const big = uploaded.get(p);
      if (big === undefined) throw new K3boxError(`the image archive lacks ${path}`);
      if (repository !== home) await client.mount(repository, home, big.digest);
      return big;
    };
    const config = await blob(entry.Config, "application/vnd.oci.image.config.v1+json");
    const layers: BlobRef[] = [];
    for (const l of entry.Layers) layers.push(await blob(l));
    await client.putManifest(repository, tag, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers,
    });
    pushed.push({ ref, repository, tag, config: config.digest, bytes: layers.reduce((a, l) => a + l.size, config.size) });
  }
  return pushed;
}
