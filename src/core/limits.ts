/**
 * The bounds k3box holds its input to. The spec builder, the config loader and node create
 * check against these, so a library caller is as protected as the command line. README,
 * "Limits", gives the same numbers and reasons.
 */
import { UsageError } from "../base/errors.js";

export const LIMITS = {
  /**
   * Servers per cluster. With the embedded datastore every server is an etcd member, and etcd
   * advises at most 7; with an external datastore servers are API servers. 99 leaves room for
   * both and still catches a typo.
   */
  servers: 99,
  /**
   * Servers plus agents per cluster. A cluster's network is one Linux bridge, which takes at most
   * 1024 ports (the kernel's BR_MAX_PORTS); the load balancer and registries need some of them.
   */
  nodes: 1000,
  /** Any deadline. Longer is a typo, and Node's timers cannot hold more than 2^31-1 ms (24.8 days). */
  timeoutMs: 24 * 3_600_000,
  /** A node's stop timeout (Docker's `t`), in seconds: the same 24 hours. */
  stopTimeoutSeconds: 24 * 3600,
  /** A config file or registries.yaml: written by hand; file contents belong in `files[].source`. */
  yamlBytes: 1024 * 1024,
  /** Alias expansions when a YAML file is read (the `yaml` library's own default, made explicit). */
  yamlAliases: 100,
  /** Nesting of mappings and lists in a YAML file; k3box's own schema needs 6. */
  yamlDepth: 64,
} as const;

/** Problems with server and agent counts, each naming the value and the field it is about. */
export function nodeCountProblems(servers: number, agents: number): { field: "servers" | "agents"; message: string }[] {
  const problems: { field: "servers" | "agents"; message: string }[] = [];
  const serversOk = Number.isInteger(servers) && servers >= 1 && servers <= LIMITS.servers;
  const agentsOk = Number.isInteger(agents) && agents >= 0 && agents <= LIMITS.nodes - 1;
  if (!serversOk) problems.push({ field: "servers", message: `invalid server count "${servers}": use 1 to ${LIMITS.servers}` });
  if (!agentsOk) problems.push({ field: "agents", message: `invalid agent count "${agents}": use 0 to ${LIMITS.nodes - 1}` });
  if (serversOk && agentsOk && servers + agents > LIMITS.nodes) {
    problems.push({
      field: "agents",
      message: `too many nodes: ${servers} servers and ${agents} agents make ${servers + agents}; a cluster holds at most ${LIMITS.nodes}`,
    });
  }
  return problems;
}

/** A count within its bounds, for the checks that run on after a bad count was reported. */
export function clampCount(n: number, min: number, max: number): number {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.floor(n))) : min;
}

/** How many nodes `node create` may add to a cluster that has `existing` k3s nodes. */
export function checkReplicas(replicas: number, existing = 0): void {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > LIMITS.nodes) {
    throw new UsageError(`invalid replicas "${replicas}": use 1 to ${LIMITS.nodes}`);
  }
  if (existing + replicas > LIMITS.nodes) {
    throw new UsageError(`invalid replicas "${replicas}": the cluster has ${existing} nodes and holds at most ${LIMITS.nodes}`);
  }
}

/** A deadline in milliseconds, or a UsageError naming what was given. */
export function checkTimeoutMs(ms: number, given: string | number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > LIMITS.timeoutMs) {
    throw new UsageError(`invalid timeout "${given}": use at most ${LIMITS.timeoutMs / 3_600_000}h`);
  }
  return ms;
}

export function checkStopTimeout(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > LIMITS.stopTimeoutSeconds) {
    throw new UsageError(`invalid stop timeout "${seconds}": use 0 to ${LIMITS.stopTimeoutSeconds} seconds`);
  }
  return seconds;
}
