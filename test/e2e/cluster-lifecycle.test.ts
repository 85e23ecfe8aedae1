import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox } from "./helpers.js";
import { ingressNodes, lbConfig, reaches, states, upstreams } from "./lb.js";

interface ListedCluster {
  name: string;
  state: string;
  servers: { running: number; total: number };
  agents: { running: number; total: number };
}

async function listed(sb: Sandbox, name: string): Promise<ListedCluster | undefined> {
  const r = await sb.k3box(["cluster", "list", "-o", "json"]);
  return (JSON.parse(r.stdout) as ListedCluster[]).find((c) => c.name === name);
}

async function readyz(sb: Sandbox, name: string): Promise<string> {
  const r = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
  return r.stdout.trim();
}

describe("cluster stop and start: 1 server + 2 agents", () => {
  let sb: Sandbox;
  let name: string;
  let port: number;

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("life");
    port = await getPort();
    const r = await sb.k3box(["cluster", "create", name, "-a", "2", "-i", DOUBLE_IMAGE, "-p", `${port}:80`, "--timeout", "3m"]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("start on a running cluster is a no-op that says so", async () => {
    const before = await states(name);
    const r = await sb.k3box(["cluster", "start", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Cluster "${name}" is already running: nothing to do`);
    expect(await states(name)).toEqual(before);
  });

  it("stop stops every container, and list says stopped", async () => {
    const r = await sb.k3box(["cluster", "stop", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Cluster "${name}" stopped`);
    expect(Object.values(await states(name))).toEqual(["exited", "exited", "exited", "exited"]);
    const c = await listed(sb, name);
    expect(c?.state).toBe("stopped");
    expect(c?.servers).toEqual({ running: 0, total: 1 });
    expect(c?.agents).toEqual({ running: 0, total: 2 });
    const again = await sb.k3box(["cluster", "stop", name]);
    expect(again.stderr).toContain("is already stopped: nothing to do");
    // An agent alone would wait for a server forever: refused, and nothing is started.
    const agent = await sb.k3box(["node", "start", `k3box-${name}-agent-0`]);
    expect(agent.code).toBe(5);
    expect(agent.stderr).toContain("has no running server for the nodes to join");
    expect(Object.values(await states(name))).toEqual(["exited", "exited", "exited", "exited"]);
  });

  it("start brings every node back, the API answers through the load balancer and the ingress port reaches the nodes", async () => {
    const r = await sb.k3box(["cluster", "start", name, "--timeout", "2m"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Cluster "${name}" started`);
    // Order: server, then the agents, then the load balancer.
    const started = [...r.stderr.matchAll(/Started (\S+)/g)].map((m) => m[1]);
    expect(started[0]).toBe(`k3box-${name}-server-0`);
    expect(started.at(-1)).toBe(`k3box-${name}-serverlb`);
    expect(await readyz(sb, name)).toBe("ok");
    expect(Object.values(await states(name))).toEqual(["running", "running", "running", "running"]);
    expect((await listed(sb, name))?.state).toBe("running");
    expect(upstreams(await lbConfig(name))["80/tcp"]).toEqual([
      `k3box-${name}-server-0`,
      `k3box-${name}-agent-0`,
      `k3box-${name}-agent-1`,
    ]);
    const seen = await ingressNodes(port);
    expect(seen.size).toBeGreaterThan(1);
  });

  it("restart stops and starts again, ready afterwards", async () => {
    const r = await sb.k3box(["cluster", "restart", name, "--timeout", "2m"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Cluster "${name}" restarted`);
    expect(await readyz(sb, name)).toBe("ok");
  });

  it("start on a partly running cluster starts what is stopped and puts it back into the load balancer", async () => {
    const stop = await sb.k3box(["node", "stop", `k3box-${name}-agent-1`]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await listed(sb, name))?.state).toBe("degraded");
    expect(upstreams(await lbConfig(name))["80/tcp"]).not.toContain(`k3box-${name}-agent-1`);
    const r = await sb.k3box(["cluster", "start", name, "--timeout", "2m"]);
    expect(r.code, r.stderr).toBe(0);
    expect([...r.stderr.matchAll(/Started (\S+)/g)].map((m) => m[1])).toEqual([`k3box-${name}-agent-1`]);
    expect((await listed(sb, name))?.state).toBe("running");
    expect(upstreams(await lbConfig(name))["80/tcp"]).toContain(`k3box-${name}-agent-1`);
    expect(await reaches(port, `k3box-${name}-agent-1`)).toBe(true);
    expect(await readyz(sb, name)).toBe("ok");
  });

  it("unknown clusters are not found (exit 6), and names plus --all is a usage error", async () => {
    const unknown = sb.name("missing");
    for (const cmd of ["start", "stop", "restart"]) {
      const r = await sb.k3box(["cluster", cmd, unknown]);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(`cluster "${unknown}" not found`);
    }
    const both = await sb.k3box(["cluster", "stop", name, "--all"]);
    expect(both.code).toBe(2);
    expect((await listed(sb, name))?.state).toBe("running");
  });
});

describe("cluster stop and start: 3 servers", () => {
  it("survives 10 stop/start cycles in a row, the API answering through the load balancer after each", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("ha");
      const create = await sb.k3box(["cluster", "create", name, "-s", "3", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
      expect(create.code, create.stderr).toBe(0);
      for (let cycle = 1; cycle <= 10; cycle++) {
        const stop = await sb.k3box(["cluster", "stop", name]);
        expect(stop.code, `stop ${cycle}: ${stop.stderr}`).toBe(0);
        expect(
          Object.values(await states(name)).every((s) => s === "exited"),
          `cycle ${cycle}`,
        ).toBe(true);
        const start = await sb.k3box(["cluster", "start", name, "--timeout", "2m"]);
        expect(start.code, `start ${cycle}: ${start.stderr}`).toBe(0);
        expect(await readyz(sb, name), `cycle ${cycle}`).toBe("ok");
      }
      const nodes = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/api/v1/nodes"]);
      const names = (JSON.parse(nodes.stdout) as { items: Array<{ metadata: { name: string } }> }).items.map(
        (i) => i.metadata.name,
      );
      expect(names.sort()).toEqual([0, 1, 2].map((i) => `k3box-${name}-server-${i}`));

      // A server added later is a member like the others: it goes through the same stop and start.
      const add = await sb.k3box(["node", "create", "--cluster", name, "--role", "server", "--timeout", "2m"]);
      expect(add.code, add.stderr).toBe(0);
      expect(upstreams(await lbConfig(name))["6443/tcp"]).toEqual([0, 1, 2, 3].map((i) => `k3box-${name}-server-${i}`));
      expect((await sb.k3box(["cluster", "stop", name])).code).toBe(0);
      const start = await sb.k3box(["cluster", "start", name, "--timeout", "2m"]);
      expect(start.code, start.stderr).toBe(0);
      expect(await readyz(sb, name)).toBe("ok");
      expect(upstreams(await lbConfig(name))["6443/tcp"]).toEqual([0, 1, 2, 3].map((i) => `k3box-${name}-server-${i}`));
    } finally {
      await sb.dispose();
    }
  });
});
