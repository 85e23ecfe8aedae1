import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, readConfigSource } from "../../src/core/config/load.js";
import { resolveClusterInput } from "../../src/core/config/resolve.js";
import { k3boxJsonSchema } from "../../src/core/config/schema.js";
import { ConfigSource } from "../../src/core/config/source.js";
import { starterConfig } from "../../src/core/config/starter.js";
import { buildClusterSpec } from "../../src/core/cluster-spec/build.js";
import type { ClusterInput } from "../../src/core/cluster-spec/input.js";
import { formatNodeFilters } from "../../src/core/cluster-spec/filters.js";
import type { ClusterSpec } from "../../src/core/cluster-spec/types.js";
import { specView } from "../../src/core/cluster-spec/view.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/config/", import.meta.url));
const HEADER = "apiVersion: k3box.dev/v1alpha1\nkind: Cluster\n";

/** A config file's text through the whole pipeline: load, layer, build. */
async function build(text: string, layers: { env?: NodeJS.ProcessEnv; flags?: ClusterInput } = {}): Promise<ClusterSpec> {
  const env = layers.env ?? {};
  const file = loadConfig(new ConfigSource("test.yaml", text, FIXTURES), env);
  const { input, build: options } = resolveClusterInput({ flags: layers.flags ?? {}, env, file });
  return buildClusterSpec(input, options);
}

async function problems(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const err = await build(text, { env }).then(
    () => undefined,
    (e: Error) => e,
  );
  if (!err) throw new Error("expected the config to be rejected");
  return err.message.split("\n");
}

const filters = (f: { filters: Parameters<typeof formatNodeFilters>[0] } | undefined) => formatNodeFilters(f?.filters ?? []);

