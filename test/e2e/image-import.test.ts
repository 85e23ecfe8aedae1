import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, DOUBLE_IMAGE, Sandbox, clusterExecs, docker, dockerSave, leftovers, uniqueName } from "./helpers.js";

interface ImportJson {
  clusters: string[];
  nodes: Array<{
    cluster: string;
    node: string;
    status: string;
    images: string[];
    bytes: number;
    durationMs: number;
    error?: string;
  }>;
}

/** Runs the CLI with `input` as stdin; `midway` runs once the first half is written and the output says so. */
async function k3boxWithStdin(
  sb: Sandbox,
  args: readonly string[],
  input: Buffer,
  midway?: { when: RegExp; run: () => Promise<void> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...sb.env }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  const sawMidway = new Promise<void>((resolve) => {
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (midway?.when.test(stderr)) resolve();
    });
  });
  const exited = once(child, "exit") as Promise<[number]>;
  child.stdin.on("error", () => {}); // the CLI may exit before reading everything
  if (midway) {
    const half = Math.floor(input.length / 2);
    child.stdin.write(input.subarray(0, half));
    await sawMidway;
    await midway.run();
    child.stdin.end(input.subarray(half));
  } else {
    child.stdin.end(input);
  }
  const [code] = await exited;
  return { code, stdout, stderr };
}

/** Builds an image of busybox plus `bytes` of random content, which no node holds yet. */
async function buildRandomImage(what: string, bytes: number): Promise<string> {
  const t = `${uniqueName(`k3box-e2e-${what}`)}:v1`;
  const build = spawn("docker", ["build", "-q", "-t", t, "-"], { stdio: ["pipe", "ignore", "inherit"] });
  build.stdin.end(`FROM busybox:latest\nRUN head -c ${bytes} /dev/urandom > /blob\n`);
  expect(((await once(build, "exit")) as [number])[0]).toBe(0);
  return t;
}

