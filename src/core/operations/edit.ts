/**
 * Changing a cluster's load-balanced ports after create. Docker cannot change a container's
 * published ports, so the load balancer is replaced: the new one is created beside the old,
 * takes over its name and ports, and must serve the API before the old one is removed.
 */
import { randomBytes } from "node:crypto";
import type { ContainerSpec, PublishedPort } from "../../runtime/types.js";
import { deadlineSignal } from "../deadline.js";
import { UsageError } from "../errors.js";
import { step } from "../events.js";
import { LABEL, clusterSelector, indexOf } from "../labels.js";
import { NGINX_CONFIG_PATH } from "../loadbalancer/nginx.js";
import { sharedListenerProblem } from "../loadbalancer/targets.js";
import { renderLoadBalancerConfig, storedPortSpecs } from "../loadbalancer/update.js";
import { isApi, checkAdds, matchDeletes, pairMappings } from "../plan/port-edit.js";
import { placePort } from "../spec/build.js";
import { toTimeoutMs } from "../spec/duration.js";
import { checkFiltersSelect } from "../spec/filters.js";
import { parsePortMapping } from "../spec/ports.js";
import type { PortMapping } from "../spec/types.js";
import { UndoStack } from "../undo.js";
import { waitForApi } from "../wait.js";
import { clusterCredentials, loadCluster } from "./cluster-ref.js";
import { resolveOptions, type OperationOptions } from "./context.js";
import { execute, normalise } from "./create.js";
import { assertPortFree, pickFreePort } from "./ports.js";
import { DEFAULT_STOP_TIMEOUT_SECONDS } from "./lifecycle.js";
import { rollback } from "./rollback.js";

export interface PortEdit {
  /** Specs as for create's `--port`; they go through the load balancer. */
  readonly add?: readonly string[];
  /** A spec as it was added, or its host port (`8080`, `127.0.0.1:8080:80`). */
  readonly delete?: readonly string[];
  readonly timeout?: string | number;
}

export interface PortEditResult {
  readonly name: string;
  /** Every load-balanced mapping after the edit, with its host port. */
  readonly ports: ReadonlyArray<{ readonly spec: string; readonly hostIp: string; readonly hostPort: number }>;
}

/** How long the new load balancer gets to serve the API, unless the edit has a deadline. */
const DEFAULT_EDIT_TIMEOUT_MS = 120_000;

