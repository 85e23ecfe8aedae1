import { describe, expect, it } from "vitest";
import { UsageError, ConflictError } from "../../src/base/errors.js";
import { LABEL } from "../../src/core/labels.js";
import { choosePeer, hasEmbeddedEtcd, nextIndices, planJoinNodes, planNewNodes } from "../../src/core/plan/nodes.js";
import type { ContainerInfo, ContainerSpec } from "../../src/runtime/types.js";

function container(
  role: "server" | "agent" | "loadbalancer",
  index: number,
  extra: { init?: boolean; files?: string[]; running?: boolean } = {},
): ContainerInfo {
  const name = role === "loadbalancer" ? "k3box-c-serverlb" : `k3box-c-${role}-${index}`;
  const labels: Record<string, string> = {
    [LABEL.managed]: "true",
    [LABEL.cluster]: "c",
    [LABEL.version]: "1",
    [LABEL.role]: role,
    [LABEL.index]: String(index),
    ...(extra.init ? { [LABEL.init]: "true" } : {}),
    ...(extra.files ? { [LABEL.files]: JSON.stringify(extra.files) } : {}),
  };
  const spec: ContainerSpec = {
    name,
    image: "img",
    hostname: name,
    entrypoint: ["/bin/k3box-entrypoint.sh"],
    cmd: role === "server" ? ["server", "--tls-san", "127.0.0.1", ...(extra.init ? ["--cluster-init"] : [])] : ["agent"],
    // As create plans it: server-0 starts the cluster, every other node joins it.
    env: {
      K3S_TOKEN: "tok",
      ...(role === "server" && index === 0 ? {} : { K3S_URL: "https://k3box-c-server-0:6443" }),
      USER_VAR: "x",
    },
    labels,
    privileged: true,
    tmpfs: ["/run", "/var/run"],
    mounts: [
      { type: "volume", source: `${name}-data`, target: "/var/lib/rancher/k3s" },
      { type: "bind", source: "/host/dir", target: "/data", options: ["rshared"] },
    ],
    ports: [{ containerPort: 8080, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 30000 }],
    network: "k3box-c",
    networkAliases: [name],
    restartPolicy: "unless-stopped",
  };
  return {
    id: name,
    name,
    restartCount: 0,
    image: "img",
    labels,
    state: "running",
    running: extra.running ?? true,
    ports: [],
    networks: {},
    env: spec.env ?? {},
    cmd: spec.cmd ?? [],
    mounts: [],
    spec,
  };
}

const none = { k3sArgs: [], env: {}, mounts: [] };

describe("hasEmbeddedEtcd", () => {
  it("holds for an init server, and for joined servers once the init server is gone", () => {
    expect(hasEmbeddedEtcd([container("server", 0, { init: true }), container("server", 1)])).toBe(true);
    expect(hasEmbeddedEtcd([container("server", 1), container("server", 2)])).toBe(true);
    expect(hasEmbeddedEtcd([container("server", 0)])).toBe(false);
  });
});

describe("nextIndices", () => {
  it("continues after the highest index of the role, so a deleted node's name is not reused", () => {
    const nodes = [
      { role: "agent", index: 0 },
      { role: "agent", index: 2 },
      { role: "server", index: 5 },
    ];
    expect(nextIndices(nodes, "agent", 2)).toEqual([3, 4]);
    expect(nextIndices(nodes, "server", 1)).toEqual([6]);
    expect(nextIndices([], "agent", 1)).toEqual([0]);
  });
});

