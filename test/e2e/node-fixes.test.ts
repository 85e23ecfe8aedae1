import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, dockerJson, leftovers } from "./helpers.js";

interface NetworkInspect {
  IPAM: { Config: Array<{ Gateway?: string }> };
}
interface ContainerInspect {
  Config: { Entrypoint: string[] | null; Cmd: string[]; Labels: Record<string, string> };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

/** Runs a command in a node; fails the test with its stderr when it does not succeed. */
async function nodeExec(node: string, argv: readonly string[]): Promise<string> {
  const r = await docker(["exec", node, ...argv]);
  if (r.code !== 0) throw new Error(`docker exec ${node} ${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function logsOf(node: string): Promise<string> {
  const r = await docker(["logs", node]);
  return r.stdout + r.stderr;
}

/** Polls until `check` returns a value; the wait is bounded by the test's timeout, not asserted on. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, attempts = 120): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((c) => c.end("hello from the host\n"));
    server.listen(0, "0.0.0.0", () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe("node fixes and host entries on a 1+1 cluster", () => {
  let sb: Sandbox;
  let name: string;
  let server0: string;
  let agent0: string;
  let gateway: string;
  let host: { server: Server; port: number };
  let create: { code: number; stderr: string };

  const coreDnsNodeHosts = async (): Promise<string> => {
    const r = await sb.kubectl([
      "--context",
      `k3box-${name}`,
      "get",
      "--raw",
      "/api/v1/namespaces/kube-system/configmaps/coredns",
    ]);
    if (r.code !== 0) throw new Error(`kubectl get --raw: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { data: { NodeHosts?: string } }).data.NodeHosts ?? "";
  };
  const nodeHostsWith = (...names: string[]) =>
    eventually(`NodeHosts with ${names.join(", ")}`, async () => {
      const hosts = await coreDnsNodeHosts();
      return names.every((n) => hosts.includes(n)) ? hosts : undefined;
    });

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("fix");
    server0 = `k3box-${name}-server-0`;
    agent0 = `k3box-${name}-agent-0`;
    host = await listen();
    create = await sb.k3box([
      "cluster",
      "create",
      name,
      "-a",
      "1",
      "-i",
      DOUBLE_IMAGE,
      "--host-alias",
      "10.7.7.7:alias.k3box.test,alias2",
      "--host-alias",
      "10.7.7.8:other.k3box.test",
      "-e",
      "K3BOX_FIX_DNS=false@agent:0",
      "--timeout",
      "3m",
    ]);
    const net = await dockerJson<NetworkInspect[]>(["network", "inspect", `k3box-${name}`]);
    gateway = net[0]?.IPAM.Config[0]?.Gateway ?? "";
  });
  afterAll(async () => {
    host?.server.close();
    await sb?.dispose();
    expect(await leftovers(name)).toEqual([]);
  });

  it("creates the cluster", () => {
    expect(create.stderr).toContain(`Cluster "${name}" created`);
    expect(create.code).toBe(0);
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it("starts every node through the entrypoint, which it lists among the node's files", async () => {
    const [s, a] = await dockerJson<ContainerInspect[]>(["inspect", server0, agent0]);
    for (const n of [s, a]) {
      expect(n?.Config.Entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
      const files = JSON.parse(n?.Config.Labels["dev.k3box.files"] ?? "[]") as string[];
      expect(files.slice(0, 2)).toEqual(["/bin/k3box-entrypoint.sh", "/etc/k3box/hosts"]);
    }
    expect(s?.Config.Cmd[0]).toBe("server");
    expect(await nodeExec(server0, ["cat", "/etc/k3box/hosts"])).toBe(
      "10.7.7.7 alias.k3box.test alias2\n10.7.7.8 other.k3box.test\n",
    );
  });

  it("logs one line per fix in the container log", async () => {
    const log = await eventually("the coredns line", async () => {
      const l = await logsOf(server0);
      return l.includes("k3box-entrypoint: hosts: coredns NodeHosts") ? l : undefined;
    });
    expect(log).toMatch(/k3box-entrypoint: cgroupv2: (cgroup v1 host, nothing to do|moved \d+ process)/);
    expect(log).toContain("k3box-entrypoint: mounts: / is now rshared");
    expect(log).toContain(`k3box-entrypoint: dns: ${gateway}:53 now reaches Docker's DNS`);
    expect(log).toContain("k3box-entrypoint: hosts: /etc/hosts has alias.k3box.test, other.k3box.test, host.k3box.internal");
    // The fixes run before k3s starts.
    expect(log.indexOf("k3box-entrypoint: mounts")).toBeLessThan(log.indexOf("Starting k3s"));
  });

  /** The NAT table, read with the iptables flavour the entrypoint says it used. */
  const natRules = async (node: string): Promise<string> => {
    const flavour = /dns: .*; (iptables(?:-nft|-legacy)?)\)/.exec(await logsOf(node))?.[1];
    if (flavour === undefined) throw new Error(`no dns fix line in the log of ${node}`);
    return nodeExec(node, [`${flavour}-save`, "-t", "nat"]);
  };

  it("points DNS at the gateway: NAT rules for node and pod traffic, and resolv.conf", async () => {
    const nat = await natRules(server0);
    expect(nat).toContain(`-A OUTPUT -d ${gateway}/32 -j K3BOX_DNS`);
    expect(nat).toContain(`-A PREROUTING -d ${gateway}/32 -j K3BOX_DNS`);
    expect(nat).toMatch(/-A K3BOX_DNS -p udp -m udp --dport 53 -j DNAT --to-destination 127\.0\.0\.11:\d+/);
    expect(nat).toMatch(/-A K3BOX_DNS -p tcp -m tcp --dport 53 -j DNAT --to-destination 127\.0\.0\.11:\d+/);
    const resolv = await nodeExec(server0, ["cat", "/etc/resolv.conf"]);
    expect(resolv).toContain(`nameserver ${gateway}`);
    expect(resolv).not.toContain("127.0.0.11");
  });

  it("resolves other containers' names through the rewritten resolv.conf", async () => {
    const [lb, agent] = await dockerJson<ContainerInspect[]>(["inspect", `k3box-${name}-serverlb`, agent0]);
    const lbIp = lb?.NetworkSettings.Networks[`k3box-${name}`]?.IPAddress;
    const agentIp = agent?.NetworkSettings.Networks[`k3box-${name}`]?.IPAddress;
    // Neither name is in server-0's /etc/hosts, so these answers come from Docker's DNS.
    expect(await nodeExec(server0, ["cat", "/etc/hosts"])).not.toContain("serverlb");
    expect((await nodeExec(server0, ["getent", "hosts", `k3box-${name}-serverlb`])).split(/\s+/)[0]).toBe(lbIp);
    expect((await nodeExec(server0, ["getent", "hosts", agent0])).split(/\s+/)[0]).toBe(agentIp);
  });

  it("resolves names from another network namespace, as a pod does (the PREROUTING path)", async () => {
    // A stand-in for a pod: its own netns behind a veth pair, routed through the node.
    const ns = "k3box-e2e-pod";
    await nodeExec(server0, ["ip", "netns", "add", ns]);
    await nodeExec(server0, ["ip", "link", "add", "k3boxe2e0", "type", "veth", "peer", "name", "k3boxe2e1"]);
    await nodeExec(server0, ["ip", "link", "set", "k3boxe2e1", "netns", ns]);
    await nodeExec(server0, ["ip", "addr", "add", "10.199.0.1/24", "dev", "k3boxe2e0"]);
    await nodeExec(server0, ["ip", "link", "set", "k3boxe2e0", "up"]);
    await nodeExec(server0, ["ip", "netns", "exec", ns, "ip", "addr", "add", "10.199.0.2/24", "dev", "k3boxe2e1"]);
    await nodeExec(server0, ["ip", "netns", "exec", ns, "ip", "link", "set", "k3boxe2e1", "up"]);
    await nodeExec(server0, ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", "10.199.0.1"]);
    const [lb] = await dockerJson<ContainerInspect[]>(["inspect", `k3box-${name}-serverlb`]);
    const answer = await nodeExec(server0, ["ip", "netns", "exec", ns, "getent", "hosts", `k3box-${name}-serverlb`]);
    expect(answer.split(/\s+/)[0]).toBe(lb?.NetworkSettings.Networks[`k3box-${name}`]?.IPAddress);
  });

  it("makes / a shared mount", async () => {
    const mountinfo = await nodeExec(server0, ["cat", "/proc/self/mountinfo"]);
    const root = mountinfo.split("\n").find((l) => l.split(" ")[4] === "/");
    expect(root).toMatch(/ shared:\d+/);
  });

  it("puts host.k3box.internal (the gateway) and the aliases into /etc/hosts of every node", async () => {
    for (const node of [server0, agent0]) {
      const hosts = await nodeExec(node, ["cat", "/etc/hosts"]);
      expect(hosts).toContain(`${gateway} host.k3box.internal\n`);
      expect(hosts).toContain("10.7.7.7 alias.k3box.test alias2\n");
      expect((await nodeExec(node, ["getent", "hosts", "alias2"])).split(/\s+/)[0]).toBe("10.7.7.7");
    }
  });

  it("reaches a listener on the host by host.k3box.internal", async () => {
    const out = await nodeExec(agent0, ["bash", "-c", `exec 3<>/dev/tcp/host.k3box.internal/${host.port}; timeout 10 cat <&3`]);
    expect(out).toBe("hello from the host\n");
  });

  it("adds the same entries to the coredns NodeHosts, as stored by the API", async () => {
    const hosts = await nodeHostsWith("host.k3box.internal", "alias.k3box.test", "other.k3box.test");
    const lines = hosts.split("\n");
    expect(lines).toContain(`${gateway} host.k3box.internal`);
    expect(lines).toContain("10.7.7.7 alias.k3box.test alias2");
    expect(lines).toContain("10.7.7.8 other.k3box.test");
    // k3s' own node entries are still there.
    expect(hosts).toContain(server0);
  });

  it("skips a fix switched off by its env var", async () => {
    const log = await logsOf(agent0);
    expect(log).toContain("k3box-entrypoint: dns: skipped (K3BOX_FIX_DNS=false)");
    expect(log).toContain("k3box-entrypoint: mounts: / is now rshared");
    expect(await nodeExec(agent0, ["cat", "/etc/resolv.conf"])).toContain("nameserver 127.0.0.11");
    for (const save of ["iptables-nft-save", "iptables-legacy-save"]) {
      expect(await nodeExec(agent0, [save, "-t", "nat"])).not.toContain("K3BOX_DNS");
    }
  });

  it("keeps everything after docker restart of the server, with no k3box involved", async () => {
    const restart = await docker(["restart", server0]);
    expect(restart.code).toBe(0);
    const log = await eventually("the coredns line after the restart", async () => {
      const l = await logsOf(server0);
      return l.split("k3box-entrypoint: hosts: coredns NodeHosts").length - 1 >= 2 ? l : undefined;
    });
    expect(log.split("k3box-entrypoint: dns: ").length - 1).toBe(2);
    const hosts = await nodeExec(server0, ["cat", "/etc/hosts"]);
    expect(hosts.split("\n").filter((l) => l.endsWith(" host.k3box.internal"))).toEqual([`${gateway} host.k3box.internal`]);
    expect(hosts).toContain("10.7.7.7 alias.k3box.test alias2\n");
    expect(await nodeExec(server0, ["cat", "/etc/resolv.conf"])).toContain(`nameserver ${gateway}`);
    expect(await natRules(server0)).toContain(`-A PREROUTING -d ${gateway}/32 -j K3BOX_DNS`);
    // k3s wrote the manifest anew on this start; the entries are merged into it once.
    const manifest = await nodeExec(server0, ["cat", "/var/lib/rancher/k3s/server/manifests/coredns.yaml"]);
    expect(manifest.split("    10.7.7.7 alias.k3box.test alias2\n").length - 1).toBe(1);
    expect(manifest.split(`    ${gateway} host.k3box.internal\n`).length - 1).toBe(1);
    await eventually("the API after the restart", async () => {
      const r = await sb.kubectl(["--context", `k3box-${name}`, "get", "--raw", "/readyz"]);
      return r.code === 0 && r.stdout.trim() === "ok" ? true : undefined;
    });
    const nodeHosts = await nodeHostsWith("host.k3box.internal", "alias.k3box.test");
    expect(nodeHosts.split("\n")).toContain(`${gateway} host.k3box.internal`);
  });
});

describe("host entries when coredns is disabled", () => {
  let sb: Sandbox;
  let name: string;

  beforeAll(async () => {
    sb = await Sandbox.create();
  });
  afterAll(async () => {
    await sb.dispose();
    expect(await leftovers(name)).toEqual([]);
  });

  it("keeps /etc/hosts but leaves coredns alone", async () => {
    name = sb.name("nodns");
    const r = await sb.k3box([
      "cluster",
      "create",
      name,
      "-i",
      DOUBLE_IMAGE,
      "--no-lb",
      "--k3s-arg",
      "--disable=traefik,coredns@server:*",
      "--host-alias",
      "10.7.7.9:quiet.k3box.test",
      "--kubeconfig-update-default=false",
      "--timeout",
      "3m",
    ]);
    expect(r.code).toBe(0);
    const node = `k3box-${name}-server-0`;
    const log = await logsOf(node);
    expect(log).toContain("k3box-entrypoint: hosts: coredns is disabled; NodeHosts left alone");
    expect(await nodeExec(node, ["cat", "/etc/hosts"])).toContain("10.7.7.9 quiet.k3box.test\n");
    const ls = await docker(["exec", node, "ls", "-a", "/var/lib/rancher/k3s/server/manifests"]);
    expect(ls.stdout).not.toMatch(/coredns/);
  });

  it.each([
    ["db.local", '"db.local" is not an IP address'],
    ["10.0.0.5:bad_name", '"bad_name" is not a valid host name'],
    ["10.0.0.300:db", '"10.0.0.300" is not an IP address'],
  ])("rejects --host-alias %s with a clear error, creating nothing", async (alias, message) => {
    const bad = sb.name("badalias");
    const r = await sb.k3box(["cluster", "create", bad, "-i", DOUBLE_IMAGE, "--host-alias", alias]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid host alias "${alias}"`);
    expect(r.stderr).toContain(message);
    expect(await leftovers(bad)).toEqual([]);
  });
});
