/**
 * The executor and the operation frame on the memory engine: each action's undo, the order a
 * rollback runs in, parallel work settling before it unwinds, and the waits for node milestones:
 * a node that fails before its milestone, or goes down after it while another is waited for,
 * fails the operation (exit 7) naming that node.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, NodeFailedError, TimeoutError } from "../../src/base/errors.js";
import { exitCodeFor } from "../../src/cli/exit.js";
import type { ClusterEvent } from "../../src/core/events.js";
import { execute } from "../../src/core/executor.js";
import { createCluster } from "../../src/core/operations/create.js";
import { runOperation } from "../../src/core/operation.js";
import { parallel, sequence, type Action } from "../../src/core/plan/actions.js";
import type { ContainerSpec } from "../../src/runtime/types.js";
import { k3sEngine, milestoneLines } from "../support/k3s-node.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";

const IMAGE = "k3box-test/node:1";

function engine(): MemoryRuntime {
  return new MemoryRuntime({ images: { [IMAGE]: {} } });
}

const container = (name: string): ContainerSpec => ({ name, image: IMAGE, labels: {}, network: "net" });
const createContainer = (name: string): Action => ({
  type: "create-container",
  container: container(name),
  files: [{ path: "/etc/node", content: name }],
});

/** Runs a plan the way every operation does: in the frame, with its undo stack and rollback. */
function run(rt: MemoryRuntime, plan: Action, o: { signal?: AbortSignal; timeoutMs?: number } = {}) {
  const events: ClusterEvent[] = [];
  const done = runOperation("running a plan", { runtime: rt, onEvent: (e) => events.push(e), ...o }, (op) => execute(plan, op));
  return { done, events };
}

/** A network, two volumes and three containers, then a start: what a create makes, in miniature. */
const PLAN = sequence([
  { type: "create-network", network: { name: "net", labels: {} } },
  parallel([
    { type: "create-volume", volume: { name: "vol-a", labels: {} } },
    { type: "create-volume", volume: { name: "vol-b", labels: {} } },
  ]),
  parallel([createContainer("node-a"), createContainer("node-b"), createContainer("node-c")]),
  { type: "start", container: "node-a" },
]);

