import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planCreate, type PlanContext } from "../../src/core/plan/cluster.js";
import {
  mergeRegistries,
  parseRegistriesYaml,
  registryMirrors,
  renderRegistriesYaml,
  usesRegistry,
  withRegistry,
  withoutRegistry,
} from "../../src/core/registry/config.js";
import { endpointFromContainer, registryContainerSpec } from "../../src/core/registry/container.js";
import { registryNodeFiles } from "../../src/core/registry/files.js";
import type { ContainerInfo } from "../../src/runtime/types.js";
import { ALL_HOSTING_KEY, HOSTING_KEY, hostingOrder, renderHostingManifest } from "../../src/core/registry/hosting.js";
import { renderHostsFiles } from "../../src/core/registry/hosts-toml.js";
import {
  endpointOf,
  mirrorHosts,
  parseRegistryCreateRef,
  parseRegistryUseRef,
  registryNames,
  upstreamHost,
  validateRegistryName,
} from "../../src/core/registry/addresses.js";
import { buildRegistrySpec } from "../../src/core/registry/spec.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import { parseRegistries, renderHostsFiles as doubleRender } from "../fixtures/k3s-double/src/registries.js";

const reg = endpointOf("reg", "127.0.0.1", 5050);
const cache = { ...endpointOf("hub", "0.0.0.0", 5051), proxyRemoteUrl: "https://registry-1.docker.io" };

describe("registry names", () => {
  it("accepts names with or without k3box's prefix, and refuses node-like ones", () => {
    expect(validateRegistryName("dev")).toBe("dev");
    expect(validateRegistryName("k3box-dev")).toBe("dev");
    expect(validateRegistryName("registry.localhost")).toBe("registry.localhost");
    expect(() => validateRegistryName("Dev")).toThrow(/invalid registry name "Dev"/);
    expect(() => validateRegistryName("demo-server-0")).toThrow(/belong to cluster nodes/);
    expect(() => validateRegistryName("demo-agent-12")).toThrow(/belong to cluster nodes/);
    expect(() => validateRegistryName("demo-serverlb")).toThrow(/belong to cluster nodes/);
  });

  it("parses NAME[:HOST][:PORT] and NAME[:PORT]", () => {
    expect(parseRegistryCreateRef("reg", "f")).toEqual({ name: "reg" });
    expect(parseRegistryCreateRef("reg:5050", "f")).toEqual({ name: "reg", hostPort: 5050 });
    expect(parseRegistryCreateRef("reg:0.0.0.0:5050", "f")).toEqual({ name: "reg", hostIp: "0.0.0.0", hostPort: 5050 });
    expect(parseRegistryCreateRef("reg:localhost", "f")).toEqual({ name: "reg", hostIp: "127.0.0.1" });
    expect(() => parseRegistryCreateRef("reg:example.com:1", "--registry-create")).toThrow(
      /--registry-create "reg:example.com:1": host "example.com" must be an IPv4 address/,
    );
    expect(() => parseRegistryCreateRef("reg:70000", "--registry-create")).toThrow(/invalid port "70000"/);
    expect(() => parseRegistryCreateRef("reg:1:2:3", "--registry-create")).toThrow(/expected NAME\[:HOST\]\[:PORT\]/);
    expect(parseRegistryUseRef("k3box-reg:5000", "f")).toEqual({ name: "reg", port: 5000 });
    expect(() => parseRegistryUseRef("reg:", "--registry-use")).toThrow(/expected NAME\[:PORT\]/);
  });

  it("gives three names: the host's, the nodes' and the pods'", () => {
    expect(registryNames(reg)).toEqual({ host: "127.0.0.1:5050", node: "k3box-reg:5000", pod: "k3box-reg:5000" });
    expect(registryNames(endpointOf("lan", "192.168.1.5", 5000)).host).toBe("192.168.1.5:5000");
    expect(mirrorHosts(reg)).toEqual(["k3box-reg:5000", "k3box-reg:5050", "127.0.0.1:5050", "localhost:5050"]);
    expect(upstreamHost("https://registry-1.docker.io")).toBe("docker.io");
    expect(upstreamHost("https://quay.io")).toBe("quay.io");
  });

  it("validates registry create input all at once", () => {
    expect(buildRegistrySpec({ name: "r", port: "0.0.0.0:5000", volume: "regdata" })).toEqual({
      name: "r",
      image: "registry:2",
      hostIp: "0.0.0.0",
      hostPort: 5000,
      volume: { source: "regdata", destination: "/var/lib/registry" },
      deleteEnabled: false,
    });
    expect(() => buildRegistrySpec({ name: "R", port: "x:y", proxyUsername: "u" })).toThrow(
      /invalid registry name "R"[\s\S]*host "x"[\s\S]*need --proxy-remote-url/,
    );
  });
});

