/**
 * Image streams pass through the CLI as 64 kB buffers. V8 frees them only when it collects
 * garbage, which for memory outside its heap waits until tens of MB have piled up. A
 * young-generation collection after every MB streamed keeps the CLI's resident memory
 * flat whatever the image size. This is the CLI's policy: the library leaves it to its host.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

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