describe("k3box.dev/v1alpha1: one valid fixture per field", () => {
  it.each<[string, string, (s: ClusterSpec) => void]>([
    ["metadata.name", "metadata:\n  name: dev\n", (s) => expect(s.name).toBe("dev")],
    ["servers", "servers: 3\n", (s) => expect(s.servers).toBe(3)],
    ["agents", "agents: 2\n", (s) => expect(s.agents).toBe(2)],
    ["image", "image: example.com/k3s:v1\n", (s) => expect(s.image).toBe("example.com/k3s:v1")],
    [
      "kubeAPI",
      "kubeAPI:\n  host: api.dev.local\n  hostIP: 127.0.0.1\n  hostPort: 6550\n",
      (s) => expect(s.api).toEqual({ host: "api.dev.local", hostIp: "127.0.0.1", hostPort: 6550 }),
    ],
    ["network", "network: shared-net\n", (s) => expect(s.network).toBe("shared-net")],
    ["subnet", "subnet: 172.28.0.0/16\n", (s) => expect(s.subnet).toBe("172.28.0.0/16")],
    ["subnet auto", "subnet: auto\n", (s) => expect(s.subnet).toBeUndefined()],
    ["token", "token: s3cret\n", (s) => expect(s.token).toBe("s3cret")],
    [
      "volumes",
      "volumes:\n  - volume: ./data:/data:ro\n    nodeFilters: [server:0]\n",
      (s) => {
        expect(s.volumes[0]).toMatchObject({ source: join(FIXTURES, "data"), destination: "/data", options: "ro" });
        expect(filters(s.volumes[0])).toBe("server:0");
      },
    ],
    [
      "ports",
      "agents: 1\nports:\n  - port: 8080:80\n    nodeFilters: [loadbalancer]\n  - port: 127.0.0.1:9090:90/udp\n    nodeFilters: [agent:0:direct]\n",
      (s) => {
        expect(s.ports.map((p) => [p.hostPort, p.containerPort, p.protocol, filters(p)])).toEqual([
          [8080, 80, "tcp", "server:*:proxy;agent:*:proxy"],
          [9090, 90, "udp", "agent:0:direct"],
        ]);
      },
    ],
    [
      "env",
      "env:\n  - envVar: A=1@2\n    nodeFilters: [server:*]\n",
      (s) => expect(s.env.map((e) => [e.key, e.value, filters(e)])).toEqual([["A", "1@2", "server:*"]]),
    ],
    [
      "files",
      "agents: 1\nfiles:\n  - source: hello.txt\n    destination: /etc/hello\n    nodeFilters: [agent:0]\n  - content: |\n      x: 1\n    destination: k3s-manifests/x.yaml\n",
      (s) => {
        expect(s.files.map((f) => [f.destination, String(f.content), filters(f), f.mode])).toEqual([
          ["/etc/hello", "hello\n", "agent:0", 0o644],
          ["/var/lib/rancher/k3s/server/manifests/x.yaml", "x: 1\n", "server:*;agent:*", 0o644],
        ]);
      },
    ],
    [
      "manifests",
      "manifests:\n  - ./deploy\n  - one.yaml\n",
      (s) => {
        const names = s.files.map((f) => f.destination.split("/").pop() ?? "");
        // deploy/one.yaml and ./one.yaml share a name, but not a destination; README.md is no manifest.
        expect(names).toHaveLength(3);
        expect(new Set(names).size).toBe(3);
        expect(names.every((n) => /^k3box-[0-9a-f]{8}-(one\.yaml|two\.yml)$/.test(n))).toBe(true);
        expect(s.files.every((f) => f.destination.startsWith("/var/lib/rancher/k3s/server/manifests/"))).toBe(true);
        expect(s.files.map(filters)).toEqual(["server:*", "server:*", "server:*"]);
        expect(String(s.files.find((f) => f.destination.endsWith("two.yml"))?.content)).toContain("kind: HelmChart");
      },
    ],
    [
      "hostAliases",
      "hostAliases:\n  - ip: 10.0.0.5\n    hostnames: [git.internal, ci.internal]\n  - ip: fd00::1\n    hostnames: [v6.internal]\n",
      (s) =>
        expect(s.hostAliases.map((h) => [h.ip, h.names])).toEqual([
          ["10.0.0.5", ["git.internal", "ci.internal"]],
          ["fd00::1", ["v6.internal"]],
        ]),
    ],
    [
      "options.k3s.extraArgs",
      "options:\n  k3s:\n    extraArgs:\n      - arg: --disable=traefik\n      - arg: --tls-san=x.dev\n        nodeFilters: [server:0]\n",
      (s) =>
        expect(s.k3sArgs.map((a) => [a.arg, filters(a)])).toEqual([
          ["--disable=traefik", "server:*"],
          ["--tls-san=x.dev", "server:0"],
        ]),
    ],
    [
      "options.k3s.nodeLabels",
      "agents: 1\noptions:\n  k3s:\n    nodeLabels:\n      - label: tier=edge\n        nodeFilters: [agent:*]\n      - label: team=a\n",
      (s) =>
        expect(s.k3sArgs.map((a) => [a.arg, filters(a)])).toEqual([
          ["--node-label=tier=edge", "agent:*"],
          ["--node-label=team=a", "server:*;agent:*"],
        ]),
    ],
    [
      "options.kubeconfig",
      "options:\n  kubeconfig:\n    updateDefaultKubeconfig: true\n    switchCurrentContext: false\n",
      (s) => expect(s.kubeconfig).toEqual({ updateDefault: true, switchContext: false }),
    ],
    [
      "options.k3box",
      "options:\n  k3box:\n    wait: false\n    timeout: 2m\n    disableLoadbalancer: true\n    disableRollback: true\n",
      (s) => expect([s.wait, s.timeoutMs, s.loadBalancer, s.rollback]).toEqual([false, 120_000, false, false]),
    ],
    [
      "options.k3box.imageImportMode",
      "options:\n  k3box:\n    imageImportMode: registry\n",
      (s) => expect(s.imageImportMode).toBe("registry"),
    ],
  ])("%s", async (_field, body, check) => {
    check(await build(HEADER + body));
  });
});

