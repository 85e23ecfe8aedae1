/** Byte progress of one stream, reported as events at a pace a terminal can show. */
import type { EventSink } from "../events.js";

const PROGRESS_INTERVAL_MS = 50;
const PROGRESS_BYTES = 1024 * 1024;

/** Tracks one node's bytes and reports them every PROGRESS_INTERVAL_MS, or PROGRESS_BYTES when bytes come in bursts. */
export function meter(onEvent: EventSink, node: string, total?: number) {
  let bytes = 0;
  let last = 0;
  let reported = 0;
  return {
    add(n: number) {
      bytes += n;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS || bytes - reported >= PROGRESS_BYTES) {
        last = now;
        reported = bytes;
        onEvent({ type: "import-progress", node, bytes, ...(total !== undefined ? { total } : {}) });
      }
    },
    get bytes() {
      return bytes;
    },
  };
}
