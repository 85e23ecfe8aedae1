/**
 * A cluster with agents on a second engine, on two in-memory engines: where the agents go, what
 * the cluster's engine records, and how list, stop, start, delete and rollback reach both.
 */
import { describe, expect, it } from "vitest";
import { RuntimeUnavailableError, UsageError } from "../../src/base/errors.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { createCluster, planClusterCreate } from "../../src/core/operations/create.js";
import { deleteCluster } from "../../src/core/operations/delete.js";
import { startCluster, stopCluster } from "../../src/core/operations/lifecycle.js";
import { clusterImportMode, getCluster, listClusters } from "../../src/core/operations/list.js";
import { createNodes, deleteNodes, getNode, listNodes, startNodes, stopNodes } from "../../src/core/operations/nodes.js";
import { CLUSTER } from "../support/cluster-world.js";
import { k3sEngine } from "../support/k3s-node.js";
import type { MemoryRuntime } from "../support/memory-runtime/index.js";
import "../support/isolated-cache.js";

/** The API where the other engine's host reaches it (as --kubeconfig-server records it). */
const REACHABLE = { ...CLUSTER, kubeconfigServer: "https://192.0.2.10:6443" };

async function engines(): Promise<{
  home: MemoryRuntime;
  away: MemoryRuntime;
  far: string;
  options: { runtime: MemoryRuntime; openEngine: (n: string) => MemoryRuntime };
}> {
  const home = k3sEngine();
  const away = k3sEngine();
  const far = (await away.place()).endpoint;
  const openEngine = (name: string): MemoryRuntime => {
    if (name === far) return away;
    throw new RuntimeUnavailableError(`cannot reach the Docker engine (${name}: no such engine)`);
  };
  return { home, away, far, options: { runtime: home, openEngine } };
}

const names = async (rt: MemoryRuntime) => rt.snapshot();

