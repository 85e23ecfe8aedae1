/**
 * The product's promises on the real rancher/k3s image (or K3BOX_REAL_K3S_IMAGE): readiness that
 * holds, host adaptations, HA stop/start, node add, pods run from an engine image, a compressed
 * archive and `--mode registry` import, and from a registry push, a port through the load
 * balancer, and nothing left after delete. Runs where the image is
 * present or can be pulled; elsewhere every test is skipped, and the suite's name says why.
 *
 * Each test gives k3box a deadline well inside the test's own timeout, so k3box's own error (which
 * node, which log lines) is what fails a test, not the test runner's timer.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_K3S_IMAGE } from "../../src/core/cluster-spec/defaults.js";
import { Sandbox, docker, dockerSave, leftovers, run } from "./helpers.js";

const IMAGE = process.env.K3BOX_REAL_K3S_IMAGE || DEFAULT_K3S_IMAGE;
const present = (await docker(["image", "inspect", IMAGE])).code === 0;
const pulled = present || (await docker(["pull", "-q", IMAGE])).code === 0;
const why = `${IMAGE} is not present and cannot be pulled here (set K3BOX_REAL_K3S_IMAGE to an image the engine has)`;

/** k3box's own deadline for one operation, and the test's, which leaves room for k3box's error and rollback. */
const K3BOX_DEADLINE = "6m";
const TEST_TIMEOUT = 12 * 60_000;

const kubectl = (sb: Sandbox, name: string, args: readonly string[]) => sb.kubectl(["--context", `k3box-${name}`, ...args]);

/**
 * A pod that must end Succeeded: its command's exit code decides. `pull`: `Never` for an image the
 * nodes were given, so that the pod runs what k3box imported (stored, not unpacked: the runtime
 * unpacks it for this container) and could not have pulled it instead. `flags`: more of `kubectl run`'s.
 */
async function runPod(
  sb: Sandbox,
  name: string,
  pod: string,
  image: string,
  command: readonly string[],
  { pull, flags = [] }: { pull: "Never" | "IfNotPresent"; flags?: readonly string[] },
): Promise<void> {
  const created = await kubectl(sb, name, [
    "run",
    pod,
    `--image=${image}`,
    `--image-pull-policy=${pull}`,
    "--restart=Never",
    ...flags,
    "--command",
    "--",
    ...command,
  ]);
  expect(created.code, created.stderr).toBe(0);
  const done = await kubectl(sb, name, ["wait", "--for=jsonpath={.status.phase}=Succeeded", `pod/${pod}`, "--timeout=240s"]);
  const logs = await kubectl(sb, name, ["logs", pod]);
  expect(done.code, `${done.stderr}\n${logs.stdout}`).toBe(0);
}

