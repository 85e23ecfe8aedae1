/**
 * k3box against engines that are not the local socket: a second dockerd in a network namespace
 * (the "remote host"), reached over tcp://, tcp:// with TLS and ssh://, and rootful Podman through
 * its Docker-compatible socket. Each gets the same subset: a cluster with a load balancer and a
 * published port, a kubeconfig that kubectl on this machine uses as it is, an image import, and a
 * delete that leaves nothing on either engine. The engines are shared by the tests of this file.
 */
import type Docker from "dockerode";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PodmanEngine,
  RemoteDockerEngine,
  defaultSeedImages,
  loadBalancerImage,
  prerequisites,
  type Transport,
} from "../support/engines/index.js";
import { DOUBLE_IMAGE, Sandbox, leftovers, run } from "./helpers.js";

const pre = await prerequisites();
const skipped = (what: string, reason: string): string => (reason ? `${what} (skipped: ${reason})` : what);

interface Objects {
  readonly containers: string[];
  readonly volumes: string[];
  readonly networks: string[];
}

/** What an engine holds with a cluster's labels. */
async function clusterObjects(engine: Docker, cluster: string): Promise<Objects> {
  const filters = { label: [`dev.k3box.cluster=${cluster}`] };
  const [containers, volumes, networks] = await Promise.all([
    engine.listContainers({ all: true, filters }),
    engine.listVolumes({ filters }),
    engine.listNetworks({ filters }),
  ]);
  return {
    containers: containers.map((c) => c.Names[0] ?? c.Id),
    volumes: (volumes.Volumes ?? []).map((v) => v.Name),
    networks: networks.map((n) => n.Name),
  };
}

const nothing: Objects = { containers: [], volumes: [], networks: [] };

