import { readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import getPort from "get-port";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, dockerJson, leftovers } from "./helpers.js";

interface Inspect {
  Name: string;
  Config: { Env: string[]; Cmd: string[]; Labels: Record<string, string>; Hostname: string };
  HostConfig: {
    Privileged: boolean;
    Tmpfs: Record<string, string>;
    RestartPolicy: { Name: string };
    PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
  };
  Mounts: Array<{ Type: string; Name?: string; Destination: string }>;
  NetworkSettings: { Networks: Record<string, unknown> };
}

describe("cluster create: 1 server + 2 agents with an ingress port", () => {
  let sb: Sandbox;
  let name: string;
  let ingressPort: number;
  let create: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("main");
    ingressPort = await getPort();
    // Another user's entry must survive create and delete untouched.
    await writeFile(
      sb.kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: other",
        "  cluster: {server: 'https://10.0.0.1:6443'}",
        "contexts:",
        "- name: other",
        "  context: {cluster: other, user: other}",
        "users:",
        "- name: other",
        "  user: {token: abc}",
        "current-context: other",
        "",
      ].join("\n"),
    );
    create = await sb.k3box([
      "cluster",
      "create",
      name,
      "-a",
      "2",
      "-i",
      DOUBLE_IMAGE,
      "-p",
      `${ingressPort}:80@loadbalancer`,
      "--timeout",
      "3m",
    ]);
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("succeeds", () => {
    expect(create.stderr).toContain(`Cluster "${name}" created`);
    expect(create.code).toBe(0);
  });

  it("creates the network and four containers with the right settings", async () => {
    const net = await dockerJson<Array<{ Name: string; Labels: Record<string, string> }>>([
      "network",
      "inspect",
      `k3box-${name}`,
    ]);
    expect(net[0]?.Labels["dev.k3box.cluster"]).toBe(name);
    const names = [`server-0`, `agent-0`, `agent-1`].map((n) => `k3box-${name}-${n}`);
    const nodes = await dockerJson<Inspect[]>(["inspect", ...names]);
    const token = nodes[0]?.Config.Env.find((e) => e.startsWith("K3S_TOKEN="))?.slice(10) ?? "";
    expect(token.length * 4).toBeGreaterThanOrEqual(128);
    for (const n of nodes) {
      expect(n.HostConfig.Privileged).toBe(true);
      expect(Object.keys(n.HostConfig.Tmpfs).sort()).toEqual(["/run", "/var/run"]);
      expect(n.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
      expect(
        n.Mounts.some(
          (m) => m.Type === "volume" && m.Destination === "/var/lib/rancher/k3s" && m.Name === `${n.Name.slice(1)}-data`,
        ),
      ).toBe(true);
      // One image volume for the cluster, shared by every node (image import writes an archive there once).
      expect(
        n.Mounts.some((m) => m.Type === "volume" && m.Destination === "/k3d/images" && m.Name === `k3box-${name}-images`),
      ).toBe(true);
      expect(Object.keys(n.NetworkSettings.Networks)).toEqual([`k3box-${name}`]);
      expect(n.Config.Env).toContain(`K3S_TOKEN=${token}`);
      expect(n.Config.Env).toContain("K3S_KUBECONFIG_OUTPUT=/output/kubeconfig.yaml");
      expect(n.Config.Labels["dev.k3box.cluster"]).toBe(name);
    }
    const [server, ...agents] = nodes;
    expect(server?.Config.Cmd.slice(0, 1)).toEqual(["server"]);
    expect(server?.Config.Cmd.join(" ")).toContain(`--tls-san k3box-${name}-serverlb`);
    expect(server?.Config.Cmd).not.toContain("--cluster-init");
    expect(server?.Config.Env.some((e) => e.startsWith("K3S_URL="))).toBe(false);
    for (const a of agents) {
      expect(a.Config.Cmd[0]).toBe("agent");
      expect(a.Config.Env).toContain(`K3S_URL=https://k3box-${name}-server-0:6443`);
    }
    const [lb] = await dockerJson<Inspect[]>(["inspect", `k3box-${name}-serverlb`]);
    expect(lb?.HostConfig.PortBindings["80/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(ingressPort) }]);
    expect(lb?.HostConfig.PortBindings["6443/tcp"]?.[0]?.HostIp).toBe("127.0.0.1");
    expect(lb?.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
  });

  it("answers kubectl through the load balancer with three nodes", async () => {
    const ready = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
    expect(ready.stdout.trim()).toBe("ok");
    const nodes = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/api/v1/nodes"]);
    const list = JSON.parse(nodes.stdout) as { items: Array<{ metadata: { name: string } }> };
    expect(list.items.map((i) => i.metadata.name).sort()).toEqual([
      `k3box-${name}-agent-0`,
      `k3box-${name}-agent-1`,
      `k3box-${name}-server-0`,
    ]);
  });

  it("writes the kubeconfig: names, server, mode 0600, other entries kept, context switched", async () => {
    const cfg = parse(await readFile(sb.kubeconfig, "utf8")) as {
      clusters: Array<{ name: string; cluster: { server: string } }>;
      users: Array<{ name: string }>;
      "current-context": string;
    };
    expect(cfg["current-context"]).toBe(`k3box-${name}`);
    expect(cfg.clusters.map((c) => c.name).sort()).toEqual([`k3box-${name}`, "other"].sort());
    expect(cfg.users.map((u) => u.name)).toContain(`admin@k3box-${name}`);
    expect(cfg.clusters.find((c) => c.name === `k3box-${name}`)?.cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await stat(sb.kubeconfig)).mode & 0o777).toBe(0o600);
  });

  it("routes the mapped ingress port to a node", async () => {
    const res = await fetch(`http://127.0.0.1:${ingressPort}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(new RegExp(`k3box-${name}-(server|agent)-\\d`));
  });

  it("lists and gets the cluster as JSON", async () => {
    const list = await sb.k3box(["cluster", "list", "-o", "json"]);
    const mine = (JSON.parse(list.stdout) as Array<{ name: string; servers: object; agents: object; state: string }>).find(
      (c) => c.name === name,
    );
    expect(mine).toMatchObject({ servers: { running: 1, total: 1 }, agents: { running: 2, total: 2 }, state: "running" });
    const get = await sb.k3box(["cluster", "get", name, "-o", "yaml"]);
    const got = parse(get.stdout) as {
      image: string;
      ports: Array<{ hostIp: string; hostPort: number; containerPort: number; node: string }>;
    };
    expect(got.image).toBe(DOUBLE_IMAGE);
    // The published ports, so a chosen host port can be found without docker.
    expect(got.ports).toEqual([
      { hostIp: "127.0.0.1", hostPort: ingressPort, containerPort: 80, protocol: "tcp", node: `k3box-${name}-serverlb` },
    ]);
  });

  it("prints and writes the kubeconfig on request", async () => {
    const got = await sb.k3box(["kubeconfig", "get", name]);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain(`name: k3box-${name}`);
    const out = `${sb.dir}/only.yaml`;
    const merged = await sb.k3box(["kubeconfig", "merge", name, "--output", out]);
    expect(merged.stdout.trim()).toBe(out);
    const ready = await sb.kubectl(["--kubeconfig", out, "get", "--raw", "/readyz"]);
    expect(ready.stdout.trim()).toBe("ok");
  });

  it("delete leaves nothing labelled and removes exactly its kubeconfig entries", async () => {
    const del = await sb.k3box(["cluster", "delete", name]);
    expect(del.code).toBe(0);
    expect(await leftovers(name)).toEqual([]);
    const cfg = parse(await readFile(sb.kubeconfig, "utf8")) as {
      clusters: Array<{ name: string }>;
      contexts: Array<{ name: string }>;
      users: Array<{ name: string }>;
      "current-context": string;
    };
    expect(cfg.clusters.map((c) => c.name)).toEqual(["other"]);
    expect(cfg.contexts.map((c) => c.name)).toEqual(["other"]);
    expect(cfg.users.map((c) => c.name)).toEqual(["other"]);
    expect(cfg["current-context"]).toBe("other");
    const again = await sb.k3box(["cluster", "delete", name]);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain(`cluster "${name}" not found`);
    expect((await sb.k3box(["cluster", "delete", name, "--ignore-missing"])).code).toBe(0);
  });
});

describe("cluster create: HA", () => {
  it("starts 3 servers with server-0 as --cluster-init and the others joining it", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("ha");
      const r = await sb.k3box(["cluster", "create", name, "-s", "3", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
      expect(r.stderr).toContain("created");
      expect(r.code).toBe(0);
      const nodes = await dockerJson<Inspect[]>(["inspect", ...[0, 1, 2].map((i) => `k3box-${name}-server-${i}`)]);
      expect(nodes[0]?.Config.Cmd).toContain("--cluster-init");
      expect(nodes[0]?.Config.Labels["dev.k3box.server.init"]).toBe("true");
      for (const joiner of nodes.slice(1)) {
        expect(joiner.Config.Cmd).not.toContain("--cluster-init");
        expect(joiner.Config.Env).toContain(`K3S_URL=https://k3box-${name}-server-0:6443`);
      }
      const list = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/api/v1/nodes"]);
      expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toHaveLength(3);
    } finally {
      await sb.dispose();
    }
  });
});

describe("cluster create: errors", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.create();
  });
  afterAll(async () => {
    await sb.dispose();
  });

  it("rejects bad input with exit 2 and a message naming the value, creating nothing", async () => {
    const name = sb.name("bad");
    const r = await sb.k3box(["cluster", "create", name, "-p", "8080:80@nodes:0", "-v", "relative", "--api-port", "70000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid node filter "nodes:0"');
    expect(r.stderr).toContain('"relative"');
    expect(r.stderr).toContain("70000");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await leftovers(name)).toEqual([]);
    const bad = await sb.k3box(["cluster", "create", "Not_Valid"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid cluster name "Not_Valid"');
  });

  it("fails with exit 3 when Docker cannot be reached", async () => {
    const r = await sb.k3box(["cluster", "list"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("cannot reach the Docker engine");
  });

  it("refuses a port in use with exit 5, creating nothing", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const name = sb.name("busy");
      const r = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--api-port", String(port)]);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      server.close();
    }
  });

  it("refuses a second cluster of the same name with exit 5", async () => {
    const name = sb.name("dup");
    expect((await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--no-lb"])).code).toBe(0);
    const r = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`cluster "${name}" already exists`);
    expect((await sb.k3box(["cluster", "get", name])).code).toBe(0);
  });

  it("leaves an unparsable kubeconfig untouched and rolls the cluster back", async () => {
    const other = await Sandbox.create();
    try {
      const broken = "clusters: [ this is: not yaml\n";
      await writeFile(other.kubeconfig, broken);
      const name = other.name("kcbad");
      const r = await other.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE]);
      expect(r.code).toBe(8);
      expect(r.stderr).toContain(other.kubeconfig);
      expect(await readFile(other.kubeconfig, "utf8")).toBe(broken);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await other.dispose();
    }
  });
});
