/** A registry is ready when its API root `/v2/` answers on the published port. */
import type { Runtime } from "../../runtime/types.js";
import { abortError, sleep } from "../deadline.js";
import { NodeFailedError, TimeoutError } from "../errors.js";

/** registry:2 answers within a second or two; this bounds a registry that never does. */
const READY_LIMIT_MS = 60_000;

async function logTail(runtime: Runtime, container: string, signal: AbortSignal): Promise<string[]> {
  const lines: string[] = [];
  try {
    for await (const l of runtime.logs(container, { follow: false, tail: 20 }, signal)) lines.push(l);
  } catch {
    // The tail is a courtesy; the error that follows says what went wrong.
  }
  return lines;
}

export async function waitForRegistry(runtime: Runtime, container: string, hostAddress: string, signal: AbortSignal): Promise<void> {
  const url = `http://${hostAddress}/v2/`;
  const started = Date.now();
  let last = "no answer yet";
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
      // 401: a registry with authentication is up too.
      if (res.status === 200 || res.status === 401) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      if (signal.aborted) throw abortError(signal, `waiting for registry ${container}`);
      last = (err as Error).message;
    }
    const info = await runtime.inspectContainer(container, signal);
    if (!info || (!info.running && info.state !== "restarting")) {
      throw new NodeFailedError(container, `registry ${container} exited with code ${info?.exitCode ?? "?"}`, await logTail(runtime, container, signal));
    }
    if (Date.now() - started > READY_LIMIT_MS) {
      throw new TimeoutError(`registry ${container} did not answer ${url} within ${READY_LIMIT_MS / 1000}s (last: ${last})`, {
        node: container,
        logTail: await logTail(runtime, container, signal),
      });
    }
    await sleep(200, signal);
  }
}