/** The shared subset, on one engine: `env` points k3box at it, `api` is the address its ports are reached at from here. */
function subset(
  label: string,
  target: () => { env: NodeJS.ProcessEnv; docker: Docker; address: string },
  /** An image the engine names `localhost/NAME` (as Podman names what it builds) to import by that name. */
  localImage?: string,
): void {
  describe(label, () => {
    let sandbox: Sandbox;
    let name: string;

    beforeAll(async () => {
      sandbox = await Sandbox.create();
      name = sandbox.name("remote");
    });

    afterAll(async () => {
      await sandbox.k3box(["cluster", "delete", name, "--ignore-missing", "-q"], target().env);
      await sandbox.dispose();
    });

    it("creates a cluster there, publishes the API and a port on its host, and kubectl here uses the kubeconfig as it is", async () => {
      const { env, docker, address } = target();
      const created = await sandbox.k3box(
        ["cluster", "create", name, "-i", DOUBLE_IMAGE, "-a", "1", "-p", "80@loadbalancer", "--timeout", "4m", "-o", "json"],
        env,
      );
      expect(created.stderr).not.toMatch(/^error/m);
      expect(created.code).toBe(0);
      const result = JSON.parse(created.stdout) as {
        server: string;
        ports: Array<{ hostIp: string; hostPort: number; containerPort: number }>;
      };
      expect(result.server).toMatch(new RegExp(`^https://${address.replace(/\./g, "\\.")}:\\d+$`));
      const ingress = result.ports.find((p) => p.containerPort === 80);
      expect(ingress?.hostIp).toBe(address);
      // The containers are on that engine, and none on the local one.
      const there = await clusterObjects(docker, name);
      expect(there.containers.sort()).toEqual([`/k3box-${name}-agent-0`, `/k3box-${name}-server-0`, `/k3box-${name}-serverlb`]);
      expect(await leftovers(name)).toEqual([]);
      const lb = await docker.getContainer(`k3box-${name}-serverlb`).inspect();
      const published = Object.values(lb.NetworkSettings.Ports ?? {}).flatMap((b) => b ?? []);
      expect(published.map((b) => b.HostIp)).toEqual(published.map(() => address));
      // kubectl on this machine, through the server address in the kubeconfig k3box wrote.
      const config = await readFile(sandbox.kubeconfig, "utf8");
      expect(config).toContain(`server: ${result.server}`);
      const nodes = await sandbox.kubectl(["get", "nodes", "-o", "name"]);
      expect(nodes.stderr).toBe("");
      expect(nodes.stdout.split("\n").filter(Boolean).sort()).toEqual([
        `node/k3box-${name}-agent-0`,
        `node/k3box-${name}-server-0`,
      ]);
    });

    it("points host.k3box.internal in the nodes at the engine's host (the cluster network's gateway there)", async () => {
      const { env, docker } = target();
      const network = await docker.getNetwork(`k3box-${name}`).inspect();
      const gateway = (network.IPAM?.Config ?? [])[0]?.Gateway as string;
      expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const hosts = await run("docker", ["exec", `k3box-${name}-server-0`, "cat", "/etc/hosts"], env);
      expect(hosts.code, hosts.stderr).toBe(0);
      expect(hosts.stdout).toMatch(new RegExp(`^${gateway.replace(/\./g, "\\.")}\\s+host\\.k3box\\.internal$`, "m"));
    });

    it("imports an image of that engine into the nodes", async () => {
      const imported = await sandbox.k3box(["image", "import", "busybox:latest", "-c", name, "-o", "json"], target().env);
      expect(imported.stderr).not.toMatch(/^error/m);
      expect(imported.code).toBe(0);
      const result = JSON.parse(imported.stdout) as { nodes: Array<{ node: string; status: string }> };
      expect(result.nodes.map((n) => n.status).sort()).toEqual(["imported", "imported"]);
    });

    if (localImage !== undefined)
      it("imports an image the engine names localhost/NAME, by that name", async () => {
        const { env, docker } = target();
        const ref = localImage;
        const [repo, tag] = ref.split(":") as [string, string];
        await docker.getImage("docker.io/library/busybox:latest").tag({ repo, tag });
        const imported = await sandbox.k3box(["image", "import", ref, "-c", name, "-o", "json"], env);
        expect(imported.code, imported.stderr).toBe(0);
        const result = JSON.parse(imported.stdout) as { nodes: Array<{ node: string; status: string }> };
        expect(result.nodes.map((n) => n.status).sort()).toEqual(["imported", "imported"]);
      });

    it("deletes the cluster and leaves nothing on either engine", async () => {
      const deleted = await sandbox.k3box(["cluster", "delete", name], target().env);
      expect(deleted.code).toBe(0);
      expect(await clusterObjects(target().docker, name)).toEqual(nothing);
      expect(await leftovers(name)).toEqual([]);
    });
  });
}

