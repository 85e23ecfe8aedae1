/** k3s log milestones: progress and failure signals while a node starts. */
import { abortError, sleep } from "../../base/abort.js";
import { NodeFailedError, TimeoutError } from "../../base/errors.js";
import type { Runtime } from "../../runtime/types.js";
import type { EventSink } from "../events.js";
import type { Milestone } from "../plan/actions.js";
import { explainLog } from "./explain.js";

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

/** A node that restarts this often before its milestone is crash-looping, not starting slowly. */
const RESTARTS_BEFORE_MILESTONE = 2;

/**
 * Follows a node's log until its milestone; resolves with how often the engine restarted it
 * meanwhile. A fatal line fails at once, naming the node with its last lines; so does a node that
 * keeps restarting, with the lines that explain why; an abort turns into the deadline's or the
 * caller's error, with the same tail.
 */
export async function waitForMilestone(
  runtime: Runtime,
  node: string,
  milestone: Milestone,
  options: { since?: Date; onEvent?: EventSink },
  signal: AbortSignal,
): Promise<{ restarts: number }> {
  const tail: string[] = [];
  const pattern = MILESTONES[milestone];
  let since = options.since;
  let restarts = 0;
  for (;;) {
    try {
      for await (const line of runtime.logs(node, { follow: true, ...(since ? { since } : {}) }, signal)) {
        tail.push(line);
        if (tail.length > TAIL) tail.shift();
        if (pattern.test(line)) {
          options.onEvent?.({ type: "milestone", node, line });
          return { restarts };
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
      throw new NodeFailedError(
        node,
        `node ${node} exited with code ${info.exitCode ?? "?"}`,
        await explainLog(runtime, node, signal),
      );
    }
    restarts++;
    // The load balancer restarts until every node its config names runs (nginx resolves them as it
    // loads); a k3s node that restarts before it is up is crashing.
    if (milestone !== "loadbalancer" && restarts >= RESTARTS_BEFORE_MILESTONE) {
      throw new NodeFailedError(
        node,
        `node ${node} keeps restarting before it comes up (${restarts} restarts, last exit code ${info.exitCode ?? "?"})`,
        await explainLog(runtime, node, signal),
      );
    }
    // The engine's own clock: everything its restarted run logged, even before we got here.
    since = afterRun(info.finishedAt) ?? new Date();
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

/**
 * The engine stamps a line when it reads it, which can be a little after the run that printed it
 * ended: a run's last lines (a fatal one, say) must not count for the next run. The engine waits at least
 * that long before it restarts a container by its policy, and k3s prints nothing
 * that matters in its first fraction of a second.
 */
const RUN_BOUNDARY_MS = 100;

export function afterRun(finishedAt: Date | undefined): Date | undefined {
  return finishedAt === undefined ? undefined : new Date(finishedAt.getTime() + RUN_BOUNDARY_MS);
}
