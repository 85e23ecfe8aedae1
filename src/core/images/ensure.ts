import type { Runtime } from "../../runtime/types.js";
import { CancelledError, K3boxError, NotFoundError, RuntimeUnavailableError } from "../../base/errors.js";
import type { EventSink } from "../events.js";

/** Pulls the image unless the engine has it already. */
export async function ensureImage(runtime: Runtime, image: string, onEvent: EventSink, signal: AbortSignal): Promise<void> {
  if (await runtime.imageExists(image, signal)) return;
  try {
    await runtime.pullImage(image, (p) => onEvent({ type: "pull", ...p }), signal);
  } catch (err) {
    if (err instanceof CancelledError || err instanceof RuntimeUnavailableError) throw err;
    // The kind of failure decides the exit code: a missing image is "not found", not a generic error.
    const Kind = err instanceof NotFoundError ? NotFoundError : K3boxError;
    throw new Kind(`cannot pull image "${image}": ${(err as Error).message}`, { cause: err });
  }
}