describe.skipIf(!pre.netnsDocker.ok)(skipped("a Docker engine on another host", pre.netnsDocker.reason), () => {
  let remote: RemoteDockerEngine | undefined;
  const on = (transport: Transport) => () => {
    const e = remote as RemoteDockerEngine;
    return { env: e.env(transport), docker: e.docker("unix"), address: e.address };
  };

  beforeAll(async () => {
    remote = await RemoteDockerEngine.start({ ssh: pre.ssh.ok, images: [...defaultSeedImages(), await loadBalancerImage()] });
  });

  afterAll(async () => {
    await remote?.stop();
  });

  subset("over tcp://", on("tcp"));
  subset("over tcp:// with TLS", on("tls"));
  describe.skipIf(!pre.ssh.ok)(skipped("over ssh://", pre.ssh.reason), () => subset("over ssh://", on("ssh")));

  it("refuses an API address that is not on the engine's host (exit 2) and leaves nothing there", async () => {
    const e = remote as RemoteDockerEngine;
    const sandbox = await Sandbox.create();
    const name = sandbox.name("elsewhere");
    try {
      // This machine's end of the link is an address here, not on the engine's host.
      const r = await sandbox.k3box(
        ["cluster", "create", name, "-i", DOUBLE_IMAGE, "--api-port", `${e.hostAddress}:`],
        e.env("tcp"),
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--api-port (${e.hostAddress})`);
      expect(r.stderr).toContain("not on the engine's host");
      expect(await clusterObjects(e.docker("unix"), name)).toEqual(nothing);
      const probes = await e.docker("unix").listContainers({ all: true, filters: { label: ["dev.k3box.role=ports"] } });
      expect(probes).toEqual([]);
    } finally {
      await sandbox.k3box(["cluster", "delete", name, "--ignore-missing", "-q"], e.env("tcp"));
      await sandbox.dispose();
    }
  });

  it("runs one cluster on two engines: the server here, an agent on the other host joined through the API published where that host reaches it", async () => {
    const e = remote as RemoteDockerEngine;
    const sandbox = await Sandbox.create();
    const name = sandbox.name("span");
    const group = sandbox.name("far");
    const onRemote = e.docker("unix");
    try {
      // The local engine publishes the API on this machine's end of the link to the other host.
      const created = await sandbox.k3box(
        ["cluster", "create", name, "-i", DOUBLE_IMAGE, "--api-port", `${e.hostAddress}:`, "--timeout", "4m", "-o", "json"],
        {},
      );
      expect(created.code, created.stderr).toBe(0);
      const { server } = JSON.parse(created.stdout) as { server: string };
      expect(server).toMatch(new RegExp(`^https://${e.hostAddress.replace(/\./g, "\\.")}:\\d+$`));
      const listed = await sandbox.k3box(["cluster", "list", name, "--token", "-o", "json"], {});
      const token = (JSON.parse(listed.stdout) as Array<{ token?: string }>)[0]?.token ?? "";
      expect(token).toMatch(/\S/);
      // --engine puts the new node on the other host; it joins by the published address.
      const joined = await sandbox.k3box(
        [
          "--engine",
          e.host("tcp"),
          "node",
          "create",
          group,
          "--cluster",
          server,
          "--token",
          token,
          "-i",
          DOUBLE_IMAGE,
          "--timeout",
          "4m",
        ],
        {},
      );
      expect(joined.code, joined.stderr).toBe(0);
      expect((await clusterObjects(onRemote, group)).containers).toEqual([`/k3box-${group}-agent-0`]);
      expect(await leftovers(group)).toEqual([]);
      const agent = await onRemote.getContainer(`k3box-${group}-agent-0`).inspect();
      expect(agent.Config.Env).toContain(`K3S_URL=${server}`);
      // kubectl here, through the kubeconfig of the cluster on the local engine, sees both nodes.
      const nodes = await sandbox.kubectl(["get", "nodes", "-o", "name"]);
      expect(nodes.stdout.split("\n").filter(Boolean).sort()).toEqual([
        `node/k3box-${group}-agent-0`,
        `node/k3box-${name}-server-0`,
      ]);
      const removed = await sandbox.k3box(["--engine", e.host("tcp"), "node", "delete", `k3box-${group}-agent-0`], {});
      expect(removed.code, removed.stderr).toBe(0);
      expect(await clusterObjects(onRemote, group)).toEqual(nothing);
    } finally {
      await sandbox.k3box(["--engine", e.host("tcp"), "node", "delete", `k3box-${group}-agent-0`, "-q"], {});
      await sandbox.k3box(["cluster", "delete", name, "--ignore-missing", "-q"], {});
      await sandbox.dispose();
    }
    expect(await leftovers(name)).toEqual([]);
  });

  it("spans two engines from one command: node create --on-engine puts an agent there, and list, stop, start and delete reach it", async () => {
    const e = remote as RemoteDockerEngine;
    const sandbox = await Sandbox.create();
    const name = sandbox.name("spans");
    const onRemote = e.docker("unix");
    const there = e.host("tcp");
    const agent = `k3box-${name}-agent-0`;
    try {
      const created = await sandbox.k3box(
        ["cluster", "create", name, "-i", DOUBLE_IMAGE, "--api-port", `${e.hostAddress}:`, "--timeout", "4m"],
        {},
      );
      expect(created.code, created.stderr).toBe(0);
      const added = await sandbox.k3box(["node", "create", "--cluster", name, "--on-engine", there, "--timeout", "4m"], {});
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toContain(`Node "${agent}" created in "${name}"`);
      // The agent is on the other engine, numbered in the cluster, carrying the cluster's engine's ID.
      expect((await clusterObjects(onRemote, name)).containers).toEqual([`/${agent}`]);
      const homeId = (await run("docker", ["info", "--format", "{{.ID}}"])).stdout.trim();
      const far = await onRemote.getContainer(agent).inspect();
      expect(far.Config.Labels["dev.k3box.home"]).toBe(homeId);
      expect(far.State.Running).toBe(true);
      // The cluster's engine records the other engine.
      const links = await run("docker", [
        "volume",
        "ls",
        "-q",
        "--filter",
        `label=dev.k3box.cluster=${name}`,
        "--filter",
        "label=dev.k3box.role=engine",
      ]);
      expect(links.stdout.trim().split("\n")).toHaveLength(1);
      // kubectl here sees both nodes Ready through the cluster's kubeconfig.
      const nodes = await sandbox.kubectl(["get", "nodes", "-o", "name"]);
      expect(nodes.stdout.split("\n").filter(Boolean).sort()).toEqual([`node/${agent}`, `node/k3box-${name}-server-0`]);
      // list and get count and show it, with its engine.
      const listed = await sandbox.k3box(["cluster", "list", "-o", "json"], {});
      const mine = (
        JSON.parse(listed.stdout) as Array<{
          name: string;
          agents: { total: number; running: number };
          nodes: Array<{ name: string; engine?: string }>;
        }>
      ).find((c) => c.name === name);
      expect(mine?.agents).toEqual({ running: 1, total: 1 });
      expect(mine?.nodes.find((n) => n.name === agent)?.engine).toBe(there);
      const table = await sandbox.k3box(["node", "list", "--cluster", name], {});
      expect(table.stdout).toMatch(new RegExp(`${agent}\\s+agent\\s+${name}\\s+running.*${there.replace(/[./]/g, "\\$&")}`));
      // An image of the cluster's engine reaches the agent there too, streamed through this machine.
      const imported = await sandbox.k3box(["image", "import", "busybox:latest", "-c", name, "-o", "json"], {});
      expect(imported.code, imported.stderr).toBe(0);
      const delivered = JSON.parse(imported.stdout) as { nodes: Array<{ node: string; status: string }> };
      expect(delivered.nodes.map((n) => [n.node, n.status]).sort()).toEqual([
        [agent, "imported"],
        [`k3box-${name}-server-0`, "imported"],
      ]);
      const listing = await run("docker", ["-H", there, "exec", agent, "ctr", "-n", "k8s.io", "images", "ls", "-q"]);
      expect(listing.stdout).toContain("docker.io/library/busybox:latest");
      // stop and start reach both engines.
      const stopped = await sandbox.k3box(["cluster", "stop", name], {});
      expect(stopped.code, stopped.stderr).toBe(0);
      expect((await onRemote.getContainer(agent).inspect()).State.Running).toBe(false);
      const started = await sandbox.k3box(["cluster", "start", name, "--timeout", "4m"], {});
      expect(started.code, started.stderr).toBe(0);
      expect((await onRemote.getContainer(agent).inspect()).State.Running).toBe(true);
      // node delete, from the cluster's engine, removes it there and its Node object.
      const gone = await sandbox.k3box(["node", "delete", agent], {});
      expect(gone.code, gone.stderr).toBe(0);
      expect((await clusterObjects(onRemote, name)).containers).toEqual([]);
      const left = await sandbox.kubectl(["get", "nodes", "-o", "name"]);
      expect(left.stdout.trim()).toBe(`node/k3box-${name}-server-0`);
      // delete leaves nothing on either engine.
      const deleted = await sandbox.k3box(["cluster", "delete", name], {});
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(await clusterObjects(onRemote, name)).toEqual(nothing);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await sandbox.k3box(["cluster", "delete", name, "--ignore-missing", "-q"], {});
      await sandbox.k3box(["--engine", there, "node", "delete", agent, "-q"], {});
      await sandbox.dispose();
    }
  });

  it("creates a cluster with a config file's node group on the other engine, and deletes it from both", async () => {
    const e = remote as RemoteDockerEngine;
    const sandbox = await Sandbox.create();
    const name = sandbox.name("group");
    const onRemote = e.docker("unix");
    const file = join(sandbox.dir, "k3box.yaml");
    await writeFile(
      file,
      [
        "apiVersion: k3box.dev/v1alpha1",
        "kind: Cluster",
        `metadata: { name: ${name} }`,
        `image: ${DOUBLE_IMAGE}`,
        `kubeAPI: { hostIP: "${e.hostAddress}" }`,
        "nodes:",
        `  - engine: ${e.host("tcp")}`,
        "    agents: 1",
        // k3s' multi-host settings reach the agents there as given.
        `    k3sArgs: [--node-label=far=yes, --node-external-ip=${e.address}]`,
        "",
      ].join("\n"),
    );
    try {
      const created = await sandbox.k3box(["cluster", "create", "--config", file, "--timeout", "4m", "-o", "json"], {});
      expect(created.code, created.stderr).toBe(0);
      expect((JSON.parse(created.stdout) as { nodes: string[] }).nodes).toContain(`k3box-${name}-agent-0`);
      expect((await clusterObjects(onRemote, name)).containers).toEqual([`/k3box-${name}-agent-0`]);
      const nodes = await sandbox.kubectl(["get", "nodes", "-l", "far=yes", "-o", "name"]);
      expect(nodes.stdout.trim()).toBe(`node/k3box-${name}-agent-0`);
      const external = await sandbox.kubectl([
        "get",
        "node",
        `k3box-${name}-agent-0`,
        "-o",
        "jsonpath={.status.addresses[?(@.type=='ExternalIP')].address}",
      ]);
      expect(external.stdout.trim()).toBe(e.address);
      const deleted = await sandbox.k3box(["cluster", "delete", name], {});
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(await clusterObjects(onRemote, name)).toEqual(nothing);
    } finally {
      await sandbox.k3box(["cluster", "delete", name, "--ignore-missing", "-q"], {});
      await sandbox.dispose();
    }
    expect(await leftovers(name)).toEqual([]);
  });

  it("refuses an agent on another engine when the API is published where that host cannot reach it (exit 2), leaving nothing on either engine", async () => {
    const e = remote as RemoteDockerEngine;
    const sandbox = await Sandbox.create();
    const name = sandbox.name("loop");
    try {
      const created = await sandbox.k3box(["cluster", "create", name, "-i", DOUBLE_IMAGE, "--timeout", "4m"], {});
      expect(created.code, created.stderr).toBe(0);
      const before = await leftovers(name);
      const r = await sandbox.k3box(["node", "create", "--cluster", name, "--on-engine", e.host("tcp")], {});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("publishes its API on 127.0.0.1");
      expect(r.stderr).toContain("--api-port ADDRESS:PORT");
      expect(await clusterObjects(e.docker("unix"), name)).toEqual(nothing);
      expect((await leftovers(name)).sort()).toEqual(before.sort());
    } finally {
      await sandbox.k3box(["cluster", "delete", name, "--ignore-missing", "-q"], {});
      await sandbox.dispose();
    }
  });

  it("is chosen by --engine, DOCKER_CONTEXT and the current context, and doctor says which and why", async () => {
    const e = remote as RemoteDockerEngine;
    const sandbox = await Sandbox.create();
    const dockerConfig = await mkdtemp(join(tmpdir(), "k3box-contexts-"));
    try {
      // A context as `docker context create` writes it, with the engine's TLS files.
      const ctx = await run(
        "docker",
        [
          "context",
          "create",
          "remote-tls",
          "--docker",
          `host=${e.host("tls")},ca=${e.tls.clientDir}/ca.pem,cert=${e.tls.clientDir}/cert.pem,key=${e.tls.clientDir}/key.pem`,
        ],
        { DOCKER_CONFIG: dockerConfig },
      );
      expect(ctx.code, ctx.stderr).toBe(0);
      const local = { DOCKER_CONFIG: dockerConfig, DOCKER_HOST: "" };
      const id = (await e.docker("unix").info()).ID as string;
      const doctorJson = async (args: string[], env: NodeJS.ProcessEnv) => {
        const r = await sandbox.k3box(["doctor", "-i", DOUBLE_IMAGE, "-o", "json", ...args], env);
        expect(r.stderr).not.toMatch(/^error/m);
        return JSON.parse(r.stdout) as {
          place: { endpoint: string; reason: string; remote?: { address: string } };
          engine: { id: string };
        };
      };
      const byFlag = await doctorJson(["--engine", "remote-tls"], local);
      expect(byFlag.engine.id).toBe(id);
      expect(byFlag.place.reason).toBe('--engine (Docker context "remote-tls")');
      expect(byFlag.place.remote?.address).toBe(e.address);
      const byEnv = await doctorJson([], { ...local, DOCKER_CONTEXT: "remote-tls" });
      expect(byEnv.engine.id).toBe(id);
      expect(byEnv.place.reason).toBe('DOCKER_CONTEXT (Docker context "remote-tls")');
      // DOCKER_HOST wins over DOCKER_CONTEXT, as for the docker CLI.
      const hostWins = await doctorJson([], {
        ...local,
        DOCKER_CONTEXT: "remote-tls",
        DOCKER_HOST: "unix:///var/run/docker.sock",
      });
      expect(hostWins.engine.id).not.toBe(id);
      expect(hostWins.place.reason).toBe("DOCKER_HOST");
      await writeFile(join(dockerConfig, "config.json"), JSON.stringify({ currentContext: "remote-tls" }));
      const current = await doctorJson([], local);
      expect(current.engine.id).toBe(id);
      expect(current.place.reason).toMatch(/^the current Docker context "remote-tls"/);
      const text = await sandbox.k3box(["doctor", "-i", DOUBLE_IMAGE], local);
      expect(text.stdout).toMatch(new RegExp(`endpoint .*remote-tls.*\\n.*on ${e.address.replace(/\./g, "\\.")}`));
      const unknown = await sandbox.k3box(["cluster", "list", "--engine", "nope"], local);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toMatch(/Docker context "nope".*context not found/);
    } finally {
      await rm(dockerConfig, { recursive: true, force: true });
      await sandbox.dispose();
    }
  });
});

describe.skipIf(!pre.podman.ok)(skipped("rootful Podman", pre.podman.reason), () => {
  let podman: PodmanEngine | undefined;

  beforeAll(async () => {
    podman = await PodmanEngine.start({ images: [...defaultSeedImages(), await loadBalancerImage()] });
  });

  afterAll(async () => {
    await podman?.stop();
  });

  it("is detected: doctor names Podman and what k3box adapts for it", async () => {
    const sandbox = await Sandbox.create();
    try {
      const r = await sandbox.k3box(["doctor", "-i", DOUBLE_IMAGE, "-o", "json"], (podman as PodmanEngine).env());
      const report = JSON.parse(r.stdout) as { engine: { name: string }; checks: Array<{ id: string; status: string }> };
      expect(report.engine.name).toBe("podman");
      expect(report.checks.find((c) => c.id === "podman")?.status).toBe("adapted");
    } finally {
      await sandbox.dispose();
    }
  });

  subset(
    "through its Docker-compatible socket",
    () => {
      const p = podman as PodmanEngine;
      return { env: p.env(), docker: p.docker(), address: "127.0.0.1" };
    },
    "localhost/k3box-local:1",
  );
});
