/**
 * Everything that can be known before the first container is checked before it, by the same
 * code `--dry-run` runs: so a create refused here has created nothing, and a dry run reports it.
 */
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, DOUBLE_IMAGE, type RunResult, Sandbox, leftovers, run } from "./helpers.js";

/** A create that got past its checks would show a created step; one refused by them shows none. */
function expectNothingCreated(r: RunResult): void {
  expect(r.stderr).not.toMatch(/Created|Rolled back/);
}

describe("checks before the first container", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.create();
  });
  afterAll(async () => {
    await sb.dispose();
  });

  const create = (name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    sb.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, ...args], env);

  it("a KUBECONFIG that is a directory fails with exit 8, naming it, before anything exists; --dry-run says the same", async () => {
    const dir = join(sb.dir, "kubeconfig-dir");
    await mkdir(dir);
    for (const dryRun of [[], ["--dry-run"]]) {
      const name = sb.name("kcdir");
      const r = await create(name, dryRun, { KUBECONFIG: dir });
      expect(r.stderr).toContain(`error: cannot use ${dir}: it is a directory`);
      expect(r.code).toBe(8);
      expectNothingCreated(r);
      expect(await leftovers(name)).toEqual([]);
    }
  });

  it("a KUBECONFIG that cannot be parsed fails with exit 8 before anything exists", async () => {
    const file = join(sb.dir, "broken-kubeconfig");
    await writeFile(file, "clusters: [\n");
    const name = sb.name("kcbad");
    const r = await create(name, [], { KUBECONFIG: file });
    expect(r.stderr).toContain(`error: ${file}:`);
    expect(r.stderr).toContain("cannot parse kubeconfig");
    expect(r.code).toBe(8);
    expectNothingCreated(r);
    expect(await leftovers(name)).toEqual([]);
  });

  it("a KUBECONFIG on a read-only file system fails with exit 8 before anything exists", async () => {
    const ro = join(sb.dir, "read-only");
    await mkdir(ro);
    const name = sb.name("kcro");
    // A mount namespace of its own: the read-only mount is seen by this one command only.
    const r = await run(
      "unshare",
      [
        "--mount",
        "--",
        "sh",
        "-c",
        'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"',
        "sh",
        ro,
        process.execPath,
        CLI,
        "cluster",
        "create",
        name,
        "-i",
        DOUBLE_IMAGE,
      ],
      { ...sb.env, KUBECONFIG: join(ro, "config") },
    );
    expect(r.stderr).toContain(`error: cannot write ${join(ro, "config")}: directory ${ro} is a read-only file system`);
    expect(r.code).toBe(8);
    expectNothingCreated(r);
    expect(await leftovers(name)).toEqual([]);
  });

  it("a KUBECONFIG its user cannot read fails with exit 8 before anything exists", async (ctx) => {
    // Root reads everything: the command runs as nobody, in the engine socket's group.
    const socketGroup = (await stat("/var/run/docker.sock")).gid;
    const asNobody = ["--reuid=65534", "--regid=65534", `--groups=${socketGroup}`, "--"];
    const probe = await run("setpriv", [...asNobody, process.execPath, CLI, "--version"]);
    if (probe.code !== 0) ctx.skip(`the CLI cannot run as nobody here: ${probe.stderr.trim()}`);
    await chmod(sb.dir, 0o755);
    const file = join(sb.dir, "unreadable-kubeconfig");
    await writeFile(file, "apiVersion: v1\nkind: Config\n", { mode: 0o600 });
    const name = sb.name("kcnoread");
    const r = await run("setpriv", [...asNobody, process.execPath, CLI, "cluster", "create", name, "-i", DOUBLE_IMAGE], {
      KUBECONFIG: file,
      HOME: sb.dir,
    });
    expect(r.stderr).toContain(`error: cannot read ${file}: EACCES`);
    expect(r.code).toBe(8);
    expectNothingCreated(r);
    expect(await leftovers(name)).toEqual([]);
  });

  it.each([
    [["--network", "host"], 'network "host" cannot hold k3s nodes'],
    [["--network", "none"], 'network "none" cannot hold k3s nodes'],
    [["--image", "Rancher/K3s:v1.35"], 'invalid image "Rancher/K3s:v1.35"'],
  ])("%j is refused with exit 2 by --dry-run and by create", async (args, message) => {
    for (const dryRun of [["--dry-run"], []]) {
      const name = sb.name("pre");
      const r = await sb.k3box(["cluster", "create", name, ...args, ...dryRun]);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(2);
      expect(await leftovers(name)).toEqual([]);
    }
  });

  it("a host port in use is reported by --dry-run (exit 5), as by create", async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      for (const args of [
        ["-p", `${port}:80`],
        ["--api-port", `127.0.0.1:${port}`],
      ]) {
        const name = sb.name("busy");
        const r = await create(name, [...args, "--dry-run"]);
        expect(r.stderr).toContain(`port 127.0.0.1:${port} is already in use`);
        expect(r.code).toBe(5);
      }
    } finally {
      server.close();
    }
  });

  it("node create --replicas beyond the limit is refused at once (exit 2)", async () => {
    const r = await sb.k3box(["node", "create", "--cluster", "does-not-matter", "--replicas", "100000"]);
    expect(r.stderr).toContain('invalid replicas "100000": use 1 to 1000');
    expect(r.code).toBe(2);
  });
});
