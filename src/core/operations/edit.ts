/**
 * Changing a cluster's load-balanced ports after create. Docker cannot change a container's
 * published ports, so the load balancer is replaced: the new one is created beside the old,
 * takes over its name and ports, and must serve the API before the old one is removed.
 */
import { randomBytes } from "node:crypto";
import type { ContainerSpec, PublishedPort } from "../../runtime/types.js";
import { UsageError } from "../../base/errors.js";
import { toTimeoutMs } from "../cluster-spec/duration.js";
import { checkFiltersSelect } from "../cluster-spec/filters.js";
import { parsePortMapping, placePort } from "../cluster-spec/ports.js";
import type { LoadBalancerSettings, PortMapping } from "../cluster-spec/types.js";
import { loadCluster } from "../cluster-ref.js";
import { execute } from "../executor.js";
import { defaultPublishAddress, portSettler } from "../host-ports.js";
import { managedSelector } from "../dialect.js";
import { clusterSelector, indexOf } from "../labels.js";
import { NGINX_CONFIG_PATH } from "../loadbalancer/nginx.js";
import { sharedListenerProblem } from "../loadbalancer/targets.js";
import { renderLoadBalancerConfig, storedPortSpecs, storedSettings } from "../loadbalancer/update.js";
import { applyLbOverride } from "../cluster-spec/runtime.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { sequence, type Action } from "../plan/actions.js";
import { isApi, checkAdds, matchDeletes, pairMappings } from "../plan/port-edit.js";
import { DEFAULT_STOP_TIMEOUT_SECONDS } from "../cluster-spec/defaults.js";

export interface PortEdit {
  /** Specs as for create's `--port`; they go through the load balancer. */
  readonly add?: readonly string[];
  /** A spec as it was added, or its host port (`8080`, `127.0.0.1:8080:80`). */
  readonly delete?: readonly string[];
  /** k3d's load balancer overrides (`settings.workerConnections=N`), applied over the current settings. */
  readonly settings?: readonly string[];
  readonly timeout?: string | number;
}

export interface PortEditResult {
  readonly name: string;
  /** Every load-balanced mapping after the edit, with its host port. */
  readonly ports: ReadonlyArray<{ readonly spec: string; readonly hostIp: string; readonly hostPort: number }>;
  /** The load balancer's settings after the edit. */
  readonly settings: LoadBalancerSettings;
}

/** How long the new load balancer gets to serve the API, unless the edit has a deadline. */
const DEFAULT_EDIT_TIMEOUT_MS = 120_000;