export async function editClusterPorts(name: string, edit: PortEdit, options: OperationOptions = {}): Promise<PortEditResult> {
  const { runtime, onEvent } = resolveOptions(options);
  const adds = edit.add ?? [];
  const deletes = edit.delete ?? [];
  if (adds.length === 0 && deletes.length === 0) throw new UsageError("nothing to edit: give --port-add or --port-delete");
  const timeoutMs = edit.timeout === undefined ? DEFAULT_EDIT_TIMEOUT_MS : toTimeoutMs(edit.timeout);
  const ref = await loadCluster(runtime, name, options.signal);
  const lb = ref.loadBalancer;
  if (!lb) {
    throw new UsageError(`cluster "${name}" has no load balancer: ports published on nodes cannot be changed after create`);
  }
  const counts = { servers: ref.servers.length, agents: ref.agents.length, loadBalancer: true };
  const present = { server: ref.servers.map(indexOf), agent: ref.agents.map(indexOf), loadBalancer: true };
  const problems: string[] = [];
  const parsed = adds.flatMap((raw) => {
    try {
      const given = parsePortMapping(raw);
      const placed = placePort(given, counts);
      checkFiltersSelect(given.filters, present, `--port-add "${raw}"`);
      return [placed];
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(err.message);
      return [];
    }
  });
  if (problems.length > 0) throw new UsageError(problems.join("\n"));

  const apiHostPort = Number(lb.labels[LABEL.apiPort]);
  const api = lb.spec.ports?.find((b) => isApi(b, apiHostPort));
  if (!api) throw new UsageError(`the load balancer of cluster "${name}" does not publish the API port ${apiHostPort}`);
  const current = pairMappings(
    storedPortSpecs(lb).map((raw) => ({ raw, mapping: placePort(parsePortMapping(raw), counts) })),
    lb.spec.ports ?? [],
    apiHostPort,
  );
  const removed = new Set(matchDeletes(current, deletes));
  const kept = current.filter((m) => !removed.has(m));
  checkAdds(parsed, kept, api);
  const listener = sharedListenerProblem([...kept.map((m) => m.mapping), ...parsed]);
  if (listener !== undefined) throw new UsageError(listener);
  // A host port this edit deletes is free again by the time the new load balancer starts.
  const freed = new Set([...removed].map((m) => `${m.binding.hostIp}:${m.binding.hostPort}/${m.binding.protocol}`));
  for (const p of parsed) {
    if (p.hostPort === undefined || p.protocol !== "tcp" || freed.has(`${p.hostIp}:${p.hostPort}/tcp`)) continue;
    await assertPortFree(p.hostIp, p.hostPort, `--port-add "${p.raw}"`);
  }
  const added: Array<{ raw: string; mapping: PortMapping; binding: PublishedPort }> = [];
  for (const p of parsed) {
    const hostPort = p.hostPort ?? (await pickFreePort(p.hostIp));
    added.push({
      raw: p.raw,
      mapping: p,
      binding: { containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort },
    });
  }
  const next = [...kept, ...added];
  const raws = next.map((m) => m.raw);

  const deadline = deadlineSignal(`editing the ports of cluster "${name}"`, timeoutMs, options.signal);
  const signal = deadline.signal;
  const undo = new UndoStack();
  try {
    const suffix = randomBytes(3).toString("hex");
    const spec: ContainerSpec = {
      ...lb.spec,
      name: `${lb.name}-${suffix}`,
      labels: { ...lb.spec.labels, [LABEL.ports]: JSON.stringify(raws) },
      ports: [api, ...next.map((m) => m.binding)],
    };
    const config = renderLoadBalancerConfig(raws, await runtime.listContainers(clusterSelector(name), signal));
    const id = await step(onEvent, "create-loadbalancer", async () => {
      const newId = await runtime.createContainer(spec, signal);
      undo.push(`remove container ${spec.name}`, () => runtime.removeContainer(newId));
      await runtime.putFiles(newId, [{ path: NGINX_CONFIG_PATH, content: config, mode: 0o644 }], signal);
      return newId;
    });
    const oldId = lb.id;
    const parked = `${lb.name}-old-${suffix}`;
    await step(onEvent, "replace-loadbalancer", async () => {
      if (lb.running) {
        await runtime.stopContainer(oldId, DEFAULT_STOP_TIMEOUT_SECONDS, signal);
        undo.push(`start ${lb.name} again`, () => runtime.startContainer(oldId));
      }
      await runtime.renameContainer(oldId, parked, signal);
      undo.push(`rename ${parked} back to ${lb.name}`, () => runtime.renameContainer(oldId, lb.name));
      await runtime.renameContainer(id, lb.name, signal);
      undo.push(`rename the new load balancer back to ${spec.name}`, () => runtime.renameContainer(id, spec.name));
    });
    if (lb.running) {
      const x = { runtime, onEvent, signal, undo: new UndoStack() };
      // Before the start: a new load balancer that started but never became ready still holds the ports.
      undo.push(`stop the new load balancer`, () => runtime.stopContainer(id, 10));
      await execute({ type: "start", container: lb.name, milestone: "loadbalancer" }, x);
      const creds = await step(onEvent, "kubeconfig", () => clusterCredentials(runtime, ref, signal));
      await step(onEvent, "wait-api", () => waitForApi(creds, signal));
    }
    await step(onEvent, "remove-old-loadbalancer", () => runtime.removeContainer(oldId, signal));
    undo.clear();
    return {
      name,
      ports: next.map((m) => ({ spec: m.raw, hostIp: m.binding.hostIp, hostPort: m.binding.hostPort })),
    };
  } catch (err) {
    const error = normalise(err, signal);
    await rollback(undo, onEvent, error);
    throw error;
  } finally {
    deadline.dispose();
  }
}