describe("executor: undo and rollback", () => {
  it("carries out a plan and keeps what it made", async () => {
    const rt = engine();
    await run(rt, PLAN).done;
    expect(rt.snapshot()).toEqual({ containers: ["node-a", "node-b", "node-c"], networks: ["net"], volumes: ["vol-a", "vol-b"] });
    expect(rt.files("node-b").read("/etc/node").content.toString()).toBe("node-b");
  });

  it("rolls back newest first: containers, then volumes, then the network", async () => {
    const rt = engine();
    rt.failOn("startContainer");
    const { done, events } = run(rt, PLAN);
    await expect(done).rejects.toThrow("start container node-a: injected failure");
    expect(rt.isEmpty()).toBe(true);
    expect(rt.changes().filter((c) => c.startsWith("remove"))).toEqual([
      "removeContainer node-c",
      "removeContainer node-b",
      "removeContainer node-a",
      "removeVolume vol-b",
      "removeVolume vol-a",
      "removeNetwork net",
    ]);
    expect(events.filter((e) => e.type === "step-start").map((e) => e.type === "step-start" && e.step)).toContain("rollback");
  });

  it("lets every parallel branch finish before it unwinds, so what a sibling made after a failure goes too", async () => {
    const rt = engine();
    // node-b fails at once; node-c is still being made (its creation waits on the hook).
    rt.failOn("createContainer", { match: "node-b" });
    rt.onCall("createContainer", (call) => (call.names[0] === "node-c" ? new Promise((r) => setTimeout(r, 20)) : undefined));
    await expect(run(rt, PLAN).done).rejects.toThrow("create container node-b: injected failure");
    expect(rt.isEmpty()).toBe(true);
    expect(rt.changes()).toContain("createContainer node-c");
  });

  it("removes a container the engine made but whose answer was lost", async () => {
    const rt = engine();
    rt.failOn("createContainer", { match: "node-a", when: "after" });
    await expect(run(rt, PLAN).done).rejects.toThrow(/injected failure/);
    expect(rt.isEmpty()).toBe(true);
  });

  it("does not remove a container whose name was someone else's", async () => {
    const rt = engine();
    await rt.createNetwork({ name: "net", labels: {} });
    await rt.createContainer(container("node-b"));
    const error = await run(rt, sequence([createContainer("node-a"), createContainer("node-b")])).done.catch((e) => e);
    expect(error.message).toBe('container name "node-b" is already in use');
    expect(exitCodeFor(error)).toBe(5);
    expect(rt.snapshot().containers).toEqual(["node-b"]);
  });

  it("a rollback that cannot undo something says what it left, in the error and on the events", async () => {
    const rt = engine();
    rt.failOn("startContainer");
    rt.failOn("removeVolume", { match: "vol-a", times: Infinity });
    const { done, events } = run(rt, PLAN);
    const error = await done.catch((e) => e);
    expect(error.message).toBe("start container node-a: injected failure (rollback left 1 thing behind: remove volume vol-a)");
    expect(events).toContainEqual({
      type: "warning",
      message: "rollback: could not remove volume vol-a: remove volume vol-a: injected failure",
    });
    // A volume left behind holds nothing else back: the network goes.
    expect(rt.snapshot()).toEqual({ containers: [], networks: [], volumes: ["vol-a"] });
  });

  it("reversible stops and starts are undone: what was stopped runs again, what was started stops", async () => {
    const rt = engine();
    await rt.createNetwork({ name: "net", labels: {} });
    for (const name of ["old", "new"]) await rt.createContainer(container(name));
    await rt.startContainer("old");
    rt.failOn("renameContainer", { match: "new" });
    const plan = sequence([
      { type: "stop", container: "old", timeoutSeconds: 1, reversible: true },
      { type: "start", container: "new", reversible: true },
      { type: "rename", container: "old", to: "old-parked" },
      { type: "rename", container: "new", to: "old" },
    ]);
    await expect(run(rt, plan).done).rejects.toThrow(/injected failure/);
    const states = Object.fromEntries((await rt.listContainers({})).map((c) => [c.name, c.state]));
    expect(states).toEqual({ old: "running", new: "exited" });
    expect(rt.changes().slice(-3)).toEqual(["renameContainer old-parked old", "stopContainer new", "startContainer old"]);
  });

  it("once a removal is done, nothing before it is undone", async () => {
    const rt = engine();
    await rt.createNetwork({ name: "net", labels: {} });
    await rt.createContainer(container("old"));
    const ac = new AbortController();
    // The Ctrl-C comes as the engine removes the old container: the change before it stands.
    rt.onCall("removeContainer", () => ac.abort(), "after");
    const plan = sequence([createContainer("new"), { type: "remove-container", container: "old" }]);
    await expect(run(rt, plan, { signal: ac.signal }).done).rejects.toBeInstanceOf(CancelledError);
    expect(rt.snapshot().containers).toEqual(["new"]);
  });
});

