import { once } from "node:events";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, dockerJson, leftovers } from "./helpers.js";
import { containerIds, ingress, ingressNodes, lbConfig, reaches, upstreams } from "./lb.js";

interface Inspect {
  Name: string;
  Image: string;
  Config: { Image: string; Env: string[]; Cmd: string[]; Entrypoint: string[]; Labels: Record<string, string> };
  HostConfig: { Privileged: boolean; RestartPolicy: { Name: string } };
  Mounts: Array<{ Type: string; Name?: string; Destination: string }>;
}

async function inspect(name: string): Promise<Inspect> {
  return (await dockerJson<Inspect[]>(["inspect", name]))[0] as Inspect;
}

async function apiNodes(sb: Sandbox, cluster: string): Promise<string[]> {
  const r = await sb.kubectl(["--context", `k3box-${cluster}`, "get", "--raw", "/api/v1/nodes"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name).sort();
}

async function volumes(cluster: string): Promise<string[]> {
  const r = await docker(["volume", "ls", "-q", "--filter", `label=dev.k3box.cluster=${cluster}`]);
  return r.stdout.split("\n").filter(Boolean).sort();
}

describe("node create and delete on a cluster with embedded etcd", () => {
  let sb: Sandbox;
  let name: string;
  let port: number;
  let apiPort: number;
  let gateway: string;
  const n = (s: string) => `k3box-${name}-${s}`;

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("nodes");
    port = await getPort();
    // The API on the default bridge's gateway, so that a container on that bridge can join by URL.
    const bridge = await dockerJson<Array<{ IPAM: { Config: Array<{ Gateway?: string }> } }>>(["network", "inspect", "bridge"]);
    // Some engines leave the default bridge's gateway out of its IPAM config: a container on it knows its route.
    gateway =
      bridge[0]?.IPAM.Config[0]?.Gateway ??
      (await docker(["run", "--rm", "--network", "bridge", "busybox:latest", "ip", "route"])).stdout.match(
        /^default via (\S+)/m,
      )?.[1] ??
      "";
    expect(gateway, "the default bridge's gateway").toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    apiPort = await getPort({ host: gateway });
    const r = await sb.k3box([
      "cluster",
      "create",
      name,
      "-a",
      "1",
      "-i",
      DOUBLE_IMAGE,
      "-p",
      `${port}:80`,
      "--api-port",
      `${gateway}:${apiPort}`,
      "--k3s-arg",
      "--cluster-init@server:0",
      "--timeout",
      "3m",
      "--host-alias",
      "10.98.0.9:alias.e2e.internal",
    ]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("adds an agent: named by the next index, a copy of its peer, in the ingress upstream and answering through it", async () => {
    const r = await sb.k3box(["node", "create", "--cluster", name, "--role", "agent", "--timeout", "2m"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Node "${n("agent-1")}" created in "${name}"`);
    const [peer, added] = await Promise.all([inspect(n("agent-0")), inspect(n("agent-1"))]);
    expect(added.Config.Image).toBe(peer.Config.Image);
    expect(added.Config.Cmd).toEqual(peer.Config.Cmd);
    expect(added.Config.Env.sort()).toEqual(peer.Config.Env.sort());
    expect(added.HostConfig.Privileged).toBe(true);
    expect(added.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(added.Config.Labels["dev.k3box.node.index"]).toBe("1");
    expect(added.Mounts.find((m) => m.Destination === "/var/lib/rancher/k3s")?.Name).toBe(`${n("agent-1")}-data`);
    // The cluster's image volume, shared by every node, is mounted in the new one too.
    expect(added.Mounts.find((m) => m.Destination === "/k3d/images")?.Name).toBe(`k3box-${name}-images`);
    // The in-node fixes and host entries come along: same entrypoint, same files, and they ran.
    expect(added.Config.Entrypoint).toEqual(peer.Config.Entrypoint);
    expect(added.Config.Labels["dev.k3box.files"]).toBe(peer.Config.Labels["dev.k3box.files"]);
    const hosts = await docker(["exec", n("agent-1"), "cat", "/etc/hosts"]);
    expect(hosts.stdout).toMatch(/^10\.98\.0\.9\s+alias\.e2e\.internal$/m);
    expect(hosts.stdout).toMatch(/\shost\.k3box\.internal$/m);
    const up = upstreams(await lbConfig(name));
    expect(up["6443/tcp"]).toEqual([n("server-0")]);
    expect(up["80/tcp"]).toEqual([n("server-0"), n("agent-0"), n("agent-1")]);
    expect(await reaches(port, n("agent-1"))).toBe(true);
    expect(await apiNodes(sb, name)).toContain(n("agent-1"));
  });

  it("adds a server: joins without --cluster-init, and the API and ingress upstreams include it", async () => {
    const r = await sb.k3box(["node", "create", "--cluster", name, "--role", "server", "--timeout", "2m"]);
    expect(r.code, r.stderr).toBe(0);
    const added = await inspect(n("server-1"));
    expect(added.Config.Cmd).not.toContain("--cluster-init");
    expect(added.Config.Cmd[0]).toBe("server");
    expect(added.Config.Env).toContain(`K3S_URL=https://${n("server-0")}:6443`);
    expect(added.Config.Labels["dev.k3box.server.init"]).toBeUndefined();
    const up = upstreams(await lbConfig(name));
    expect(up["6443/tcp"]).toEqual([n("server-0"), n("server-1")]);
    expect(up["80/tcp"]).toEqual([n("server-0"), n("server-1"), n("agent-0"), n("agent-1")]);
    const ready = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
    expect(ready.stdout.trim()).toBe("ok");
  });

  it("lists and gets nodes", async () => {
    const list = await sb.k3box(["node", "list", "--cluster", name, "-o", "json"]);
    expect(list.code, list.stderr).toBe(0);
    const nodes = JSON.parse(list.stdout) as Array<{ name: string; role: string; cluster: string; state: string }>;
    expect(nodes.map((x) => x.name)).toEqual([n("server-0"), n("server-1"), n("agent-0"), n("agent-1"), n("serverlb")]);
    expect(nodes.every((x) => x.cluster === name && x.state === "running")).toBe(true);
    const get = await sb.k3box(["node", "get", n("agent-1"), "-o", "json"]);
    expect(JSON.parse(get.stdout)).toMatchObject({ name: n("agent-1"), role: "agent", cluster: name, running: true });
    const table = await sb.k3box(["node", "list", "--cluster", name]);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+ROLE\s+CLUSTER\s+STATE/);
  });

  it("stop takes a node out of the load balancer, start puts it back", async () => {
    const stop = await sb.k3box(["node", "stop", n("agent-1")]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(upstreams(await lbConfig(name))["80/tcp"]).not.toContain(n("agent-1"));
    expect(await ingressNodes(port, 8)).not.toContain(n("agent-1"));
    const start = await sb.k3box(["node", "start", n("agent-1"), "--timeout", "2m"]);
    expect(start.code, start.stderr).toBe(0);
    expect(upstreams(await lbConfig(name))["80/tcp"]).toContain(n("agent-1"));
    expect(await reaches(port, n("agent-1"))).toBe(true);
  });

  it("a node that fails to start is rolled back: no container, no volume, the load balancer config unchanged", async () => {
    const before = { config: await lbConfig(name), ids: await containerIds(name), volumes: await volumes(name) };
    const r = await sb.k3box(["node", "create", "--cluster", name, "-e", "K3S_DOUBLE_FAIL_AT=kubelet", "--timeout", "2m"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("injected failure at kubelet");
    expect(await lbConfig(name)).toBe(before.config);
    expect(await containerIds(name)).toEqual(before.ids);
    expect(await volumes(name)).toEqual(before.volumes);
    // The failed node had registered its password; the rollback removed it, so the name can join again.
    const failedName = /Node "([^"]+)"|node "([^"]+)"|(k3box-\S+-agent-\d+)/.exec(r.stderr)?.slice(1).find(Boolean);
    const again = await sb.k3box(["node", "create", "--cluster", name, "--timeout", "2m"]);
    expect(again.code, again.stderr).toBe(0);
    if (failedName) expect(again.stderr).toContain(`Node "${failedName}" created`);
    const created = /Node "([^"]+)" created/.exec(again.stderr)?.[1] as string;
    expect((await sb.k3box(["node", "delete", created])).code).toBe(0);
  });

  it("Ctrl-C during node create rolls back, down to the Node objects of nodes that registered", async () => {
    const before = {
      config: await lbConfig(name),
      ids: await containerIds(name),
      volumes: await volumes(name),
      nodes: await apiNodes(sb, name),
    };
    const child = sb.spawnK3box([
      "node",
      "create",
      "--cluster",
      name,
      "--replicas",
      "2",
      "-e",
      "K3S_DOUBLE_START_DELAY_MS=15000",
    ]);
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes("Started") && !child.killed) child.kill("SIGINT");
    });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(130);
    expect(await lbConfig(name)).toBe(before.config);
    expect(await containerIds(name)).toEqual(before.ids);
    expect(await volumes(name)).toEqual(before.volumes);
    expect(await apiNodes(sb, name)).toEqual(before.nodes);
  });

  it("refuses bad input with clear errors and changes nothing", async () => {
    const before = { config: await lbConfig(name), ids: await containerIds(name) };
    const missing = sb.name("missing");
    const unknownCluster = await sb.k3box(["node", "create", "--cluster", missing]);
    expect(unknownCluster.code).toBe(6);
    expect(unknownCluster.stderr).toContain(`cluster "${missing}" not found`);
    const role = await sb.k3box(["node", "create", "--cluster", name, "--role", "master"]);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('invalid role "master"');
    const unknownNode = await sb.k3box(["node", "delete", `k3box-${missing}-agent-0`]);
    expect(unknownNode.code).toBe(6);
    expect(unknownNode.stderr).toContain(`node "k3box-${missing}-agent-0" not found`);
    const lb = await sb.k3box(["node", "delete", n("serverlb")]);
    expect(lb.code).toBe(2);
    expect(lb.stderr).toContain("is the load balancer");
    const both = await sb.k3box(["node", "delete", n("server-0"), n("server-1")]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(`refusing to delete the last server of cluster "${name}"`);
    expect(await lbConfig(name)).toBe(before.config);
    expect(await containerIds(name)).toEqual(before.ids);
  });

  it("joins by URL and token a cluster it is told about only by its published API", async () => {
    const group = sb.name("ext");
    const token = (await inspect(n("server-0"))).Config.Env.find((e) => e.startsWith("K3S_TOKEN="))?.slice(10) as string;
    const r = await sb.k3box([
      "node",
      "create",
      group,
      "--cluster",
      `https://${gateway}:${apiPort}`,
      "--token",
      token,
      "-i",
      DOUBLE_IMAGE,
      "--timeout",
      "2m",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const joined = await inspect(`k3box-${group}-agent-0`);
    expect(joined.Config.Env).toContain(`K3S_URL=https://${gateway}:${apiPort}`);
    expect(joined.Config.Entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
    const log = await docker(["logs", `k3box-${group}-agent-0`]);
    expect(log.stdout + log.stderr).toContain("k3box-entrypoint:");
    expect(await apiNodes(sb, name)).toContain(`k3box-${group}-agent-0`);
    const del = await sb.k3box(["node", "delete", `k3box-${group}-agent-0`]);
    expect(del.code, del.stderr).toBe(0);
    expect(await leftovers(group)).toEqual([]);
  });

  it("deletes an agent and a server: out of the load balancer, the API, and Docker (container and volume)", async () => {
    const r = await sb.k3box(["node", "delete", n("agent-1"), n("server-1")]);
    expect(r.code, r.stderr).toBe(0);
    const up = upstreams(await lbConfig(name));
    expect(up["6443/tcp"]).toEqual([n("server-0")]);
    expect(up["80/tcp"]).toEqual([n("server-0"), n("agent-0")]);
    const own = (await apiNodes(sb, name)).filter((x) => x.startsWith(`k3box-${name}-`));
    expect(own).toEqual([n("agent-0"), n("server-0")].sort());
    expect(await volumes(name)).toEqual([`${n("agent-0")}-data`, `${n("server-0")}-data`, `k3box-${name}-images`].sort());
    const seen = await ingressNodes(port, 6);
    expect([...seen].sort()).toEqual([n("agent-0"), n("server-0")].sort());
    const ready = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
    expect(ready.stdout.trim()).toBe("ok");
  });
});

describe("node create on a cluster with one server and no embedded etcd", () => {
  it("refuses to add a server, saying why and what to do; an agent gets the labels meant for every node", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("single");
      const port = await getPort();
      const c = await sb.k3box([
        "cluster",
        "create",
        name,
        "-i",
        DOUBLE_IMAGE,
        "--k3s-node-label",
        "tier=edge",
        "-p",
        `${port}:80`,
        "--timeout",
        "3m",
      ]);
      expect(c.code, c.stderr).toBe(0);
      // Without agents, a port through the load balancer reaches the server.
      expect(await ingress(port)).toBe(`k3box-${name}-server-0`);
      const before = await containerIds(name);
      const r = await sb.k3box(["node", "create", "--cluster", name, "--role", "server"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("single server on sqlite, without embedded etcd");
      expect(r.stderr).toContain("--servers 3");
      expect(await containerIds(name)).toEqual(before);
      // A first agent is cloned from the server, yet gets what every agent was meant to: the node label.
      const agent = await sb.k3box(["node", "create", "--cluster", name, "--role", "agent", "--timeout", "2m"]);
      expect(agent.code, agent.stderr).toBe(0);
      const node = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", `/api/v1/nodes/k3box-${name}-agent-0`]);
      expect((JSON.parse(node.stdout) as { metadata: { labels: Record<string, string> } }).metadata.labels.tier).toBe("edge");
    } finally {
      await sb.dispose();
    }
  });
});

describe("node delete on a cluster without a load balancer", () => {
  it("refuses to delete the server that publishes the API, changing nothing", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("nolb");
      const c = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "-s", "2", "--no-lb", "--timeout", "3m"]);
      expect(c.code, c.stderr).toBe(0);
      const before = await containerIds(name);
      const r = await sb.k3box(["node", "delete", `k3box-${name}-server-0`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("it publishes the API of cluster");
      expect(await containerIds(name)).toEqual(before);
      const ready = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
      expect(ready.stdout.trim()).toBe("ok");
    } finally {
      await sb.dispose();
    }
  });
});
