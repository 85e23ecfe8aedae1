/**
 * cluster stop, start and edit on the memory engine with a fault at every engine call they make:
 * a failure or a Ctrl-C, before the engine's work or after it. An edit that fails puts the load
 * balancer back as it was; a stop or start that fails leaves each node as it was or as asked
 * (nothing is created, so nothing is rolled back), the load balancer consistent, and runs again
 * to the end.
 */
import { describe, expect, it } from "vitest";
import { CancelledError } from "../../src/base/errors.js";
import type { ClusterEvent } from "../../src/core/events.js";
import { editClusterPorts, type PortEdit } from "../../src/core/operations/edit.js";
import { startCluster, stopCluster } from "../../src/core/operations/lifecycle.js";
import { type ClusterWorld, LB, clusterScenario, expectLoadBalancerConsistent } from "../support/cluster-world.js";
import type { MemoryRuntime } from "../support/memory-runtime/index.js";
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
  withoutHostPorts,
} from "../support/step-sweep.js";

const stoppedCluster = async (rt: MemoryRuntime) => {
  await stopCluster("dev", { runtime: rt });
  // Time passes before the next start, as it does.
  rt.advanceClock(1000);
};

/**
 * A stop or start cut short: every node as it was or as asked, nothing made or removed, the load
 * balancer consistent; run again, the operation gets to where the reference run got.
 */
function sweepResumable(
  scenario: Scenario<ClusterWorld>,
  reference: Reference<ClusterWorld>,
  asked: "running" | "exited",
  again: (rt: MemoryRuntime) => Promise<unknown>,
) {
  for (const fault of FAULTS) {
    it(`${describeFault(fault)} at any of its ${reference.calls.length} engine calls fails with that error, leaves each node as it was or ${asked}, and a second run finishes`, async () => {
      const end = withoutHostPorts(await engineState(reference.s.rt));
      const survived = await sweepFault(scenario, reference, fault, {
        failed: async (run, at) => {
          const state = await engineState(run.s.rt);
          expect.soft(run.s.rt.snapshot(), at).toEqual(reference.s.rt.snapshot());
          for (const [i, c] of state.containers.entries()) {
            expect.soft([run.s.before.containers[i]?.state, asked], `${at}: ${c.name}`).toContain(c.state);
          }
          await expectLoadBalancerConsistent(run.s.rt, at);
          await again(run.s.rt);
          expect.soft(withoutHostPorts(await engineState(run.s.rt)), `${at}, run again`).toEqual(end);
        },
      });
      expect(survived).toEqual([]);
    });
  }
}

const stop = clusterScenario((_, o) => stopCluster("dev", o));
const stopped = await referenceRun(stop);

describe(`cluster stop (1 server, 2 agents, a load balancer; ${stopped.calls.length} engine calls)`, () => {
  it("stops the load balancer first, then the agents, the server last", () => {
    expect(stopped.calls.filter((c) => c.method === "stopContainer").map(callName)).toEqual([
      `stopContainer ${LB}`,
      "stopContainer k3box-dev-agent-0",
      "stopContainer k3box-dev-agent-1",
      "stopContainer k3box-dev-server-0",
    ]);
  });

  sweepResumable(stop, stopped, "exited", (rt) => stopCluster("dev", { runtime: rt }));
});

const start = clusterScenario((_, o) => startCluster("dev", { ...o, wait: false }), stoppedCluster);
const started = await referenceRun(start);

describe(`cluster start without waiting (${started.calls.length} engine calls)`, () => {
  it("starts the server, the agents, then the load balancer with a config for them", async () => {
    expect(started.calls.filter((c) => c.method === "startContainer").map(callName)).toEqual([
      "startContainer k3box-dev-server-0",
      "startContainer k3box-dev-agent-0",
      "startContainer k3box-dev-agent-1",
      `startContainer ${LB}`,
    ]);
    const state = await engineState(started.s.rt);
    expect(state.containers.every((c) => c.state === "running")).toBe(true);
  });

  sweepResumable(start, started, "running", (rt) => startCluster("dev", { runtime: rt, wait: false }));
});

/** Port 80 goes, 90 comes: the load balancer is replaced. */
const EDIT: PortEdit = { add: ["127.0.0.1::90@agent:*"], delete: ["127.0.0.1::80@agent:*"], timeout: "10s" };