describe("agents on another engine", () => {
  it("go on that engine, numbered after the cluster's agents, with the cluster's engine's ID; list, stop, start and delete reach them", async () => {
    const { home, away, far, options } = await engines();
    await createCluster(REACHABLE, options);
    const homeId = (await home.info()).id;
    const r = await createNodes({ cluster: "dev", engine: far, replicas: 2, wait: false }, options);
    expect(r.nodes).toEqual(["k3box-dev-agent-2", "k3box-dev-agent-3"]);
    const there = await away.listContainers({});
    expect(there.map((c) => c.name).sort()).toEqual(["k3box-dev-agent-2", "k3box-dev-agent-3"]);
    for (const c of there) {
      expect(c.labels["dev.k3box.home"]).toBe(homeId);
      expect(c.labels["dev.k3box.cluster"]).toBe("dev");
      expect(c.spec.env?.K3S_URL).toBe("https://192.0.2.10:6443");
      expect(c.spec.env?.K3S_TOKEN).toMatch(/\S/);
      expect(c.running).toBe(true);
    }
    // The token is in the node's environment, never in a label.
    expect(JSON.stringify(there.map((c) => c.labels))).not.toContain(there[0]?.spec.env?.K3S_TOKEN as string);
    const link = (await home.listVolumes({ "dev.k3box.role": "engine" }))[0] as string;
    expect((await home.inspectVolume(link))?.labels["dev.k3box.engine"]).toBe(far);

    const [listed] = await listClusters(options);
    expect(listed?.agents).toEqual({ running: 4, total: 4 });
    expect(listed?.nodes.filter((n) => n.engine === far).map((n) => n.name)).toEqual(["k3box-dev-agent-2", "k3box-dev-agent-3"]);
    expect((await listNodes(options)).filter((n) => n.engine === far)).toHaveLength(2);

    // A third agent there continues the numbering; the record is not made twice.
    await createNodes({ cluster: "dev", engine: far, wait: false }, options);
    expect((await away.listContainers({})).map((c) => c.name)).toContain("k3box-dev-agent-4");
    expect(await home.listVolumes({ "dev.k3box.role": "engine" })).toEqual([link]);

    await stopCluster("dev", options);
    expect((await away.listContainers({})).every((c) => !c.running)).toBe(true);
    expect((await getCluster("dev", options)).state).toBe("stopped");
    await startCluster("dev", { ...options, wait: false });
    expect((await away.listContainers({})).every((c) => c.running)).toBe(true);

    await deleteCluster("dev", options);
    expect(home.isEmpty()).toBe(true);
    expect(away.isEmpty()).toBe(true);
  });

  it("are found by name from the cluster's engine: node get, stop, start and delete reach them there", async () => {
    const { home, away, far, options } = await engines();
    await createCluster(REACHABLE, options);
    await createNodes({ cluster: "dev", engine: far, wait: false }, options);
    const node = "k3box-dev-agent-2";
    expect(await getNode(node, options)).toMatchObject({ cluster: "dev", role: "agent", engine: far, running: true });
    await stopNodes([node], options);
    expect((await away.inspectContainer(node))?.running).toBe(false);
    await startNodes([node], { ...options, wait: false });
    expect((await away.inspectContainer(node))?.running).toBe(true);
    await deleteNodes([node], options);
    expect(await away.listContainers({})).toEqual([]);
    expect(await away.listVolumes({})).toEqual([]);
    // The cluster's own nodes are untouched; an unknown name is still not found.
    expect((await home.listContainers({ "dev.k3box.role": "agent" })).map((c) => c.name).sort()).toEqual([
      "k3box-dev-agent-0",
      "k3box-dev-agent-1",
    ]);
    await expect(getNode("k3box-dev-agent-9", options)).rejects.toThrow(/node "k3box-dev-agent-9" not found/);
  });

  it("leave a cluster of the same name that belongs to the other engine alone", async () => {
    const { home, away, far, options } = await engines();
    await createCluster(REACHABLE, options);
    await createCluster(CLUSTER, { runtime: away });
    const own = await names(away);
    await createNodes({ cluster: "dev", engine: far, wait: false }, options);
    await stopCluster("dev", options);
    expect((await away.listContainers({ "dev.k3box.role": "server" }))[0]?.running).toBe(true);
    await deleteCluster("dev", options);
    expect(home.isEmpty()).toBe(true);
    expect(await names(away)).toEqual(own);
  });

  it("are rolled back on both engines when one fails to start: the record goes with them", async () => {
    const { home, away, far, options } = await engines();
    await createCluster(REACHABLE, options);
    const before = await names(home);
    away.failOn("startContainer", { match: "k3box-dev-agent-2" });
    await expect(createNodes({ cluster: "dev", engine: far, wait: false }, options)).rejects.toThrow();
    expect(await names(home)).toEqual(before);
    expect(away.isEmpty()).toBe(true);
  });

  it("are refused, before anything is made, as servers or when the API is published on loopback", async () => {
    const { home, away, far, options } = await engines();
    await createCluster(CLUSTER, options);
    const before = await names(home);
    const loop = createNodes({ cluster: "dev", engine: far, wait: false }, options);
    await expect(loop).rejects.toBeInstanceOf(UsageError);
    await expect(loop).rejects.toThrow(
      /publishes its API on 127\.0\.0\.1, which nodes on .* cannot reach: create it with --api-port ADDRESS:PORT/,
    );
    await expect(createNodes({ cluster: "dev", engine: far, role: "server", wait: false }, options)).rejects.toThrow(
      /servers of "dev" stay on its own engine/,
    );
    await expect(createNodes({ cluster: "dev", engine: far, name: "x" }, options)).rejects.toThrow(
      /a NAME \("x"\) does not apply/,
    );
    expect(await names(home)).toEqual(before);
    expect(away.isEmpty()).toBe(true);
  });

  it("on the cluster's own engine named another way are ordinary agents", async () => {
    const { home, options } = await engines();
    await createCluster(REACHABLE, options);
    const self = (await home.place()).endpoint;
    const r = await createNodes({ cluster: "dev", engine: self, wait: false }, { ...options, openEngine: () => home });
    expect(r.nodes).toEqual(["k3box-dev-agent-2"]);
    expect(await home.listVolumes({ "dev.k3box.role": "engine" })).toEqual([]);
  });

  it("on an engine that cannot be reached: delete refuses and removes nothing (exit 3) unless asked; list reports it and the cluster as degraded", async () => {
    const { home, away, far, options } = await engines();
    await createCluster(REACHABLE, options);
    await createNodes({ cluster: "dev", engine: far, wait: false }, options);
    const lost = {
      runtime: home,
      openEngine: (name: string): MemoryRuntime => {
        throw new RuntimeUnavailableError(`cannot reach the Docker engine (${name}: connection refused)`);
      },
    };
    const before = await names(home);
    const failed = deleteCluster("dev", lost);
    await expect(failed).rejects.toBeInstanceOf(RuntimeUnavailableError);
    await expect(failed).rejects.toThrow(`cluster "dev" has nodes on engine ${far}, which cannot be reached`);
    expect(await names(home)).toEqual(before);
    await expect(failed).rejects.toThrow(
      "Nothing was deleted: run the delete again once it answers, or delete the rest with --forget-unreachable",
    );
    expect(await names(home)).toEqual(before);
    const status = await getCluster("dev", lost);
    expect(status.state).toBe("degraded");
    expect(status.unreachable?.[0]?.engine).toBe(far);
    expect(status.agents.total).toBe(2);
    // Asked to, delete removes what it reaches and says what it leaves.
    const warnings: string[] = [];
    const onEvent = (e: { type: string; message?: string }) => (e.type === "warning" ? warnings.push(e.message ?? "") : 0);
    await deleteCluster("dev", { ...lost, forgetUnreachable: true, onEvent });
    expect(home.isEmpty()).toBe(true);
    expect((await away.listContainers({})).map((c) => c.name)).toEqual(["k3box-dev-agent-2"]);
    expect(warnings).toContain(
      `the nodes of "dev" on ${far} are not deleted (the engine did not answer): remove them there with k3box --engine ${far} cluster delete dev`,
    );
  });
});