describe("k3box.dev/v1alpha1: one invalid fixture per field, with its position", () => {
  // Line 1 and 2 are the header, so a body's first line is line 3.
  it.each<[string, string, string]>([
    ["metadata.name", "metadata:\n  name: Bad_Name\n", 'test.yaml:4:9: metadata.name: invalid cluster name "Bad_Name"'],
    ["servers", "servers: 0\n", "test.yaml:3:10: servers: must be at least 1, got 0"],
    ["agents", "agents: many\n", 'test.yaml:3:9: agents: expected a number, got "many"'],
    ["image", 'image: "bad image"\n', 'test.yaml:3:8: image: invalid image "bad image"'],
    ["kubeAPI", "kubeAPI:\n  hostPort: 70000\n", "test.yaml:4:13: kubeAPI.hostPort: must be at most 65535, got 70000"],
    ["kubeAPI.host", "kubeAPI:\n  host: bad_host!\n", 'test.yaml:4:9: kubeAPI.host: invalid API host "bad_host!"'],
    [
      "options.k3box.imageImportMode",
      "options:\n  k3box:\n    imageImportMode: lazy\n",
      "test.yaml:5:22: options.k3box.imageImportMode:",
    ],
    ["network", 'network: "-bad"\n', 'test.yaml:3:10: network: invalid network name "-bad"'],
    ["subnet", "subnet: 10.0.0.0/33\n", 'test.yaml:3:9: subnet: invalid subnet "10.0.0.0/33"'],
    ["token", 'token: "has space"\n', "test.yaml:3:8: token: invalid token: it must be non-empty and contain no whitespace"],
    [
      "volumes",
      "volumes:\n  - volume: data:relative\n",
      'test.yaml:4:13: volumes[0].volume: invalid volume "data:relative": destination "relative" must be an absolute path',
    ],
    [
      "ports",
      "ports:\n  - port: 8080:http\n",
      'test.yaml:4:5: ports[0]: invalid container port "http" in port mapping "8080:http"',
    ],
    [
      "ports filter",
      "ports:\n  - port: 8080:80\n    nodeFilters: [agent:3]\n",
      'test.yaml:4:5: ports[0]: node filter "agent:3" in port mapping "8080:80@agent:3" selects nothing: the cluster has 0 agents',
    ],
    [
      "filter syntax",
      "env:\n  - envVar: A=1\n    nodeFilters: [servers:x]\n",
      'test.yaml:4:5: env[0]: invalid node filter "servers:x" in env "A=1@servers:x"',
    ],
    ["env", "env:\n  - envVar: 1A=x\n", 'test.yaml:4:5: env[0]: invalid env "1A=x": "1A" is not a valid variable name'],
    [
      "files source",
      "files:\n  - source: missing.txt\n    destination: /etc/x\n",
      `test.yaml:4:5: files[0]: file "${FIXTURES}missing.txt:/etc/x": cannot read ${FIXTURES}missing.txt: no such file or directory`,
    ],
    [
      "files destination",
      "files:\n  - content: x\n    destination: etc/x\n",
      'test.yaml:4:5: files[0]: invalid destination "etc/x" in file "etc/x"',
    ],
    [
      "files source and content",
      "files:\n  - source: hello.txt\n    content: x\n    destination: /x\n",
      "test.yaml:4:5: files[0]: give either source (a path) or content (the text itself)",
    ],
    [
      "manifests",
      "manifests: [nowhere]\n",
      `test.yaml:3:13: manifests[0]: manifest "${FIXTURES}nowhere": cannot read ${FIXTURES}nowhere: no such file or directory`,
    ],
    [
      "hostAliases",
      "hostAliases:\n  - ip: not-an-ip\n    hostnames: [a]\n",
      'test.yaml:4:5: hostAliases[0]: invalid host alias "not-an-ip:a": "not-an-ip" is not an IP address',
    ],
    [
      "hostAliases empty",
      "hostAliases:\n  - ip: 10.0.0.1\n    hostnames: []\n",
      "test.yaml:5:16: hostAliases[0].hostnames: must not be empty",
    ],
    [
      "options.k3s.extraArgs",
      "options:\n  k3s:\n    extraArgs:\n      - arg: disable-traefik\n",
      'test.yaml:6:9: options.k3s.extraArgs[0]: invalid k3s-arg "disable-traefik"',
    ],
    [
      "options.k3s.nodeLabels",
      "options:\n  k3s:\n    nodeLabels:\n      - label: bad key=x\n",
      'test.yaml:6:9: options.k3s.nodeLabels[0]: invalid node label "bad key=x": "bad key" is not a valid label key',
    ],
    [
      "options.kubeconfig",
      "options:\n  kubeconfig:\n    switchCurrentContext: yes-please\n",
      'test.yaml:5:27: options.kubeconfig.switchCurrentContext: expected a boolean, got "yes-please"',
    ],
    ["options.k3box", "options:\n  k3box:\n    timeout: soon\n", 'test.yaml:5:14: options.k3box.timeout: invalid timeout "soon"'],
    ["unknown field", "colour: blue\n", 'test.yaml:3:1: colour: unknown field "colour"'],
    [
      "unknown nested field",
      "options:\n  k3box:\n    retries: 3\n",
      'test.yaml:5:5: options.k3box.retries: unknown field "retries"',
    ],
    ["wrong type", "ports: 8080:80\n", 'test.yaml:3:8: ports: expected a list, got "8080:80"'],
    ["missing field", "ports:\n  - nodeFilters: [loadbalancer]\n", "test.yaml:4:5: ports[0].port: required field is missing"],
    [
      "registries.create",
      'registries:\n  create: {name: reg, hostPort: "99999"}\n',
      'test.yaml:4:11: registries.create: invalid port "99999"',
    ],
    [
      "registries.use",
      "registries:\n  use: [ok, Bad_Name]\n",
      'test.yaml:4:13: registries.use[1]: invalid registry name "Bad_Name"',
    ],
    ["registries.config", "registries:\n  config: |\n    mirrors: [1]\n", "test.yaml:4:11: registries.config: "],
  ])("%s", async (_field, body, expected) => {
    const lines = await problems(HEADER + body);
    expect(
      lines.some((l) => l.startsWith(expected)),
      `${lines.join("\n")}\n  does not contain\n${expected}`,
    ).toBe(true);
  });

  it("reports a YAML syntax error at its position", async () => {
    const lines = await problems(HEADER + "servers: [1\nagents: 2\n");
    expect(lines[0]).toMatch(/^test\.yaml:\d+:\d+: /);
    expect(lines[0]).toMatch(/flow sequence|Missing|Unexpected|expected/i);
  });

  it("reports a duplicate key at its position", async () => {
    const lines = await problems(HEADER + "servers: 1\nservers: 2\n");
    expect(lines[0]).toMatch(/^test\.yaml:4:1: Map keys must be unique/);
  });

  it("reports every problem in a file at once: schema, variables and values", async () => {
    const lines = await problems(
      HEADER +
        "metadata:\n  name: Bad_Name\nports:\n  - port: x\nvolumes:\n  - volume: a:b\nfiles:\n  - source: nope\n    destination: /x\nservers: zero\nimage: $UNSET_IMAGE\n",
    );
    expect(lines.map((l) => l.split(": ")[0])).toEqual([
      "test.yaml:12:10",
      "test.yaml:13:8",
      "test.yaml:4:9",
      "test.yaml:6:5",
      "test.yaml:8:13",
      "test.yaml:10:5",
    ]);
  });

  it("reports schema problems all at once too: unknown fields and wrong types", async () => {
    const lines = await problems(HEADER + "servers: two\nbogus: 1\noptions:\n  k3box:\n    extra: true\n");
    expect(lines).toEqual([
      'test.yaml:3:10: servers: expected a number, got "two"',
      'test.yaml:4:1: bogus: unknown field "bogus"',
      'test.yaml:7:5: options.k3box.extra: unknown field "extra"',
    ]);
  });

  it.each([
    ["", "test.yaml:1:1: apiVersion: missing"],
    ["- a\n", "test.yaml:1:1: expected a mapping with apiVersion and kind"],
    ["kind: Cluster\n", "test.yaml:1:1: apiVersion: missing: use k3box.dev/v1alpha1, k3d.io/v1alpha5, k3d.io/v1alpha4"],
    [
      "apiVersion: k3d.io/v1alpha3\nkind: Simple\n",
      'test.yaml:1:13: apiVersion: k3d.io/v1alpha3 is too old: run "k3d config migrate"',
    ],
    ["apiVersion: k3box.dev/v1alpha1\nkind: Simple\n", 'test.yaml:2:7: kind: expected "Cluster" for k3box.dev/v1alpha1'],
    ["apiVersion: k3d.io/v1alpha5\nkind: Cluster\n", 'test.yaml:2:7: kind: expected "Simple" for k3d.io/v1alpha5'],
  ])("checks apiVersion and kind: %j", async (text, expected) => {
    const lines = await problems(text);
    expect(lines[0]?.startsWith(expected), lines.join("\n")).toBe(true);
  });
});