describe("executor: waiting for node milestones", () => {
  const startAll = (milestones: Record<string, "server" | "agent">): Action =>
    sequence([
      { type: "create-network", network: { name: "net", labels: {} } },
      parallel(Object.keys(milestones).map(createContainer)),
      parallel(Object.entries(milestones).map(([n, m]) => ({ type: "start", container: n, milestone: m }))),
    ]);

  it("a start waits for the node's milestone line and reports it", async () => {
    const rt = engine();
    rt.program("node-a", async (p) => {
      p.log("starting");
      await new Promise((r) => setTimeout(r, 30));
      p.log(...milestoneLines("server", p.container));
    });
    const { done, events } = run(rt, startAll({ "node-a": "server" }));
    await done;
    expect(events.filter((e) => e.type === "milestone")).toEqual([
      { type: "milestone", node: "node-a", line: 'level=info msg="k3s is up and running"' },
    ]);
  });

  it("a fatal line before the milestone fails the operation at once, naming the node with the line (exit 7)", async () => {
    const rt = engine();
    rt.program("node-a", (p) => p.log('level=fatal msg="starting kubernetes: preparing server: bootstrap data already found"'));
    const error = await run(rt, startAll({ "node-a": "server" })).done.catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error).toMatchObject({
      node: "node-a",
      message: "node node-a failed: starting kubernetes: preparing server: bootstrap data already found",
    });
    expect(exitCodeFor(error)).toBe(7);
    expect(rt.isEmpty()).toBe(true);
  });

  it("a node that exits before its milestone fails the operation, with the lines that say why", async () => {
    const rt = engine();
    rt.program("node-a", (p) => {
      p.log("Error: failed to find memory cgroup (v2)");
      p.exit(1);
    });
    const error = await run(rt, startAll({ "node-a": "agent" })).done.catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error.message).toBe("node node-a exited with code 1");
    expect(error.logTail).toEqual(["Error: failed to find memory cgroup (v2)"]);
    expect(rt.isEmpty()).toBe(true);
  });

  it("a node that goes down after its milestone while another is waited for fails the operation, naming it", async () => {
    const rt = engine();
    rt.program("node-a", async (p) => {
      p.log(...milestoneLines("server", p.container));
      await new Promise((r) => setTimeout(r, 20));
      p.log('E1207 07:00:00.000000 1 kubelet.go:1 "Failed to start ContainerManager" err="cgroup v1"');
      p.exit(255);
    });
    // node-b never comes up: the operation learns of node-a's end from the watchdog, not from node-b.
    rt.program("node-b", (p) => p.log("waiting for the API"));
    const error = await run(rt, startAll({ "node-a": "server", "node-b": "agent" })).done.catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error).toMatchObject({ node: "node-a", message: "node node-a exited with code 255 after it was up" });
    expect(error.logTail).toContain('E1207 07:00:00.000000 1 kubelet.go:1 "Failed to start ContainerManager" err="cgroup v1"');
    expect(exitCodeFor(error)).toBe(7);
    expect(rt.isEmpty()).toBe(true);
  });

  it("a Ctrl-C while a node is waited for cancels and rolls back", async () => {
    const rt = engine();
    const ac = new AbortController();
    rt.program("node-a", (p) => {
      p.log("starting");
      setTimeout(() => ac.abort(), 10);
    });
    await expect(run(rt, startAll({ "node-a": "server" }), { signal: ac.signal }).done).rejects.toBeInstanceOf(CancelledError);
    expect(rt.isEmpty()).toBe(true);
  });

  it("the deadline passing while a node is waited for names the node and its last lines (exit 4)", async () => {
    const rt = engine();
    rt.program("node-a", (p) => p.log('level=info msg="Waiting for etcd"'));
    const error = await run(rt, startAll({ "node-a": "server" }), { timeoutMs: 100 }).done.catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ node: "node-a", logTail: ['level=info msg="Waiting for etcd"'] });
    expect(error.message).toBe("running a plan: timed out after 100ms waiting for node node-a");
    expect(exitCodeFor(error)).toBe(4);
    expect(rt.isEmpty()).toBe(true);
  });
});

describe("create waits for its nodes' milestones", () => {
  // Each fails before the API wait, which the memory engine cannot serve.
  const input = { name: "dev", agents: 1, apiPort: "127.0.0.1:", updateDefaultKubeconfig: false, timeout: "30s" };

  it("an agent that logs a fatal line fails the create, naming it, and leaves nothing", async () => {
    const rt = k3sEngine((node) =>
      node === "k3box-dev-agent-0" ? { kind: "fatal", message: "Error: failed to get CA certs" } : { kind: "up" },
    );
    const error = await createCluster(input, { runtime: rt }).catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    // Whether the fatal line or the exit is seen first depends on when the log is followed; either
    // way the error names the node and carries the line that says why.
    expect(error.node).toBe("k3box-dev-agent-0");
    expect(error.message).toMatch(/^node k3box-dev-agent-0 (failed: Error: failed to get CA certs|exited with code 1)$/);
    expect(error.logTail).toContain('level=fatal msg="Error: failed to get CA certs"');
    expect(exitCodeFor(error)).toBe(7);
    expect(rt.isEmpty()).toBe(true);
  });

  it("a server that goes down after its milestone fails the create with exit 7, naming it, and leaves nothing", async () => {
    const rt = k3sEngine((node) =>
      node === "k3box-dev-server-0" ? { kind: "down-after-milestone", exitCode: 1, afterMs: 10 } : { kind: "up" },
    );
    const events: ClusterEvent[] = [];
    const error = await createCluster(input, { runtime: rt, onEvent: (e) => events.push(e) }).catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error).toMatchObject({
      node: "k3box-dev-server-0",
      message: "node k3box-dev-server-0 exited with code 1 after it was up",
    });
    expect(exitCodeFor(error)).toBe(7);
    // Every node got as far as its milestone before the server's end was noticed.
    expect(events.flatMap((e) => (e.type === "milestone" ? [e.node] : [])).sort()).toEqual([
      "k3box-dev-agent-0",
      "k3box-dev-server-0",
      "k3box-dev-serverlb",
    ]);
    expect(rt.isEmpty()).toBe(true);
  });
});
