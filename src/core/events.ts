/** Progress reported by operations. The library never prints; callers render these (or ignore them). */
export type ClusterEvent =
  | { readonly type: "step-start"; readonly step: string; readonly node?: string }
  | { readonly type: "step-done"; readonly step: string; readonly node?: string; readonly ms: number }
  | { readonly type: "milestone"; readonly node: string; readonly line: string }
  | {
      readonly type: "pull";
      readonly image: string;
      readonly status: string;
      readonly current?: number;
      readonly total?: number;
    }
  | { readonly type: "warning"; readonly message: string }
  /** Something k3box decided for the user that they may want to know (and can switch off). */
  | { readonly type: "note"; readonly message: string }
  /** An image import into one node began; `total` is the expected byte count when known. */
  | { readonly type: "import-start"; readonly node: string; readonly source: string; readonly total?: number }
  | { readonly type: "import-progress"; readonly node: string; readonly bytes: number; readonly total?: number }
  | {
      readonly type: "import-done";
      readonly node: string;
      readonly source: string;
      readonly status: ImportStatus;
      readonly images: readonly string[];
      readonly bytes: number;
      readonly ms: number;
      readonly error?: string;
    };

/** imported: sent and verified; skipped: the node already had it; failed: see the error. */
export type ImportStatus = "imported" | "skipped" | "failed";

export type EventSink = (event: ClusterEvent) => void;

export const ignoreEvents: EventSink = () => {};

/** Runs `fn` as a named step, reporting its start and duration. */
export async function step<T>(onEvent: EventSink, name: string, fn: () => Promise<T>, node?: string): Promise<T> {
  const started = Date.now();
  onEvent({ type: "step-start", step: name, ...(node ? { node } : {}) });
  const result = await fn();
  onEvent({ type: "step-done", step: name, ...(node ? { node } : {}), ms: Date.now() - started });
  return result;
}
