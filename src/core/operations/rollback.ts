/** Undoing a failed operation: which error to report, and unwinding its undo stack with warnings. */
import { formatMs } from "../deadline.js";
import { CancelledError, K3boxError, TimeoutError } from "../errors.js";
import type { EventSink } from "../events.js";
import type { UndoStack } from "../undo.js";

/** After this long a rollback reports that it is still busy. */
const ROLLBACK_GRACE_MS = 120_000;

export function normalise(err: unknown, signal: AbortSignal): Error {
  if (err instanceof TimeoutError || err instanceof CancelledError) return err;
  if (signal.aborted && (signal.reason instanceof TimeoutError || signal.reason instanceof CancelledError)) {
    // A call interrupted by the abort fails with its own error; the abort is the story.
    return err instanceof K3boxError && !(err.name === "K3boxError") ? err : (signal.reason as Error);
  }
  return err instanceof Error ? err : new K3boxError(String(err));
}

export async function rollback(undo: UndoStack, onEvent: EventSink, error: Error): Promise<void> {
  onEvent({ type: "step-start", step: "rollback" });
  const started = Date.now();
  const timer = setTimeout(() => {
    onEvent({ type: "warning", message: `rollback is taking longer than ${formatMs(ROLLBACK_GRACE_MS)}` });
  }, ROLLBACK_GRACE_MS);
  try {
    const failures = await undo.unwind();
    for (const f of failures) {
      onEvent({ type: "warning", message: `rollback: could not ${f.what}: ${(f.error as Error).message}` });
    }
    if (failures.length > 0) {
      error.message += ` (rollback left ${failures.length} thing${failures.length === 1 ? "" : "s"} behind: ${failures
        .map((f) => f.what)
        .join(", ")})`;
    }
  } finally {
    clearTimeout(timer);
    onEvent({ type: "step-done", step: "rollback", ms: Date.now() - started });
  }
}
