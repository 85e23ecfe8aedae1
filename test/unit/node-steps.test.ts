/**
 * node create, stop and start on the memory engine with a fault at every engine call they make:
 * a failure or a Ctrl-C, before the engine's work or after it. Whatever the step, the operation
 * fails with that error and puts the cluster back as it was: no new node, the load balancer's
 * config as before, nodes running or stopped as before.
 */
import { describe, expect, it } from "vitest";
import { createNodes, startNodes, stopNodes } from "../../src/core/operations/nodes.js";
import { type ClusterWorld, LB, clusterScenario, expectLoadBalancerConsistent } from "../support/cluster-world.js";
import { k3sEngine, upstreamNames } from "../support/k3s-node.js";
import {
  type EngineState,
  FAULTS,
  type Reference,
  type Scenario,
  callName,
  describeFault,
  engineState,
  referenceRun,
  expectCleanRollback,
  sweepFault,
} from "../support/step-sweep.js";

/** A sweep whose every failed run must leave the engine exactly as the operation found it. */
function sweepRestores(scenario: Scenario<ClusterWorld>, reference: Reference<ClusterWorld>, what: string) {
  for (const fault of FAULTS) {
    it(`${describeFault(fault)} at any of its ${reference.calls.length} engine calls fails with that error and ${what}`, async () => {
      const survived = await sweepFault(scenario, reference, fault, {
        failed: async (run, at) => {
          expect.soft(await engineState(run.s.rt), at).toEqual(run.s.before);
          // Removing a new node's Node object needs an API the memory engine lacks.
          expectCleanRollback(run, at, (w) => w.startsWith("could not remove the Node objects from the API"));
        },
      });
      expect(survived).toEqual([]);
    });
  }
}

const AGENTS = ["k3box-dev-agent-0", "k3box-dev-agent-1"];

const addAgents = clusterScenario((_, o) => createNodes({ cluster: "dev", role: "agent", replicas: 2, wait: false }, o));
const added = await referenceRun(addAgents);

describe(`node create: 2 agents into a running cluster (${added.calls.length} engine calls)`, () => {
  it("adds them, and the load balancer sends their port to them", async () => {
    const state = await engineState(added.s.rt);
    expect(state.containers.map((c) => [c.name, c.state])).toEqual([
      ["k3box-dev-agent-0", "running"],
      ["k3box-dev-agent-1", "running"],
      ["k3box-dev-agent-2", "running"],
      ["k3box-dev-agent-3", "running"],
      ["k3box-dev-server-0", "running"],
      [LB, "running"],
    ]);
    expect(upstreamNames(state.containers.find((c) => c.name === LB)?.config ?? "")).toEqual([
      "k3box-dev-agent-0",
      "k3box-dev-agent-1",
      "k3box-dev-agent-2",
      "k3box-dev-agent-3",
      "k3box-dev-server-0",
    ]);
    expect(added.calls.map(callName)).toContain("exec k3box-dev-serverlb");
  });

  sweepRestores(addAgents, added, "removes them again and puts the load balancer's config back");
});

/** Joining a cluster k3box did not make, by its URL: the nodes are waited for until their milestones. */
const joinByUrl: Scenario<ClusterWorld> = {
  setup: async () => {
    const rt = k3sEngine();
    return { rt, before: await engineState(rt) };
  },
  run: (_, o) => createNodes({ cluster: "https://10.0.0.1:6443", token: "t0ken", name: "ext", replicas: 2 }, o),
};
const joined = await referenceRun(joinByUrl);

describe(`node create: 2 agents joining a cluster by its URL, waited for (${joined.calls.length} engine calls)`, () => {
  it("starts them and waits for each to register", () => {
    expect(joined.s.rt.snapshot().containers).toEqual(["k3box-ext-agent-0", "k3box-ext-agent-1"]);
    expect(joined.events.filter((e) => e.type === "milestone").map((e) => e.type === "milestone" && e.node)).toEqual([
      "k3box-ext-agent-0",
      "k3box-ext-agent-1",
    ]);
  });

  sweepRestores(joinByUrl, joined, "leaves the engine empty");
});

const stopAgents = clusterScenario((_, o) => stopNodes(AGENTS, o));
const stopped = await referenceRun(stopAgents);

describe(`node stop: 2 agents (${stopped.calls.length} engine calls)`, () => {
  it("takes them out of the load balancer, then stops them", async () => {
    const state = await engineState(stopped.s.rt);
    expect(state.containers.filter((c) => c.state !== "running").map((c) => c.name)).toEqual(AGENTS);
    expect(upstreamNames(state.containers.find((c) => c.name === LB)?.config ?? "")).toEqual(["k3box-dev-server-0"]);
  });

  sweepRestores(stopAgents, stopped, "starts what it stopped again and puts the load balancer's config back");
});

const startAgents = clusterScenario(
  (_, o) => startNodes(AGENTS, o),
  async (rt) => {
    await stopNodes(AGENTS, { runtime: rt });
    // Time passes between the stop and the start, as it does.
    rt.advanceClock(1000);
  },
);
const started = await referenceRun(startAgents);

describe(`node start: 2 stopped agents, waited for (${started.calls.length} engine calls)`, () => {
  it("starts them, waits for them to register, and puts them back into the load balancer", async () => {
    const state = await engineState(started.s.rt);
    expect(state.containers.every((c) => c.state === "running")).toBe(true);
    expect(upstreamNames(state.containers.find((c) => c.name === LB)?.config ?? "")).toEqual([...AGENTS, "k3box-dev-server-0"]);
    expect(started.events.filter((e) => e.type === "milestone").length).toBe(2);
  });

  // What started stays started (as for cluster start), and the load balancer keeps the config it had.
  for (const fault of FAULTS) {
    it(`${describeFault(fault)} at any of its ${started.calls.length} engine calls fails with that error, leaving each node as it was or started, and the load balancer's config as it was`, async () => {
      const survived = await sweepFault(startAgents, started, fault, {
        failed: async (run, at) => {
          const state = await engineState(run.s.rt);
          const lb = (s: EngineState) => s.containers.find((c) => c.name === LB);
          expect.soft(lb(state), at).toEqual(lb(run.s.before));
          for (const [i, c] of state.containers.entries()) {
            expect.soft([run.s.before.containers[i]?.state, "running"], `${at}: ${c.name}`).toContain(c.state);
          }
          expect.soft(run.s.rt.snapshot(), at).toEqual(started.s.rt.snapshot());
          await expectLoadBalancerConsistent(run.s.rt, at);
        },
      });
      expect(survived).toEqual([]);
    });
  }
});