describe("image import into a 1 server + 2 agent cluster", () => {
  let sb: Sandbox;
  let name: string;
  let nodes: string[];
  const tags: string[] = [];
  /** A fresh name for busybox's content, so each test imports something the nodes lack. */
  const tag = async (what: string) => {
    const t = `${uniqueName(`k3box-e2e-${what}`)}:v1`;
    const r = await docker(["tag", "busybox:latest", t]);
    expect(r.code).toBe(0);
    tags.push(t);
    return t;
  };
  const listed = async (node: string) => {
    const r = await docker(["exec", node, "ctr", "images", "ls", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter(Boolean);
  };

  beforeAll(async () => {
    sb = await Sandbox.create();
    name = sb.name("img");
    const r = await sb.k3box(["cluster", "create", name, "-a", "2", "-i", DOUBLE_IMAGE, "--timeout", "3m"]);
    expect(r.code, r.stderr).toBe(0);
    nodes = [`k3box-${name}-server-0`, `k3box-${name}-agent-0`, `k3box-${name}-agent-1`];
  });
  afterAll(async () => {
    await sb.dispose();
    if (tags.length > 0) await docker(["rmi", ...tags]);
    expect(await leftovers(name)).toEqual([]);
  });

  it("imports busybox:latest into every node, which ctr then lists", async () => {
    const r = await sb.k3box(["image", "import", "busybox:latest", "-c", name, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Warning|MaxListeners/);
    const result = JSON.parse(r.stdout) as ImportJson;
    expect(result.clusters).toEqual([name]);
    expect(result.nodes.map((n) => [n.node, n.status, n.images])).toEqual(
      nodes.map((n) => [n, "imported", ["docker.io/library/busybox:latest"]]),
    );
    for (const n of result.nodes) expect(n.bytes).toBeGreaterThan(1_000_000);
    for (const node of nodes) expect(await listed(node)).toContain("docker.io/library/busybox:latest");
  });

  it("a second import, with the name typed another way, skips every node and says so", async () => {
    const r = await sb.k3box(["image", "import", "docker.io/library/busybox", "-c", name]);
    expect(r.code, r.stderr).toBe(0);
    for (const node of nodes) expect(r.stderr).toContain(`${node}: ✓ skipped: already has docker.io/library/busybox:latest`);
    expect(r.stderr).toContain("Nothing to do: all 3 nodes already have the images");
    const json = await sb.k3box(["image", "import", "busybox", "-c", name, "-o", "json"]);
    const result = JSON.parse(json.stdout) as ImportJson;
    expect(result.nodes.map((n) => [n.status, n.bytes])).toEqual(nodes.map(() => ["skipped", 0]));
  });

  it("imports from a gzip-compressed archive file; the same image as a plain archive then skips every node", async () => {
    const t = await tag("file");
    const archive = await dockerSave(t);
    const gz = join(sb.dir, "image.tar.gz");
    await writeFile(gz, gzipSync(archive));
    const r = await sb.k3box(["image", "import", gz, "-c", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Imported into 3 nodes");
    for (const node of nodes) expect(await listed(node)).toContain(`docker.io/library/${t}`);
    // A plain archive's index says what it holds: nodes that have it are skipped, nothing is sent.
    const plain = join(sb.dir, "image.tar");
    await writeFile(plain, archive);
    const again = await sb.k3box(["image", "import", plain, "-c", name, "-o", "json"]);
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as ImportJson;
    expect(result.nodes.map((n) => [n.status, n.bytes, n.images])).toEqual(
      nodes.map(() => ["skipped", 0, [`docker.io/library/${t}`]]),
    );
  });

  it("a gzip archive damaged mid-way is bad input (exit 2) naming the file, whether written into the volume once or streamed into one node", async () => {
    const t = await tag("damaged");
    const gz = gzipSync(await dockerSave(t));
    // Past the first blocks, which the CLI checks before any node is touched.
    for (let i = Math.floor(gz.length / 2); i < Math.floor(gz.length / 2) + 4096; i++) gz[i] = (gz[i] as number) ^ 0x5a;
    const file = join(sb.dir, "damaged.tar.gz");
    await writeFile(file, gz);
    for (const only of [[], ["--nodes", "agent:1"]]) {
      const r = await sb.k3box(["image", "import", file, "-c", name, "-o", "json", ...only]);
      expect(r.code, r.stderr).toBe(2);
      const result = JSON.parse(r.stdout) as ImportJson;
      const into = only.length === 0 ? nodes : [`k3box-${name}-agent-1`];
      expect(result.nodes.map((n) => [n.node, n.status])).toEqual(into.map((n) => [n, "failed"]));
      for (const n of result.nodes) expect(n.error?.startsWith(`${file}: its gzip data is damaged (`), n.error).toBe(true);
      expect(r.stderr).not.toContain("cut off");
    }
    for (const node of nodes) expect(await listed(node)).not.toContain(`docker.io/library/${t}`);
    expect((await docker(["exec", nodes[0] as string, "ls", "-a", "/k3d/images"])).stdout).not.toContain(".k3box-import-");
  });

  it("imports from stdin piped to the CLI", async () => {
    const t = await tag("stdin");
    const r = await k3boxWithStdin(sb, ["image", "import", "-", "-c", name, "-o", "json"], await dockerSave(t));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ImportJson;
    expect(result.nodes.map((n) => [n.status, n.images])).toEqual(nodes.map(() => ["imported", [`docker.io/library/${t}`]]));
    for (const node of nodes) expect(await listed(node)).toContain(`docker.io/library/${t}`);
  });

  it("--nodes agent:0 imports only there", async () => {
    const t = await tag("filter");
    const r = await sb.k3box(["image", "import", t, "-c", name, "--nodes", "agent:0", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ImportJson).nodes.map((n) => [n.node, n.status])).toEqual([
      [`k3box-${name}-agent-0`, "imported"],
    ]);
    expect(await listed(`k3box-${name}-agent-0`)).toContain(`docker.io/library/${t}`);
    expect(await listed(`k3box-${name}-server-0`)).not.toContain(`docker.io/library/${t}`);
    expect(await listed(`k3box-${name}-agent-1`)).not.toContain(`docker.io/library/${t}`);
  });

  it("stores an image without unpacking it; a container started from it in a node unpacks it then and runs", async () => {
    const t = await buildRandomImage("run", 300_000);
    tags.push(t);
    const node = nodes[2] as string;
    const committed = async () => {
      const r = await docker(["exec", node, "ctr", "-n", "k8s.io", "snapshots", "ls"]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split("\n").filter((l) => /\sCommitted\s*$/.test(l)).length;
    };
    const before = await committed();
    const r = await sb.k3box(["image", "import", t, "-c", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await listed(node)).toContain(`docker.io/library/${t}`);
    expect(await committed()).toBe(before);
    const ran = await docker([
      "exec",
      node,
      "ctr",
      "-n",
      "k8s.io",
      "run",
      "--rm",
      `docker.io/library/${t}`,
      uniqueName("run"),
      "wc",
      "-c",
      "/blob",
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout.trim()).toBe("300000 /blob");
    expect(await committed()).toBeGreaterThan(before);
  });

  it("a missing image fails with its name before any node is touched", async () => {
    const t = await tag("present");
    const missing = `${uniqueName("k3box-e2e-missing")}:v1`;
    // Sub-second precision: the previous test's own `docker exec` may share this second.
    const since = (Date.now() / 1000).toFixed(3);
    const r = await sb.k3box(["image", "import", t, missing, "-c", name]);
    const until = Math.ceil(Date.now() / 1000) + 1;
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`image "${missing}" not found in the Docker engine`);
    // Not even a look into the nodes: no exec was created in any of them.
    expect(await clusterExecs(name, since, until)).toEqual([]);
    for (const node of nodes) expect(await listed(node)).not.toContain(`docker.io/library/${t}`);
    const file = await sb.k3box(["image", "import", "./no-such-images.tar", "-c", name]);
    expect(file.code).toBe(6);
    expect(file.stderr).toContain('file "./no-such-images.tar" not found');
  });

  it("a node stopped mid-way fails the command and is named; the others complete and the stopped one holds no tag", async () => {
    // Content no node has yet, so the stopped node really is half way through.
    const t = await buildRandomImage("big", 8_000_000);
    tags.push(t);
    const victim = `k3box-${name}-agent-1`;
    const r = await k3boxWithStdin(sb, ["image", "import", "-", "-c", name, "-o", "json"], await dockerSave(t), {
      when: new RegExp(`${victim}: importing`),
      run: async () => {
        const stop = await docker(["stop", "--time", "0", victim]);
        expect(stop.code, stop.stderr).toBe(0);
      },
    });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("image import failed on 1 of 3 nodes");
    expect(r.stderr).toMatch(new RegExp(`${victim}: the node stopped during the import`));
    const result = JSON.parse(r.stdout) as ImportJson;
    expect(result.nodes.map((n) => [n.node, n.status])).toEqual([
      [`k3box-${name}-server-0`, "imported"],
      [`k3box-${name}-agent-0`, "imported"],
      [victim, "failed"],
    ]);
    for (const node of nodes.slice(0, 2)) expect(await listed(node)).toContain(`docker.io/library/${t}`);
    // Back up, the stopped node lists no trace of the image.
    expect((await docker(["start", victim])).code).toBe(0);
    let images: string[] | undefined;
    for (let i = 0; i < 120 && images === undefined; i++) {
      const ls = await docker(["exec", victim, "ctr", "images", "ls", "-q"]);
      if (ls.code === 0) images = ls.stdout.split("\n").filter(Boolean);
      else await new Promise((res) => setTimeout(res, 500));
    }
    expect(images).toBeDefined();
    expect(images).not.toContain(`docker.io/library/${t}`);
  });

  it("the node writing into the shared volume stopped mid-write fails alone: the others get the image read again", async () => {
    // Large enough that the write is still going when the kill lands: it takes about 1 s, the kill 0.15 s.
    const t = await buildRandomImage("writer", 150_000_000);
    tags.push(t);
    const [writer, ...others] = nodes as [string, ...string[]];
    const since = new Date().toISOString();
    const r = await k3boxWithStdin(sb, ["image", "import", t, "-c", name, "-o", "json"], Buffer.alloc(0), {
      when: new RegExp(`${writer}: importing`),
      run: async () => {
        const kill = await docker(["kill", writer]);
        expect(kill.code, kill.stderr).toBe(0);
      },
    });
    const until = Math.ceil(Date.now() / 1000) + 1;
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain("image import failed on 1 of 3 nodes");
    expect(r.stderr).toMatch(new RegExp(`${writer}: the node stopped during the import`));
    const result = JSON.parse(r.stdout) as ImportJson;
    expect(result.nodes.map((n) => [n.node, n.status])).toEqual([
      [writer, "failed"],
      [others[0], "imported"],
      [others[1], "imported"],
    ]);
    for (const node of others) expect(await listed(node)).toContain(`docker.io/library/${t}`);
    // The second write went through the next node, which removed what the first left half written.
    expect((await clusterExecs(name, since, until)).filter((l) => l.includes("cat >"))).toEqual([
      expect.stringMatching(new RegExp(`^${writer} `)),
      expect.stringMatching(new RegExp(`^${others[0]} `)),
    ]);
    expect((await docker(["exec", others[0] as string, "ls", "-a", "/k3d/images"])).stdout).not.toContain(".k3box-import-");
    expect((await docker(["start", writer])).code).toBe(0);
  });
});