describe("$VAR expansion", () => {
  it("expands $VAR, ${VAR} and ${VAR:-default}; a plain value becomes a number where it reads as one", async () => {
    const spec = await build(
      HEADER + "servers: ${N}\nimage: $IMG\ntoken: ${TOKEN:-fallback}\nenv:\n  - envVar: 'A=${A}-$$literal'\n",
      { env: { N: "3", IMG: "example.com/k3s:v2", A: "x" } },
    );
    expect(spec.servers).toBe(3);
    expect(spec.image).toBe("example.com/k3s:v2");
    expect(spec.token).toBe("fallback");
    expect(spec.env[0]?.value).toBe("x-$literal");
  });

  it("keeps a quoted value a string", async () => {
    const lines = await problems(HEADER + 'servers: "${N}"\n', { N: "3" });
    expect(lines).toEqual(['test.yaml:3:10: servers: expected a number, got "3"']);
  });

  it("names an unset variable and where it is used, with every other problem", async () => {
    const lines = await problems(HEADER + "image: ${NO_SUCH_IMAGE}\nagents: $NO_SUCH_COUNT\nbogus: 1\n");
    expect(lines).toEqual([
      "test.yaml:3:8: image: environment variable NO_SUCH_IMAGE is not set (write ${NO_SUCH_IMAGE:-default} for a default, $$ for a literal $)",
      "test.yaml:4:9: agents: environment variable NO_SUCH_COUNT is not set (write ${NO_SUCH_COUNT:-default} for a default, $$ for a literal $)",
      'test.yaml:5:1: bogus: unknown field "bogus"',
    ]);
  });

  it("rejects a malformed reference", async () => {
    const lines = await problems(HEADER + "image: ${not valid}\n");
    expect(lines[0]).toBe(
      'test.yaml:3:8: image: invalid variable reference "${not valid}": use $NAME, ${NAME} or ${NAME:-default}',
    );
  });

  it("leaves keys and text without references alone", async () => {
    const spec = await build(HEADER + "env:\n  - envVar: PRICE=5$\n", { env: {} });
    expect(spec.env[0]?.value).toBe("5$");
  });
});

