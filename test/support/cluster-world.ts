/**
 * The cluster the step sweeps of cluster and node operations start from: 1 server, 2 agents and a
 * load balancer on the memory engine, with port 80 going to the agents so the load balancer's config
 * changes with them.
 */
import { expect } from "vitest";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { createCluster } from "../../src/core/operations/create.js";
import { k3sEngine, upstreamNames } from "./k3s-node.js";
import type { MemoryRuntime } from "./memory-runtime/index.js";
import { type EngineState, type Scenario, engineState } from "./step-sweep.js";

export interface ClusterWorld {
  readonly rt: MemoryRuntime;
  /** The engine as the operation found it. */
  readonly before: EngineState;
}

export const CLUSTER: ClusterInput = {
  name: "dev",
  agents: 2,
  wait: false,
  apiPort: "127.0.0.1:",
  ports: ["127.0.0.1::80@agent:*"],
  updateDefaultKubeconfig: false,
};
export const LB = "k3box-dev-serverlb";

/** A running cluster, then whatever `prepare` does to it. */
export function clusterScenario(
  run: Scenario<ClusterWorld>["run"],
  prepare: (rt: MemoryRuntime) => Promise<unknown> = async () => {},
): Scenario<ClusterWorld> {
  return {
    setup: async () => {
      const rt = k3sEngine();
      await createCluster(CLUSTER, { runtime: rt });
      await prepare(rt);
      return { rt, before: await engineState(rt) };
    },
    run,
  };
}

/** A running load balancer's config names only nodes Docker's DNS knows from inside it: `nginx -t` passes. */
export async function expectLoadBalancerConsistent(rt: MemoryRuntime, at: string): Promise<void> {
  const lb = (await engineState(rt)).containers.find((c) => c.name === LB);
  if (lb?.state !== "running") return;
  for (const name of upstreamNames(lb.config ?? "")) expect.soft(rt.resolve(LB, name), `${at}: ${name}`).not.toEqual([]);
}
