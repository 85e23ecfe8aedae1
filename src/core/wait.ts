/** Readiness: k3s log milestones as progress and failure signals, the API's /readyz as the gate. */
import { request } from "node:https";
import type { Runtime } from "../runtime/types.js";
import { abortError, sleep } from "./deadline.js";
import { K3boxError, NodeFailedError, TimeoutError } from "./errors.js";
import type { EventSink } from "./events.js";
import type { Milestone } from "./plan/create.js";

/** The line each kind of node prints once it is up (k3s prints "containerd" in either case over time). */
export const MILESTONES: Readonly<Record<Milestone, RegExp>> = {
  server: /k3s is up and running/i,
  // Printed before a restarting etcd member waits for quorum (k3s and the double alike).
  "server-started": /Running kube-apiserver/i,
  agent: /Successfully registered node/i,
  loadbalancer: /start worker processes/i,
};

const FATAL = /level=fatal/;
const TAIL = 20;

/**
 * Follows a node's log until its milestone. A fatal line fails at once, naming the node
 * with its last lines; an abort turns into the deadline's or the caller's error, with the same tail.
 */
export async function waitForMilestone(
  runtime: Runtime,
  node: string,
  milestone: Milestone,
  options: { since?: Date; onEvent?: EventSink },
  signal: AbortSignal,
): Promise<void> {
  const tail: string[] = [];
  const pattern = MILESTONES[milestone];
  let since = options.since;
  for (;;) {
    try {
      for await (const line of runtime.logs(node, { follow: true, ...(since ? { since } : {}) }, signal)) {
        tail.push(line);
        if (tail.length > TAIL) tail.shift();
        if (pattern.test(line)) {
          options.onEvent?.({ type: "milestone", node, line });
          return;
        }
        if (FATAL.test(line)) {
          throw new NodeFailedError(node, `node ${node} failed: ${fatalMessage(line)}`, [...tail]);
        }
      }
    } catch (err) {
      if (err instanceof NodeFailedError) throw err;
      if (signal.aborted) throw withTail(abortError(signal, `waiting for ${node}`), node, tail);
      throw err;
    }
    if (signal.aborted) throw withTail(abortError(signal, `waiting for ${node}`), node, tail);
    // The stream ended: the container stopped or restarted. A stopped one will not get there.
    const info = await runtime.inspectContainer(node, signal);
    if (!info) throw new NodeFailedError(node, `node ${node} disappeared`, [...tail]);
    if (!info.running && info.state !== "restarting") {
      throw new NodeFailedError(node, `node ${node} exited with code ${info.exitCode ?? "?"}`, [...tail]);
    }
    // The engine's own clock: everything its restarted run logged, even before we got here.
    since = info.finishedAt ?? new Date();
    tail.length = 0;
    await sleep(250, signal);
  }
}

function fatalMessage(line: string): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
  return m ? (m[1] as string).replace(/\\"/g, '"') : line;
}

function withTail(err: Error, node: string, tail: readonly string[]): Error {
  if (!(err instanceof TimeoutError)) return err;
  return new TimeoutError(`${err.message} waiting for node ${node}`, { cause: err, node, logTail: [...tail] });
}

export interface ClientCredentials {
  readonly server: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** One GET with the admin certificate; resolves with status and body. */
export function apiGet(creds: ClientCredentials, path: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  return apiRequest(creds, "GET", path, signal);
}

/** One request with the admin certificate; resolves with status and body. */
export function apiRequest(
  creds: ClientCredentials,
  method: "GET" | "DELETE",
  path: string,
  signal?: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, creds.server);
    const req = request(
      url,
      { method, ca: creds.ca, cert: creds.cert, key: creds.key, timeout: 5000, ...(signal ? { signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new K3boxError(`${method} ${url.href}: no answer within 5s`)));
    req.on("error", reject);
    req.end();
  });
}

/** Polls /readyz through the given server URL until it answers `ok`; a timeout names the last answer. */
export async function waitForApi(creds: ClientCredentials, signal: AbortSignal): Promise<void> {
  let last = "no answer yet";
  for (;;) {
    try {
      const res = await apiGet(creds, "/readyz", signal);
      if (res.status === 200 && res.body.trim() === "ok") return;
      last = `HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`;
    } catch (err) {
      if (signal.aborted) break;
      last = (err as Error).message;
    }
    try {
      await sleep(300, signal);
    } catch {
      break;
    }
  }
  const reason = abortError(signal, "waiting for the API");
  if (reason instanceof TimeoutError) {
    throw new TimeoutError(`${reason.message} waiting for the API at ${creds.server}/readyz (last answer: ${last})`, {
      cause: reason,
    });
  }
  throw reason;
}
