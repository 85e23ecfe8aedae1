import { mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomInt } from "node:crypto";
import getPort from "get-port";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, dockerJson, leftovers, poll } from "./helpers.js";

interface Inspect {
  Config: { Env: string[]; Labels: Record<string, string> };
  HostConfig: { PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> };
  Mounts: Array<{ Type: string; Source: string; Destination: string }>;
}

interface NetworkInspect {
  IPAM: { Config: Array<{ Subnet: string }> };
}

/** A cluster as a config file describes it: what the tests below check, whatever the file's format. */
interface Expected {
  readonly name: string;
  readonly ingressPort: number;
  readonly subnet: string;
  readonly dataDir: string;
}

const MANIFEST = (name: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: default
data:
  greeting: hello from a manifest
`;

const HELMCHART = `apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: e2e-chart
  namespace: kube-system
spec:
  chart: e2e-chart
  repo: https://charts.example.com
`;

/** A private /24 that no other test run is likely to hold. */
function randomSubnet(): string {
  return `10.${randomInt(100, 250)}.${randomInt(0, 255)}.0/24`;
}

/** The checks shared by the k3box and the k3d file: containers, network, files, the API. */
function describeCluster(label: string, setup: (sb: Sandbox) => Promise<{ expected: Expected; file: string }>) {
  describe(label, () => {
    let sb: Sandbox;
    let expected: Expected;
    let file: string;
    let create: { code: number; stdout: string; stderr: string };

    beforeAll(async () => {
      sb = await Sandbox.create();
      ({ expected, file } = await setup(sb));
      create = await sb.k3box(["cluster", "create", "--config", file], { E2E_IMAGE: DOUBLE_IMAGE });
    });
    afterAll(async () => {
      await sb.dispose();
    });

    const node = (n: string) => `k3box-${expected.name}-${n}`;
    const ctx = () => ["--context", `k3box-${expected.name}`];

    it("creates the cluster the file names", () => {
      expect(create.stderr).toContain(`Cluster "${expected.name}" created`);
      expect(create.code).toBe(0);
    });

    it("has the servers and agents, on a network with the subnet", async () => {
      const nodes = await sb.kubectl([...ctx(), "get", "--raw", "/api/v1/nodes"]);
      const list = JSON.parse(nodes.stdout) as { items: Array<{ metadata: { name: string; labels: Record<string, string> } }> };
      expect(list.items.map((i) => i.metadata.name).sort()).toEqual([node("agent-0"), node("server-0")]);
      const net = await dockerJson<NetworkInspect[]>(["network", "inspect", `k3box-${expected.name}`]);
      expect(net[0]?.IPAM.Config.map((c) => c.Subnet)).toEqual([expected.subnet]);
    });

    it("labels the agent's Node through options.k3s.nodeLabels", async () => {
      const agent = await sb.kubectl([...ctx(), "get", "--raw", `/api/v1/nodes/${node("agent-0")}`]);
      expect((JSON.parse(agent.stdout) as { metadata: { labels: Record<string, string> } }).metadata.labels.tier).toBe("edge");
      const server = await sb.kubectl([...ctx(), "get", "--raw", `/api/v1/nodes/${node("server-0")}`]);
      expect(
        (JSON.parse(server.stdout) as { metadata: { labels: Record<string, string> } }).metadata.labels.tier,
      ).toBeUndefined();
    });

    it("sets env on the selected node only and mounts the volume there", async () => {
      const [server, agent] = await dockerJson<Inspect[]>(["inspect", node("server-0"), node("agent-0")]);
      expect(agent?.Config.Env).toContain("GREETING=hello-agent");
      expect(server?.Config.Env.some((e) => e.startsWith("GREETING="))).toBe(false);
      expect(
        server?.Mounts.some((m) => m.Type === "bind" && m.Source === expected.dataDir && m.Destination === "/mnt/data"),
      ).toBe(true);
      expect(agent?.Mounts.some((m) => m.Destination === "/mnt/data")).toBe(false);
      const seen = await docker(["exec", node("server-0"), "cat", "/mnt/data/seed.txt"]);
      expect(seen.stdout).toBe("seed\n");
    });

    it("publishes the ingress port on the load balancer and routes it to a node", async () => {
      const [lb] = await dockerJson<Inspect[]>(["inspect", node("serverlb")]);
      expect(lb?.HostConfig.PortBindings["80/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(expected.ingressPort) }]);
      const res = await fetch(`http://127.0.0.1:${expected.ingressPort}/`);
      expect(res.status).toBe(200);
    });

    it("copies the files into the selected nodes before start, and records them", async () => {
      const note = await docker(["exec", node("agent-0"), "cat", "/etc/k3box-e2e/note.txt"]);
      expect(note.stdout).toBe("a note for the nodes\n");
      const [server] = await dockerJson<Inspect[]>(["inspect", node("server-0")]);
      const recorded = JSON.parse(server?.Config.Labels["dev.k3box.files"] ?? "[]") as string[];
      expect(recorded).toContain("/etc/k3box-e2e/note.txt");
      expect(recorded.some((p) => p.startsWith("/var/lib/rancher/k3s/server/manifests/"))).toBe(true);
    });

    it("deploys the manifests: their objects are readable through the API", async () => {
      const data = await poll(async () => {
        const r = await sb.kubectl([...ctx(), "get", "--raw", "/api/v1/namespaces/default/configmaps/e2e-config"]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { data: Record<string, string> }).data : undefined;
      }, "the ConfigMap from the manifest");
      expect(data.greeting).toBe("hello from a manifest");
      const chart = await poll(async () => {
        const r = await sb.kubectl([
          ...ctx(),
          "get",
          "--raw",
          "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/e2e-chart",
        ]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { spec: { chart: string } }) : undefined;
      }, "the HelmChart from the manifest");
      expect(chart.spec.chart).toBe("e2e-chart");
    });

    it("puts the host aliases into every node's /etc/hosts and the coredns NodeHosts", async () => {
      const view = await sb.k3box(["config", "view", "--config", file, "-o", "json"], { E2E_IMAGE: DOUBLE_IMAGE });
      expect(view.code).toBe(0);
      const spec = JSON.parse(view.stdout) as { hostAliases: Array<{ ip: string; hostnames: string[] }> };
      expect(spec.hostAliases).toEqual([{ ip: "10.99.0.7", hostnames: ["git.e2e.internal", "ci.e2e.internal"] }]);
      for (const n of ["server-0", "agent-0"]) {
        const hosts = await docker(["exec", node(n), "cat", "/etc/hosts"]);
        expect(hosts.stdout).toMatch(/^10\.99\.0\.7\s+git\.e2e\.internal\s+ci\.e2e\.internal$/m);
      }
      const nodeHosts = await poll(async () => {
        const r = await sb.kubectl([...ctx(), "get", "--raw", "/api/v1/namespaces/kube-system/configmaps/coredns"]);
        const value = r.code === 0 ? (JSON.parse(r.stdout) as { data: { NodeHosts?: string } }).data.NodeHosts : undefined;
        return value?.includes("git.e2e.internal") ? value : undefined;
      }, "the host aliases in the coredns NodeHosts");
      expect(nodeHosts).toMatch(/^10\.99\.0\.7\s+git\.e2e\.internal\s+ci\.e2e\.internal$/m);
    });

    it("creates the registry with the cluster and points every node's containerd at it", async () => {
      const [reg] = await dockerJson<Inspect[]>(["inspect", `k3box-${expected.name}-reg`]);
      expect(reg?.Config.Labels["dev.k3box.registry.cluster"]).toBe(expected.name);
      const hostPort = reg?.HostConfig.PortBindings["5000/tcp"]?.[0];
      expect(hostPort?.HostIp).toBe("127.0.0.1");
      const answer = await fetch(`http://127.0.0.1:${hostPort?.HostPort}/v2/`);
      expect(answer.status).toBe(200);
      for (const n of ["server-0", "agent-0"]) {
        const yaml = await docker(["exec", node(n), "cat", "/etc/rancher/k3s/registries.yaml"]);
        expect(yaml.stdout).toContain(`k3box-${expected.name}-reg:5000`);
      }
    });

    it("is deleted by its config file, leaving nothing behind", async () => {
      const del = await sb.k3box(["cluster", "delete", "--config", file], { E2E_IMAGE: DOUBLE_IMAGE });
      expect(del.stderr).toContain(`Cluster "${expected.name}" deleted`);
      expect(del.code).toBe(0);
      expect(await leftovers(expected.name)).toEqual([]);
      const registry = await docker(["ps", "-aq", "--filter", `name=^k3box-${expected.name}-reg$`]);
      expect(registry.stdout.trim()).toBe("");
      const cfg = parse(await readFile(sb.kubeconfig, "utf8")) as { clusters?: Array<{ name: string }> | null };
      expect((cfg.clusters ?? []).map((c) => c.name)).not.toContain(`k3box-${expected.name}`);
    });
  });
}

