import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { DOUBLE_IMAGE, Sandbox, clusterExecs, docker, dockerSave, leftovers, uniqueName } from "./helpers.js";

interface ImportJson {
  nodes: Array<{ node: string; status: string; images: string[]; bytes: number; error?: string }>;
}

describe("image import into nodes that share the cluster's image volume", () => {
  let sb: Sandbox;
  let name: string;
  let nodes: string[];
  const tags: string[] = [];
  const listed = async (node: string) => {
    const r = await docker(["exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter(Boolean);
  };
  const volumeFiles = async () => (await docker(["exec", nodes[0] as string, "ls", "-A", "/k3d/images"])).stdout.trim();

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("ivol");
    nodes = [`k3box-${name}-server-0`, `k3box-${name}-agent-0`];
    // k3box's defaults: every cluster gets its image volume, as k3d's clusters do.
    const r = await sb.k3box(["cluster", "create", name, "-a", "1", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await sb.dispose();
    if (tags.length > 0) await docker(["rmi", ...tags]);
    expect(await leftovers(name)).toEqual([]);
  });

  it("the engine's stream is written once into the volume, each node imports that file, and the file is gone after", async () => {
    const t = `${uniqueName("k3box-e2e-vol")}:v1`;
    const build = spawn("docker", ["build", "-q", "-t", t, "-"], { stdio: ["pipe", "ignore", "inherit"] });
    build.stdin.end(`FROM busybox:latest\nRUN echo ${t} > /salt\n`);
    expect(((await once(build, "exit")) as [number])[0]).toBe(0);
    tags.push(t);
    const since = (Date.now() / 1000).toFixed(3);
    const r = await sb.k3box(["image", "import", t, "-c", name, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ImportJson;
    const ref = `docker.io/library/${t}`;
    expect(result.nodes.map((n) => [n.node, n.status, n.images])).toEqual(nodes.map((n) => [n, "imported", [ref]]));
    for (const node of nodes) expect(await listed(node)).toContain(ref);

    const execs = await clusterExecs(name, since);
    const writes = execs.filter((e) => /cat > "\$1" sh \/k3d\/images\/\.k3box-import-[0-9a-f]+\.tar/.test(e));
    // The import's script, then its arguments: namespace, platform, what it imports, then the labels it checks.
    const fileImports = execs.filter((e) =>
      /images import .* sh k8s\.io \S+ \/k3d\/images\/\.k3box-import-[0-9a-f]+\.tar dev\.k3box\.image\.id /.test(e),
    );
    const streamed = execs.filter((e) => /images import .* sh k8s\.io \S+ - dev\.k3box\.image\.id /.test(e));
    expect(writes).toHaveLength(1);
    expect(fileImports).toHaveLength(nodes.length);
    expect(streamed).toEqual([]);
    // Each import's own exec labelled and read the ref: no node needed a check of its own.
    expect(execs.filter((e) => /content get "\$digest"/.test(e))).toEqual([]);
    expect(await volumeFiles()).toBe("");

    // Both nodes now hold it: a repeat sends nothing.
    const again = await sb.k3box(["image", "import", t, "-c", name, "-o", "json"]);
    expect((JSON.parse(again.stdout) as ImportJson).nodes.map((n) => [n.status, n.bytes])).toEqual(
      nodes.map(() => ["skipped", 0]),
    );
  });

  it("a broken archive fails every node, leaves no tag and no file in the volume", async () => {
    const t = `${uniqueName("k3box-e2e-cut")}:v1`;
    expect((await docker(["tag", "busybox:latest", t])).code).toBe(0);
    tags.push(t);
    const archive = await dockerSave(t);
    const cut = join(sb.dir, "cut.tar.gz");
    // Compressed, so only reading it tells what it holds; cut before its index (manifest.json, the
    // archive's end), so no node can import it.
    await writeFile(cut, gzipSync(archive.subarray(0, Math.floor(archive.length * 0.6))));
    const r = await sb.k3box(["image", "import", cut, "-c", name, "-o", "json"]);
    expect(r.code).toBe(7);
    const result = JSON.parse(r.stdout) as ImportJson;
    expect(result.nodes.map((n) => [n.node, n.status])).toEqual(nodes.map((n) => [n, "failed"]));
    for (const node of nodes) expect(await listed(node)).not.toContain(`docker.io/library/${t}`);
    expect(await volumeFiles()).toBe("");
  });
});
