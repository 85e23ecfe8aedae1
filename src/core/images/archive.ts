/** Image archives as files or streams: plain tar, or tar compressed with gzip or zstd. */
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { UsageError } from "../../base/errors.js";

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

/**
 * Reads up to `n` bytes from the start of `input`; returns them and a stream that still
 * starts at the first byte (the head, then the rest of `input` at its own pace).
 */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n && !ended) {
    const chunk = input.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    ended = await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        input.off("readable", onReadable).off("end", onEnd).off("error", onError).off("close", onEnd);
      };
      const onReadable = () => (cleanup(), resolve(false));
      const onEnd = () => (cleanup(), resolve(true));
      const onError = (err: Error) => (cleanup(), reject(err));
      if (input.readableEnded || input.destroyed) return resolve(true);
      input.on("readable", onReadable).on("end", onEnd).on("error", onError).on("close", onEnd);
    });
  }
  const head = Buffer.concat(chunks);
  const stream = new PassThrough();
  if (ended) {
    stream.end(head);
  } else {
    stream.write(head);
    input.once("error", (err) => stream.destroy(err));
    input.pipe(stream);
  }
  return { head, stream };
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

/** A stream that decompresses what is written to it. */
export function decompressor(compression: "gzip" | "zstd"): Transform {
  return compression === "gzip" ? createGunzip() : new ZstdDecompress();
}

/**
 * The archive as a plain tar stream. Fails, before anything is sent anywhere, when the input
 * is neither a tar nor a tar compressed in a format k3box reads. Damage found later in the
 * compressed data fails the returned stream with a UsageError. Closing the returned stream,
 * read or not, closes the input.
 */
export async function openArchive(input: Readable, label: string): Promise<{ tar: Readable; compression: Compression }> {
  const { head, stream } = await peek(input, 512);
  const compression = detectCompression(head);
  if (compression === undefined) {
    input.destroy();
    throw new UsageError(`${label} is not an image archive: expected a tar (docker save), plain or compressed with gzip or zstd`);
  }
  if (compression === "none") return { tar: closingInput(stream, input), compression };
  if (compression !== "gzip" && compression !== "zstd") {
    input.destroy();
    throw new UsageError(`${label} is compressed with ${compression}, which k3box does not read: use a plain, gzip or zstd tar`);
  }
  const inflate = decompressor(compression);
  // Damage can show anywhere in the data: at the start, or mid-way while nodes read it. A failed
  // read of the input is passed on as it is.
  const inflated = new PassThrough();
  stream.once("error", (err) => {
    inflated.destroy(err);
    inflate.destroy();
  });
  inflate.once("error", (err) =>
    inflated.destroy(new UsageError(`${label}: its ${compression} data is damaged (${err.message})`)),
  );
  const inner = await peek(stream.pipe(inflate).pipe(inflated), 512).catch((err: Error) => {
    input.destroy();
    throw err;
  });
  if (!isTar(inner.head)) {
    inner.stream.destroy();
    input.destroy();
    throw new UsageError(`${label} holds ${compression} data that is not a tar: expected a compressed docker save archive`);
  }
  return { tar: closingInput(inner.stream, input), compression };
}

/** An archive left unread (a failed node, Ctrl-C) or found damaged must not keep its file open. */
function closingInput(tar: Readable, input: Readable): Readable {
  tar.once("close", () => input.destroy());
  return tar;
}