/** Files the config files refer to, relative to the config file. */
async function assets(sb: Sandbox): Promise<{ dataDir: string }> {
  const dataDir = join(sb.dir, "data");
  await mkdir(dataDir);
  await writeFile(join(dataDir, "seed.txt"), "seed\n");
  await writeFile(join(sb.dir, "note.txt"), "a note for the nodes\n");
  await mkdir(join(sb.dir, "deploy"));
  await writeFile(join(sb.dir, "deploy", "config.yaml"), MANIFEST("e2e-config"));
  await writeFile(join(sb.dir, "chart.yaml"), HELMCHART);
  return { dataDir };
}

describeCluster("config file: k3box.dev/v1alpha1", async (sb) => {
  const { dataDir } = await assets(sb);
  const expected: Expected = { name: sb.name("cfg"), ingressPort: await getPort(), subnet: randomSubnet(), dataDir };
  const file = join(sb.dir, "k3box.yaml");
  await writeFile(
    file,
    `apiVersion: k3box.dev/v1alpha1
kind: Cluster
metadata:
  name: ${expected.name}
servers: 1
agents: 1
image: \${E2E_IMAGE}
subnet: ${expected.subnet}
ports:
  - port: ${expected.ingressPort}:80
    nodeFilters: [loadbalancer]
env:
  - envVar: GREETING=hello-agent
    nodeFilters: [agent:0]
volumes:
  - volume: ./data:/mnt/data
    nodeFilters: [server:0]
files:
  - source: note.txt
    destination: /etc/k3box-e2e/note.txt
manifests:
  - ./deploy
  - chart.yaml
hostAliases:
  - ip: 10.99.0.7
    hostnames: [git.e2e.internal, ci.e2e.internal]
registries:
  create:
    name: ${expected.name}-reg
options:
  k3s:
    nodeLabels:
      - label: tier=edge
        nodeFilters: [agent:*]
  k3box:
    timeout: 3m
`,
  );
  return { expected, file };
});

