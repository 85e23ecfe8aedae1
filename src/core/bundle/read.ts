/**
 * Reading a bundle from its file: the contents and the small entries at once, every entry's
 * sum on request, and one entry as a stream (for images too big to hold). A `.tar.zst` is
 * decompressed on the fly; nothing is extracted to disk.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform, Writable, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { UsageError } from "../../base/errors.js";
import { describeFsError } from "../cluster-spec/files.js";
import { decompressor, detectCompression, peek } from "../images/archive.js";
import { CONTENTS_ENTRY, MANIFESTS_PREFIX, parseBundleContents, type BundleContents, type BundleEntry } from "./format.js";

/** The bundle file as a plain tar stream. */
async function openTar(path: string): Promise<Readable> {
  const file = createReadStream(path);
  let head: Buffer;
  let stream: Readable;
  try {
    ({ head, stream } = await peek(file, 512));
  } catch (err) {
    file.destroy();
    throw new UsageError(`bundle ${path}: cannot read it: ${describeFsError(err)}`, { cause: err });
  }
  const compression = detectCompression(head);
  if (compression === "none") return stream;
  if (compression === "zstd" || compression === "gzip") {
    const inflate = decompressor(compression);
    stream.once("error", (err) => inflate.destroy(err));
    return stream.pipe(inflate);
  }
  stream.destroy();
  throw new UsageError(`bundle ${path} is not a k3box bundle: expected a tar, plain or zstd-compressed`);
}

interface Entry {
  readonly name: string;
  readonly size: number;
  readonly body: Readable;
}

/**
 * Walks the bundle's entries in order; `visit` consumes (or leaves) each body and returns false
 * to stop. A damaged tar or compressed stream is a damaged bundle.
 */
async function walk(path: string, visit: (entry: Entry) => Promise<boolean>, signal?: AbortSignal): Promise<void> {
  const input = await openTar(path);
  const extract = tar.extract();
  input.once("error", (err) => extract.destroy(err));
  input.pipe(extract);
  const abort = () => extract.destroy(signal?.reason as Error);
  signal?.addEventListener("abort", abort, { once: true });
  // What the visitor throws is its own story; only the file's own failures mean a damaged bundle.
  let visiting = false;
  try {
    for await (const e of extract) {
      visiting = true;
      const go = await visit({ name: e.header.name, size: e.header.size ?? 0, body: e as unknown as Readable });
      visiting = false;
      e.resume();
      if (!go) break;
    }
  } catch (err) {
    if (visiting || signal?.aborted || err instanceof UsageError) throw err;
    throw new UsageError(`bundle ${path} is damaged: ${(err as Error).message}`, { cause: err });
  } finally {
    signal?.removeEventListener("abort", abort);
    extract.destroy();
    input.destroy();
  }
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Passes bytes through, counting and hashing them; `check` may fail the stream at its end. */
export class Sha256Tap extends Transform {
  private readonly hash = createHash("sha256");
  size = 0;

  constructor(private readonly check?: (sum: { size: number; sha256: string }) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.check?.(this.sum());
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** Once everything went through. */
  sum(): { size: number; sha256: string } {
    return { size: this.size, sha256: this.hash.copy().digest("hex") };
  }
}

/** Hashes a body to its end, counting its bytes. */
async function digest(body: Readable): Promise<{ size: number; sha256: string }> {
  const tap = new Sha256Tap();
  await pipeline(body, tap, new Writable({ write: (_chunk, _enc, done) => done() }));
  return tap.sum();
}

function checkEntry(path: string, expected: BundleEntry | undefined, name: string, got: { size: number; sha256: string }): void {
  if (expected === undefined) throw new UsageError(`bundle ${path}: entry "${name}" is not in its table of contents`);
  if (got.size !== expected.size || got.sha256 !== expected.sha256) {
    throw new UsageError(
      `bundle ${path} is damaged: ${name} has sha256 ${got.sha256} (${got.size} bytes), its table of contents says ${expected.sha256} (${expected.size} bytes)`,
    );
  }
}

export interface OpenedBundle {
  readonly path: string;
  readonly contents: BundleContents;
  /** The manifests, checked against their sums: file name in the auto-deploy directory and content. */
  readonly manifests: readonly { readonly entry: string; readonly content: Buffer }[];
}

/** The table of contents and the manifests; the images are not read. */
export async function readBundle(path: string, signal?: AbortSignal): Promise<OpenedBundle> {
  let contents: BundleContents | undefined;
  const manifests: { entry: string; content: Buffer }[] = [];
  await walk(
    path,
    async (e) => {
      if (contents === undefined) {
        if (e.name !== CONTENTS_ENTRY)
          throw new UsageError(`bundle ${path} is not a k3box bundle: it does not start with ${CONTENTS_ENTRY}`);
        contents = parseBundleContents((await readAll(e.body)).toString("utf8"), `bundle ${path}`);
        return true;
      }
      if (!e.name.startsWith(MANIFESTS_PREFIX)) return false;
      const content = await readAll(e.body);
      checkEntry(path, byPath(contents).get(e.name), e.name, {
        size: content.length,
        sha256: createHash("sha256").update(content).digest("hex"),
      });
      manifests.push({ entry: e.name, content });
      return true;
    },
    signal,
  );
  if (contents === undefined) throw new UsageError(`bundle ${path} is not a k3box bundle: it is empty`);
  const found = new Set(manifests.map((m) => m.entry));
  const missing = contents.manifests.find((m) => !found.has(m.entry));
  if (missing) throw new UsageError(`bundle ${path} is damaged: manifest ${missing.entry} is missing`);
  return { path, contents, manifests };
}

function byPath(contents: BundleContents): Map<string, BundleEntry> {
  return new Map(contents.entries.map((e) => [e.path, e]));
}

/**
 * Reads the whole bundle and checks every entry against its size and sum, and that none is
 * missing or extra. `onEntry` hears each entry as it is checked.
 */
export async function verifyBundle(
  bundle: OpenedBundle,
  onEntry: (entry: BundleEntry) => void = () => {},
  signal?: AbortSignal,
): Promise<void> {
  const expected = byPath(bundle.contents);
  const seen = new Set<string>();
  let first = true;
  await walk(
    bundle.path,
    async (e) => {
      if (first) {
        first = false;
        return true; // the contents themselves: parsed already
      }
      const entry = expected.get(e.name);
      checkEntry(bundle.path, entry, e.name, await digest(e.body));
      seen.add(e.name);
      onEntry(entry as BundleEntry);
      return true;
    },
    signal,
  );
  const missing = bundle.contents.entries.find((e) => !seen.has(e.path));
  if (missing) throw new UsageError(`bundle ${bundle.path} is damaged: ${missing.path} is missing`);
}

/**
 * One entry's bytes as a stream, read from the bundle file (the entries before it are skipped).
 * The stream fails if the bytes do not match the entry's sum, so nothing damaged passes silently.
 */
export function openBundleEntry(path: string, entry: BundleEntry, signal?: AbortSignal): Readable {
  // The check runs before the stream ends, so a reader never sees a clean end of damaged bytes.
  const out = new Sha256Tap((sum) => checkEntry(path, entry, entry.path, sum));
  let found = false;
  walk(
    path,
    async (e) => {
      if (e.name !== entry.path) return true;
      found = true;
      await pipeline(e.body, out);
      return false;
    },
    signal,
  )
    .then(() => {
      if (!found) throw new UsageError(`bundle ${path} is damaged: ${entry.path} is missing`);
    })
    .catch((err: unknown) => out.destroy(err as Error));
  return out;
}
