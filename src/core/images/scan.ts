/**
 * What an archive read as a stream holds (stdin, a compressed file), told from the archive
 * itself as it passes: its index files come last, so this is known once the stream has ended.
 * A node's `ctr images import` cannot tell it: its report changed with containerd 2.
 */
import { pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import { extract } from "tar-stream";
import { type ArchivedImage, imagesOfIndex, indexFileName, MAX_INDEX_BYTES } from "./contents.js";

export interface ScannedArchive {
  /** The same bytes, in the same order. */
  readonly tar: Readable;
  /** The named images, once the stream has ended; undefined when its index files do not tell. */
  readonly images: Promise<ArchivedImage[] | undefined>;
}

/**
 * Passes `tar` on unchanged while a tar reader walks its headers beside it, keeping only the
 * top-level index files. The reader never holds the stream back for long: it drops every
 * other file's bytes as they come. A stream that is not a tar, or ends early, tells nothing:
 * the import itself says what is wrong with it.
 */
export function scanArchive(tar: Readable): ScannedArchive {
  const reader = extract();
  const found = new Map<string, unknown>();
  // Set once the reader fails or stops: from then on the bytes pass without it.
  let broken = false;
  let waiting: (() => void) | undefined;
  const release = () => {
    const go = waiting;
    waiting = undefined;
    go?.();
  };
  const stop = () => {
    broken = true;
    reader.destroy();
    release();
  };
  const reading = (async () => {
    for await (const entry of reader) {
      const { name, type, size = 0 } = entry.header;
      const index = type === "file" && size <= MAX_INDEX_BYTES ? indexFileName(name) : undefined;
      if (index === undefined) {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      found.set(index, JSON.parse(Buffer.concat(chunks).toString("utf8")));
    }
    return imagesOfIndex(found.get("index.json"), found.get("manifest.json"));
  })().catch(() => {
    stop();
    return undefined;
  });
  reader.on("drain", release);
  const pass = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (broken || reader.write(chunk)) return done(null, chunk);
      waiting = () => done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (!broken) reader.end(null);
      done();
    },
  });
  // Closing the scanned stream early (a failed node, a cancel) closes the source as well.
  pipeline(tar, pass, (err) => {
    if (err) stop();
  });
  return { tar: pass, images: reading };
}