describeCluster("config file: k3d.io/v1alpha5, unchanged", async (sb) => {
  const { dataDir } = await assets(sb);
  const expected: Expected = { name: sb.name("k3d"), ingressPort: await getPort(), subnet: randomSubnet(), dataDir };
  const file = join(sb.dir, "k3d.yaml");
  await writeFile(
    file,
    `apiVersion: k3d.io/v1alpha5
kind: Simple
metadata:
  name: ${expected.name}
servers: 1
agents: 1
image: \${E2E_IMAGE}
subnet: "${expected.subnet}"
ports:
  - port: ${expected.ingressPort}:80
    nodeFilters:
      - loadbalancer
env:
  - envVar: GREETING=hello-agent
    nodeFilters:
      - agent:0
volumes:
  - volume: ./data:/mnt/data
    nodeFilters:
      - server:0
files:
  - source: note.txt
    destination: /etc/k3box-e2e/note.txt
  - source: deploy/config.yaml
    destination: k3s-manifests/config.yaml
    nodeFilters:
      - server:*
  - source: |
${HELMCHART.split("\n")
  .map((l) => `      ${l}`)
  .join("\n")}
    destination: k3s-manifests-custom/chart.yaml
    nodeFilters:
      - server:*
hostAliases:
  - ip: 10.99.0.7
    hostnames:
      - git.e2e.internal
      - ci.e2e.internal
registries:
  create:
    name: ${expected.name}-reg
    host: 127.0.0.1
options:
  k3d:
    wait: true
    timeout: "180s"
    disableLoadbalancer: false
    disableImageVolume: false
    disableRollback: false
  k3s:
    nodeLabels:
      - label: tier=edge
        nodeFilters:
          - agent:*
  kubeconfig:
    updateDefaultKubeconfig: true
    switchCurrentContext: true
`,
  );
  return { expected, file };
});

