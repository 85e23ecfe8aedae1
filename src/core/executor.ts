/**
 * Carries out planned actions. Each kind reports itself as a step and records its own undo
 * as soon as the change it stands for exists, so a rollback is complete whenever it runs.
 */
import { ConflictError, K3boxError, NotFoundError } from "../base/errors.js";
import type { Runtime } from "../runtime/types.js";
import { spannedContainers } from "./engine-links.js";
import { step } from "./events.js";
import { ensureImage } from "./images/ensure.js";
import type { Operation } from "./operation.js";
import type { Action, FileChange, Milestone } from "./plan/actions.js";
import { settleAll } from "./undo.js";

// The waits, the load balancer's update and the Kubernetes API client are loaded by the actions
// that use them: an operation that only changes files or containers (an image import's mirror
// config, a stop) runs without them.
const nodeObjects = () => import("./node/objects.js");

export async function execute(action: Action, op: Operation): Promise<void> {
  const { runtime, onEvent, signal, undo } = op;
  if (signal.aborted) throw signal.reason;
  switch (action.type) {
    case "sequence":
      for (const a of action.actions) await execute(a, op);
      return;
    case "parallel":
      await settleAll(action.actions.map((a) => execute(a, op)));
      return;
    case "ensure-image":
      await step(onEvent, "image", () => ensureImage(runtime, action.image, onEvent, signal), action.image);
      return;
    // Each undo goes on before its create: an engine that made the object but lost the answer
    // still gets it removed, and removing what is not there is no error.
    case "create-network":
      await step(onEvent, "network", async () => {
        const forget = undo.push(`remove network ${action.network.name}`, () => runtime.removeNetwork(action.network.name));
        try {
          await runtime.createNetwork(action.network, signal);
        } catch (err) {
          if (err instanceof ConflictError) forget();
          throw err;
        }
      });
      return;
    case "create-volume":
      undo.push(`remove volume ${action.volume.name}`, () => runtime.removeVolume(action.volume.name));
      await runtime.createVolume(action.volume, signal);
      return;
    case "create-container": {
      const { container, files, joins } = action;
      await step(
        onEvent,
        "create-node",
        async () => {
          if (joins !== undefined) {
            // Unwound after the container is gone, so the node cannot register again meanwhile.
            undo.push(`remove the Node object of ${container.name}`, async () =>
              (await nodeObjects()).removeNodeObjects(runtime, op.dialect, joins, [container.name], onEvent),
            );
          }
          const forget = undo.push(`remove container ${container.name}`, () => runtime.removeContainer(container.name));
          try {
            await runtime.createContainer(container, signal);
          } catch (err) {
            if (err instanceof ConflictError) {
              // The name is someone else's container: not ours to remove.
              forget();
              throw new ConflictError(`container name "${container.name}" is already in use`, { cause: err });
            }
            throw err;
          }
          if (files.length > 0) await runtime.putFiles(container.name, files, signal);
        },
        container.name,
      );
      return;
    }
    case "start":
      await step(
        onEvent,
        "start-node",
        async () => {
          if (action.reversible) {
            // Before the start: one that started but never became ready still holds its ports.
            undo.push(`stop ${action.container}`, () => runtime.stopContainer(action.container, 10));
          }
          await runtime.startContainer(action.container, signal);
          if (action.milestone) await waitSinceStart(op, action.container, action.milestone);
        },
        action.container,
      );
      return;
    case "stop":
      await step(
        onEvent,
        "stop-node",
        async () => {
          // Before the stop: one the engine stopped though the call failed (or was cancelled) is started again.
          if (action.reversible) undo.push(`start ${action.container} again`, () => runtime.startContainer(action.container));
          await runtime.stopContainer(action.container, action.timeoutSeconds, signal);
        },
        action.container,
      );
      return;
    case "rename": {
      // Before the rename, as for a create: one the engine made though the call failed is undone too.
      // Undone where it never happened, it finds no container by the new name: nothing to do.
      const back = () =>
        runtime.renameContainer(action.to, action.container).catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
      const forget = undo.push(`rename ${action.to} back to ${action.container}`, back);
      try {
        await runtime.renameContainer(action.container, action.to, signal);
      } catch (err) {
        // The new name is someone else's: theirs is not ours to rename.
        if (err instanceof ConflictError) forget();
        throw err;
      }
      return;
    }
    case "remove-container":
      await step(
        onEvent,
        "remove-node",
        async () => {
          try {
            await runtime.removeContainer(action.container, signal);
          } catch (err) {
            // An engine that removed it but lost the answer (or a Ctrl-C that came as it did) removed it all the same.
            if ((await runtime.inspectContainer(action.container).catch(() => err)) !== undefined) throw err;
          }
          // Gone for good: what came before it can no longer be undone.
          undo.clear();
        },
        action.container,
      );
      return;
    case "remove-volume":
      await runtime.removeVolume(action.volume, signal);
      return;
    case "remove-network":
      await step(onEvent, "remove-network", async () => {
        // Whatever else joined the network (a shared registry, a user's container) is let go, not removed.
        const info = await runtime.inspectNetwork(action.network, signal);
        for (const other of info?.containers ?? []) await detach(runtime, action.network, other, undefined, signal);
        await runtime.removeNetwork(action.network, signal);
      });
      return;
    case "copy-bundle-entry":
      await step(
        onEvent,
        "copy-bundle-images",
        async () => {
          // Loaded here: the bundle reader brings the schema library, which no other action needs.
          const { openBundleEntry } = await import("./bundle/read.js");
          const content = openBundleEntry(action.bundle, action.entry, signal);
          try {
            await runtime.putFileStream(action.container, { path: action.destination, size: action.entry.size, content }, signal);
          } finally {
            // Unread when the copy failed early: closing it stops the read of the bundle file.
            content.destroy();
          }
        },
        action.container,
      );
      return;
    case "change-files": {
      const { container, change, restore } = action;
      // Undo first: a change that fails half-way must still be put back.
      await step(
        onEvent,
        "change-files",
        async () => {
          if (restore) undo.push(`restore the files of ${container}`, () => changeFiles(runtime, container, restore));
          await changeFiles(runtime, container, change, signal);
        },
        container,
      );
      return;
    }
    case "connect-network":
      await step(
        onEvent,
        "connect-network",
        async () => {
          await runtime.connectNetwork(action.network, action.container, [action.container], signal);
          undo.push(`disconnect ${action.container} from ${action.network}`, () =>
            detach(runtime, action.network, action.container, action.fallback),
          );
        },
        action.container,
      );
      return;
    case "disconnect-network":
      await step(
        onEvent,
        "disconnect-network",
        async () => {
          await detach(runtime, action.network, action.container, action.fallback, signal);
          undo.push(`attach ${action.container} to ${action.network} again`, () =>
            runtime.connectNetwork(action.network, action.container, [action.container]),
          );
        },
        action.container,
      );
      return;
    case "wait-registry":
      await step(
        onEvent,
        "wait-registry",
        async () => (await import("./registry/ready.js")).waitForRegistry(runtime, action.container, action.address, signal),
        action.container,
      );
      return;
    case "wait":
      await step(onEvent, "wait-node", () => waitSinceStart(op, action.container, action.milestone), action.container);
      return;
    case "wait-datastore":
      await step(
        onEvent,
        "wait-datastore",
        async () => {
          const { waitForDatastore } = await import("./datastore/ready.js");
          const { restarts } = await waitForDatastore(runtime, action.container, action.engine, signal);
          // The servers need it from now on: one that goes down fails the operation, as a node would.
          op.watchdog.watch(action.container, restarts);
        },
        action.container,
      );
      return;
    case "wait-ready": {
      // Nodes on other engines count as much as those on the cluster's own.
      const [{ clusterCredentials, clusterRef }, { clusterReadiness, waitForCluster }] = await Promise.all([
        import("./cluster-ref.js"),
        import("./readiness/cluster.js"),
      ]);
      const ref = clusterRef(op.dialect, action.cluster, await spannedContainers(op, action.cluster));
      const creds = await step(onEvent, "kubeconfig", () => clusterCredentials(op, action.cluster));
      await waitForCluster(creds, clusterReadiness(ref, action.level), op);
      // A node that went down while the API looked fine is caught here at the latest.
      await op.watchdog.check(signal);
      return;
    }
    case "update-loadbalancer":
      await (await import("./loadbalancer/update.js")).updateClusterLoadBalancer(
        op,
        action.cluster,
        new Set(action.exclude ?? []),
      );
      return;
    case "remove-node-objects":
      await step(onEvent, "remove-node-object", async () =>
        (await nodeObjects()).removeNodeObjects(runtime, op.dialect, action.cluster, action.nodes, onEvent, signal),
      );
      return;
  }
}

