/**
 * Image streams pass through the CLI as 64 kB buffers. V8 frees them only when it collects
 * garbage, which for memory outside its heap waits until tens of MB have piled up; a
 * young-generation collection every 50 ms while bytes flow keeps the CLI's resident memory
 * flat whatever the image size. This is the CLI's policy: the library leaves it to its host.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const INTERVAL_MS = 50;
type Collect = (options: { type: "minor" | "major" }) => void;
let collect: Collect | undefined;
let last = 0;

export function collectStreamGarbage(): void {
  const now = Date.now();
  if (now - last < INTERVAL_MS) return;
  last = now;
  if (collect === undefined) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as Collect;
  }
  collect({ type: "minor" });
}