describe("registry containers", () => {
  it("are read back from inspect as the spec made them", () => {
    const spec = buildRegistrySpec({ name: "hub", proxyRemoteUrl: "https://registry-1.docker.io", deleteEnabled: true });
    const c = registryContainerSpec(spec, { hostPort: 5051, network: "k3box-demo", owner: "demo" });
    expect(c.env).toEqual({ REGISTRY_PROXY_REMOTEURL: "https://registry-1.docker.io", REGISTRY_STORAGE_DELETE_ENABLED: "true" });
    expect(c.networkAliases).toEqual(["k3box-hub"]);
    expect(registryContainerSpec(spec, { hostPort: 5051, network: "bridge" }).networkAliases).toEqual([]);
    const info: ContainerInfo = {
      id: "x",
      restartCount: 0,
      name: c.name,
      image: c.image,
      labels: c.labels,
      state: "running",
      running: true,
      ports: c.ports ?? [],
      networks: { "k3box-demo": { ip: "10.0.0.9" } },
      env: c.env ?? {},
      cmd: [],
      mounts: [],
      spec: c,
    };
    expect(endpointFromContainer(info)).toEqual({
      ...endpointOf("hub", "127.0.0.1", 5051),
      proxyRemoteUrl: "https://registry-1.docker.io",
      owner: "demo",
    });
    const moved = {
      ...info,
      env: { REGISTRY_HTTP_ADDR: ":6000" },
      ports: [{ containerPort: 6000, protocol: "tcp" as const, hostIp: "0.0.0.0", hostPort: 7000 }],
    };
    expect(endpointFromContainer(moved)).toMatchObject({ port: 6000, hostPort: 7000, hostIp: "0.0.0.0" });
  });
});

describe("registries.yaml", () => {
  it("maps every name of a registry, and a cache's upstream, to the registry over plain http", () => {
    const cfg = registryMirrors([reg, cache]);
    expect(cfg.mirrors["k3box-reg:5000"]).toEqual({ endpoint: ["http://k3box-reg:5000"] });
    expect(cfg.mirrors["127.0.0.1:5050"]).toEqual({ endpoint: ["http://k3box-reg:5000"] });
    expect(cfg.mirrors["docker.io"]).toEqual({ endpoint: ["http://k3box-hub:5000"] });
    expect(parse(renderRegistriesYaml(cfg))).toEqual({ mirrors: cfg.mirrors });
    expect(parse(renderRegistriesYaml(registryMirrors([])))).toEqual({ mirrors: {} });
  });

  it("merges the user's file over the generated one: their endpoints first, their configs kept", () => {
    const user = parseRegistriesYaml(
      'mirrors:\n  docker.io:\n    endpoint: ["https://mirror.example"]\nconfigs:\n  mirror.example:\n    tls: {insecure_skip_verify: true}\n',
      "u.yaml",
    );
    const merged = mergeRegistries(registryMirrors([cache]), user);
    expect(merged.mirrors["docker.io"]?.endpoint).toEqual(["https://mirror.example", "http://k3box-hub:5000"]);
    expect(merged.configs["mirror.example"]?.tls?.insecure_skip_verify).toBe(true);
  });

  it("adds and removes one registry without touching other entries", () => {
    const user = parseRegistriesYaml('mirrors:\n  docker.io:\n    endpoint: ["https://mirror.example"]\n', "u.yaml");
    const added = withRegistry(withRegistry(user, cache), cache);
    expect(added.mirrors["docker.io"]?.endpoint).toEqual(["https://mirror.example", "http://k3box-hub:5000"]);
    expect(usesRegistry(added, cache)).toBe(true);
    const removed = withoutRegistry(added, cache);
    expect(removed).toEqual(user);
    expect(usesRegistry(removed, cache)).toBe(false);
  });

  it("names the file, line and column of a syntax error, a wrong type and an unknown field", () => {
    expect(() => parseRegistriesYaml("mirrors:\n  a: [\n", "/x/reg.yaml")).toThrow(/^\/x\/reg\.yaml:\d+:\d+: invalid YAML/);
    expect(() => parseRegistriesYaml("mirrors:\n  docker.io:\n    endpoint: http://x\n", "f.yaml")).toThrow(
      /^f\.yaml:3:15: mirrors\."docker\.io"\.endpoint must be a list of strings/,
    );
    expect(() => parseRegistriesYaml("mirror:\n  docker.io: {}\n", "registries.config")).toThrow(
      /^registries\.config:1:1: unknown field "mirror" \(known: mirrors, configs\)/,
    );
    expect(() => parseRegistriesYaml('configs:\n  "r:5000":\n    tls:\n      insecure_skip_verify: "yes"\n', "f")).toThrow(
      /^f:4:29: configs\."r:5000"\.tls\.insecure_skip_verify must be true or false/,
    );
    expect(() => parseRegistriesYaml('mirrors:\n  "../../etc":\n    endpoint: ["http://x"]\n', "f")).toThrow(
      /^f:2:3: mirrors: "\.\.\/\.\.\/etc" is not a registry host/,
    );
    expect(parseRegistriesYaml("", "f")).toEqual({ mirrors: {}, configs: {} });
  });
});