/**
 * A sweep whose every failed run must leave the engine exactly as the operation found it, up to
 * `lastStep`: removing the old load balancer, after which nothing is undone. A failure reported
 * once the engine removed it is no failure; a Ctrl-C then ends an edit that is done.
 */
function sweepRestores(scenario: Scenario<ClusterWorld>, reference: Reference<ClusterWorld>, what: string, lastStep?: string) {
  for (const fault of FAULTS) {
    const done = fault.when === "after" && lastStep !== undefined && reference.calls.map(callName).includes(lastStep);
    const note = done
      ? ` (but for ${fault.kind === "fail" ? "the" : "a Ctrl-C after the"} last step, after which the edit is done)`
      : "";
    it(`${describeFault(fault)} at any of its ${reference.calls.length} engine calls fails with that error and ${what}${note}`, async () => {
      const edited = withoutHostPorts(await engineState(reference.s.rt));
      const survived = await sweepFault(scenario, reference, fault, {
        failed: async (run, at) => {
          const state = await engineState(run.s.rt);
          if (done && callName(run.call) === lastStep) expect.soft(withoutHostPorts(state), at).toEqual(edited);
          else expect.soft(state, at).toEqual(run.s.before);
          expectCleanRollback(run, at);
        },
        survived: async (run, at) => expect.soft(withoutHostPorts(await engineState(run.s.rt)), at).toEqual(edited),
      });
      expect(survived).toEqual(done && fault.kind === "fail" ? [lastStep] : []);
    });
  }
}

const editStopped = clusterScenario((_, o) => editClusterPorts("dev", EDIT, o), stoppedCluster);
const edited = await referenceRun(editStopped);

describe(`cluster edit of a stopped cluster (${edited.calls.length} engine calls)`, () => {
  it("replaces the load balancer: a new one with the new ports takes the old one's name", async () => {
    const lb = (await engineState(edited.s.rt)).containers.find((c) => c.name === LB);
    expect(lb?.state).toBe("created");
    expect(lb?.ports.map((p) => p.replace(/:\d+:/, ":*:"))).toEqual(["127.0.0.1:*:6443/tcp", "127.0.0.1:*:90/tcp"]);
    expect(edited.s.rt.snapshot().containers).toHaveLength(4);
  });

  sweepRestores(
    editStopped,
    edited,
    "leaves the old load balancer as it was, under its name",
    "removeContainer k3box-dev-serverlb-old-*",
  );
});

/**
 * On a running cluster the new load balancer must serve the API before the old one goes, which the
 * memory engine cannot: the edit is followed up to that wait, where a Ctrl-C ends it.
 */
const editRunning = clusterScenario((_, o) => editClusterPorts("dev", EDIT, o));
const upToTheApi = await (async (): Promise<{ reference: Reference<ClusterWorld>; error: unknown; after: EngineState }> => {
  const s = await editRunning.setup();
  const first = s.rt.calls.length;
  const ac = new AbortController();
  const events: ClusterEvent[] = [];
  let reached = 0;
  const onEvent = (e: ClusterEvent) => {
    events.push(e);
    if (e.type === "milestone" && e.node === LB) {
      reached = s.rt.calls.length;
      ac.abort();
    }
  };
  const error = await editRunning.run(s, { runtime: s.rt, signal: ac.signal, onEvent }).catch((e: unknown) => e);
  const calls = s.rt.calls.slice(first, reached);
  return { reference: { s, calls, events, result: undefined }, error, after: await engineState(s.rt) };
})();

describe(`cluster edit of a running cluster, up to the API wait (${upToTheApi.reference.calls.length} engine calls)`, () => {
  it("a Ctrl-C as the new load balancer comes up stops it, gives the old one its name back and starts it again", () => {
    const { reference, error, after } = upToTheApi;
    expect(error).toBeInstanceOf(CancelledError);
    expect(after).toEqual(reference.s.before);
    expect(reference.calls.filter((c) => c.method === "stopContainer" || c.method === "startContainer").map(callName)).toEqual([
      `stopContainer ${LB}`,
      `startContainer ${LB}`,
    ]);
  });

  sweepRestores(editRunning, upToTheApi.reference, "leaves the old load balancer as it was, under its name and running");
});
