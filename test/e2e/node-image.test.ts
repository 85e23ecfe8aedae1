import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_IMAGE, Sandbox, docker, dockerJson, leftovers, uniqueName } from "./helpers.js";

interface ImageInspect {
  Config: { Entrypoint: string[] | null; Cmd: string[] | null; Labels: Record<string, string> | null };
}

async function imageExists(ref: string): Promise<boolean> {
  return (await docker(["image", "inspect", ref])).code === 0;
}

describe("k3box node-image build on top of the double, used by cluster create", () => {
  let sb: Sandbox;
  let dir: string;
  let preload: string;
  let tag: string;
  let build: { code: number; stdout: string; stderr: string };
  let name: string;
  const built: string[] = [];

  beforeAll(async () => {
    sb = await Sandbox.create();
    dir = await mkdtemp(join(tmpdir(), "k3box-node-image-"));
    preload = join(dir, "preload");
    await mkdir(preload);
    const save = await docker(["save", "busybox:latest", "-o", join(preload, "busybox.tar")]);
    if (save.code !== 0) throw new Error(`docker save: ${save.stderr}`);
    await writeFile(join(preload, "NOTES.md"), "not an image\n");
    tag = `k3box-test/node-e2e:${uniqueName("t")}`;
    built.push(tag);
    build = await sb.k3box(["node-image", "build", "--from", DOUBLE_IMAGE, "--tag", tag, "--preload", preload]);
  });
  afterAll(async () => {
    await sb?.dispose();
    if (name) expect(await leftovers(name)).toEqual([]);
    for (const t of built) await docker(["rmi", "-f", t]);
    await rm(dir, { recursive: true, force: true });
  });

  it("builds the image and prints its tag", () => {
    expect(build.stderr).toContain(`Node image ${tag} built from ${DOUBLE_IMAGE} with 1 preloaded file(s): busybox.tar`);
    expect(build.stderr).toContain('skipping "NOTES.md"');
    expect(build.code).toBe(0);
    expect(build.stdout).toBe(`${tag}\n`);
  });

  it("has the entrypoint script, the preloaded tarball and k3s' command", async () => {
    const [img] = await dockerJson<ImageInspect[]>(["image", "inspect", tag]);
    expect(img?.Config.Entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
    expect(img?.Config.Cmd).toEqual(["agent"]);
    expect(img?.Config.Labels?.["dev.k3box.managed"]).toBe("true");
    const ls = await docker([
      "run",
      "--rm",
      "--entrypoint",
      "ls",
      tag,
      "-l",
      "/bin/k3box-entrypoint.sh",
      "/var/lib/rancher/k3s/agent/images/",
    ]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^-rwxr-xr-x .* \/bin\/k3box-entrypoint\.sh$/m);
    expect(ls.stdout).toContain("busybox.tar");
    expect(ls.stdout).not.toContain("NOTES.md");
  });

  it("creates a cluster whose nodes list the preloaded image and run the fixes once per start", async () => {
    name = sb.name("nimg");
    const r = await sb.k3box(["cluster", "create", name, "-a", "1", "-i", tag, "--timeout", "3m"]);
    expect(r.stderr).toContain(`Cluster "${name}" created`);
    expect(r.code).toBe(0);
    for (const node of [`k3box-${name}-server-0`, `k3box-${name}-agent-0`]) {
      const images = await docker(["exec", node, "ctr", "images", "ls", "-q"]);
      expect(images.code).toBe(0);
      expect(images.stdout.split("\n")).toContain("docker.io/library/busybox:latest");
      const logs = await docker(["logs", node]);
      expect((logs.stdout + logs.stderr).split("k3box-entrypoint: mounts:").length - 1).toBe(1);
      const hosts = await docker(["exec", node, "getent", "hosts", "host.k3box.internal"]);
      expect(hosts.code).toBe(0);
    }
    const [node] = await dockerJson<Array<{ Config: { Entrypoint: string[]; Image: string } }>>([
      "inspect",
      `k3box-${name}-server-0`,
    ]);
    expect(node?.Config.Image).toBe(tag);
    expect(node?.Config.Entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
  });

  describe("bad input: a clear error and no image", () => {
    const attempt = async (args: string[]) => {
      const t = `k3box-test/node-e2e:${uniqueName("bad")}`;
      built.push(t);
      const r = await sb.k3box(["node-image", "build", "--tag", t, ...args]);
      expect(await imageExists(t)).toBe(false);
      return r;
    };

    it("a preload directory that does not exist", async () => {
      const missing = join(dir, "absent");
      const r = await attempt(["--from", DOUBLE_IMAGE, "--preload", missing]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--preload directory "${missing}" does not exist`);
    });

    it("a preload directory without image tarballs", async () => {
      const empty = join(dir, "empty");
      await mkdir(empty);
      const r = await attempt(["--from", DOUBLE_IMAGE, "--preload", empty]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--preload directory "${empty}" holds no image tarballs`);
    });

    it("an invalid --from reference", async () => {
      const r = await attempt(["--from", "Not An/Image!"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('invalid image "Not An/Image!" for --from');
    });

    it("a --from image that is not there and cannot be pulled", async () => {
      const absent = `k3box-test/absent-${uniqueName("img")}:v1`;
      const r = await attempt(["--from", absent]);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(`image "${absent}" given by --from is not available`);
    });

    it("an invalid --tag", async () => {
      const r = await sb.k3box(["node-image", "build", "--from", DOUBLE_IMAGE, "--tag", "UPPER/case:x"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('invalid image tag "UPPER/case:x" for --tag');
    });
  });
});
