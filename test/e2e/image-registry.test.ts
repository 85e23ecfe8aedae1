import { spawn } from "node:child_process";
import { once } from "node:events";
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
