import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, dockerJson, leftovers, uniqueName } from "./helpers.js";

/** Where k3s' containerd (and so the kubelet's pulls) reads its per-registry host configs. */
const HOSTS_DIR = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d";

/** The image refs a node's containerd holds. */
async function listed(node: string): Promise<string[]> {
  const r = await docker(["exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

interface PushJson {
  cluster: string;
  registry: string;
  images: Array<{ ref: string; repository: string; tag: string; config: string; bytes: number; status: string }>;
}

interface RegistryJson {
  name: string;
  names: { host: string };
}

describe("image import --mode registry", () => {
  let sb: Sandbox;
  let name: string;
  let server: string;
  let agent: string;
  const registry = uniqueName("lazy");
  const tags: string[] = [];
  let image = "";

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("ireg");
    server = `k3box-${name}-server-0`;
    agent = `k3box-${name}-agent-0`;
    // An image no node or registry has: its own layer on top of busybox's.
    image = `${uniqueName("k3box-e2e-lazy")}:v1`;
    const build = spawn("docker", ["build", "-q", "-t", image, "-"], { stdio: ["pipe", "ignore", "inherit"] });
    build.stdin.end(`FROM busybox:latest\nRUN echo ${image} > /salt\n`);
    expect(((await once(build, "exit")) as [number])[0]).toBe(0);
    tags.push(image);
    const r = await sb.k3box(["cluster", "create", name, "-a", "1", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb.dispose();
    await sb.k3box(["registry", "delete", registry, "--force"]);
    if (tags.length > 0) await docker(["rmi", ...tags]);
    expect(await leftovers(name)).toEqual([]);
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^k3box-${registry}$`])).stdout.trim()).toBe("");
  });

  it("a missing image fails before anything is made: no registry, no node changed", async () => {
    const r = await sb.k3box(["image", "import", `${image}-missing`, "-c", name, "--mode", "registry"]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`image "${image}-missing" not found`);
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^k3box-${name}-registry$`])).stdout.trim()).toBe("");
    for (const node of [server, agent]) {
      expect((await docker(["exec", node, "test", "-e", `${HOSTS_DIR}/docker.io`])).code).not.toBe(0);
    }
  });

  it("pushes once to the cluster's registry; no node receives it, and an agent then pulls it through its mirror config", async () => {
    expect((await sb.k3box(["registry", "create", registry])).code).toBe(0);
    const connected = await sb.k3box(["registry", "connect", registry, "--cluster", name]);
    expect(connected.code, connected.stderr).toBe(0);

    const r = await sb.k3box(["image", "import", image, "-c", name, "--mode", "registry", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const pushed = JSON.parse(r.stdout) as PushJson;
    const id = (await dockerJson<Array<{ Id: string }>>(["image", "inspect", image]))[0]?.Id;
    const ref = `docker.io/library/${image}`;
    expect(pushed.registry).toBe(`k3box-${registry}`);
    expect(pushed.images.map((i) => [i.ref, i.status, i.config])).toEqual([[ref, "pushed", id]]);
    expect(pushed.images[0]?.bytes).toBeGreaterThan(1_000_000);

    // The registry serves it under the image's own repository and tag, as the engine's image.
    const list = JSON.parse((await sb.k3box(["registry", "list", "-o", "json"])).stdout) as RegistryJson[];
    const base = `http://${list.find((g) => g.name === registry)?.names.host}`;
    const manifest = (await (
      await fetch(`${base}/v2/library/${image.replace(":", "/manifests/")}`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { config: { digest: string } };
    expect(manifest.config.digest).toBe(id);

    // Nothing went to the nodes: they get it only when something pulls it.
    for (const node of [server, agent]) expect(await listed(node)).not.toContain(ref);
    const pull = await docker(["exec", agent, "ctr", "-n", "k8s.io", "images", "pull", "--hosts-dir", HOSTS_DIR, ref]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(await listed(agent)).toContain(ref);
    expect(await listed(server)).not.toContain(ref);
    // The pulled image is the engine's image: its manifest names the same config.
    const target = (await docker(["exec", agent, "ctr", "-n", "k8s.io", "images", "ls", `name==${ref}`])).stdout.match(
      /sha256:[0-9a-f]{64}/,
    )?.[0];
    const stored = await docker(["exec", agent, "ctr", "-n", "k8s.io", "content", "get", target ?? "missing"]);
    expect(stored.code, stored.stderr).toBe(0);
    expect((JSON.parse(stored.stdout) as { config: { digest: string } }).config.digest).toBe(id);
  });

  it("pushing the same image again sends nothing", async () => {
    const r = await sb.k3box(["image", "import", image, "-c", name, "--mode", "registry", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as PushJson).images.map((i) => [i.status, i.bytes])).toEqual([["skipped", 0]]);
    expect(r.stderr).toContain(`Nothing to do: k3box-${registry} already has the images`);
  });
});

describe("image import through a registry made on demand, and a cluster's default mode", () => {
  let sb: Sandbox;
  let name: string;
  let server: string;
  let agent: string;
  let registry: string;
  const tags: string[] = [];

  const buildImage = async (tag: string) => {
    const build = spawn("docker", ["build", "-q", "-t", tag, "-"], { stdio: ["pipe", "ignore", "inherit"] });
    build.stdin.end(`FROM busybox:latest\nRUN echo ${tag} > /salt\n`);
    expect(((await once(build, "exit")) as [number])[0]).toBe(0);
    tags.push(tag);
  };

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("ondem");
    server = `k3box-${name}-server-0`;
    agent = `k3box-${name}-agent-0`;
    registry = `k3box-${name}-registry`;
    await buildImage(`${uniqueName("k3box-e2e-ondemand")}:v1`);
    await buildImage(`${uniqueName("k3box-e2e-default")}:v1`);
    const config = join(sb.dir, "k3box.yaml");
    await writeFile(
      config,
      `apiVersion: k3box.dev/v1alpha1\nkind: Cluster\nagents: 1\noptions:\n  k3box:\n    imageImportMode: registry\n`,
    );
    const r = await sb.k3box(["cluster", "create", name, "-c", config, "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb.dispose();
    if (tags.length > 0) await docker(["rmi", ...tags]);
    expect(await leftovers(name)).toEqual([]);
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^${registry}$`])).stdout.trim()).toBe("");
  });

  it("Ctrl-C while the registry is being made removes it and leaves the nodes as they were", async () => {
    const child = sb.spawnK3box(["image", "import", tags[0] as string, "-c", name, "--mode", "registry"]);
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes(`Started ${registry}`) && !child.killed) child.kill("SIGINT");
    });
    const [code] = (await once(child, "exit")) as [number];
    expect(stderr).toContain("SIGINT received");
    expect(code).toBe(130);
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^${registry}$`])).stdout.trim()).toBe("");
    for (const node of [server, agent]) {
      expect((await docker(["exec", node, "test", "-e", `${HOSTS_DIR}/docker.io`])).code).not.toBe(0);
    }
  });

  it("--mode registry on a cluster without a registry creates one, connects it, and an agent pulls through it", async () => {
    const image = tags[0] as string;
    const r = await sb.k3box(["image", "import", image, "-c", name, "--mode", "registry", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`cluster "${name}" had no registry: created ${registry}`);
    expect((JSON.parse(r.stdout) as PushJson).registry).toBe(registry);

    // Made as --registry-create makes one: owned by the cluster, on its network, on 127.0.0.1.
    const [info] = await dockerJson<
      Array<{
        Config: { Labels: Record<string, string> };
        NetworkSettings: { Networks: Record<string, unknown>; Ports: Record<string, Array<{ HostIp: string }> | null> };
      }>
    >(["inspect", registry]);
    expect(info?.Config.Labels["dev.k3box.registry.cluster"]).toBe(name);
    expect(Object.keys(info?.NetworkSettings.Networks ?? {})).toContain(`k3box-${name}`);
    expect(info?.NetworkSettings.Ports["5000/tcp"]?.[0]?.HostIp).toBe("127.0.0.1");
    const list = JSON.parse((await sb.k3box(["registry", "list", "-o", "json"])).stdout) as Array<{
      container: string;
      clusters: string[];
    }>;
    expect(list.find((g) => g.container === registry)?.clusters).toEqual([name]);

    const ref = `docker.io/library/${image}`;
    for (const node of [server, agent]) expect(await listed(node)).not.toContain(ref);
    const pull = await docker(["exec", agent, "ctr", "-n", "k8s.io", "images", "pull", "--hosts-dir", HOSTS_DIR, ref]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(await listed(agent)).toContain(ref);
    expect(await listed(server)).not.toContain(ref);
  });

  it("without --mode, the cluster's imageImportMode from its config sends the image through the registry", async () => {
    const image = tags[1] as string;
    const r = await sb.k3box(["image", "import", image, "-c", name, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const pushed = JSON.parse(r.stdout) as PushJson;
    expect(pushed.registry).toBe(registry);
    expect(pushed.images.map((i) => [i.ref, i.status])).toEqual([[`docker.io/library/${image}`, "pushed"]]);
    for (const node of [server, agent]) expect(await listed(node)).not.toContain(`docker.io/library/${image}`);
  });

  it("--mode wins over the cluster's default: eager streams into every node", async () => {
    const image = tags[1] as string;
    const r = await sb.k3box(["image", "import", image, "-c", name, "--mode", "eager"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Imported into 2 nodes");
    for (const node of [server, agent]) expect(await listed(node)).toContain(`docker.io/library/${image}`);
  });

  it("cluster delete removes the registry it made, with its volume, and the network", async () => {
    const [info] = await dockerJson<Array<{ Mounts: Array<{ Type: string; Name?: string }> }>>(["inspect", registry]);
    const volumes = (info?.Mounts ?? []).filter((m) => m.Type === "volume").map((m) => m.Name as string);
    expect(volumes.length).toBeGreaterThan(0);
    const r = await sb.k3box(["cluster", "delete", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("is kept");
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^${registry}$`])).stdout.trim()).toBe("");
    for (const v of volumes) expect((await docker(["volume", "inspect", v])).code).not.toBe(0);
    expect((await docker(["network", "inspect", `k3box-${name}`])).code).not.toBe(0);
    expect(await leftovers(name)).toEqual([]);
  });
});
