/**
 * The one frame every operation runs in: it resolves the runtime and event sink, owns the
 * operation's signal (the caller's cancellation plus its deadline) and its undo stack, and
 * applies one rollback policy when the body fails.
 */
import { deadlineSignal, formatMs } from "../base/abort.js";
import { CancelledError, K3boxError, TimeoutError } from "../base/errors.js";
import type { Runtime } from "../runtime/types.js";
import { K3BOX, type Dialect } from "./dialect.js";
import { ignoreEvents, type EventSink } from "./events.js";
import { NodeWatchdog } from "./readiness/watchdog.js";
import { UndoStack } from "./undo.js";

/** What every operation may be given. */
export interface OperationOptions {
  /** The container engine. The library's entry point supplies its default; core never picks one. */
  readonly runtime?: Runtime;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  /** The kubeconfig file to update; defaults to the first of $KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfigPath?: string;
  /** Whose names, labels and defaults the operation speaks: k3box's own (the default) or k3d's. */
  readonly dialect?: Dialect;
  /**
   * Opens another engine by the name k3box records for it (`EnginePlace.endpoint`), for clusters
   * with nodes on several engines. The library's entry point supplies it.
   */
  readonly openEngine?: (name: string) => Runtime;
}

/** What the body of an operation works with. */
export interface Operation {
  readonly runtime: Runtime;
  readonly onEvent: EventSink;
  /** Aborts on the caller's cancellation (CancelledError) or the deadline (TimeoutError). */
  readonly signal: AbortSignal;
  /** Everything the body creates pushes its inverse here; it unwinds if the body fails. */
  readonly undo: UndoStack;
  /** Nodes that came up in this operation and must stay up until it ends. */
  readonly watchdog: NodeWatchdog;
  readonly kubeconfigPath?: string;
  readonly dialect: Dialect;
  /** Another engine, by the name k3box records for it. */
  openEngine(name: string): Runtime;
  /**
   * The same operation on another engine: its signal, undo stack, events and dialect, so a
   * failure rolls back what it did on every engine; a node that goes down there fails it too.
   */
  on(runtime: Runtime): Operation;
}

export interface FrameSettings {
  /** One deadline for the whole operation, rollback excluded; undefined means none. */
  readonly timeoutMs?: number;
  /** False keeps what was created when the operation fails (for inspection). */
  readonly rollback?: boolean;
}

/** How long a rollback may take once the operation's own deadline or cancellation has passed. */
const ROLLBACK_GRACE_MS = 120_000;

export async function runOperation<T>(
  what: string,
  options: OperationOptions & FrameSettings,
  body: (op: Operation) => Promise<T>,
): Promise<T> {
  if (options.runtime === undefined) throw new K3boxError(`${what}: no container engine given (options.runtime)`);
  const onEvent = options.onEvent ?? ignoreEvents;
  const deadline = deadlineSignal(what, options.timeoutMs, options.signal);
  const signal = deadline.signal;
  const undo = new UndoStack();
  const elsewhere = new Map<Runtime, Operation>();
  const frame = (runtime: Runtime): Operation => {
    const known = elsewhere.get(runtime);
    if (known !== undefined) return known;
    const op: Operation = {
      runtime,
      onEvent,
      signal,
      undo,
      watchdog: new NodeWatchdog(runtime, (err) => deadline.fail(err)),
      dialect: options.dialect ?? K3BOX,
      ...(options.kubeconfigPath !== undefined ? { kubeconfigPath: options.kubeconfigPath } : {}),
      openEngine: (name) => {
        if (options.openEngine === undefined)
          throw new K3boxError(`${what}: cannot reach engine ${name} (no options.openEngine)`);
        return options.openEngine(name);
      },
      on: frame,
    };
    elsewhere.set(runtime, op);
    return op;
  };
  const op = frame(options.runtime);
  try {
    const result = await body(op);
    // Cancellation that arrived during the last step still counts: nothing is half-done here.
    if (signal.aborted) throw signal.reason;
    undo.clear();
    return result;
  } catch (err) {
    const error = normalise(err, signal);
    if (options.rollback === false) {
      if (!undo.empty) onEvent({ type: "warning", message: "rollback is off: the changes made so far are kept" });
      throw error;
    }
    await rollback(undo, onEvent, error);
    throw error;
  } finally {
    for (const o of elsewhere.values()) o.watchdog.dispose();
    deadline.dispose();
  }
}

/**
 * The error an operation reports: what interrupted it (the deadline, the cancellation, a node
 * that went down while another was waited for) when that is what happened.
 */
function normalise(err: unknown, signal: AbortSignal): Error {
  if (err instanceof TimeoutError || err instanceof CancelledError) return err;
  if (signal.aborted && signal.reason instanceof K3boxError) {
    // A call interrupted by the abort fails with its own error; the abort is the story.
    return err instanceof K3boxError && !(err.name === "K3boxError") ? err : (signal.reason as Error);
  }
  return err instanceof Error ? err : new K3boxError(String(err));
}

/** Unwinds the undo stack, reporting what could not be undone on the events and in the error. */
async function rollback(undo: UndoStack, onEvent: EventSink, error: Error): Promise<void> {
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
