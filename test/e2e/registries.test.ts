import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, dockerJson, leftovers, uniqueName, type RunResult } from "./helpers.js";

const HOSTS_DIR = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d";
const REGISTRIES_YAML = "/etc/rancher/k3s/registries.yaml";

interface Names {
  host: string;
  node: string;
  pod: string;
}

interface RegistryJson {
  name: string;
  container: string;
  networks: string[];
  names: Names;
  clusters: string[];
  state: string;
}

/**
 * ctr's progress display logs these when the pull it watches ends first
 * (its context is cancelled); they say nothing about the pull.
 */
const CTR_PROGRESS_RACE = /^.*level=error msg="(active check failed|failed to get content info)" error="context canceled"\n?/gm;

/**
 * Pulls in a node the way k3s' containerd would: through the host configs k3box
 * and k3s write. Any other line on stderr stays for the tests to see.
 */
async function pullInNode(node: string, ref: string): Promise<RunResult> {
  const r = await docker(["exec", node, "ctr", "images", "pull", "--hosts-dir", HOSTS_DIR, ref]);
  return { ...r, stderr: r.stderr.replace(CTR_PROGRESS_RACE, "") };
}

/** Tags the seeded busybox for a registry and pushes it from the host. */
async function pushBusybox(hostName: string, repository = "busybox"): Promise<string> {
  const ref = `${hostName}/${repository}:latest`;
  expect((await docker(["tag", "busybox:latest", ref])).code).toBe(0);
  const push = await docker(["push", ref]);
  expect(push.stderr + push.stdout).not.toMatch(/error/i);
  expect(push.code).toBe(0);
  return ref;
}