describe("planNewNodes", () => {
  const ha = [
    container("server", 0, { init: true, files: ["/etc/a", "/var/lib/rancher/k3s/server/manifests/x.yaml"] }),
    container("server", 1, { files: ["/etc/a", "/var/lib/rancher/k3s/server/manifests/x.yaml"] }),
    container("loadbalancer", 0),
  ];

  it("clones a joined server for a new server: no --cluster-init, its own volume, no node ports, same entrypoint and files", () => {
    const [n] = planNewNodes("c", ha, "server", 1, { ...none, k3sArgs: ["--disable=traefik"], env: { EXTRA: "1" } });
    expect(n?.name).toBe("k3box-c-server-2");
    expect(n?.files).toEqual({ from: "k3box-c-server-1", paths: ["/etc/a", "/var/lib/rancher/k3s/server/manifests/x.yaml"] });
    const c = n?.container as ContainerSpec;
    expect(c.entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
    expect(c.cmd).toEqual(["server", "--tls-san", "127.0.0.1", "--disable=traefik"]);
    expect(c.env).toMatchObject({ K3S_TOKEN: "tok", K3S_URL: "https://k3box-c-server-0:6443", USER_VAR: "x", EXTRA: "1" });
    expect(c.mounts?.[0]).toEqual({ type: "volume", source: "k3box-c-server-2-data", target: "/var/lib/rancher/k3s" });
    expect(c.mounts?.[1]).toMatchObject({ source: "/host/dir", options: ["rshared"] });
    expect(c.ports).toEqual([]);
    expect(c.hostname).toBe("k3box-c-server-2");
    expect(c.networkAliases).toEqual(["k3box-c-server-2"]);
    expect(c.labels[LABEL.index]).toBe("2");
    expect(c.labels[LABEL.init]).toBeUndefined();
    expect(n?.volume.name).toBe("k3box-c-server-2-data");
  });

  it("a first agent comes from a server, without server arguments or server-only files", () => {
    const [n] = planNewNodes("c", ha, "agent", 1, none);
    expect(n?.name).toBe("k3box-c-agent-0");
    expect(n?.container.cmd).toEqual(["agent"]);
    const labelled = ha.map((c) => {
      const labels = { ...c.labels, [LABEL.agentArgs]: JSON.stringify(["--node-label=tier=edge"]) };
      return { ...c, labels, spec: { ...c.spec, labels } };
    });
    const [withArgs] = planNewNodes("c", labelled, "agent", 1, none);
    expect(withArgs?.container.cmd).toEqual(["agent", "--node-label=tier=edge"]);
    expect(withArgs?.container.labels[LABEL.agentArgs]).toBeUndefined();
    expect(n?.files).toEqual({ from: "k3box-c-server-1", paths: ["/etc/a"] });
    expect(JSON.parse(n?.container.labels[LABEL.files] ?? "[]")).toEqual(["/etc/a"]);
  });

  it("refuses a server for a single server without etcd, and needs a running server to join", () => {
    expect(() => planNewNodes("c", [container("server", 0)], "server", 1, none)).toThrow(UsageError);
    expect(() => planNewNodes("c", [container("server", 0)], "server", 1, none)).toThrow(/without embedded etcd/);
    expect(() => planNewNodes("c", [container("server", 0, { running: false })], "agent", 1, none)).toThrow(ConflictError);
  });

  it("prefers a joined peer over the init server", () => {
    expect(choosePeer(ha, "server")?.name).toBe("k3box-c-server-1");
  });
});

describe("planJoinNodes", () => {
  it("builds nodes for a foreign cluster from its URL and token; no aliases on Docker's default bridge", () => {
    const [n] = planJoinNodes(
      "ext",
      {
        url: "https://10.0.0.1:6443",
        token: "T",
        role: "agent",
        replicas: 1,
        image: "img",
        network: "bridge",
        version: "1",
        existing: [],
        nodeEntrypoint: "#!/bin/sh\n",
        adaptations: [],
      },
      none,
    );
    expect(n?.name).toBe("k3box-ext-agent-0");
    expect(n?.container.env).toMatchObject({ K3S_URL: "https://10.0.0.1:6443", K3S_TOKEN: "T" });
    expect(n?.container.networkAliases).toBeUndefined();
    expect(n?.container.labels[LABEL.joinUrl]).toBe("https://10.0.0.1:6443");
    // The same in-node fixes as any other node.
    expect(n?.container.entrypoint).toEqual(["/bin/k3box-entrypoint.sh"]);
    expect(n?.files).toEqual({ entries: [{ path: "/bin/k3box-entrypoint.sh", content: "#!/bin/sh\n", mode: 0o755 }] });
    expect(JSON.parse(n?.container.labels[LABEL.files] ?? "[]")).toEqual(["/bin/k3box-entrypoint.sh"]);
  });
});
