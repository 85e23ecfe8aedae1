/**
 * k3box run as `k3d`: k3d's documented examples (k3d-io/k3d docs/usage: exposing_services,
 * kubeconfig, configfile, registries, importing_images, multiserver's node add), run through a
 * `k3d` link on PATH, checked for what k3d would have produced: container, network and volume
 * names, k3d's labels, kubeconfig contexts and files, and the JSON of its listings.
 *
 * Adapted where the docs' values cannot run on a shared test engine: fixed host ports become free
 * ones on 127.0.0.1 (so nothing listens beyond loopback), host names become localhost, the nofile
 * ulimit stays under the engine's own (the docs' 26677 is above some engines' limit), GPUs,
 * pull-through proxies and registry volumes are left out, and the image is the k3s double. Two
 * clusters serve every assertion.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import getPort from "get-port";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, DOUBLE_IMAGE, Sandbox, docker, dockerJson, run, uniqueName } from "./helpers.js";

interface Inspect {
  Name: string;
  Config: { Labels: Record<string, string>; Cmd: string[] };
  HostConfig: {
    Memory: number;
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }> | null;
    PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
  };
}

interface KubeConfigFile {
  "current-context": string;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters: Array<{ name: string; cluster: { server: string } }>;
  users: Array<{ name: string }>;
}

interface K3dClusterJson {
  name: string;
  network: { name: string; id: string };
  nodes: Array<{ name: string; role: string; runtimeLabels?: Record<string, string>; State: { Running: boolean } }>;
  serversCount: number;
  agentsCount: number;
  serversRunning: number;
  hasLoadbalancer?: boolean;
  imageVolume?: string;
  clusterToken?: string;
}

const schema = JSON.parse(await readFile(new URL("../fixtures/k3d/cluster-list.schema.json", import.meta.url), "utf8"));
const validateClusterList = new Ajv2020({ allErrors: true }).compile(schema);

/** Containers, volumes and networks k3d's labels or names still tie to a cluster. */
async function k3dLeftovers(cluster: string): Promise<string[]> {
  const results = await Promise.all([
    docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `label=k3d.cluster=${cluster}`]),
    docker(["volume", "ls", "-q", "--filter", `label=k3d.cluster=${cluster}`]),
    docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=k3d-${cluster}-`]),
    docker(["network", "ls", "--format", "{{.Name}}", "--filter", `name=k3d-${cluster}`]),
  ]);
  return results.flatMap((r) => r.stdout.split("\n")).filter((s) => s.trim() !== "");
}

describe("k3box as k3d: k3d's documented examples", () => {
  let sb: Sandbox;
  let bin: string;
  /** Runs `k3d …` found on PATH, as a script would. */
  let k3d: (args: readonly string[]) => ReturnType<typeof run>;
  const clusters: string[] = [];
  const registries: string[] = [];

  beforeAll(async () => {
    sb = await Sandbox.create();
    bin = join(sb.dir, "bin");
    await mkdir(bin);
    const env = () => ({ ...sb.env, PATH: `${bin}:${process.env.PATH ?? ""}` });
    k3d = (args) => run("k3d", args, env());
    // The link is made by k3box itself, and it refuses to replace a k3d that is not k3box.
    const link = await run(process.execPath, [CLI, "link", "k3d", "--dir", bin], sb.env);
    expect(link.code, link.stderr).toBe(0);
    expect(link.stdout.trim()).toBe(join(bin, "k3d"));
  });

  afterAll(async () => {
    for (const c of clusters) await k3d(["cluster", "delete", c]);
    for (const r of registries) await docker(["rm", "-f", "-v", r]);
    await sb.dispose();
  });

  it("is made by `k3box link k3d`, which leaves a real k3d alone", async () => {
    const other = join(sb.dir, "other");
    await mkdir(other);
    const real = join(other, "k3d");
    await writeFile(real, "#!/bin/sh\necho real k3d\n", { mode: 0o755 });
    const r = await run(process.execPath, [CLI, "link", "k3d", "--dir", other], sb.env);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("is not k3box");
    expect(await readFile(real, "utf8")).toBe("#!/bin/sh\necho real k3d\n");
    // Linking again where the link is already k3box is fine.
    expect((await run(process.execPath, [CLI, "link", "k3d", "--dir", bin], sb.env)).code).toBe(0);
  });

  it("answers `k3d version | head -1` and `k3d version -o json` as k3d does", async () => {
    const head = await run("sh", ["-c", "k3d version | head -1"], { ...sb.env, PATH: `${bin}:${process.env.PATH ?? ""}` });
    expect(head.stdout).toMatch(/^k3d version v5\.\d+\.\d+\n$/);
    const json = JSON.parse((await k3d(["version", "-o", "json"])).stdout) as { k3d: string; k3s: string };
    expect(json.k3d).toMatch(/^v5\./);
    expect(json.k3s).toMatch(/^v1\.\d+\.\d+-k3s\d+$/);
  });

  describe("exposing_services.md: cluster create --api-port -p 8081:80@loadbalancer --agents 2", () => {
    let name: string;
    let apiPort: number;
    let ingressPort: number;
    let create: Awaited<ReturnType<typeof run>>;

    beforeAll(async () => {
      name = uniqueName("kd");
      clusters.push(name);
      apiPort = await getPort({ host: "127.0.0.1" });
      ingressPort = await getPort({ host: "127.0.0.1" });
      create = await k3d([
        "cluster",
        "create",
        name,
        "--api-port",
        `127.0.0.1:${apiPort}`,
        "-p",
        `127.0.0.1:${ingressPort}:80@loadbalancer`,
        "--agents",
        "2",
        "-i",
        DOUBLE_IMAGE,
        // Go's boolean forms, a variable without a value (passed through), timestamps, runtime flags.
        "--kubeconfig-update-default=1",
        "--kubeconfig-switch-context=T",
        "-e",
        "K3D_COMPAT_NEVER_SET@server:0",
        "--runtime-label",
        "team=blue@agent:1",
        "--runtime-ulimit",
        "nofile=4096:8192",
        "--agents-memory",
        "300m",
        "--timestamps",
        "--timeout",
        "3m",
      ]);
    });

    it("creates what k3d creates: k3d-NAME-… containers, network and image volume", async () => {
      expect(create.code, create.stderr).toBe(0);
      expect(
        create.stderr
          .split("\n")
          .filter(Boolean)
          .every((l) => /^\[\d{4}-\d\d-\d\dT/.test(l)),
      ).toBe(true);
      const names = (await docker(["ps", "--format", "{{.Names}}", "--filter", `label=k3d.cluster=${name}`])).stdout
        .split("\n")
        .filter(Boolean)
        .sort();
      expect(names).toEqual([`k3d-${name}-agent-0`, `k3d-${name}-agent-1`, `k3d-${name}-server-0`, `k3d-${name}-serverlb`]);
      expect((await docker(["network", "inspect", `k3d-${name}`])).code).toBe(0);
      expect((await docker(["volume", "inspect", `k3d-${name}-images`])).code).toBe(0);
    });

    it("labels the nodes as k3d does, so tools filtering on app=k3d and k3d.* find them", async () => {
      const byApp = (await docker(["ps", "-q", "--filter", "label=app=k3d", "--filter", `label=k3d.cluster=${name}`])).stdout;
      expect(byApp.split("\n").filter(Boolean)).toHaveLength(4);
      const [server] = await dockerJson<Inspect[]>(["inspect", `k3d-${name}-server-0`]);
      expect(server?.Config.Labels).toMatchObject({
        app: "k3d",
        "k3d.cluster": name,
        "k3d.role": "server",
        "k3d.cluster.network": `k3d-${name}`,
        "k3d.cluster.url": `https://k3d-${name}-server-0:6443`,
        "k3d.cluster.imageVolume": `k3d-${name}-images`,
        "k3d.server.api.port": String(apiPort),
        "k3d.server.loadbalancer": `k3d-${name}-serverlb`,
      });
      const [agent1] = await dockerJson<Inspect[]>(["inspect", `k3d-${name}-agent-1`]);
      expect(agent1?.Config.Labels).toMatchObject({ "k3d.role": "agent", team: "blue" });
      expect(agent1?.HostConfig.Memory).toBe(300 * 1024 ** 2);
      expect(agent1?.HostConfig.Ulimits).toEqual([{ Name: "nofile", Soft: 4096, Hard: 8192 }]);
      // The kubelet sees the limit as the machine's memory.
      const meminfo = await docker(["exec", `k3d-${name}-agent-1`, "cat", "/proc/meminfo"]);
      expect(meminfo.stdout).toContain(`MemTotal: ${300 * 1024} kB`);
    });

    it("merges kubeconfig entries named k3d-NAME and switches to them", async () => {
      const kc = parse(await readFile(sb.kubeconfig, "utf8")) as KubeConfigFile;
      expect(kc["current-context"]).toBe(`k3d-${name}`);
      expect(kc.contexts).toContainEqual({ name: `k3d-${name}`, context: { cluster: `k3d-${name}`, user: `admin@k3d-${name}` } });
      expect(kc.clusters.find((c) => c.name === `k3d-${name}`)?.cluster.server).toBe(`https://127.0.0.1:${apiPort}`);
      const nodes = await sb.kubectl(["--context", `k3d-${name}`, "get", "--raw", "/api/v1/nodes"]);
      expect(nodes.code, nodes.stderr).toBe(0);
      expect(nodes.stdout).toContain(`"name":"k3d-${name}-server-0"`);
    });

    it("lists the cluster in k3d's JSON shape, valid against a schema of k3d's types", async () => {
      const r = await k3d(["cluster", "list", name, "-o", "json"]);
      expect(r.code, r.stderr).toBe(0);
      const list = JSON.parse(r.stdout) as K3dClusterJson[];
      expect(validateClusterList(list), JSON.stringify(validateClusterList.errors)).toBe(true);
      expect(list[0]).toMatchObject({
        name,
        serversCount: 1,
        serversRunning: 1,
        agentsCount: 2,
        hasLoadbalancer: true,
        imageVolume: `k3d-${name}-images`,
        network: { name: `k3d-${name}` },
      });
      expect(list[0]?.clusterToken).toBeUndefined();
      expect(list[0]?.nodes.map((n) => n.name).sort()).toEqual(
        [`k3d-${name}-agent-0`, `k3d-${name}-agent-1`, `k3d-${name}-server-0`, `k3d-${name}-serverlb`].sort(),
      );
      // Every cluster, without names, validates too.
      const all = JSON.parse((await k3d(["cluster", "list", "-o", "json"])).stdout) as K3dClusterJson[];
      expect(validateClusterList(all), JSON.stringify(validateClusterList.errors)).toBe(true);
      expect(all.map((c) => c.name)).toContain(name);
    });

    it("prints k3d's table, with the token when asked", async () => {
      const table = await k3d(["cluster", "list", name, "--token"]);
      const [header, row] = table.stdout.split("\n");
      expect(header?.split(/\s+/)).toEqual(["NAME", "SERVERS", "AGENTS", "LOADBALANCER", "TOKEN"]);
      expect(row?.split(/\s+/).slice(0, 4)).toEqual([name, "1/1", "2/2", "true"]);
      const [server] = await dockerJson<Inspect[]>(["inspect", `k3d-${name}-server-0`]);
      expect(server).toBeDefined();
      const json = JSON.parse((await k3d(["cluster", "list", name, "--token", "-o", "json"])).stdout) as K3dClusterJson[];
      expect(row?.split(/\s+/)[4]).toBe(json[0]?.clusterToken);
      expect((await k3d(["cluster", "get", name, "--no-headers"])).stdout.startsWith(name)).toBe(true);
    });

    it("kubeconfig.md: write, get, merge -d, merge -o and -u=false", async () => {
      const write = await k3d(["kubeconfig", "write", name]);
      const own = join(sb.dir, ".config", "k3d", `kubeconfig-${name}.yaml`);
      expect(write.stdout.trim()).toBe(own);
      expect(((await stat(own)).mode & 0o777).toString(8)).toBe("600");
      expect((parse(await readFile(own, "utf8")) as KubeConfigFile)["current-context"]).toBe(`k3d-${name}`);
      const get = await k3d(["kubeconfig", "get", name]);
      expect(get.stdout.startsWith("---\n")).toBe(true);
      expect(get.stdout).toContain(`name: admin@k3d-${name}`);
      expect((await k3d(["kubeconfig", "print", name])).stdout).toBe(get.stdout);
      expect((await k3d(["kubeconfig", "merge", name, "--kubeconfig-merge-default"])).stdout.trim()).toBe(sb.kubeconfig);
      const other = join(sb.dir, "other.yaml");
      await writeFile(other, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: mine\n");
      expect((await k3d(["kubeconfig", "merge", name, "-o", other, "-s=false"])).code).toBe(0);
      const merged = parse(await readFile(other, "utf8")) as KubeConfigFile;
      expect(merged["current-context"]).toBe("mine");
      expect(merged.contexts.map((c) => c.name)).toEqual([`k3d-${name}`]);
      const refused = await k3d(["kubeconfig", "merge", name, "-o", other, "-u=false"]);
      expect(refused.code).toBe(5);
      expect(refused.stderr).toContain("already exists");
    });

    it("node list [NODE…], node create NAME --memory (node add), node edit --port-add, debug loadbalancer get/set", async () => {
      const list = await k3d(["node", "list"]);
      expect(list.stdout.split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "ROLE", "CLUSTER", "STATUS"]);
      const one = JSON.parse((await k3d(["node", "list", `k3d-${name}-agent-0`, "-o", "json"])).stdout) as Array<{
        name: string;
        role: string;
      }>;
      expect(one).toMatchObject([{ name: `k3d-${name}-agent-0`, role: "agent" }]);

      const extra = uniqueName("kdx");
      const add = await k3d(["node", "create", extra, "--cluster", name, "--memory", "256m", "--timeout", "2m"]);
      expect(add.code, add.stderr).toBe(0);
      const [node] = await dockerJson<Inspect[]>(["inspect", `k3d-${extra}-0`]);
      expect(node?.Config.Labels).toMatchObject({ "k3d.cluster": name, "k3d.role": "agent" });
      expect(node?.HostConfig.Memory).toBe(256 * 1024 ** 2);

      const port = await getPort({ host: "127.0.0.1" });
      const edit = await k3d(["node", "edit", `k3d-${name}-serverlb`, "--port-add", `127.0.0.1:${port}:8080`]);
      expect(edit.code, edit.stderr).toBe(0);
      const [lb] = await dockerJson<Inspect[]>(["inspect", `k3d-${name}-serverlb`]);
      expect(lb?.HostConfig.PortBindings["8080/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(port) }]);

      const config = parse((await k3d(["debug", "loadbalancer", "get-config", name])).stdout) as {
        ports: Record<string, string[]>;
        settings: { workerConnections: number };
      };
      expect(config.settings.workerConnections).toBe(1024);
      expect(config.ports["6443.tcp"]).toEqual([`k3d-${name}-server-0`]);
      expect([...(config.ports["80.tcp"] ?? [])].sort()).toEqual(
        [`k3d-${name}-server-0`, `k3d-${name}-agent-0`, `k3d-${name}-agent-1`, `k3d-${extra}-0`].sort(),
      );

      const set = await k3d(["debug", "loadbalancer", "set-config", name, "settings.workerConnections=4096"]);
      expect(set.code, set.stderr).toBe(0);
      const after = parse((await k3d(["debug", "lb", "get-config", name])).stdout) as typeof config;
      expect(after.settings.workerConnections).toBe(4096);
      expect(after.ports).toEqual(config.ports);
      expect((await docker(["exec", `k3d-${name}-serverlb`, "cat", "/etc/nginx/nginx.conf"])).stdout).toContain(
        "worker_connections 4096;",
      );

      const del = await k3d(["node", "delete", `k3d-${extra}-0`]);
      expect(del.code, del.stderr).toBe(0);
      expect((await docker(["inspect", `k3d-${extra}-0`])).code).not.toBe(0);
    });

    it("importing_images.md: image import -c NAME, any mode, -k keeps the tarball in the image volume", async () => {
      const r = await k3d(["image", "import", "busybox:latest", "-c", name, "-m", "direct", "-k", "-t"]);
      expect(r.code, r.stderr).toBe(0);
      const kept = /in (\/k3d\/images\/k3d-[^\s]+\.tar)/.exec(r.stderr)?.[1];
      expect(kept).toMatch(new RegExp(`^/k3d/images/k3d-${name}-images-\\d{14}\\.tar$`));
      // The volume is shared: every node sees the tarball.
      const seen = await docker(["exec", `k3d-${name}-agent-0`, "tar", "-tf", kept as string]);
      expect(seen.code, seen.stderr).toBe(0);
      expect(seen.stdout).toMatch(/manifest\.json|index\.json/);
      expect((await k3d(["image", "import", "busybox:latest", "-c", name, "-m", "sideways"])).code).toBe(2);
    });

    it("cluster delete removes everything, its kubeconfig file and entries included", async () => {
      const del = await k3d(["cluster", "delete", name]);
      expect(del.code, del.stderr).toBe(0);
      expect(await k3dLeftovers(name)).toEqual([]);
      await expect(stat(join(sb.dir, ".config", "k3d", `kubeconfig-${name}.yaml`))).rejects.toThrow();
      const kc = parse(await readFile(sb.kubeconfig, "utf8")) as KubeConfigFile;
      expect(kc.contexts.map((c) => c.name)).not.toContain(`k3d-${name}`);
    });
  });

  describe("configfile.md (v1alpha5) and registries.md, and a v1alpha4 file through config migrate", () => {
    let name: string;
    let registry: string;
    let dir: string;

    beforeAll(async () => {
      name = uniqueName("kdc");
      clusters.push(name);
      dir = join(sb.dir, name);
      await mkdir(dir);
      // registries.md: `k3d registry create myregistry.localhost --port 12345`, then used by the cluster.
      const shared = uniqueName("kdreg");
      registries.push(`k3d-${shared}`);
      const sharedPort = await getPort({ host: "127.0.0.1" });
      const reg = await k3d(["registry", "create", shared, "--port", `127.0.0.1:${sharedPort}`]);
      expect(reg.code, reg.stderr).toBe(0);
      registry = `${name}-registry`;
      registries.push(registry);
      const [apiPort, ingressPort, registryPort] = [
        await getPort({ host: "127.0.0.1" }),
        await getPort({ host: "127.0.0.1" }),
        await getPort({ host: "127.0.0.1" }),
      ];
      await writeFile(join(dir, "ns-baz.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: baz\n");
      await writeFile(
        join(dir, "k3d.yaml"),
        `apiVersion: k3d.io/v1alpha5
kind: Simple
metadata:
  name: ${name}
servers: 1
agents: 1
kubeAPI:
  host: "localhost"
  hostIP: "127.0.0.1"
  hostPort: "${apiPort}"
image: ${DOUBLE_IMAGE}
token: superSecretToken
ports:
  - port: 127.0.0.1:${ingressPort}:80
    nodeFilters:
      - loadbalancer
env:
  - envVar: bar=baz
    nodeFilters:
      - server:0
files:
  - description: 'Source: Relative, Destination: Absolute path, Node: Servers only'
    source: ns-baz.yaml
    destination: /var/lib/rancher/k3s/server/manifests/baz.yaml
    nodeFilters:
    - "server:*"
registries:
  create:
    name: ${registry}
    host: "127.0.0.1"
    hostPort: "${registryPort}"
  use:
    - k3d-${shared}:${sharedPort}
  config: |
    mirrors:
      "my.company.registry":
        endpoint:
          - http://my.company.registry:5000
hostAliases:
  - ip: 1.2.3.4
    hostnames:
      - my.host.local
options:
  k3d:
    wait: true
    timeout: "180s"
    loadbalancer:
      configOverrides:
        - settings.workerConnections=2048
  k3s:
    extraArgs:
      - arg: "--tls-san=my.host.domain"
        nodeFilters:
          - server:*
    nodeLabels:
      - label: foo=bar
        nodeFilters:
          - agent:0
  kubeconfig:
    updateDefaultKubeconfig: true
    switchCurrentContext: true
  runtime:
    agentsMemory: 400m
    labels:
      - label: bar=baz
        nodeFilters:
          - agent:0
    ulimits:
      - name: nofile
        soft: 16384
        hard: 16384
`,
      );
    });

    it("creates the cluster the file describes, with k3d's names for it and its registry", async () => {
      const r = await k3d(["cluster", "create", "--config", join(dir, "k3d.yaml")]);
      expect(r.code, r.stderr).toBe(0);
      const [server] = await dockerJson<Inspect[]>(["inspect", `k3d-${name}-server-0`]);
      expect(server?.Config.Cmd).toContain("--tls-san=my.host.domain");
      expect(server?.Config.Labels["k3d.cluster.start.hostaliases"]).toBe('[{"ip":"1.2.3.4","hostnames":["my.host.local"]}]');
      const [agent] = await dockerJson<Inspect[]>(["inspect", `k3d-${name}-agent-0`]);
      expect(agent?.Config.Labels).toMatchObject({ "k3d.role": "agent", bar: "baz" });
      expect(agent?.Config.Cmd).toContain("--node-label=foo=bar");
      expect(agent?.HostConfig.Memory).toBe(400 * 1024 ** 2);
      expect(agent?.HostConfig.Ulimits).toEqual([{ Name: "nofile", Soft: 16384, Hard: 16384 }]);
      // --registry-create's name is the container's, as given (registries.md: "a registry container called mycluster-registry").
      const [reg] = await dockerJson<Inspect[]>(["inspect", registry]);
      expect(reg?.Config.Labels).toMatchObject({ app: "k3d", "k3d.role": "registry" });
      const nginx = await docker(["exec", `k3d-${name}-serverlb`, "cat", "/etc/nginx/nginx.conf"]);
      expect(nginx.stdout).toContain("worker_connections 2048;");
      const kc = parse(await readFile(sb.kubeconfig, "utf8")) as KubeConfigFile;
      expect(kc.clusters.find((c) => c.name === `k3d-${name}`)?.cluster.server).toMatch(/^https:\/\/localhost:\d+$/);
      expect(kc["current-context"]).toBe(`k3d-${name}`);
    });

    it("registry list [NAME] shows the registries as k3d does", async () => {
      const table = await k3d(["registry", "list", registry]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout.split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "ROLE", "CLUSTER", "STATUS"]);
      expect(table.stdout.split("\n")[1]?.split(/\s+/)).toEqual([registry, "registry", name, "running"]);
      const json = JSON.parse((await k3d(["registry", "list", "-o", "json"])).stdout) as Array<{ name: string; role: string }>;
      expect(json.filter((r) => registries.includes(r.name)).map((r) => r.role)).toEqual(["registry", "registry"]);
    });

    it("migrates a v1alpha4 file to v1alpha5, which plans the same cluster names", async () => {
      const v4 = join(dir, "v1alpha4.yaml");
      await writeFile(
        v4,
        `apiVersion: k3d.io/v1alpha4\nkind: Simple\nname: ${name}-old\nservers: 1\nagents: 1\nimage: ${DOUBLE_IMAGE}\n`,
      );
      const out = join(dir, "v1alpha5.yaml");
      const m = await k3d(["config", "migrate", v4, out]);
      expect(m.code, m.stderr).toBe(0);
      expect(parse(await readFile(out, "utf8"))).toMatchObject({
        apiVersion: "k3d.io/v1alpha5",
        metadata: { name: `${name}-old` },
      });
      const dry = await k3d(["cluster", "create", "--config", out, "--dry-run", "-o", "json"]);
      expect(dry.code, dry.stderr).toBe(0);
      const plan = JSON.parse(dry.stdout) as { plan: { nodes: Array<{ name: string }> } };
      expect(plan.plan.nodes.map((n) => n.name)).toEqual([
        `k3d-${name}-old-server-0`,
        `k3d-${name}-old-agent-0`,
        `k3d-${name}-old-serverlb`,
      ]);
      // The v1alpha4 file itself is read unchanged, too.
      expect((await k3d(["cluster", "create", "--config", v4, "--dry-run"])).code).toBe(0);
    });

    it("cluster delete removes the cluster and the registry it created, and keeps the shared one", async () => {
      const del = await k3d(["cluster", "delete", name]);
      expect(del.code, del.stderr).toBe(0);
      expect(await k3dLeftovers(name)).toEqual([]);
      expect((await docker(["inspect", registry])).code).not.toBe(0);
      const shared = registries.find((r) => r.startsWith("k3d-")) as string;
      expect((await docker(["inspect", shared])).code).toBe(0);
      const gone = await k3d(["registry", "delete", shared]);
      expect(gone.code, gone.stderr).toBe(0);
    });
  });
});