export function editClusterPorts(name: string, edit: PortEdit, options: OperationOptions = {}): Promise<PortEditResult> {
  const adds = edit.add ?? [];
  const deletes = edit.delete ?? [];
  const overrides = edit.settings ?? [];
  if (adds.length === 0 && deletes.length === 0 && overrides.length === 0) {
    throw new UsageError("nothing to edit: give --port-add or --port-delete");
  }
  const timeoutMs = edit.timeout === undefined ? DEFAULT_EDIT_TIMEOUT_MS : toTimeoutMs(edit.timeout);
  const frame = { ...options, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  return runOperation(`editing the ports of cluster "${name}"`, frame, async (op) => {
    const { runtime, signal, dialect } = op;
    const keys = dialect.labels;
    const place = await runtime.place();
    const publishIp = defaultPublishAddress(place);
    const ref = await loadCluster(op, name);
    const lb = ref.loadBalancer;
    if (!lb) {
      throw new UsageError(`cluster "${name}" has no load balancer: ports published on nodes cannot be changed after create`);
    }
    const counts = { servers: ref.servers.length, agents: ref.agents.length, loadBalancer: true };
    const present = {
      server: ref.servers.map((c) => indexOf(dialect, c)),
      agent: ref.agents.map((c) => indexOf(dialect, c)),
      loadBalancer: true,
    };
    const problems: string[] = [];
    const parsed = adds.flatMap((raw) => {
      try {
        const given = parsePortMapping(raw, publishIp);
        const placed = placePort(given, counts);
        checkFiltersSelect(given.filters, present, `--port-add "${raw}"`);
        return [placed];
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        problems.push(err.message);
        return [];
      }
    });
    let settings = storedSettings(dialect, lb);
    for (const o of overrides) {
      try {
        settings = applyLbOverride(settings, o);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        problems.push(err.message);
      }
    }
    if (problems.length > 0) throw new UsageError(problems.join("\n"));

    const apiHostPort = Number(lb.labels[keys.apiPort]);
    const api = lb.spec.ports?.find((b) => isApi(b, apiHostPort));
    if (!api) throw new UsageError(`the load balancer of cluster "${name}" does not publish the API port ${apiHostPort}`);
    const current = pairMappings(
      storedPortSpecs(dialect, lb).map((raw) => ({ raw, mapping: placePort(parsePortMapping(raw, publishIp), counts) })),
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
    const settle = portSettler(place, runtime, lb.image, { ...managedSelector(dialect), [keys.role]: "ports" }, signal);
    const hostPorts = await settle(
      parsed.map((p) => ({
        hostIp: p.hostIp,
        protocol: p.protocol,
        what: `--port-add "${p.raw}"`,
        // A port this edit deletes is not checked: it is free again when the new load balancer starts.
        ...(p.hostPort !== undefined && !freed.has(`${p.hostIp}:${p.hostPort}/${p.protocol}`) ? { hostPort: p.hostPort } : {}),
      })),
      true,
    );
    const added = parsed.map((p, i) => ({
      raw: p.raw,
      mapping: p as PortMapping,
      binding: {
        containerPort: p.containerPort,
        protocol: p.protocol,
        hostIp: p.hostIp,
        hostPort: p.hostPort ?? (hostPorts[i] as number),
      } as PublishedPort,
    }));
    const next = [...kept, ...added];
    const raws = next.map((m) => m.raw);

    const suffix = randomBytes(3).toString("hex");
    const spec: ContainerSpec = {
      ...lb.spec,
      name: `${lb.name}-${suffix}`,
      labels: {
        ...lb.spec.labels,
        [keys.ports]: JSON.stringify(raws),
        ...(Object.keys(settings).length > 0 ? { [keys.lbSettings]: JSON.stringify(settings) } : {}),
      },
      ports: [api, ...next.map((m) => m.binding)],
    };
    const config = renderLoadBalancerConfig(
      raws,
      await runtime.listContainers(clusterSelector(dialect, name), signal),
      settings,
      dialect,
    );
    const parked = `${lb.name}-old-${suffix}`;
    // The new load balancer is created beside the old, takes over its name, and must serve the API
    // before the old one goes; every step before that is undone in reverse if anything fails.
    await execute(
      sequence([
        { type: "create-container", container: spec, files: [{ path: NGINX_CONFIG_PATH, content: config, mode: 0o644 }] },
        ...(lb.running
          ? [{ type: "stop" as const, container: lb.name, timeoutSeconds: DEFAULT_STOP_TIMEOUT_SECONDS, reversible: true }]
          : []),
        { type: "rename", container: lb.name, to: parked },
        { type: "rename", container: spec.name, to: lb.name },
        ...(lb.running
          ? [
              { type: "start" as const, container: lb.name, milestone: "loadbalancer" as const, reversible: true },
              // The API is what a new load balancer has to serve; the nodes behind it did not change.
              { type: "wait-ready" as const, cluster: name, level: "api" as const },
            ]
          : []),
        { type: "remove-container", container: parked },
      ] satisfies Action[]),
      op,
    );
    return {
      name,
      ports: next.map((m) => ({ spec: m.raw, hostIp: m.binding.hostIp, hostPort: m.binding.hostPort })),
      settings,
    };
  });
}
