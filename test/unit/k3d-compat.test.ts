/** k3d's dialect and command line without Docker: planning, translation, parsers, shapes and flags. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Ajv2020 } from "ajv/dist/2020.js";
import { Command, Option } from "commander";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, UsageError } from "../../src/base/errors.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { parseEnvVar } from "../../src/core/cluster-spec/env.js";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { applyLbOverride, parseGpus, parseMemory, parseRuntimeLabel, parseUlimit } from "../../src/core/cluster-spec/runtime.js";
import { migrateK3dConfig } from "../../src/core/config/migrate.js";
import { K3BOX, K3D } from "../../src/core/dialect.js";
import { clusterKubeconfig, clusterKubeconfigPath } from "../../src/core/kubeconfig/index.js";
import { mergeIntoFile } from "../../src/core/kubeconfig/entries.js";
import { readKubeconfigFile } from "../../src/core/kubeconfig/file.js";
import { apiServerUrl, indexOf } from "../../src/core/labels.js";
import { planCreate, type PlanContext } from "../../src/core/plan/cluster.js";
import { planNewNodes } from "../../src/core/plan/nodes.js";
import type { ClusterDetail, NodeDetail } from "../../src/core/operations/inspect.js";
import type { ContainerInfo } from "../../src/runtime/types.js";
import { specFromInspect, toCreateOptions } from "../../src/runtime/docker/translate.js";
import { k3dCluster, humanSize } from "../../src/cli/k3d-shapes.js";
import { K3BOX_MODE, K3D_MODE, modeFor } from "../../src/cli/mode.js";
import { bool, normalizeBooleanFlags } from "../../src/cli/options.js";
import { run } from "../../src/cli/program.js";
import { timestamped } from "../../src/cli/timestamps.js";
import { K3S_KUBECONFIG } from "./k3s-kubeconfig-fixture.js";
import { MemoryRuntime } from "../support/memory-runtime/index.js";
import { answerProbes } from "../support/probe.js";
import { createCluster } from "../../src/core/operations/create.js";
import { deleteCluster } from "../../src/core/operations/delete.js";
import { inspectClusters } from "../../src/core/operations/inspect.js";
import { listClusters } from "../../src/core/operations/list.js";
import { streams } from "../support/captured-streams.js";

const ctx: PlanContext = {
  token: "t0ken",
  apiHostPort: 6550,
  portHostPorts: new Map(),
  networkExists: false,
  version: K3D.versionValue,
  nodeEntrypoint: "#!/bin/sh\n",
  dialect: K3D,
};

async function k3dPlan(input: ClusterInput) {
  return planCreate(await buildClusterSpec({ name: "demo", ...input }, { dialect: K3D }), ctx);
}

describe("k3d's dialect in the create plan", () => {
  it("names every object k3d-…, writes k3d's labels, and keeps what k3box reads back", async () => {
    const p = await k3dPlan({ agents: 1, hostAliases: ["10.0.0.5:db.internal"] });
    expect(p.network.name).toBe("k3d-demo");
    expect(p.nodes.map((n) => n.name)).toEqual(["k3d-demo-server-0", "k3d-demo-agent-0", "k3d-demo-serverlb"]);
    const server = p.nodes[0]?.container;
    expect(server?.labels).toMatchObject({
      app: "k3d",
      "k3d.version": "v5.9.0",
      "k3d.cluster": "demo",
      "k3d.role": "server",
      "k3d.cluster.network": "k3d-demo",
      "k3d.cluster.network.external": "false",
      "k3d.cluster.url": "https://k3d-demo-server-0:6443",
      "k3d.cluster.imageVolume": "k3d-demo-images",
      "k3d.server.loadbalancer": "k3d-demo-serverlb",
      "k3d.server.api.port": "6550",
      "k3d.server.api.hostIP": "0.0.0.0",
      "k3d.cluster.start.hostaliases": '[{"ip":"10.0.0.5","hostnames":["db.internal"]}]',
      "dev.k3box.node.index": "0",
    });
    // k3box's own marker stays off, so its own dialect never takes these clusters for its own.
    expect(server?.labels["dev.k3box.managed"]).toBeUndefined();
    // Secrets stay off labels.
    expect(Object.keys(server?.labels ?? {})).not.toContain("k3d.cluster.token");
    expect(server?.env).toMatchObject({ K3BOX_HOST_NAME: "host.k3d.internal" });
    expect(server?.mounts).toContainEqual({ type: "volume", source: "k3d-demo-images", target: "/k3d/images" });
    expect(p.api.hostIp).toBe("0.0.0.0");
  });

  it("takes --no-image-volume, the runtime settings, and the load balancer's overrides", async () => {
    const p = await k3dPlan({
      agents: 2,
      imageVolume: false,
      serversMemory: "1g",
      agentsMemory: "512m",
      gpus: "all",
      hostPidMode: true,
      runtimeLabels: ["team=blue@agent:1"],
      runtimeUlimits: ["nofile=1024:2048"],
      lbConfigOverrides: ["settings.workerConnections=2048", "settings.defaultProxyTimeout=30"],
    });
    const byName = new Map(p.nodes.map((n) => [n.name, n]));
    const server = byName.get("k3d-demo-server-0");
    const agent1 = byName.get("k3d-demo-agent-1");
    expect(server?.container).toMatchObject({
      memoryBytes: 1024 ** 3,
      deviceRequests: [{ count: -1, capabilities: [["gpu"]], options: {} }],
      ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
      hostPid: true,
    });
    expect(agent1?.container.memoryBytes).toBe(512 * 1024 ** 2);
    expect(server?.files.find((f) => f.path === "/etc/k3box/meminfo")?.content).toBe("MemTotal: 1048576 kB\nSwapTotal: 0 kB\n");
    expect(agent1?.container.labels.team).toBe("blue");
    expect(byName.get("k3d-demo-agent-0")?.container.labels.team).toBeUndefined();
    expect(server?.container.mounts?.some((m) => m.target === "/k3d/images")).toBe(false);
    const lb = byName.get("k3d-demo-serverlb");
    expect(lb?.files[0]?.content).toContain("worker_connections 2048;");
    expect(lb?.files[0]?.content).toContain("proxy_timeout 30s;");
    expect(JSON.parse(lb?.container.labels["dev.k3box.lb.settings"] ?? "{}")).toEqual({
      workerConnections: 2048,
      defaultProxyTimeout: 30,
    });
  });

  it("names the registry of --registry-create as given, as k3d does", async () => {
    const p = planCreate(await buildClusterSpec({ name: "demo", registryCreate: "demo-registry" }, { dialect: K3D }), {
      ...ctx,
      registryHostPort: 5055,
    });
    expect(p.registry?.name).toBe("demo-registry");
    expect(p.registry?.labels).toMatchObject({
      app: "k3d",
      "k3d.role": "registry",
      "k3s.registry.port.external": "5055",
      "k3s.registry.port.internal": "5000",
    });
  });

  it("keeps k3box's own dialect as it was: 127.0.0.1, no image volume, no k3d labels", async () => {
    const spec = await buildClusterSpec({ name: "demo" });
    const p = planCreate(spec, { ...ctx, dialect: K3BOX, version: "0.0.0-test" });
    expect(spec.api.hostIp).toBe("127.0.0.1");
    expect(p.nodes.map((n) => n.name)).toEqual(["k3box-demo-server-0", "k3box-demo-serverlb"]);
    const labels = p.nodes[0]?.container.labels ?? {};
    expect(Object.keys(labels).filter((k) => !k.startsWith("dev.k3box."))).toEqual([]);
    expect(p.nodes[0]?.container.env).not.toHaveProperty("K3BOX_HOST_NAME");
  });

  it("reads nodes k3d made back: index from the name, the API on loopback", () => {
    expect(indexOf(K3D, { name: "k3d-c-agent-3", labels: {} })).toBe(3);
    expect(apiServerUrl(K3D, { "k3d.server.api.host": "0.0.0.0", "k3d.server.api.port": "6550" })).toBe("https://127.0.0.1:6550");
  });
});

function container(name: string, labels: Record<string, string>, memoryBytes?: number): ContainerInfo {
  const spec = {
    name,
    image: "rancher/k3s:v1",
    labels,
    network: "k3d-c",
    cmd: ["server"],
    env: { K3S_TOKEN: "t" },
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
  };
  return {
    id: name,
    name,
    restartCount: 0,
    image: "rancher/k3s:v1",
    labels,
    state: "running",
    running: true,
    ports: [],
    networks: {},
    env: {},
    cmd: [],
    mounts: [],
    spec,
  };
}

describe("node create in k3d's dialect", () => {
  const server = container("k3d-c-server-0", {
    app: "k3d",
    "k3d.cluster": "c",
    "k3d.role": "server",
    "dev.k3box.files": '["/bin/k3box-entrypoint.sh"]',
  });
  it("names nodes k3d-NAME-N after the highest in use, with their own memory and labels", () => {
    const existing = container("k3d-extra-0", {
      app: "k3d",
      "k3d.cluster": "c",
      "k3d.role": "agent",
      "dev.k3box.files": '["/bin/k3box-entrypoint.sh"]',
    });
    const nodes = planNewNodes(
      "c",
      [server, existing],
      "agent",
      2,
      { k3sArgs: [], env: {}, mounts: [], name: "extra", memoryBytes: 300 * 1024 ** 2, runtimeLabels: { team: "red" } },
      K3D,
    );
    expect(nodes.map((n) => n.name)).toEqual(["k3d-extra-1", "k3d-extra-2"]);
    expect(nodes[0]?.container).toMatchObject({ memoryBytes: 300 * 1024 ** 2, labels: { team: "red", "k3d.role": "agent" } });
    // The peer is the newest node of the role; its own memory limit's meminfo is not copied.
    expect(nodes[0]?.files).toMatchObject({ from: "k3d-extra-0", paths: ["/bin/k3box-entrypoint.sh"] });
    const files = nodes[0]?.files;
    expect(files && "entries" in files ? files.entries?.map((e) => e.path) : []).toEqual(["/etc/k3box/meminfo"]);
    expect(JSON.parse(nodes[0]?.container.labels["dev.k3box.files"] ?? "[]")).toEqual([
      "/bin/k3box-entrypoint.sh",
      "/etc/k3box/meminfo",
    ]);
  });
});

describe("Docker translation of the runtime settings", () => {
  it("sends memory, device requests, ulimits and host PID mode, and reads them back", () => {
    const spec = {
      name: "n",
      image: "i",
      labels: {},
      network: "net",
      memoryBytes: 268435456,
      deviceRequests: [{ driver: "nvidia", deviceIds: ["0", "1"], capabilities: [["utility", "gpu"]], options: {} }],
      ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
      hostPid: true,
    };
    const host = toCreateOptions(spec).HostConfig as Record<string, unknown>;
    expect(host).toMatchObject({
      Memory: 268435456,
      DeviceRequests: [{ Driver: "nvidia", DeviceIDs: ["0", "1"], Capabilities: [["utility", "gpu"]], Options: {} }],
      Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
      PidMode: "host",
    });
    const back = specFromInspect({
      Id: "abc",
      Name: "/n",
      Config: { Image: "i", Labels: {}, Env: [] },
      HostConfig: { ...host, NetworkMode: "net" },
      NetworkSettings: { Networks: {} },
    } as never);
    expect(back).toMatchObject({
      memoryBytes: 268435456,
      deviceRequests: spec.deviceRequests,
      ulimits: spec.ulimits,
      hostPid: true,
    });
  });

  it("sends none of them for a node without them", () => {
    const host = toCreateOptions({ name: "n", image: "i", labels: {}, network: "net" }).HostConfig as Record<string, unknown>;
    for (const key of ["Memory", "DeviceRequests", "Ulimits", "PidMode"]) expect(host).not.toHaveProperty(key);
  });
});

describe("parsers of k3d's runtime flags", () => {
  it("reads Docker's --gpus syntax", () => {
    expect(parseGpus("all")).toEqual({ count: -1, capabilities: [["gpu"]], options: {} });
    expect(parseGpus("2")).toEqual({ count: 2, capabilities: [["gpu"]], options: {} });
    expect(parseGpus('"device=0,1",driver=nvidia')).toEqual({
      driver: "nvidia",
      deviceIds: ["0", "1"],
      capabilities: [["gpu"]],
      options: {},
    });
    expect(parseGpus("count=1,capabilities=utility")).toEqual({ count: 1, capabilities: [["utility", "gpu"]], options: {} });
    expect(() => parseGpus("colour=red")).toThrow(/unknown key "colour"/);
    expect(() => parseGpus("some")).toThrow(/count must be a whole number or all/);
  });

  it("reads memory sizes, ulimits, runtime labels and load balancer overrides", () => {
    expect(parseMemory("1.5g", "memory")).toBe(1.5 * 1024 ** 3);
    expect(parseMemory("512MiB", "memory")).toBe(512 * 1024 ** 2);
    expect(() => parseMemory("1k", "memory")).toThrow(/at least 6m/);
    expect(() => parseMemory("lots", "agents memory")).toThrow('invalid agents memory "lots"');
    expect(parseUlimit("nproc=-1:-1")).toEqual({ name: "nproc", soft: -1, hard: -1 });
    expect(() => parseUlimit("noproc=1:1")).toThrow(/"noproc" is no ulimit/);
    expect(() => parseUlimit("nofile=10:5")).toThrow(/must not exceed/);
    expect(parseRuntimeLabel("team=blue@agent:0").value).toBe("blue");
    for (const key of ["app=x", "k3d.role=server", "dev.k3box.managed=true"]) {
      expect(() => parseRuntimeLabel(key)).toThrow(UsageError);
    }
    expect(applyLbOverride({}, "settings.workerConnections=4096")).toEqual({ workerConnections: 4096 });
    expect(() => applyLbOverride({}, "ports.80=x")).toThrow(/settings.workerConnections/);
  });

  it("passes -e KEY without a value through in k3d's dialect, and refuses it in k3box's", async () => {
    expect(parseEnvVar("UNSET_K3D_TEST@server:0", {}, true)).toMatchObject({ key: "UNSET_K3D_TEST" });
    expect(parseEnvVar("UNSET_K3D_TEST@server:0", {}, true).value).toBeUndefined();
    await expect(buildClusterSpec({ env: ["UNSET_K3D_TEST_42"] })).rejects.toThrow(/has no value/);
    const spec = await buildClusterSpec({ env: ["UNSET_K3D_TEST_42"] }, { dialect: K3D });
    expect(spec.env[0]?.value).toBeUndefined();
    const p = planCreate(spec, ctx);
    expect(p.nodes[0]?.container.env).not.toHaveProperty("UNSET_K3D_TEST_42");
  });
});

describe("config migrate", () => {
  it("moves v1alpha2's filters, per-role arguments, labels and registry flag to v1alpha5", () => {
    const out = parse(
      migrateK3dConfig(
        [
          "apiVersion: k3d.io/v1alpha2",
          "kind: Simple",
          "name: old",
          "ports: [{port: '8080:80', nodeFilters: ['agent[0]']}]",
          "labels: [{label: team=blue, nodeFilters: ['server[*]']}]",
          "registries: {create: true}",
          "options: {k3s: {extraServerArgs: [--tls-san=x], extraAgentArgs: [--node-taint=a=b:NoSchedule]}}",
        ].join("\n"),
        "old.yaml",
      ),
    ) as Record<string, unknown>;
    expect(out).toEqual({
      apiVersion: "k3d.io/v1alpha5",
      kind: "Simple",
      metadata: { name: "old" },
      ports: [{ port: "8080:80", nodeFilters: ["agent:0"] }],
      registries: { create: { name: "k3d-old-registry", host: "0.0.0.0" } },
      options: {
        k3s: {
          extraArgs: [
            { arg: "--tls-san=x", nodeFilters: ["server:*"] },
            { arg: "--node-taint=a=b:NoSchedule", nodeFilters: ["agent:*"] },
          ],
        },
        runtime: { labels: [{ label: "team=blue", nodeFilters: ["server:*"] }] },
      },
    });
  });

  it("puts v1alpha4's top-level name into metadata and refuses what is no k3d config", () => {
    expect(parse(migrateK3dConfig("apiVersion: k3d.io/v1alpha4\nkind: Simple\nname: x\nservers: 3\n", "f"))).toEqual({
      apiVersion: "k3d.io/v1alpha5",
      kind: "Simple",
      metadata: { name: "x" },
      servers: 3,
    });
    expect(() => migrateK3dConfig("apiVersion: k3box.dev/v1alpha1\nkind: Cluster\n", "f.yaml")).toThrow(
      /f.yaml: apiVersion "k3box.dev\/v1alpha1" is no k3d config version/,
    );
  });
});

describe("kubeconfig in k3d's dialect", () => {
  const dir = mkdtempSync(join(tmpdir(), "k3box-k3d-kc-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the entries k3d-NAME and admin@k3d-NAME; -u=false refuses to replace them", async () => {
    const entry = clusterKubeconfig(K3S_KUBECONFIG, { clusterName: "dev", server: "https://127.0.0.1:6550", prefix: "k3d" });
    const path = join(dir, "config");
    const signal = new AbortController().signal;
    await mergeIntoFile(path, "dev", entry, true, signal, "k3d");
    const file = await readKubeconfigFile(path);
    expect(file["current-context"]).toBe("k3d-dev");
    expect(file.users.map((u) => u.name)).toEqual(["admin@k3d-dev"]);
    await expect(mergeIntoFile(path, "dev", entry, true, signal, "k3d", false)).rejects.toThrow(ConflictError);
    expect(readFileSync(path, "utf8")).toContain("k3d-dev");
  });

  it("writes kubeconfig-NAME.yaml into ~/.config/k3d, or into $XDG_CONFIG_HOME itself", () => {
    expect(clusterKubeconfigPath("k3d", "dev", {}, "/home/u")).toBe("/home/u/.config/k3d/kubeconfig-dev.yaml");
    expect(clusterKubeconfigPath("k3d", "dev", { XDG_CONFIG_HOME: "/x" }, "/home/u")).toBe("/x/kubeconfig-dev.yaml");
  });
});

function node(over: Partial<NodeDetail>): NodeDetail {
  return {
    name: "k3d-dev-server-0",
    cluster: "dev",
    role: "server",
    index: 0,
    image: "rancher/k3s:v1.35.5-k3s1",
    state: "running",
    running: true,
    created: "2026-01-01T00:00:00.000Z",
    ip: "172.18.0.2",
    env: ["K3S_TOKEN=<redacted>"],
    cmd: ["server", "--tls-san", "127.0.0.1"],
    labels: { app: "k3d", "k3d.role": "server", "k3d.cluster": "dev", "dev.k3box.node.index": "0" },
    ports: [],
    volumes: ["k3d-dev-server-0-data:/var/lib/rancher/k3s"],
    networks: ["k3d-dev"],
    restart: true,
    hostPid: false,
    ulimits: [],
    init: false,
    api: { host: "127.0.0.1", hostIp: "0.0.0.0", hostPort: "6550" },
    ...over,
  };
}

describe("cluster list -o json in k3d's shape", () => {
  const schema = JSON.parse(readFileSync(new URL("../fixtures/k3d/cluster-list.schema.json", import.meta.url), "utf8"));
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  const detail: ClusterDetail = {
    name: "dev",
    network: { name: "k3d-dev", id: "abc123", external: false, subnet: "172.18.0.0/16" },
    token: "s3cret",
    api: { host: "127.0.0.1", hostIp: "0.0.0.0", hostPort: "6550" },
    nodes: [
      node({ init: true, memoryBytes: 1024 ** 3, ulimits: [{ name: "nofile", soft: 1, hard: 2 }], hostPid: true }),
      node({ name: "k3d-dev-agent-0", role: "agent", running: false, state: "exited", ip: undefined, api: undefined }),
      node({
        name: "k3d-dev-serverlb",
        role: "loadbalancer",
        ports: [{ containerPort: 6443, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 6550 }],
        api: undefined,
      }),
    ],
    volumes: ["k3d-dev-images", "k3d-dev-server-0-data"],
    imageVolume: "k3d-dev-images",
    loadBalancer: {
      name: "k3d-dev-serverlb",
      config: { ports: { "6443.tcp": ["k3d-dev-server-0"] }, settings: { workerConnections: 1024 } },
    },
  };

  it("validates against the schema written from k3d's types, counts and all", () => {
    const out = [k3dCluster(detail)];
    expect(validate(out), JSON.stringify(validate.errors)).toBe(true);
    expect(out[0]).toMatchObject({
      serversRunning: 1,
      serversCount: 1,
      agentsRunning: 0,
      agentsCount: 1,
      hasLoadbalancer: true,
      clusterToken: "s3cret",
      network: { name: "k3d-dev", id: "abc123", ipam: { ipPrefix: "172.18.0.0/16" } },
    });
    const server = out[0]?.nodes?.[0];
    expect(server).toMatchObject({
      Memory: "1.074GB",
      State: { Running: true, Status: "running" },
      IP: { IP: "172.18.0.2" },
      serverOpts: { isInitializingServer: true, kubeAPI: { Binding: { HostIp: "0.0.0.0", HostPort: "6550" } } },
      runtimeLabels: { "k3d.role": "server", "k3d.cluster": "dev" },
      runtimeUlimits: [{ Name: "nofile", Soft: 1, Hard: 2 }],
      hostPidMode: true,
    });
    expect(Object.keys(server?.runtimeLabels ?? {}).every((k) => k.startsWith("k3d"))).toBe(true);
    expect(out[0]?.serverLoadBalancer?.portMappings).toEqual({ "6443/tcp": [{ HostIp: "0.0.0.0", HostPort: "6550" }] });
  });

  it("is not satisfied by k3box's own shape", () => {
    const own = [{ name: "dev", servers: { running: 1, total: 1 }, agents: { running: 0, total: 0 }, loadBalancer: true }];
    expect(validate(own)).toBe(false);
  });

  it("shows sizes as Docker does", () => {
    expect(humanSize(536870912)).toBe("536.9MB");
    expect(humanSize(999)).toBe("999B");
  });
});

describe("the command line k3box speaks", () => {
  it("is k3d's when called k3d or with K3BOX_COMPAT=k3d, else its own", () => {
    expect(modeFor("/usr/local/bin/k3d", {})).toBe(K3D_MODE);
    expect(modeFor("/usr/local/bin/k3box", {})).toBe(K3BOX_MODE);
    expect(modeFor("/x/dist/cli/main.js", { K3BOX_COMPAT: "k3d" })).toBe(K3D_MODE);
    expect(modeFor("/usr/local/bin/k3d", { K3BOX_COMPAT: "k3box" })).toBe(K3BOX_MODE);
    expect(() => modeFor("k3d", { K3BOX_COMPAT: "kind" })).toThrow(/invalid K3BOX_COMPAT="kind"/);
  });

  it("prints k3d's version lines, which `k3d version | head -1` scripts parse", async () => {
    const s = streams();
    expect(await run(["version"], s.streams, new AbortController().signal, K3D_MODE)).toBe(0);
    const [first, second] = s.text().stdout.split("\n");
    expect(first).toMatch(/^k3d version v5\.9\.\d+$/);
    expect(second).toBe("k3s version v1.35.5-k3s1 (default)");
    const list = streams();
    expect(await run(["version", "list", "k3s", "-o", "repo"], list.streams, new AbortController().signal, K3D_MODE)).toBe(0);
    expect(list.text().stdout).toBe("docker.io/rancher/k3s:v1.35.5-k3s1\n");
  });

  it("accepts Go's boolean forms on every kind of boolean flag, and names a bad one", () => {
    for (const t of ["1", "t", "T", "true", "TRUE", "True"]) expect(bool(t)).toBe(true);
    for (const f of ["0", "f", "F", "false", "FALSE", "False"]) expect(bool(f)).toBe(false);
    expect(() => bool("yes")).toThrow('invalid boolean "yes"');
    const program = new Command("k3d");
    program
      .command("create")
      .argument("[name]")
      .option("--no-lb")
      .option("-a, --all")
      .option("--token <t>")
      .addOption(new Option("--wait [bool]").argParser(bool))
      .addOption(new Option("-s, --switch [bool]").argParser(bool));
    const norm = (...argv: string[]) => normalizeBooleanFlags(program, argv);
    expect(norm("create", "--no-lb=T", "--all=0", "x")).toEqual(["create", "--no-lb", "x"]);
    expect(norm("create", "--no-lb=False")).toEqual(["create"]);
    expect(norm("create", "-a=f", "-s=false")).toEqual(["create", "--switch=false"]);
    expect(norm("create", "--wait", "mycluster")).toEqual(["create", "--wait=true", "mycluster"]);
    expect(norm("create", "--wait", "FALSE")).toEqual(["create", "--wait", "FALSE"]);
    expect(norm("create", "--token=1", "--", "--all=x")).toEqual(["create", "--token=1", "--", "--all=x"]);
    expect(() => norm("create", "--all=maybe")).toThrow('invalid boolean "maybe" for --all');
  });

  it("reads Go's boolean forms on cluster create's flags before anything touches Docker", async () => {
    for (const mode of [K3BOX_MODE, K3D_MODE]) {
      const ok = streams();
      const code = await run(
        ["cluster", "create", "x", "--kubeconfig-update-default=FALSE", "--no-rollback=t", "--wait=0", "-p", "80@bogus"],
        ok.streams,
        new AbortController().signal,
        mode,
      );
      expect(code).toBe(2);
      expect(ok.text().stderr).toContain('invalid node filter "bogus"');
      const bad = streams();
      expect(await run(["cluster", "create", "x", "--no-lb=nope"], bad.streams, new AbortController().signal, mode)).toBe(2);
      expect(bad.text().stderr).toContain('invalid boolean "nope" for --no-lb');
    }
  });

  it("prefixes every stderr line with the time under --timestamps", async () => {
    const target = new PassThrough();
    let text = "";
    target.on("data", (b: Buffer) => (text += b.toString()));
    const stream = timestamped(target as unknown as NodeJS.WriteStream, () => new Date("2026-01-02T03:04:05Z"));
    await new Promise<void>((done) => stream.write("a\nb", () => stream.write("c\n", () => done())));
    expect(text).toBe("[2026-01-02T03:04:05.000Z] a\n[2026-01-02T03:04:05.000Z] bc\n");
  });
});

describe("operations in k3d's dialect, on the in-memory engine", () => {
  const IMAGE = "rancher/k3s:v1.35.5-k3s1";
  const engine = () => {
    const runtime = new MemoryRuntime({ images: { [IMAGE]: {} } });
    answerProbes(runtime);
    // A k3s server writes its admin kubeconfig where k3box reads it.
    runtime.program(/-server-\d+$/, (p) =>
      p.files.write({ path: "/output/kubeconfig.yaml", content: K3S_KUBECONFIG, mode: 0o600 }),
    );
    return runtime;
  };
  const input = { name: "dev", agents: 1, image: IMAGE, wait: false, loadBalancer: false, apiPort: "127.0.0.1:" };

  const dir = mkdtempSync(join(tmpdir(), "k3box-k3d-op-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates, lists in k3d's shape and deletes a cluster the other dialect never sees", async () => {
    const runtime = engine();
    const kubeconfigPath = join(dir, "config");
    const created = await createCluster(input, { runtime, dialect: K3D, kubeconfigPath });
    expect(created.nodes).toEqual(["k3d-dev-server-0", "k3d-dev-agent-0"]);
    expect(created.context).toBe("k3d-dev");
    expect(created.network).toBe("k3d-dev");
    const [detail] = await inspectClusters(["dev"], { runtime, dialect: K3D, token: true });
    const shaped = [k3dCluster(detail as ClusterDetail)];
    const schema = JSON.parse(readFileSync(new URL("../fixtures/k3d/cluster-list.schema.json", import.meta.url), "utf8"));
    const validate = new Ajv2020({ allErrors: true }).compile(schema);
    expect(validate(shaped), JSON.stringify(validate.errors)).toBe(true);
    expect(shaped[0]).toMatchObject({ name: "dev", serversCount: 1, agentsCount: 1, imageVolume: "k3d-dev-images" });
    expect(shaped[0]?.clusterToken).toMatch(/^[0-9a-f]{40}$/);
    expect(detail?.volumes).toEqual(["k3d-dev-agent-0-data", "k3d-dev-images", "k3d-dev-server-0-data"]);
    // k3box's own dialect lists only its own clusters, and k3d's only k3d's.
    expect(await listClusters({ runtime })).toEqual([]);
    expect((await listClusters({ runtime, dialect: K3D })).map((c) => c.name)).toEqual(["dev"]);
    await expect(deleteCluster("dev", { runtime, kubeconfigPath })).rejects.toThrow(/not found/);
    expect((await deleteCluster("dev", { runtime, dialect: K3D, kubeconfigPath })).deleted).toBe(true);
    expect(await runtime.listContainers({})).toEqual([]);
    expect(await runtime.listVolumes({})).toEqual([]);
    expect((await runtime.listNetworks({})).map((n) => n.name)).not.toContain("k3d-dev");
  });
});
