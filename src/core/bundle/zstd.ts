/**
 * zstd compression as a stream, for `.tar.zst` bundles. Node 20 has no zstd in zlib, so the
 * reference library runs as WebAssembly (no native build, nothing downloaded at install).
 */
import { Transform, type TransformCallback } from "node:stream";
import { Zstd } from "@hpcc-js/wasm-zstd";

const LEVEL = 3;
/** Bytes handed to the compressor at a time: big enough to amortise a call, small enough to keep memory flat. */
const CHUNK = 1 << 20;

// The library keeps one streaming context per process: one compression at a time, the others wait.
let queue: Promise<void> = Promise.resolve();

/** A Transform that compresses what is written to it into one zstd frame. */
export async function zstdCompressor(): Promise<Transform> {
  let release = () => {};
  const turn = queue;
  queue = new Promise<void>((resolve) => (release = resolve));
  await turn;
  const zstd = await Zstd.load().catch((err: unknown) => {
    release();
    throw err;
  });
  zstd.reset();
  zstd.setCompressionLevel(LEVEL);
  const transform = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        for (let at = 0; at < chunk.length; at += CHUNK)
          this.push(Buffer.from(zstd.compressChunk(chunk.subarray(at, at + CHUNK))));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        this.push(Buffer.from(zstd.compressEnd()));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  transform.once("close", release);
  return transform;
}