describe("the import mode a cluster records", () => {
  it("is read from the cluster's own engine, without reaching the engines its other nodes run on", async () => {
    const { far, options } = await engines();
    await createCluster({ ...REACHABLE, imageImportMode: "registry" }, options);
    await createNodes({ cluster: "dev", engine: far, wait: false }, options);
    const opened: string[] = [];
    const counting = {
      runtime: options.runtime,
      openEngine: (name: string) => {
        opened.push(name);
        return options.openEngine(name);
      },
    };
    expect(await clusterImportMode("dev", counting)).toBe("registry");
    expect(opened).toEqual([]);
    expect((await getCluster("dev", counting)).imageImportMode).toBe("registry");
    expect(opened).toEqual([far]);
    await expect(clusterImportMode("nope", counting)).rejects.toThrow('cluster "nope" not found');
  });

  it("is eager unless the cluster was created with another", async () => {
    const { options } = await engines();
    await createCluster(REACHABLE, options);
    expect(await clusterImportMode("dev", options)).toBe("eager");
  });
});

describe("node groups of a config file (nodes:)", () => {
  it("are validated with the rest of the spec: the engine, the count, filters, the cluster's size", async () => {
    const bad = buildClusterSpec({
      name: "dev",
      nodeGroups: [
        { engine: "" },
        { engine: "tcp://a:2375", agents: 0 },
        { engine: "tcp://b:2375", k3sArgs: ["--node-label=x=y@agent:0"] },
        { engine: "tcp://c:2375", agents: 600 },
        { engine: "tcp://d:2375", agents: 600 },
      ],
    });
    await expect(bad).rejects.toBeInstanceOf(UsageError);
    await expect(bad).rejects.toThrow(/a node group needs the engine it runs on/);
    await expect(bad).rejects.toThrow(/invalid agent count "0" of the group on tcp:\/\/a:2375/);
    await expect(bad).rejects.toThrow(/"--node-label=x=y@agent:0" of the group on tcp:\/\/b:2375: node filters do not apply/);
    await expect(bad).rejects.toThrow(
      /too many nodes: 1 on the cluster's engine and 1200 on others make 1201; a cluster holds at most 1000/,
    );
    const good = await buildClusterSpec({
      name: "dev",
      nodeGroups: [{ engine: " tcp://a:2375 ", k3sArgs: ["--node-label=far=yes"] }],
    });
    expect(good.nodeGroups).toEqual([{ engine: "tcp://a:2375", agents: 1, k3sArgs: ["--node-label=far=yes"] }]);
  });

  it("are created with the cluster, in its one operation: a failure there rolls back both engines", async () => {
    const { home, away, far, options } = await engines();
    const made = await createCluster({ ...REACHABLE, nodeGroups: [{ engine: far, agents: 2 }] }, options);
    expect(made.nodes).toContain("k3box-dev-agent-3");
    expect((await away.listContainers({})).map((c) => c.name).sort()).toEqual(["k3box-dev-agent-2", "k3box-dev-agent-3"]);
    await deleteCluster("dev", options);
    expect(home.isEmpty() && away.isEmpty()).toBe(true);

    away.failOn("startContainer", { match: "k3box-dev-agent-3" });
    await expect(createCluster({ ...REACHABLE, nodeGroups: [{ engine: far, agents: 2 }] }, options)).rejects.toThrow();
    expect(home.isEmpty()).toBe(true);
    expect(away.isEmpty()).toBe(true);
  });

  it("are checked by --dry-run as by create: it reaches their engines and says where they will go", async () => {
    const { home, away, far, options } = await engines();
    const notes: string[] = [];
    const onEvent = (e: { type: string; message?: string }) => (e.type === "note" ? notes.push(e.message ?? "") : 0);
    await planClusterCreate({ ...REACHABLE, nodeGroups: [{ engine: far, agents: 2 }] }, { ...options, onEvent });
    expect(notes).toContain(`then 2 agents on ${far}, joining through https://192.0.2.10:6443`);
    await expect(planClusterCreate({ ...CLUSTER, nodeGroups: [{ engine: far }] }, options)).rejects.toThrow(
      /publishes its API on 127\.0\.0\.1/,
    );
    await expect(
      planClusterCreate({ ...REACHABLE, nodeGroups: [{ engine: "tcp://nowhere:2375" }] }, options),
    ).rejects.toBeInstanceOf(RuntimeUnavailableError);
    expect(home.isEmpty() && away.isEmpty()).toBe(true);
  });

  it("on an engine that does not answer, or with the API on loopback, fail before anything is created", async () => {
    const { home, away, far, options } = await engines();
    await expect(createCluster({ ...REACHABLE, nodeGroups: [{ engine: "tcp://nowhere:2375" }] }, options)).rejects.toBeInstanceOf(
      RuntimeUnavailableError,
    );
    await expect(createCluster({ ...CLUSTER, nodeGroups: [{ engine: far }] }, options)).rejects.toThrow(
      /publishes its API on 127\.0\.0\.1/,
    );
    expect(home.isEmpty()).toBe(true);
    expect(away.isEmpty()).toBe(true);
  });
});