describe("precedence: flags > K3BOX_* > file > defaults", () => {
  const file = HEADER + "servers: 1\nagents: 1\nimage: from/file:1\nports:\n  - port: 8080:80\n";

  it("takes each value from the highest layer that has it", async () => {
    const env = { K3BOX_AGENTS: "2", K3BOX_IMAGE: "from/env:1", K3BOX_TIMEOUT: "90s" };
    const spec = await build(file, { env, flags: { agents: 3 } });
    expect(spec.servers).toBe(1); // file
    expect(spec.agents).toBe(3); // flag over env over file
    expect(spec.image).toBe("from/env:1"); // env over file
    expect(spec.timeoutMs).toBe(90_000); // env over default
    expect(spec.wait).toBe(true); // default
  });

  it("appends flag list items to the file's", async () => {
    const spec = await build(file, { flags: { ports: ["9090:90"] } });
    expect(spec.ports.map((p) => p.raw)).toEqual(["8080:80", "9090:90"]);
  });

  it("names the variable a bad value came from", async () => {
    await expect(build(file, { env: { K3BOX_SERVERS: "lots" } })).rejects.toThrow('K3BOX_SERVERS: "lots" is not a whole number');
    await expect(build(file, { env: { K3BOX_SUBNET: "10.0.0.0" } })).rejects.toThrow('K3BOX_SUBNET: invalid subnet "10.0.0.0"');
    await expect(build(file, { env: { K3BOX_WAIT: "maybe" } })).rejects.toThrow('K3BOX_WAIT: "maybe" is not true or false');
    await expect(build(file, { env: { K3BOX_SERVERS: "0" } })).rejects.toThrow(
      'K3BOX_SERVERS: invalid server count "0": use 1 to 99',
    );
    await expect(build(file, { env: { K3BOX_API_PORT: "70000" } })).rejects.toThrow("K3BOX_API_PORT: API port 70000");
  });

  it("points a problem with a flag's value at no file position", async () => {
    const err = (await build(file, { flags: { ports: ["x"] } }).catch((e: Error) => e)) as Error;
    expect(err.message).toBe('invalid container port "x" in port mapping "x"');
  });
});

