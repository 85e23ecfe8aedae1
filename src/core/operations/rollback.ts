import { formatMs } from "../../base/abort.js";
import type { EventSink } from "../events.js";
import type { UndoStack } from "../undo.js";

/** How long a rollback may take once the operation's own deadline or cancellation has passed. */
const ROLLBACK_GRACE_MS = 120_000;

/** Unwinds the undo stack, reporting what could not be undone on the events and in the error. */
export async function rollback(undo: UndoStack, onEvent: EventSink, error: Error): Promise<void> {
  // A failure before anything was created (a name taken, a port in use) has nothing to report here.
  if (undo.empty) return;
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