async function registryJson(sb: Sandbox, name: string): Promise<RegistryJson> {
  const r = await sb.k3box(["registry", "get", name, "-o", "json"]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as RegistryJson;
}

async function hostingConfigMap(
  sb: Sandbox,
  cluster: string,
): Promise<{ v1: Record<string, string>; all: Array<Record<string, string>> }> {
  const r = await sb.kubectl([
    "--context",
    `k3box-${cluster}`,
    "get",
    "--raw",
    "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting",
  ]);
  expect(r.stderr).toBe("");
  const cm = JSON.parse(r.stdout) as { data: Record<string, string> };
  return {
    v1: parse(cm.data["localRegistryHosting.v1"] ?? "") as Record<string, string>,
    all: parse(cm.data["k3box.localRegistryHosting.v1"] ?? "") as Array<Record<string, string>>,
  };
}

/** The double applies manifests within about 2 s of a change; the API is the only observer. */
async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last = await probe();
  for (let i = 0; i < 40 && !ok(last); i++) {
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}

describe("cluster create --registry-create: push from the host, pull in every node", () => {
  let sb: Sandbox;
  let cluster: string;
  let hub: RegistryJson;
  let created: { code: number; stderr: string; json: { registries: Array<{ name: string } & Names>; nodes: string[] } };
  const pushed: string[] = [];

  beforeAll(async () => {
    sb = await Sandbox.create();
    cluster = sb.name("reg");
    // A registry that pretends to be docker.io: a pull-through cache cannot reach docker.io
    // here (no network), so a plain registry holding library/busybox, named as docker.io's
    // mirror in --registry-config, stands in for one. A pull by the docker.io name can only
    // succeed through that mirror entry.
    const hubCreate = await sb.k3box(["registry", "create", `${cluster}-hub`, "-o", "json"]);
    expect(hubCreate.code).toBe(0);
    hub = JSON.parse(hubCreate.stdout) as RegistryJson;
    pushed.push(await pushBusybox(hub.names.host, "library/busybox"));
    const config = join(sb.dir, "registries.yaml");
    await writeFile(config, `mirrors:\n  docker.io:\n    endpoint: ["http://${hub.names.node}"]\n`);

    const r = await sb.k3box([
      "cluster",
      "create",
      cluster,
      "-a",
      "1",
      "-i",
      DOUBLE_IMAGE,
      "--timeout",
      "3m",
      "-o",
      "json",
      "--registry-create",
      `${cluster}-registry`,
      "--registry-use",
      `${cluster}-hub`,
      "--registry-config",
      config,
    ]);
    created = { code: r.code, stderr: r.stderr, json: r.code === 0 ? JSON.parse(r.stdout) : { registries: [], nodes: [] } };
  });
  afterAll(async () => {
    await sb.dispose();
    await sb.k3box(["registry", "delete", "--force", `${cluster}-hub`]);
    for (const ref of pushed) await docker(["rmi", ref]);
    expect(await leftovers(cluster)).toEqual([]);
  });

  it("succeeds and reports the names of both registries", () => {
    expect(created.stderr).toContain("API answered through the load balancer");
    expect(created.code).toBe(0);
    const own = created.json.registries.find((r) => r.name === `${cluster}-registry`);
    expect(own).toMatchObject({ node: `k3box-${cluster}-registry:5000`, pod: `k3box-${cluster}-registry:5000` });
    expect(own?.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(created.json.registries.find((r) => r.name === `${cluster}-hub`)).toMatchObject(hub.names);
  });

  it("registry create -o json gives the three names", () => {
    expect(hub.names).toEqual({
      host: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      node: `k3box-${cluster}-hub:5000`,
      pod: `k3box-${cluster}-hub:5000`,
    });
  });

  it("runs the registry as k3box's, on loopback, restarting unless stopped, and counts it as no node", async () => {
    const [c] = await dockerJson<
      Array<{
        Config: { Labels: Record<string, string> };
        HostConfig: { RestartPolicy: { Name: string }; PortBindings: Record<string, Array<{ HostIp: string }>> };
        NetworkSettings: { Networks: Record<string, unknown> };
      }>
    >(["inspect", `k3box-${cluster}-registry`]);
    expect(c?.Config.Labels).toMatchObject({
      "dev.k3box.managed": "true",
      "dev.k3box.role": "registry",
      "dev.k3box.registry.cluster": cluster,
    });
    expect(c?.Config.Labels["dev.k3box.cluster"]).toBeUndefined();
    expect(c?.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(c?.HostConfig.PortBindings["5000/tcp"]?.[0]?.HostIp).toBe("127.0.0.1");
    expect(Object.keys(c?.NetworkSettings.Networks ?? {})).toEqual([`k3box-${cluster}`]);
    const get = JSON.parse((await sb.k3box(["cluster", "get", cluster, "-o", "json"])).stdout) as {
      servers: { total: number };
      agents: { total: number };
      nodes: Array<{ name: string }>;
    };
    expect(get.servers.total).toBe(1);
    expect(get.agents.total).toBe(1);
    expect(get.nodes.map((n) => n.name)).not.toContain(`k3box-${cluster}-registry`);
  });

  it("pulls an image pushed from the host by its in-cluster name in every node", async () => {
    const own = created.json.registries.find((r) => r.name === `${cluster}-registry`) as Names;
    pushed.push(await pushBusybox(own.host));
    for (const node of [`k3box-${cluster}-server-0`, `k3box-${cluster}-agent-0`]) {
      const pull = await pullInNode(node, `${own.node}/busybox:latest`);
      expect(pull.stderr).toBe("");
      expect(pull.code).toBe(0);
      // The host's name for it works in a pod spec too.
      expect((await pullInNode(node, `${own.host}/busybox:latest`)).code).toBe(0);
    }
  });

  it("pulls docker.io/library/busybox offline through the mirror entry", async () => {
    for (const node of [`k3box-${cluster}-server-0`, `k3box-${cluster}-agent-0`]) {
      const pull = await pullInNode(node, "docker.io/library/busybox:latest");
      expect(pull.stderr).toBe("");
      expect(pull.code).toBe(0);
    }
  });

  it("writes registries.yaml into every node and records it in the node's files label", async () => {
    for (const node of [`k3box-${cluster}-server-0`, `k3box-${cluster}-agent-0`]) {
      const yaml = parse((await docker(["exec", node, "cat", REGISTRIES_YAML])).stdout) as {
        mirrors: Record<string, { endpoint: string[] }>;
      };
      expect(yaml.mirrors[`k3box-${cluster}-registry:5000`]?.endpoint).toEqual([`http://k3box-${cluster}-registry:5000`]);
      expect(yaml.mirrors["docker.io"]?.endpoint).toEqual([`http://k3box-${cluster}-hub:5000`]);
      const [info] = await dockerJson<Array<{ Config: { Labels: Record<string, string> } }>>(["inspect", node]);
      expect(JSON.parse(info?.Config.Labels["dev.k3box.files"] ?? "[]")).toContain(REGISTRIES_YAML);
    }
  });

  it("serves the KEP-1755 ConfigMap through the API with the right names", async () => {
    const own = created.json.registries.find((r) => r.name === `${cluster}-registry`) as Names;
    const cm = await hostingConfigMap(sb, cluster);
    expect(cm.v1).toEqual({
      host: own.host,
      hostFromContainerRuntime: own.node,
      hostFromClusterNetwork: own.pod,
      help: expect.stringMatching(/^https:\/\//),
    });
    expect(cm.all.map((r) => [r.name, r.host, r.hostFromContainerRuntime])).toEqual([
      [`${cluster}-registry`, own.host, own.node],
      [`${cluster}-hub`, hub.names.host, hub.names.node],
    ]);
  });

  it("node create gives the new node the same registry config, and it pulls by every name", async () => {
    const own = created.json.registries.find((r) => r.name === `${cluster}-registry`) as Names;
    const add = await sb.k3box(["node", "create", "--cluster", cluster, "--role", "agent", "--timeout", "2m"]);
    expect(add.stderr).not.toMatch(/error/i);
    expect(add.code).toBe(0);
    const node = `k3box-${cluster}-agent-1`;
    const peer = await docker(["exec", `k3box-${cluster}-agent-0`, "cat", REGISTRIES_YAML]);
    const copied = await docker(["exec", node, "cat", REGISTRIES_YAML]);
    expect(copied.stdout).toBe(peer.stdout);
    expect((await pullInNode(node, `${own.node}/busybox:latest`)).code).toBe(0);
    expect((await pullInNode(node, "docker.io/library/busybox:latest")).code).toBe(0);
  });

  it("cluster delete removes the registry it created and lets the shared one go", async () => {
    expect((await sb.k3box(["cluster", "delete", cluster])).code).toBe(0);
    expect((await docker(["inspect", `k3box-${cluster}-registry`])).code).not.toBe(0);
    const left = await registryJson(sb, `${cluster}-hub`);
    expect(left).toMatchObject({ state: "running", clusters: [] });
    const [c] = await dockerJson<Array<{ NetworkSettings: { Networks: Record<string, unknown> } }>>(["inspect", left.container]);
    expect(Object.keys(c?.NetworkSettings.Networks ?? {})).toEqual(["bridge"]);
    expect((await fetch(`http://${left.names.host}/v2/`)).status).toBe(200);
  });
});

describe("registry connect and disconnect on running clusters; two clusters share one registry", () => {
  let sb: Sandbox;
  let a: string;
  let b: string;
  let reg: string;
  let shared: RegistryJson;
  let createText: RunResult;
  const pushed: string[] = [];

  beforeAll(async () => {
    sb = await Sandbox.create();
    a = sb.name("sha");
    b = sb.name("shb");
    // Not named after either cluster: it belongs to neither.
    reg = uniqueName("shared");
    createText = await sb.k3box(["registry", "create", reg]);
    shared = await registryJson(sb, reg);
    pushed.push(await pushBusybox(shared.names.host));
    const [ra, rb] = await Promise.all([
      sb.k3box(["cluster", "create", a, "-i", DOUBLE_IMAGE, "--timeout", "3m", "--registry-use", reg]),
      sb.k3box(["cluster", "create", b, "-i", DOUBLE_IMAGE, "--timeout", "3m"]),
    ]);
    expect(ra.stderr).toContain("created");
    expect(rb.stderr).toContain("created");
  });
  afterAll(async () => {
    await sb.dispose();
    await sb.k3box(["registry", "delete", "--force", reg]);
    for (const ref of pushed) await docker(["rmi", ref]);
    expect((await docker(["ps", "-aq", "--filter", `name=k3box-${reg}`])).stdout).toBe("");
    expect(await leftovers(a)).toEqual([]);
    expect(await leftovers(b)).toEqual([]);
  });

  it("registry create prints the names to use from the host, the nodes and pods", () => {
    expect(createText.code).toBe(0);
    expect(createText.stderr).toContain(`from the host (docker push/pull):   ${shared.names.host}`);
    expect(createText.stderr).toContain(`in pod specs (nodes' containerd):   k3box-${reg}:5000`);
    expect(createText.stderr).toContain(`from inside pods (in-cluster push): k3box-${reg}:5000`);
  });

  it("connect makes a running cluster pull through the registry, without restarting a node", async () => {
    const node = `k3box-${b}-server-0`;
    const before = (await docker(["inspect", "-f", "{{.State.StartedAt}}", node])).stdout;
    expect((await pullInNode(node, `${shared.names.node}/busybox:latest`)).code).not.toBe(0);
    const r = await sb.k3box(["registry", "connect", reg, "--cluster", b]);
    expect(r.stderr).toContain(`connected to cluster "${b}"`);
    expect(r.code).toBe(0);
    const pull = await pullInNode(node, `${shared.names.node}/busybox:latest`);
    expect(pull.stderr).toBe("");
    expect(pull.code).toBe(0);
    expect((await docker(["inspect", "-f", "{{.State.StartedAt}}", node])).stdout).toBe(before);
    expect((await docker(["exec", node, "cat", REGISTRIES_YAML])).stdout).toContain(`http://k3box-${reg}:5000`);
    const cm = await eventually(
      () => hostingConfigMap(sb, b),
      (c) => c.v1.host === shared.names.host,
    );
    expect(cm.v1.hostFromContainerRuntime).toBe(shared.names.node);
    expect((await registryJson(sb, reg)).clusters.sort()).toEqual([a, b].sort());
  });

  it("refuses to delete a registry clusters use, changing nothing", async () => {
    const r = await sb.k3box(["registry", "delete", reg]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`registry "${reg}" is used by clusters`);
    expect(r.stderr).toContain("--force");
    expect(await registryJson(sb, reg)).toMatchObject({ state: "running", clusters: [a, b].sort() });
    expect((await pullInNode(`k3box-${b}-server-0`, `${shared.names.node}/busybox:latest`)).code).toBe(0);
  });

  it("deleting one cluster leaves the shared registry working for the other", async () => {
    expect((await sb.k3box(["cluster", "delete", a])).code).toBe(0);
    expect(await leftovers(a)).toEqual([]);
    expect((await registryJson(sb, reg)).clusters).toEqual([b]);
    expect((await pullInNode(`k3box-${b}-server-0`, `${shared.names.node}/busybox:latest`)).code).toBe(0);
  });

  it("disconnect makes the cluster stop using it", async () => {
    const node = `k3box-${b}-server-0`;
    const r = await sb.k3box(["registry", "disconnect", reg, "--cluster", b]);
    expect(r.code).toBe(0);
    expect((await docker(["exec", node, "ls", HOSTS_DIR])).stdout).not.toContain(`k3box-${reg}`);
    expect((await docker(["exec", node, "cat", REGISTRIES_YAML])).stdout).not.toContain(`k3box-${reg}`);
    const pull = await pullInNode(node, `${shared.names.node}/busybox:latest`);
    expect(pull.code).not.toBe(0);
    const cm = await eventually(
      () => hostingConfigMap(sb, b),
      (c) => c.v1.host === undefined,
    );
    expect(cm.v1).toEqual({ help: expect.stringMatching(/^https:\/\//) });
    expect(cm.all).toEqual([]);
    expect(await registryJson(sb, reg)).toMatchObject({ clusters: [], state: "running" });
    // Disconnecting again is an error that changes nothing.
    const again = await sb.k3box(["registry", "disconnect", reg, "--cluster", b]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`registry "${reg}" is not connected to cluster "${b}"`);
  });
});

describe("a pull-through cache", () => {
  let sb: Sandbox;
  let cluster: string;
  let upstream: RegistryJson;
  let hub: string;
  const pushed: string[] = [];

  beforeAll(async () => {
    sb = await Sandbox.create();
    cluster = sb.name("proxy");
    hub = uniqueName("hub");
    const up = uniqueName("up");
    expect((await sb.k3box(["cluster", "create", cluster, "-i", DOUBLE_IMAGE, "--timeout", "3m"])).code).toBe(0);
    // docker.io is out of reach here and registry:2 in proxy mode will not start without
    // its upstream, so the upstream is another registry on the cluster's network.
    expect((await sb.k3box(["registry", "create", up, "--network", `k3box-${cluster}`])).code).toBe(0);
    upstream = await registryJson(sb, up);
    pushed.push(await pushBusybox(upstream.names.host));
    const r = await sb.k3box(
      [
        "registry",
        "create",
        hub,
        "--network",
        `k3box-${cluster}`,
        "--proxy-remote-url",
        `http://${upstream.names.node}`,
        "--proxy-username",
        "cache",
        "--delete-enabled",
      ],
      // The password from the environment, out of the process list.
      { K3BOX_REGISTRY_PROXY_PASSWORD: "from-env" },
    );
    expect(r.stderr).toContain(`a cache of http://${upstream.names.node}`);
    expect(r.code).toBe(0);
    const [c] = await dockerJson<Array<{ Config: { Env: string[] } }>>(["inspect", `k3box-${hub}`]);
    expect(c?.Config.Env).toContain("REGISTRY_PROXY_PASSWORD=from-env");
  });
  afterAll(async () => {
    for (const r of [hub, upstream.name]) await sb.k3box(["registry", "delete", "--force", r]);
    await sb.dispose();
    for (const ref of pushed) await docker(["rmi", ref]);
    expect((await docker(["ps", "-aq", "--filter", `name=k3box-${hub}`, "--filter", `name=k3box-${upstream.name}`])).stdout).toBe(
      "",
    );
    expect(await leftovers(cluster)).toEqual([]);
  });

  it("a registry that cannot start fails the create with its log, leaving nothing", async () => {
    const name = uniqueName("deadcache");
    const r = await sb.k3box(["registry", "create", name, "--proxy-remote-url", "https://registry-1.docker.io"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`registry k3box-${name} exited`);
    expect(r.stderr).toContain("last log lines");
    expect((await docker(["inspect", `k3box-${name}`])).code).not.toBe(0);
  });

  it("connected, it becomes the nodes' mirror of its upstream, and pulls go through it", async () => {
    const [c] = await dockerJson<Array<{ Config: { Env: string[] } }>>(["inspect", `k3box-${hub}`]);
    expect(c?.Config.Env).toContain(`REGISTRY_PROXY_REMOTEURL=http://${upstream.names.node}`);
    expect(c?.Config.Env).toContain("REGISTRY_STORAGE_DELETE_ENABLED=true");
    expect((await sb.k3box(["registry", "connect", hub, "--cluster", cluster])).code).toBe(0);
    const node = `k3box-${cluster}-server-0`;
    const yaml = parse((await docker(["exec", node, "cat", REGISTRIES_YAML])).stdout) as {
      mirrors: Record<string, { endpoint: string[] }>;
    };
    expect(yaml.mirrors[upstream.names.node]?.endpoint).toEqual([`http://k3box-${hub}:5000`]);
    const pull = await pullInNode(node, `${upstream.names.node}/busybox:latest`);
    expect(pull.stderr).toBe("");
    expect(pull.code).toBe(0);
    // The cache now holds what it fetched for the node.
    const hubHost = (await registryJson(sb, hub)).names.host;
    const catalog = (await (await fetch(`http://${hubHost}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toContain("busybox");
  });

  it("delete --force disconnects it from the cluster first", async () => {
    const refused = await sb.k3box(["registry", "delete", hub]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(`registry "${hub}" is used by cluster ${cluster}`);
    const r = await sb.k3box(["registry", "delete", "--force", hub]);
    expect(r.stderr).toContain(`Registry "${hub}" deleted`);
    expect(r.code).toBe(0);
    const node = `k3box-${cluster}-server-0`;
    expect((await docker(["exec", node, "cat", REGISTRIES_YAML])).stdout).not.toContain(`k3box-${hub}`);
    expect((await docker(["exec", node, "ls", HOSTS_DIR])).stdout).not.toContain(upstream.names.node);
    expect((await docker(["inspect", `k3box-${hub}`])).code).not.toBe(0);
  });
});

describe("registries: bad input is refused with nothing changed", () => {
  let sb: Sandbox;
  let holder: Server;
  let busyPort: number;

  beforeAll(async () => {
    sb = await Sandbox.create();
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    busyPort = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    holder.close();
    await sb.dispose();
  });

  it("a port in use: registry create and cluster create --registry-create", async () => {
    const name = sb.name("busy");
    const r = await sb.k3box(["registry", "create", name, "--port", String(busyPort)]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`port 127.0.0.1:${busyPort} is already in use`);
    expect((await docker(["inspect", `k3box-${name}`])).code).not.toBe(0);

    const c = await sb.k3box([
      "cluster",
      "create",
      name,
      "-i",
      DOUBLE_IMAGE,
      "--registry-create",
      `${name}-registry:${busyPort}`,
    ]);
    expect(c.code).toBe(5);
    expect(c.stderr).toContain(`--registry-create ${name}-registry: port 127.0.0.1:${busyPort} is already in use`);
    expect(await leftovers(name)).toEqual([]);
  });

  it("an unknown registry: cluster create --registry-use and registry connect", async () => {
    const name = sb.name("unknown");
    const c = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--registry-use", `${name}-nope`]);
    expect(c.code).toBe(6);
    expect(c.stderr).toContain(`registry "${name}-nope" not found`);
    expect(await leftovers(name)).toEqual([]);
    const connect = await sb.k3box(["registry", "connect", `${name}-nope`, "--cluster", name]);
    expect(connect.code).toBe(6);
    expect(connect.stderr).toContain(`registry "${name}-nope" not found`);
  });

  it("a malformed --registry-config names the file and line", async () => {
    const name = sb.name("badcfg");
    const file = join(sb.dir, "bad-registries.yaml");
    await writeFile(file, 'mirrors:\n  docker.io:\n    endpoint: "http://not-a-list"\n');
    const c = await sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--registry-config", file]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain(`${file}:3:15: mirrors."docker.io".endpoint must be a list of strings`);
    expect(await leftovers(name)).toEqual([]);
  });

  it("a create that fails removes the registry it created and lets go of the one it used", async () => {
    const name = sb.name("failreg");
    const used = uniqueName("kept");
    expect((await sb.k3box(["registry", "create", used])).code).toBe(0);
    try {
      const c = await sb.k3box([
        "cluster",
        "create",
        name,
        "-i",
        DOUBLE_IMAGE,
        "--registry-create",
        `${name}-registry`,
        "--registry-use",
        used,
        "-e",
        "K3S_DOUBLE_FAIL_AT=kubelet@server:0",
        "--timeout",
        "2m",
      ]);
      expect(c.code).toBe(7);
      expect(c.stderr).toContain("injected failure at kubelet");
      expect((await docker(["inspect", `k3box-${name}-registry`])).code).not.toBe(0);
      expect(await leftovers(name)).toEqual([]);
      const kept = await registryJson(sb, used);
      expect(kept).toMatchObject({ state: "running", networks: ["bridge"], clusters: [] });
    } finally {
      await sb.k3box(["registry", "delete", used]);
    }
  });
});