describe("containerd host configs", () => {
  it("renders k3d's example as k3s does", () => {
    const files = renderHostsFiles(
      parseRegistriesYaml('mirrors:\n  "k3d-myreg:5000":\n    endpoint: ["http://k3d-myreg:5000"]\n', "f"),
    );
    expect(files.get("k3d-myreg:5000")).toContain('[host."http://k3d-myreg:5000/v2"]');
    expect(files.get("k3d-myreg:5000")).toMatch(
      /^# File generated by k3s\. DO NOT EDIT\.\nserver = "https:\/\/k3d-myreg:5000\/v2"/,
    );
  });

  it("agrees with the k3s double's renderer, which follows k3s' rules", () => {
    const configs = [
      renderRegistriesYaml(registryMirrors([reg, cache])),
      'mirrors:\n  docker.io:\n    endpoint: ["mirror:5000", "https://registry-1.docker.io"]\n    rewrite: {"^x/(.*)": "y/$1"}\n',
      'mirrors:\n  "*":\n    endpoint: ["localhost:5000/sub"]\nconfigs:\n  "localhost:5000":\n    tls: {ca_file: /ca.pem, insecure_skip_verify: true}\n',
      'configs:\n  "secure:443":\n    tls: {cert_file: /c, key_file: /k}\n  "*":\n    tls: {insecure_skip_verify: true}\n',
      'mirrors:\n  docker.io:\n    endpoint: ["https://registry-1.docker.io"]\n  "quay.io":\n    endpoint: ["http://a:1", "http://a:1/v2"]\n',
    ];
    for (const text of configs) {
      expect(Object.fromEntries(renderHostsFiles(parseRegistriesYaml(text, "f")))).toEqual(
        Object.fromEntries(doubleRender(parseRegistries(text))),
      );
    }
  });
});