describe.skipIf(!pulled)(`real k3s (${pulled ? IMAGE : `skipped: ${why}`})`, () => {
  describe("one server and two agents", () => {
    let sb: Sandbox;
    let name: string;
    let create: Awaited<ReturnType<Sandbox["k3box"]>>;
    beforeAll(async () => {
      sb = await Sandbox.create();
      name = sb.name("real");
      // DNS answers before create returns: the level the product offers for it.
      create = await sb.k3box([
        "cluster",
        "create",
        name,
        "-a",
        "2",
        "-i",
        IMAGE,
        "-p",
        "80@loadbalancer",
        "--registry-create",
        `${name}-reg`,
        "--wait-for",
        "addons",
        "--timeout",
        K3BOX_DEADLINE,
      ]);
    }, TEST_TIMEOUT);
    afterAll(async () => {
      await sb.dispose();
    }, TEST_TIMEOUT);

    it("is ready when create returns: every node Ready, and it stays so", async () => {
      expect(create.code, create.stderr).toBe(0);
      const nodes = await kubectl(sb, name, ["get", "nodes", "--no-headers"]);
      expect(nodes.stdout.trim().split("\n")).toHaveLength(3);
      expect(nodes.stdout).not.toContain("NotReady");
      // No node restarted since: real k3s on cgroup v1 died right after its milestone.
      const restarts = await docker(["inspect", "-f", "{{.RestartCount}}", `k3box-${name}-server-0`, `k3box-${name}-agent-0`]);
      expect(restarts.stdout.trim().split("\n")).toEqual(["0", "0"]);
    });

    it("records and shows what it adapted to this engine", async () => {
      const info = await docker(["info", "--format", "{{.CgroupVersion}}"]);
      const get = await sb.k3box(["cluster", "get", name, "-o", "json"]);
      const adaptations = (JSON.parse(get.stdout) as { adaptations: string[] }).adaptations;
      if (info.stdout.trim() === "1") expect(adaptations).toContain("cgroupv1");
      expect(adaptations).toContain("conntrack");
    });

    it("runs a pod from an imported image, which resolves host.k3box.internal through CoreDNS; importing it again skips every node", async () => {
      const imported = await sb.k3box(["image", "import", "busybox:latest", "-c", name]);
      expect(imported.code, imported.stderr).toBe(0);
      // containerd 2's image list and labels: what k3box checked and labelled, it recognises.
      const again = await sb.k3box(["image", "import", "busybox:latest", "-c", name, "-o", "json"]);
      expect(again.code, again.stderr).toBe(0);
      const result = JSON.parse(again.stdout) as { nodes: { status: string }[] };
      expect(result.nodes.map((n) => n.status)).toEqual(["skipped", "skipped", "skipped"]);
      await runPod(sb, name, "dns", "busybox:latest", ["nslookup", "host.k3box.internal"], { pull: "Never" });
    });

    it("runs a pod from a gzip archive imported into every node, which containerd 2 reports without naming it", async () => {
      const tagged = `k3box-real/archive:${name}`;
      expect((await docker(["tag", "busybox:latest", tagged])).code).toBe(0);
      try {
        const file = join(sb.dir, "busybox.tar.gz");
        await writeFile(file, gzipSync(await dockerSave(tagged)));
        const imported = await sb.k3box(["image", "import", file, "-c", name, "-o", "json"]);
        expect(imported.code, imported.stderr).toBe(0);
        const result = JSON.parse(imported.stdout) as { nodes: { status: string; images: string[] }[] };
        expect(result.nodes.map((n) => [n.status, n.images])).toEqual(
          result.nodes.map(() => ["imported", [`docker.io/${tagged}`]]),
        );
        await runPod(sb, name, "archive", tagged, ["true"], { pull: "Never" });
      } finally {
        await docker(["rmi", tagged]);
      }
    });

    it("runs a pod on an agent from an image delivered with --mode registry, which no node received", async () => {
      const tagged = `k3box-real/lazy:${name}`;
      expect((await docker(["tag", "busybox:latest", tagged])).code).toBe(0);
      try {
        const pushed = await sb.k3box(["image", "import", tagged, "-c", name, "--mode", "registry"]);
        expect(pushed.code, pushed.stderr).toBe(0);
        const agent = `k3box-${name}-agent-1`;
        const before = await docker(["exec", agent, "ctr", "-n", "k8s.io", "images", "ls", "-q"]);
        expect(before.stdout).not.toContain(`docker.io/${tagged}`);
        await runPod(sb, name, "lazy", tagged, ["true"], {
          pull: "IfNotPresent",
          flags: [`--overrides={"apiVersion":"v1","spec":{"nodeName":"${agent}"}}`],
        });
        const after = await docker(["exec", agent, "ctr", "-n", "k8s.io", "images", "ls", "-q"]);
        expect(after.stdout).toContain(`docker.io/${tagged}`);
      } finally {
        await docker(["rmi", tagged]);
      }
    });

    it("pulls an image pushed to its registry into a running pod", async () => {
      const reg = JSON.parse((await sb.k3box(["registry", "get", `${name}-reg`, "-o", "json"])).stdout) as {
        names: { host: string; node: string };
      };
      const tagged = `${reg.names.host}/library/busybox:real`;
      expect((await docker(["tag", "busybox:latest", tagged])).code).toBe(0);
      try {
        const push = await docker(["push", tagged]);
        expect(push.code, push.stderr).toBe(0);
        await runPod(sb, name, "pulled", `${reg.names.node}/library/busybox:real`, ["true"], { pull: "IfNotPresent" });
      } finally {
        await docker(["rmi", tagged]);
      }
    });

    it("reaches Traefik through a port of the load balancer", async () => {
      const get = JSON.parse((await sb.k3box(["cluster", "get", name, "-o", "json"])).stdout) as {
        ports: { hostIp: string; hostPort: number; containerPort: number }[];
      };
      const port = get.ports.find((p) => p.containerPort === 80);
      expect(port).toBeDefined();
      // Traefik answers 404 for a path no ingress routes: the request went through the load balancer to it.
      const r = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `http://${port?.hostIp}:${port?.hostPort}/`]);
      expect(r.stdout).toBe("404");
    });

    it("adds an agent that becomes Ready", async () => {
      const added = await sb.k3box(["node", "create", "--cluster", name, "--role", "agent", "--timeout", K3BOX_DEADLINE]);
      expect(added.code, added.stderr).toBe(0);
      const nodes = await kubectl(sb, name, ["get", "nodes", "--no-headers"]);
      expect(nodes.stdout.trim().split("\n")).toHaveLength(4);
      expect(nodes.stdout).not.toContain("NotReady");
    });

    it("deletes without a trace, the image's anonymous volumes included", async () => {
      // rancher/k3s declares VOLUMEs (/var/lib/kubelet, /var/lib/cni, /var/log): each node gets unnamed ones.
      const mounts = await docker([
        "inspect",
        "-f",
        '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}',
        `k3box-${name}-server-0`,
      ]);
      const anonymous = mounts.stdout.split(/\s+/).filter((v) => /^[0-9a-f]{64}$/.test(v));
      expect(anonymous.length).toBeGreaterThan(0);
      expect((await sb.k3box(["cluster", "delete", name])).code).toBe(0);
      expect(await leftovers(name)).toEqual([]);
      for (const v of anonymous) expect((await docker(["volume", "inspect", v])).code, `volume ${v}`).not.toBe(0);
    });
  });

  it(
    "HA: 3 servers come up one at a time, survive stop and start, and answer through the load balancer",
    async () => {
      const sb = await Sandbox.create();
      try {
        const name = sb.name("real-ha");
        const created = await sb.k3box(["cluster", "create", name, "-s", "3", "-i", IMAGE, "--timeout", K3BOX_DEADLINE]);
        expect(created.code, created.stderr).toBe(0);
        expect((await sb.k3box(["cluster", "stop", name])).code).toBe(0);
        const started = await sb.k3box(["cluster", "start", name, "--timeout", K3BOX_DEADLINE]);
        expect(started.code, started.stderr).toBe(0);
        const nodes = await kubectl(sb, name, ["get", "nodes", "--no-headers"]);
        expect(nodes.stdout.trim().split("\n")).toHaveLength(3);
        expect(nodes.stdout).not.toContain("NotReady");
        expect((await sb.k3box(["cluster", "delete", name])).code).toBe(0);
        expect(await leftovers(name)).toEqual([]);
      } finally {
        await sb.dispose();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "a server whose kubelet dies after 'k3s is up and running' fails create with exit 7, naming it and the kubelet's error",
    async () => {
      const sb = await Sandbox.create();
      try {
        const name = sb.name("real-crash");
        // Without the adaptation, a Kubernetes 1.35+ kubelet refuses a cgroup v1 host; elsewhere an
        // unknown kubelet flag makes it exit the same way, right after the milestone.
        const info = await docker(["info", "--format", "{{.CgroupVersion}}"]);
        const args =
          info.stdout.trim() === "1"
            ? { env: { K3BOX_ADAPT_CGROUPV1: "false" }, extra: [] }
            : { env: {}, extra: ["--k3s-arg", "--kubelet-arg=no-such-flag=1@server:0"] };
        const r = await sb.k3box(
          ["cluster", "create", name, "-a", "1", "-i", IMAGE, "--timeout", K3BOX_DEADLINE, ...args.extra],
          args.env,
        );
        expect(r.code, r.stderr).toBe(7);
        expect(r.stderr).toContain(`k3box-${name}-server-0`);
        expect(r.stderr).toMatch(/kubelet|Error:/);
        expect(await leftovers(name)).toEqual([]);
      } finally {
        await sb.dispose();
      }
    },
    TEST_TIMEOUT,
  );
});
