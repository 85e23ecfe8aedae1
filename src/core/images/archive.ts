/** Image archives as files or streams: plain tar, or tar compressed with gzip or zstd. */
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { UsageError } from "../errors.js";

export type Compression = "none" | "gzip" | "zstd" | "bzip2" | "xz" | "lz4";

const MAGIC: ReadonlyArray<readonly [Compression, readonly number[]]> = [
  ["gzip", [0x1f, 0x8b]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["lz4", [0x04, 0x22, 0x4d, 0x18]],
];

/** A tar block has "ustar" at offset 257 (POSIX and GNU formats alike). */
export function isTar(head: Buffer): boolean {
  return head.length >= 262 && head.toString("latin1", 257, 262) === "ustar";
}

/** The compression the first bytes announce; "none" for a plain tar; undefined for anything else. */
export function detectCompression(head: Buffer): Compression | undefined {
  for (const [name, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  }
  return isTar(head) ? "none" : undefined;
}

/** Reads up to `n` bytes and puts them back, so the stream still starts at its first byte. */
export async function peek(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    const more = await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        stream.off("readable", onReadable).off("end", onEnd).off("error", onError).off("close", onEnd);
      };
      const onReadable = () => (cleanup(), resolve(true));
      const onEnd = () => (cleanup(), resolve(false));
      const onError = (err: Error) => (cleanup(), reject(err));
      stream.on("readable", onReadable).on("end", onEnd).on("error", onError).on("close", onEnd);
    });
    if (!more) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) stream.unshift(head);
  return head;
}

class ZstdDecompress extends Transform {
  private readonly z = new Decompress((chunk) => {
    this.push(Buffer.from(chunk));
  });

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.z.push(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.z.push(new Uint8Array(0), true);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/**
 * The archive as a plain tar stream. Fails, before anything is sent anywhere, when the input
 * is neither a tar nor a tar compressed in a format k3box reads.
 */
export async function openArchive(input: Readable, label: string): Promise<{ tar: Readable; compression: Compression }> {
  const compression = detectCompression(await peek(input, 512));
  if (compression === undefined) {
    throw new UsageError(`${label} is not an image archive: expected a tar (docker save), plain or compressed with gzip or zstd`);
  }
  if (compression === "none") return { tar: input, compression };
  if (compression !== "gzip" && compression !== "zstd") {
    throw new UsageError(`${label} is compressed with ${compression}, which k3box does not read: use a plain, gzip or zstd tar`);
  }
  const decompressor = compression === "gzip" ? createGunzip() : new ZstdDecompress();
  input.once("error", (err) => decompressor.destroy(err));
  const tar = input.pipe(decompressor);
  const head = await peek(tar, 512);
  if (!isTar(head)) {
    tar.destroy();
    throw new UsageError(`${label} holds ${compression} data that is not a tar: expected a compressed docker save archive`);
  }
  return { tar, compression };
}
