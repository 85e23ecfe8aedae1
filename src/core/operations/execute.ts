/** Runs planned actions against the runtime, recording an undo step for everything it creates. */
import type { Runtime } from "../../runtime/types.js";
import { CancelledError, ConflictError, K3boxError } from "../errors.js";
import { step, type EventSink } from "../events.js";
import { ensureLoadBalancerImage, loadBalancerContext } from "../loadbalancer/image.js";
import type { Action, Milestone } from "../plan/actions.js";
import type { UndoStack } from "../undo.js";
import { waitForMilestone } from "../wait.js";

export interface Exec {
  readonly runtime: Runtime;
  readonly onEvent: EventSink;
  readonly signal: AbortSignal;
  readonly undo: UndoStack;
}

export async function execute(action: Action, x: Exec): Promise<void> {
  const { runtime, onEvent, signal, undo } = x;
  if (signal.aborted) throw signal.reason;
  switch (action.type) {
    case "sequence":
      for (const a of action.actions) await execute(a, x);
      return;
    case "parallel": {
      // Wait for every branch so the undo stack is complete before anything unwinds.
      const results = await Promise.allSettled(action.actions.map((a) => execute(a, x)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      return;
    }
    case "ensure-image":
      await step(onEvent, "image", async () => {
        if (await runtime.imageExists(action.image, signal)) return;
        try {
          await runtime.pullImage(action.image, (p) => onEvent({ type: "pull", ...p }), signal);
        } catch (err) {
          if (err instanceof CancelledError) throw err;
          throw new K3boxError(`cannot pull image "${action.image}": ${(err as Error).message}`, { cause: err });
        }
      });
      return;
    case "ensure-loadbalancer-image":
      await step(onEvent, "loadbalancer-image", async () => {
        const context = await loadBalancerContext();
        await ensureLoadBalancerImage(runtime, context, () => {}, signal);
      });
      return;
    case "create-network":
      await step(onEvent, "network", async () => {
        await runtime.createNetwork(action.network, signal);
        undo.push(`remove network ${action.network.name}`, () => runtime.removeNetwork(action.network.name));
      });
      return;
    case "create-volume":
      await runtime.createVolume(action.volume, signal);
      undo.push(`remove volume ${action.volume.name}`, () => runtime.removeVolume(action.volume.name));
      return;
    case "create-container":
      await step(
        onEvent,
        "create-node",
        async () => {
          try {
            await runtime.createContainer(action.container, signal);
          } catch (err) {
            if (err instanceof ConflictError) {
              throw new ConflictError(`container name "${action.container.name}" is already in use`, { cause: err });
            }
            throw err;
          }
          undo.push(`remove container ${action.container.name}`, () => runtime.removeContainer(action.container.name));
          if (action.files.length > 0) await runtime.putFiles(action.container.name, action.files, signal);
        },
        action.container.name,
      );
      return;
    case "start":
      await step(
        onEvent,
        "start-node",
        async () => {
          await runtime.startContainer(action.container, signal);
          if (action.milestone) await waitSinceStart(x, action.container, action.milestone);
        },
        action.container,
      );
      return;
    case "wait":
      await step(onEvent, "wait-node", () => waitSinceStart(x, action.container, action.milestone), action.container);
      return;
    case "stop":
      await step(
        onEvent,
        "stop-node",
        () => runtime.stopContainer(action.container, action.timeoutSeconds, signal),
        action.container,
      );
      return;
  }
}

/**
 * Follows the log from the end of the container's previous run on (the engine's clock), so that
 * lines of an earlier run do not count. Not from this run's start time: the engine stamps that
 * after the process is already running, and a fast process logs before it.
 */
async function waitSinceStart(x: Exec, container: string, milestone: Milestone): Promise<void> {
  const info = await x.runtime.inspectContainer(container, x.signal);
  const since = info?.finishedAt;
  await waitForMilestone(x.runtime, container, milestone, { onEvent: x.onEvent, ...(since ? { since } : {}) }, x.signal);
}
