import { setMaxListeners } from "node:events";
import { CancelledError, K3boxError, TimeoutError } from "./errors.js";

/**
 * One signal for a whole operation: it aborts when the caller cancels (reason: CancelledError),
 * when the deadline passes (reason: TimeoutError), or when the operation learns it cannot succeed
 * (`fail`, with that error as the reason: a node that crashed while others are waited for).
 */
export function deadlineSignal(
  what: string,
  timeoutMs: number | undefined,
  parent?: AbortSignal,
): { signal: AbortSignal; fail(reason: K3boxError): void; dispose(): void } {
  const ctl = new AbortController();
  // Every engine call and wait listens on this one signal.
  setMaxListeners(0, ctl.signal);
  const onParent = () => ctl.abort(new CancelledError(`${what}: cancelled`));
  if (parent?.aborted) onParent();
  parent?.addEventListener("abort", onParent, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => ctl.abort(new TimeoutError(`${what}: timed out after ${formatMs(timeoutMs)}`)), timeoutMs);
  return {
    signal: ctl.signal,
    fail(reason) {
      if (!ctl.signal.aborted) ctl.abort(reason);
    },
    dispose() {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/** The error an aborted signal stands for. */
export function abortError(signal: AbortSignal, what: string): Error {
  const r: unknown = signal.reason;
  if (r instanceof K3boxError) return r;
  return new CancelledError(`${what}: cancelled`);
}

export function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Sleeps, but wakes with the abort error as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, "wait"));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal as AbortSignal, "wait"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
