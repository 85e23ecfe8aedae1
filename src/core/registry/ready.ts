/** A registry is ready when its API root `/v2/` answers on the published port. */
import { get } from "node:http";
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

/**
 * One GET's status. node:http rather than fetch: a connection the engine's port proxy
 * accepts for a container that then dies can leave fetch pending on nothing that keeps
 * the process alive, and the CLI would end without a word.
 */
function httpStatus(url: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 2000, signal }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 2s")));
    req.on("error", reject);
  });
}

export async function waitForRegistry(
  runtime: Runtime,
  container: string,
  hostAddress: string,
  signal: AbortSignal,
): Promise<void> {
  const url = `http://${hostAddress}/v2/`;
  const started = Date.now();
  let last = "no answer yet";
  for (;;) {
    try {
      const status = await httpStatus(url, signal);
      // 401: a registry with authentication is up too.
      if (status === 200 || status === 401) return;
      last = `HTTP ${status}`;
    } catch (err) {
      if (signal.aborted) throw abortError(signal, `waiting for registry ${container}`);
      last = (err as Error).message;
    }
    const info = await runtime.inspectContainer(container, signal);
    // A registry that is restarting has crashed already (a cache that cannot reach its upstream does).
    if (!info || info.state !== "running") {
      throw new NodeFailedError(
        container,
        `registry ${container} ${info ? `exited with code ${info.exitCode ?? "?"}` : "disappeared"}`,
        await logTail(runtime, container, signal),
      );
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