async function changeFiles(runtime: Runtime, container: string, change: FileChange, signal?: AbortSignal): Promise<void> {
  if (change.files.length > 0) await runtime.putFiles(container, change.files, signal);
  if (change.remove === undefined || change.remove.length === 0) return;
  const r = await runtime.exec(container, ["rm", "-rf", "--", ...change.remove], {}, signal);
  if (r.exitCode !== 0) throw new K3boxError(`cannot remove ${change.remove.join(", ")} in ${container}: ${r.stderr.trim()}`);
}

/** Disconnects a container; one left on no network goes back to `fallback`, so its published ports keep working. */
async function detach(
  runtime: Runtime,
  network: string,
  container: string,
  fallback: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  await runtime.disconnectNetwork(network, container, signal);
  if (fallback === undefined) return;
  const info = await runtime.inspectContainer(container, signal);
  if (info && Object.keys(info.networks).length === 0) await runtime.connectNetwork(fallback, container, [], signal);
}

/**
 * Follows the log from the end of the container's previous run on (the engine's clock), so that
 * lines of an earlier run do not count. Not from this run's start time: the engine stamps that
 * after the process is already running, and a fast process logs before it.
 */
async function waitSinceStart(op: Operation, container: string, milestone: Milestone): Promise<void> {
  const info = await op.runtime.inspectContainer(container, op.signal);
  const { afterRun, waitForMilestone } = await import("./readiness/milestones.js");
  const since = afterRun(info?.finishedAt);
  const { restarts } = await waitForMilestone(
    op.runtime,
    container,
    milestone,
    { onEvent: op.onEvent, ...(since ? { since } : {}) },
    op.signal,
  );
  // Up for good only at its full milestone: an etcd member that has begun its start may still wait for quorum.
  if (milestone === "server" || milestone === "agent") op.watchdog.watch(container, restarts);
  else op.watchdog.allow(container, restarts);
}