describe("cluster create --dry-run", () => {
  it("prints the spec and the ordered plan, hides the token, and creates nothing", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("dry");
      const file = join(sb.dir, "k3box.yaml");
      await writeFile(join(sb.dir, "cm.yaml"), MANIFEST("dry"));
      await writeFile(
        file,
        `apiVersion: k3box.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nagents: 1\nimage: ${DOUBLE_IMAGE}\ntoken: dry-run-s3cret\nsubnet: ${randomSubnet()}\nmanifests: [cm.yaml]\n`,
      );
      await writeFile(join(sb.dir, "extra.yaml"), MANIFEST("extra"));
      const r = await sb.k3box(["cluster", "create", "--config", file, "--manifest", join(sb.dir, "extra.yaml"), "--dry-run"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("dry-run-s3cret");
      const out = parse(r.stdout) as {
        spec: { name: string; token: string; files: Array<{ destination: string }> };
        plan: { actions: unknown[]; nodes: Array<{ name: string; env: Record<string, string> }> };
      };
      expect(out.spec.name).toBe(name);
      expect(out.spec.token).toBe("<redacted>");
      // The file's manifest and the flag's, each under a name of its own.
      expect(out.spec.files.map((f) => f.destination)).toEqual([
        expect.stringMatching(/^\/var\/lib\/rancher\/k3s\/server\/manifests\/k3box-[0-9a-f]{8}-cm\.yaml$/),
        expect.stringMatching(/^\/var\/lib\/rancher\/k3s\/server\/manifests\/k3box-[0-9a-f]{8}-extra\.yaml$/),
      ]);
      expect(out.plan.nodes.map((n) => n.name)).toEqual([
        `k3box-${name}-server-0`,
        `k3box-${name}-agent-0`,
        `k3box-${name}-serverlb`,
      ]);
      expect(out.plan.nodes[0]?.env.K3S_TOKEN).toBe("<redacted>");
      expect(out.plan.actions[1]).toMatch(new RegExp(`^create network k3box-${name} with subnet `));
      expect(JSON.stringify(out.plan.actions)).toContain(
        `create container k3box-${name}-server-0, then copy in /bin/k3box-entrypoint.sh, /var/lib/rancher/k3s/server/manifests/k3box-`,
      );
      expect(await leftovers(name)).toEqual([]);
      const volumes = await docker(["volume", "ls", "-q", "--filter", `name=k3box-${name}`]);
      expect(volumes.stdout.trim()).toBe("");
      expect(existsSync(sb.kubeconfig)).toBe(false);
    } finally {
      await sb.dispose();
    }
  });

  it("reports a bad file with exit 2 and every problem, creating nothing", async () => {
    const sb = await Sandbox.create();
    try {
      const name = sb.name("badcfg");
      const file = join(sb.dir, "bad.yaml");
      await writeFile(
        file,
        `apiVersion: k3box.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nagents: 1\nports:\n  - port: 8080:80\n    nodeFilters: [agent:4]\nmanifests: [missing.yaml]\n`,
      );
      const r = await sb.k3box(["cluster", "create", "--config", file, "-i", DOUBLE_IMAGE]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:6:5: ports[0]: node filter "agent:4"`);
      expect(r.stderr).toContain(`${file}:8:13: manifests[0]: manifest "${join(sb.dir, "missing.yaml")}": cannot read`);
      expect(await leftovers(name)).toEqual([]);
      expect(existsSync(sb.kubeconfig)).toBe(false);
    } finally {
      await sb.dispose();
    }
  });
});
