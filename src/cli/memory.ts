/**
 * Image streams pass through the CLI as 64 kB buffers. V8 frees them only when it collects
 * garbage, which for memory outside its heap waits until tens of MB have piled up. A
 * young-generation collection after every MB streamed keeps the CLI's resident memory
 * flat whatever the image size. This is the CLI's policy: the library leaves it to its host.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { EventSink } from "../index.js";

const EVERY_BYTES = 1024 * 1024;
type Collect = (options: { type: "minor" | "major" }) => void;
let collect: Collect | undefined;
let sinceLast = 0;

/** `bytes`: how many more bytes went through since the previous call. */
export function collectStreamGarbage(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < EVERY_BYTES) return;
  sinceLast = 0;
  if (collect === undefined) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as Collect;
  }
  collect({ type: "minor" });
}

/**
 * Whether the command line may have the CLI decompress an archive: a word (or an option's
 * `=value`) that is `-` (stdin) or an existing file, such as an image archive, a bundle or a
 * config file naming one. A zstd archive is decompressed in pure JS, 8× slower without V8's
 * optimising compiler; nothing else the CLI does computes much.
 */
export function mayDecompress(argv: readonly string[], isFile: (path: string) => boolean): boolean {
  return argv.some((word) => {
    const value = word.startsWith("-") && word.includes("=") ? word.slice(word.indexOf("=") + 1) : word;
    return value === "-" || isFile(value);
  });
}

/**
 * Where the CLI only moves bytes and waits, it runs lean, for the whole process (set before the
 * command line is parsed):
 * - V8's optimising compiler buys no speed, and the code it makes and the memory it compiles in
 *   are 5–9 MB of the CLI's peak (bench/README.md). The baseline compiler stays.
 * - The young generation keeps its starting size. V8 doubles it when much survives a collection,
 *   which the buffers in flight at each forced collection look like, and a larger one only holds
 *   more of them: 0.5–2 MB of the peak, for the same collections. The size itself is fixed when the
 *   heap is made; only its growth can still be turned off at run time.
 */
export function runLean(): void {
  setFlagsFromString("--max-opt=1");
  setFlagsFromString("--semi-space-growth-factor=1");
}

/**
 * Passes events on, freeing the stream's buffers as they pass through the CLI. Every node of one
 * source gets the same bytes (one read, fanned out or written once), so the furthest node's count
 * is what the CLI read: counting each node's would collect N times as often, and a collection that
 * often finds the buffers in flight still alive and moves them to the old generation, which only a
 * full collection frees (bench/README.md).
 */
export function collectingGarbage(render: EventSink, free: (bytes: number) => void = collectStreamGarbage): EventSink {
  let read = 0;
  return (e) => {
    if (e.type === "import-start") read = 0;
    else if (e.type === "import-progress" && e.bytes > read) {
      free(e.bytes - read);
      read = e.bytes;
    }
    render(e);
  };
}
