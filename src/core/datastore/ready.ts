/** A database k3box runs is ready when its own client, run in its container, gets an answer over TCP. */
import { abortError, sleep } from "../../base/abort.js";
import { NodeFailedError, TimeoutError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import { explainLog } from "../readiness/explain.js";
import { ENGINES, type DatastoreEngine } from "./engines.js";

/** A first start initialises the database (a minute on a slow disk); this bounds one that never answers. */
const READY_LIMIT_MS = 300_000;
const INTERVAL_MS = 500;
/** A database that restarts this often before it answers is crash-looping (its image's own init does not restart the container). */
const RESTARTS_BEFORE_READY = 2;
/** What the engine answers when the program is not in the image: asking again will not help. */
const NOT_RUNNABLE = new Set([126, 127]);

/** Resolves with how often the engine restarted the container meanwhile (a first start's own restarts are no failure). */
export async function waitForDatastore(
  runtime: Runtime,
  container: string,
  engine: DatastoreEngine,
  signal: AbortSignal,
): Promise<{ restarts: number }> {
  const argv = ENGINES[engine].ready;
  const started = Date.now();
  let last = "no answer yet";
  for (;;) {
    const info = await runtime.inspectContainer(container, signal);
    if (!info) throw new NodeFailedError(container, `datastore ${container} disappeared`, []);
    if (!info.running && info.state !== "restarting") {
      throw new NodeFailedError(
        container,
        `datastore ${container} exited with code ${info.exitCode ?? "?"}`,
        await explainLog(runtime, container, signal),
      );
    }
    if (info.restartCount >= RESTARTS_BEFORE_READY) {
      throw new NodeFailedError(
        container,
        `datastore ${container} keeps restarting before it accepts connections (${info.restartCount} restarts, last exit code ${info.exitCode ?? "?"})`,
        await explainLog(runtime, container, signal),
      );
    }
    if (info.running) {
      try {
        const r = await runtime.exec(container, argv, {}, signal);
        if (r.exitCode === 0) return { restarts: info.restartCount };
        last = (r.stderr.trim() || r.stdout.trim() || `exit code ${r.exitCode}`).split("\n").slice(-1)[0] as string;
        if (NOT_RUNNABLE.has(r.exitCode)) {
          throw new NodeFailedError(
            container,
            `datastore ${container} cannot be asked whether it is up (${argv[0]}): ${last}; is ${info.image} a ${engine} image?`,
            [],
          );
        }
      } catch (err) {
        if (err instanceof NodeFailedError) throw err;
        if (signal.aborted) throw abortError(signal, `waiting for datastore ${container}`);
        // The container stopped between the inspect and the exec: the next inspect says how.
        last = (err as Error).message;
      }
    }
    if (Date.now() - started > READY_LIMIT_MS) {
      throw new TimeoutError(
        `datastore ${container} did not accept connections within ${READY_LIMIT_MS / 1000}s (last: ${last})`,
        { node: container, logTail: await explainLog(runtime, container, signal) },
      );
    }
    await sleep(INTERVAL_MS, signal);
  }
}
