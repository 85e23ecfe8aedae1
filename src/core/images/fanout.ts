/** One readable copied into several writables at once, at the pace of the slowest. */
import type { Readable, Writable } from "node:stream";

/**
 * Copies `source` into every destination. The source is paused while any destination is full,
 * so nothing piles up in memory. A destination that closes or fails early is dropped and the
 * others go on; when none is left the source is destroyed. Resolves once the source ended (and
 * every remaining destination was ended); rejects, destroying the destinations, if the source
 * fails or closes before its end, also before this call.
 */
export function fanOut(
  source: Readable,
  destinations: readonly Writable[],
  onBytes: (destination: number, bytes: number) => void = () => {},
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const live = new Set<Writable>(destinations);
    const full = new Set<Writable>();
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    /** The source failed or closed before its end: no destination gets the rest. */
    const lost = (err: Error | null) => {
      for (const d of live) d.destroy();
      settle(err ?? new Error("the image stream closed before its end"));
    };
    // A source that failed before it was handed over has no events left to emit.
    if (source.destroyed) return lost(source.errored);
    const resumeIfClear = () => {
      if (full.size === 0 && !settled && source.isPaused()) source.resume();
    };
    const drop = (d: Writable) => {
      if (!live.delete(d)) return;
      full.delete(d);
      if (live.size === 0) {
        settle();
        source.destroy();
      } else {
        resumeIfClear();
      }
    };
    for (const d of destinations) {
      d.once("close", () => drop(d));
      d.once("error", () => drop(d));
    }
    if (live.size === 0) {
      source.destroy();
      settle();
      return;
    }
    source.on("data", (chunk: Buffer) => {
      for (const d of [...live]) {
        if (d.destroyed || d.writableEnded) {
          drop(d);
          continue;
        }
        if (!d.write(chunk)) {
          full.add(d);
          d.once("drain", () => {
            full.delete(d);
            resumeIfClear();
          });
        }
        onBytes(destinations.indexOf(d), chunk.length);
      }
      if (full.size > 0) source.pause();
    });
    source.once("end", () => {
      for (const d of live) d.end();
      settle();
    });
    source.once("error", lost);
    source.once("close", () => {
      if (!settled) lost(null);
    });
  });
}