describe("KEP-1755 ConfigMap", () => {
  it("describes the first registry in localRegistryHosting.v1 and lists them all", () => {
    const cm = parse(renderHostingManifest([reg, cache])) as { metadata: object; data: Record<string, string> };
    expect(cm.metadata).toEqual({ name: "local-registry-hosting", namespace: "kube-public" });
    expect(parse(cm.data[HOSTING_KEY] ?? "")).toEqual({
      host: "127.0.0.1:5050",
      hostFromContainerRuntime: "k3box-reg:5000",
      hostFromClusterNetwork: "k3box-reg:5000",
      help: expect.stringMatching(/^https:\/\//),
    });
    const all = parse(cm.data[ALL_HOSTING_KEY] ?? "") as Array<{ name: string; host: string; hostFromContainerRuntime: string }>;
    expect(all.map((r) => [r.name, r.host, r.hostFromContainerRuntime])).toEqual([
      ["reg", "127.0.0.1:5050", "k3box-reg:5000"],
      ["hub", "127.0.0.1:5051", "k3box-hub:5000"],
    ]);
  });

  it("without registries says only where help is", () => {
    const cm = parse(renderHostingManifest([])) as { data: Record<string, string> };
    expect(Object.keys(parse(cm.data[HOSTING_KEY] ?? "") as object)).toEqual(["help"]);
    expect(parse(cm.data[ALL_HOSTING_KEY] ?? "")).toEqual([]);
  });

  it("lists the cluster's own registry first, then the others by name", () => {
    const order = hostingOrder([{ name: "b" }, { name: "z", owner: "demo" }, { name: "a", owner: "other" }], "demo");
    expect(order.map((r) => r.name)).toEqual(["z", "a", "b"]);
  });
});

describe("registries in a cluster plan", () => {
  const ctx: PlanContext = {
    token: "t",
    apiHostPort: 6550,
    portHostPorts: new Map(),
    networkExists: false,
    version: "0.0.0-test",
    nodeEntrypoint: "#!/bin/sh\n",
    registryHostPort: 5050,
    connectRegistries: ["k3box-shared"],
  };

  it("creates the registry beside the nodes, owned by the cluster but no node of it, and attaches used ones", async () => {
    const spec = await buildClusterSpec({ name: "demo", agents: 1, image: "img", registryCreate: "demo-registry" });
    const files = registryNodeFiles([endpointOf("demo-registry", "127.0.0.1", 5050)], undefined);
    const plan = planCreate({ ...spec, files }, ctx);
    expect(plan.registry?.name).toBe("k3box-demo-registry");
    expect(plan.registry?.labels).toMatchObject({ "dev.k3box.role": "registry", "dev.k3box.registry.cluster": "demo" });
    expect(plan.registry?.labels["dev.k3box.cluster"]).toBeUndefined();
    expect(plan.registry?.ports).toEqual([{ containerPort: 5000, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 5050 }]);
    const text = JSON.stringify(plan.actions);
    expect(text).toContain('{"type":"connect-network","network":"k3box-demo","container":"k3box-shared","fallback":"bridge"}');
    expect(text).toContain('{"type":"wait-registry","container":"k3box-demo-registry","address":"127.0.0.1:5050"}');
    const byName = Object.fromEntries(plan.nodes.map((n) => [n.name, n.files.map((f) => f.path)]));
    expect(byName["k3box-demo-server-0"]).toEqual([
      "/bin/k3box-entrypoint.sh",
      "/etc/rancher/k3s/registries.yaml",
      "/var/lib/rancher/k3s/server/manifests/k3box-local-registry-hosting.yaml",
    ]);
    expect(byName["k3box-demo-agent-0"]).toEqual(["/bin/k3box-entrypoint.sh", "/etc/rancher/k3s/registries.yaml"]);
    expect(JSON.parse(plan.nodes[1]?.container.labels["dev.k3box.files"] ?? "[]")).toEqual([
      "/bin/k3box-entrypoint.sh",
      "/etc/rancher/k3s/registries.yaml",
    ]);
  });
});

describe("cluster registry input", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "k3box-reg-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads --registry-config and names the file and line of a problem", async () => {
    const good = join(dir, "good.yaml");
    await writeFile(good, 'mirrors:\n  docker.io:\n    endpoint: ["http://k3box-hub:5000"]\n');
    const spec = await buildClusterSpec({ registryConfig: good, registryUse: ["hub"] });
    expect(spec.registries.config?.mirrors["docker.io"]?.endpoint).toEqual(["http://k3box-hub:5000"]);
    expect(spec.registries.use).toEqual([{ name: "hub" }]);

    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "mirrors:\n  docker.io:\n    endpoint: [oops\n");
    await expect(buildClusterSpec({ registryConfig: bad })).rejects.toThrow(new RegExp(`${bad}:\\d+:\\d+: invalid YAML`));
    await expect(buildClusterSpec({ registryConfig: join(dir, "missing.yaml") })).rejects.toThrow(
      /cannot read --registry-config .*missing\.yaml: ENOENT/,
    );
    await expect(buildClusterSpec({ registryConfigYaml: "mirrors: 3\n" })).rejects.toThrow(
      /^registries\.config:1:10: mirrors must be a mapping/,
    );
  });

  it("refuses a registry port that a port mapping takes too", async () => {
    await expect(buildClusterSpec({ registryCreate: "r:5050", ports: ["5050:80"] })).rejects.toThrow(
      /port mapping "5050:80" uses host port 127\.0\.0\.1:5050\/tcp already taken by --registry-create r/,
    );
    await expect(buildClusterSpec({ registryCreate: "r:6550", apiPort: "6550" })).rejects.toThrow(
      /--registry-create r uses host port 127\.0\.0\.1:6550\/tcp already taken by --api-port/,
    );
  });

  it("refuses a registry named twice", async () => {
    await expect(buildClusterSpec({ registryCreate: "r", registryUse: ["k3box-r"] })).rejects.toThrow(
      /registry "r" is named twice/,
    );
  });
});