describe("k3d Simple configs, translated", () => {
  async function fromFile(name: string): Promise<ClusterSpec> {
    const file = loadConfig(await readConfigSource(join(FIXTURES, name)), {});
    const { input, build: options } = resolveClusterInput({ flags: {}, file });
    return buildClusterSpec(input, options);
  }

  it("v1alpha5: every field k3d documents", async () => {
    const spec = await fromFile("k3d-v1alpha5.yaml");
    expect(spec).toMatchObject({
      name: "mycluster",
      servers: 1,
      agents: 2,
      image: "rancher/k3s:v1.35.2-k3s1",
      api: { host: "myhost.my.domain", hostIp: "127.0.0.1", hostPort: 6445 },
      network: "my-custom-net",
      subnet: "172.28.0.0/16",
      token: "superSecretToken",
      wait: true,
      timeoutMs: 60_000,
      loadBalancer: true,
      rollback: true,
      kubeconfig: { updateDefault: true, switchContext: true },
    });
    expect(spec.volumes.map((v) => [v.source, v.destination, filters(v)])).toEqual([
      ["/my/host/path", "/path/in/node", "server:0;agent:*"],
    ]);
    expect(spec.ports.map((p) => [p.hostPort, p.containerPort, filters(p)])).toEqual([
      [8080, 80, "server:*:proxy;agent:*:proxy"],
    ]);
    expect(spec.env.map((e) => [e.key, e.value, filters(e)])).toEqual([["bar", "baz", "server:0"]]);
    expect(spec.k3sArgs.map((a) => [a.arg, filters(a)])).toEqual([
      ["--tls-san=my.host.domain", "server:*"],
      ["--node-label=foo=bar", "agent:1"],
    ]);
    expect(spec.hostAliases.map((h) => [h.ip, h.names])).toEqual([["1.2.3.4", ["my.host.local", "that.other.local"]]]);
    expect(spec.files.map((f) => [f.destination, String(f.content), filters(f)])).toEqual([
      [
        "/var/lib/rancher/k3s/server/manifests/custom/foo.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n",
        "server:*;agent:*",
      ],
      ["/var/lib/rancher/k3s/server/manifests/baz.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: baz\n", "server:*"],
    ]);
  });

  it("v1alpha4 gives the same cluster, files aside", async () => {
    const v4 = await fromFile("k3d-v1alpha4.yaml");
    const v5 = await fromFile("k3d-v1alpha5.yaml");
    expect(specView(v4)).toEqual({ ...specView(v5), files: [] });
  });

  it("v1alpha4 with the name at the top level, as its JSON schema has it", async () => {
    const file = loadConfig(new ConfigSource("k.yaml", "apiVersion: k3d.io/v1alpha4\nkind: Simple\nname: top\n", FIXTURES), {});
    expect(file.input.name).toBe("top");
  });

  it("honours k3d's runtime options, load balancer overrides and image volume switch", async () => {
    const spec = await fromFile("k3d-runtime.yaml");
    expect(spec.runtime).toMatchObject({
      serversMemory: 1024 ** 3,
      agentsMemory: 512 * 1024 ** 2,
      gpus: { raw: "all", request: { count: -1, capabilities: [["gpu"]] } },
      hostPid: true,
      ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
    });
    expect(spec.runtime.labels.map((l) => [l.key, l.value, filters(l)])).toEqual([["team", "blue", "agent:*"]]);
    expect(spec.loadBalancerSettings).toEqual({ workerConnections: 2048 });
    expect(spec.imageVolume).toBe(false);
  });

  it("names what k3box still cannot honour, at its position", async () => {
    const text =
      "apiVersion: k3d.io/v1alpha5\nkind: Simple\noptions:\n  k3d:\n    loadbalancer:\n      configOverrides: [settings.colour=red]\n  runtime:\n    serversMemory: lots\n";
    const err = (await build(text).catch((e: Error) => e)) as Error;
    expect(err.message.split("\n")).toEqual([
      'test.yaml:8:20: options.runtime.serversMemory: invalid servers memory "lots": a size such as 512m or 2g, at least 6m',
      'test.yaml:6:25: options.k3d.loadbalancer.configOverrides[0]: invalid load balancer override "settings.colour=red": use settings.workerConnections=N or settings.defaultProxyTimeout=N',
    ]);
  });

  it("rejects fields k3d's schema does not have", async () => {
    const text = "apiVersion: k3d.io/v1alpha5\nkind: Simple\nmanifests: [a.yaml]\n";
    await expect(build(text)).rejects.toThrow('test.yaml:3:1: manifests: unknown field "manifests"');
  });

  it("maps registries to ClusterInput's registry fields", () => {
    const text =
      'apiVersion: k3d.io/v1alpha5\nkind: Simple\nregistries:\n  create:\n    name: registry.localhost\n    host: 0.0.0.0\n    hostPort: "5000"\n  use: [k3d-other:5000]\n  config: |\n    mirrors: {}\n';
    const file = loadConfig(new ConfigSource("k.yaml", text, FIXTURES), {});
    expect(file.input).toMatchObject({
      registryCreate: "registry.localhost:0.0.0.0:5000",
      registryUse: ["k3d-other:5000"],
      registryConfigYaml: "mirrors: {}\n",
    });
    const path = loadConfig(
      new ConfigSource("k.yaml", "apiVersion: k3d.io/v1alpha5\nkind: Simple\nregistries:\n  config: reg.yaml\n", FIXTURES),
      {},
    );
    expect(path.input.registryConfig).toBe(join(FIXTURES, "reg.yaml"));
  });
});

describe("the published JSON Schema and the starter file", () => {
  it("schema/k3box-config.schema.json is what the schema in the code generates (npm run schema)", () => {
    const file = readFileSync(new URL("../../schema/k3box-config.schema.json", import.meta.url), "utf8");
    expect(file).toBe(JSON.stringify(k3boxJsonSchema(), null, 2) + "\n");
  });

  it("the schema rejects unknown fields, as the loader does", () => {
    const schema = k3boxJsonSchema() as { additionalProperties?: boolean; required?: string[] };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(["apiVersion", "kind"]);
  });

  it("config init's starter file is valid as written", async () => {
    const spec = await build(starterConfig("starter"));
    expect(spec).toMatchObject({ name: "starter", servers: 1, agents: 0, timeoutMs: 300_000 });
  });
});
