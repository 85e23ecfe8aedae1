/**
 * Writing a bundle file: the table of contents first, then each entry streamed from its source,
 * optionally through zstd. It is written beside its final name and renamed at the end, so a
 * failed or cancelled write leaves no bundle behind, not even a partial one.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { UsageError } from "../../base/errors.js";
import { CONTENTS_ENTRY, type BundleContents } from "./format.js";
import { zstdCompressor } from "./zstd.js";

/** An entry to write: its table-of-contents line and where its bytes come from. */
export interface BundlePart {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly open: () => Readable;
}

export type BundleCompression = "none" | "zstd";

/** The compression a bundle file name asks for: `.tar`, or `.tar.zst` / `.tzst`. */
export function bundleCompression(output: string): BundleCompression {
  if (/\.tar$/.test(output)) return "none";
  if (/\.(tar\.zst|tzst)$/.test(output)) return "zstd";
  throw new UsageError(`bundle file "${output}": the name must end in .tar or .tar.zst`);
}

export async function writeBundle(
  output: string,
  contents: BundleContents,
  parts: readonly BundlePart[],
  signal?: AbortSignal,
): Promise<void> {
  const compression = bundleCompression(output);
  const partial = `${output}.${randomBytes(4).toString("hex")}.partial`;
  const pack = tar.pack();
  const feed = (async () => {
    const table = Buffer.from(JSON.stringify(contents, null, 2) + "\n");
    pack.entry({ name: CONTENTS_ENTRY, size: table.length, mode: 0o644 }, table);
    for (const part of parts) {
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: part.path, size: part.size, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
        pipeline(part.open(), entry).catch(reject);
      });
    }
    pack.finalize();
  })();
  feed.catch((err: unknown) => pack.destroy(err as Error));
  const stages = [Readable.from(pack as AsyncIterable<Buffer>), ...(compression === "zstd" ? [await zstdCompressor()] : [])];
  try {
    await pipeline([...stages, createWriteStream(partial, { mode: 0o644 })], { ...(signal ? { signal } : {}) });
    await feed;
    await rename(partial, output);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
